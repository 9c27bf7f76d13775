"""``make_learning``: one entry point for both learning backends.

Signature::

    make_learning(kind="abstract" | "torch", config=None, n_participants=256,
                  seed_seq=None) -> AbstractBackend | TorchBackend

``config``: for ``"torch"`` a :class:`~derelay.learning.LearningConfig` or a mapping of
its fields (validated; :class:`~derelay.learning.LearningConfigError` names a bad one);
for ``"abstract"`` a mapping of :class:`~derelay.learning.abstract.AbstractBackend`
keyword arguments (``mode``, ``mu``, ``sigma``, ``lazy_mu``, ``lazy_sigma``,
``eval_sigma``, ``steps_ref``, ``poison_mu``, ``local_sigma``, ``average_gain``,
``hash_models`` - default ``True`` here).  ``seed_seq``: a
``numpy.random.SeedSequence`` (a mechanism's ``learn`` stream) or an int; the torch
backend is keyed by ``seed_seq.generate_state(1)[0]``, the abstract one draws from
``default_rng(seed_seq)``.  Both backends then offer the primitives of docs/ENGINE.md
sec. 4 (see :mod:`derelay.learning.backend` and :mod:`derelay.learning.abstract`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

KINDS = ("abstract", "torch")

_ABSTRACT_KEYS = (
    "mode",
    "mu",
    "sigma",
    "lazy_mu",
    "lazy_sigma",
    "eval_sigma",
    "hash_models",
    "steps_ref",
    "poison_mu",
    "local_sigma",
    "average_gain",
)


def make_learning(
    kind: str = "abstract",
    config: Any = None,
    n_participants: int = 256,
    seed_seq: np.random.SeedSequence | int | None = None,
):
    """Build the learning backend ``kind`` (module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}: choose abstract or torch")
    if int(n_participants) < 1:
        raise ValueError(f"n_participants={n_participants} must be >= 1")
    if seed_seq is None:
        seed_seq = np.random.SeedSequence(0)
    elif not isinstance(seed_seq, np.random.SeedSequence):
        seed_seq = np.random.SeedSequence(int(seed_seq))
    if kind == "abstract":
        opts = dict(config or {})
        unknown = sorted(set(opts) - set(_ABSTRACT_KEYS))
        if unknown:
            raise ValueError(
                f"unknown abstract learning option {unknown[0]!r}; known: {', '.join(_ABSTRACT_KEYS)}"
            )
        opts.setdefault("hash_models", True)
        from .abstract import AbstractBackend

        return AbstractBackend(seed=seed_seq, n_participants=int(n_participants), **opts)
    from .backend import TorchBackend
    from .config import LearningConfig, learning_config

    if config is None:
        cfg = LearningConfig()
    elif isinstance(config, LearningConfig):
        cfg = config
    elif isinstance(config, Mapping):
        cfg = learning_config(**dict(config))
    else:
        raise ValueError(
            f"config must be a LearningConfig or a mapping, got {type(config).__name__}"
        )
    seed = int(seed_seq.generate_state(1)[0])
    return TorchBackend(cfg, n_participants=int(n_participants), seed=seed)
