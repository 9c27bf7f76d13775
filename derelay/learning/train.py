"""Local training of many models at once (batched) and one at a time (reference).

Signatures::

    train_batched(spec, start (B, P), X, y, batches (tau, B, bs), cfg, labels=None,
                  path="auto") -> (B, P)
    train_looped(...) / train_vmap(...)   # references for tests and benchmarks

``labels`` (tau, B, bs) overrides ``y[batches]`` (poisoned training: flipped or random
labels).  ``path="auto"`` uses the MLP's hand-written SGD backward for ``optimizer="sgd"``
(kept because it defines the reference numbers of every earlier run: autograd differs
by ~3e-8 after 10 steps, see docs/learning.md) and autograd on the spec's batched
training layout otherwise (Adam, and DeepChain's CNN); ``path="autograd"`` forces
autograd.

:func:`train_batched` trains B models in lock-step: the ``(B, P)`` parameter tensor
is a single leaf, the loss is the *sum* over models of each model's mean minibatch
cross-entropy, so the gradient w.r.t. model b's slice is exactly model b's own
gradient; SGD (with momentum / weight decay) and Adam are elementwise, so one
optimiser over the stacked layer tensors is B independent optimisers.  :func:`train_looped`
is the textbook path (an ``nn.Sequential`` and a ``torch.optim`` optimiser per model)
kept as the numerical reference and the benchmark baseline.

Minibatches are given as global sample indices ``(tau, B, batch_size)`` so that both
paths consume identical data; :func:`sample_batches` draws them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .config import LearningConfig
from .model import MLPSpec


def _optimizer(params, cfg: LearningConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def sample_batches(
    pools: list[np.ndarray], tau: int, batch_size: int, rngs: list[np.random.Generator]
) -> np.ndarray:
    """``(tau, B, batch_size)`` global indices: uniform with replacement from each pool.

    ``pools[b]`` are the samples trainer b may use (its shard, plus published test
    cases when they are reused); ``rngs[b]`` is trainer b's own generator, so a
    trainer's batches do not depend on who else trains in the round.
    """
    out = np.empty((tau, len(pools), batch_size), dtype=np.int64)
    for b, (pool, rng) in enumerate(zip(pools, rngs, strict=True)):
        out[:, b, :] = pool[rng.integers(0, len(pool), size=(tau, batch_size))]
    return out


def _sum_cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy, log-sum-exp written out (faster than ``F.cross_entropy``
    for the few-class, many-row logits here; same value up to rounding)."""
    m = z.detach().max(1, keepdim=True).values
    lse = (z - m).exp().sum(1).log() + m.squeeze(1)
    return (lse - z.gather(1, y[:, None]).squeeze(1)).sum()


def _forward(layers: list[torch.Tensor], h: torch.Tensor) -> tuple[torch.Tensor, list]:
    """Logits of B models on (B, bs, d) inputs, and each layer's input (for backward)."""
    inputs = [h]
    n_layers = len(layers) // 2
    for k in range(n_layers):
        h = torch.baddbmm(layers[2 * k + 1], h, layers[2 * k])
        if k < n_layers - 1:
            h = torch.relu(h)
            inputs.append(h)
    return h, inputs


def train_batched(
    spec,
    start: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    batches: np.ndarray,
    cfg: LearningConfig,
    labels: torch.Tensor | None = None,
    path: str = "auto",
) -> torch.Tensor:
    """Train B models (``start`` is (B, P)) for ``batches.shape[0]`` steps at once."""
    if start.shape[0] == 0:
        return start.clone()
    if path not in ("auto", "autograd"):
        raise ValueError(f"path={path!r}: choose auto or autograd")
    if cfg.optimizer == "sgd" and path == "auto" and getattr(spec, "kind", "mlp") == "mlp":
        return _train_batched_sgd(spec, start, X, y, batches, cfg, labels)
    # One leaf per layer tensor (weights stored transposed, (B, in, out)): slicing a
    # single (B, P) leaf would make autograd materialise a zero (B, P) gradient per
    # slice.  The optimisers are elementwise, so the layout does not change the result.
    with torch.enable_grad():
        leaves = [t.requires_grad_(True) for t in spec.leaves(start)]
        opt = _optimizer(leaves, cfg)
        idx = torch.as_tensor(batches, device=start.device)
        tau, B, bs = idx.shape
        C = spec.sizes[-1]
        for t in range(tau):
            logits = spec.forward_leaves(leaves, X[idx[t]])
            yt = y[idx[t]] if labels is None else labels[t]
            loss = _sum_cross_entropy(logits.reshape(B * bs, C), yt.reshape(-1)) / bs
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return spec.flatten_leaves(leaves)


@torch.no_grad()
def _train_batched_sgd(
    spec: MLPSpec,
    start: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    batches: np.ndarray,
    cfg: LearningConfig,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """SGD fast path of :func:`train_batched`: the MLP's backward pass written out.

    Same maths as autograd on the summed per-model mean cross-entropy: the logits'
    gradient is (softmax - onehot) / batch_size, each layer's weight gradient is
    ``input^T @ delta`` (one ``bmm`` for all B models), the delta flows back through
    ``W^T`` and the ReLU mask (``> 0``, as autograd's ReLU backward).  The update is
    ``torch.optim.SGD``'s: g = grad + weight_decay * p; buf = g on the first step, then
    momentum * buf + g; p -= lr * buf (no dampening, no Nesterov).  Skipping autograd
    and the optimiser's bookkeeping makes the step about twice as fast at these sizes.
    """
    params = spec.leaves(start)
    Ws = params[0::2]
    bufs: list[torch.Tensor] | None = None
    idx = torch.as_tensor(batches, device=start.device)
    tau, B, bs = idx.shape
    n_layers = len(Ws)
    rows = torch.arange(B * bs, device=start.device)
    lr, mom, wd = float(cfg.lr), float(cfg.momentum), float(cfg.weight_decay)
    for t in range(tau):
        h, inputs = _forward(params, X[idx[t]])
        delta = torch.softmax(h, dim=-1)  # (B, bs, C)
        yt = y[idx[t]] if labels is None else labels[t]
        delta.view(B * bs, -1)[rows, yt.reshape(-1)] -= 1.0
        delta /= bs
        grads: list[torch.Tensor] = [None] * (2 * n_layers)  # type: ignore[list-item]
        for k in range(n_layers - 1, -1, -1):
            grads[2 * k] = torch.bmm(inputs[k].transpose(1, 2), delta)
            grads[2 * k + 1] = delta.sum(1, keepdim=True)
            if k > 0:
                delta = torch.bmm(delta, Ws[k].transpose(1, 2)) * (inputs[k] > 0)
        if wd:
            grads = [g.add_(p, alpha=wd) for g, p in zip(grads, params, strict=True)]
        if mom:
            if bufs is None:
                bufs = [g.clone() for g in grads]
            else:
                for buf, g in zip(bufs, grads, strict=True):
                    buf.mul_(mom).add_(g)
            grads = bufs
        for p, g in zip(params, grads, strict=True):
            p.add_(g, alpha=-lr)
    return spec.flatten_leaves(params)


def train_looped(
    spec,
    start: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    batches: np.ndarray,
    cfg: LearningConfig,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reference: the same training, one ``nn.Sequential`` model at a time."""
    out = []
    idx = torch.as_tensor(batches, device=start.device)
    for b in range(start.shape[0]):
        net = spec.to_module(start[b]).to(start.device)
        opt = _optimizer(net.parameters(), cfg)
        for t in range(idx.shape[0]):
            yt = y[idx[t, b]] if labels is None else labels[t, b]
            loss = F.cross_entropy(net(X[idx[t, b]]), yt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out.append(torch.nn.utils.parameters_to_vector(net.parameters()).detach())
    if not out:
        return start.clone()
    return torch.stack(out)


def train_vmap(
    spec,
    start: torch.Tensor,
    X: torch.Tensor,
    y: torch.Tensor,
    batches: np.ndarray,
    cfg: LearningConfig,
) -> torch.Tensor:
    """The same training with ``torch.func``: ``vmap(grad(loss))`` over stacked
    ``functional_call`` parameters and a hand-written SGD step (momentum and weight
    decay as ``torch.optim.SGD``).  An alternative batched path kept for the benchmark
    (MLP and CNN); SGD only."""
    from torch.func import functional_call, grad, vmap

    if cfg.optimizer != "sgd":
        raise ValueError("train_vmap supports optimizer='sgd' only")
    B = start.shape[0]
    if B == 0:
        return start.clone()
    net = spec.to_module(torch.zeros(spec.n_params)).to(start.device)
    names = spec.names
    params, off = {}, 0
    for name, shape in zip(names, spec.shapes(), strict=True):
        size = int(np.prod(shape))
        params[name] = start[:, off : off + size].detach().reshape(B, *shape).clone()
        off += size

    def loss_fn(p, xb, yb):
        return F.cross_entropy(functional_call(net, p, (xb,)), yb)

    g_fn = vmap(grad(loss_fn))
    idx = torch.as_tensor(batches, device=start.device)
    bufs: dict[str, torch.Tensor] = {}
    for t in range(idx.shape[0]):
        grads = g_fn(params, X[idx[t]], y[idx[t]])
        for k in params:
            g = grads[k]
            if cfg.weight_decay:
                g = g + cfg.weight_decay * params[k]
            if cfg.momentum:
                bufs[k] = g if k not in bufs else cfg.momentum * bufs[k] + g
                g = bufs[k]
            params[k] = params[k] - cfg.lr * g
    return torch.cat([params[n].reshape(B, -1) for n in names], dim=1)
