"""Data for relay learning: private shards, the TBM's test cases and a held-out set.

Three disjoint parts of one labelled data set:

* the **trainers' pool**, split into one private shard per participant (IID or
  non-IID by Dirichlet label skew, see :func:`dirichlet_shards`);
* the **test-case pool** of the testing-block miners: each round the TBM publishes
  ``q_cases`` of them (paper step (9), Q_Cases in eqs. (11), (12), (57)); the pool is
  walked through in seeded random order and reshuffled once exhausted
  (:meth:`LearningData.test_cases`);
* a fixed **evaluation set** used only to report ``best_accuracy``.

Digits (scikit-learn's bundled 1,797 8x8 images, pixel values scaled to [0, 1]) is
small: with the default 60 % trainers' pool and 256 participants a disjoint partition
gives about 4 samples per participant.  Pass ``shard_size`` to sample larger,
possibly overlapping, shards instead, or use the synthetic generator for large
populations (it generates disjoint shards of any size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import LearningConfig

# Stream tags for SeedSequence spawn keys: every random choice has its own stream.
TAG_DATA, TAG_SHARDS, TAG_TESTCASES, TAG_INIT, TAG_TRAIN, TAG_SCHEDULE = range(6)


@dataclass
class LearningData:
    """All samples as tensors plus the index sets of the three parts.

    ``shard_ptr``/``shard_idx`` hold the shards in CSR form: participant ``i`` owns
    global sample indices ``shard_idx[shard_ptr[i]:shard_ptr[i+1]]``.
    """

    X: torch.Tensor  # (N, d) float32
    y: torch.Tensor  # (N,) int64
    y_np: np.ndarray
    n_classes: int
    shard_ptr: np.ndarray
    shard_idx: np.ndarray
    test_pool: np.ndarray
    eval_idx: np.ndarray
    seed: int
    q_cases: int

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_participants(self) -> int:
        return len(self.shard_ptr) - 1

    def shard(self, participant: int) -> np.ndarray:
        return self.shard_idx[self.shard_ptr[participant] : self.shard_ptr[participant + 1]]

    def shard_sizes(self) -> np.ndarray:
        return np.diff(self.shard_ptr)

    def label_distribution(self) -> np.ndarray:
        """(n_participants, n_classes) share of each class in each shard."""
        n = self.n_participants
        owner = np.repeat(np.arange(n), self.shard_sizes())
        counts = np.zeros((n, self.n_classes))
        np.add.at(counts, (owner, self.y_np[self.shard_idx]), 1.0)
        return counts / np.maximum(counts.sum(1, keepdims=True), 1.0)

    def test_cases(self, round_index: int) -> np.ndarray:
        """The ``q_cases`` test cases the TBM publishes in ``round_index`` (deterministic).

        Position ``k`` of the infinite sequence is element ``k mod |pool|`` of the
        permutation of epoch ``k // |pool|``; round r takes positions
        [r*q, (r+1)*q).  Within a round the cases are distinct.
        """
        pool = self.test_pool
        size = len(pool)
        start = int(round_index) * self.q_cases
        pos = np.arange(start, start + self.q_cases)
        epochs = pos // size
        out = np.empty(self.q_cases, dtype=np.int64)
        for e in np.unique(epochs):
            perm = np.random.default_rng(
                np.random.SeedSequence(self.seed, spawn_key=(TAG_TESTCASES, int(e)))
            ).permutation(size)
            m = epochs == e
            out[m] = pool[perm[pos[m] % size]]
        return out


def build_data(cfg: LearningConfig, n_participants: int, seed: int) -> LearningData:
    """Build the data of a run: load or generate samples and split them."""
    if n_participants < 1:
        raise ValueError(f"n_participants={n_participants} must be >= 1")
    ss = np.random.SeedSequence(seed)
    rng_data = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_DATA,)))
    rng_shards = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_SHARDS,)))
    del ss
    if cfg.dataset == "digits":
        X, y, C = _digits()
        N = len(y)
        perm = rng_data.permutation(N)
        n_eval = int(round(cfg.eval_size_resolved * N))
        n_test = int(round(cfg.test_pool_size_resolved * N))
        eval_idx = np.sort(perm[:n_eval])
        test_pool = np.sort(perm[n_eval : n_eval + n_test])
        train_pool = np.sort(perm[n_eval + n_test :])
        shard_ptr, shard_idx = dirichlet_shards(
            y[train_pool], n_participants, cfg.alpha, cfg.shard_size, rng_shards, iid=cfg.iid
        )
        shard_idx = train_pool[shard_idx]
    else:
        C = cfg.n_classes
        k = cfg.shard_size_resolved
        n_eval = int(cfg.eval_size_resolved)
        n_test = int(cfg.test_pool_size_resolved)
        n_train = 2 * n_participants * k + 10 * C
        gen = _synthetic_generator(cfg, rng_data)
        Xe, ye = gen(n_eval)
        Xt, yt = gen(n_test)
        Xp, yp = gen(n_train)
        X = np.concatenate([Xe, Xt, Xp])
        y = np.concatenate([ye, yt, yp])
        eval_idx = np.arange(n_eval)
        test_pool = np.arange(n_eval, n_eval + n_test)
        shard_ptr, local = dirichlet_shards(
            yp, n_participants, cfg.alpha, k, rng_shards, iid=cfg.iid, disjoint=True
        )
        shard_idx = local + n_eval + n_test
    if cfg.q_cases > len(test_pool):
        raise ValueError(
            f"q_cases={cfg.q_cases} exceeds the test-case pool ({len(test_pool)} samples); "
            "need q_cases <= test pool size (raise test_pool_size)"
        )
    return LearningData(
        X=torch.as_tensor(X, dtype=torch.float32),
        y=torch.as_tensor(y, dtype=torch.int64),
        y_np=np.asarray(y, dtype=np.int64),
        n_classes=int(C),
        shard_ptr=shard_ptr,
        shard_idx=shard_idx.astype(np.int64),
        test_pool=test_pool.astype(np.int64),
        eval_idx=eval_idx.astype(np.int64),
        seed=int(seed),
        q_cases=cfg.q_cases,
    )


def _digits() -> tuple[np.ndarray, np.ndarray, int]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(np.int64), 10


def _synthetic_generator(cfg: LearningConfig, rng: np.random.Generator):
    d, C = cfg.n_features, cfg.n_classes
    if cfg.synthetic == "gaussian_mixture":
        # Centres at typical pairwise distance 2*sqrt(2)*class_sep (in noise sd units).
        centres = rng.standard_normal((C, d)) * (2.0 * cfg.class_sep / np.sqrt(d))

        def gen(n: int):
            y = rng.integers(0, C, size=n)
            X = centres[y] + rng.standard_normal((n, d))
            return X.astype(np.float32), y.astype(np.int64)

        return gen
    # Teacher network: d -> 64 -> C with ReLU; logits centred so that classes balance.
    W1 = rng.standard_normal((d, 64)) / np.sqrt(d)
    W2 = rng.standard_normal((64, C)) * cfg.class_sep / np.sqrt(64)
    ref = np.maximum(rng.standard_normal((4096, d)) @ W1, 0.0) @ W2
    shift = ref.mean(0)

    def gen(n: int):
        X = rng.standard_normal((n, d))
        y = np.argmax(np.maximum(X @ W1, 0.0) @ W2 - shift, axis=1)
        return X.astype(np.float32), y.astype(np.int64)

    return gen


def dirichlet_shards(
    labels: np.ndarray,
    n_participants: int,
    alpha: float,
    shard_size: int | None,
    rng: np.random.Generator,
    *,
    iid: bool = False,
    disjoint: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Split sample positions ``0..len(labels)-1`` into per-participant shards (CSR).

    Label skew follows the Dirichlet scheme: participant i's class proportions are
    q_i ~ Dirichlet(alpha * 1_C), so E[sum_c q_ic^2] = (alpha + 1) / (C alpha + 1)
    (1 for alpha -> 0, 1/C for alpha -> inf).  ``iid=True`` uses the pool's own label
    distribution instead.

    ``shard_size=None`` partitions the pool: each class's samples are split among
    participants in proportions Dirichlet(alpha * 1_n) (Hsu et al., 2019); every
    participant then gets at least one sample (taken from the largest shard).  An
    integer ``shard_size`` gives each participant exactly that many samples, class
    counts ~ Multinomial(shard_size, q_i), drawn without replacement within the shard
    (with replacement only if a class is smaller than its count) and independently
    across participants, unless ``disjoint`` (per-class queues consumed in order, with
    reuse only if a class runs out).
    """
    labels = np.asarray(labels)
    N = len(labels)
    classes = np.unique(labels)
    C = int(labels.max()) + 1 if N else 0
    n = n_participants
    if shard_size is None:
        if N < n:
            raise ValueError(
                f"cannot partition {N} samples among n_participants={n}: need "
                "n_participants <= pool size, or set shard_size"
            )
        owner = np.empty(N, dtype=np.int64)
        if iid:
            perm = rng.permutation(N)
            owner[perm] = np.arange(N) % n
        else:
            for c in classes:
                idx = np.flatnonzero(labels == c)
                rng.shuffle(idx)
                props = rng.dirichlet(np.full(n, alpha))
                cuts = (np.cumsum(props)[:-1] * len(idx)).astype(np.int64)
                for part, chunk in enumerate(np.split(idx, cuts)):
                    owner[chunk] = part
            counts = np.bincount(owner, minlength=n)
            for empty in np.flatnonzero(counts == 0):
                donor = int(np.argmax(counts))
                victim = np.flatnonzero(owner == donor)[0]
                owner[victim] = empty
                counts[donor] -= 1
                counts[empty] += 1
        order = np.argsort(owner, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=n))])
        return ptr.astype(np.int64), order.astype(np.int64)

    by_class = [np.flatnonzero(labels == c) for c in range(C)]
    present = np.array([len(b) > 0 for b in by_class])
    if iid:
        base = np.bincount(labels, minlength=C) / N
        props = np.tile(base, (n, 1))
    else:
        props = rng.dirichlet(np.full(int(present.sum()), alpha), size=n)
        full = np.zeros((n, C))
        full[:, present] = props
        props = full
    counts = np.array([rng.multinomial(shard_size, q) for q in props])
    queues = [rng.permutation(b) for b in by_class]
    heads = np.zeros(C, dtype=np.int64)
    out = np.empty(n * shard_size, dtype=np.int64)
    pos = 0
    for i in range(n):
        for c in np.flatnonzero(counts[i]):
            k = int(counts[i, c])
            pool = by_class[c]
            if disjoint:
                q = queues[c]
                take = np.arange(heads[c], heads[c] + k) % len(q)
                heads[c] += k
                chosen = q[take]
            elif k <= len(pool):
                chosen = rng.choice(pool, size=k, replace=False)
            else:
                chosen = rng.choice(pool, size=k, replace=True)
            out[pos : pos + k] = chosen
            pos += k
    ptr = np.arange(0, n * shard_size + 1, shard_size, dtype=np.int64)
    return ptr, out
