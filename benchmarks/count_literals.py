"""Count the mechanism literals left outside each mechanism's own modules.

    python benchmarks/count_literals.py [--json] [--files] [--hits]

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
space's shared names excluded).

Two counts are printed for each mechanism and kind, ``raw/precise``:

* **raw**: every string constant equal to a word of the vocabulary (the count as it
  always was).
* **precise**: the raw hits that are used as that mechanism's name.  A raw hit is
  *not* counted when one of these rules says it cannot be one:

  1. *scope*: the file does not touch the mechanism.  A file touches a mechanism when
     it imports from the mechanism's own modules (absolute or relative import) or
     holds a string constant equal to the mechanism's registry name (``"flchain"``,
     as in ``get_mechanism("flchain")`` or a section's ``KEY``).  The default
     mechanism (``derelayl``: every command runs it when none is named) touches every
     file, so rule 1 never drops a DeRelayL hit.
  2. *display slot*: the string is bound to a formatting parameter, not a name: a
     keyword argument called one of :data:`DISPLAY_SLOTS` (``fmt``, ``unit``,
     ``marker``, ``color``, ...), the value assigned to a variable of such a name
     (``fmt = "d" if ... else ".4g"``), or a positional argument that the callee's signature
     binds to such a parameter.  The callee is resolved statically: a function or
     class defined in the same file or imported by ``from ... import`` from a project
     file (dataclass fields in order for a dataclass, ``__init__`` otherwise).  An
     unresolved callee (matplotlib, pandas) keeps its positional strings counted.
     Example: ``Q(3, "rounds", smp, "d")`` binds ``"d"`` to ``Q.fmt`` (a format spec,
     not FLChain's parameter ``d``); ``Q(t, "s", ...)`` binds ``"s"`` to ``Q.unit``
     (seconds, not DeRelayL's ``s``).
  3. *text*: the string is a piece of text spliced into an f-string (the branch of a
     conditional expression inside ``{...}``, e.g. the plural ``'s'`` of
     ``f"run{'s' if n != 1 else ''}"``).

  Every other position counts: a subscript or dict key, a comparison operand, an
  element of a tuple/list/set, an assigned value, a call argument not in a display
  slot.  The rules only ever remove a hit whose role is provably not a name, so a real
  literal cannot hide behind them (``--hits`` lists every raw hit with the rule, if
  any, that dropped it).

Printed: the counts per mechanism and kind, and per directory (``--files``: per file).
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
DEFAULT_MECHANISM = "derelayl"
#: parameter names that take a format, a unit or a plotting style, never a name
DISPLAY_SLOTS = frozenset({
    "fmt", "format", "unit", "units", "marker", "color", "c", "ls", "linestyle",
    "ha", "va", "loc",
})  # fmt: skip


def own_modules(name: str) -> tuple[str, ...]:
    if name == "derelayl":
        return ("derelay/mechanism/derelayl/", "derelay/params.py", "derelay/space.py")
    return (f"derelay/mechanisms/{name}/",)


def own_packages(name: str) -> tuple[str, ...]:
    """Dotted module prefixes of a mechanism's own modules (for the scope rule)."""
    return tuple(m.rstrip("/").removesuffix(".py").replace("/", ".") for m in own_modules(name))


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


def _skipped(tree: ast.AST) -> set[int]:
    skip = docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                skip.add(id(v))
    return skip


def strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _skipped(tree)
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
    ]


# --- static resolution of callees (rule 2) -------------------------------------------


def _module_name(rel: str) -> str:
    return rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _module_file(dotted: str) -> Path | None:
    base = ROOT / dotted.replace(".", "/")
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _absolute(module: str | None, level: int, here: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    parts = here.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join(parts + ([module] if module else []))


def _signature(node: ast.AST) -> list[str] | None:
    """Positional parameter names of a def, or of a class's constructor."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        a = node.args
        return [x.arg for x in a.posonlyargs + a.args]
    if isinstance(node, ast.ClassDef):
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                return _signature(item)[1:]
        decorated = any(
            (isinstance(d, ast.Name) and d.id == "dataclass")
            or (isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dataclass")
            for d in node.decorator_list
        )
        if decorated:
            return [
                i.target.id for i in node.body
                if isinstance(i, ast.AnnAssign) and isinstance(i.target, ast.Name)
                and "ClassVar" not in ast.unparse(i.annotation)
            ]  # fmt: skip
    return None


_TREES: dict[Path, ast.Module] = {}


def _tree(path: Path) -> ast.Module:
    if path not in _TREES:
        _TREES[path] = ast.parse(path.read_text(encoding="utf-8"))
    return _TREES[path]


def _defs(path: Path, depth: int = 0) -> dict[str, list[str]]:
    """Name -> positional parameters for every def/class a file defines or imports."""
    return _defs_of(_tree(path), path.relative_to(ROOT).as_posix(), depth)


def _defs_of(tree: ast.Module, rel: str, depth: int = 0) -> dict[str, list[str]]:
    here, is_pkg = _module_name(rel), rel.endswith("__init__.py")
    out: dict[str, list[str]] = {}
    for node in tree.body:
        if depth < 2 and isinstance(node, ast.ImportFrom):
            src = _module_file(_absolute(node.module, node.level, here, is_pkg))
            if src is None:
                continue
            theirs = _defs(src, depth + 1)
            for a in node.names:
                if a.name in theirs:
                    out[a.asname or a.name] = theirs[a.name]
    for node in tree.body:
        sig = _signature(node)
        if sig is not None:
            out[node.name] = sig
    return out


def _parents(tree: ast.AST) -> dict[int, ast.AST]:
    par = {}
    for node in ast.walk(tree):
        for ch in ast.iter_child_nodes(node):
            par[id(ch)] = node
    return par


def _dropped_by(node: ast.Constant, par: dict[int, ast.AST], sigs: dict) -> str:
    """The rule (2 or 3) that shows this constant is not a name, or ''."""
    up, cur = par.get(id(node)), node
    while isinstance(up, ast.IfExp) and cur is not up.test:
        cur, up = up, par.get(id(up))
    if isinstance(up, ast.FormattedValue):
        return "text"
    if isinstance(up, ast.keyword) and up.arg in DISPLAY_SLOTS:
        return f"display slot {up.arg}="
    if (
        isinstance(up, ast.Assign)
        and cur is up.value
        and any(isinstance(t, ast.Name) and t.id in DISPLAY_SLOTS for t in up.targets)
    ):
        return "display slot fmt = ..."
    if isinstance(up, ast.Call) and cur in up.args and isinstance(up.func, ast.Name):
        sig = sigs.get(up.func.id)
        i = up.args.index(cur)
        if sig is not None and i < len(sig) and sig[i] in DISPLAY_SLOTS:
            return f"display slot {up.func.id}({sig[i]})"
    return ""


def _touches(tree: ast.AST, rel: str, name: str) -> bool:
    if name == DEFAULT_MECHANISM:
        return True
    here, is_pkg = _module_name(rel), rel.endswith("__init__.py")
    pkgs = own_packages(name)
    for node in ast.walk(tree):
        mods: list[str] = []
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, here, is_pkg)
            mods = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Constant) and node.value == name:
            return True
        if any(m == p or m.startswith(p + ".") for m in mods for p in pkgs):
            return True
    return False


def hits(path: Path, vocab: dict[str, dict[str, set[str]]]) -> list[dict]:
    """Every raw hit in one file: mechanism, kind, word, line and the dropping rule."""
    return hits_in(_tree(path), path.relative_to(ROOT).as_posix(), vocab)


def hits_in(tree: ast.Module, rel: str, vocab: dict[str, dict[str, set[str]]]) -> list[dict]:
    """:func:`hits` of a parsed file whose path (relative to the repository) is ``rel``."""
    skip, par, sigs = _skipped(tree), _parents(tree), _defs_of(tree, rel)
    touches = {name: _touches(tree, rel, name) for name in vocab}
    out = []
    for n in ast.walk(tree):
        if not (isinstance(n, ast.Constant) and isinstance(n.value, str)) or id(n) in skip:
            continue
        for name, words in vocab.items():
            for kind, ws in words.items():
                if n.value in ws:
                    rule = _dropped_by(n, par, sigs) or ("" if touches[name] else "scope")
                    out.append({"file": rel, "line": n.lineno, "mechanism": name, "kind": kind,
                                "word": n.value, "dropped": rule})  # fmt: skip
    return sorted(out, key=lambda h: (h["mechanism"], h["line"], h["kind"]))


def count() -> dict:
    from derelay.mechanism import get_mechanism, mechanism_names

    files = [p for d in SCANNED for p in sorted((ROOT / d).rglob("*.py"))]
    # every mechanism's own modules are excluded for all of them (a literal there is
    # that mechanism's own, whichever vocabulary it also happens to match)
    every_own = tuple(m for n in mechanism_names() for m in own_modules(n))
    vocab = {}
    for name in mechanism_names():
        try:
            vocab[name] = vocabulary(get_mechanism(name))
        except (ImportError, KeyError):
            continue
    all_hits = [
        h for p in files if not p.relative_to(ROOT).as_posix().startswith(every_own)
        for h in hits(p, vocab)
    ]  # fmt: skip
    result: dict = {}
    for name, words in vocab.items():
        mine = [h for h in all_hits if h["mechanism"] == name]
        raw = Counter(h["kind"] for h in mine)
        precise = Counter(h["kind"] for h in mine if not h["dropped"])
        by_dir: dict[str, Counter] = defaultdict(Counter)
        by_file: dict[str, Counter] = defaultdict(Counter)
        for h in mine:
            for tally, key in ((by_dir, h["file"].rsplit("/", 1)[0]), (by_file, h["file"])):
                tally[key][(h["kind"], "raw")] += 1
                tally[key][(h["kind"], "precise")] += not h["dropped"]
        result[name] = {
            "totals": {k: raw.get(k, 0) for k in words},
            "precise": {k: precise.get(k, 0) for k in words},
            "files": len(by_file),
            "files_precise": len({h["file"] for h in mine if not h["dropped"]}),
            "by_directory": {d: _pairs(c) for d, c in sorted(by_dir.items())},
            "by_file": {f: _pairs(c) for f, c in sorted(by_file.items())},
            "hits": mine,
        }
    return result


def _pairs(c: Counter) -> dict[str, dict[str, int]]:
    kinds = sorted({k for k, _ in c})
    return {k: {"raw": c[(k, "raw")], "precise": c[(k, "precise")]} for k in kinds}


def main() -> None:
    res = count()
    if "--json" in sys.argv:
        print(json.dumps(res, indent=2))
        return
    print("counts are raw/precise (see the module docstring for the precise rule)")
    for name, r in res.items():
        t = ", ".join(f"{k} {v}/{r['precise'][k]}" for k, v in r["totals"].items())
        print(f"{name}: {t} (in {r['files']}/{r['files_precise']} files outside its own "
              "modules)")  # fmt: skip
        rows = r["by_file"] if "--files" in sys.argv else r["by_directory"]
        for d, c in rows.items():
            print(f"    {d}: " + ", ".join(
                f"{k} {v['raw']}/{v['precise']}" for k, v in c.items()))  # fmt: skip
        if "--hits" in sys.argv:
            for h in r["hits"]:
                why = f"  [dropped: {h['dropped']}]" if h["dropped"] else ""
                print(f"      {h['file']}:{h['line']}: {h['kind']} {h['word']!r}{why}")


if __name__ == "__main__":
    main()
