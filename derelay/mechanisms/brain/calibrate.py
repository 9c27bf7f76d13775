"""Feed the ABM's measured rates back into the closed form (as ``calibrate`` does for
DeRelayL): pi_N, pi_L, pi_St, pi_P (acceptance of decided suggestions per proposer
strategy), pi_Q (decided / suggested) and V_upd (accuracy points a CorrectAgg node gains
per merged update), pooled over the run's rounds."""

from __future__ import annotations

from typing import Any

import numpy as np

RATE_KEYS = {"pi_n": "honest", "pi_l": "lazy", "pi_stale": "stale", "pi_p": "poison"}


def measured_rates(res: Any) -> dict[str, float]:
    """The pooled rates of one run (NaN where the run has no such suggestion)."""
    r = res.rounds
    out: dict[str, float] = {}
    for key, name in RATE_KEYS.items():
        dec = float(r[f"n_decided_{name}"].sum())
        out[key] = float(r[f"n_accepted_{name}"].sum()) / dec if dec else float("nan")
    sug, dec = float(r.suggestions.sum()), float(r.decided.sum())
    out["pi_q"] = dec / sug if sug else float("nan")
    applied = float(r.applied_updates.sum())
    vu = np.nan_to_num(r.v_update_measured.to_numpy()) * r.applied_updates.to_numpy()
    out["v_update"] = float(vu.sum() / applied) if applied else float("nan")
    return out


def calibrated_point(mech: Any, res: Any, base: Any = None) -> Any:
    """``base`` (default: the run's parameters) with the measured rates that exist."""
    point = mech.space.validate(dict(base if base is not None else res.meta["config"]["params"]))
    rates = {k: v for k, v in measured_rates(res).items() if np.isfinite(v)}
    rates = {k: min(1.0, max(0.0, v)) if k != "v_update" else max(0.0, v) for k, v in rates.items()}
    return point.replace(**rates)
