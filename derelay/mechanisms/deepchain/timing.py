"""Table 4's time model (Sec. 6) as a function, checked against Fig. 9's totals.

    Time ≈ (#iteration / #period) * t_15_iteration
           + #share * (t_encrypt + t_uploadByParty + N t_downloadByWorker + N t_average
                       + t_uploadByWorker + N t_downloadByParty + t_decrypt)

The paper gives no value for any t_* (Table 4 only names them), so the check is what the
formula's *shape* implies: Time is affine in N, ``Time = A + B N`` with
``A = (#iteration/#period) t_15 + #share (t_enc + t_upP + t_upW + t_dec)`` and
``B = #share (t_dlW + t_avg + t_dlP)``.  :func:`fit_fig9` fits A and B to Fig. 9's seven
totals by least squares and reports the residuals, the monotonicity the text claims
("grows steadily") and what the fit says about the text's break-even "more than 1306
parties": with ``t_enc + t_dec <= A / #share`` and ``t_dlW + t_avg <= B / #share`` that
break-even is at most ``A / B`` parties unless ``t_downloadByParty`` carries most of B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Fig. 9 (Sec. 6): total time in seconds for E-4 ... E-10.
FIG_9: dict[int, float] = {
    4: 391_861.0,
    5: 392_359.0,
    6: 394_533.0,
    7: 394_287.0,
    8: 395_938.0,
    9: 397_252.0,
    10: 398_079.0,
}
#: Table 3 / Sec. 6: 1500 iterations, shared every 15 (#share = 100).
ITERATIONS = 1500
PERIOD = 15
SHARES = 100
#: The text's break-even party count.
BREAK_EVEN_TEXT = 1306


@dataclass(frozen=True)
class TimeVars:
    """Table 4's variables (seconds), each at N = 1."""

    t_15_iteration: float
    t_encrypt: float
    t_upload_by_party: float
    t_download_by_worker: float
    t_average: float
    t_upload_by_worker: float
    t_download_by_party: float
    t_decrypt: float


def total_time(
    n: float,
    t: TimeVars,
    iterations: int = ITERATIONS,
    period: int = PERIOD,
    shares: int | None = None,
) -> float:
    """Table 4's formula (Sec. 6)."""
    shares = iterations // period if shares is None else shares
    per_share = (
        t.t_encrypt
        + t.t_upload_by_party
        + n * t.t_download_by_worker
        + n * t.t_average
        + t.t_upload_by_worker
        + n * t.t_download_by_party
        + t.t_decrypt
    )
    return iterations / period * t.t_15_iteration + shares * per_share


def affine_coefficients(t: TimeVars, iterations=ITERATIONS, period=PERIOD, shares=None):
    """(A, B) with total_time(N) = A + B N."""
    a = total_time(0, t, iterations, period, shares)
    return a, total_time(1, t, iterations, period, shares) - a


def fit_fig9(points: dict[int, float] | None = None) -> dict:
    pts = FIG_9 if points is None else points
    ns = np.array(sorted(pts), dtype=float)
    ys = np.array([pts[int(n)] for n in ns])
    design = np.column_stack([np.ones_like(ns), ns])
    (a, b), *_ = np.linalg.lstsq(design, ys, rcond=None)
    fitted = a + b * ns
    resid = ys - fitted
    ss_tot = float(((ys - ys.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss_tot
    decreasing = [(int(ns[i]), int(ns[i + 1])) for i in range(len(ns) - 1) if ys[i + 1] < ys[i]]
    # t_enc + t_dec <= A / shares; t_dlW + t_avg <= B / shares  => break-even <= A / B,
    # and reaching 1306 needs t_dlW + t_avg <= A / (1306 shares), i.e. a share of B at most
    needed_share = float(a / BREAK_EVEN_TEXT / b)
    return {
        "intercept_s": float(a),
        "slope_s_per_party": float(b),
        "r2": r2,
        "max_abs_residual_s": float(np.abs(resid).max()),
        "residuals_s": {int(n): float(r) for n, r in zip(ns, resid, strict=True)},
        "per_share_slope_s": float(b / SHARES),
        "decreasing_steps": decreasing,
        "monotone": not decreasing,
        "break_even_upper_bound_parties": float(a / b),
        "break_even_text_parties": BREAK_EVEN_TEXT,
        "max_share_of_slope_from_download_and_average": needed_share,
        "relative_growth_4_to_10": float((pts[10] - pts[4]) / pts[4]),
    }


def check_model_against_fig9(t: TimeVars | None = None) -> dict:
    """Fit, then rebuild Fig. 9 from Table 4's function with variables consistent with the
    fit (the fitted A put on encryption/decryption, B on the per-party terms) and report
    the largest deviation of the function from the published totals."""
    fit = fit_fig9()
    if t is None:
        per_share_a = fit["intercept_s"] / SHARES
        per_share_b = fit["slope_s_per_party"] / SHARES
        t = TimeVars(
            t_15_iteration=0.0,
            t_encrypt=per_share_a / 2,
            t_upload_by_party=0.0,
            t_download_by_worker=per_share_b / 2,
            t_average=per_share_b / 2,
            t_upload_by_worker=0.0,
            t_download_by_party=0.0,
            t_decrypt=per_share_a / 2,
        )
    model = {n: total_time(n, t) for n in FIG_9}
    dev = {n: model[n] - FIG_9[n] for n in FIG_9}
    return {
        "fit": fit,
        "model_s": model,
        "deviation_s": dev,
        "max_relative_deviation": max(abs(v) / FIG_9[n] for n, v in dev.items()),
    }
