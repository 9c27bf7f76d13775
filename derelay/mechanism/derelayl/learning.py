"""Learning backends of the ABM: the abstract one here, torch's via an adapter.

:class:`AbstractBackend` has the interface of :class:`derelay.learning.TorchBackend`
(``genesis``, ``train_round``, ``release``, ``best_accuracy``) without training anything:

* ``mode="cumulative"`` (authors' code, ``Model.delta_performance_number``): a trained
  model's performance is its parent's plus N(``mu``, ``sigma``); a lazy (NTr) model's is
  the parent's plus N(``lazy_mu``, ``lazy_sigma``).
* ``mode="version"`` (paper text, Sec. III-C2: "the model performance incremental from
  one version to the next is approximately (c)"): the true value of a model is the
  knowledge accumulated along its lineage, ``mu`` (c) per honest training, ``lazy_mu``
  per lazy one; same-version models are alike.

In both modes the *measured* performance the SBM ranks is the true value plus
non-heritable test-case noise N(0, ``eval_sigma``).  ``gain`` is measured minus the
parent's true value.  Performance is in units of (c).

Model hashes (``hash_models=True``, used by ``chain = "simulated"`` whose EB records
Hash(M_prev) and Hash(M_new)): an abstract model has no parameters, so its "hash" is a
hash chain over its lineage, :func:`abstract_model_hash` = SHA-256 of (parent's hash,
round, trainer, model id), rooted at a genesis hash.  It is unique per model (a lazy
NTr model, "parent + white noise", differs from its parent as a real one would) and
commits to the model's whole ancestry; the torch backend hashes real parameters with
:func:`derelay.chain.hash_model` instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


def abstract_model_hash(parent_hash: str, round_index: int, trainer: int, model_id: int) -> str:
    """Stand-in for Hash(M) of a parameter-free model: SHA-256 over its lineage."""
    key = f"derelay-abstract-model:{parent_hash}:{int(round_index)}:{int(trainer)}:{int(model_id)}"
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class AbstractRound:
    """Outcome of one round (fields aligned with ``trainer_ids``; subset of RoundLearning)."""

    round_index: int
    trainer_ids: np.ndarray
    parent_ids: np.ndarray
    lazy: np.ndarray
    succeeded: np.ndarray
    model_ids: np.ndarray
    performance: np.ndarray
    gain: np.ndarray
    hash_changed: np.ndarray
    hashes: list = field(default_factory=list)
    parent_hashes: list = field(default_factory=list)

    @property
    def submitted(self) -> np.ndarray:
        return self.model_ids >= 0

    @property
    def eligible(self) -> np.ndarray:
        return self.submitted & self.hash_changed


class AbstractBackend:
    """Performance-only stand-in for real training (deterministic given ``seed``)."""

    def __init__(
        self,
        mode: str = "cumulative",
        mu: float = 1.0,
        sigma: float = 1.0,
        lazy_mu: float = 0.0,
        lazy_sigma: float = 0.01,
        eval_sigma: float = 0.0,
        seed: int | np.random.SeedSequence = 0,
        hash_models: bool = False,
    ) -> None:
        if mode not in ("cumulative", "version"):
            raise ValueError(f"mode must be 'cumulative' or 'version', got {mode!r}")
        self.mode = mode
        self.mu, self.sigma = float(mu), float(sigma)
        self.lazy_mu, self.lazy_sigma = float(lazy_mu), float(lazy_sigma)
        self.eval_sigma = float(eval_sigma)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.rng = np.random.default_rng(ss)
        self._value = np.zeros(1024, dtype=np.float64)
        self._base = 0
        self._n = 0
        self._released_upto = 0
        self.hash_models = bool(hash_models)
        self._hash: dict[int, str] = {}

    # --- storage -----------------------------------------------------------------------
    def _add(self, values: np.ndarray) -> np.ndarray:
        k = len(values)
        if self._n + k > len(self._value):
            arr = np.zeros(max(2 * len(self._value), self._n + k), dtype=np.float64)
            arr[: self._n] = self._value[: self._n]
            self._value = arr
        self._value[self._n : self._n + k] = values
        ids = np.arange(self._base + self._n, self._base + self._n + k, dtype=np.int64)
        self._n += k
        return ids

    def value(self, model_ids) -> np.ndarray:
        """True (noise-free) value of models, in (c)."""
        return self._value[np.asarray(model_ids, dtype=np.int64) - self._base]

    def genesis(self) -> int:
        gid = int(self._add(np.zeros(1))[0])
        if self.hash_models:
            self._hash[gid] = abstract_model_hash("genesis", 0, -1, gid)
        return gid

    def model_hash(self, model_id: int) -> str:
        """Hash(M) of a live model (``hash_models=True``)."""
        return self._hash[int(model_id)]

    def release(self, model_ids) -> None:
        """Interface compatibility; memory is bounded by :meth:`forget_before`."""

    def forget_before(self, keep_from: int) -> None:
        """Models with ids below ``keep_from`` are no longer needed (parents are recent)."""
        keep_from = int(keep_from)
        drop = keep_from - self._base
        if drop > self._n // 2 and drop > 0:
            self._value[: self._n - drop] = self._value[drop : self._n]
            self._n -= drop
            self._base += drop
            if self._hash:
                self._hash = {k: v for k, v in self._hash.items() if k >= keep_from}

    def best_accuracy(self, model_id: int) -> float:
        return float(self.value([model_id])[0])

    # --- one round -----------------------------------------------------------------------
    def train_round(self, round_index, parent_ids, trainer_ids, lazy, succeeded) -> AbstractRound:
        parent_ids = np.asarray(parent_ids, dtype=np.int64)
        trainer_ids = np.asarray(trainer_ids, dtype=np.int64)
        lazy = np.asarray(lazy, dtype=bool)
        succeeded = np.asarray(succeeded, dtype=bool)
        n = len(trainer_ids)
        # one draw per trainer in a fixed order keeps runs reproducible
        z_gain = self.rng.standard_normal(n)
        z_eval = self.rng.standard_normal(n)
        parent_val = self.value(parent_ids) if n else np.zeros(0)
        if self.mode == "cumulative":
            gain = np.where(
                lazy, self.lazy_mu + self.lazy_sigma * z_gain, self.mu + self.sigma * z_gain
            )
        else:
            gain = np.where(lazy, self.lazy_mu, self.mu).astype(np.float64)
        true = parent_val + gain
        measured = true + self.eval_sigma * z_eval
        exists = succeeded
        ids = np.full(n, -1, dtype=np.int64)
        if exists.any():
            ids[exists] = self._add(true[exists])
        perf = np.where(exists, measured, np.nan)
        hashes: list = [None] * n
        parent_hashes: list = [None] * n
        if self.hash_models:
            hh = self._hash
            parent_hashes = [hh[p] for p in parent_ids.tolist()]
            for i in np.flatnonzero(exists).tolist():
                mid = int(ids[i])
                hashes[i] = hh[mid] = abstract_model_hash(
                    parent_hashes[i], round_index, int(trainer_ids[i]), mid
                )
        return AbstractRound(
            round_index=int(round_index),
            trainer_ids=trainer_ids,
            parent_ids=parent_ids,
            lazy=lazy,
            succeeded=succeeded,
            model_ids=ids,
            performance=perf,
            gain=np.where(exists, measured - parent_val, np.nan),
            hash_changed=exists.copy(),
            hashes=hashes,
            parent_hashes=parent_hashes,
        )


def make_backend(cfg, n_participants: int, seed_seq: np.random.SeedSequence):
    """The backend selected by ``cfg.learning`` ("abstract" or "torch")."""
    if cfg.learning == "abstract":
        return AbstractBackend(
            mode=cfg.performance,
            mu=cfg.perf_mu,
            sigma=cfg.perf_sigma,
            lazy_mu=cfg.lazy_mu,
            lazy_sigma=cfg.lazy_sigma,
            eval_sigma=cfg.eval_sigma,
            seed=seed_seq,
            hash_models=cfg.chain == "simulated" and cfg.chain_contents == "real",  # EB hashes
        )
    try:
        from derelay.learning import TorchBackend, learning_config
    except ImportError as exc:  # pragma: no cover - learning part missing
        raise RuntimeError(f"--learning torch needs derelay.learning ({exc})") from None
    lcfg = learning_config(**cfg.learning_config) if cfg.learning_config else None
    seed = int(seed_seq.generate_state(1)[0])
    return TorchBackend(lcfg, n_participants=n_participants, seed=seed)
