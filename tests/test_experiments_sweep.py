"""The sweep engine: specs, seeding, parallel determinism, failures, resume, Dask."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from derelay.cli import app
from experiments.runner import RUN_KINDS, load_manifest, load_results, run_sweep
from experiments.spec import SpecError, load_spec, spec_from_mapping

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "experiments" / "smoke_sweep.toml"
runner = CliRunner()


def toy_spec(**over):
    d = {
        "name": "toy",
        "kind": "toy",
        "replications": 2,
        "seed": 7,
        "base": {"rounds": 5},
        "sweep": {"mode": "grid", "axes": {"drift": [0.0, 1.0, 2.0]}},
    }
    d.update(over)
    return spec_from_mapping(d)


def test_builtin_kinds_registered():
    for k in ("check", "feasible", "dynamics", "toy"):
        assert k in RUN_KINDS


def test_grid_oat_points_expansion():
    g = spec_from_mapping(
        {"kind": "check", "sweep": {"axes": {"beta": [0.2, 0.5, 0.9], "s": [0.3, 0.6]}}}
    )
    assert len(g.points()) == 6
    assert g.points()[0] == {"beta": 0.2, "s": 0.3}
    o = spec_from_mapping(
        {"kind": "check", "sweep": {"mode": "oat", "axes": {"beta": [0.2, 0.5], "s": [0.3]}}}
    )
    assert o.points() == [{"beta": 0.2}, {"beta": 0.5}, {"s": 0.3}]
    p = spec_from_mapping(
        {"kind": "check", "sweep": {"mode": "points", "points": [{"beta": 0.3}, {"s": 0.4}]}}
    )
    runs = p.runs()
    assert [r.config["params"] for r in runs] == [{"beta": 0.3}, {"s": 0.4}]


def test_seeds_follow_seedsequence_spawn_by_run_id():
    sp = toy_spec()
    runs = sp.runs()
    assert [r.run_id for r in runs] == list(range(6))
    kids = np.random.SeedSequence(7).spawn(6)
    for r in runs:
        want = int(kids[r.run_id].generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        assert r.seed == want
    assert len({r.seed for r in runs}) == 6
    common = toy_spec(seeding="common").runs()
    assert common[0].seed == common[2].seed == common[4].seed != common[1].seed


def test_bad_specs_name_the_problem():
    with pytest.raises(SpecError, match="unknown run kind"):
        spec_from_mapping({"kind": "nope"})
    with pytest.raises(SpecError, match="beta"):
        spec_from_mapping({"kind": "check", "sweep": {"axes": {"beta": [0.5, 1.5]}}})
    with pytest.raises(SpecError, match="replications"):
        spec_from_mapping({"kind": "check", "replications": 0})
    with pytest.raises(SpecError, match="unknown key"):
        spec_from_mapping({"kind": "check", "replicatons": 3})
    with pytest.raises(SpecError, match="rounds"):
        spec_from_mapping({"kind": "dynamics", "base": {"rounds": -1}})


def test_cli_bad_spec_exits_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "check"\n[sweep.axes]\ns = [0.5, 2.0]\n')
    res = runner.invoke(app, ["sweep", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "'s'" in res.output and "allowed" in res.output
    assert not (tmp_path / "o").exists()  # nothing half-written
    res = runner.invoke(app, ["sweep", str(SMOKE), "--workers", "0"])
    assert res.exit_code == 2 and "--workers" in res.output


def test_smoke_sweep_one_vs_two_workers_identical(tmp_path):
    spec = load_spec(SMOKE)
    assert len(spec.runs()) >= 8
    r1 = run_sweep(spec, tmp_path / "w1", workers=1)
    r2 = run_sweep(spec, tmp_path / "w2", workers=2)
    assert r1.done == r2.done == len(spec.runs()) and r1.failed == 0
    a, b = load_results(tmp_path / "w1"), load_results(tmp_path / "w2")
    pd.testing.assert_frame_equal(a, b)
    run_sweep(spec, tmp_path / "auto")  # automatic worker count: same data
    pd.testing.assert_frame_equal(a, load_results(tmp_path / "auto"))
    for col in ("run_id", "replication", "seed", "round"):
        assert col in a.columns
    assert list(a.columns[:4]) == ["run_id", "replication", "seed", "point"]
    man = load_manifest(tmp_path / "w2")
    assert man["counts"] == {"ok": len(spec.runs()), "failed": 0, "pending": 0}
    assert all("config" in e and "seed" in e for e in man["runs"])
    runs = pd.read_parquet(tmp_path / "w2" / "runs.parquet")
    assert (runs["status"] == "ok").all()
    # no temporary file is left behind
    assert not [p for p in (tmp_path / "w2").rglob(".*tmp*")]


def test_failing_runs_recorded_and_sweep_goes_on(tmp_path):
    sp = toy_spec(sweep={"mode": "grid", "axes": {"fail": [False, True], "drift": [0.0, 1.0]}})
    res = run_sweep(sp, tmp_path / "o", workers=2)
    assert res.failed == 4 and res.done == 4
    man = load_manifest(tmp_path / "o")
    failed = [e for e in man["runs"] if e["status"] == "failed"]
    assert all("asked to fail" in e["error"] for e in failed)
    df = load_results(tmp_path / "o")
    assert set(df["run_id"]) == {e["run_id"] for e in man["runs"] if e["status"] == "ok"}
    # resume does not rerun failed runs unless asked
    res2 = run_sweep(sp, tmp_path / "o", resume=True, workers=1)
    assert res2.skipped == 8
    res3 = run_sweep(sp, tmp_path / "o", resume=True, retry_failed=True, workers=1)
    assert res3.skipped == 4 and res3.failed == 4


def test_resume_guards_against_a_different_spec(tmp_path):
    run_sweep(toy_spec(), tmp_path / "o", workers=1)
    with pytest.raises(SpecError, match="already holds"):
        run_sweep(toy_spec(), tmp_path / "o", workers=1)
    with pytest.raises(SpecError, match="different spec"):
        run_sweep(toy_spec(seed=8), tmp_path / "o", workers=1, resume=True)


def test_cli_failures_exit_1_and_json_summary(tmp_path):
    spec = tmp_path / "f.toml"
    spec.write_text('kind = "toy"\nreplications = 2\n[sweep.axes]\nfail = [false, true]\n')
    res = runner.invoke(
        app, ["sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--json"]
    )
    assert res.exit_code == 1
    summary = json.loads(res.stdout)
    assert summary["ok"] == 2 and summary["failed"] == 2


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    spec = tmp_path / "slow.toml"
    spec.write_text(
        'name = "slow"\nkind = "toy"\nreplications = 3\nseed = 11\n'
        "[base]\nrounds = 4\nsleep = 0.15\n[sweep.axes]\ndrift = [0.0, 0.5, 1.0, 1.5]\n"
    )
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from derelay.cli import main; main()",
         "sweep", str(spec), "--out", str(out),
         "--workers", "1", "--no-progress"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        n = len(list((out / "status").glob("run_*.json"))) if (out / "status").exists() else 0
        if n >= 3:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.name for p in (out / "status").glob("run_*.json")}
    assert 3 <= len(done_before) < 12
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "status").glob("run_*.json")}
    res = run_sweep(load_spec(spec), out, resume=True, workers=2)
    assert res.skipped == len(done_before)
    assert res.done == 12 and res.failed == 0
    for name, mt in mtimes.items():  # nothing finished was rerun
        assert (out / "status" / name).stat().st_mtime_ns == mt
    df = load_results(out)
    assert sorted(df["run_id"].unique()) == list(range(12))
    assert not df.duplicated(["run_id", "round"]).any()
    ref = tmp_path / "ref"
    run_sweep(load_spec(spec).model_copy(update={"base": {"rounds": 4}}), ref, workers=1)
    pd.testing.assert_frame_equal(
        df.drop(columns=[]), load_results(ref)[df.columns.tolist()], check_like=True
    )


def test_dask_local_cluster_gives_identical_data(tmp_path):
    from dask.distributed import LocalCluster

    spec = toy_spec()
    ref = run_sweep(spec, tmp_path / "serial", workers=1)
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        res = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert res.done == ref.done == 6
    pd.testing.assert_frame_equal(
        load_results(tmp_path / "serial"), load_results(tmp_path / "dask")
    )


def test_outputs_metrics_and_thinning(tmp_path):
    sp = spec_from_mapping(
        {
            "kind": "dynamics",
            "base": {"rounds": 10},
            "sweep": {"axes": {"b_t": [3.0]}},
            "outputs": {"metrics": ["share_N"], "every": 4},
        }
    )
    run_sweep(sp, tmp_path / "o", workers=1)
    df = load_results(tmp_path / "o")
    assert list(df["round"]) == [0, 4, 8, 10]
    assert set(df.columns) == {"run_id", "replication", "seed", "point", "b_t", "round", "share_N"}


@pytest.mark.parametrize(
    "path",
    sorted(
        p
        for p in (REPO / "experiments").glob("*.toml")
        # ABM presets and the comparison's config are not sweep specs
        if p.stem not in ("paper_text", "authors_code", "compare")
    ),
    ids=lambda p: p.stem,
)
def test_shipped_specs_are_valid(path):
    """Every shipped sweep spec loads and plans runs."""
    spec = load_spec(path)
    assert spec.runs()
    if spec.sensitivity is not None:
        from experiments.sensitivity import design_spec

        assert len(design_spec(spec).runs()) > 0


def _default_sigint() -> None:
    """In the child: SIGINT as in a user's shell.  A child inherits an ignored SIGINT
    (Python then never raises KeyboardInterrupt), and the suite may run with one, e.g. when
    started as a background job of a non-interactive shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_exits_130_and_resume_completes(tmp_path):
    spec = tmp_path / "slow.toml"
    spec.write_text(
        'name = "slow"\nkind = "toy"\nreplications = 2\nseed = 3\n'
        "[base]\nrounds = 3\nsleep = 0.2\n[sweep.axes]\ndrift = [0.0, 0.5, 1.0, 1.5]\n"
    )
    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from derelay.cli import main; main()",
         "sweep", str(spec), "--out", str(out), "--workers", "1", "--no-progress"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint,
    )  # fmt: skip
    deadline = time.time() + 30
    while time.time() < deadline:
        if (out / "status").exists() and len(list((out / "status").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err
    (out / "rounds" / ".run_000099.parquet.tmp-1-2").write_bytes(b"half")  # a torn write
    res = run_sweep(load_spec(spec), out, resume=True, workers=1)
    assert res.done == 8 and not list(out.rglob(".*.tmp-*"))
    assert load_manifest(out)["counts"]["ok"] == 8


def test_mixed_int_float_axis_is_one_column_type(tmp_path):
    sp = toy_spec(sweep={"mode": "grid", "axes": {"drift": [0, 0.5, 2]}})
    assert [type(v) for v in sp.sweep.axes["drift"]] == [float, float, float]
    run_sweep(sp, tmp_path / "o", workers=1)
    df = load_results(tmp_path / "o")
    assert df["drift"].dtype == float and sorted(df["drift"].unique()) == [0.0, 0.5, 2.0]


def test_cli_dry_run_lists_runs_and_writes_nothing(tmp_path):
    res = runner.invoke(
        app, ["sweep", str(SMOKE), "--out", str(tmp_path / "o"), "--dry-run", "--json"]
    )
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    spec = load_spec(SMOKE)
    assert plan["runs"] == len(spec.runs()) and [p["seed"] for p in plan["plan"]] == [
        r.seed for r in spec.runs()
    ]
    assert not (tmp_path / "o").exists()


@given(
    betas=st.lists(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]), min_size=1, max_size=3, unique=True),
    ss=st.lists(st.sampled_from([0.2, 0.4, 0.6, 0.8]), min_size=1, max_size=3, unique=True),
    reps=st.integers(1, 3),
    mode=st.sampled_from(["grid", "oat"]),
    seed=st.integers(0, 2**32),
)
def test_run_expansion_properties(betas, ss, reps, mode, seed):
    sp = spec_from_mapping(
        {
            "kind": "check",
            "replications": reps,
            "seed": seed,
            "sweep": {"mode": mode, "axes": {"beta": betas, "s": ss}},
        }
    )
    runs = sp.runs()
    n_points = len(betas) * len(ss) if mode == "grid" else len(betas) + len(ss)
    assert len(runs) == n_points * reps
    assert [r.run_id for r in runs] == list(range(len(runs)))
    assert len({r.seed for r in runs}) == len(runs)  # distinct streams
    for r in runs:
        assert r.run_id == r.point * reps + r.replication
        for k, v in r.values.items():
            assert r.config["params"][k] == v
    assert sp.runs()[-1].seed == runs[-1].seed  # deterministic


def _slow_spec(tmp_path, runs=16, sleep=0.3):
    spec = tmp_path / "slow2.toml"
    spec.write_text(
        f'name = "slow2"\nkind = "toy"\nreplications = {runs}\nseed = 5\n'
        f"[base]\nrounds = 3\nsleep = {sleep}\n"
    )
    return spec


def _pool_workers(pid: int) -> list[int]:
    """The pool worker processes of the sweep process ``pid``: its forked children that run
    its own command line, or the children of its forkserver (neither the forkserver itself
    nor the resource tracker)."""
    parents: dict[int, int] = {}
    cmds: dict[int, bytes] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                cmds[int(d.name)] = (d / "cmdline").read_bytes()
            except OSError:
                continue
            parents[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    kids = {p for p, pp in parents.items() if pp == pid}
    forked = [p for p in kids if cmds.get(p) == cmds.get(pid)]
    return forked + [p for p, pp in parents.items() if pp in kids]


def _start_cli_sweep(spec, out, workers=2):
    return subprocess.Popen(
        [sys.executable, "-c", "from derelay.cli import main; main()",
         "sweep", str(spec), "--out", str(out), "--workers", str(workers), "--no-progress"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_default_sigint,
    )  # fmt: skip


def _wait_for_pool_worker(proc, out, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = len(list((out / "status").glob("run_*.json"))) if (out / "status").exists() else 0
        workers = _pool_workers(proc.pid)
        if workers and n >= 2:
            return workers
        time.sleep(0.05)
    raise AssertionError("no pool worker came up")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find pool workers")
def test_killed_pool_worker_stops_cleanly_and_resume_finishes(tmp_path):
    spec, out = _slow_spec(tmp_path), tmp_path / "o"
    proc = _start_cli_sweep(spec, out)
    workers = _wait_for_pool_worker(proc, out)
    time.sleep(0.2)  # let it take a chunk
    for w in workers:
        os.kill(w, signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "worker process died" in err and "--resume" in err
    assert "Traceback" not in err
    manifest = load_manifest(out)
    assert manifest["counts"]["ok"] + manifest["counts"]["pending"] + \
        manifest["counts"]["failed"] == 16
    res = run_sweep(load_spec(spec), out, resume=True, workers=1)
    assert res.done == 16 and res.failed == 0
    df = load_results(out)
    assert sorted(df["run_id"].unique()) == list(range(16))
    assert not df.duplicated(["run_id", "round"]).any()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find pool workers")
def test_ctrl_c_with_two_workers_prints_no_worker_traceback(tmp_path):
    spec, out = _slow_spec(tmp_path), tmp_path / "o"
    proc = _start_cli_sweep(spec, out)
    _wait_for_pool_worker(proc, out)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "--resume" in err
    res = run_sweep(load_spec(spec), out, resume=True, workers=1)
    assert res.done == 16


def test_two_workers_identical_to_one_with_chunks(tmp_path, monkeypatch):
    """Trivial runs go out in chunks; the data equal a serial sweep's, run for run."""
    import experiments.runner as rmod

    monkeypatch.setattr(rmod, "POOL_STARTUP_S", 0.0)  # start the pool however short
    sp = spec_from_mapping({"name": "t", "kind": "toy", "replications": 60, "seed": 9,
                            "base": {"rounds": 6}})
    r1 = run_sweep(sp, tmp_path / "w1", workers=1)
    r2 = run_sweep(sp, tmp_path / "w2", workers=2)
    assert r1.done == r2.done == 60
    pd.testing.assert_frame_equal(load_results(tmp_path / "w1"), load_results(tmp_path / "w2"))


@pytest.mark.parametrize("name", ["../escaped", "/tmp/abs", "a/b", "..", "", "x" * 101])
def test_spec_name_is_confined(name):
    with pytest.raises(SpecError, match="'name'"):
        spec_from_mapping({"name": name, "kind": "toy"})


@pytest.mark.parametrize(
    "over, key",
    [({"replications": "2"}, "replications"), ({"replications": True}, "replications"),
     ({"seed": "1"}, "seed"), ({"outputs": {"every": "2"}}, "outputs.every")],
)
def test_spec_numbers_are_strict(over, key):
    with pytest.raises(SpecError, match=f"'{key}'"):
        spec_from_mapping({"name": "t", "kind": "toy", **over})


def test_unknown_metric_refused_with_nothing_left(tmp_path):
    spec = tmp_path / "m.toml"
    spec.write_text('name = "m"\nkind = "toy"\n[outputs]\nmetrics = ["bogus"]\n')
    out = tmp_path / "o"
    res = runner.invoke(app, ["sweep", str(spec), "--out", str(out), "--workers", "1"])
    assert res.exit_code == 2, res.output
    assert "bogus" in res.output and "outputs.metrics" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_resume_onto_a_foreign_directory_refused(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    res = runner.invoke(app, ["sweep", str(SMOKE), "--out", str(out), "--resume"])
    assert res.exit_code == 2 and "holds no sweep" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("sched", ["bogus", "tcp//x", "http:/"])
def test_bogus_scheduler_exit_2_nothing_left(tmp_path, sched):
    out = tmp_path / "o"
    res = runner.invoke(app, ["sweep", str(SMOKE), "--out", str(out), "--scheduler", sched])
    assert res.exit_code == 2 and "--scheduler" in res.output, res.output
    assert not out.exists()


def test_unreachable_scheduler_exit_2_nothing_left(tmp_path):
    out = tmp_path / "o"
    res = runner.invoke(
        app, ["sweep", str(SMOKE), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert res.exit_code == 2 and "--scheduler" in res.output, res.output
    assert not out.exists()


def test_huge_sweep_plan_refused_unless_forced(tmp_path):
    from experiments.spec import MAX_RUNS

    axes = {"drift": list(range(1000)), "label": [str(i) for i in range(1000)]}
    data = {"name": "huge", "kind": "toy", "sweep": {"axes": axes}}
    with pytest.raises(SpecError, match="--force"):
        spec_from_mapping(data)
    spec = tmp_path / "huge.toml"
    spec.write_text(
        'name = "huge"\nkind = "toy"\nreplications = 1000\n[sweep.axes]\n'
        f"drift = {list(range(MAX_RUNS // 1000 + 1))}\n"
    )
    res = runner.invoke(app, ["sweep", str(spec), "--dry-run"])
    assert res.exit_code == 2 and "--force" in res.output
    res = runner.invoke(app, ["sweep", str(spec), "--dry-run", "--force", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["runs"] > MAX_RUNS


def test_dask_results_travel_back_without_a_shared_directory(tmp_path, monkeypatch):
    """Workers write nothing: the client writes every file from what Dask brings back."""
    from dask.distributed import LocalCluster

    import experiments.runner as rmod

    def no_disk(*a, **k):  # a worker touching the output directory would fail here
        raise AssertionError("a Dask worker wrote to the output directory")

    spec = toy_spec()
    ref = run_sweep(spec, tmp_path / "serial", workers=1)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        monkeypatch.setattr(rmod, "execute_run", no_disk)
        res = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert res.done == ref.done == 6
    pd.testing.assert_frame_equal(
        load_results(tmp_path / "serial"), load_results(tmp_path / "dask")
    )


def test_scheduler_address_hand_off_on_a_loopback_cluster(tmp_path):
    """The cluster recipe of docs/cluster.md: a cluster object's address handed to --scheduler
    (here a LocalCluster of worker processes bound to 127.0.0.1, as SLURMCluster would be)."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        addr = cluster.scheduler_address
        assert addr.startswith("tcp://127.0.0.1:")
        assert "127.0.0.1" in cluster.dashboard_link
        out = tmp_path / "o"
        res = runner.invoke(
            app, ["sweep", str(SMOKE), "--out", str(out), "--scheduler", addr, "--json",
                  "--no-progress"],
        )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["ok"] == summary["runs"] > 0
    ref = run_sweep(load_spec(SMOKE), tmp_path / "ref", workers=1)
    pd.testing.assert_frame_equal(load_results(out), load_results(tmp_path / "ref"))
    assert ref.done == summary["ok"]


def test_local_scheduler_binds_loopback(monkeypatch):
    import dask.distributed

    import experiments.runner as rmod

    seen = {}

    class FakeCluster:
        def __init__(self, **kw):
            seen.update(kw)

        def close(self):
            pass

    monkeypatch.setattr(dask.distributed, "LocalCluster", FakeCluster)
    monkeypatch.setattr(dask.distributed, "Client", lambda c: c)
    rmod._connect_dask("local", 2)
    assert seen["host"] == "127.0.0.1"
    assert seen["dashboard_address"].startswith("127.0.0.1:")


def test_pool_that_cannot_start_leaves_the_work_to_this_process(tmp_path, monkeypatch):
    import experiments.runner as rmod

    def broken(*preload):
        raise OSError("no processes here")

    monkeypatch.setattr(rmod, "_pool_context", broken)
    monkeypatch.setattr(rmod, "POOL_STARTUP_S", 0.0)
    sp = spec_from_mapping({"name": "t", "kind": "toy", "replications": 12, "seed": 2})
    res = run_sweep(sp, tmp_path / "o", workers=2)
    assert res.done == 12 and res.failed == 0


def test_pool_workers_are_warm_and_single_threaded():
    """A pool worker imported the kind's modules before its first run (forkserver preload
    or initializer) and runs with one BLAS/OpenMP thread (no oversubscription, same bits)."""
    from concurrent.futures import ProcessPoolExecutor

    import experiments.runner as rmod
    from experiments.registry import THREAD_VARS, preload_modules

    mods = preload_modules("abm")
    assert "pyarrow.parquet" in mods and "derelay.model" in mods
    with ProcessPoolExecutor(1, mp_context=rmod._pool_context(mods),
                             initializer=rmod._worker_init, initargs=(None, mods)) as ex:
        probe = ex.submit(rmod._worker_probe, mods).result()
    assert probe["pid"] != os.getpid()
    assert all(probe["imported"].values()), probe["imported"]
    assert probe["blas_threads"] == [1]
    assert probe["env"] == dict.fromkeys(THREAD_VARS, "1")


_SEEN_THREADS: list = []


def _threads_kind(config, seed):
    from threadpoolctl import threadpool_info

    _SEEN_THREADS.append(sorted({i["num_threads"] for i in threadpool_info()}))
    return {"rounds": pd.DataFrame({"round": [0], "x": [seed % 7]})}


def test_this_process_runs_its_runs_single_threaded(tmp_path):
    """Runs in this process use one BLAS thread too (as in workers: the same bits whichever
    process runs a run); the limit is lifted after the sweep."""
    from threadpoolctl import threadpool_info

    from experiments.registry import register_kind

    before = [i["num_threads"] for i in threadpool_info()]
    register_kind("_threads_probe", doc="BLAS threads seen by a run")(_threads_kind)
    try:
        sp = spec_from_mapping({"name": "th", "kind": "_threads_probe", "replications": 3})
        assert run_sweep(sp, tmp_path / "o", workers=1).done == 3
    finally:
        RUN_KINDS.pop("_threads_probe")
    assert _SEEN_THREADS and all(t == [1] for t in _SEEN_THREADS)
    assert [i["num_threads"] for i in threadpool_info()] == before


def test_start_method_is_chosen_with_care(monkeypatch):
    """fork only from a process with no other Python thread and without torch; else a
    forkserver (never a fork that copies threads into children)."""
    import sys
    import threading

    import experiments.runner as rmod

    ev = threading.Event()
    t = threading.Thread(target=ev.wait)
    t.start()
    try:
        assert rmod._pool_context(()).get_start_method() == "forkserver"
    finally:
        ev.set()
        t.join()
    assert rmod._pool_context(("torch",)).get_start_method() == "forkserver"
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert rmod._pool_context(("mesa",)).get_start_method() == "fork"


def test_forkserver_pool_identical_to_serial(tmp_path, monkeypatch):
    """With another thread running here the pool comes from the forkserver; same data."""
    import threading

    import experiments.runner as rmod

    monkeypatch.setattr(rmod, "POOL_STARTUP_S", 0.0)
    sp = spec_from_mapping({"name": "t", "kind": "toy", "replications": 40, "seed": 3,
                            "base": {"rounds": 6, "sleep": 0.02}})
    r1 = run_sweep(sp, tmp_path / "w1", workers=1)
    ev = threading.Event()
    t = threading.Thread(target=ev.wait)
    t.start()
    try:
        assert rmod._pool_context(()).get_start_method() == "forkserver"
        r2 = run_sweep(sp, tmp_path / "w2", workers=2)
    finally:
        ev.set()
        t.join()
    assert r1.done == r2.done == 40
    pd.testing.assert_frame_equal(load_results(tmp_path / "w1"), load_results(tmp_path / "w2"))
