"""What a mechanism is: declared roles, strategies and conditions plus formulas.

A mechanism is a swappable part.  DeRelayL (:mod:`derelay.mechanism.derelayl`) is one
implementation; related mechanisms (PoT, BRAIN, FLChain, DeepChain) plug in by
providing the same declarations.  Everything numeric is a plain function of an
attribute bag ``p`` so that floats, numpy grids and z3 terms share one formula.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ops import all_of

Formula = Callable[[Any], Any]

#: The shared vocabulary of deviation families.  Every strategy of every mechanism belongs
#: to one; an agent's persistent *type* is a family, and it plays its family's strategy in
#: whatever role it holds (Normal where the role has no strategy of that family).
FAMILIES: tuple[str, ...] = (
    "honest",
    "lazy",
    "poison",
    "withhold",
    "misreport",
    "lazy_eval",
    "malformed",
    "collude",
    "false_report",
    "skip_audit",
    "free_ride",
    "biased_data",
    "censor",
)
FAMILY_CODE: dict[str, int] = {f: i for i, f in enumerate(FAMILIES)}


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
    #: Deviation family (one of :data:`FAMILIES`); ``None``: "honest" for ``N``.
    family: str | None = None
    #: The switches the mechanism's round protocol reads for this strategy (ABM behaviour).
    behaviour: Mapping[str, Any] = field(default_factory=dict, compare=False)
    #: The utility is derived by derelay (the paper states none).
    derived: bool = False

    def __post_init__(self) -> None:
        if self.family is not None and self.family not in FAMILY_CODE:
            raise ValueError(
                f"strategy {self.role}.{self.abbr}: unknown family {self.family!r}; "
                f"families are {', '.join(FAMILIES)}"
            )

    @property
    def deviation_family(self) -> str:
        if self.family is not None:
            return self.family
        return "honest" if self.abbr == "N" else "misreport"

    @property
    def is_normal(self) -> bool:
        return self.deviation_family == "honest"


@dataclass(frozen=True)
class Role:
    abbr: str
    name: str
    description: str
    strategies: tuple[Strategy, ...]

    def __post_init__(self) -> None:
        normals = [s.abbr for s in self.strategies if s.is_normal]
        if len(normals) != 1:
            raise ValueError(
                f"role {self.abbr} must have exactly one honest (Normal) strategy, has {normals}"
            )

    @property
    def normal(self) -> Strategy:
        return next(s for s in self.strategies if s.is_normal)

    def for_family(self, family: str) -> Strategy:
        """The strategy an agent of ``family`` plays in this role (Normal if none)."""
        for s in self.strategies:
            if s.deviation_family == family:
                return s
        return self.normal

    def has_family(self, family: str) -> bool:
        return any(s.deviation_family == family for s in self.strategies)

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
    protects: str  # "IR", "IC" or "safety"
    deviation: str | None
    exactness: str  # "exact" (iff the property, given positive divisors) or "sufficient"
    strict: bool
    description: str
    holds: Formula = field(repr=False, compare=False)
    paper_form: Callable[[Any], tuple[Any, str, Any]] = field(repr=False, compare=False)
    #: Symbols the paper divides by in its printed form (domain problems if zero).
    divisors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """One of the paper's own formal statements: hypotheses => conclusion.

    The statement is over the mechanism's space point ``p`` plus bound variables ``v``
    (an attribute bag with one entry per name in ``bound``, each ranging over its
    :class:`~derelay.params.Domain`).  ``free`` names the space parameters that are
    universally quantified (``None``: every numeric parameter); the others stay at the
    base point.  ``prove`` answers proved (the negation is unsatisfiable), counterexample
    (a replayed witness) or unknown.

    Claims that are not first-order statements (a greedy algorithm against the optimum,
    a table against a rule) give ``evaluate(point_exact, **options) -> dict`` instead: the
    dict has ``status`` (proved, counterexample or unknown), ``witness`` (or ``None``)
    and any further fields worth reporting.
    """

    name: str
    source: str
    statement: str
    encoding: str
    hypotheses: Callable[[Any, Any], list] | None = field(default=None, repr=False, compare=False)
    conclusion: Callable[[Any, Any], Any] | None = field(default=None, repr=False, compare=False)
    bound: Mapping[str, Any] = field(default_factory=dict, compare=False)
    free: tuple[str, ...] | None = None
    evaluate: Callable[..., dict] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        symbolic = self.hypotheses is not None and self.conclusion is not None
        if symbolic == (self.evaluate is not None):
            raise ValueError(
                f"claim {self.name}: give hypotheses and conclusion, or evaluate (not both)"
            )

    @property
    def symbolic(self) -> bool:
        return self.evaluate is None


@dataclass(frozen=True)
class Funding:
    """Money per round in closed form: newly minted, and paid in from outside."""

    minted: Formula = field(repr=False, compare=False)
    external: Formula = field(repr=False, compare=False)
    description: str = ""


@dataclass(frozen=True)
class Erratum:
    """Something in the paper that is wrong or inconsistent, and what derelay does."""

    id: str
    where: str
    text: str


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
    """A complete mechanism plug-in: the declarations and the formulas.

    ``space`` (parameters), ``roles`` (strategies with utilities, families and
    behaviours), ``conditions``, ``claims``, ``funding``, ``protocol`` (import path
    ``"module:Class"`` of its ABM round protocol, loaded lazily), ``learning_mode``,
    ``finality``, ``errata`` and ``scopes`` (mechanism-specific deviation searches).
    The formulas evaluate floats, Fractions, numpy grids and z3 terms alike.
    """

    name: str = "mechanism"
    title: str = ""
    paper: str = ""
    space: Any = None  # derelay.space.ParamSpace
    roles: tuple[Role, ...] = ()
    conditions: tuple[Condition, ...] = ()
    claims: tuple[Claim, ...] = ()
    funding: Funding | None = None
    protocol: str | None = None
    learning_mode: str = "relay"  # relay | contest | wma | fedavg
    finality: str = "bft"  # forkable_pow | bft | committee
    errata: tuple[Erratum, ...] = ()
    scopes: Mapping[str, Callable[..., dict]] = {}

    def extras(self, p: Any) -> dict[str, Any]:
        """Mechanism-specific objects added to ``derelay check --json`` at point ``p``."""
        return {}

    def population(self, n_participants: int) -> dict[str, Any]:
        """The space values a population of ``n_participants`` sets.  By default the
        common space's ``n_participants`` alone; a mechanism whose parameters are coupled
        to the population (DeRelayL's miners) overrides this."""
        space = self.space
        return (
            {"n_participants": int(n_participants)}
            if space is not None and ("n_participants" in space)
            else {}
        )

    def claim(self, name: str) -> Claim:
        for c in self.claims:
            if c.name == name:
                return c
        raise KeyError(f"unknown claim {name!r}; claims are {[c.name for c in self.claims]}")

    def load_protocol(self) -> type:
        """The protocol class (imported on first use, so declarations stay light)."""
        if self.protocol is None:
            raise KeyError(f"mechanism {self.name} declares no round protocol")
        if not isinstance(self.protocol, str):
            return self.protocol
        import importlib

        module, _, attr = self.protocol.partition(":")
        return getattr(importlib.import_module(module), attr)

    def describe(self) -> dict[str, Any]:
        """The ``derelay mechanisms --json`` entry of this mechanism."""
        return {
            "name": self.name,
            "title": self.title,
            "paper": self.paper,
            "learning_mode": self.learning_mode,
            "finality": self.finality,
            "roles": [
                {
                    "abbr": r.abbr,
                    "name": r.name,
                    "strategies": [
                        {"abbr": s.abbr, "name": s.name, "family": s.deviation_family}
                        for s in r.strategies
                    ],
                }
                for r in self.roles
            ],
            "conditions": [
                {"name": c.name, "role": c.role, "protects": c.protects} for c in self.conditions
            ],
            "claims": [{"name": c.name, "source": c.source} for c in self.claims],
            "levers": list(self.space.levers) if self.space is not None else [],
        }

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
            un = u[r.normal.abbr]
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
