"""What a mechanism is: declared roles, strategies and conditions plus formulas.

A mechanism is a swappable part.  DeRelayL (:mod:`derelay.mechanism.derelayl`) is one
implementation; related mechanisms (PoT, BRAIN, FLChain, DeepChain) plug in by
providing the same declarations.  Everything numeric is a plain function of an
attribute bag ``p`` so that floats, numpy grids and z3 terms share one formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ops import all_of

Formula = Callable[[Any], Any]


@dataclass(frozen=True)
class Strategy:
    """One strategy of one role, with the paper equation of its utility."""

    role: str
    abbr: str
    name: str
    description: str
    equation: str
    utility: Formula = field(repr=False, compare=False)
    #: For a deviation: does the paper claim U_N > U_dev strictly (eqs. 85-99)?
    strict_ic: bool = True
    #: Paper equation of the IC comparison against Normal, if any.
    ic_equation: str | None = None

    @property
    def is_normal(self) -> bool:
        return self.abbr == "N"


@dataclass(frozen=True)
class Role:
    abbr: str
    name: str
    description: str
    strategies: tuple[Strategy, ...]

    @property
    def normal(self) -> Strategy:
        return next(s for s in self.strategies if s.is_normal)

    @property
    def deviations(self) -> tuple[Strategy, ...]:
        return tuple(s for s in self.strategies if not s.is_normal)

    def strategy(self, abbr: str) -> Strategy:
        for s in self.strategies:
            if s.abbr == abbr:
                return s
        raise KeyError(f"role {self.abbr} has no strategy {abbr!r}")


@dataclass(frozen=True)
class Condition:
    """A design condition (e.g. T1-T8) with what it protects.

    ``holds`` is the division-free form (exactly the protected property when the
    divisors are positive); ``paper_form`` returns (lhs, relation, rhs) exactly as the
    paper prints it, divisions included.
    """

    name: str
    equation: str
    appendix_equation: str
    role: str
    protects: str  # "IR" or "IC"
    deviation: str | None
    exactness: str  # "exact" (iff the property, given positive divisors) or "sufficient"
    strict: bool
    description: str
    holds: Formula = field(repr=False, compare=False)
    paper_form: Callable[[Any], tuple[Any, str, Any]] = field(repr=False, compare=False)
    #: Symbols the paper divides by in its printed form (domain problems if zero).
    divisors: tuple[str, ...] = ()


@dataclass
class Evaluation:
    """All utilities, conditions and verdicts at one point or a whole grid."""

    utilities: dict[str, dict[str, Any]]
    conditions: dict[str, Any]
    ir: dict[str, Any]
    ic: dict[str, Any]
    ic_weak: dict[str, Any]
    ic_deviations: dict[str, dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        return {
            "utilities": self.utilities,
            "conditions": self.conditions,
            "ir": self.ir,
            "ic": self.ic,
        }


class Mechanism:
    """Declared roles/strategies/conditions; the formulas evaluate any backend."""

    name: str = "mechanism"
    title: str = ""
    roles: tuple[Role, ...] = ()
    conditions: tuple[Condition, ...] = ()

    # -- lookup ---------------------------------------------------------------------
    def role(self, abbr: str) -> Role:
        for r in self.roles:
            if r.abbr == abbr:
                return r
        raise KeyError(f"unknown role {abbr!r}; roles are {[r.abbr for r in self.roles]}")

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        raise KeyError(f"unknown condition {name!r}")

    @property
    def strategies(self) -> dict[str, tuple[str, ...]]:
        return {r.abbr: tuple(s.abbr for s in r.strategies) for r in self.roles}

    # -- formulas ---------------------------------------------------------------------
    def utility(self, role: str, strategy: str, p: Any) -> Any:
        return self.role(role).strategy(strategy).utility(p)

    def utilities(self, p: Any) -> dict[str, dict[str, Any]]:
        return {r.abbr: {s.abbr: s.utility(p) for s in r.strategies} for r in self.roles}

    def ir_margin(self, role: str, p: Any) -> Any:
        """U_N (IR holds iff it is >= 0)."""
        return self.role(role).normal.utility(p)

    def ic_margin(self, role: str, deviation: str, p: Any) -> Any:
        """U_N - U_dev (IC against ``deviation`` holds iff > 0, or >= 0 if weak)."""
        r = self.role(role)
        return r.normal.utility(p) - r.strategy(deviation).utility(p)

    def ir(self, role: str, p: Any) -> Any:
        return self.ir_margin(role, p) >= 0

    def ic_against(self, role: str, deviation: str, p: Any, strict: bool | None = None) -> Any:
        dev = self.role(role).strategy(deviation)
        strict = dev.strict_ic if strict is None else strict
        m = self.ic_margin(role, deviation, p)
        return m > 0 if strict else m >= 0

    def ic(self, role: str, p: Any, strict: bool | None = None) -> Any:
        r = self.role(role)
        return all_of(*[self.ic_against(role, d.abbr, p, strict) for d in r.deviations])

    def evaluate(self, p: Any) -> Evaluation:
        utilities = self.utilities(p)
        conditions = {c.name: c.holds(p) for c in self.conditions}
        ir: dict[str, Any] = {}
        ic: dict[str, Any] = {}
        ic_weak: dict[str, Any] = {}
        ic_dev: dict[str, dict[str, Any]] = {}
        for r in self.roles:
            u = utilities[r.abbr]
            un = u["N"]
            ir[r.abbr] = un >= 0
            per = {}
            weak = []
            for d in r.deviations:
                diff = un - u[d.abbr]
                per[d.abbr] = diff > 0 if d.strict_ic else diff >= 0
                weak.append(diff >= 0)
            ic_dev[r.abbr] = per
            ic[r.abbr] = all_of(*per.values())
            ic_weak[r.abbr] = all_of(*weak)
        return Evaluation(utilities, conditions, ir, ic, ic_weak, ic_dev)
