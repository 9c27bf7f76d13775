"""Table II (gas per call, dollars per call and per phase) and the Sec. VII latency arithmetic.

Gas per request, from the contract's calls (Alg. 2, 3 and Sec. V-C):

* inference request: (1) ``push_prior``; (2)-a each of the Q_C committers calls
  ``verify_fast`` + ``commit_h`` and the quorum-completing commit also ``pop_prior``;
  (2)-b each of the Q_R revealers ``reveal_h`` (EXECUTE rides on the last reveal; its own
  gas depends on the user's target call and is not in Table II);
* training update: (1) SUGGEST ``push`` onto the circular FIFO queue; (2)-a as above with
  ``pop`` instead of ``pop_prior``; (2)-b as above.

Table II's per-phase rows are one transaction each: (1) = push_prior, (2)-a ("verify") =
verify_fast + COMMIT_H + pop_prior (the quorum-completing commit), (2)-b = REVEAL_H.
"""

from __future__ import annotations

from typing import Any

from .space import TABLE_II_GAS

#: Table II's printed dollar figures (average gas): (Ethereum, Polygon).
TABLE_II_USD: dict[str, tuple[float, float]] = {
    "verify": (32.504, 0.077),
    "verify_fast": (2.980, 0.007),
    "commit": (0.904, 0.002),
    "commit_h": (0.888, 0.002),
    "reveal": (1.723, 0.004),
    "reveal_h": (0.937, 0.002),
    "push": (1.015, 0.002),
    "pop": (0.574, 0.001),
    "push_prior": (1.813, 0.004),
    "pop_prior": (1.995, 0.005),
}
#: The per-phase rows of Table II: (Ethereum, Polygon) and the calls they add up.
TABLE_II_PHASES: dict[str, tuple[tuple[float, float], tuple[str, ...]]] = {
    "(1) push_prior": ((1.813, 0.004), ("push_prior",)),
    "(2)-a verify": ((5.863, 0.014), ("verify_fast", "commit_h", "pop_prior")),
    "(2)-b reveal": ((0.937, 0.002), ("reveal_h",)),
}
POLYGON_GWEI = 51.6  # Sec. VII-B (MATIC)


def gas_of(p: Any, call: str) -> float:
    return float(getattr(p, f"gas_{call}"))


def usd(gas: float, gwei: float, price: float) -> float:
    return gas * gwei * 1e-9 * price


def request_gas(p: Any, q_commit: int | None = None, q_reveal: int | None = None) -> dict:
    """Total gas (and USD at ``gas_price_gwei`` x ``eth_usd``) of one inference request and
    one training update, per phase, for Q_C committers and Q_R revealers."""
    qc = int(p.q_commit if q_commit is None else q_commit)
    qr = int(p.q_reveal if q_reveal is None else q_reveal)
    commit = gas_of(p, "verify_fast") + gas_of(p, "commit_h")
    reveal = gas_of(p, "reveal_h")
    out: dict[str, Any] = {"q_commit": qc, "q_reveal": qr}
    for kind, push, pop in (("inference", "push_prior", "pop_prior"), ("training", "push", "pop")):
        phases = {
            "request": gas_of(p, push),
            "commit": qc * commit + gas_of(p, pop),
            "reveal": qr * reveal,
        }
        total = sum(phases.values())
        out[kind] = {
            "phases_gas": phases,
            "total_gas": total,
            "total_usd": usd(total, float(p.gas_price_gwei), float(p.eth_usd)),
        }
    return out


def price_interval(column: int, gwei: float) -> tuple[float, float]:
    """The token prices at which every printed dollar figure of a Table II column is
    avg-gas x gwei x price rounded to 3 decimals (empty if lo > hi)."""
    lo, hi = 0.0, float("inf")
    for k, (_, _, avg) in TABLE_II_GAS.items():
        v = TABLE_II_USD[k][column]
        lo = max(lo, (v - 0.0005) / (avg * gwei * 1e-9))
        hi = min(hi, (v + 0.0005) / (avg * gwei * 1e-9))
    return lo, hi


def table_ii(p: Any, matic_usd: float | None = None) -> dict:
    """Table II recomputed: per call and per phase, printed vs recomputed, mismatches."""
    eth_lo, eth_hi = price_interval(0, float(p.gas_price_gwei))
    pol_lo, pol_hi = price_interval(1, POLYGON_GWEI)
    matic = (pol_lo + pol_hi) / 2 if matic_usd is None else matic_usd
    rows, mismatches = [], []
    for k, (gmin, gmax, avg) in TABLE_II_GAS.items():
        g = gas_of(p, k)
        eth = usd(g, float(p.gas_price_gwei), float(p.eth_usd))
        pol = usd(g, POLYGON_GWEI, matic)
        pe, pp = TABLE_II_USD[k]
        row = {
            "call": k,
            "gas_min": gmin,
            "gas_max": gmax,
            "gas_avg": avg,
            "usd_eth_printed": pe,
            "usd_eth": round(eth, 3),
            "usd_polygon_printed": pp,
            "usd_polygon": round(pol, 3),
            "min_le_avg_le_max": gmin <= avg <= gmax,
        }
        rows.append(row)
        if round(eth, 3) != pe or round(pol, 3) != pp or not row["min_le_avg_le_max"]:
            mismatches.append(row)
    phases = []
    for name, ((pe, pp), calls) in TABLE_II_PHASES.items():
        g = sum(gas_of(p, c) for c in calls)
        eth = round(usd(g, float(p.gas_price_gwei), float(p.eth_usd)), 3)
        pol = round(usd(g, POLYGON_GWEI, matic), 3)
        row = {
            "phase": name,
            "calls": list(calls),
            "gas": g,
            "usd_eth_printed": pe,
            "usd_eth": eth,
            "usd_polygon_printed": pp,
            "usd_polygon": pol,
        }
        phases.append(row)
        if eth != pe or pol != pp:
            mismatches.append(row)
    return {
        "rows": rows,
        "phases": phases,
        "eth_usd_interval": [eth_lo, eth_hi],
        "matic_usd_interval": [pol_lo, pol_hi],
        "matic_usd_used": matic,
        "mismatches": mismatches,
    }


#: Sec. VII-A's printed numbers.
LATENCY_PRINTED = {
    "block_interval_s": 12.06,
    "min_blocks": 2,
    "max_blocks": 23,
    "avg_blocks": 7.1653,
    "min_s": 24.12,
    "max_s": 277.38,
    "avg_s": 86.4135,
    "single_machine_avg_s": 18.5421,
    "overhead_s": 67.8714,
    "tasks_per_second_brain": 458.0193,
    "tasks_per_second_naive": 1.0079,
    "speedup": 454.4293,
    "freq": 0.0577,
    "freq_num": 5752729,
    "freq_den": 99638953,
    "timeout_blocks": 20,
    "timeout_minutes": 4,
    "tps": 1000,
    "tx_time_s": 0.001,
}


def latency() -> dict:
    """Sec. VII-A's arithmetic recomputed (each: printed, recomputed, agrees)."""
    p = LATENCY_PRINTED
    b = p["block_interval_s"]
    checks = {
        "min_s": (p["min_s"], round(p["min_blocks"] * b, 2), 2),
        "max_s": (p["max_s"], round(p["max_blocks"] * b, 2), 2),
        "avg_s": (p["avg_s"], round(p["avg_blocks"] * b, 4), 4),
        "overhead_s": (p["overhead_s"], round(p["avg_s"] - p["single_machine_avg_s"], 4), 4),
        "speedup": (
            p["speedup"],
            round(p["tasks_per_second_brain"] / p["tasks_per_second_naive"], 4),
            4,
        ),
        "freq": (p["freq"], round(p["freq_num"] / p["freq_den"], 4), 4),
        "timeout_minutes": (p["timeout_minutes"], round(p["timeout_blocks"] * b / 60, 0), 0),
        "tps": (p["tps"], round(1 / p["tx_time_s"]), 0),
        "p_elect_2^255": (0.5, 2**255 / 2**256, 3),
        "p_elect_2^253": (0.125, 2**253 / 2**256, 3),
    }
    return {
        k: {"printed": a, "recomputed": r, "agrees": round(a, d) == round(r, d)}
        for k, (a, r, d) in checks.items()
    }
