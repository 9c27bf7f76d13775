"""DeRelayL's own deviation searches, registered as scopes of its declaration.

``derelay deviations --mechanism derelayl --scope auction|lazy|coalition`` (and
:func:`derelay.formal.generic.deviations_mechanism`) call these with the exact point.
"""

from __future__ import annotations

from typing import Any


def _params_of(point: Any):
    from derelay.params import Params

    return Params(**{k: float(v) for k, v in vars(point).items()})


def _pick(opts: dict, *keys: str) -> dict:
    return {k: opts[k] for k in keys if opts.get(k) is not None}


def auction(point: Any, **opts: Any) -> dict:
    """Algorithm 1 (Sec. III-C1): profitable bids and T7-breaking deposits (z3)."""
    from derelay.formal.auction import auction_search

    found, info = auction_search(
        _params_of(point), **_pick(opts, "bidders", "slots", "deviant", "timeout")
    )
    return {"deviations": found, **info}


def lazy(point: Any, **opts: Any) -> dict:
    """C4: the luck p and the deposit at which a lazy (NTr) trainer gains."""
    from derelay.formal.deviations import lazy as search

    found, info = search(_params_of(point), **_pick(opts, "lazy_p", "citations", "timeout"))
    return {"deviations": found, **info}


def coalition(point: Any, **opts: Any) -> dict:
    """C8: the fork probability below which a TBM + SBM + T collusion pays."""
    from derelay.formal.deviations import coalition as search

    found, info = search(
        _params_of(point), **_pick(opts, "lazy_p", "fork_q", "citations", "timeout")
    )
    return {"deviations": found, **info}


def scenario(deviation: dict) -> str:
    """One line saying where a found deviation (an entry of a search's ``deviations``)
    pays, from its witness: the scenario column of ``derelay deviations``."""
    w = deviation["witness"]
    kind = deviation["kind"]
    if kind == "unilateral":
        if "parameter" not in w:
            return f"{w['deviation']} at the point"
        return (
            f"{w['deviation']}: {w['parameter']} {w['from']:.4g} -> {w['to']:.4g} "
            f"(break-even {w['break_even']:.4g})"
        )
    if kind == "lazy":
        return f"p={w['lazy_p']:.4g} > p*={w['p_star']:.4g}, b_t={w['b_t']:.4g}"
    if kind == "coalition":
        return f"fork q={w['fork_q']:.4g} < q*={w['q_star']:.4g}"
    return w["search"]
