"""Round metrics every mechanism's rounds table carries (computed once, here).

* ``gini_coins``: Gini of the participants' balances.  Every round up to
  :data:`GINI_EVERY_ROUND_MAX` participants; above it every :data:`GINI_EVERY` rounds (and
  NaN in between, so plots draw the recorded points only), because the sort it needs costs
  more than the rest of a large round.
* ``share_N`` / ``share_N_min`` / ``share_normal``: the mean and the minimum over roles of
  the share of agents whose strategy in that role is the honest (Normal) one
  (``share_normal`` = ``share_N_min``), the same definition as the sweep's ``abm`` kind.
"""

from __future__ import annotations

import numpy as np

GINI_EVERY_ROUND_MAX = 20_000
GINI_EVERY = 10


_RANK_WEIGHTS: dict[int, np.ndarray] = {}


def _rank_weights(n: int) -> np.ndarray:
    """2 i - n - 1 for i = 1..n (float64), cached per size (the same values each call)."""
    w = _RANK_WEIGHTS.get(n)
    if w is None:
        i = np.arange(1, n + 1, dtype=np.float64)
        w = 2 * i - n - 1
        if len(_RANK_WEIGHTS) > 16:
            _RANK_WEIGHTS.clear()
        _RANK_WEIGHTS[n] = w
    return w


def gini(values: np.ndarray, is_sorted: bool = False) -> float:
    """Gini coefficient of non-negative values (0: equal; -> 1: one holds everything).
    ``is_sorted``: ``values`` are in ascending order already (e.g. integer balances
    sorted before their conversion: the same floats in the same order)."""
    a = np.array(values, dtype=np.float64)  # a copy, sorted in place
    if not is_sorted:
        a.sort()
    n = a.size
    total = np.add.reduce(a, axis=None)
    if n == 0 or total <= 0:
        return 0.0
    return float(np.add.reduce(_rank_weights(n) * a, axis=None) / (n * total))


def gini_due(n: int, round_: int) -> bool:
    return n <= GINI_EVERY_ROUND_MAX or round_ % GINI_EVERY == 0


def normal_shares(shares: dict[str, float], normals: dict[str, str]) -> dict[str, float]:
    """share_N, share_N_min, share_normal from ``share_<role>_<strategy>`` values."""
    vals = [shares.get(f"share_{r}_{a}", 0.0) for r, a in normals.items()]
    if not vals:
        return {}
    mn = float(min(vals))
    return {"share_N": float(np.mean(vals)), "share_N_min": mn, "share_normal": mn}


def standard_columns(model, sorted_coins: np.ndarray | None = None) -> dict[str, float]:
    """The columns above for ``model`` at the end of its current round.
    ``sorted_coins``: the participants' balances in ascending order, if the caller has
    them (no second sort)."""
    n = model.n
    out: dict[str, float] = {}
    lg = model.ledger
    if gini_due(n, model.round):
        # without overdrafts no balance is negative: the clip would be the identity
        if lg.allow_overdraft:
            out["gini_coins"] = gini(np.maximum(lg.coins[:n], 0))
        elif sorted_coins is not None:
            out["gini_coins"] = gini(sorted_coins, is_sorted=True)
        else:
            out["gini_coins"] = gini(lg.coins[:n])
    else:
        out["gini_coins"] = float("nan")
    # the normal shares change only when the strategy shares do (a cached dict per
    # profile): computed once per profile, not once per round
    shares = model.strategy_shares()
    cache = getattr(model, "_normal_shares_cache", None)
    if cache is None or cache[0] is not shares:
        normals = {r.abbr: r.normal.abbr for r in model.mechanism.roles}
        cache = (shares, normal_shares(shares, normals))
        model._normal_shares_cache = cache
    out.update(cache[1])
    return out
