"""Evaluate one parameter point: utilities, T1-T8, IR and IC (``derelay check``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .mechanism import get_mechanism
from .params import ParamValues, as_values, default_values

if TYPE_CHECKING:
    from .params import Params


def check_point(params: Params | None = None, mechanism: str = "derelayl") -> dict[str, Any]:
    """The ``derelay check --json`` object for one point (plain Python types);
    ``params=None`` is the default point (evaluated without building the pydantic model).

    Contract keys: ``utilities``, ``conditions``, ``ir``, ``ic``.  Extensions:
    ``ic_weak`` (U_N >= U_dev), ``ic_deviations`` (per deviation, strict),
    ``margins`` (U_N and U_N - U_dev), ``paper_forms`` (each condition as printed),
    ``failing`` (names of failing conditions / roles) and ``params``.
    """
    mech = get_mechanism(mechanism)
    dump = default_values() if params is None else params.model_dump()
    p = ParamValues(**dump) if params is None else as_values(params)
    ev = mech.evaluate(p)
    utilities = {r: {s: float(v) for s, v in d.items()} for r, d in ev.utilities.items()}
    conditions = {k: bool(v) for k, v in ev.conditions.items()}
    ir = {k: bool(v) for k, v in ev.ir.items()}
    ic = {k: bool(v) for k, v in ev.ic.items()}
    margins = {}
    for role in mech.roles:
        un = utilities[role.abbr]["N"]
        margins[role.abbr] = {"ir": un}
        for d in role.deviations:
            margins[role.abbr][f"ic_{d.abbr}"] = un - utilities[role.abbr][d.abbr]
    paper_forms = {}
    for c in mech.conditions:
        try:
            lhs, rel, rhs = c.paper_form(p)
            paper_forms[c.name] = {
                "lhs": float(lhs),
                "relation": rel,
                "rhs": float(rhs),
                "equation": c.equation,
            }
        except ZeroDivisionError:
            paper_forms[c.name] = {
                "lhs": None,
                "relation": None,
                "rhs": None,
                "equation": c.equation,
                "note": "division by zero",
            }
    return {
        "mechanism": mech.name,
        "utilities": utilities,
        "conditions": conditions,
        "ir": ir,
        "ic": ic,
        "ic_weak": {k: bool(v) for k, v in ev.ic_weak.items()},
        "ic_deviations": {
            r: {d: bool(v) for d, v in per.items()} for r, per in ev.ic_deviations.items()
        },
        "margins": margins,
        "paper_forms": paper_forms,
        "failing": {
            "conditions": [k for k, v in conditions.items() if not v],
            "ir": [k for k, v in ir.items() if not v],
            "ic": [k for k, v in ic.items() if not v],
        },
        "params": dump,
    }
