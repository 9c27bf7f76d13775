"""``TorchBackend``: real learning over model ids, as primitives and as DeRelayL's round.

Primitives (the same on :class:`derelay.learning.abstract.AbstractBackend`; ids are ints,
arrays are numpy; ``round`` is keyword-only and optional everywhere, default the last
round seen)::

    b.genesis() -> int
    b.train(parents, trainers, steps=None, data="own", *, round=None) -> ids
        # data: "own" | "label_flip" (y -> C-1-y) | "random_labels" (fixed per trainer),
        # or one such string per trainer; steps: None (cfg.tau), an int, or one per trainer
    b.perturb(parents, trainers, sigma=None, *, round=None, mode=None) -> ids
        # lazy: parent + N(0, sigma^2) white noise (sigma None: cfg.lazy_noise;
        # mode None: cfg.lazy_noise_mode, "absolute" | "relative")
    b.average(groups, weights=None, *, parents=None) -> ids     # one per group (FedAvg)
    b.mix(a, b, alpha) -> ids                                   # (1 - alpha) a + alpha b
    b.score_cases(ids, round) -> (accuracy, loss)   # the round's Q_Cases test cases
    b.score_local(ids, scorers, metric="accuracy") -> (len(scorers), len(ids)) array
    b.eval_accuracy(ids) -> array                   # fixed held-out set, metrics only
    b.hashes(ids) -> list[str]; b.release(ids)

:meth:`TorchBackend.train_round` (DeRelayL's relay step) is their composition:
``train`` for honest trainers, ``perturb`` for lazy ones, ``score_cases`` for the
submitted models and their parents.  Randomness is keyed, never sequential: trainer t's
minibatches in round r come from ``SeedSequence(seed, (TAG_TRAIN, r, t, 0))`` and its
white noise from ``(..., r, t, 1)``, so calling ``train`` twice for one trainer in one
round repeats its minibatches (pass distinct rounds for distinct draws).

Example
-------
>>> import numpy as np
>>> from derelay.learning import LearningConfig, TorchBackend, round_metrics
>>> backend = TorchBackend(LearningConfig(hidden=(16,), tau=5), n_participants=8, seed=0)
>>> gid = backend.genesis()
>>> res = backend.train_round(
...     1,
...     parent_ids=np.array([gid, gid, gid]),
...     trainer_ids=np.array([1, 2, 3]),
...     lazy=np.array([False, False, True]),
...     succeeded=np.array([True, False, True]),
... )
>>> int(res.model_ids[1]), len(res.hashes[0])  # failed training gives no model
(-1, 64)
>>> selected = res.select_top(0.5)            # floor(0.5 * 2 submitted) = 1 selected
>>> sorted(round_metrics(res, selected, backend))[:3]
['best_accuracy', 'best_eval_gain', 'best_model_id']
>>> backend.release([m for m in res.model_ids[~selected] if m >= 0])

Each call of :meth:`TorchBackend.train_round` is one relay step of the paper's
workflow: trainers receive their owners' parameters (step 4), honest trainers train
``tau`` local steps on their private shard (step 5; all trainers of the round in one
batched computation), lazy (NTr) trainers submit the received parameters plus white
noise (challenge C4), failed trainers submit nothing; every submitted model gets the
SHA-256 of its parameters (step 6) and is scored on the Q_Cases test cases the TBM
publishes this round (steps 9-11).  Selection stays with the caller
(:meth:`RoundLearning.select_top` implements the SBM's top-s rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .abstract import DATA_MODES
from .config import LearningConfig
from .data import TAG_INIT, TAG_POISON, TAG_TRAIN, LearningData, build_data
from .model import evaluate, model_hash, model_spec
from .train import sample_batches, train_batched

__all__ = ["DATA_MODES", "RoundLearning", "TorchBackend", "round_metrics"]


@dataclass
class RoundLearning:
    """Outcome of one relay round, one entry per trainer (aligned with ``trainer_ids``).

    ``performance`` is accuracy in [0, 1] on the round's test cases (NaN where no model
    was submitted), ``loss`` the mean cross-entropy there, ``gain`` = performance minus
    the parent's performance on the *same* test cases.  ``hash_changed`` is the EB
    miner's check of step (7), Hash(M_{n-1}) != Hash(M_n): a model identical to its
    parent is not packed and can never be selected.
    """

    round_index: int
    trainer_ids: np.ndarray
    parent_ids: np.ndarray
    lazy: np.ndarray
    succeeded: np.ndarray
    model_ids: np.ndarray
    performance: np.ndarray
    loss: np.ndarray
    gain: np.ndarray
    parent_performance: np.ndarray
    parent_loss: np.ndarray
    hashes: list[str | None]
    parent_hashes: list[str]
    hash_changed: np.ndarray
    test_cases: np.ndarray
    rank_by: str = "accuracy"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def submitted(self) -> np.ndarray:
        """Models that exist (training did not fail)."""
        return self.model_ids >= 0

    @property
    def eligible(self) -> np.ndarray:
        """Submitted models that pass the EB hash check (step 7) and may be ranked."""
        return self.submitted & self.hash_changed

    def rank_order(self) -> np.ndarray:
        """Positions of eligible models, best first (the SBM's ranking).

        ``rank_by="accuracy"``: higher test-case accuracy first, ties broken by lower
        cross-entropy, then by position; ``"loss"``: lower cross-entropy first.
        """
        pos = np.flatnonzero(self.eligible)
        if self.rank_by == "loss":
            keys = (pos, -self.performance[pos], self.loss[pos])
        else:
            keys = (pos, self.loss[pos], -self.performance[pos])
        return pos[np.lexsort(keys)]

    def ranks(self) -> np.ndarray:
        """1-based rank of every trainer's model (NaN if not eligible)."""
        out = np.full(len(self.model_ids), np.nan)
        order = self.rank_order()
        out[order] = np.arange(1, len(order) + 1)
        return out

    def select_top(self, s: float) -> np.ndarray:
        """Boolean mask of the top floor(s * eligible) models (Section IV-A step (5))."""
        if not 0.0 < s < 1.0:
            raise ValueError(f"s={s} must satisfy 0 < s < 1")
        order = self.rank_order()
        k = int(math.floor(s * len(order) + 1e-9))
        mask = np.zeros(len(self.model_ids), dtype=bool)
        mask[order[:k]] = True
        return mask


class TorchBackend:
    """Real learning with a small torch MLP or DeepChain's CNN (docs/ENGINE.md sec. 4).

    Deterministic: every random draw comes from a ``numpy.random.SeedSequence`` keyed by
    (seed, purpose, round, trainer), so a trainer's update depends only on its parent,
    its shard, the public test cases and those keys - not on who else trains or on call
    order; torch runs on CPU with ``cfg.num_threads`` threads (torch's own RNG and
    Python's ``random`` are never used).  Bit-identical results need the same
    ``num_threads`` (default 1): matmul reduction order may depend on the thread count.

    Memory: models are kept until released (:meth:`release`); as a safety net at
    most ``max_models`` parameter vectors are held (about 26 kB each for the default
    digits MLP): beyond that the oldest models are evicted - never the genesis model,
    the current round's parents or the models of the latest round (``None`` disables
    the cap).
    """

    def __init__(
        self,
        config: LearningConfig | None = None,
        n_participants: int = 256,
        seed: int = 0,
        data: LearningData | None = None,
        max_models: int | None = 2048,
    ) -> None:
        self.cfg = config or LearningConfig()
        if self.cfg.num_threads is not None:
            torch.set_num_threads(self.cfg.num_threads)
        self.seed = int(seed)
        self.n_participants = int(n_participants)
        self.data = data or build_data(self.cfg, self.n_participants, self.seed)
        if self.data.n_participants != self.n_participants:
            raise ValueError("data was built for a different n_participants")
        self.device = torch.device(self.cfg.device)
        self.spec = model_spec(
            self.cfg.model,
            self.data.n_features,
            self.data.n_classes,
            self.cfg.hidden,
            self.data.image_shape,
        )
        self._params: dict[int, torch.Tensor] = {}
        self._pending: set[int] = set()
        self._round_of: dict[int, float] = {}
        self._current_round: float = -math.inf
        self._latest: set[int] = set()
        self.max_models = max_models
        self._hash: dict[int, str] = {}
        self._version: dict[int, int] = {}
        self._parent: dict[int, int] = {}
        self._eval_acc: dict[int, float] = {}
        self._published: dict[int, np.ndarray] = {}
        self._public_cache: tuple[int, np.ndarray] | None = None
        self._next_id = 0
        self._genesis: int | None = None
        self._X_eval = self.data.X[self.data.eval_idx]
        self._y_eval = self.data.y[self.data.eval_idx]

    # ------------------------------------------------------------------ models
    @property
    def n_params(self) -> int:
        """|M|: number of parameters of the model fixed at genesis."""
        return self.spec.n_params

    @property
    def n_alive(self) -> int:
        """Models currently held in memory."""
        return len(self._params)

    def _store(self, flat: torch.Tensor, parent: int | None) -> int:
        mid = self._next_id
        self._next_id += 1
        self._params[mid] = flat
        self._hash[mid] = model_hash(self.spec, flat)
        self._version[mid] = 0 if parent is None else self._version[parent] + 1
        self._parent[mid] = -1 if parent is None else parent
        self._round_of[mid] = self._current_round
        return mid

    def _store_many(self, flats: torch.Tensor, parents) -> np.ndarray:
        """Store rows of ``flats`` as new models of the current round; returns their ids."""
        ids = np.empty(len(flats), dtype=np.int64)
        for i in range(len(flats)):
            ids[i] = mid = self._store(flats[i].clone(), int(parents[i]))
            self._latest.add(mid)
        return ids

    def add_model(self, flat: torch.Tensor, parent: int | None) -> int:
        """Store an externally built model (e.g. a FedAvg average); returns its id."""
        flat = torch.as_tensor(flat, dtype=torch.float32).reshape(-1).to(self.device)
        if flat.numel() != self.n_params:
            raise ValueError(f"model has {flat.numel()} parameters, expected {self.n_params}")
        return self._store(flat.clone(), parent)

    def genesis(self) -> int:
        """Create (once) the genesis model and return its id (version 0).

        Random initialisation; with ``genesis_steps > 0`` the genesis owner
        (participant 0) first trains it for that many steps on its shard.
        """
        if self._genesis is not None:
            return self._genesis
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(TAG_INIT,)))
        flat = self.spec.init(rng).to(self.device)
        if self.cfg.genesis_steps:
            batches = sample_batches(
                [self.data.shard(0)], self.cfg.genesis_steps, self.cfg.batch_size, [rng]
            )
            flat = train_batched(
                self.spec, flat[None], self.data.X, self.data.y, batches, self.cfg
            )[0]
        self._genesis = self._store(flat, None)
        return self._genesis

    def parameters(self, model_id: int) -> torch.Tensor:
        """Flat ``(P,)`` parameter vector of a live model."""
        try:
            return self._params[int(model_id)]
        except KeyError:
            raise KeyError(f"model id {model_id} is unknown or was released") from None

    def state_dict(self, model_id: int) -> dict[str, np.ndarray]:
        """Named parameter arrays of a live model (``nn.Sequential`` names)."""
        return self.spec.state_dict(self.parameters(model_id))

    def model_hash(self, model_id: int) -> str:
        return self._hash[int(model_id)]

    def version(self, model_id: int) -> int:
        """Relay steps from genesis (genesis = 0)."""
        return self._version[int(model_id)]

    def parent(self, model_id: int) -> int:
        """Id of the model this one was trained from (-1 for genesis)."""
        return self._parent[int(model_id)]

    def release(self, model_ids: Iterable[int]) -> None:
        """Forget models no longer needed (bounded memory).

        Release is *deferred* and conservative: a released model's parameters are
        freed when a later :meth:`train_round` starts whose parents are all from a
        more recent round than the model and do not include it.  So per-round metrics
        may be computed after releasing, and a caller that releases models it still
        uses as parents (e.g. owners carried over when nothing was selected, or every
        sibling of the current owners) does not lose them.  Hashes, versions, lineage and
        cached evaluation accuracies (a few bytes per model) are kept; unknown,
        already released ids and the genesis model are ignored.
        """
        for m in np.asarray(list(model_ids), dtype=np.int64).reshape(-1):
            if m >= 0 and m != self._genesis and int(m) in self._params:
                self._pending.add(int(m))

    def _collect(self, parents: np.ndarray) -> None:
        """Free pending releases (except this round's parents) and enforce ``max_models``."""
        needed = {int(p) for p in parents}
        oldest = min((self._round_of[p] for p in needed), default=math.inf)
        for m in list(self._pending):
            if m not in needed and self._round_of[m] < oldest:
                self._params.pop(m, None)
                self._pending.discard(m)
        cap = self.max_models
        if cap is not None and len(self._params) > cap:
            protect = needed | self._latest | {self._genesis}
            for m in sorted(self._params):
                if len(self._params) <= cap:
                    break
                if m not in protect:
                    self._params.pop(m)
                    self._pending.discard(m)

    def best_accuracy(self, model_id: int) -> float:
        """Accuracy of a model on the fixed held-out evaluation set (cached)."""
        m = int(model_id)
        if m not in self._eval_acc:
            acc, _ = evaluate(self.spec, self.parameters(m), self._X_eval, self._y_eval)
            self._eval_acc[m] = float(acc[0])
        return self._eval_acc[m]

    def eval_accuracy(self, model_ids: Sequence[int]) -> np.ndarray:
        """Held-out accuracies of many models (batched; cached)."""
        ids = [int(m) for m in model_ids]
        todo = sorted({m for m in ids if m not in self._eval_acc})
        if todo:
            flats = torch.stack([self.parameters(m) for m in todo])
            acc, _ = evaluate(self.spec, flats, self._X_eval, self._y_eval)
            self._eval_acc.update(zip(todo, acc.tolist(), strict=True))
        return np.array([self._eval_acc[m] for m in ids], dtype=float)

    # ------------------------------------------------------------------ data
    def test_cases(self, round_index: int) -> np.ndarray:
        """Global indices of the Q_Cases test cases the TBM publishes in a round."""
        return self.data.test_cases(round_index)

    def public_pool(self, round_index: int) -> np.ndarray:
        """Test cases published in rounds before ``round_index`` (reusable for training)."""
        if not self.cfg.reuse_test_cases:
            return np.empty(0, dtype=np.int64)
        if self._public_cache is not None and self._public_cache[0] == round_index:
            return self._public_cache[1]
        parts = [v for r, v in self._published.items() if r < round_index]
        pool = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
        self._public_cache = (round_index, pool)
        return pool

    def trainer_pool(self, trainer: int, round_index: int) -> np.ndarray:
        """Samples trainer ``trainer`` may train on in a round (shard + public cases)."""
        shard = self.data.shard(trainer)
        pub = self.public_pool(round_index)
        return np.concatenate([shard, pub]) if len(pub) else shard

    # ------------------------------------------------------------------ rounds
    def _trainer_rng(self, round_index: int, trainer: int, stream: int) -> np.random.Generator:
        ss = np.random.SeedSequence(
            self.seed, spawn_key=(TAG_TRAIN, int(round_index), int(trainer), stream)
        )
        return np.random.default_rng(ss)

    # ------------------------------------------------------------------ primitives
    def _ids(self, ids, name: str = "ids") -> np.ndarray:
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        missing = [int(m) for m in np.unique(arr) if int(m) not in self._params]
        if missing:
            raise KeyError(f"{name}: model ids {missing} are unknown or were released")
        return arr

    def _pairs(self, parents, trainers) -> tuple[np.ndarray, np.ndarray]:
        parents = np.asarray(parents, dtype=np.int64).reshape(-1)
        trainers = np.asarray(trainers, dtype=np.int64).reshape(-1)
        if len(parents) != len(trainers):
            raise ValueError(f"parents has length {len(parents)}, trainers has {len(trainers)}")
        if len(trainers) and (trainers.min() < 0 or trainers.max() >= self.n_participants):
            raise ValueError(
                f"trainer_ids must satisfy 0 <= id < n_participants={self.n_participants}"
            )
        return self._ids(parents, "parents"), trainers

    def _enter(self, round_index, inputs: np.ndarray) -> int:
        """Start a model-creating call: free pending releases, set the current round."""
        self._collect(inputs)
        if round_index is None:
            return int(self._current_round) if math.isfinite(self._current_round) else 0
        r = int(round_index)
        if r != self._current_round:
            self._latest = set()
        self._current_round = r
        return r

    def _stack(self, ids: np.ndarray) -> torch.Tensor:
        if not len(ids):
            return torch.empty((0, self.n_params), dtype=torch.float32, device=self.device)
        return torch.stack([self._params[int(m)] for m in ids])

    def _labels(self, trainers: np.ndarray, modes: list[str], batches: np.ndarray):
        """Poisoned labels (tau, B, bs) for the trainers, or None when all train honestly."""
        if all(m == "own" for m in modes):
            return None
        C = self.data.n_classes
        idx = torch.as_tensor(batches, device=self.device)
        lab = self.data.y[idx].clone()
        for b, (t, m) in enumerate(zip(trainers, modes, strict=True)):
            if m == "label_flip":
                lab[:, b] = C - 1 - lab[:, b]
            elif m == "random_labels":
                rng = np.random.default_rng(
                    np.random.SeedSequence(self.seed, spawn_key=(TAG_POISON, int(t)))
                )
                fake = torch.as_tensor(
                    rng.integers(0, C, size=len(self.data.y_np)), device=self.device
                )
                lab[:, b] = fake[idx[:, b]]
        return lab

    def _train_flat(self, parents, trainers, steps, data, round_index, trainer="batched"):
        """Trained parameters (n, P) of the trainers, in order (nothing stored)."""
        n = len(trainers)
        if isinstance(data, str):
            modes = [data] * n
        else:
            modes = [str(m) for m in data]
            if len(modes) != n:
                raise ValueError(f"data has length {len(modes)}, trainers has {n}")
        bad = sorted({m for m in modes if m not in DATA_MODES})
        if bad:
            raise ValueError(f"data={bad[0]!r}: choose one of {', '.join(DATA_MODES)}")
        if steps is None:
            st = np.full(n, self.cfg.tau, dtype=np.int64)
        else:
            st = np.broadcast_to(np.asarray(steps, dtype=np.int64), (n,)).copy()
            if len(st) and (st.min() < 0 or st.max() > 1_000_000):
                raise ValueError(f"steps must satisfy 0 <= steps <= 1000000, got {steps}")
        out = torch.empty((n, self.n_params), dtype=torch.float32, device=self.device)
        X, y = self.data.X, self.data.y
        for k in np.unique(st):
            grp = np.flatnonzero(st == k)
            start = self._stack(parents[grp])
            if k == 0:
                out[torch.as_tensor(grp, device=self.device)] = start
                continue
            pools = [self.trainer_pool(int(trainers[i]), round_index) for i in grp]
            rngs = [self._trainer_rng(round_index, trainers[i], 0) for i in grp]
            batches = sample_batches(pools, int(k), self.cfg.batch_size, rngs)
            labels = self._labels(trainers[grp], [modes[i] for i in grp], batches)
            if trainer == "looped":
                from .train import train_looped

                trained = train_looped(self.spec, start, X, y, batches, self.cfg, labels)
            elif trainer == "vmap":
                from .train import train_vmap

                if labels is not None:
                    raise ValueError("trainer='vmap' trains on the trainers' own labels only")
                trained = train_vmap(self.spec, start, X, y, batches, self.cfg)
            else:
                path = "autograd" if trainer == "autograd" else "auto"
                trained = train_batched(self.spec, start, X, y, batches, self.cfg, labels, path)
            out[torch.as_tensor(grp, device=self.device)] = trained
        return out

    def _perturb_flat(self, parents, trainers, sigma, round_index, mode=None) -> torch.Tensor:
        """Parents plus white noise (n, P): keyed by (round, trainer), nothing stored."""
        sigma = self.cfg.lazy_noise if sigma is None else float(sigma)
        mode = mode or self.cfg.lazy_noise_mode
        if mode not in ("absolute", "relative"):
            raise ValueError(f"mode={mode!r}: choose absolute or relative")
        if not (sigma >= 0 and math.isfinite(sigma)):
            raise ValueError(f"sigma={sigma} must be a finite number >= 0")
        out = torch.empty((len(trainers), self.n_params), dtype=torch.float32, device=self.device)
        for j, (p, t) in enumerate(zip(parents, trainers, strict=True)):
            base = self._params[int(p)]
            rng = self._trainer_rng(round_index, t, 1)
            noise = torch.as_tensor(rng.standard_normal(self.n_params), dtype=torch.float32)
            noise = noise.to(self.device)
            noise *= sigma
            if mode == "relative":
                for a, b in self._slices():
                    noise[a:b] *= float(base[a:b].pow(2).mean().sqrt())
            out[j] = base + noise
        return out

    def train(
        self,
        parents,
        trainers,
        steps=None,
        data="own",
        *,
        round: int | None = None,
        trainer: str = "batched",
    ) -> np.ndarray:
        """Train a copy of ``parents[i]`` on trainer ``trainers[i]``'s data; new ids.

        ``steps``: local SGD/Adam steps (``None``: ``cfg.tau``; an int or one per trainer:
        training cut short, 0 = an unchanged copy); ``data``: ``"own"`` (the training part
        of the trainer's shard plus reusable published test cases), ``"label_flip"``
        (the same samples with labels y -> C - 1 - y) or ``"random_labels"`` (a fixed
        random label per sample and trainer), or one such string per trainer.  All
        trainers run in one batched computation per distinct ``steps`` value.
        """
        if trainer not in ("batched", "autograd", "looped", "vmap"):
            raise ValueError(f"trainer={trainer!r}: choose batched, autograd, looped or vmap")
        parents, trainers = self._pairs(parents, trainers)
        r = self._enter(round, parents)
        flats = self._train_flat(parents, trainers, steps, data, r, trainer)
        return self._store_many(flats, parents)

    def perturb(
        self, parents, trainers, sigma=None, *, round: int | None = None, mode=None
    ) -> np.ndarray:
        """Lazy (NTr) models: parent plus N(0, sigma^2) white noise per parameter
        (``mode="relative"``: sigma times each tensor's RMS); new ids."""
        parents, trainers = self._pairs(parents, trainers)
        r = self._enter(round, parents)
        return self._store_many(self._perturb_flat(parents, trainers, sigma, r, mode), parents)

    def average(self, groups, weights=None, *, parents=None) -> np.ndarray:
        """Federated averaging: one new model per group, sum_i w_i M_i with weights
        normalised to sum 1 (``None``: equal weights).  ``parents[g]`` is recorded as
        the new model's parent (default: the group's first member)."""
        groups = [self._ids(g, "groups") for g in groups]
        if weights is not None and len(weights) != len(groups):
            raise ValueError(f"weights has {len(weights)} entries, groups has {len(groups)}")
        if parents is not None and len(parents) != len(groups):
            raise ValueError(f"parents has {len(parents)} entries, groups has {len(groups)}")
        allin = np.concatenate(groups) if groups else np.empty(0, dtype=np.int64)
        self._enter(None, allin)
        flats, par = [], []
        for g, ids in enumerate(groups):
            if not len(ids):
                raise ValueError(f"groups[{g}] is empty")
            w = np.ones(len(ids)) if weights is None else np.asarray(weights[g], dtype=np.float64)
            if w.shape != (len(ids),) or not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
                raise ValueError(
                    f"weights[{g}] must be {len(ids)} finite numbers >= 0 with a positive sum"
                )
            wt = torch.as_tensor(w / w.sum(), dtype=torch.float32, device=self.device)
            flats.append((wt[:, None] * self._stack(ids)).sum(0))
            par.append(int(ids[0]) if parents is None else int(parents[g]))
        if not flats:
            return np.empty(0, dtype=np.int64)
        return self._store_many(torch.stack(flats), par)

    def mix(self, a, b, alpha) -> np.ndarray:
        """Weighted moving average (BRAIN Alg. 1): (1 - alpha) * a + alpha * b, elementwise
        per pair (computed in float64, stored as float32); parent = ``a``."""
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        a, b = self._ids(a, "a"), self._ids(b, "b")
        al = np.array(np.broadcast_to(np.asarray(alpha, dtype=np.float64), a.shape)).reshape(-1)
        if not np.all(np.isfinite(al)):
            raise ValueError(f"alpha={alpha} must be finite")
        self._enter(None, np.concatenate([a, b]))
        pa, pb = self._stack(a).double(), self._stack(b).double()
        at = torch.as_tensor(al, dtype=torch.float64, device=self.device)[:, None]
        return self._store_many(((1.0 - at) * pa + at * pb).float(), a)

    def score_cases(self, ids, round: int) -> tuple[np.ndarray, np.ndarray]:
        """Accuracy and mean cross-entropy of models on the Q_Cases test cases the TBM
        publishes in ``round`` (which marks them published: later rounds may train on
        them when ``reuse_test_cases``)."""
        ids = self._ids(ids)
        cases = self.test_cases(round)
        self._published[int(round)] = cases
        self._public_cache = None
        if not len(ids):
            return np.empty(0), np.empty(0)
        X, y = self.data.X, self.data.y
        return evaluate(self.spec, self._stack(ids), X[cases], y[cases])

    def score_local(self, ids, scorers, metric: str = "accuracy") -> np.ndarray:
        """``(len(scorers), len(ids))``: each scorer's accuracy (or mean cross-entropy,
        ``metric="loss"``) of every model on the scorer's local validation part; NaN for
        a scorer without one (a shard of 1-2 samples, or ``val_share = 0``)."""
        if metric not in ("accuracy", "loss"):
            raise ValueError(f"metric={metric!r}: choose accuracy or loss")
        ids = self._ids(ids)
        scorers = np.asarray(scorers, dtype=np.int64).reshape(-1)
        if len(scorers) and (scorers.min() < 0 or scorers.max() >= self.n_participants):
            raise ValueError(f"scorers must satisfy 0 <= id < n_participants={self.n_participants}")
        out = np.full((len(scorers), len(ids)), np.nan)
        parts = [self.data.validation(int(s)) for s in scorers]
        sizes = np.array([len(p) for p in parts], dtype=np.int64)
        if not len(ids) or not sizes.sum():
            return out
        idx = torch.as_tensor(np.concatenate(parts), device=self.device)
        X, y = self.data.X[idx], self.data.y[idx]
        seg = torch.as_tensor(np.repeat(np.arange(len(scorers)), sizes), device=self.device)
        flats = self._stack(ids)
        m_chunk, n_chunk = self.spec.eval_chunks
        n_chunk = n_chunk or len(y)
        with torch.no_grad():
            for s0 in range(0, len(ids), m_chunk):
                part = flats[s0 : s0 + m_chunk]
                tot = torch.zeros(
                    (len(scorers), part.shape[0]), dtype=torch.float64, device=self.device
                )
                for a in range(0, len(y), n_chunk):
                    logits = self.spec.forward(part, X[a : a + n_chunk])
                    yb = y[a : a + n_chunk]
                    if metric == "accuracy":
                        v = (logits.argmax(-1) == yb).double()
                    else:
                        bb, nn_, c = logits.shape
                        v = (
                            torch.nn.functional.cross_entropy(
                                logits.reshape(bb * nn_, c), yb.repeat(bb), reduction="none"
                            )
                            .view(bb, nn_)
                            .double()
                        )
                    tot.index_add_(0, seg[a : a + n_chunk], v.T)
                out[:, s0 : s0 + part.shape[0]] = tot.cpu().numpy()
        has = sizes > 0
        out[has] /= sizes[has, None]
        return out

    def hashes(self, ids) -> list[str]:
        """SHA-256 of each model's parameters (kept after release)."""
        return [self._hash[int(m)] for m in np.asarray(ids, dtype=np.int64).reshape(-1)]

    # ------------------------------------------------------------------ DeRelayL round
    def train_round(
        self,
        round_index: int,
        parent_ids: Sequence[int] | np.ndarray,
        trainer_ids: Sequence[int] | np.ndarray,
        lazy: Sequence[bool] | np.ndarray,
        succeeded: Sequence[bool] | np.ndarray,
        *,
        trainer: str = "batched",
    ) -> RoundLearning:
        """Run one relay round; see the module docstring.  ``trainer="looped"`` uses the
        one-model-at-a-time reference path, ``"vmap"`` the ``torch.func`` path (SGD only;
        both for tests and benchmarks), ``"autograd"`` autograd for the MLP's SGD.

        Composition of the primitives: honest succeeded trainers ``train`` (tau steps
        on their own data), lazy ones ``perturb`` (``cfg.lazy_noise``), failed ones
        submit nothing; models are stored in trainer order and ``score_cases`` scores
        them and their parents on the round's test cases."""
        if trainer not in ("batched", "autograd", "looped", "vmap"):
            raise ValueError(f"trainer={trainer!r}: choose batched, autograd, looped or vmap")
        import time

        t0 = time.perf_counter()
        parent_ids = np.asarray(parent_ids, dtype=np.int64).reshape(-1)
        trainer_ids = np.asarray(trainer_ids, dtype=np.int64).reshape(-1)
        lazy = np.asarray(lazy, dtype=bool).reshape(-1)
        succeeded = np.asarray(succeeded, dtype=bool).reshape(-1)
        n = len(trainer_ids)
        for name, arr in (("parent_ids", parent_ids), ("lazy", lazy), ("succeeded", succeeded)):
            if len(arr) != n:
                raise ValueError(f"{name} has length {len(arr)}, trainer_ids has {n}")
        self._pairs(parent_ids, trainer_ids)  # validates ids and trainers
        self._collect(parent_ids)
        self._current_round = int(round_index)
        self._latest = set()
        honest = np.flatnonzero(succeeded & ~lazy)
        idle = np.flatnonzero(succeeded & lazy)
        new = torch.empty((n, self.n_params), dtype=torch.float32, device=self.device)
        if len(honest):
            new[torch.as_tensor(honest, device=self.device)] = self._train_flat(
                parent_ids[honest], trainer_ids[honest], None, "own", round_index, trainer
            )
        t1 = time.perf_counter()
        if len(idle):
            new[torch.as_tensor(idle, device=self.device)] = self._perturb_flat(
                parent_ids[idle], trainer_ids[idle], None, round_index
            )
        sub = np.flatnonzero(succeeded)
        model_ids = np.full(n, -1, dtype=np.int64)
        model_ids[sub] = self._store_many(
            new[torch.as_tensor(sub, device=self.device)], parent_ids[sub]
        )
        t2 = time.perf_counter()
        perf = np.full(n, np.nan)
        loss = np.full(n, np.nan)
        if len(sub):
            perf[sub], loss[sub] = self.score_cases(model_ids[sub], round_index)
        uniq, inv = np.unique(parent_ids, return_inverse=True)
        pa, pl = self.score_cases(uniq, round_index)
        parent_perf = pa[inv] if n else np.empty(0)
        parent_loss = pl[inv] if n else np.empty(0)
        cases = self.test_cases(round_index)
        t3 = time.perf_counter()
        hashes: list[str | None] = [None] * n
        for i in sub:
            hashes[i] = self._hash[int(model_ids[i])]
        parent_hashes = self.hashes(parent_ids)
        changed = np.array(
            [h is not None and h != ph for h, ph in zip(hashes, parent_hashes, strict=True)],
            dtype=bool,
        )
        return RoundLearning(
            round_index=int(round_index),
            trainer_ids=trainer_ids,
            parent_ids=parent_ids,
            lazy=lazy,
            succeeded=succeeded,
            model_ids=model_ids,
            performance=perf,
            loss=loss,
            gain=perf - parent_perf,
            parent_performance=parent_perf,
            parent_loss=parent_loss,
            hashes=hashes,
            parent_hashes=parent_hashes,
            hash_changed=changed,
            test_cases=cases,
            rank_by=self.cfg.rank_by,
            timings={"train": t1 - t0, "store": t2 - t1, "score": t3 - t2},
        )

    def _slices(self) -> list[tuple[int, int]]:
        out, off = [], 0
        for shape in self.spec.shapes():
            size = int(np.prod(shape))
            out.append((off, off + size))
            off += size
        return out


def round_metrics(
    res: RoundLearning, selected: np.ndarray, backend: TorchBackend | None = None
) -> dict[str, float]:
    """The per-round learning columns of ``rounds.parquet`` (single definition).

    * ``best_accuracy``: held-out accuracy (``backend.best_accuracy``) of the round's
      best model - the top-ranked selected model (the one the EB miner decrypts), or the
      top-ranked eligible one if nothing was selected; NaN if no model was submitted or
      no backend is given.
    * ``mean_gain``: mean over *selected* models of ``gain`` (test-case accuracy minus
      the parent's on the same cases, in [−1, 1]); this is the measured value of one
      relay step that © prices (Section III-C2); NaN if nothing was selected.
    * ``lazy_top_s_rate``: share of submitted lazy (NTr) models that were selected,
      the "lucky lazy worker" rate of step (11); NaN if no lazy model was submitted.
      Pool rounds with ``lazy_selected / lazy_submitted``, not by averaging rates.

    Extra keys: counts (``n_submitted``, ``n_selected``, ``lazy_submitted``,
    ``lazy_selected``, ``honest_submitted``, ``honest_selected``), ``mean_gain_honest``,
    ``mean_gain_lazy`` (over submitted models), ``best_performance``,
    ``mean_lazy_rank_pct`` (mean rank of lazy models as a share of eligible, 0 = best),
    ``best_model_id`` and, with a backend, ``best_eval_gain`` (held-out gain of the best
    model over its parent) and ``mean_eval_gain`` (mean held-out gain of the selected
    models over their parents; what :func:`derelay.learning.experiment.calibrate`
    prices as ©).
    """
    selected = np.asarray(selected, dtype=bool)
    if len(selected) != len(res.model_ids):
        raise ValueError(f"selected has length {len(selected)}, the round has {len(res.model_ids)}")
    sub = res.submitted
    sel = selected & sub
    lazy_sub = res.lazy & sub
    honest_sub = ~res.lazy & sub
    order = res.rank_order()
    sel_order = [i for i in order if sel[i]]
    best_pos = sel_order[0] if sel_order else (order[0] if len(order) else None)

    def _mean(mask: np.ndarray) -> float:
        return float(np.mean(res.gain[mask])) if mask.any() else math.nan

    ranks = res.ranks()
    lazy_ranked = lazy_sub & ~np.isnan(ranks)
    out: dict[str, float] = {
        "best_accuracy": math.nan,
        "mean_gain": _mean(sel),
        "lazy_top_s_rate": (
            float((sel & res.lazy).sum() / lazy_sub.sum()) if lazy_sub.any() else math.nan
        ),
        "n_submitted": int(sub.sum()),
        "n_selected": int(sel.sum()),
        "lazy_submitted": int(lazy_sub.sum()),
        "lazy_selected": int((sel & res.lazy).sum()),
        "honest_submitted": int(honest_sub.sum()),
        "honest_selected": int((sel & ~res.lazy).sum()),
        "mean_gain_honest": _mean(honest_sub),
        "mean_gain_lazy": _mean(lazy_sub),
        "best_performance": math.nan if best_pos is None else float(res.performance[best_pos]),
        "mean_lazy_rank_pct": (
            float(np.mean((ranks[lazy_ranked] - 1) / len(order))) if lazy_ranked.any() else math.nan
        ),
        "best_model_id": -1 if best_pos is None else int(res.model_ids[best_pos]),
        "best_eval_gain": math.nan,
    }
    out["mean_eval_gain"] = math.nan
    if backend is not None and best_pos is not None:
        child = int(res.model_ids[best_pos])
        parent = int(res.parent_ids[best_pos])
        acc = backend.eval_accuracy([child, parent])
        out["best_accuracy"] = float(acc[0])
        out["best_eval_gain"] = float(acc[0] - acc[1])
        if sel.any():
            kids = backend.eval_accuracy(res.model_ids[sel])
            pars = backend.eval_accuracy(res.parent_ids[sel])
            out["mean_eval_gain"] = float(np.mean(kids - pars))
    return out
