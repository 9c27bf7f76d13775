"""Parameter files: non-finite / huge / unrepresentable values refused with one line and
exit 2 (issue 21, sections 1 and 4); ``grid`` refuses grids beyond the memory budget."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from derelay.params import (
    MAX_MAGNITUDE,
    MAX_PARTICIPANTS,
    MECHANISM_KEYS,
    PARAMS,
    ParamsError,
    grid,
    load_params,
    params_from_mapping,
)

ROOT = Path(__file__).resolve().parents[1]
INT_KEYS = [p.name for p in PARAMS if p.domain.integer]
NONFINITE = {
    "toml": ["nan", "inf", "-inf", "1e309"],
    "json": ["NaN", "Infinity", "-Infinity", "1e309"],
}


def _write(tmp_path: Path, fmt: str, key: str, literal: str, wrapped: bool) -> Path:
    if fmt == "toml":
        text = ("[params]\n" if wrapped else "") + f"{key} = {literal}\n"
    else:
        body = f'{{"{key}": {literal}}}'
        text = f'{{"params": {body}}}' if wrapped else body
    path = tmp_path / f"{key}_{abs(hash(literal))}_{int(wrapped)}.{fmt}"
    path.write_text(text, encoding="utf-8")
    return path


def _one_line(exc: ParamsError, key: str) -> str:
    msg = str(exc)
    assert "\n" not in msg, msg
    assert f"'{key}'" in msg, msg
    assert "allowed" in msg, msg
    return msg


@pytest.mark.parametrize("wrapped", [False, True])
@pytest.mark.parametrize("fmt", ["toml", "json"])
@pytest.mark.parametrize("key", INT_KEYS)
def test_integer_parameter_nonfinite_is_one_line(tmp_path, key, fmt, wrapped):
    """The 36 cases of issue 21 (3 integer keys x NaN/+inf/-inf/1e309 x formats)."""
    for literal in NONFINITE[fmt]:
        with pytest.raises(ParamsError) as ei:
            load_params(_write(tmp_path, fmt, key, literal, wrapped))
        _one_line(ei.value, key)


@pytest.mark.parametrize("key", ["coin", "r_cited", "beta", "n_participants", "model_size"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nonfinite_from_python(key, value):
    with pytest.raises(ParamsError) as ei:
        params_from_mapping({key: value})
    _one_line(ei.value, key)


def test_huge_values_are_refused_with_the_bound():
    for key, value in [("coin", 1e308), ("r_cited", 1e51), ("k_transmit", 10**400)]:
        with pytest.raises(ParamsError) as ei:
            params_from_mapping({key: value})
        msg = _one_line(ei.value, key)
        assert "1e+50" in msg and "overflow" in msg, msg
        assert len(msg) < 300
    params_from_mapping({"coin": MAX_MAGNITUDE, "r_cited": MAX_MAGNITUDE})


def test_population_is_capped_before_allocating():
    for n in (MAX_PARTICIPANTS + 1, 10**12, 10**400):
        with pytest.raises(ParamsError) as ei:
            params_from_mapping({"n_participants": n})
        msg = _one_line(ei.value, "n_participants")
        assert "n_participants" in msg
    assert params_from_mapping({"n_participants": MAX_PARTICIPANTS}).n_participants == (
        MAX_PARTICIPANTS
    )


def test_huge_integer_literals_and_duplicates_in_files(tmp_path):
    digits = "9" * 5000
    for fmt, text in [
        ("toml", f"coin = {digits}\n"),
        ("json", f'{{"coin": {digits}}}'),
        ("json", '{"coin": 1, "coin": 2}'),
        ("json", "[" * 100000),
    ]:
        path = tmp_path / f"p.{fmt}"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ParamsError) as ei:
            load_params(path)
        msg = str(ei.value)
        assert "\n" not in msg and len(msg) < 300, msg
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ParamsError, match="UTF-8"):
        load_params(tmp_path / "b.toml")


def test_extreme_magnitudes_keep_the_conditions_finite():
    """Every parameter at the documented bound MAX_MAGNITUDE (and mixes of tiny, unit and
    maximal values): every utility, margin and verdict input stays finite, so no
    inf - inf can turn into a wrong verdict (issue 21: coin = 1e308)."""
    from derelay.check import check_point

    def floats(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from floats(v)
        elif isinstance(x, list | tuple):
            for v in x:
                yield from floats(v)
        elif isinstance(x, float):
            yield x

    rng = np.random.default_rng(0)
    for trial in range(60):
        picks = {k: 2 if trial == 0 else int(rng.integers(0, 3)) for k in MECHANISM_KEYS}
        d = {}
        for p in PARAMS:
            if p.group != "mechanism":
                continue
            if p.name in ("beta", "s"):
                d[p.name] = (1e-6, 0.5, 1 - 1e-6)[picks[p.name]]
            else:
                tiny = 1e-300 if p.domain.lower_strict else 0.0
                d[p.name] = (tiny, 1.0, MAX_MAGNITUDE)[picks[p.name]]
        d["q_deposit"] = max(d["q_deposit"], 1.0)
        d["q_deposit_less"] = min(d["q_deposit_less"], d["q_deposit"] / 2)
        d["v_now_t"] = min(d["v_now_t"], d["v_rec"])
        d["v_now_ebm"] = min(d["v_now_ebm"], d["v_fhem"])
        res = check_point(params_from_mapping(d))
        assert all(math.isfinite(v) for v in floats(res)), (trial, d)


def _cli(*args: str):
    from typer.testing import CliRunner

    from derelay.cli import app

    return CliRunner().invoke(app, list(args))


def test_check_cli_refuses_bad_values_with_exit_2(tmp_path):
    cases = [
        ("n_participants", "inf"),
        ("n_participants", "nan"),
        ("n_participants", "1000000000000"),
        ("coin", "1e308"),
        ("selection_limit", "1e309"),
    ]
    for key, literal in cases:
        path = tmp_path / f"{key}.toml"
        path.write_text(f"[params]\n{key} = {literal}\n", encoding="utf-8")
        r = _cli("check", "--params", str(path), "--json")
        assert r.exit_code == 2, (key, literal, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        assert "Traceback" not in r.output, r.output
        assert key in r.output, r.output


def test_grid_refuses_beyond_the_memory_budget():
    from derelay.space import MAX_GRID_POINTS

    axis = np.linspace(0.1, 2.0, 1000)
    with pytest.raises(ParamsError, match="too large"):
        grid(coin=axis, r_cited=axis, b_t=axis)  # 1e9 points: refused, nothing allocated
    with pytest.raises(ParamsError, match="too large"):
        grid(mode="zip", coin=np.ones(MAX_GRID_POINTS + 1))
    g = grid(coin=axis[:10], r_cited=axis[:10])
    assert g.coin.shape == (100,)


def test_grid_refuses_unrepresentable_values():
    with pytest.raises(ParamsError, match="1e\\+50"):
        grid(coin=[1.0, 1e300])
    with pytest.raises(ParamsError, match="n_participants"):
        grid(n_participants=[10.0, 2e6])
    with pytest.raises(ParamsError, match="n_miners"):
        grid(n_miners=[1.5])
    with pytest.raises(ParamsError, match="numbers"):
        grid(coin=["x"])
