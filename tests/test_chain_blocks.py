"""Blocks, canonical hashing, hash_model and the validity rules of each block kind."""

from __future__ import annotations

import numpy as np
import pytest

from derelay.chain import (
    BlockKind,
    corrupt,
    deposit_contract,
    deposit_payload,
    digest,
    encrypted_model_hash,
    encryption_payload,
    fhe_key_valid,
    fhe_keypair,
    hash_model,
    model_record,
    settlement_payload,
    testing_payload,
    validate_payload,
)
from derelay.chain.blocks import make_block


def test_hash_model_canonical_order_dtype_and_torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.zeros(3, dtype=np.float32)
    h = hash_model({"w": w, "b": b})
    assert h == hash_model({"b": b, "w": w})  # key order does not matter
    assert h == hash_model({"w": torch.from_numpy(w), "b": torch.from_numpy(b)})
    assert h != hash_model({"w": w.astype(np.float64), "b": b})  # dtype matters
    assert h != hash_model({"w": w.reshape(3, 2), "b": b})  # shape matters
    assert hash_model(w) == hash_model(np.asfortranarray(w))  # memory layout does not
    assert hash_model(w) == hash_model(w.astype(">f4"))  # byte order does not
    w2 = w.copy()
    w2[0, 0] += 1e-6  # the "white noise" of a lazy trainer still changes the hash
    assert hash_model(w2) != hash_model(w)
    lin = torch.nn.Linear(3, 2)
    assert hash_model(lin) == hash_model(dict(lin.state_dict()))
    assert len(h) == 64 and int(h, 16) >= 0
    with pytest.raises(TypeError, match="cannot hash"):
        hash_model(object())


def test_block_hash_covers_header_and_payload():
    g = make_block(None, -1, 0, None, -1, {"genesis": True}, 0.0, 0)
    b1 = make_block(BlockKind.DB, 0, 1, g, 3, {"contracts": [], "broadcast": 0}, 1.5, 7)
    assert b1.hash == b1.compute_hash() and b1.parent == g.hash
    b2 = make_block(BlockKind.DB, 0, 1, g, 3, {"contracts": [], "broadcast": 1}, 1.5, 7)
    b3 = make_block(BlockKind.DB, 0, 1, g, 4, {"contracts": [], "broadcast": 0}, 1.5, 7)
    assert len({b1.hash, b2.hash, b3.hash}) == 3
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})


def _round(r=5, n=3):
    contracts = [deposit_contract(r, 10 + i, 20 + i, 100, 200) for i in range(n)]
    _, pk = fhe_keypair("k")
    recs = [model_record(10 + i, 20 + i, f"old{i}", hash_model(np.full(2, i))) for i in range(n)]
    enc = [
        {"trainer": rec["trainer"], "hash": encrypted_model_hash(pk, rec["new_hash"])}
        for rec in recs
    ]
    db = deposit_payload(contracts)
    eb = encryption_payload(pk, recs)
    tb = testing_payload(pk, "cases-digest", 100, enc)
    perf = [
        {"trainer": e["trainer"], "encrypted_hash": e["hash"], "performance": p}
        for e, p in zip(enc, [0.3, 0.9, 0.5], strict=True)
    ]
    sb = settlement_payload(perf, top_k=2)
    return r, db, eb, tb, sb


def test_honest_round_is_valid_and_ranking_sorted():
    r, db, eb, tb, sb = _round()
    assert validate_payload(BlockKind.DB, r, db, {}) == ((), False)
    assert validate_payload(BlockKind.EB, r, eb, {"DB": db}) == ((), False)
    assert validate_payload(BlockKind.TB, r, tb, {"EB": eb}) == ((), False)
    assert validate_payload(BlockKind.SB, r, sb, {"TB": tb}) == ((), False)
    assert sb["ranking"] == [21, 22, 20]


def test_each_deviation_is_detected():
    r, db, eb, tb, sb = _round()
    rng = np.random.default_rng(0)
    assert validate_payload(BlockKind.DB, r, corrupt(BlockKind.DB, db, rng), {})[0] == ("PI",)
    assert validate_payload(BlockKind.EB, r, corrupt(BlockKind.EB, eb, rng), {"DB": db})[0] == (
        "NG",
    )
    assert validate_payload(BlockKind.TB, r, corrupt(BlockKind.TB, tb, rng), {"EB": eb})[0] == (
        "IT",
    )
    assert validate_payload(BlockKind.SB, r, corrupt(BlockKind.SB, sb, rng), {"TB": tb})[0] == (
        "IRa",
    )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(owner_amount=-5),  # negative amount
        lambda c: c.update(trainer_amount=-1),  # negative amount
        lambda c: c.update(owner_amount=True),  # a bool is not an amount
        lambda c: c.update(trainer_amount=True),  # a bool is not an amount
        lambda c: c.update(trainer_amount=np.int64(200)),  # not a plain integer
        lambda c: c.update(trainer=c["owner"]),  # self-dealing
        lambda c: c.update(signed_by=[c["owner"]]),  # one signature missing
        lambda c: c.update(round=99),  # wrong round
        lambda c: c.update(trainer_amount=999),  # terms changed after signing (id mismatch)
        lambda c: c.update(owner_amount=1.5),  # not integer nano-coins
    ],
)
def test_pi_improper_contracts(mutate):
    r, db, *_ = _round()
    bad = dict(db["contracts"][0])
    mutate(bad)
    p = deposit_payload([bad, *db["contracts"][1:]])
    assert validate_payload(BlockKind.DB, r, p, {})[0] == ("PI",)


def test_contract_id_is_the_digest_of_the_canonical_terms():
    from derelay.chain.blocks import canonical_json, sha256_hex
    from derelay.chain.rules import contract_id

    for terms in ([5, 10, 20, 100, 200], [0, 0, 1, 0, 0], [-1, 3, 4, 10**15, 7]):
        assert contract_id(*terms) == sha256_hex(canonical_json(terms))[:24]


@pytest.mark.parametrize("amounts", [(0, 0), (0, 200), (100, 0)])
def test_zero_deposits_are_proper(amounts):
    """The paper's bid min(coins, V_latest - V_now + 1) is 0 for a trainer without
    coins, and an owner without coins deposits 0 (Sec. IV-A(2)): such a contract is
    proper, and a DB packing it is valid."""
    r, db, *_ = _round()
    zero = deposit_contract(r, 30, 31, *amounts)
    p = deposit_payload([*db["contracts"], zero])
    assert validate_payload(BlockKind.DB, r, p, {}) == ((), False)
    improper = dict(zero, owner_amount=-1)
    assert validate_payload(BlockKind.DB, r, deposit_payload([improper]), {})[0] == ("PI",)


def test_pi_duplicate_and_npa_is_legal():
    r, db, *_ = _round()
    dup = deposit_payload([db["contracts"][0], db["contracts"][0]])
    assert validate_payload(BlockKind.DB, r, dup, {})[0] == ("PI",)
    npa = deposit_payload(db["contracts"][:1], broadcast=3)
    assert validate_payload(BlockKind.DB, r, npa, {}) == ((), True)


def test_step7_hash_check_and_lineage():
    r, db, eb, *_ = _round()
    rec = dict(eb["records"][0])
    rec["new_hash"] = rec["prev_hash"]  # Hash(M_prev) == Hash(M_new): untrained model
    bad = encryption_payload(eb["public_key"], [rec, *eb["records"][1:]])
    assert validate_payload(BlockKind.EB, r, bad, {"DB": db})[0] == ("step7",)
    stranger = model_record(77, 78, "a", "b")  # no deposit contract for this pair
    bad2 = encryption_payload(eb["public_key"], [stranger])
    assert validate_payload(BlockKind.EB, r, bad2, {"DB": db})[0] == ("step7",)
    # lineage: owner 10 was recorded as trainer with hash H in the previous EB
    prev = encryption_payload(eb["public_key"], [model_record(1, 10, "x", "H")])
    assert validate_payload(BlockKind.EB, r, eb, {"DB": db, "prev_EB": prev})[0] == ("step7",)
    ok = dict(eb["records"][0], prev_hash="H")
    good = encryption_payload(eb["public_key"], [ok])
    assert validate_payload(BlockKind.EB, r, good, {"DB": db, "prev_EB": prev})[0] == ()
    assert validate_payload(BlockKind.EB, r, eb, {})[0] == ("context",)


def test_fhe_key_and_testing_rules():
    _, pk = fhe_keypair(1)
    assert fhe_key_valid(pk) and not fhe_key_valid(pk[:-1] + ("0" if pk[-1] != "0" else "1"))
    assert not fhe_key_valid(12345) and not fhe_key_valid("random")
    r, db, eb, tb, sb = _round()
    _, other = fhe_keypair(2)
    # cases committed to another key (prepared before the models were fixed): IT
    t2 = testing_payload(other, tb["cases_digest"], 100, tb["encrypted"])
    assert validate_payload(BlockKind.TB, r, t2, {"EB": eb})[0] == ("IT",)
    t3 = testing_payload(eb["public_key"], tb["cases_digest"], 0, tb["encrypted"])
    assert validate_payload(BlockKind.TB, r, t3, {"EB": eb})[0] == ("IT",)
    t4 = testing_payload(eb["public_key"], "d", 5, [{"trainer": 999, "hash": "h"}])
    assert validate_payload(BlockKind.TB, r, t4, {"EB": eb})[0] == ("IT",)


def test_settlement_rules():
    r, db, eb, tb, sb = _round()
    forged = dict(sb)
    forged["performances"] = [dict(sb["performances"][0], encrypted_hash="not-committed")]
    forged["ranking"] = [sb["performances"][0]["trainer"]]
    assert validate_payload(BlockKind.SB, r, forged, {"TB": tb})[0] == ("IRa",)
    nan = settlement_payload([dict(sb["performances"][0], performance=float("nan"))], 1)
    assert validate_payload(BlockKind.SB, r, nan, {"TB": tb})[0] == ("IRa",)
    assert validate_payload(BlockKind.SB, r, {"garbage": 1}, {"TB": tb})[0] == ("IRa",)


def test_block_kinds_are_derelayl_declaration():
    """The chain's block kinds are DeRelayL's: its plug-in declares them (MINER_BLOCK)."""
    from derelay.chain import KIND_ORDER
    from derelay.mechanism.derelayl import BLOCK_TERMS, MINER_BLOCK
    from derelay.mechanism.derelayl.chain_blocks import KIND_ORDER as OWN

    assert KIND_ORDER is OWN
    assert [k.value for k in KIND_ORDER] == list(MINER_BLOCK.values()) == list(BLOCK_TERMS)
