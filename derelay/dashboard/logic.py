"""What the dashboard computes, free of any widget: verdicts, region map, design scan.

Every number comes from the mechanism's own formulas (``Mechanism.utilities`` and
``Condition.holds`` / ``paper_form``), evaluated on floats for the live verdicts and on
numpy grids for the region map and the one-parameter scan, so the page shows exactly what
``derelay check`` computes.

Margins
-------
* IR of a role: U_N (holds iff >= 0).
* IC of a role against a deviation: U_N - U_dev (holds iff > 0 when the strategy's IC is
  strict, >= 0 when weak).
* A condition as printed, ``lhs rel rhs``: its margin is lhs - rhs (a condition whose
  printed form divides by zero at the point shows no margin; its verdict comes from the
  division-free form).
* "Normal is IR and IC" (region map, design scan): every role IR and IC; the shading is the
  tightest of all those margins (the smallest, in coins).

The design interval
-------------------
For one free parameter the page shows two answers, each labelled:

* **Exact**: :func:`derelay.formal.design.design` (``derelay design``: z3 and sympy on exact
  rationals, over the parameter's whole domain) for the groups of properties it takes
  (IR, IC, all conditions; per role), with the conflicting properties named when no value
  works.  A single condition has no exact counterpart there and gets the scan only.
* **Scan**: where the property holds on a dense scan (:data:`SCAN_POINTS` points over the
  chosen range, one numpy evaluation), each end refined by bisection between the last scan
  point where it holds and the first where it fails.  A piece narrower than one scan step
  can be missed, and an end is exact only to the bisection tolerance; it is fast enough to
  follow every slider move, and it cross-checks the exact answer on the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derelay.params import ParamValues

from . import spaces

SCAN_POINTS = 4001
BISECT_STEPS = 60


# ------------------------------------------------------------------------------------
# verdicts at one point
# ------------------------------------------------------------------------------------


@dataclass
class Verdicts:
    conditions: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    failing: list[str]
    equilibrium: bool
    tightest: float


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def role_margins(mechanism: Any, p: Any) -> list[tuple[str, str, str | None, Any, bool]]:
    """(role, "IR"|"IC", deviation, margin, strict) for every role and deviation.

    Works on floats and numpy grids alike (one utilities call)."""
    u = mechanism.utilities(p)
    out = []
    for role in mechanism.roles:
        un = u[role.abbr][role.normal.abbr]
        out.append((role.abbr, "IR", None, un, False))
        for d in role.deviations:
            out.append((role.abbr, "IC", d.abbr, un - u[role.abbr][d.abbr], bool(d.strict_ic)))
    return out


def _holds(margin: Any, strict: bool) -> Any:
    return margin > 0 if strict else margin >= 0


def verdicts(mechanism: Any, p: Any) -> Verdicts:
    """Every condition with its margin, IR and IC per role, the failing ones named."""
    conditions = []
    failing: list[str] = []
    for c in mechanism.conditions:
        holds = bool(c.holds(p))
        lhs = rhs = margin = math.nan
        rel = ""
        try:
            lhs_, rel, rhs_ = c.paper_form(p)
            lhs, rhs = _f(lhs_), _f(rhs_)
            margin = lhs - rhs
        except ZeroDivisionError:
            rel = "÷0"
        protects = f"{c.protects} {c.role}" + (f" vs {c.deviation}" if c.deviation else "")
        conditions.append(
            {
                "name": c.name,
                "equation": getattr(c, "equation", ""),
                "protects": protects,
                "exactness": getattr(c, "exactness", ""),
                "lhs": lhs,
                "relation": rel,
                "rhs": rhs,
                "margin": margin,
                "holds": holds,
                "description": getattr(c, "description", ""),
            }
        )
        if not holds:
            failing.append(c.name)
    roles: dict[str, dict[str, Any]] = {}
    tight = math.inf
    for role, kind, dev, m, strict in role_margins(mechanism, p):
        m = _f(m)
        ok = bool(_holds(m, strict))
        tight = min(tight, m)
        r = roles.setdefault(role, {"role": role, "ir": None, "ir_margin": None, "ic": []})
        if kind == "IR":
            r["ir"], r["ir_margin"] = ok, m
            if not ok:
                failing.append(f"IR {role}")
        else:
            r["ic"].append({"deviation": dev, "margin": m, "holds": ok, "strict": strict})
            if not ok:
                failing.append(f"IC {role} vs {dev}")
    role_rows = []
    for role in mechanism.roles:
        r = roles[role.abbr]
        r["name"] = role.name
        r["ic_ok"] = all(x["holds"] for x in r["ic"])
        role_rows.append(r)
    eq = all(r["ir"] and r["ic_ok"] for r in role_rows)
    return Verdicts(conditions, role_rows, failing, eq, tight)


# ------------------------------------------------------------------------------------
# properties on grids
# ------------------------------------------------------------------------------------


def property_names(mechanism: Any) -> list[str]:
    """The wanted properties the region map and the design scan offer."""
    names = ["all roles IR and IC", "all roles IR", "all roles IC"]
    names += [f"{r.abbr} IR and IC" for r in mechanism.roles]
    names += ["all conditions"] if mechanism.conditions else []
    names += [f"condition {c.name}" for c in mechanism.conditions]
    return names


def _parts(mechanism: Any, p: Any, want: str) -> list[tuple[str, Any, Any]]:
    """(label, holds array, margin array or None) of the properties ``want`` requires."""
    if want == "all conditions":
        out = []
        for c in mechanism.conditions:
            out.extend(_parts(mechanism, p, f"condition {c.name}"))
        return out
    if want.startswith("condition "):
        name = want.removeprefix("condition ")
        c = mechanism.condition(name)
        holds = np.asarray(c.holds(p), dtype=bool)
        try:
            lhs, _rel, rhs = c.paper_form(p)
            with np.errstate(all="ignore"):
                margin = np.asarray(lhs, dtype=float) - np.asarray(rhs, dtype=float)
        except ZeroDivisionError:
            margin = None
        return [(name, holds, margin)]
    roles = None
    kinds = {"IR", "IC"}
    if want == "all roles IR":
        kinds = {"IR"}
    elif want == "all roles IC":
        kinds = {"IC"}
    elif want.endswith(" IR and IC") and not want.startswith("all"):
        roles = {want.removesuffix(" IR and IC")}
    elif want != "all roles IR and IC":
        raise ValueError(f"unknown property {want!r}; allowed {property_names(mechanism)}")
    out = []
    with np.errstate(all="ignore"):
        for role, kind, dev, m, strict in role_margins(mechanism, p):
            if kind not in kinds or (roles is not None and role not in roles):
                continue
            label = f"IR {role}" if kind == "IR" else f"IC {role} vs {dev}"
            m = np.asarray(m, dtype=float)
            out.append((label, np.asarray(_holds(m, strict), dtype=bool), m))
    return out


def evaluate_property(mechanism: Any, p: Any, want: str, shape: tuple[int, ...]):
    """(holds, tightest margin) arrays of ``want`` on a grid of ``shape``."""
    holds = np.ones(shape, dtype=bool)
    margin = np.full(shape, np.inf)
    for _label, h, m in _parts(mechanism, p, want):
        holds &= np.broadcast_to(h, shape)
        if m is not None:
            margin = np.minimum(margin, np.broadcast_to(m, shape))
    margin = np.where(np.isfinite(margin), margin, np.nan)
    return holds, margin


@dataclass
class Region:
    x: str
    y: str
    xs: np.ndarray
    ys: np.ndarray
    holds: np.ndarray  # (ny, nx) bool
    margin: np.ndarray  # (ny, nx) float, nan outside the domain
    inside: np.ndarray  # (ny, nx) bool: inside every domain / cross constraint
    want: str

    @property
    def share(self) -> float:
        n = int(self.inside.sum())
        return float((self.holds & self.inside).sum() / n) if n else 0.0


def region(
    mechanism: Any,
    base: Mapping[str, Any],
    x: str,
    xr: tuple[float, float],
    y: str,
    yr: tuple[float, float],
    n: int = 120,
    want: str = "all roles IR and IC",
) -> Region:
    """``want`` over an n x n grid of (x, y) with every other parameter at ``base``.

    Grid points outside a domain or cross-constraint are masked (``inside`` False)."""
    if x == y:
        raise ValueError(f"the region map needs two different parameters (both are {x!r})")
    xs = np.linspace(float(xr[0]), float(xr[1]), n)
    ys = np.linspace(float(yr[0]), float(yr[1]), n)
    # validate the axis values one by one against their own domains (the grid helper
    # refuses out-of-domain values); cross constraints are masked point by point
    knobs = {k.name: k for k in spaces.knobs(mechanism)}
    for key, arr in ((x, xs), (y, ys)):
        dom = knobs[key].domain
        ok = np.ones(arr.shape, dtype=bool)
        for c in dom.constraints(arr):
            ok &= c
        if not ok.any():
            raise ValueError(
                f"parameter '{key}': range [{arr[0]:g}, {arr[-1]:g}] lies outside its domain "
                f"({dom.describe(key)})"
            )
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx)
    shape = gx.shape
    p = with_axes(mechanism, base, {x: gx.ravel(), y: gy.ravel()})
    inside = spaces.in_domain(mechanism, p, (gx.size,)).reshape(shape)
    with np.errstate(all="ignore"):
        holds, margin = evaluate_property(mechanism, p, want, (gx.size,))
    holds = holds.reshape(shape) & inside
    margin = np.where(inside, margin.reshape(shape), np.nan)
    return Region(x, y, xs, ys, holds, margin, inside, want)


def with_axes(mechanism: Any, base: Mapping[str, Any] | ParamValues, axes: Mapping[str, Any]):
    """The validated ``base`` point (a mapping, validated here, or an already validated
    :class:`~derelay.params.ParamValues`) with some keys replaced by arrays (or floats).

    The arrays are not validated here: :func:`spaces.in_domain` masks the points outside a
    domain or cross-constraint, so a map or scan may run up to a domain's edge."""
    p = base if isinstance(base, ParamValues) else spaces.validate(mechanism, base)
    values = dict(vars(p))
    values.update(
        {k: (np.asarray(v, dtype=float) if np.ndim(v) else float(v)) for k, v in axes.items()}
    )
    return type(p)(**values)


def _axis_ok(dom, arr):
    ok = np.ones(arr.shape, dtype=bool)
    for c in dom.constraints(arr):
        ok &= c
    return ok


# ------------------------------------------------------------------------------------
# the one-parameter design scan
# ------------------------------------------------------------------------------------


@dataclass
class Interval:
    lo: float
    hi: float
    lo_edge: bool  # the piece reaches the scan's lower end (may extend beyond)
    hi_edge: bool

    def text(self, key: str) -> str:
        lo = f"{self.lo:.6g}" + (" (scan start)" if self.lo_edge else "")
        hi = f"{self.hi:.6g}" + (" (scan end)" if self.hi_edge else "")
        return f"{lo} ≤ {key} ≤ {hi}"


@dataclass
class DesignScan:
    key: str
    want: str
    lo: float
    hi: float
    points: int
    intervals: list[Interval]
    conflict: list[dict[str, Any]] = field(default_factory=list)
    method: str = ""

    @property
    def status(self) -> str:
        return "region" if self.intervals else "empty"

    def summary(self) -> str:
        if self.intervals:
            return " ∪ ".join(i.text(self.key) for i in self.intervals)
        if not self.conflict:
            return f"no {self.key} in [{self.lo:g}, {self.hi:g}] gives '{self.want}'"
        parts = []
        for c in self.conflict:
            if c["intervals"]:
                where = " ∪ ".join(i.text(self.key) for i in c["intervals"])
                parts.append(f"{c['label']} needs {where}")
            else:
                parts.append(f"{c['label']} fails for every scanned {self.key}")
        return "conflict: " + "; ".join(parts) + f"; no {self.key} satisfies all"


def _pieces(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True."""
    if not mask.any():
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _bisect(pred, good: float, bad: float) -> float:
    """The boundary between ``good`` (pred True) and ``bad`` (False), as the last good."""
    for _ in range(BISECT_STEPS):
        mid = 0.5 * (good + bad)
        if mid in (good, bad):
            break
        if pred(mid):
            good = mid
        else:
            bad = mid
    return good


def design_scan(
    mechanism: Any,
    base: Mapping[str, Any],
    key: str,
    lo: float,
    hi: float,
    want: str = "all roles IR and IC",
    points: int = SCAN_POINTS,
) -> DesignScan:
    """Where ``want`` holds as ``key`` runs over [lo, hi], all else at ``base``."""
    knob = {k.name: k for k in spaces.knobs(mechanism)}[key]
    if not (lo < hi):
        raise ValueError(f"scan range for '{key}' must have lo < hi (got {lo:g}, {hi:g})")
    xs = np.linspace(lo, hi, points)
    if knob.kind == "int":
        xs = np.unique(np.round(xs))
    ok_axis = _axis_ok(knob.domain, xs)
    if not ok_axis.any():
        raise ValueError(
            f"parameter '{key}': range [{lo:g}, {hi:g}] lies outside its domain "
            f"({knob.domain.describe(key)})"
        )
    xs = xs[ok_axis]
    base = spaces.validate(mechanism, base)  # once: the bisection below evaluates often
    p = with_axes(mechanism, base, {key: xs})
    inside = spaces.in_domain(mechanism, p, xs.shape)
    with np.errstate(all="ignore"):
        parts = _parts(mechanism, p, want)
    allh = np.ones(xs.shape, dtype=bool)
    for _label, h, _m in parts:
        allh &= np.broadcast_to(h, xs.shape)
    allh &= inside

    def holds_at(labels: set[str] | None):
        def pred(v: float) -> bool:
            q = with_axes(mechanism, base, {key: np.array([v])})
            ok = bool(spaces.in_domain(mechanism, q, (1,))[0])
            with np.errstate(all="ignore"):
                qparts = _parts(mechanism, q, want)
            for label, h, _m in qparts:
                if labels is None or label in labels:
                    ok &= bool(np.asarray(h).ravel()[0])
            return ok

        return pred

    def intervals(mask: np.ndarray, pred) -> list[Interval]:
        out = []
        for a, b in _pieces(mask):
            x_lo, x_hi = float(xs[a]), float(xs[b])
            if knob.kind != "int":
                if a > 0:
                    x_lo = _bisect(pred, x_lo, float(xs[a - 1]))
                if b < len(xs) - 1:
                    x_hi = _bisect(pred, x_hi, float(xs[b + 1]))
            out.append(Interval(x_lo, x_hi, a == 0, b == len(xs) - 1))
        return out

    method = f"scan of {len(xs)} points over [{xs[0]:g}, {xs[-1]:g}]" + (
        "" if knob.kind == "int" else f", ends refined by {BISECT_STEPS}-step bisection"
    )
    res = DesignScan(key, want, float(xs[0]), float(xs[-1]), len(xs), [], [], method)
    res.intervals = intervals(allh, holds_at(None))
    if not res.intervals:
        res.conflict = _conflict(parts, inside, xs, intervals, holds_at)
    return res


def _conflict(parts, inside, xs, intervals, holds_at) -> list[dict[str, Any]]:
    """A small set of properties that cannot hold together on the scan: a property that
    never holds, else the first pair whose sets do not meet (else all of them)."""
    masks = [(label, np.broadcast_to(h, xs.shape) & inside) for label, h, _m in parts]
    for label, m in masks:
        if not m.any():
            return [{"label": label, "intervals": []}]
    for i in range(len(masks)):
        for j in range(i + 1, len(masks)):
            if not (masks[i][1] & masks[j][1]).any():
                return [
                    {"label": lab, "intervals": intervals(m, holds_at({lab}))}
                    for lab, m in (masks[i], masks[j])
                ]
    return [{"label": lab, "intervals": intervals(m, holds_at({lab}))} for lab, m in masks]


def exact_query(mechanism: Any, want: str) -> tuple[tuple[str, ...], list[str] | None] | None:
    """``(want, roles)`` of :func:`derelay.formal.design.design` for a page property, or
    ``None`` where it has no exact counterpart (a single condition)."""
    if want == "all roles IR and IC":
        return ("ir", "ic"), None
    if want == "all roles IR":
        return ("ir",), None
    if want == "all roles IC":
        return ("ic",), None
    if want == "all conditions":
        return ("conditions",), None
    if want.endswith(" IR and IC"):
        role = want.removesuffix(" IR and IC")
        if role in [r.abbr for r in mechanism.roles]:
            return ("ir", "ic"), [role]
    return None


def exact_design(mechanism: Any, base: Mapping[str, Any], key: str, want: str) -> dict[str, Any]:
    """The exact answer of ``derelay design`` (z3 + sympy, exact rationals) for one free
    parameter: ``status`` region / empty / unknown, with ``text`` in words."""
    q = exact_query(mechanism, want)
    if q is None:
        return {
            "status": "n/a",
            "text": "derelay design answers groups of properties (IR, IC, all conditions); "
            "this single condition has the scan only",
        }
    from derelay.formal.design import DesignError, design

    wants, roles = q
    try:
        res = design(mechanism, dict(base), [key], list(wants), roles, None)
    except (DesignError, ValueError) as exc:
        return {"status": "unknown", "text": str(exc).splitlines()[0]}
    status = res.get("status", "unknown")
    if status == "region":
        text = f"{res['region']['text']}"
    elif status == "empty":
        text = "conflict: " + res["conflict"]["text"]
    else:
        text = "unknown: " + str(res.get("reason", "z3/sympy could not decide"))
    return {"status": status, "text": text, "result": res}


__all__ = [
    "DesignScan",
    "Interval",
    "Region",
    "SCAN_POINTS",
    "Verdicts",
    "design_scan",
    "exact_design",
    "exact_query",
    "evaluate_property",
    "property_names",
    "region",
    "role_margins",
    "verdicts",
]
