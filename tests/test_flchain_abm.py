"""FLChain's ABM round: Table III one test per row, PAC solvency, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from derelay.engine import RunConfig, run_simulation
from derelay.engine.ledger import ESCROW, EXTERNAL, MINT, to_nano
from derelay.mechanisms.flchain import FLCHAIN
from derelay.mechanisms.flchain import closed_form as cf

N = 48
#: every event of Table III happens: crypto checks and audits are certain
EVENTFUL = {
    "n_participants": N,
    "flm_lifetime": 3,
    "q_crypto": 1.0,
    "audit": 1.0,
    "q_sem": 1.0,
}
TYPES = {"malformed": 0.1, "biased_data": 0.1, "false_report": 0.2, "lazy": 0.1}


def _run(params=None, types=None, rounds=9, seed=0, options=None, **cfg):
    c = RunConfig(
        mechanism="flchain",
        params={**EVENTFUL, **(params or {})},
        types=TYPES if types is None else types,
        options={"learning": "off", "reporter_share": 0.25, **(options or {})},
        **cfg,
    )
    return run_simulation(c, rounds=rounds, seed=seed)


@pytest.fixture(scope="module")
def eventful():
    return _run()


def _kind(code: int, n: int, acct: dict[str, int]) -> str:
    if 0 <= code < n:
        return "participant"
    for name, idx in acct.items():
        if code == idx:
            return name
    return {EXTERNAL: "EXTERNAL", ESCROW: "ESCROW", MINT: "MINT"}.get(code, str(code))


#: Table III's parties as ledger ends: DP/RP/MDP/UQDP are participants, BUY pays from
#: EXTERNAL; the pre-frozen deposit (Register DP) and its forfeit sit in escrow.
PARTY = {
    "DP": "participant",
    "RP": "participant",
    "MDP": "participant",
    "UQDP": "participant",
    "DP_j": "participant",
    "BUY": "EXTERNAL",
    "PAC": "PAC",
    "FED": "FED",
    "AUTH": "AUTH",
}
ENDS = {
    "register_dp": ("participant", "ESCROW"),
    "forfeit": ("ESCROW", "PAC"),
    "uq_forfeit": ("ESCROW", "PAC"),
}


@pytest.mark.parametrize("row", cf.TABLE_III, ids=[r.key for r in cf.TABLE_III])
def test_table_iii_row(eventful, row):
    flows = eventful.flows
    acct = {a: N + i for i, a in enumerate(("AUTH", "PAC", "FED"))}
    sel = flows[flows["reason"].astype(str) == row.reason]
    assert len(sel) > 0, f"no flow for Table III row {row.key}"
    src, dst = ENDS.get(row.key, (PARTY[row.src], PARTY[row.dst]))
    kinds = {
        (_kind(int(s), N, acct), _kind(int(d), N, acct))
        for s, d in zip(sel["src"], sel["dst"], strict=True)
    }
    assert kinds == {(src, dst)}
    p = FLCHAIN.space.values(FLCHAIN.space.validate(EVENTFUL))
    if row.key == "profit_share":
        # p_FLM RELY_j^2 / N: the first lifetime's sales at RELY = rely0 = 1
        first = sel[sel["round"] == sel["round"].min()]
        sizes = {to_nano(p.p_flm / k) for k in range(1, p.fed_capacity + 1)}
        assert set(first["amount"].astype(int)) <= sizes
    else:
        assert set(sel["amount"].astype(int)) == {to_nano(row.amount(p))}


def test_report_moves_exactly_its_rows(eventful):
    f = eventful.flows
    reasons = f["reason"].astype(str)
    for event in ("Report misbehavior", "Report unqualified DP"):
        keys = [r.reason for r in cf.TABLE_III if r.event == event]
        counts = {k: int((reasons == k).sum()) for k in keys}
        assert len(set(counts.values())) == 1, counts  # one flow per row per report
    meta = eventful.meta["flchain"]
    assert meta["totals"]["reports_misbehaviour"] == counts_of(f, "forfeit")
    assert meta["totals"]["reports_unqualified"] == counts_of(f, "uq_forfeit")
    assert meta["totals"]["false_reports"] == counts_of(f, "false_report_fee") + counts_of(
        f, "false_uq_report_fee"
    )
    assert counts_of(f, "compensation") > 0 and counts_of(f, "block_reward") == 9


def counts_of(flows, key):
    return int((flows["reason"].astype(str) == f"flchain.{key}").sum())


def test_ledger_conserved_and_deterministic(eventful):
    again = _run()
    assert eventful.rounds.equals(again.rounds)
    assert eventful.flows.equals(again.flows)
    last = eventful.rounds.iloc[-1]
    assert last["total_coins_nano"] + last["escrow_nano"] == (
        last["minted_nano"] + last["external_nano"] - last["burned_nano"]
    )
    assert last["escrow_nano"] == 0  # every deposit refunded or forfeited at lifetime end


def test_pac_solvency_reporting():
    # r1 > d + f1: PAC cannot pay the reward and d - r1 < 0 (a negative row)
    bad = {"d": 2.0, "r1": 10.0, "f1": 1.0, "r2": 1.5, "f2": 1.0, "f_auth": 0.1}
    pt = FLCHAIN.space.values(FLCHAIN.space.validate({**EVENTFUL, **bad}))
    assert not FLCHAIN.condition("PAC_solvent").holds(pt)
    res = _run(bad, types={"malformed": 0.2})
    meta = res.meta["flchain"]
    assert meta["pac_solvent"] is False and meta["pac_shortfall"] > 0
    assert meta["totals"]["negative_rows"] >= 1
    assert res.rounds["pac_shortfall"].iloc[-1] == pytest.approx(meta["pac_shortfall"])
    assert (res.rounds["pac_balance"] >= 0).all()
    ok = _run(types={"malformed": 0.2})
    assert ok.meta["flchain"]["pac_solvent"] is True
    assert ok.meta["flchain"]["pac_shortfall"] == 0


def test_sale_residue_and_rely_update():
    # a lifetime with a report lowers the guilty DP's RELY, so later sales leave residue
    res = _run(
        {"flm_lifetime": 2, "q_sem": 0.5}, types={"lazy": 0.3}, rounds=12, options={"n_nodes": 4}
    )
    r = res.rounds
    assert r["mean_rely"].iloc[-1] < 1.0
    assert (r["sale_residue"].iloc[-1]) > 0  # sum RELY^2 / N < 1 after the update
    assert res.meta["flchain"]["sale_residue"] == pytest.approx(r["sale_residue"].iloc[-1])


def test_wrong_agg_leader_is_replaced_and_slashed():
    res = _run({"flm_lifetime": 2}, types={"misreport": 0.5}, rounds=4, options={"n_nodes": 9})
    f = res.flows
    t = res.meta["flchain"]["totals"]
    assert t["leader_replaced"] + t["wrong_accepted"] >= 1
    if t["leader_replaced"]:
        assert counts_of(f, "node_slash") == t["leader_replaced"]


def test_learning_abstract_every_family():
    fams = {
        "lazy": 0.1,
        "poison": 0.1,
        "malformed": 0.1,
        "biased_data": 0.05,
        "withhold": 0.05,
        "misreport": 0.05,
        "false_report": 0.05,
        "skip_audit": 0.05,
    }
    c = RunConfig(
        mechanism="flchain",
        params={"n_participants": 40, "flm_lifetime": 4, "remark": "contribution"},
        types=fams,
        options={"learning": "abstract"},
    )
    res = run_simulation(c, rounds=8, seed=2)
    assert np.isfinite(res.rounds["accuracy"].iloc[-1])
    u = res.utilities if hasattr(res, "utilities") else None
    assert u is None or len(u) > 0


def test_contribution_needs_learning():
    with pytest.raises(ValueError, match="'remark' = 'contribution' needs learning"):
        _run({"remark": "contribution"}, rounds=1)


def test_compare_metrics_and_compute_cap():
    res = _run(
        {"flm_lifetime": 2},
        types={"malformed": 0.2, "skip_audit": 0.2},
        rounds=4,
        options={"trainers_per_round": 8},
    )
    r = res.rounds
    assert (r["n_federations"] <= 2).all() and (r["training_jobs"] <= 8).all()
    assert (r["wasted_jobs"] <= r["training_jobs"]).all()
    assert r["deviant_actions"].sum() >= r["deviant_detected"].sum() > 0
    rates = res.model.protocol.measured_params()
    assert 0.0 <= rates["audit"] <= 1.0
    assert FLCHAIN.family_claims["false_report"] in {c.name for c in FLCHAIN.claims}


def test_rely_update_rule_proof_only():
    # one lifetime: RELY <- (1 - eta) RELY + eta remark, remark 0 for the guilty, else 1
    res = _run({"flm_lifetime": 3, "rely_eta": 0.25}, types={"malformed": 0.2}, rounds=3)
    proto = res.model.protocol
    members = np.flatnonzero(proto.fed_of >= 0)
    guilty = members[proto.guilty[members]]
    innocent = members[~proto.guilty[members]]
    assert guilty.size > 0 and innocent.size > 0
    assert np.allclose(proto.rely[guilty], 0.75) and np.allclose(proto.rely[innocent], 1.0)
    outside = np.setdiff1d(np.arange(N), members)
    assert np.allclose(proto.rely[outside], 1.0)  # nodes and reporters are not remarked


def test_same_data_as_the_other_mechanisms_and_sold_accuracy():
    """Common random numbers (issue 16): FLChain's learning comes from the shared "data"
    stream, so its shards and genesis are BRAIN's and DeepChain's for the same seed (it
    used its own "learn" stream before and trained on other data).  ``sold_accuracy`` is
    the accuracy of the FLMs sold at the latest lifetime end (NaN before the first sale);
    ``accuracy`` restarts with the next lifetime's fresh FLMs (Alg. 2: each FLM from W_0)."""
    pytest.importorskip("torch")
    from derelay.engine import build_model

    def backend(mech, attr, **params):
        m = build_model(
            RunConfig(
                mechanism=mech,
                params={"n_participants": 24, **params},
                options={"learning": "torch"},
                flows="off",
                mesa_agents=False,
            ),
            seed=5,
        )
        return m, getattr(m.protocol, attr)

    fm, fl = backend("flchain", "learning", flm_lifetime=3)  # two sales in 6 rounds
    _, br = backend("brain", "learn")
    _, dc = backend("deepchain", "learn")
    g = [b.hashes([b.genesis()])[0] for b in (fl, br, dc)]
    assert g[0] == g[1] == g[2]
    assert all(np.array_equal(fl.data.shard(i), br.data.shard(i)) for i in range(24))
    for _ in range(6):
        fm.step()
    r = fm.recorder.rounds_frame()
    assert r.sold_accuracy.iloc[:2].isna().all()
    assert r.sold_accuracy.iloc[2] == pytest.approx(r.accuracy.iloc[2])
    assert (r.sold_accuracy.iloc[3:5] == r.sold_accuracy.iloc[2]).all()
    assert r.sold_accuracy.iloc[5] == pytest.approx(r.accuracy.iloc[5])
