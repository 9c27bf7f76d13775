"""The models fixed at genesis (an MLP, DeepChain's CNN), held as flat parameter
vectors and run in batches.

A model is one float32 vector of length ``P`` laid out like the ``state_dict`` of
``torch.nn.Sequential(Linear, ReLU, Linear, ..., Linear)``: for each linear layer its
weight ``(out, in)`` then its bias ``(out,)``, named ``"0.weight"``, ``"0.bias"``,
``"2.weight"``, ...  A round's B models form a ``(B, P)`` tensor whose views are the
stacked layer matrices, so forward and backward of all B models are a handful of
batched matmuls (``torch.baddbmm``) instead of a Python loop over models.

:class:`CNNSpec` is DeepChain's network (Sec. 6): Conv(1->10, 3x3, pad 1) -> ReLU ->
MaxPool 2 -> FC (10 * H/2 * W/2 -> 128; 1960 on 28x28 MNIST) -> ReLU -> FC 128 -> 10,
laid out like ``nn.Sequential(Unflatten, Conv2d, ReLU, MaxPool2d, Flatten, Linear, ReLU,
Linear)`` (names ``"1.weight"``, ``"1.bias"``, ``"5.weight"``, ...).  B CNNs run as one
grouped convolution (``groups=B``) and two batched matmuls.

Both specs share one interface: ``n_params``, ``names``, ``shapes()``, ``init(rng)``,
``forward(flat, x)`` (evaluation), ``state_dict``, ``to_module`` (one-model reference) and
the training layout ``leaves(start)`` / ``forward_leaves(leaves, x)`` /
``flatten_leaves(leaves)`` used by :func:`derelay.learning.train.train_batched`.

The model hash (what trainers broadcast in step (6) and EB miners compare in step
(7)) is SHA-256 over the canonical serialisation of the named tensors, see
:func:`model_hash`.
"""

from __future__ import annotations

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

    kind = "mlp"
    eval_chunks = (128, None)

    def leaves(self, start: torch.Tensor) -> list[torch.Tensor]:
        """Fresh training tensors of B models: weights (B, in, out), biases (B, 1, out)."""
        out = []
        for W, b in self.layers(start.detach()):
            out.append(W.transpose(1, 2).contiguous().clone())
            out.append(b.unsqueeze(1).contiguous().clone())
        return out

    def forward_leaves(self, leaves: list[torch.Tensor], h: torch.Tensor) -> torch.Tensor:
        """Logits of B models on (B, bs, d) inputs from the training layout."""
        n_layers = len(leaves) // 2
        for k in range(n_layers):
            h = torch.baddbmm(leaves[2 * k + 1], h, leaves[2 * k])
            if k < n_layers - 1:
                h = torch.relu(h)
        return h

    def flatten_leaves(self, leaves: list[torch.Tensor]) -> torch.Tensor:
        """Inverse of :meth:`leaves`: the (B, P) parameter vectors."""
        B = leaves[0].shape[0]
        parts = []
        for k in range(0, len(leaves), 2):
            parts.append(leaves[k].detach().transpose(1, 2).reshape(B, -1))
            parts.append(leaves[k + 1].detach().reshape(B, -1))
        return torch.cat(parts, dim=1)

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


@dataclass(frozen=True)
class CNNSpec:
    """DeepChain's CNN on ``(1, H, W)`` images given as flat ``H * W`` feature rows.

    ``channels`` (10) 3x3 filters with padding 1, ReLU, 2x2 max-pooling, a hidden
    fully connected layer of ``hidden`` (128) units with ReLU and ``n_classes`` outputs.
    """

    height: int
    width: int
    n_classes: int = 10
    channels: int = 10
    hidden: int = 128

    kind = "cnn"
    eval_chunks = (8, 256)

    @property
    def flat_features(self) -> int:
        return self.channels * (self.height // 2) * (self.width // 2)

    @property
    def sizes(self) -> tuple[int, ...]:
        """(input features, conv features after pooling, hidden, classes)."""
        return (self.height * self.width, self.flat_features, self.hidden, self.n_classes)

    @property
    def names(self) -> list[str]:
        return ["1.weight", "1.bias", "5.weight", "5.bias", "7.weight", "7.bias"]

    def shapes(self) -> list[tuple[int, ...]]:
        c, f, h, k = self.channels, self.flat_features, self.hidden, self.n_classes
        return [(c, 1, 3, 3), (c,), (h, f), (h,), (k, h), (k,)]

    @property
    def n_params(self) -> int:
        return int(sum(np.prod(s) for s in self.shapes()))

    def _split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        B, out, off = flat.shape[0], [], 0
        for shape in self.shapes():
            size = int(np.prod(shape))
            out.append(flat[:, off : off + size].view(B, *shape))
            off += size
        return out

    def _features(self, cw, cb, x: torch.Tensor, shared: bool) -> torch.Tensor:
        """Conv -> ReLU -> pool of B models; returns (B, n, flat_features)."""
        B, c = cw.shape[0], self.channels
        cl = torch.channels_last
        if shared:  # one input for every model: all B*c filters on one channel
            img = x.reshape(-1, 1, self.height, self.width)
            z = F.conv2d(img, cw.reshape(B * c, 1, 3, 3), cb.reshape(B * c), padding=1)
        else:  # x (B, n, d): model b's inputs in channel b, grouped convolution
            n = x.shape[1]
            img = x.transpose(0, 1).reshape(n, B, self.height, self.width)
            img = img.contiguous(memory_format=cl)
            z = F.conv2d(img, cw.reshape(B * c, 1, 3, 3), cb.reshape(B * c), padding=1, groups=B)
        # ReLU and max-pooling commute (ReLU is monotone): pooling first touches 4x fewer
        # elements, and channels-last pooling is several times faster on CPU.
        z = torch.relu(F.max_pool2d(z.contiguous(memory_format=cl), 2))
        n = z.shape[0]
        return z.reshape(n, B, self.flat_features).transpose(0, 1)

    def forward(self, flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Logits of B models: ``x`` is ``(B, n, d)`` (own inputs) or ``(n, d)`` (shared)."""
        cw, cb, w1, b1, w2, b2 = self._split(flat)
        h = self._features(cw, cb, x, shared=x.dim() == 2)
        h = torch.relu(torch.baddbmm(b1.unsqueeze(1), h, w1.transpose(1, 2)))
        return torch.baddbmm(b2.unsqueeze(1), h, w2.transpose(1, 2))

    def leaves(self, start: torch.Tensor) -> list[torch.Tensor]:
        """Fresh training tensors: conv weight/bias as stored, FC weights (B, in, out),
        FC biases (B, 1, out)."""
        cw, cb, w1, b1, w2, b2 = self._split(start.detach())
        return [
            cw.contiguous().clone(),
            cb.contiguous().clone(),
            w1.transpose(1, 2).contiguous().clone(),
            b1.unsqueeze(1).contiguous().clone(),
            w2.transpose(1, 2).contiguous().clone(),
            b2.unsqueeze(1).contiguous().clone(),
        ]

    def forward_leaves(self, leaves: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        cw, cb, w1t, b1, w2t, b2 = leaves
        h = self._features(cw, cb, x, shared=False)
        h = torch.relu(torch.baddbmm(b1, h, w1t))
        return torch.baddbmm(b2, h, w2t)

    def flatten_leaves(self, leaves: list[torch.Tensor]) -> torch.Tensor:
        cw, cb, w1t, b1, w2t, b2 = (t.detach() for t in leaves)
        B = cw.shape[0]
        parts = [cw, cb, w1t.transpose(1, 2), b1, w2t.transpose(1, 2), b2]
        return torch.cat([p.reshape(B, -1) for p in parts], dim=1)

    def init(self, rng: np.random.Generator) -> torch.Tensor:
        """One model initialised like torch's ``Conv2d``/``Linear``: U(+-1/sqrt(fan_in))."""
        parts = []
        for shape in self.shapes():
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else None
            parts.append((shape, fan_in))
        out = []
        for k in range(0, len(parts), 2):
            wshape, fan_in = parts[k]
            bound = 1.0 / np.sqrt(fan_in)
            out.append(rng.uniform(-bound, bound, size=int(np.prod(wshape))))
            out.append(rng.uniform(-bound, bound, size=int(np.prod(parts[k + 1][0]))))
        return torch.as_tensor(np.concatenate(out), dtype=torch.float32)

    def state_dict(self, flat: torch.Tensor) -> dict[str, np.ndarray]:
        arr = flat.detach().cpu().numpy()
        out, off = {}, 0
        for name, shape in zip(self.names, self.shapes(), strict=True):
            size = int(np.prod(shape))
            out[name] = arr[off : off + size].reshape(shape).copy()
            off += size
        return out

    def to_module(self, flat: torch.Tensor) -> torch.nn.Sequential:
        """The same network as ``torch.nn.Sequential`` (reference path)."""
        net = torch.nn.Sequential(
            torch.nn.Unflatten(1, (1, self.height, self.width)),
            torch.nn.Conv2d(1, self.channels, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(self.flat_features, self.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.hidden, self.n_classes),
        )
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(
                flat.detach().clone().to(next(net.parameters()).device), net.parameters()
            )
        return net


def model_spec(kind: str, n_features: int, n_classes: int, hidden=(64, 32), image_shape=None):
    """The spec of the model fixed at genesis: ``"mlp"`` or DeepChain's ``"cnn"``."""
    if kind == "cnn":
        if image_shape is None:
            raise ValueError("model='cnn' needs image data (digits or MNIST), not synthetic")
        return CNNSpec(int(image_shape[0]), int(image_shape[1]), n_classes=int(n_classes))
    return MLPSpec((int(n_features), *hidden, int(n_classes)))


def model_hash(spec: MLPSpec, flat: torch.Tensor) -> str:
    """SHA-256 hex digest of one model's named parameter tensors (canonical form):
    :func:`derelay.chain.blocks.hash_model` of the spec's named arrays, so hashes agree
    with the chain's."""
    from derelay.chain.blocks import hash_model

    return hash_model(spec.state_dict(flat))


@torch.no_grad()
def evaluate(
    spec, flat: torch.Tensor, X: torch.Tensor, y: torch.Tensor, chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean cross-entropy of each of B models (``flat`` is (B, P)) on (X, y).

    Models are evaluated ``chunk`` at a time (the spec's ``eval_chunks``: 128 MLPs, 8
    CNNs) and, for the CNN, 256 samples at a time (bounded memory)."""
    if flat.dim() == 1:
        flat = flat.unsqueeze(0)
    m_chunk, n_chunk = spec.eval_chunks
    chunk = chunk or m_chunk
    accs, losses = [], []
    for s in range(0, flat.shape[0], chunk):
        part = flat[s : s + chunk]
        if n_chunk is None or len(y) <= n_chunk:
            logits = spec.forward(part, X)
            b, n, c = logits.shape
            loss = F.cross_entropy(logits.reshape(b * n, c), y.repeat(b), reduction="none")
            losses.append(loss.view(b, n).mean(1))
            accs.append((logits.argmax(-1) == y).float().mean(1))
            continue
        lsum = torch.zeros(part.shape[0], dtype=torch.float64, device=part.device)
        hits = torch.zeros(part.shape[0], dtype=torch.float64, device=part.device)
        for a in range(0, len(y), n_chunk):
            xb, yb = X[a : a + n_chunk], y[a : a + n_chunk]
            logits = spec.forward(part, xb)
            b, n, c = logits.shape
            loss = F.cross_entropy(logits.reshape(b * n, c), yb.repeat(b), reduction="none")
            lsum += loss.view(b, n).double().sum(1)
            hits += (logits.argmax(-1) == yb).double().sum(1)
        losses.append(lsum / len(y))
        accs.append(hits / len(y))
    return torch.cat(accs).double().cpu().numpy(), torch.cat(losses).double().cpu().numpy()
