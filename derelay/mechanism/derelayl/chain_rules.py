"""DeRelayL's block payloads, their builders and the validity rules honest nodes apply.

Part of DeRelayL's plug-in (the chain simulator :mod:`derelay.chain` is its forkable PoW
chain; :mod:`derelay.chain.rules` re-exports this module so its imports keep working).

Payload schemas (plain JSON-able dicts, so they hash canonically)
-----------------------------------------------------------------
DB (step 3)  ``{"contracts": [contract, ...], "broadcast": int}``
    contract = ``{"id", "round", "owner", "trainer", "owner_amount", "trainer_amount",
    "signed_by"}``; amounts are integer nano-coins; ``id`` is the digest of the terms
    (:func:`contract_id`); ``broadcast`` is how many contracts were broadcast and
    available to the miner.
EB (step 7)  ``{"public_key": str, "records": [{"owner", "trainer", "prev_hash", "new_hash"}]}``
TB (step 9)  ``{"test_commitment", "cases_digest", "n_cases", "encrypted": [{"trainer", "hash"}]}``
SB (step 11) ``{"performances": [{"trainer", "encrypted_hash", "performance"}],
    "ranking": [trainer, ...], "top_k": int}``

Validity rules (Table II deviations; a violated rule makes the block invalid)
----------------------------------------------------------------------------
PI   (DB) a contract is improper: its id does not match its terms, its round is not
     the block's round, owner == trainer, an amount is not a non-negative integer
     (negative, fractional or boolean), it is not signed by both parties, or it
     appears twice in the block.  A zero amount is proper: the paper's bidding rule
     (Sec. IV-A(2)) has a trainer bid min(coins, V_latest - V_now + 1), which is 0
     for a trainer without coins (every trainer of round 1), and an owner without
     coins deposits min(Budget_MO, coins) / limit = 0; such contracts are signed and
     broadcast like any other, so rejecting them would fork away honest DBs.
NPA  (DB) fewer contracts than were broadcast: *legal* (``Block.npa`` is set, the miner
     earns less through the revenue per deposit, eq. (4)); never a reason to reject.
NG   (EB) the FHE public key is not well formed (its checksum fails: a random number
     uploaded instead of a generated key, step 7).
step7 (EB) a record has Hash(M_prev) == Hash(M_new), names a (owner, trainer) pair
     without a deposit contract in this round's DB, or - when the owner's model was
     recorded in the previous round's EB on this chain - a ``prev_hash`` different
     from that recorded hash (step 7: "obtain Hash(M_{n-1}^j) from EB_{n-1}").
IT   (TB) improper test cases: no cases, or a commitment that is not
     SHA-256(PK_n : cases_digest), i.e. not bound to this round's FHE key - cases
     prepared before the models were fixed (challenge C7) - or encrypted-model
     hashes for trainers without an EB record (or listed twice).
IRa  (SB) the ranking is not the performances sorted in descending order (ties by
     trainer id), a performance is not finite, or a ranked model's encrypted hash is
     not the one committed in this round's TB (step 11's first verification).
context  the block's round lacks the ancestor block its rules refer to (e.g. a TB on
     a chain without this round's EB).

Homomorphic encryption itself is out of scope: ``fhe_keypair`` derives a key pair
whose public key carries a checksum so that well-formedness is checkable, and
``encrypted_model_hash`` stands for Hash(FHE(M)) (a keyed hash of the model hash).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from derelay.chain.blocks import sha256_hex

from .chain_blocks import BlockKind

VIOLATIONS = ("PI", "NG", "step7", "IT", "IRa", "context", "parent")
DEVIATION_OF_KIND = {
    BlockKind.DB: "PI",
    BlockKind.EB: "NG",
    BlockKind.TB: "IT",
    BlockKind.SB: "IRa",
}
_PK_PREFIX = "fhepk1:"


# --------------------------------------------------------------------- builders
# validation re-derives the ids the builder made; the chain simulator clears the cache when
# it prunes (ChainSimulator.prune), so it holds the contracts of a few recent rounds only
@functools.lru_cache(maxsize=1 << 16)
def contract_id(
    round_index: int, owner: int, trainer: int, owner_amount: int, trainer_amount: int
) -> str:
    # the canonical JSON of the integer list [round, owner, trainer, owner_amount,
    # trainer_amount], written directly (json's encoder costs ~4 us per contract)
    r, o, t = int(round_index), int(owner), int(trainer)
    return sha256_hex(f"[{r},{o},{t},{int(owner_amount)},{int(trainer_amount)}]")[:24]


def deposit_contract(
    round_index: int, owner: int, trainer: int, owner_amount: int, trainer_amount: int
) -> dict:
    """A deposit smart contract signed by model owner and trainer (step 2)."""
    return {
        "id": contract_id(round_index, owner, trainer, owner_amount, trainer_amount),
        "round": int(round_index),
        "owner": int(owner),
        "trainer": int(trainer),
        "owner_amount": int(owner_amount),
        "trainer_amount": int(trainer_amount),
        "signed_by": sorted({int(owner), int(trainer)}),
    }


def deposit_payload(contracts: Iterable[dict], broadcast: int | None = None) -> dict:
    """DB payload; ``broadcast`` defaults to the number packed (i.e. packs all)."""
    cs = list(contracts)
    return {"contracts": cs, "broadcast": len(cs) if broadcast is None else int(broadcast)}


def fhe_keypair(seed: int | str) -> tuple[str, str]:
    """A (secret, public) key pair; the public key is ``fhepk1:<body>:<checksum>``."""
    secret = sha256_hex(f"fhe-secret:{seed}")
    body = sha256_hex(f"fhe-public:{secret}")
    return secret, f"{_PK_PREFIX}{body}:{sha256_hex(body)[:8]}"


def fhe_key_valid(public_key: Any) -> bool:
    """Well-formedness of an FHE public key (NG check of step 7)."""
    if not isinstance(public_key, str) or not public_key.startswith(_PK_PREFIX):
        return False
    parts = public_key[len(_PK_PREFIX) :].split(":")
    return len(parts) == 2 and len(parts[0]) == 64 and sha256_hex(parts[0])[:8] == parts[1]


def model_record(owner: int, trainer: int, prev_hash: str, new_hash: str) -> dict:
    return {
        "owner": int(owner),
        "trainer": int(trainer),
        "prev_hash": str(prev_hash),
        "new_hash": str(new_hash),
    }


def encryption_payload(public_key: str, records: Iterable[dict]) -> dict:
    """EB payload: FHE public key and the records that passed step 7's hash check."""
    return {"public_key": public_key, "records": list(records)}


def encrypted_model_hash(public_key: str, model_hash: str) -> str:
    """Stand-in for Hash(FHE_PK(M)): a hash keyed by the round's public key."""
    return sha256_hex(f"fhe:{public_key}:{model_hash}")


def test_commitment(public_key: str, cases_digest: str) -> str:
    """Commitment binding this round's test cases to its FHE key (step 9, C7)."""
    return sha256_hex(f"cases:{public_key}:{cases_digest}")


def testing_payload(
    public_key: str, cases_digest: str, n_cases: int, encrypted: Iterable[dict]
) -> dict:
    """TB payload; ``encrypted`` lists ``{"trainer", "hash"}`` of Hash(FHE(M))."""
    return {
        "test_commitment": test_commitment(public_key, cases_digest),
        "cases_digest": str(cases_digest),
        "n_cases": int(n_cases),
        "encrypted": list(encrypted),
    }


# pytest would otherwise collect these two in any test module that imports them
test_commitment.__test__ = False  # type: ignore[attr-defined]
testing_payload.__test__ = False  # type: ignore[attr-defined]


def ranking_of(performances: Iterable[Mapping[str, Any]]) -> list[int]:
    """Trainers sorted by performance, descending; ties by trainer id."""
    rows = sorted(performances, key=lambda r: (-float(r["performance"]), int(r["trainer"])))
    return [int(r["trainer"]) for r in rows]


def settlement_payload(performances: Iterable[Mapping[str, Any]], top_k: int) -> dict:
    """SB payload with the correct ranking of verified performances (step 11)."""
    perf = [
        {
            "trainer": int(r["trainer"]),
            "encrypted_hash": str(r["encrypted_hash"]),
            "performance": float(r["performance"]),
        }
        for r in performances
    ]
    return {"performances": perf, "ranking": ranking_of(perf), "top_k": int(top_k)}


def corrupt(kind: BlockKind, payload: dict, rng: np.random.Generator | None = None) -> dict:
    """The dishonest version of an honest payload for ``kind`` (PI, NG, IT, IRa).

    PI packs a contract whose trainer is its owner; NG uploads a random number as the
    key; IT publishes cases whose commitment is not bound to the round's key; IRa
    reverses the ranking (or invents one when there is nothing to rank).
    """
    rng = rng or np.random.default_rng(0)
    p = dict(payload)
    kind = BlockKind(kind)
    if kind is BlockKind.DB:
        cs = list(p.get("contracts", []))
        bad = deposit_contract(-1, 0, 0, 1, 1)
        bad["round"] = cs[0]["round"] if cs else bad["round"]
        p["contracts"] = cs + [bad]
    elif kind is BlockKind.EB:
        p["public_key"] = f"{int(rng.integers(0, 2**62)):x}"
    elif kind is BlockKind.TB:
        p["test_commitment"] = sha256_hex(f"precomputed:{int(rng.integers(0, 2**62))}")
    else:
        ranking = list(p.get("ranking", []))
        p["ranking"] = ranking[::-1] if len(ranking) > 1 else [*ranking, -1]
    return p


# --------------------------------------------------------------------- validation
def _contract_ok(c: Any, round_index: int) -> bool:
    try:
        owner, trainer = int(c["owner"]), int(c["trainer"])
        oa, ta = c["owner_amount"], c["trainer_amount"]
        if not (type(oa) is int and type(ta) is int):  # bool (an int subclass) is improper
            return False
        return (
            int(c["round"]) == round_index
            and owner != trainer
            and oa >= 0  # zero is proper: the paper's bid min(coins, ...) is 0 without coins
            and ta >= 0
            and sorted(c["signed_by"]) == sorted({owner, trainer})
            and c["id"] == contract_id(round_index, owner, trainer, oa, ta)
        )
    except (KeyError, TypeError, ValueError):
        return False


def validate_payload(
    kind: BlockKind, round_index: int, payload: Mapping[str, Any], context: Mapping[str, Any]
) -> tuple[tuple[str, ...], bool]:
    """Return ``(violations, npa)`` of a payload given its chain ``context``.

    ``context`` maps ``"DB"/"EB"/"TB"`` to the payloads of this round's ancestors on
    the block's own chain and ``"prev_EB"`` to the previous round's EB payload (any
    may be missing).  An empty tuple means the block is valid by its own rules.
    """
    v: list[str] = []
    npa = False
    try:
        if kind is BlockKind.DB:
            cs = payload["contracts"]
            ids = [c.get("id") for c in cs] if isinstance(cs, list) else []
            if (
                not isinstance(cs, list)
                or len(set(ids)) != len(ids)
                or not all(_contract_ok(c, round_index) for c in cs)
            ):
                v.append("PI")
            npa = len(cs) < int(payload.get("broadcast", len(cs)))
        elif kind is BlockKind.EB:
            if not fhe_key_valid(payload.get("public_key")):
                v.append("NG")
            db = context.get("DB")
            if db is None:
                v.append("context")
            else:
                pairs = {(int(c["owner"]), int(c["trainer"])) for c in db["contracts"]}
                prev = {}
                pe = context.get("prev_EB")
                if pe is not None:
                    prev = {int(r["trainer"]): r["new_hash"] for r in pe["records"]}
                for r in payload["records"]:
                    o, t = int(r["owner"]), int(r["trainer"])
                    if (
                        r["prev_hash"] == r["new_hash"]
                        or (o, t) not in pairs
                        or (o in prev and prev[o] != r["prev_hash"])
                    ):
                        v.append("step7")
                        break
        elif kind is BlockKind.TB:
            eb = context.get("EB")
            if eb is None:
                v.append("context")
            else:
                trainers = {int(r["trainer"]) for r in eb["records"]}
                enc = [int(e["trainer"]) for e in payload["encrypted"]]
                if (
                    int(payload["n_cases"]) < 1
                    or payload["test_commitment"]
                    != test_commitment(eb["public_key"], payload["cases_digest"])
                    or len(set(enc)) != len(enc)
                    or not set(enc) <= trainers
                ):
                    v.append("IT")
        elif kind is BlockKind.SB:
            tb = context.get("TB")
            if tb is None:
                v.append("context")
            else:
                committed = {int(e["trainer"]): e["hash"] for e in tb["encrypted"]}
                perf = payload["performances"]
                ok = all(
                    math.isfinite(float(r["performance"]))
                    and committed.get(int(r["trainer"])) == r["encrypted_hash"]
                    for r in perf
                )
                if not ok or [int(x) for x in payload["ranking"]] != ranking_of(perf):
                    v.append("IRa")
        else:  # pragma: no cover - BlockKind is closed
            raise ValueError(kind)
    except (KeyError, TypeError, ValueError, AttributeError):
        v.append(DEVIATION_OF_KIND[kind])
    return tuple(dict.fromkeys(v)), npa


# --------------------------------------------------------------------- synthetic workload
class SyntheticWorkload:
    """Deterministic DeRelayL rounds for the standalone chain (no training).

    Round ``r`` has ``contracts`` deposit contracts between distinct participants drawn
    from SHAKE-256 of ``(seed, r)``, so every branch sees the same
    broadcast contracts (rival DBs pack the same deposits: the cross-branch "double
    spend" the simulator detects).  Model hashes are real SHA-256 digests of small
    per-round parameter vectors.  Dishonest miners submit :func:`corrupt` payloads.
    """

    def __init__(
        self,
        seed: int = 0,
        participants: int = 64,
        contracts: int = 4,
        deposit: int = 10**9,
        n_cases: int = 100,
        top_k: int = 2,
    ) -> None:
        self.seed = int(seed)
        self.participants = max(2, int(participants))
        self.n_contracts = min(int(contracts), self.participants // 2)
        self.deposit = int(deposit)
        self.n_cases = int(n_cases)
        self.top_k = int(top_k)
        self._rounds: dict[int, dict] = {}
        self._rng = np.random.default_rng([self.seed, 2**31])

    def round_data(self, r: int) -> dict:
        """Round ``r``'s broadcast contracts, model records and performances.

        Derived from SHAKE-256 of ``(seed, r)`` (cheap and identical on every branch and
        after cache eviction)."""
        d = self._rounds.get(r)
        if d is None:
            if len(self._rounds) > 256:
                self._rounds.clear()
            n, P = self.n_contracts, self.participants
            raw = hashlib.shake_256(f"workload:{self.seed}:{r}".encode()).digest(4 * (6 * n + 8))
            words = np.frombuffer(raw, dtype="<u4").astype(np.int64)
            # 2n distinct participants: hashed draws without repeats, then fill in order
            people = list(dict.fromkeys(int(w % P) for w in words[: 4 * n + 8]))[: 2 * n]
            if len(people) < 2 * n:
                taken = set(people)
                people += [x for x in range(P) if x not in taken][: 2 * n - len(people)]
            contracts, records, perfs = [], [], []
            for i in range(n):
                owner, trainer = people[2 * i], people[2 * i + 1]
                contracts.append(deposit_contract(r, owner, trainer, self.deposit, self.deposit))
                new_hash = sha256_hex(f"model:{self.seed}:{r}:{trainer}")
                prev_hash = sha256_hex(f"model:{self.seed}:{r - 1}:{owner}")
                records.append(model_record(owner, trainer, prev_hash, new_hash))
                perfs.append(float(words[4 * n + 8 + i]) / 2**32)
            d = {
                "contracts": contracts,
                "records": records,
                "perfs": perfs,
                "cases_digest": sha256_hex(f"cases:{self.seed}:{r}"),
            }
            self._rounds[r] = d
        return d

    def payload(
        self, kind: BlockKind, r: int, miner: int, honest: bool, context: Mapping[str, Any]
    ) -> dict:
        d = self.round_data(r)
        if kind is BlockKind.DB:
            p = deposit_payload(d["contracts"])
        elif kind is BlockKind.EB:
            p = encryption_payload(fhe_keypair(f"{self.seed}:{r}:{miner}")[1], d["records"])
        elif kind is BlockKind.TB:
            eb = context.get("EB")
            pk = eb["public_key"] if eb is not None else ""
            enc = [
                {"trainer": rec["trainer"], "hash": encrypted_model_hash(pk, rec["new_hash"])}
                for rec in (eb["records"] if eb is not None else [])
            ]
            p = testing_payload(pk, d["cases_digest"], self.n_cases, enc)
        else:
            tb = context.get("TB")
            enc = tb["encrypted"] if tb is not None else []
            perf = [
                {"trainer": e["trainer"], "encrypted_hash": e["hash"], "performance": d["perfs"][i]}
                for i, e in enumerate(enc[: len(d["perfs"])])
            ]
            p = settlement_payload(perf, self.top_k)
        return p if honest else corrupt(kind, p, self._rng)
