"""derelay's core imports downward only: no module under ``derelay/`` (except the command
line ``derelay/cli``, the dashboard ``derelay/dashboard`` and the entry point
``derelay/__main__.py``) imports the sweep layer ``experiments``, the report ``paper``, the
analysis helpers ``analysis``, ``benchmarks`` or the command line ``derelay.cli`` - not even
lazily inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UPPER = ("experiments", "paper", "analysis", "benchmarks", "derelay.cli")
EXEMPT = ("derelay/cli/", "derelay/dashboard/", "derelay/__main__.py")


def _imported(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import in ``tree`` (relative imports resolved)."""
    package = module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            out += [(node.lineno, f"{name}.{a.name}") for a in node.names]
    return out


def _upward_imports() -> list[str]:
    bad = []
    for path in sorted((ROOT / "derelay").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EXEMPT):
            continue
        module = rel.removesuffix(".py").replace("/", ".")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, name in _imported(tree, module):
            if any(name == u or name.startswith(u + ".") for u in UPPER):
                bad.append(f"{rel}:{line} imports {name}")
    return bad


def test_core_never_imports_the_sweep_layer_the_report_or_the_cli():
    assert _upward_imports() == []


def test_the_check_sees_lazy_and_relative_imports(tmp_path):
    code = "def f():\n    from experiments.runner import RUN_KINDS\n    from ..cli import app\n"
    found = _imported(ast.parse(code), "derelay.engine.model")
    assert (2, "experiments.runner") in found and (3, "derelay.cli") in found



def _project_modules(*tops: str) -> list[str]:
    skip = ("derelay/__main__.py", "derelay/dashboard/")  # the dashboard needs bokeh's server
    modules = []
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(skip):
                modules.append(rel.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    return modules


def _first_import_failures(modules: list[str]) -> str:
    """Each module imported as the *first* project module of a fresh interpreter (a cycle
    shows up as a half-initialised module when the wrong side is imported first)."""
    import subprocess
    import sys

    script = (
        "import subprocess, sys\n"
        "bad = []\n"
        "for m in sys.argv[1:]:\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True,"
        " text=True)\n"
        "    if r.returncode:\n"
        "        bad.append(m + ': ' + (r.stderr.strip().splitlines() or ['?'])[-1])\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *modules], capture_output=True, text=True, cwd=ROOT
    )
    return out.stdout.strip()


def test_the_formal_layers_import_first_in_either_order():
    """The generic formal layer and DeRelayL's formal package import each other's names:
    whichever is imported first, nothing is half-initialised (the cycle this once had)."""
    modules = _project_modules("derelay/formal", "derelay/mechanism/derelayl/formal")
    modules += ["derelay.chain", "derelay.model", "derelay.engine", "derelay.mechanism"]
    assert _first_import_failures(modules) == ""


@pytest.mark.slow
def test_every_module_imports_first_in_a_fresh_interpreter():
    """No import cycle anywhere: every module of the core, agents, analysis, experiments
    and paper can be the first project module a process imports (about 190 interpreters)."""
    modules = _project_modules("derelay", "agents", "analysis", "experiments", "paper")
    assert _first_import_failures(modules) == ""
