"""Safe outputs (swap in whole or refuse), safe inputs, strict configs."""

from __future__ import annotations

import os

import pytest
from pydantic import Field

from derelay.io import (
    InputError,
    OutputError,
    check_output_path,
    output_dir,
    output_file,
    read_text_file,
)
from derelay.strict import ConfigError, StrictModel, validate


def test_output_dir_swaps_in_whole_and_refuses_used_dirs(tmp_path):
    out = tmp_path / "run"
    with output_dir(out) as d:
        (d / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1"
    with pytest.raises(OutputError, match="is not empty: choose a new directory or pass --force"):
        with output_dir(out):
            pass
    # --force replaces the contents whole: nothing of the old run survives
    with output_dir(out, force=True) as d:
        (d / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    # a failure leaves the old run untouched and no temporaries behind
    with pytest.raises(RuntimeError):
        with output_dir(out, force=True) as d:
            (d / "c.txt").write_text("3")
            raise RuntimeError("killed")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_stale_temporaries_are_cleaned(tmp_path):
    (tmp_path / ".derelay-tmp-run-abc").mkdir()
    with output_dir(tmp_path / "run") as d:
        (d / "x").write_text("")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_output_path_mistakes(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    with pytest.raises(OutputError, match="is a file: give a directory"):
        check_output_path(f)
    with pytest.raises(OutputError, match="is a file, not a directory"):
        check_output_path(f / "sub")
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out")
    with pytest.raises(OutputError, match="longer than"):
        check_output_path(tmp_path / ("x" * 300))
    with pytest.raises(OutputError, match="is a directory: give a file path"):
        check_output_path(tmp_path, kind="file")
    with output_file(tmp_path / "r.csv") as t:
        t.write_text("a,b\n")
    assert (tmp_path / "r.csv").read_text() == "a,b\n"
    if os.geteuid() != 0:  # root may write anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(ro / "out")


def test_inputs_only_regular_utf8_bounded(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is not a regular file"):
        read_text_file(fifo, "--config")  # returns at once, never blocks
    with pytest.raises(InputError, match="is not a regular file"):
        read_text_file("/dev/zero")
    big = tmp_path / "big"
    big.write_bytes(b"a" * 2000)
    with pytest.raises(InputError, match="2,000 bytes: allowed at most 1,000"):
        read_text_file(big, max_bytes=1000)
    b = tmp_path / "b"
    b.write_bytes(b"\xff\x00")
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        read_text_file(b)


class Cfg(StrictModel):
    perf_mu: float = 1.0
    genesis_owner: int = Field(0, ge=0)
    name: str = "x"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"perf_mu": float("nan")}, "parameter 'perf_mu' = nan is out of range: allowed a finite"),
        ({"perf_mu": float("inf")}, "'perf_mu' = inf is out of range"),
        ({"perf_mu": "1"}, "parameter 'perf_mu' = '1' has the wrong type (str)"),
        ({"genesis_owner": True}, "parameter 'genesis_owner' = True has the wrong type (bool)"),
        ({"genesis_owner": -1}, "parameter 'genesis_owner' = -1 is not allowed"),
        ({"perf_mue": 1.0}, "unknown key 'perf_mue' (did you mean 'perf_mu'?)"),
    ],
)
def test_strict_models_one_line_per_problem(data, needle):
    with pytest.raises(ConfigError) as exc:
        validate(Cfg, data, "my.toml")
    assert needle in str(exc.value)
    assert str(exc.value).startswith("invalid configuration in my.toml: ")


def test_strict_model_accepts_good_values():
    c = validate(Cfg, {"perf_mu": 2, "genesis_owner": 3})
    assert c.perf_mu == 2.0 and c.genesis_owner == 3
