"""Proof of Training (issue 12): a thin wrapper around ``derelay.mechanisms.pot.report``.

Every number comes from :func:`derelay.mechanisms.pot.report.reproduce`; this module
only turns its data into the section's claims, tables and errata.
"""

from __future__ import annotations

import math

from ..core import Check, Claim, Erratum, Q, Section, Table

KEY = "pot"
TITLE = "Proof of Training (P. Li): derived utilities, claims, Table 6 and the ABM"
ORDER = 200


def _q(d: dict) -> Q:
    v = d["value"]
    return Q(math.nan if v is None else v, d["unit"], d["sample"], d["fmt"])


def run(ctx) -> Section:
    from derelay.mechanisms.pot.report import reproduce

    data = reproduce(quick=bool(ctx.quick))
    cmd = "derelay paper --only pot" + (" --quick" if ctx.quick else "")
    sec = Section(KEY, TITLE)
    sec.intro = (
        "The paper states no utilities and no theorem: every utility is derived "
        "(`derelay/mechanisms/pot/closed.py`, `docs/pot.md`). The ABM runs every PoT "
        "deviation family at once, an all-honest twin and a staged multisig takeover."
    )
    for c in data["claims"]:
        sec.claims.append(Claim(
            c["name"], c["where"], c["statement"], c["summary"],
            {k: _q(v) for k, v in c["measured"].items()},
            [Check(k["text"], k["holds"], k["evidence"], k["part"]) for k in c["checks"]],
            cmd,
            note=c["criterion"],
        ))
    t = data["tables"]
    sec.tables.append(Table("Table 6 reproduced (BSC, 4.562 Gwei, USD 246.2 per BNB)",
                            t["table6"], ".4g"))
    sec.tables.append(Table("Conditions at the defaults", t["conditions"]))
    sec.tables.append(Table("Closed form (unilateral deviation) against the ABM, coin per "
                            "play", t["closed_form_vs_abm"], ".3g"))
    sec.tables.append(Table("ABM per-round metrics (means)", t["abm_summary"], ".3g"))
    sec.tables.append(Table("All validators in one cluster: closed form and ABM against the "
                            "audit rate", t["cluster_vs_audit"], ".3g"))
    for i, e in enumerate(data["errata"], start=1):
        # the renderer numbers errata E<int>; PoT's are E201, E202, ... (PoT-E1, ...)
        sec.errata.append(Erratum(
            f"E{ORDER + i}", f"{e['id']}: {e['where']}", e["issue"], "derelay computes from the rows and reports both "
            "readings", cmd, {k: _q(v) for k, v in e.get("measured", {}).items()},
        ))
    return sec
