"""Tests of real relay learning (issue 6): backend, data, training, metrics."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from derelay.learning import (
    LearningConfig,
    LearningConfigError,
    RoundLearning,
    TorchBackend,
    build_data,
    dirichlet_shards,
    learning_config,
    model_hash,
    round_metrics,
)
from derelay.learning.model import MLPSpec
from derelay.learning.train import sample_batches, train_batched, train_looped, train_vmap

torch.set_num_threads(1)

SMALL = dict(hidden=(16,), tau=4, batch_size=16)


def _round(backend, r, parents, trainers, lazy=None, succ=None):
    n = len(trainers)
    lazy = np.zeros(n, bool) if lazy is None else np.asarray(lazy)
    succ = np.ones(n, bool) if succ is None else np.asarray(succ)
    return backend.train_round(r, np.asarray(parents), np.asarray(trainers), lazy, succ)


def test_backend_docstring_example():
    import derelay.learning.backend as mod

    assert doctest.testmod(mod).failed == 0


def test_same_seed_same_hashes_and_accuracies():
    def run(seed):
        be = TorchBackend(LearningConfig(**SMALL), n_participants=12, seed=seed)
        g = be.genesis()
        out = []
        owners = [g]
        for r in range(1, 4):
            parents = np.resize(np.asarray(owners), 6)
            res = _round(be, r, parents, np.arange(6) + r, lazy=[0, 0, 1, 0, 0, 1])
            sel = res.select_top(0.5)
            out.append((res.hashes, res.performance.tolist(), sel.tolist()))
            owners = list(res.model_ids[sel])
        return out

    a, b = run(3), run(3)
    assert a == b
    assert run(4)[0][0] != a[0][0]


def test_trainer_update_independent_of_cohort():
    """A trainer's model depends on its keys, not on who else trains this round."""
    be1 = TorchBackend(LearningConfig(**SMALL), n_participants=10, seed=0)
    be2 = TorchBackend(LearningConfig(**SMALL), n_participants=10, seed=0)
    g1, g2 = be1.genesis(), be2.genesis()
    r1 = _round(be1, 1, [g1, g1, g1], [2, 5, 7])
    r2 = _round(be2, 1, [g2], [5])
    assert r1.hashes[1] == r2.hashes[0]


def test_batched_equals_looped_training():
    for opt in ("sgd", "adam"):
        cfg = LearningConfig(hidden=(24, 12), tau=6, batch_size=8, optimizer=opt, momentum=0.0)
        data = build_data(cfg, 6, seed=1)
        spec = MLPSpec((64, 24, 12, 10))
        rng = np.random.default_rng(0)
        start = torch.stack([spec.init(rng) for _ in range(5)])
        pools = [data.shard(i) for i in range(5)]
        batches = sample_batches(
            pools, cfg.tau, cfg.batch_size, [np.random.default_rng(i) for i in range(5)]
        )
        a = train_batched(spec, start, data.X, data.y, batches, cfg)
        b = train_looped(spec, start, data.X, data.y, batches, cfg)
        assert not torch.equal(a, start)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        if opt == "sgd":
            for mom, wd in ((0.0, 0.0), (0.9, 0.01)):
                c2 = cfg.model_copy(update={"momentum": mom, "weight_decay": wd})
                v = train_vmap(spec, start, data.X, data.y, batches, c2)
                ref = train_looped(spec, start, data.X, data.y, batches, c2)
                torch.testing.assert_close(v, ref, rtol=1e-4, atol=1e-5)


def test_backend_batched_equals_looped_round():
    be1 = TorchBackend(LearningConfig(**SMALL), n_participants=10, seed=2)
    be2 = TorchBackend(LearningConfig(**SMALL), n_participants=10, seed=2)
    g = be1.genesis()
    be2.genesis()
    args = (1, [g] * 4, [1, 2, 3, 4], np.zeros(4, bool), np.ones(4, bool))
    ra = be1.train_round(*args)
    rb = be2.train_round(*args, trainer="looped")
    for i in range(4):
        torch.testing.assert_close(
            be1.parameters(ra.model_ids[i]), be2.parameters(rb.model_ids[i]), rtol=1e-4, atol=1e-5
        )
    np.testing.assert_allclose(ra.performance, rb.performance, atol=0.011)


def test_lazy_tiny_noise_changes_hash_not_accuracy():
    be = TorchBackend(LearningConfig(**SMALL, lazy_noise=1e-6), n_participants=8, seed=0)
    g = be.genesis()
    res = _round(be, 1, [g, g], [1, 2], lazy=[True, True])
    assert all(h != res.parent_hashes[0] for h in res.hashes)
    assert res.hashes[0] != res.hashes[1]
    assert res.hash_changed.all()
    np.testing.assert_allclose(res.performance, res.parent_performance, atol=0.011)
    assert np.all(np.abs(res.loss - res.parent_loss) < 1e-4)
    delta = be.parameters(res.model_ids[0]) - be.parameters(g)
    assert 0 < float(delta.abs().max()) < 1e-4


def test_relative_noise_scales_with_parameters():
    be = TorchBackend(
        LearningConfig(**SMALL, lazy_noise=0.1, lazy_noise_mode="relative"),
        n_participants=8,
        seed=0,
    )
    g = be.genesis()
    res = _round(be, 1, [g], [1], lazy=[True])
    d = be.parameters(res.model_ids[0]) - be.parameters(g)
    w = be.parameters(g)
    ratio = float(d.pow(2).mean().sqrt() / w.pow(2).mean().sqrt())
    assert 0.07 < ratio < 0.13


def test_zero_noise_lazy_fails_hash_check_and_is_never_selected():
    be = TorchBackend(LearningConfig(**SMALL, lazy_noise=0.0), n_participants=8, seed=0)
    g = be.genesis()
    res = _round(be, 1, [g, g, g], [1, 2, 3], lazy=[True, False, False])
    assert res.hashes[0] == res.parent_hashes[0]
    assert not res.hash_changed[0] and res.hash_changed[1:].all()
    assert not res.select_top(0.9)[0]
    assert np.isnan(res.ranks()[0])


def test_failed_training_gives_no_model():
    be = TorchBackend(LearningConfig(**SMALL), n_participants=8, seed=0)
    g = be.genesis()
    res = _round(be, 1, [g, g], [1, 2], succ=[False, True])
    assert res.model_ids[0] == -1 and res.hashes[0] is None
    assert math.isnan(res.performance[0]) and not res.eligible[0]
    assert res.model_ids[1] >= 0 and be.version(res.model_ids[1]) == 1
    assert be.parent(res.model_ids[1]) == g


def test_model_hash_is_sha256_of_parameters():
    spec = MLPSpec((4, 3, 2))
    flat = spec.init(np.random.default_rng(0))
    h = model_hash(spec, flat)
    assert len(h) == 64 and int(h, 16) >= 0
    assert model_hash(spec, flat.clone()) == h
    flat2 = flat.clone()
    flat2[5] = torch.nextafter(flat2[5], torch.tensor(10.0))
    assert model_hash(spec, flat2) != h
    # named tensors match nn.Sequential's state_dict
    net = spec.to_module(flat)
    sd = spec.state_dict(flat)
    assert list(sd) == list(net.state_dict())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(sd[k], v.numpy())


def test_model_hash_agrees_with_chain_hash():
    from derelay import chain
    spec = MLPSpec((6, 5, 3))
    flat = spec.init(np.random.default_rng(1))
    assert model_hash(spec, flat) == chain.hash_model(spec.to_module(flat))


def test_learning_config_from_params():
    from derelay.learning import learning_config_from_params
    from derelay.params import Params

    p = Params(q_cases=40, s=0.25)
    cfg = learning_config_from_params(p, tau=3)
    assert (cfg.q_cases, cfg.s, cfg.tau) == (40, 0.25, 3)


def test_honest_relay_improves_accuracy_on_digits():
    cfg = LearningConfig(hidden=(32,), tau=20, batch_size=32, lr=0.1, partition="iid")
    be = TorchBackend(cfg, n_participants=16, seed=0)
    g = be.genesis()
    acc0 = be.best_accuracy(g)
    owner = g
    for r in range(1, 6):
        res = _round(be, r, [owner] * 4, [(4 * r + k) % 16 for k in range(4)])
        sel = res.select_top(0.5)
        m = round_metrics(res, sel, be)
        owner = m["best_model_id"]
    assert acc0 < 0.2
    assert be.best_accuracy(owner) > acc0 + 0.35
    assert be.version(owner) == 5


def test_dirichlet_sampled_shards_have_intended_skew():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 500)
    for alpha in (0.1, 1.0, 100.0):
        ptr, idx = dirichlet_shards(labels, 400, alpha, 200, rng)
        counts = np.zeros((400, 10))
        owner = np.repeat(np.arange(400), np.diff(ptr))
        np.add.at(counts, (owner, labels[idx]), 1)
        q = counts / counts.sum(1, keepdims=True)
        # E[sum q^2] for Dirichlet(alpha 1_C) plus multinomial sampling noise (1 - E)/k.
        e = (alpha + 1) / (10 * alpha + 1)
        expected = e + (1 - e) / 200
        assert abs(np.mean((q**2).sum(1)) - expected) < 0.05 * expected + 0.005, alpha
        # within a shard no sample repeats (classes have 500 > count samples)
        for i in range(5):
            s = idx[ptr[i] : ptr[i + 1]]
            assert len(np.unique(s)) == len(s)


def test_dirichlet_partition_is_disjoint_and_more_skewed_for_small_alpha():
    labels = np.random.default_rng(1).integers(0, 10, size=3000)
    conc = []
    for alpha in (0.05, 1.0, 1000.0):
        ptr, idx = dirichlet_shards(labels, 30, alpha, None, np.random.default_rng(2))
        assert sorted(idx.tolist()) == list(range(3000))  # a partition
        assert np.all(np.diff(ptr) >= 1)
        owner = np.repeat(np.arange(30), np.diff(ptr))
        counts = np.zeros((30, 10))
        np.add.at(counts, (owner, labels[idx]), 1)
        q = counts / counts.sum(1, keepdims=True)
        conc.append(np.mean(q.max(1)))
    assert conc[0] > conc[1] > conc[2]
    assert conc[2] < 0.2
    ptr, idx = dirichlet_shards(labels, 30, 1.0, None, np.random.default_rng(2), iid=True)
    assert np.all(np.abs(np.diff(ptr) - 100) <= 1)


def test_test_cases_disjoint_deterministic_and_cycled():
    for ds in ("digits", "synthetic"):
        cfg = learning_config(dataset=ds, q_cases=100)
        data = build_data(cfg, 20, seed=5)
        shards = set(data.shard_idx.tolist())
        ev = set(data.eval_idx.tolist())
        pool = set(data.test_pool.tolist())
        assert not (shards & ev) and not (shards & pool) and not (ev & pool)
        c1 = data.test_cases(1)
        assert len(set(c1.tolist())) == 100 and set(c1.tolist()) <= pool
        np.testing.assert_array_equal(c1, build_data(cfg, 20, seed=5).test_cases(1))
        assert not set(c1.tolist()) & set(data.test_cases(2).tolist())
    # digits pool of 359 cases: rounds 0..2 are disjoint, round 3 wraps into a new epoch
    data = build_data(learning_config(), 20, seed=5)
    seen = np.concatenate([data.test_cases(r) for r in range(3)])
    assert len(np.unique(seen)) == 300
    assert len(data.test_cases(3)) == 100


def test_published_test_cases_join_training_pool():
    be = TorchBackend(LearningConfig(**SMALL), n_participants=8, seed=0)
    g = be.genesis()
    assert len(be.public_pool(1)) == 0
    res = _round(be, 1, [g], [1])
    pool = be.trainer_pool(2, 2)
    assert set(res.test_cases.tolist()) <= set(pool.tolist())
    be2 = TorchBackend(LearningConfig(**SMALL, reuse_test_cases=False), n_participants=8, seed=0)
    g2 = be2.genesis()
    _round(be2, 1, [g2], [1])
    np.testing.assert_array_equal(be2.trainer_pool(2, 2), be2.data.shard(2))


def test_release_is_deferred_bounds_memory_and_rejects_released_parents():
    be = TorchBackend(LearningConfig(**SMALL), n_participants=8, seed=0)
    g = be.genesis()
    res = _round(be, 1, [g] * 4, [1, 2, 3, 4])
    assert be.n_alive == 5
    acc = be.eval_accuracy(res.model_ids)
    be.release(res.model_ids)
    # still readable until the next round (metrics after release work)
    m = round_metrics(res, res.select_top(0.5), be)
    assert m["best_accuracy"] == be.best_accuracy(m["best_model_id"])
    # released models of the parents' round survive (owners may carry over) ...
    res2 = _round(be, 2, [res.model_ids[1]], [5])
    assert be.n_alive == 6
    be.release(res2.model_ids)
    res3 = _round(be, 3, [res.model_ids[2]], [6])  # a carried-over sibling owner
    # ... and are freed once every parent is more recent
    _round(be, 4, [res3.model_ids[0]], [7])
    assert be.n_alive == 3  # genesis, round 3's model (the parent), round 4's model
    assert int(res.model_ids[1]) not in be._params
    assert be.best_accuracy(res.model_ids[0]) == acc[0]  # cached accuracy survives
    with pytest.raises(KeyError, match="released"):
        _round(be, 4, [res.model_ids[0]], [5])


def test_max_models_cap_evicts_oldest_but_keeps_parents_and_latest():
    be = TorchBackend(LearningConfig(**SMALL), n_participants=8, seed=0, max_models=6)
    g = be.genesis()
    owners = [g]
    for r in range(1, 5):
        res = _round(be, r, np.resize(np.asarray(owners), 4), [1, 2, 3, 4])
        owners = list(res.model_ids[:2])
    assert be.n_alive <= 6 + 4  # cap enforced at each round start; latest round on top
    assert all(int(o) in be._params for o in owners) and g in be._params


def test_round_metrics_definitions():
    n = 6
    res = RoundLearning(
        round_index=1,
        trainer_ids=np.arange(n),
        parent_ids=np.zeros(n, int),
        lazy=np.array([0, 0, 0, 1, 1, 1], bool),
        succeeded=np.array([1, 1, 1, 1, 1, 0], bool),
        model_ids=np.array([1, 2, 3, 4, 5, -1]),
        performance=np.array([0.5, 0.7, 0.6, 0.8, 0.4, np.nan]),
        loss=np.array([1.0, 0.9, 0.95, 0.8, 1.2, np.nan]),
        gain=np.array([0.1, 0.3, 0.2, 0.4, 0.0, np.nan]),
        parent_performance=np.full(n, 0.4),
        parent_loss=np.full(n, 1.1),
        hashes=["a", "b", "c", "d", "e", None],
        parent_hashes=["p"] * n,
        hash_changed=np.array([1, 1, 1, 1, 1, 0], bool),
        test_cases=np.arange(10),
    )
    np.testing.assert_array_equal(res.rank_order(), [3, 1, 2, 0, 4])
    sel = res.select_top(0.5)  # floor(2.5) = 2
    np.testing.assert_array_equal(np.flatnonzero(sel), [1, 3])
    m = round_metrics(res, sel)
    assert m["mean_gain"] == pytest.approx(0.35)
    assert m["lazy_top_s_rate"] == pytest.approx(0.5)  # 1 of 2 submitted lazy
    assert (m["lazy_submitted"], m["lazy_selected"]) == (2, 1)
    assert m["best_model_id"] == 4 and m["best_performance"] == 0.8
    assert math.isnan(m["best_accuracy"])  # needs a backend
    assert m["mean_lazy_rank_pct"] == pytest.approx((0 / 5 + 4 / 5) / 2)
    res.rank_by = "loss"
    np.testing.assert_array_equal(res.rank_order(), [3, 1, 2, 0, 4])
    res.loss[1] = 0.7  # lowest loss now ranks first despite lower accuracy
    np.testing.assert_array_equal(res.rank_order()[:2], [1, 3])
    res.rank_by = "accuracy"
    none = round_metrics(res, np.zeros(n, bool))
    assert math.isnan(none["mean_gain"]) and none["lazy_top_s_rate"] == 0.0
    with pytest.raises(ValueError, match="length"):
        round_metrics(res, np.zeros(3, bool))


def test_config_errors_name_the_parameter():
    with pytest.raises(LearningConfigError, match=r"tau=0.*tau >= 1"):
        learning_config(tau=0)
    with pytest.raises(LearningConfigError, match="unknown learning option 'taus'"):
        learning_config(taus=3)
    with pytest.raises(LearningConfigError, match="eval_size"):
        learning_config(dataset="synthetic", eval_size=0.2)
    with pytest.raises(LearningConfigError, match="hidden"):
        learning_config(hidden="8,0")
    assert learning_config(hidden="8, 4").hidden == (8, 4)
    with pytest.raises(ValueError, match="q_cases"):
        build_data(learning_config(q_cases=1000), 10, 0)


def test_bad_round_inputs():
    be = TorchBackend(LearningConfig(**SMALL), n_participants=8, seed=0)
    g = be.genesis()
    with pytest.raises(ValueError, match="lazy has length"):
        be.train_round(1, [g, g], [1, 2], [False], [True, True])
    with pytest.raises(ValueError, match="n_participants=8"):
        be.train_round(1, [g], [8], [False], [True])


def test_synthetic_teacher_learnable():
    cfg = learning_config(
        dataset="synthetic",
        synthetic="teacher",
        partition="iid",
        hidden=(32,),
        tau=30,
        lr=0.1,
        shard_size=128,
        eval_size=1000,
        test_pool_size=1000,
        n_features=16,
        n_classes=4,
    )
    be = TorchBackend(cfg, n_participants=4, seed=0)
    g = be.genesis()
    labels = be.data.y_np[be.data.eval_idx]
    assert np.bincount(labels, minlength=4).min() > 100  # balanced enough
    res = _round(be, 1, [g] * 4, [0, 1, 2, 3])
    assert np.nanmax(res.gain) > 0.1
