"""``AbstractBackend``: the learning primitives without training anything.

Moved here from :mod:`derelay.model.learning` (which re-exports it).  It has the
primitive API of :class:`derelay.learning.TorchBackend` (docs/ENGINE.md sec. 4) over
*performance values* instead of parameters, and DeRelayL's ``train_round``::

    b.genesis() -> int                                   # value 0
    b.train(parents, trainers, steps=None, data="own", *, round=None) -> ids
    b.perturb(parents, trainers, sigma=None, *, round=None) -> ids
    b.average(groups, weights=None, *, parents=None) -> ids
    b.mix(a, b, alpha) -> ids
    b.score_cases(ids, round) -> (accuracy, loss)
    b.score_local(ids, scorers, metric="accuracy") -> (len(scorers), len(ids)) array
    b.eval_accuracy(ids) -> array
    b.hashes(ids) -> list[str]; b.release(ids)
    b.train_round(round_index, parent_ids, trainer_ids, lazy, succeeded) -> AbstractRound

Values are in units of (c) (one honest relay step adds ``mu`` on average), not
accuracies in [0, 1]: callers compare them, they never read them as probabilities.

Stochastic stand-ins (all draws from one ``numpy`` generator seeded by ``seed``, in call
order, so a run is reproducible given its sequence of calls; ``z`` is N(0, 1), ``f =
steps / steps_ref`` is the share of a full training job, ``steps_ref`` default 10 =
``LearningConfig.tau``):

* ``train`` ``data="own"``: value = parent + ``mu`` f + ``sigma`` sqrt(f) z
  (``mode="cumulative"``, the authors' code ``Model.delta_performance_number``) or
  parent + ``mu`` f (``mode="version"``, paper Sec. III-C2: one version adds (c)).
  Training cut short (``steps < steps_ref``) adds proportionally less (derived).
* ``train`` ``data="label_flip"``: the drift is ``poison_mu`` (default ``-mu``: flipped
  labels undo what honest training adds); ``"random_labels"``: ``poison_mu / 2``
  (random labels pull towards chance, less than systematic flips).  Derived stand-ins.
* ``perturb`` (lazy): parent + ``lazy_mu`` + s z with s = ``sigma`` if given (in (c)
  units, not parameter units) else ``lazy_sigma``; ``mode="version"``: parent +
  ``lazy_mu``.
* ``average``: the weighted mean of the members' values plus ``average_gain`` (default
  0: the stand-in cannot know the benefit of averaging models trained on different
  data; set it to calibrate against torch runs).
* ``mix``: (1 - alpha) a + alpha b of the values (linear, exact).
* ``score_cases``: measured = value + ``eval_sigma`` z (non-heritable test-case noise);
  loss = -measured (so ranking by loss agrees with ranking by accuracy).
* ``score_local``: value + ``local_sigma`` z independently per (scorer, model): each
  scorer's small validation part gives its own noisy reading (default 0.1).
* ``eval_accuracy``: the true (noise-free) value.

In ``train_round`` (unchanged results): trained models get parent + N(``mu``,
``sigma``), lazy ones parent + N(``lazy_mu``, ``lazy_sigma``); the *measured* performance
the SBM ranks is the true value plus N(0, ``eval_sigma``); ``gain`` is measured minus the
parent's true value.  It draws one gain and one test-case z per trainer, in trainer
order, exactly as before the primitives existed.

Model hashes (``hash_models=True``, used by ``chain = "simulated"`` whose EB records
Hash(M_prev) and Hash(M_new)): an abstract model has no parameters, so its "hash" is a
hash chain over its lineage, :func:`abstract_model_hash` = SHA-256 of (parent's hash,
round, trainer, model id), rooted at a genesis hash (averages and mixes chain over all
their inputs' hashes).  It is unique per model (a lazy NTr model, "parent + white
noise", differs from its parent as a real one would) and commits to the model's whole
ancestry; the torch backend hashes real parameters with :func:`derelay.chain.hash_model`
instead.  With ``hash_models=False`` :meth:`AbstractBackend.hashes` returns SHA-256 of
the model id alone (still unique per model).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from derelay import _fastnp as fnp

#: Training data modes of ``train`` (both backends).
DATA_MODES = ("own", "label_flip", "random_labels")


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
        *,
        steps_ref: int = 10,
        poison_mu: float | None = None,
        local_sigma: float = 0.1,
        average_gain: float = 0.0,
        n_participants: int | None = None,
    ) -> None:
        if mode not in ("cumulative", "version"):
            raise ValueError(f"mode must be 'cumulative' or 'version', got {mode!r}")
        if steps_ref < 1:
            raise ValueError(f"steps_ref={steps_ref} must be >= 1")
        for name, v in (
            ("sigma", sigma),
            ("lazy_sigma", lazy_sigma),
            ("eval_sigma", eval_sigma),
            ("local_sigma", local_sigma),
        ):
            if not (float(v) >= 0 and np.isfinite(float(v))):
                raise ValueError(f"{name}={v} must be a finite number >= 0")
        self.mode = mode
        self.mu, self.sigma = float(mu), float(sigma)
        self.lazy_mu, self.lazy_sigma = float(lazy_mu), float(lazy_sigma)
        self.eval_sigma = float(eval_sigma)
        self.steps_ref = int(steps_ref)
        self.poison_mu = -self.mu if poison_mu is None else float(poison_mu)
        self.local_sigma = float(local_sigma)
        self.average_gain = float(average_gain)
        self.n_participants = None if n_participants is None else int(n_participants)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.rng = np.random.default_rng(ss)
        self._value = np.zeros(1024, dtype=np.float64)
        self._base = 0
        self._n = 0
        self._released_upto = 0
        self.hash_models = bool(hash_models)
        self._hash: dict[int, str] = {}
        self._round = 0

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
        rel = np.asarray(model_ids, dtype=np.int64) - self._base
        # one pass checks both ends: as uint64 an id below the base is >= 2^63
        if rel.size and np.maximum.reduce(rel.view(np.uint64), axis=None) >= self._n:
            raise KeyError(
                f"model ids outside the live range [{self._base}, {self._base + self._n})"
            )
        return self._value[rel]

    def genesis(self) -> int:
        gid = int(self._add(np.zeros(1))[0])
        if self.hash_models:
            self._hash[gid] = abstract_model_hash("genesis", 0, -1, gid)
        return gid

    def model_hash(self, model_id: int) -> str:
        """Hash(M) of a live model (``hash_models=True``)."""
        return self._hash[int(model_id)]

    def hashes(self, ids) -> list[str]:
        """Hash(M) per model: the lineage hash chain (``hash_models=True``), else SHA-256
        of the model id."""
        out = []
        for m in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            h = self._hash.get(m)
            out.append(h if h is not None else abstract_model_hash("untracked", 0, -1, m))
        return out

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

    def eval_accuracy(self, ids) -> np.ndarray:
        """True (noise-free) values: the stand-in of held-out accuracy."""
        return np.asarray(self.value(np.asarray(ids, dtype=np.int64).reshape(-1)), dtype=float)

    # --- primitives ----------------------------------------------------------------------
    def _new(self, values, parent_hashes_of, round_index: int, trainers) -> np.ndarray:
        ids = self._add(np.asarray(values, dtype=np.float64))
        if self.hash_models:
            for j, mid in enumerate(ids.tolist()):
                self._hash[mid] = abstract_model_hash(
                    parent_hashes_of(j), round_index, int(trainers[j]), mid
                )
        return ids

    def _pairs(self, parents, trainers):
        parents = np.asarray(parents, dtype=np.int64).reshape(-1)
        trainers = np.asarray(trainers, dtype=np.int64).reshape(-1)
        if len(parents) != len(trainers):
            raise ValueError(f"parents has length {len(parents)}, trainers has {len(trainers)}")
        if self.n_participants is not None and len(trainers):
            if trainers.min() < 0 or trainers.max() >= self.n_participants:
                raise ValueError(
                    f"trainer_ids must satisfy 0 <= id < n_participants={self.n_participants}"
                )
        return parents, trainers

    def _at(self, round_index) -> int:
        if round_index is not None:
            self._round = int(round_index)
        return self._round

    def _train_gain(self, z: np.ndarray, f: np.ndarray, modes: list[str]) -> np.ndarray:
        drift = np.array(
            [
                self.mu if m == "own" else self.poison_mu * (1.0 if m == "label_flip" else 0.5)
                for m in modes
            ],
            dtype=np.float64,
        )
        if self.mode == "cumulative":
            return drift * f + self.sigma * np.sqrt(f) * z
        return (drift * f).astype(np.float64)

    def _perturb_gain(self, z: np.ndarray, sigma) -> np.ndarray:
        s = self.lazy_sigma if sigma is None else float(sigma)
        if self.mode == "cumulative":
            return self.lazy_mu + s * z
        return np.full(len(z), self.lazy_mu, dtype=np.float64)

    def train(self, parents, trainers, steps=None, data="own", *, round=None) -> np.ndarray:
        """Stand-in of training (module docstring): parent + drift f + noise."""
        parents, trainers = self._pairs(parents, trainers)
        n = len(parents)
        modes = [data] * n if isinstance(data, str) else [str(m) for m in data]
        if len(modes) != n:
            raise ValueError(f"data has length {len(modes)}, trainers has {n}")
        bad = sorted({m for m in modes if m not in DATA_MODES})
        if bad:
            raise ValueError(f"data={bad[0]!r}: choose one of {', '.join(DATA_MODES)}")
        st = (
            np.full(n, self.steps_ref)
            if steps is None
            else np.broadcast_to(np.asarray(steps, dtype=np.int64), (n,))
        )
        if n and st.min() < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        r = self._at(round)
        pv = self.value(parents)
        gain = self._train_gain(self.rng.standard_normal(n), st / self.steps_ref, modes)
        ph = self.hashes(parents) if self.hash_models else None
        return self._new(pv + gain, lambda j: ph[j], r, trainers)

    def perturb(self, parents, trainers, sigma=None, *, round=None, mode=None) -> np.ndarray:
        """Stand-in of a lazy model: parent + lazy_mu + noise (``mode`` is ignored: the
        values have no parameter tensors)."""
        parents, trainers = self._pairs(parents, trainers)
        if sigma is not None and not (float(sigma) >= 0 and np.isfinite(float(sigma))):
            raise ValueError(f"sigma={sigma} must be a finite number >= 0")
        r = self._at(round)
        pv = self.value(parents)
        gain = self._perturb_gain(self.rng.standard_normal(len(parents)), sigma)
        ph = self.hashes(parents) if self.hash_models else None
        return self._new(pv + gain, lambda j: ph[j], r, trainers)

    def average(self, groups, weights=None, *, parents=None) -> np.ndarray:
        """Weighted mean of the members' values (+ ``average_gain``), one per group."""
        groups = [np.asarray(g, dtype=np.int64).reshape(-1) for g in groups]
        if weights is not None and len(weights) != len(groups):
            raise ValueError(f"weights has {len(weights)} entries, groups has {len(groups)}")
        vals, hs = [], []
        for g, ids in enumerate(groups):
            if not len(ids):
                raise ValueError(f"groups[{g}] is empty")
            w = np.ones(len(ids)) if weights is None else np.asarray(weights[g], dtype=np.float64)
            if w.shape != (len(ids),) or not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
                raise ValueError(
                    f"weights[{g}] must be {len(ids)} finite numbers >= 0 with a positive sum"
                )
            vals.append(float(np.dot(w / w.sum(), self.value(ids))) + self.average_gain)
            if self.hash_models:
                base = "".join(self.hashes(ids))
                if parents is not None:
                    base = self.hashes([parents[g]])[0] + base
                hs.append(base)
        trainers = np.full(len(groups), -1)
        return self._new(np.array(vals), lambda j: hs[j], self._round, trainers)

    def mix(self, a, b, alpha) -> np.ndarray:
        """(1 - alpha) * value(a) + alpha * value(b), elementwise."""
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        a, b = a.reshape(-1), b.reshape(-1)
        al = np.broadcast_to(np.asarray(alpha, dtype=np.float64), a.shape)
        if not np.all(np.isfinite(al)):
            raise ValueError(f"alpha={alpha} must be finite")
        v = (1.0 - al) * self.value(a) + al * self.value(b)
        if self.hash_models:
            ha, hb = self.hashes(a), self.hashes(b)
            hs = [x + y for x, y in zip(ha, hb, strict=True)]
        else:
            hs = None
        return self._new(v, lambda j: hs[j], self._round, np.full(len(a), -1))

    def score_cases(self, ids, round) -> tuple[np.ndarray, np.ndarray]:
        """Measured performance = value + eval_sigma * z; loss = -measured."""
        self._at(round)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        acc = self.value(ids) + self.eval_sigma * self.rng.standard_normal(len(ids))
        return acc, -acc

    def score_local(self, ids, scorers, metric: str = "accuracy") -> np.ndarray:
        """value + local_sigma * z per (scorer, model); ``metric="loss"`` negates it."""
        if metric not in ("accuracy", "loss"):
            raise ValueError(f"metric={metric!r}: choose accuracy or loss")
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        scorers = np.asarray(scorers, dtype=np.int64).reshape(-1)
        z = self.rng.standard_normal((len(scorers), len(ids)))
        out = self.value(ids)[None, :] + self.local_sigma * z
        return out if metric == "accuracy" else -out

    # --- one round -----------------------------------------------------------------------
    def train_round(self, round_index, parent_ids, trainer_ids, lazy, succeeded) -> AbstractRound:
        """DeRelayL's relay step composed from the train / perturb stand-ins (results as
        before the primitives: one gain z and one test-case z per trainer, in order)."""
        parent_ids = np.asarray(parent_ids, dtype=np.int64)
        trainer_ids = np.asarray(trainer_ids, dtype=np.int64)
        lazy = np.asarray(lazy, dtype=bool)
        succeeded = np.asarray(succeeded, dtype=bool)
        n = len(trainer_ids)
        self._round = int(round_index)
        # one draw per trainer in a fixed order keeps runs reproducible
        z_gain = self.rng.standard_normal(n)
        z_eval = self.rng.standard_normal(n)
        parent_val = self.value(parent_ids) if n else np.zeros(0)
        # _train_gain at f = 1 on own data (drift mu, noise sigma z) and _perturb_gain
        # (lazy), elementwise: the same values, without per-trainer lists or masks
        any_lazy = bool(np.logical_or.reduce(lazy, axis=None))
        if self.mode == "cumulative":
            trained = self.mu + self.sigma * z_gain
            if any_lazy:
                gain = fnp.where(lazy, self.lazy_mu + self.lazy_sigma * z_gain, trained)
            else:
                gain = trained
        else:
            gain = fnp.where(lazy, float(self.lazy_mu), float(self.mu))
        true = parent_val + gain
        measured = true + self.eval_sigma * z_eval
        exists = succeeded
        n_exist = int(np.count_nonzero(exists))
        if n_exist == n:  # every model exists: no masks
            ids = self._add(true)
            perf = measured
            gain_out = measured - parent_val
        else:
            ids = np.full(n, -1, dtype=np.int64)
            if n_exist:
                ids[exists] = self._add(true[exists])
            perf = fnp.where(exists, measured, np.nan)
            gain_out = fnp.where(exists, measured - parent_val, np.nan)
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
            gain=gain_out,
            hash_changed=exists.copy(),
            hashes=hashes,
            parent_hashes=parent_hashes,
        )
