"""Algorithm 1 (trainer selection by deposit bids), exactly as printed, under z3.

Algorithm 1 (Sec. III-C1): sort the bids in descending order; for ``i = 1 ..
Q_Selected - 1`` the i-th bidder is selected and deposits the (i+1)-th bid; the
``Q_Selected``-th bidder is selected and deposits *its own* bid (lines 9-10).  Ties
are broken by bidder index (a stable sort), which the paper leaves open.  Note the
consequences the printed algorithm has, which this module finds by search:

* it is not a second-price auction for the last winner (it pays its own bid), and
  the second-to-last winner pays the last winner's bid, not the first loser's;
* the deposit a winner pays is set by *another* bidder's bid, so a trainer whose own
  bid is an "effective deposit" (the simulation's ``V_Latest - V_Now + 1``, Sec.
  IV-(2)) may pay a deposit below the model's value, breaking T7 -- and then Not
  Training pays (eq. 35 vs. 32).

Model of a bidder
-----------------
Bidder ``i`` has a private version gap ``g_i = V_RecM - V^T_Now,i`` (its valuation
of the latest model is ``g_i * coin``); its truthful bid follows the simulation's
rule ``b_i = (g_i + 1) * coin`` (capped by nothing here).  Winning with deposit ``d``
gives the best of Table II's trainer utilities at ``v_now_t = v_rec - g_i``,
``b_t = d`` (a rational winner picks the best follow-up strategy: N, NTr or NBr);
losing gives 0.  All other parameters are the given point's.

Searches (z3, linear real/integer arithmetic because everything but the bids is fixed)
------------------------------------------------------------------------------------
1. *Profitable bid deviation*: gaps ``g`` (integers in ``[0, max_gap]``), others bid
   truthfully, bidder 0 bids ``b'`` with ``U_0(b') > U_0(truthful)``.
2. *T7 broken by the deposit*: truthful bids, a winner whose deposit ``d <= g coin``
   (T7 fails) and for whom Not Training beats Normal.

Each witness is replayed by :func:`algorithm1` (a plain Python transcription) and the
core's utilities with exact Fractions (``replayed_gain``).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from derelay.formal.symbolic import (
    DEFAULT_TIMEOUT,
    FormalError,
    base_fractions,
    fmt_fraction,
    fresh_context,
    limit,
    to_fraction,
    verdict,
    zval,
)
from derelay.mechanism import get_mechanism
from derelay.params import Params, ParamValues


def algorithm1(bids: list[Any], q_selected: int) -> tuple[list[int], list[Any]]:
    """Algorithm 1 as printed: (selected bidder indices in rank order, their deposits).

    Stable descending sort (ties by index).  With fewer bidders than slots every
    bidder is selected and the last one pays its own bid.
    """
    if q_selected < 1:
        raise FormalError(f"parameter 'q_selected' = {q_selected} is out of range: allowed >= 1")
    order = sorted(range(len(bids)), key=lambda i: (-bids[i], i))
    q = min(q_selected, len(bids))
    selected = order[:q]
    deposits = [bids[order[i + 1]] for i in range(q - 1)]  # lines 5-8
    if q:
        deposits.append(bids[order[q - 1]])  # lines 9-10: own bid
    return selected, deposits


def _bidder_point(point: dict[str, Fraction], gap, deposit) -> ParamValues:
    d = dict(point)
    d["v_now_t"] = d["v_rec"] - gap
    d["b_t"] = deposit
    return ParamValues(**d)


def winner_utilities(point: dict[str, Fraction], gap, deposit) -> dict[str, Any]:
    """Table II trainer utilities (core formulas) of a winner with ``gap`` and ``deposit``."""
    mech = get_mechanism()
    p = _bidder_point(point, gap, deposit)
    return {s.abbr: s.utility(p) for s in mech.role("T").strategies}


def _best(us: dict[str, Any]):
    return max(us.values())


def replay_outcome(point, gaps, bids, q_selected) -> dict[str, Any]:
    """Run Algorithm 1 and each winner's best response with exact Fractions."""
    sel, dep = algorithm1(bids, q_selected)
    out = {}
    for i in range(len(bids)):
        if i in sel:
            d = dep[sel.index(i)]
            us = winner_utilities(point, gaps[i], d)
            best = max(us, key=lambda k: (us[k], k == "N"))
            out[i] = {"deposit": d, "utilities": us, "best": best, "utility": us[best]}
        else:
            out[i] = {"deposit": None, "utilities": None, "best": None, "utility": Fraction(0)}
    return out


def _truthful(point, gap) -> Fraction:
    return (gap + 1) * point["coin"]


def _encode(point, n: int, q: int, gaps, bids):
    """z3 terms: each bidder's deposit and selection under Algorithm 1 (stable sort)."""
    ctx = gaps[0].ctx
    # rank_i = number of bidders ahead of i
    ahead = []
    for i in range(n):
        terms = []
        for j in range(n):
            if j == i:
                continue
            before = z3.Or(bids[j] > bids[i], z3.And(bids[j] == bids[i], z3.BoolVal(j < i, ctx)))
            terms.append(z3.If(before, 1, 0))
        ahead.append(z3.Sum(terms) if terms else z3.IntVal(0, ctx))
    qq = min(q, n)
    deposits, selected = [], []
    for i in range(n):
        sel = ahead[i] < qq
        # next-ranked bidder's bid: the bidder with rank ahead[i] + 1
        nxt = z3.RealVal(0, ctx)
        for j in range(n):
            if j != i:
                nxt = z3.If(ahead[j] == ahead[i] + 1, bids[j], nxt)
        dep = z3.If(ahead[i] == qq - 1, bids[i], nxt)
        deposits.append(dep)
        selected.append(sel)
    return selected, deposits


def _utility_terms(point, gap, deposit):
    ctx = gap.ctx
    return winner_utilities({k: zval(v, ctx) for k, v in point.items()}, z3.ToReal(gap), deposit)


def _zmax(xs):
    out = xs[0]
    for x in xs[1:]:
        out = z3.If(x > out, x, out)
    return out


def auction_search(
    params: Params | None = None,
    bidders: int = 4,
    slots: int | None = None,
    max_gap: int = 6,
    timeout: float = DEFAULT_TIMEOUT,
    deviant: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Search Algorithm 1 for profitable bids and T7-breaking deposits (z3).

    ``deviant`` is the index of the bidder who deviates (default: the last, who loses
    every tie under the index tie-break, so no gain comes from tie-breaking luck).
    """
    if not 2 <= bidders <= 8:
        raise FormalError(
            f"option 'bidders' = {bidders} is out of range: allowed 2 <= bidders <= 8"
        )
    params = params or Params()
    point = base_fractions(params)
    if slots is None:
        # Q_Selected = floor(B / b^MO) (line 3), at most the selection limit, and fewer
        # than the bidders so that someone loses
        b_mo = point["b_mo"]
        q_alg = int(Fraction(repr(float(params.mo_budget))) // b_mo) if b_mo > 0 else bidders
        slots = max(1, min(q_alg, int(params.selection_limit), bidders - 1))
    deviant = bidders - 1 if deviant is None else deviant
    if not 0 <= deviant < bidders:
        raise FormalError(
            f"option 'deviant' = {deviant} is out of range: allowed 0 <= deviant < {bidders}"
        )
    if not 1 <= slots <= bidders:
        raise FormalError(
            f"option 'slots' = {slots} is out of range: allowed 1 <= slots <= {bidders}"
        )
    t0 = time.perf_counter()
    info: dict[str, Any] = {
        "bidders": bidders,
        "slots": slots,
        "max_gap": max_gap,
        "truthful_bid": "(gap + 1) * coin (simulation rule, Sec. IV-(2))",
        "tie_break": "stable sort by bidder index",
        "deviant": deviant,
    }
    found: list[dict[str, Any]] = []
    # the search's terms live in a context of its own (never z3's global one), and every
    # solver below gets a translated copy in a further fresh context
    ctx = fresh_context()
    gaps = [z3.Int(f"gap_{i}", ctx) for i in range(bidders)]
    coin = zval(point["coin"], ctx)
    truthful = [coin * z3.ToReal(g + 1) for g in gaps]
    base_cons = [z3.And(g >= 0, g <= max_gap) for g in gaps]

    # -- 1. profitable bid deviation of bidder 0 ------------------------------------
    dv = deviant
    dev_bid = z3.Real(f"bid_{dv}", ctx)
    bids_dev = [dev_bid if i == dv else truthful[i] for i in range(bidders)]
    sel_t, dep_t = _encode(point, bidders, slots, gaps, truthful)
    sel_d, dep_d = _encode(point, bidders, slots, gaps, bids_dev)
    u_t = z3.If(sel_t[dv], _zmax(list(_utility_terms(point, gaps[dv], dep_t[dv]).values())), 0)
    u_d = z3.If(sel_d[dv], _zmax(list(_utility_terms(point, gaps[dv], dep_d[dv]).values())), 0)
    # ... and 1b. bid shading by a bidder who wins either way (pays less)
    searches = (
        ("bid_deviation_search", [], None),
        ("bid_shading_search", [sel_t[dv], sel_d[dv]],
         "bid shading (wins either way, deposits less)"),
    )  # fmt: skip
    for key, wins, label in searches:
        cons = [*base_cons, dev_bid >= 0, *wins, u_d > u_t]
        f = _Fresh(z3.Optimize, timeout)
        f.add(*cons)
        h = f.s.maximize(f.t(u_d - u_t))
        r = f.s.check()
        info[key] = verdict(r, "found", "none", "unknown")
        if r == z3.sat:
            g, b_dev, sup = _canonical_witness(point, cons, h, gaps, u_d - u_t, slots, dv,
                                               max_gap, timeout)  # fmt: skip
            e = _bid_entry(point, g, b_dev, slots, dv)
            e.update(sup)
            if label is not None:
                e["witness"]["search"] = label
            found.append(e)
    # -- 2. T7 broken by the deposit a winner pays (truthful bids) --------------------
    f2 = _Fresh(z3.Solver, timeout)
    s2 = f2.s
    f2.add(*base_cons)
    choices = []
    for i in range(bidders):
        us = _utility_terms(point, gaps[i], dep_t[i])
        broken = dep_t[i] <= coin * z3.ToReal(gaps[i])
        choices.append(z3.And(sel_t[i], broken, us["NTr"] > us["N"]))
    f2.add(z3.Or(*choices))
    r2 = s2.check()
    info["t7_break_search"] = verdict(r2, "found", "none", "unknown")
    if r2 == z3.sat:
        m = s2.model()
        g = [m.eval(f2.t(x), model_completion=True).as_long() for x in gaps]
        found.append(_t7_entry(point, g, slots))
    else:
        # T7 broken without Not Training paying at this point: show the outcome and
        # the training cost from which Not Training would pay for that winner
        f3 = _Fresh(z3.Solver, timeout)
        s3 = f3.s
        f3.add(*base_cons)
        f3.add(
            z3.Or(
                *[z3.And(sel_t[i], dep_t[i] <= coin * z3.ToReal(gaps[i])) for i in range(bidders)]
            )
        )
        if s3.check() == z3.sat:
            m = s3.model()
            g = [m.eval(f3.t(x), model_completion=True).as_long() for x in gaps]
            info["t7_broken_outcome"] = _t7_broken_info(point, g, slots)
    info["seconds"] = round(time.perf_counter() - t0, 4)
    return found, info


class _Fresh:
    """A solver in a fresh z3 context, fed translated copies of the query's terms.

    z3's search (and so an optimum's model, or whether an optimisation finishes within
    its limits) depends on the state of the context the terms live in; the global one
    carries every earlier query of the process.  Translating the query into a new
    context makes the answer a function of the query alone.
    """

    def __init__(self, kind, timeout: float):
        self.ctx = z3.Context()
        self.s = limit(kind(ctx=self.ctx), timeout)

    def t(self, e):
        return e.translate(self.ctx)

    def add(self, *es):
        self.s.add(*[self.t(e) for e in es])


def _canonical_witness(point, cons, h, gaps, objective, slots, dv, max_gap, timeout):
    """A witness of a maximised bid deviation that depends on the inputs only.

    z3's model of an optimum is any optimal point, and when the supremum is not attained
    (the deviant must bid *strictly* above a rival, who wins ties) any point close to
    it; which one it returns depends on the solver's history in the process.  Here the
    supremum is read from the objective, the gaps are fixed lexicographically smallest
    among those reaching it (within ``coin / 100`` when it is not attained), and the bid
    is the best of the candidate bids (0, each truthful bid, and each plus ``coin / 100``)
    by exact replay.  Returns ``(gaps, bid, {"gain_supremum", "supremum_attained"})``.
    """
    inf, val, eps = (to_fraction(v) for v in h.upper_values())
    sup_attained = eps == 0
    step = point["coin"] / 100
    target = val - (0 if sup_attained else step)
    fixed = []
    for g in gaps:
        for v in range(max_gap + 1):
            f = _Fresh(z3.Solver, timeout)
            f.add(*cons, *fixed, objective >= zval(target, objective.ctx), g == v)
            if f.s.check() == z3.sat:
                fixed.append(g == v)
                break
        else:  # unreachable when the optimum was found: keep the search's own answer
            raise FormalError("auction witness: no gap value reaches the optimum")
    gv = [int(str(f.arg(1))) for f in fixed]
    bids = [_truthful(point, x) for x in gv]
    cands = sorted({Fraction(0), *bids, *(b + step for b in bids)})
    base = replay_outcome(point, gv, bids, slots)[dv]["utility"]

    def gain(b):
        trial = [b if i == dv else x for i, x in enumerate(bids)]
        return replay_outcome(point, gv, trial, slots)[dv]["utility"] - base

    best = max(cands, key=lambda b: (gain(b), -b))
    return (
        gv,
        best,
        {
            "gain_supremum": float(val) if inf == 0 else float("inf"),
            "gain_supremum_exact": fmt_fraction(val),
            "supremum_attained": bool(sup_attained and inf == 0),
        },
    )


def _bid_entry(point, gaps, b_dev: Fraction, slots: int, dv: int = 0) -> dict[str, Any]:
    bids_t = [_truthful(point, g) for g in gaps]
    bids_d = [b_dev if i == dv else b for i, b in enumerate(bids_t)]
    rt = replay_outcome(point, gaps, bids_t, slots)
    rd = replay_outcome(point, gaps, bids_d, slots)
    gain = rd[dv]["utility"] - rt[dv]["utility"]
    fl = {k: float(v) for k, v in point.items()}
    rtf = replay_outcome(fl, gaps, [float(b) for b in bids_t], slots)
    rdf = replay_outcome(fl, gaps, [float(b) for b in bids_d], slots)
    return {
        "kind": "auction",
        "roles": ["T"],
        "gain": float(gain),
        "gain_exact": fmt_fraction(Fraction(gain)),
        "witness": {
            "search": "profitable bid deviation",
            "gaps": gaps,
            "truthful_bids": [float(b) for b in bids_t],
            "deviating_bidder": dv,
            "deviating_bid": float(b_dev),
            "deviating_bid_exact": fmt_fraction(b_dev),
            "slots": slots,
            "truthful": _describe(rt),
            "deviating": _describe(rd),
        },
        "replayed_gain": float(rdf[dv]["utility"] - rtf[dv]["utility"]),
    }


def _t7_entry(point, gaps, slots: int) -> dict[str, Any]:
    bids = [_truthful(point, g) for g in gaps]
    rt = replay_outcome(point, gaps, bids, slots)
    fl = {k: float(v) for k, v in point.items()}
    rtf = replay_outcome(fl, gaps, [float(b) for b in bids], slots)
    best_i, best_gain = None, None
    for i, o in rt.items():
        if o["deposit"] is None:
            continue
        g = o["utilities"]["NTr"] - o["utilities"]["N"]
        if (
            o["deposit"] <= gaps[i] * point["coin"]
            and g > 0
            and (best_gain is None or g > best_gain)
        ):
            best_i, best_gain = i, g
    if best_i is None:  # pragma: no cover - the solver's witness always replays
        raise FormalError("auction witness did not replay")
    fo = rtf[best_i]["utilities"]
    return {
        "kind": "auction",
        "roles": ["T"],
        "gain": float(best_gain),
        "gain_exact": fmt_fraction(Fraction(best_gain)),
        "witness": {
            "search": "deposit breaks T7 so Not Training pays",
            "gaps": gaps,
            "bids": [float(b) for b in bids],
            "slots": slots,
            "winner": best_i,
            "deposit": float(rt[best_i]["deposit"]),
            "model_value": float(gaps[best_i] * point["coin"]),
            "outcome": _describe(rt),
        },
        "replayed_gain": float(fo["NTr"] - fo["N"]),
    }


def _t7_broken_info(point, gaps, slots: int) -> dict[str, Any]:
    """An outcome where a winner's deposit breaks T7, and the training cost (via
    ``p_comp``) above which Not Training then beats Normal for that winner."""
    bids = [_truthful(point, g) for g in gaps]
    res = replay_outcome(point, gaps, bids, slots)
    for i, o in res.items():
        if o["deposit"] is not None and o["deposit"] <= gaps[i] * point["coin"]:

            def margin(pc, i=i, d=o["deposit"]):
                q = dict(point)
                q["p_comp"] = pc
                us = winner_utilities(q, gaps[i], d)
                return us["N"] - us["NTr"]

            c = Fraction(margin(Fraction(0)))
            a = Fraction(margin(Fraction(1))) - c
            thr = -c / a if a != 0 else None
            return {
                "gaps": gaps,
                "bids": [float(b) for b in bids],
                "winner": i,
                "deposit": float(o["deposit"]),
                "model_value": float(gaps[i] * point["coin"]),
                "ntr_gain_at_point": float(o["utilities"]["NTr"] - o["utilities"]["N"]),
                "ntr_pays_if_p_comp_above": None if thr is None else float(thr),
                "note": "T7 fails for this winner, yet Normal still beats Not Training at this "
                "point (T7 is sufficient, not necessary)",
            }
    return {}


def _describe(res) -> list[dict[str, Any]]:
    out = []
    for i, o in res.items():
        out.append(
            {
                "bidder": i,
                "selected": o["deposit"] is not None,
                "deposit": None if o["deposit"] is None else float(o["deposit"]),
                "best_strategy": o["best"],
                "utility": float(o["utility"]),
            }
        )
    return out


def brute_force_best_deviation(
    point, gaps, slots: int, candidates, deviant: int = 0
) -> tuple[Fraction, Any]:
    """Exhaustive check used by tests: best gain of ``deviant`` over candidate bids."""
    bids_t = [_truthful(point, g) for g in gaps]
    base = replay_outcome(point, gaps, bids_t, slots)[deviant]["utility"]
    best = (Fraction(0), None)
    for b in candidates:
        bids = [b if i == deviant else x for i, x in enumerate(bids_t)]
        u = replay_outcome(point, gaps, bids, slots)[deviant]["utility"]
        if u - base > best[0]:
            best = (u - base, b)
    return best


__all__ = [
    "algorithm1",
    "auction_search",
    "brute_force_best_deviation",
    "replay_outcome",
    "winner_utilities",
]
