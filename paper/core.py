"""The data a paper section returns, and the context it runs in.

A section (``paper/sections/<name>.py``) runs its experiments through the
:class:`Context` and returns a :class:`Section`: claims, tables, figures and errata as
*data*.  The renderer (:mod:`paper.render`) writes ``REPRODUCTION.md`` and
``reproduction.json`` from that data only, so every number in the prose is a field.

* :class:`Q` -- one measured (or reference) number with its unit and the sample it came
  from (runs, rounds, seeds);
* :class:`Check` -- one test a claim's verdict rests on: a rendered sentence, whether it
  holds, whether it is part of the claim *as stated* or of a stated correction, and
  whether it is independent evidence (the closed form checked against itself is not);
* :class:`Claim` -- the paper's statement, the measured quantities, a summary template
  (``{name}`` placeholders are filled from the quantities), the checks, the verdict
  (:func:`paper.verdict.judge`, the one rule for every claim) and the exact command;
* :class:`Table`, :class:`Erratum`, :class:`Section`.

Templates may contain no typed-in numbers: a digit in a summary or criterion template
outside a placeholder is an error (references such as ``T7``, ``eq. (15)`` or ``Sec.
IV-B`` are names, not numbers, and are allowed).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REPO_EXPERIMENTS = REPO / "experiments"

#: Names that contain digits but are not numbers: T1-T8, E12, C_Mine, eq. (15), Sec. IV-B,
#: Fig. 3, Table II, Appendix B, Algorithm 1, x^k, round^k, log-log, 2nd half.
_REFERENCE = re.compile(
    r"(?:\b(?:eqs?|Eq|Figs?|Sec|Tables?|Alg|Algorithm|Appendix|Steps?|Theorem|Lemma|Definition|Proposition|Corollary)\.?\s*\(?[\dIVX]+(?:\.\d+)*[a-zA-Z]?\)?"
    r"(?:-[A-Z](?:\(\d+\))?)?"
    r"(?:\s*(?:-|and|,)\s*\(?\d+\)?)*"
    r"|\b[A-Za-z_][A-Za-z_&]*\d+[A-Za-z_\d]*"  # identifiers: T7, E12, Q_MO&T, b^T...
    r"|[A-Za-z]\^\d+)"
)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z_0-9]*)\}")
_DIGIT = re.compile(r"\d")


def typed_numbers(template: str) -> list[str]:
    """Digits in ``template`` outside placeholders, references and `formulas` (should be
    none).  A formula in backticks (```Q_MO&T/(1 + s Pr)```) is the paper's algebra, not a
    measurement."""
    text = re.sub(r"`[^`]*`", " ", template)
    text = _PLACEHOLDER.sub(" ", text)
    text = _REFERENCE.sub(" ", text)
    return re.findall(r"\d[\d.,]*", text)


@dataclass
class Q:
    """One number: ``value`` in ``unit``, measured on ``sample``; ``fmt`` for display."""

    value: float | int
    unit: str = ""
    sample: str = ""
    fmt: str = ".3g"

    def __post_init__(self) -> None:
        if isinstance(self.value, bool):
            self.value = int(self.value)
        if not isinstance(self.value, int):
            self.value = float(self.value)

    @property
    def shown(self) -> str:
        v = self.value
        if isinstance(v, float) and not math.isfinite(v):
            return "n/a"
        if self.fmt == "d":
            return f"{int(round(v)):,}" if abs(v) >= 10000 else str(int(round(v)))
        return format(v, self.fmt)

    def to_json(self) -> dict[str, Any]:
        v = self.value
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        return {"value": v, "unit": self.unit, "sample": self.sample, "shown": self.shown}


def fill(template: str, values: Mapping[str, Q]) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name].shown``."""

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name not in values:
            raise KeyError(f"template placeholder {{{name}}} has no quantity: {template!r}")
        return values[name].shown

    return _PLACEHOLDER.sub(one, template)


def no_typed_numbers(template: str, where: str) -> None:
    bad = typed_numbers(template)
    if bad:
        raise ValueError(f"{where}: typed-in number(s) {bad} in {template!r}; make them quantities")


#: Kinds of evidence.  "closed form vs itself" never counts as independent confirmation.
EVIDENCE = {
    "proof": "z3 proof over the whole domain (the claim is about the formulas themselves)",
    "simulation": "agent-based simulation (realised utilities, not the closed form)",
    "chain": "simulated PoW chain",
    "learning": "real torch training",
    "solver": "exact solver search with replayed witnesses",
    "closed form vs itself": "the closed form checked against the closed form: "
    "consistency only, not independent confirmation",
    "settings": "the parameters the experiments use",
}
SELF = "closed form vs itself"


@dataclass
class Check:
    """One test behind a verdict (``text`` is a template over the claim's quantities).

    ``part``: ``"as stated"`` (the claim in the paper's own terms, magnitude included) or
    ``"correction"`` (the claim under a correction that ``text`` states).
    """

    text: str
    holds: bool
    evidence: str = "simulation"
    part: str = "as stated"

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE:
            raise ValueError(f"evidence {self.evidence!r}: allowed {sorted(EVIDENCE)}")
        if self.part not in ("as stated", "correction"):
            raise ValueError(f"part {self.part!r}: allowed 'as stated' or 'correction'")
        self.holds = bool(self.holds)

    @property
    def independent(self) -> bool:
        return self.evidence != SELF


@dataclass
class Claim:
    """One claim of the paper, what derelay measured, and the verdict it earns."""

    id: str
    where: str
    paper: str  # the paper's statement (template; may use reference quantities)
    summary: str  # what derelay measured (template over ``measured``)
    measured: dict[str, Q]
    checks: list[Check]
    command: str
    reference: dict[str, Q] = field(default_factory=dict)  # the paper's numbers, thresholds
    note: str = ""  # template: why, what explains a difference

    def __post_init__(self) -> None:
        for name, tpl in (("summary", self.summary), ("note", self.note)):
            no_typed_numbers(tpl, f"claim {self.id} {name}")
        for c in self.checks:
            no_typed_numbers(c.text, f"claim {self.id} check")
        if not self.checks:
            raise ValueError(f"claim {self.id} has no checks")
        overlap = set(self.measured) & set(self.reference)
        if overlap:
            raise ValueError(f"claim {self.id}: {sorted(overlap)} both measured and reference")
        for tpl in (self.paper, self.summary, self.note, *(c.text for c in self.checks)):
            fill(tpl, self.values)  # every placeholder has a quantity

    @property
    def values(self) -> dict[str, Q]:
        return {**self.reference, **self.measured}

    @property
    def verdict(self) -> str:
        from .verdict import judge

        return judge(self.checks)

    @property
    def holds(self) -> str:
        """The pre-issue-17 key: "yes" | "partly" | "no"."""
        return {"holds": "yes", "partly": "partly", "fails": "no"}[self.verdict]

    def text(self, what: str) -> str:
        return fill(getattr(self, what), self.values)

    def to_json(self) -> dict[str, Any]:
        from .verdict import SYMBOL, criterion

        return {
            "id": self.id,
            "where": self.where,
            "paper": self.text("paper"),
            "summary": self.text("summary"),
            "summary_template": self.summary,
            "note": self.text("note"),
            "measured": {k: q.to_json() for k, q in self.measured.items()},
            "reference": {k: q.to_json() for k, q in self.reference.items()},
            "checks": [
                {
                    "text": fill(c.text, self.values),
                    "holds": c.holds,
                    "part": c.part,
                    "evidence": c.evidence,
                    "independent": c.independent,
                }
                for c in self.checks
            ],
            "criterion": criterion(self.checks),
            "verdict": self.verdict,
            "symbol": SYMBOL[self.verdict],
            "holds": self.holds,
            "command": self.command,
        }


@dataclass
class Table:
    """A Markdown table: ``rows`` of dicts (floats shown with ``floatfmt``)."""

    title: str
    rows: list[dict[str, Any]]
    floatfmt: str = ".4g"
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "rows": _jsonable(self.rows), "note": self.note}


@dataclass
class Erratum:
    """An inconsistency in the paper, the reading derelay takes, and the command."""

    id: str
    where: str
    issue: str  # template over ``measured`` (the paper's own constants may be typed)
    choice: str
    command: str
    measured: dict[str, Q] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fill(self.issue, self.measured)
        fill(self.choice, self.measured)

    def text(self, what: str) -> str:
        return fill(getattr(self, what), self.measured)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "where": self.where,
            "issue": self.text("issue"),
            "issue_template": self.issue,
            "choice": self.text("choice"),
            "command": self.command,
            "measured": {k: q.to_json() for k, q in self.measured.items()},
        }


@dataclass
class Section:
    """What a section's ``run(ctx)`` returns."""

    key: str
    title: str
    status: str = "ok"  # ok | failed
    note: str = ""
    intro: str = ""  # Markdown paragraph before the tables (numbers only via ``values``)
    values: dict[str, Q] = field(default_factory=dict)  # quantities the intro uses
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    errata: list[Erratum] = field(default_factory=list)
    seconds: float = 0.0
    empty_panels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The section body as Markdown (intro and tables)."""
        from .render import section_body

        return section_body(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "note": self.note,
            "figures": list(self.figures),
            "empty_panels": dict(self.empty_panels),
            "seconds": round(self.seconds, 1),
            "intro": fill(self.intro, self.values),
            "intro_template": self.intro,
            "values": {k: q.to_json() for k, q in self.values.items()},
            "tables": [t.to_json() for t in self.tables],
        }


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def need(module: str, part: str = ""):
    """The module ``module`` (``part``: what it is, for the reader of a section).

    Every part of derelay is always installed, so this is a plain import: a module that
    fails to import is a defect, and the section fails with the import error."""
    import importlib

    return importlib.import_module(module)


def available(module: str) -> bool:
    """Always true once ``module`` imports (an import error propagates): kept for the
    sections that still ask."""
    need(module)
    return True


# -------------------------------------------------------------------------------------
# Context
# -------------------------------------------------------------------------------------


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"cannot write {v!r} to TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise ValueError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def to_toml(data: Mapping[str, Any]) -> str:
    """A spec mapping as TOML (None values dropped; nested dicts as inline tables)."""
    lines = []
    for k, v in data.items():
        if v is None:
            continue
        v = _drop_none(v)
        lines.append(f"{_key(k)} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def _drop_none(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_none(x) for x in v]
    return v


@dataclass
class Context:
    """What a section runs with: output paths, quick mode, workers, log and progress."""

    out: Path
    quick: bool = False
    workers: int | None = None
    log: Callable[[str], None] = print
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    progress: Any = None  # paper.progress.Progress (or None)
    #: where the outputs will finally live (``derelay paper`` writes into a temporary
    #: directory and swaps it in): the paths inside cited commands point there
    shown_out: Path | None = None

    @property
    def figdir(self) -> Path:
        return self.out / "figures"

    @property
    def datadir(self) -> Path:
        return self.out / "data"

    @property
    def specdir(self) -> Path:
        return self.out / "specs"

    def fig(self, fig, name: str) -> list[str]:
        """Save ``fig`` as PNG and PDF; a panel with no finite data drawn is recorded in
        ``extra["empty_panels"]`` (and reported as a section note)."""
        from analysis.plots import empty_panels, save_figure

        empty = empty_panels(fig)
        if empty:
            self.extra.setdefault("empty_panels", {})[name] = empty
            self.log(f"  figure {name}: panel(s) with no finite data: {empty}")
        paths = save_figure(fig, self.figdir / name)
        return [str(p.relative_to(self.out)) for p in paths]

    def step(self, done: int, total: int, what: str = "") -> None:
        """Progress inside a long section (``done`` of ``total`` units)."""
        if self.progress is not None:
            self.progress.inner(done, total, what)

    def spec(
        self, name: str, quick: dict[str, Any] | None = None, label: str | None = None, **over: Any
    ):
        """``experiments/<name>.toml`` with quick-mode and explicit overrides applied.

        Returns ``(spec, command)``: the command that runs exactly this spec (in quick
        mode, or with overrides, the effective spec is written to ``<out>/specs/`` and the
        command points there).
        """
        from experiments.spec import load_spec, spec_from_mapping

        path = REPO_EXPERIMENTS / f"{name}.toml"
        spec = load_spec(path)
        changes = dict(over)
        if self.quick and quick:
            changes.update(quick)
        if not changes:
            return spec, f"experiments/{name}.toml"
        data = spec.model_dump(mode="json")
        for k, v in changes.items():
            node = data
            parts = k.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = v
        spec = spec_from_mapping(data, f"{name} (paper overrides)")
        self.specdir.mkdir(parents=True, exist_ok=True)
        target = self.specdir / f"{label or name}.toml"
        text = (
            f"# effective spec of derelay paper{' --quick' if self.quick else ''}: "
            f"experiments/{name}.toml with {json.dumps(changes, ensure_ascii=False)}\n"
            + to_toml(data)
        )
        target.write_text(text, encoding="utf-8")
        spec_from_mapping(__import__("tomllib").loads(text), str(target))  # round trip
        shown = (self.shown_out or self.out) / "specs" / target.name
        return spec, str(shown)

    def sweep(
        self, name: str, quick: dict[str, Any] | None = None, label: str | None = None, **over: Any
    ):
        """Run ``experiments/<name>.toml`` (with overrides) into ``data/<name>``.

        Returns ``(path, command)``: the data directory and the exact ``derelay sweep``
        command that reproduces it.
        """
        from experiments.runner import run_sweep

        spec, spec_path = self.spec(name, quick, label, **over)
        name = label or name
        out = self.datadir / name
        if out.exists():
            shutil.rmtree(out)
        total = len(spec.runs())
        done = [0]

        def tick(_res: dict[str, Any]) -> None:
            done[0] += 1
            self.step(done[0], total, name)

        t0 = time.perf_counter()
        self.step(0, total, name)
        res = run_sweep(spec, out, workers=self.workers, on_result=tick)
        self.log(
            f"  sweep {name}: {res.done} ok, {res.failed} failed of {res.total} runs "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        if res.failed:
            man = json.loads((out / "manifest.json").read_text())
            err = next(e["error"] for e in man["runs"] if e["status"] == "failed")
            if res.done == 0:
                raise RuntimeError(f"every run of {name} failed, e.g. {err}")
            self.log(f"  ({res.failed} runs of {name} failed, e.g. {err})")
        return out, f"derelay sweep {spec_path}"
