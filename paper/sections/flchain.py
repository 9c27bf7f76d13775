"""FLChain (Bao et al.): the closed form, the five claims, Tables IV-VI and the ABM.

A thin wrapper: everything is computed by
:func:`derelay.mechanisms.flchain.report.reproduce`; this module only turns its data into
the report's :class:`~paper.core.Claim`, :class:`~paper.core.Table` and
:class:`~paper.core.Erratum` objects.
"""

from __future__ import annotations

import math
from typing import Any

from ..core import Check, Claim, Erratum, Q, Section, Table

KEY = "flchain"
TITLE = "FLChain: auditable federated learning with trust and incentive (Bao et al.)"
ORDER = 230

CMD = "python -m derelay.mechanisms.flchain.report"

#: derelay's reading for each erratum (docs/flchain.md).
CHOICES = {
    "E1": "read p_max as PFT_max",
    "E2": "greedy with a re-scan (alg1.greedy), which always terminates",
    "E3": "read as a lower payout (the requirements that follow say so)",
    "E4": "IR is checked in the squared form K p_FLM RELY_j^2 / N >= c (condition DP_IR)",
    "E5": "the residue stays in FED and is reported (sale_residue)",
    "E6": "PAC and FED are separate accounts; derived compensation and refund rows",
    "E7": "Table IV is reported literally (table_iv) beside the lifetime payoffs (outcomes)",
    "E8": "both rules selectable (leader = max_rely | random_top)",
    "E9": "k_sales added; a row PAC cannot pay is reported as a shortfall",
}


def _q(d: dict[str, Any]) -> Q:
    v = d.get("value")
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        v = float("nan")
    fmt = "d" if isinstance(v, int) and not isinstance(v, bool) else ".4g"
    return Q(v, d.get("unit", ""), d.get("sample", ""), fmt)


def to_claim(c: dict[str, Any], number: int = 1, command: str | None = None) -> Claim:
    """One claim of ``reproduce()`` as a report :class:`Claim`.

    The report numbers claims C<k> (it sorts and checks them by that number): FLChain's
    become C<ORDER><k> (C23001 ...), with the claim's name in ``where``.  ``command``
    (default: the claim's own) is the exact command that reproduces its numbers.
    """
    return Claim(
        f"C{ORDER}{number:02d}",
        f"{c['id']} ({c['where']})",
        c["paper"],
        c["summary"],
        {k: _q(v) for k, v in c["measured"].items()},
        [Check(x["text"], x["holds"], x["evidence"], x["part"]) for x in c["checks"]],
        c["command"] if command is None else command,
    )


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        out.append({k: (", ".join(f"{x:.4g}" if x is not None else "-" for x in v)
                        if isinstance(v, list) else ("-" if v is None else v))
                    for k, v in r.items()})  # fmt: skip
    return out


def run(ctx) -> Section:
    from derelay.mechanisms.flchain import report as rep

    res = rep.reproduce(quick=ctx.quick)
    sec = Section(KEY, TITLE)
    a = res["abm"]
    sec.intro = (
        "Table IV implemented literally with the Table III flows as separate accounts "
        "(AUTH, PAC, FED; buyers from EXTERNAL); claims proved or refuted by z3 with "
        "replayed witnesses; Alg. 1 against the exact optimum; Tables V-VI on digits with "
        "{n4} and {n10} DPs; an ABM run of {agents} agents over {rounds} rounds with every "
        "deviation family ({disagree} sign disagreements between simulation and closed form)."
    )
    sec.values = {
        "n4": Q(4, "DPs", "Table V", "d"),
        "n10": Q(10, "DPs", "Table VI", "d"),
        "agents": Q(a["agents"], "agents", a["sample"], "d"),
        "rounds": Q(a["rounds"], "rounds", a["sample"], "d"),
        "disagree": Q(len(a["disagreements"]), "deviations", a["sample"], "d"),
    }
    t = res["tables"]
    sec.tables += [
        Table("Table IV at the defaults (one report per lifetime)",
              _rows(t["table_iv"]["defaults"]["rows"])),
        Table(f"Table IV at {t['table_iv']['uneven']['point']}",
              _rows(t["table_iv"]["uneven"]["rows"])),
        Table("Outcomes per scenario (Table III accounts), defaults",
              _rows(t["outcomes"]["defaults"])),
        Table("Table V (4 DPs): ours on digits vs the paper", _rows(t["table_v_rows"])),
        Table("Table VI (10 DPs): ours on digits vs the paper", _rows(t["table_vi_rows"])),
        Table("Cross-check: derelay.learning.federated_sanity in the same setting "
              "(no local validation part)", _rows(t["sanity_rows"])),
        Table("ABM: realised mean utility per role and strategy vs the closed form",
              _rows(a["utilities"])),
        Table("ABM: IC margins U_N - U_dev, simulated vs closed form", _rows(a["ic_margins"])),
        Table(f"ABM dynamics ({a['best_response']['setting']}): final DP strategy shares",
              [a["best_response"]["final_shares"]]),
    ]  # fmt: skip
    # the section's numbers come from reproduce(quick): its command is the paper's own
    cmd = "derelay paper --quick --only flchain" if ctx.quick else "derelay paper --only flchain"
    sec.claims += [to_claim(c, i + 1, cmd) for i, c in enumerate(res["claims"])]
    for e in res["errata"]:
        # the renderer orders errata by the number after "E": FLChain's E<k> becomes
        # E<ORDER><k> (E2301 ...) so it never collides with another section's
        num = int(e["id"][1:])
        sec.errata.append(
            Erratum(f"E{ORDER}{num:02d}", f"FLChain {e['id']}, {e['where']}", e["text"],
                    CHOICES.get(e["id"], ""), f"{CMD} --only claims")
        )  # fmt: skip
    return sec
