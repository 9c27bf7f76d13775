"""Count the mechanism literals left outside each mechanism's own modules.

    python benchmarks/count_literals.py [--json] [--files]

For every registered mechanism, its *own modules* are its plug-in package (for DeRelayL
``derelay/mechanism/derelayl/`` and its parameter table ``derelay/params.py``; for the
others ``derelay/mechanisms/<name>/``).  Every non-test Python file outside all
mechanisms' own modules
(``derelay/``, ``agents/``, ``analysis/``, ``experiments/``, ``paper/``; ``tests/``,
``examples/`` and ``benchmarks/`` excluded) is parsed and its string constants (``ast``:
plain strings, the literal parts of f-strings excluded, docstrings excluded) are
compared with the mechanism's role abbreviations, strategy abbreviations (``N``
excluded: it is every mechanism's Normal and too common a string to be specific),
DeRelayL's block kinds (DB, EB, TB, SB) and parameter names of its own space (the common
space's shared names excluded).  Printed: the counts per mechanism and kind, and per
directory.
"""

from __future__ import annotations

import ast
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCANNED = ("derelay", "agents", "analysis", "experiments", "paper")


def own_modules(name: str) -> tuple[str, ...]:
    if name == "derelayl":
        return ("derelay/mechanism/derelayl/", "derelay/params.py", "derelay/space.py")
    return (f"derelay/mechanisms/{name}/",)


def vocabulary(mech) -> dict[str, set[str]]:
    from derelay.space import COMMON_SPACE

    roles = {r.abbr for r in mech.roles}
    strategies = {s.abbr for r in mech.roles for s in r.strategies if not s.is_normal}
    common = set(COMMON_SPACE.keys)
    params = set(mech.space.keys) - common if mech.space is not None else set()
    out = {"role": roles, "strategy": strategies, "parameter": params}
    if mech.name == "derelayl":
        from derelay.mechanism.derelayl import MINER_BLOCK

        out["block_kind"] = set(MINER_BLOCK.values())
    return out


def docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                skip.add(id(v))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
    ]


def count() -> dict:
    from derelay.mechanism import get_mechanism, mechanism_names

    files = [p for d in SCANNED for p in sorted((ROOT / d).rglob("*.py"))]
    # every mechanism's own modules are excluded for all of them (a literal there is
    # that mechanism's own, whichever vocabulary it also happens to match)
    every_own = tuple(m for n in mechanism_names() for m in own_modules(n))
    result: dict = {}
    for name in mechanism_names():
        try:
            mech = get_mechanism(name)
        except (ImportError, KeyError):
            continue
        vocab = vocabulary(mech)
        own = every_own
        totals: Counter = Counter()
        by_dir: dict[str, Counter] = defaultdict(Counter)
        by_file: dict[str, Counter] = defaultdict(Counter)
        for p in files:
            rel = p.relative_to(ROOT).as_posix()
            if rel.startswith(own):
                continue
            for s in strings(p):
                for kind, words in vocab.items():
                    if s in words:
                        totals[kind] += 1
                        by_dir[rel.rsplit("/", 1)[0]][kind] += 1
                        by_file[rel][kind] += 1
        result[name] = {
            "totals": {k: totals.get(k, 0) for k in vocab},
            "files": len(by_file),
            "by_directory": {d: dict(c) for d, c in sorted(by_dir.items())},
            "by_file": {f: dict(c) for f, c in sorted(by_file.items())},
        }
    return result


def main() -> None:
    res = count()
    if "--json" in sys.argv:
        print(json.dumps(res, indent=2))
        return
    for name, r in res.items():
        t = ", ".join(f"{k} {v}" for k, v in r["totals"].items())
        print(f"{name}: {t} (in {r['files']} files outside its own modules)")
        rows = r["by_file"] if "--files" in sys.argv else r["by_directory"]
        for d, c in rows.items():
            print(f"    {d}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))


if __name__ == "__main__":
    main()
