"""Simulated average utility per (role, strategy) against Table II's closed form.

The ABM records, for every role play (an owner in a round, a matched trainer, the miner
of a block), the realised revenue, cost and utility plus the realised quantities that
the closed form depends on (deposit at stake, version gap, counts, selections); see
:mod:`derelay.model.record`.  :func:`compare_utilities` evaluates each strategy's
Table II utility - the mechanism core's own formula, never re-typed - at the *matching*
parameters (the run's parameters with the realised averages substituted) and reports
the Monte Carlo standard error of the simulated mean.

What is compared ("now" part).  Table II adds to the owner's and the trainer's
utility the discounted *future* citations (R_Future, eqs. 23 and 30), which a single
role play does not realise: in the simulation they arrive later, to the participant as
a predecessor owner, whatever role it then plays.  The matched closed form therefore
excludes them (beta = 0 for MO, Q^T_Selected = 0 for T); the realised stream of
predecessor citations is reported separately by :func:`future_citations`.

Matching parameters per strategy (means over the plays of that strategy):

* MO: Q_Selected = trainers matched, b^MO = deposit per trainer, Q^MO_Selected =
  selected children, s = deposit returned / deposit (the realised, deposit-weighted
  return rate, so that the expected-loss terms (1 - s) b are matched exactly);
* T: V_RecM - V_Now^T = gap closed, b^T = deposit, s = deposit returned / deposit;
* DBM: Q_Deposit (N) or Q_DepositLess (NPA) = contracts packed; EBM: Q_HashM and
  V_FHEM - V_Now^EBM; TBM: Q_EncryptedM; SBM: Q_VerifiedM.

Where the closed form's assumptions hold the two agree within Monte Carlo error (tests:
``tests/test_model_utilities.py``).  Known differences - findings, not bugs:

* Table II's trainer utilities presume a Normal owner: trainers of an NTm owner
  realise 0 (nothing received, deposit returned), so mixing them in biases U^T.
* Table II's trainer utilities assume training succeeds; with Pr_Training < 1 a Normal
  or NBr trainer realises (V_RecM - V_Now + Pr) (c) on average and still pays for
  training (the gap is (1 - Pr) (c) minus the saved encryption/broadcast costs).
* U^T_NTr omits encryption and broadcast, but a lazy trainer that wants its deposit
  back must broadcast; the ABM charges them.
* The paper's bid min(coins, V_latest - V_now + 1) makes b^T tiny for trainers with few
  coins, so T7 (b^T > (V_RecM - V_Now) (c)) fails for them and NTr/NBr can out-earn
  Normal - visible as a positive simulated U_NTr - U_N.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from derelay.mechanism import get_mechanism
from derelay.params import Params, as_values

NOTES = {
    ("T", "N"): "assumes training succeeds (Pr_Training = 1); future citations excluded",
    ("T", "NBr"): "assumes training succeeds (Pr_Training = 1)",
    ("T", "NTr"): "Table II omits the lazy trainer's encryption/broadcast costs",
    ("MO", "N"): "future citations excluded (beta = 0): the 'now' part of eq. 23",
}


def _matched(p: Params, role: str, strategy: str, q: dict[str, float]):
    """Parameter values at which the closed form is compared with the simulation."""
    v = as_values(p)
    if role == "MO":
        cnt = q["count"]
        v.q_selected = cnt
        v.b_mo = q["stake"] / cnt if cnt > 0 else 0.0
        v.q_selected_mo = q["selected"]
        # deposit-weighted return rate: Q_Selected (1 - s) b^MO is then exactly the
        # mean deposit lost
        v.s = q["returned"] / q["stake"] if q["stake"] > 0 else 0.0
        v.beta = 0.0
    elif role == "T":
        v.v_now_t = 0.0
        v.v_rec = q["gap"]
        v.b_t = q["stake"]
        v.s = q["returned"] / q["stake"] if q["stake"] > 0 else q["selected"]
        v.q_selected_t = 0.0
    elif role == "DBM":
        if strategy == "NPA":
            v.q_deposit_less = q["count"]
        else:
            v.q_deposit = q["count"]
    elif role == "EBM":
        v.q_hash_m = q["count"]
        v.v_now_ebm = 0.0
        v.v_fhem = q["gap"]
    elif role == "TBM":
        v.q_encrypted_m = q["count"]
    elif role == "SBM":
        v.q_verified_m = q["count"]
    return v


def compare_utilities(
    result: Any, params: Params | None = None, burn_in: int = 0, z_tol: float = 4.0
) -> pd.DataFrame:
    """Per (role, strategy): simulated mean utility, its SE and Table II's value.

    ``result`` is a :class:`derelay.model.RunResult` (or its ``utilities`` table, then
    pass ``params``).  Columns: role, strategy, plays, simulated, se, closed_form
    (matched parameters), closed_form_default (the run's parameters unchanged), diff,
    z, agrees (|z| <= z_tol, or |diff| < 1e-9 for deterministic utilities), note, and
    the matched quantities.
    """
    if isinstance(result, pd.DataFrame):
        util = result
        if params is None:
            raise ValueError("pass params when giving the utilities table directly")
    else:
        util = result.utilities
        params = params or result.model.cfg.params if result.model is not None else params
        if params is None:
            from .config import SimConfig

            params = SimConfig(**result.meta["config"]).params
    mech = get_mechanism("derelayl")
    u = util[util["round"] > burn_in]
    sums = u.groupby(["role", "strategy"], sort=True).sum(numeric_only=True)
    rows = []
    for (role, strat), s in sums.iterrows():
        n = float(s["n"])
        if n <= 0:
            continue
        mean = s["utility_sum"] / n
        var = max(s["utility_sq_sum"] / n - mean * mean, 0.0)
        # batch-means SE over rounds (plays within a round are correlated)
        per_round = u[(u["role"] == role) & (u["strategy"] == strat)]
        rm = per_round["utility_sum"] / per_round["n"]
        se_iid = math.sqrt(var / n)
        se_batch = float(rm.std(ddof=1) / math.sqrt(len(rm))) if len(rm) > 1 else se_iid
        se = max(se_iid, se_batch if np.isfinite(se_batch) else 0.0)
        q = {k: s[f"{k}_sum"] / n for k in ("stake", "gap", "count", "selected", "returned")}
        try:
            strategy = mech.role(role).strategy(strat)
        except KeyError:
            strategy = None
        if strategy is None:
            cf = cf0 = float("nan")
        else:
            cf = float(strategy.utility(_matched(params, role, strat, q)))
            cf0 = float(strategy.utility(params))
        diff = mean - cf
        deterministic = var < 1e-18
        z = diff / se if se > 0 else (0.0 if abs(diff) < 1e-9 else math.inf)
        agrees = bool(abs(diff) < 1e-9) if deterministic else bool(abs(z) <= z_tol)
        rows.append(
            {
                "role": role,
                "strategy": strat,
                "plays": int(n),
                "simulated": mean,
                "se": se,
                "closed_form": cf,
                "closed_form_default": cf0,
                "diff": diff,
                "z": z,
                "agrees": agrees,
                "note": NOTES.get((role, strat), ""),
                **{f"matched_{k}": v for k, v in q.items()},
            }
        )
    return pd.DataFrame(rows)


def future_citations(result: Any, burn_in: int = 0) -> pd.DataFrame:
    """Realised citations paid to predecessor owners (R_Future's realisation) per round."""
    r = result.rounds
    r = r[r["round"] > burn_in]
    n = result.meta["config"]["params"]["n_participants"]
    return pd.DataFrame(
        {
            "round": r["round"],
            "predecessor_citations": r["citation_predecessors"],
            "per_participant": r["citation_predecessors"] / n,
        }
    )
