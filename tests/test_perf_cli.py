"""The lazy command line: the static command table matches the modules, help lists every
command, a module the table does not know still registers, and light commands do not import
the heavy libraries (start-up time; measured in benchmarks/bench_startup.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import derelay.cli as cli
from derelay.cli import COMMANDS, app, scan_commands

HEAVY = ("mesa", "pandas", "pyarrow", "torch", "z3", "matplotlib", "scipy", "dask")


def test_command_table_matches_the_modules():
    scanned = scan_commands()
    assert list(scanned) == list(COMMANDS), "update derelay.cli.COMMANDS (order or names)"
    for name, (module, help_line, hidden) in scanned.items():
        assert COMMANDS[name] == module, f"update derelay.cli.COMMANDS[{name!r}]"
        # the help read from the source is the help typer gives (or None: then imported)
        assert cli._source_help(module).get(name) in (help_line, None), name
        assert not hidden


def test_help_read_from_source_for_every_shipped_command():
    for name, module in COMMANDS.items():
        assert cli._source_help(module).get(name), name


def test_help_lists_every_command():
    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in res.output


def test_module_unknown_to_the_table_still_appears(monkeypatch):
    # Drop the sweep module's entry: discovery must still find and register it.
    trimmed = {k: v for k, v in COMMANDS.items() if v != "sweep"}
    monkeypatch.setattr(cli, "COMMANDS", trimmed)
    fresh = cli.typer.Typer(cls=cli.LazyGroup, add_completion=False, rich_markup_mode=None)
    fresh.callback()(lambda: None)
    res = CliRunner().invoke(fresh, ["--help"])
    assert res.exit_code == 0 and "  sweep " in res.output
    res = CliRunner().invoke(fresh, ["sweep", "--help"])
    assert res.exit_code == 0 and "SPEC" in res.output


def test_root_help_without_typer_is_the_typer_page():
    from derelay.cli._help import root_help

    res = CliRunner().invoke(app, ["--help"], prog_name="derelay")  # forces width 80
    assert res.exit_code == 0
    assert root_help(prog="derelay", width=80) == res.output


@pytest.mark.parametrize("columns", [40, 66, 200])
def test_python_m_derelay_help_is_the_typer_page(columns):
    env = {**os.environ, "COLUMNS": str(columns)}
    fast = subprocess.run([sys.executable, "-m", "derelay", "--help"], env=env,
                          capture_output=True, text=True, check=True).stdout
    code = "from derelay.cli._app import app; app(prog_name='python -m derelay')"
    slow = subprocess.run([sys.executable, "-c", code, "--help"], env=env,
                          capture_output=True, text=True, check=True).stdout
    assert fast == slow


def test_root_help_falls_back_to_typer_for_an_unknown_module(monkeypatch):
    from derelay.cli._help import root_help

    monkeypatch.setattr(cli, "COMMANDS", {k: v for k, v in COMMANDS.items() if v != "sweep"})
    assert root_help(prog="derelay", columns=80) is None


def test_help_imports_no_typer():
    page, loaded = _main_modules(["--help"])
    assert page.startswith("Usage: derelay [OPTIONS] COMMAND [ARGS]...")
    assert not {"typer", "click", "rich", "pydantic", "numpy"} & loaded
    assert not [m for m in loaded if m.startswith("derelay.cli.") and m != "derelay.cli._help"]


def _main_modules(argv: list[str]) -> tuple[str, set[str]]:
    """What ``derelay ARGV`` (the console entry point) prints, and the modules it loaded."""
    code = (
        "import sys\n"
        f"sys.argv = ['derelay', *{argv!r}]\n"
        "from derelay.cli import main\n"
        "main()\n"
        "print('MODULES', ' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    page, _, mods = out.stdout.rpartition("MODULES ")
    return page, set(mods.split())


def test_check_json_entry_point_is_the_typer_command_without_typer():
    page, loaded = _main_modules(["check", "--json"])
    assert page == CliRunner().invoke(app, ["check", "--json"]).output
    assert not {"typer", "click", "rich", "pydantic", "numpy"} & loaded
    assert not [m for m in loaded if m.startswith("derelay.cli.") and m != "derelay.cli._common"]


def test_version_entry_point_is_the_typer_option_without_typer():
    page, loaded = _main_modules(["--version"])
    assert page == CliRunner().invoke(app, ["--version"]).output
    assert "typer" not in loaded


def test_short_help_is_clicks_rule():
    import random

    from typer._click.utils import make_default_short_help

    from derelay.cli import short_help

    rng = random.Random(0)
    words = ["a", "bb", "ccc.", "dddd", "eeeee,", "ffffff.", "x" * 12, "\b", "yy\n\nzz"]
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        limit = rng.randint(1, 40)
        assert short_help(text, limit) == make_default_short_help(text, limit), (text, limit)


def test_unknown_command_suggests():
    res = CliRunner().invoke(app, ["chek"])
    assert res.exit_code == 2
    assert "Did you mean 'check'" in res.output


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import sys, io, contextlib\n"
        "from derelay.cli import app\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n"
        f"        app({args!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_light_commands_import_no_heavy_library():
    for args in (["--help"], ["check", "--json"], ["params", "--json"]):
        mods = _modules_after(args)
        heavy = sorted(m for m in HEAVY if m in mods)
        assert not heavy, f"derelay {' '.join(args)} imports {heavy}"
    assert "derelay.cli.run" not in _modules_after(["--help"])


def test_check_json_imports_neither_numpy_nor_rich():
    # the default point is evaluated on floats: no numpy, no rich consoles, no Params model
    mods = _modules_after(["check", "--json"])
    assert not {"numpy", "rich"} & mods, sorted({"numpy", "rich"} & mods)
    assert "derelay.engine.run" not in mods


def test_default_point_without_the_model_is_the_model_default():
    from derelay.check import check_point
    from derelay.params import Params, default_values

    assert default_values() == Params().model_dump()
    assert [type(v) for v in default_values().values()] == [
        type(v) for v in Params().model_dump().values()
    ]
    assert check_point(None) == check_point(Params())


def test_check_json_still_works():
    res = CliRunner().invoke(app, ["check", "--json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["mechanism"] == "derelayl"


def test_lazy_help_equals_the_eager_help():
    """The old eager app (every module imported and registered) prints the same --help."""
    import importlib

    import typer

    eager = typer.Typer(name="derelay", help=app.info.help, no_args_is_help=True,
                        add_completion=False, rich_markup_mode=None)
    eager.callback()(cli._root)
    for module in cli._module_names():
        importlib.import_module(f"derelay.cli.{module}").register(eager)
    lazy_out = CliRunner().invoke(app, ["--help"]).output
    eager_out = CliRunner().invoke(eager, ["--help"]).output
    assert lazy_out == eager_out


def test_mesa_core_without_mesa_package_init():
    """The engine imports mesa.model and mesa.agent only; the rest of Mesa's API appears
    (Mesa's own __init__ runs) on first use, with mesa.Model still one class."""
    code = (
        "import sys\n"
        "from derelay.engine.model import MechanismModel\n"
        "from derelay.engine.agent import EngineAgent\n"
        "import mesa\n"
        "heavy = [m for m in ('scipy', 'mesa.datacollection', 'mesa.space', 'mesa.experimental')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert issubclass(MechanismModel, mesa.Model) and issubclass(EngineAgent, mesa.Agent)\n"
        "model_cls = mesa.Model\n"
        "from mesa import DataCollector, batch_run\n"
        "assert mesa.Model is model_cls and 'mesa.datacollection' in sys.modules\n"
        "assert mesa.__version__.startswith('3.')\n"
        "import inspect, mesa.mesa_logging, mesa.model\n"
        "assert mesa.mesa_logging.inspect is inspect\n"  # Mesa's logging got inspect back
        "assert mesa.model._mesa_logger.name == 'MESA.mesa.model'\n"
        "cells = [c.cell_contents for c in mesa.Model.__init__.__closure__]\n"
        "assert 'Model' in cells\n"  # method_logger found the class name
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_run_imports_only_what_it_uses(tmp_path):
    args = ["run", "--preset", "authors_code", "--rounds", "2", "--no-progress",
            "--out", str(tmp_path / "out")]
    mods = _modules_after(args)
    assert (tmp_path / "out" / "rounds.parquet").exists()
    unused = ("torch", "z3", "scipy", "matplotlib", "dask", "mesa.datacollection",
              "mesa.space", "mesa.experimental", "mesa.batchrunner")
    assert not [m for m in unused if m in mods], [m for m in unused if m in mods]
