"""The MLP fixed at genesis, held as flat parameter vectors and run in batches.

A model is one float32 vector of length ``P`` laid out like the ``state_dict`` of
``torch.nn.Sequential(Linear, ReLU, Linear, ..., Linear)``: for each linear layer its
weight ``(out, in)`` then its bias ``(out,)``, named ``"0.weight"``, ``"0.bias"``,
``"2.weight"``, ...  A round's B models form a ``(B, P)`` tensor whose views are the
stacked layer matrices, so forward and backward of all B models are a handful of
batched matmuls (``torch.baddbmm``) instead of a Python loop over models.

The model hash (what trainers broadcast in step (6) and EB miners compare in step
(7)) is SHA-256 over the canonical serialisation of the named tensors, see
:func:`model_hash`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MLPSpec:
    """Architecture ``sizes = (n_features, *hidden, n_classes)`` with ReLU between."""

    sizes: tuple[int, ...]

    @property
    def n_params(self) -> int:
        return sum(o * i + o for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def names(self) -> list[str]:
        out = []
        for layer in range(len(self.sizes) - 1):
            out += [f"{2 * layer}.weight", f"{2 * layer}.bias"]
        return out

    def shapes(self) -> list[tuple[int, ...]]:
        out: list[tuple[int, ...]] = []
        for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            out += [(o, i), (o,)]
        return out

    def layers(self, flat: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Views ``[(W (B,out,in), b (B,out)), ...]`` of a ``(B, P)`` parameter tensor."""
        B = flat.shape[0]
        out, off = [], 0
        for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            W = flat[:, off : off + o * i].view(B, o, i)
            off += o * i
            b = flat[:, off : off + o]
            off += o
            out.append((W, b))
        return out

    def forward(self, flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits of B models: ``x`` is ``(B, n, d)`` (own inputs) or ``(n, d)`` (shared)."""
        layers = self.layers(flat)
        h = x if x.dim() == 3 else x.unsqueeze(0).expand(flat.shape[0], -1, -1)
        for k, (W, b) in enumerate(layers):
            h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
            if k < len(layers) - 1:
                h = torch.relu(h)
        return h

    def init(self, rng: np.random.Generator) -> torch.Tensor:
        """One model initialised like ``torch.nn.Linear``: U(-1/sqrt(fan_in), +)."""
        parts = []
        for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            bound = 1.0 / np.sqrt(i)
            parts.append(rng.uniform(-bound, bound, size=o * i))
            parts.append(rng.uniform(-bound, bound, size=o))
        return torch.as_tensor(np.concatenate(parts), dtype=torch.float32)

    def state_dict(self, flat: torch.Tensor) -> dict[str, np.ndarray]:
        """Named numpy arrays (copies) of one model's ``(P,)`` vector."""
        arr = flat.detach().cpu().numpy()
        out, off = {}, 0
        for name, shape in zip(self.names, self.shapes(), strict=True):
            size = int(np.prod(shape))
            out[name] = arr[off : off + size].reshape(shape).copy()
            off += size
        return out

    def to_module(self, flat: torch.Tensor) -> torch.nn.Sequential:
        """A ``torch.nn.Sequential`` holding one model's parameters (reference path)."""
        mods: list[torch.nn.Module] = []
        for k, (i, o) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            mods.append(torch.nn.Linear(i, o))
            if k < len(self.sizes) - 2:
                mods.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*mods)
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(flat.detach().clone(), net.parameters())
        return net


def model_hash(spec: MLPSpec, flat: torch.Tensor) -> str:
    """SHA-256 hex digest of one model's named parameter tensors (canonical form).

    Serialisation: for each tensor in layer order, its name, dtype and shape as ASCII
    and its little-endian float32 bytes.  Uses :func:`derelay.chain.hash_model` on the
    same named arrays when the chain package provides it, so hashes agree with the chain.
    """
    state = spec.state_dict(flat)
    chain_hash = _chain_hash_model()
    if chain_hash is not None:
        return chain_hash(state)
    h = hashlib.sha256()
    for name, arr in state.items():
        a = np.ascontiguousarray(arr, dtype="<f4")
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


_CHAIN_HASH: list = []


def _chain_hash_model():
    if not _CHAIN_HASH:
        try:
            from derelay.chain import hash_model  # type: ignore[attr-defined]
        except Exception:  # the chain part may not exist (yet)
            hash_model = None
        _CHAIN_HASH.append(hash_model)
    return _CHAIN_HASH[0]


@torch.no_grad()
def evaluate(
    spec: MLPSpec, flat: torch.Tensor, X: torch.Tensor, y: torch.Tensor, chunk: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean cross-entropy of each of B models (``flat`` is (B, P)) on (X, y)."""
    if flat.dim() == 1:
        flat = flat.unsqueeze(0)
    accs, losses = [], []
    for s in range(0, flat.shape[0], chunk):
        logits = spec.forward(flat[s : s + chunk], X)
        b, n, c = logits.shape
        loss = F.cross_entropy(logits.reshape(b * n, c), y.repeat(b), reduction="none")
        losses.append(loss.view(b, n).mean(1))
        accs.append((logits.argmax(-1) == y).float().mean(1))
    return torch.cat(accs).double().numpy(), torch.cat(losses).double().numpy()
