"""Strict run configurations (issue 21, section 3): SimConfig and RunConfig refuse NaN,
infinities, strings for numbers, bools for integers and unknown keys with one line naming
the key, its value and what is allowed; duplicate JSON keys are refused; values the
ledger cannot represent are refused before running (section 1)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from derelay.engine.run import RunConfigError, load_run_config, run_config
from derelay.model import SimConfig, SimConfigError

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = math.nan, math.inf

SIM_BAD = [
    ({"perf_mu": NAN}, "perf_mu", "finite"),
    ({"perf_mu": INF}, "perf_mu", "finite"),
    ({"perf_mu": -INF}, "perf_mu", "finite"),
    ({"lazy_mu": NAN}, "lazy_mu", "finite"),
    ({"lazy_sigma": INF}, "lazy_sigma", "finite"),
    ({"perf_sigma": INF}, "perf_sigma", "finite"),
    ({"eval_sigma": INF}, "eval_sigma", "finite"),
    ({"adaptation_noise": INF}, "adaptation_noise", "finite"),
    ({"adaptation_rate": NAN}, "adaptation_rate", "finite"),
    ({"utility_memory": NAN}, "utility_memory", "finite"),
    ({"citation_beta": NAN}, "citation_beta", "finite"),
    ({"mutation": INF}, "mutation", "finite"),
    ({"initial_coins": INF}, "initial_coins", "finite"),
    ({"perf_mu": "1"}, "perf_mu", "wrong type"),
    ({"eval_sigma": "0.1"}, "eval_sigma", "wrong type"),
    ({"genesis_owner": True}, "genesis_owner", "wrong type"),
    ({"record_every": True}, "record_every", "wrong type"),
    ({"record_every": "5"}, "record_every", "wrong type"),
    ({"coalitions": 1.5}, "coalitions", "wrong type"),
    ({"genesis_bonus": "yes"}, "genesis_bonus", "wrong type"),
    ({"genesis_bonus": 1}, "genesis_bonus", "wrong type"),
    ({"social_graph": {"p": NAN}}, "social_graph.p", "finite"),
    ({"social_graph": {"k": True}}, "social_graph.k", "wrong type"),
    ({"social_graph": {"q": 1}}, "social_graph.q", "unknown"),
    ({"types": {"lazy": "0.1"}}, "types.lazy", "wrong type"),
    ({"types": {"lazy": NAN}}, "types.lazy", "finite"),
    ({"strategies": {"T": {"N": INF}}}, "strategies.T.N", "finite"),
    ({"initial_coins": 1e10}, "initial_coins", "9223372036"),
    ({"params": {"r_cited": 1e12}}, "r_cited", "9,223,372,036"),
    ({"params": {"coin": 1e10}}, "coin", "9,223,372,036"),
    ({"params": {"n_miners": NAN}}, "n_miners", "allowed"),
    ({"params": {"n_participants": 10**12}}, "n_participants", "allowed"),
    ({"perf_mus": 1.0}, "perf_mus", "did you mean"),
]


@pytest.mark.parametrize("data, key, needle", SIM_BAD)
def test_simconfig_refuses_with_one_line(data, key, needle):
    with pytest.raises(SimConfigError) as ei:
        SimConfig.from_mapping(data)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert key in msg and needle in msg, msg


def test_simconfig_still_accepts_ints_for_floats_and_the_presets():
    cfg = SimConfig.from_mapping({"perf_mu": 1, "eval_sigma": 0, "initial_coins": 5})
    assert cfg.perf_mu == 1.0 and isinstance(cfg.perf_mu, float)
    for name in ("paper_text", "authors_code"):
        base = SimConfig.from_preset(name)
        assert base.with_updates(record_every=3, params={"n_participants": 512}).record_every == 3
    SimConfig.from_mapping({"initial_coins": 9_223_372_036, "params": {"r_cited": 1e9}})


def test_every_shipped_spec_and_config_loads():
    from experiments.spec import load_spec

    specs = sorted((ROOT / "experiments").glob("*.toml"))
    assert len(specs) >= 5
    for path in specs:
        if path.stem in ("paper_text", "authors_code"):
            SimConfig.load(path)
        elif "\nkind = " in "\n" + path.read_text(encoding="utf-8"):  # sweep specs
            load_spec(path)
    for path in sorted((ROOT / "examples").rglob("*.toml")):
        text = path.read_text(encoding="utf-8")
        if "[params]" in text and "preset" in text:
            SimConfig.load(path)


def test_sweep_base_is_strict(tmp_path):
    from experiments.spec import load_spec

    spec = tmp_path / "s.toml"
    for line, key in [
        ("perf_mu = nan", "perf_mu"),
        ('perf_mu = "1"', "perf_mu"),
        ("genesis_owner = true", "genesis_owner"),
        ("eval_sigma = inf", "eval_sigma"),
    ]:
        spec.write_text(
            'name = "x"\nkind = "abm"\n[base]\npreset = "paper_text"\nrounds = 2\n'
            f'{line}\n[sweep]\nmode = "grid"\n[sweep.axes]\ns = [0.3]\n',
            encoding="utf-8",
        )
        with pytest.raises(ValueError) as ei:
            load_spec(spec)
        assert key in str(ei.value).splitlines()[0], str(ei.value)


def test_duplicate_json_keys_are_refused(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"perf_mu": 1.0, "perf_mu": 2.0}', encoding="utf-8")
    with pytest.raises(SimConfigError, match="duplicate key 'perf_mu'"):
        SimConfig.load(path)
    path.write_text('{"params": {"s": 0.3, "s": 0.4}}', encoding="utf-8")
    with pytest.raises(SimConfigError, match="duplicate key 's'"):
        SimConfig.load(path)
    path.write_text('{"mechanism": "pot", "mechanism": "brain"}', encoding="utf-8")
    with pytest.raises(RunConfigError, match="duplicate key 'mechanism'"):
        load_run_config(path)


def test_unreadable_config_files_are_one_line(tmp_path):
    for name, content in [
        ("bin.toml", b"\xff\xfe\x00\x01"),
        ("deep.json", b"[" * 100000),
        ("huge.toml", b"perf_mu = " + b"9" * 5000 + b"\n"),
        ("list.json", b"[1, 2]"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        for loader, err in ((SimConfig.load, SimConfigError), (load_run_config, RunConfigError)):
            with pytest.raises(err) as ei:
                loader(path)
            assert "\n" not in str(ei.value) and len(str(ei.value)) < 300, str(ei.value)
    with pytest.raises(SimConfigError, match="not found"):
        SimConfig.load(tmp_path / "missing.toml")
    with pytest.raises(SimConfigError):
        SimConfig.load(tmp_path)


RUN_BAD = [
    ({"initial_coins": NAN}, "initial_coins"),
    ({"initial_coins": 1e10}, "initial_coins"),
    ({"adaptation_noise": INF}, "adaptation_noise"),
    ({"adaptation_rate": "0.1"}, "adaptation_rate"),
    ({"coalitions": True}, "coalitions"),
    ({"record_every": 2.0}, "record_every"),
    ({"utility_memory": NAN}, "utility_memory"),
    ({"social_graph": {"p": INF}}, "social_graph.p"),
    ({"types": {"lazy": INF}}, "types.lazy"),
    ({"mechanism": "pot", "options": {"bogus": 1}}, "options.bogus"),
    ({"mechanism": "flchain", "options": {"n_nodes": True}}, "options.n_nodes"),
    ({"mechanism": "flchain", "options": {"reporter_share": NAN}}, "options.reporter_share"),
    ({"mechanism": "flchain", "options": {"reporter_share": 2.0}}, "options.reporter_share"),
    ({"bogus": 1}, "bogus"),
    ({"mechanism": "pot", "params": {"n_participants": 10**12}}, "n_participants"),
    ({"mechanism": "brain", "params": {"n_participants": 2_000_000}}, "n_participants"),
]


@pytest.mark.parametrize("data, key", RUN_BAD)
def test_runconfig_refuses_with_one_line(data, key):
    with pytest.raises(RunConfigError) as ei:
        run_config(data)
    msg = str(ei.value)
    assert "\n" not in msg and key in msg, msg
    assert "validation error" not in msg, msg


def test_build_model_options_are_one_line():
    """A bad protocol option through the Python API: one line, not pydantic's block."""
    from derelay.engine.run import RunConfig, build_model

    cfg = RunConfig(mechanism="flchain", options={"n_nodes": 0})
    with pytest.raises(RunConfigError) as ei:
        build_model(cfg)
    msg = str(ei.value)
    assert "\n" not in msg and "options.n_nodes" in msg and "0" in msg, msg
    assert "FLChainOptions" not in msg


def test_runconfig_accepts_ints_for_floats():
    cfg = run_config({"mechanism": "pot", "initial_coins": 3, "adaptation_rate": 1})
    assert cfg.initial_coins == 3.0
