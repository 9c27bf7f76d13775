"""Blocks, canonical encoding and SHA-256 hashing (model parameters included).

A block's hash is SHA-256 over the canonical encoding (sorted-key, compact JSON)
of its header ``{kind, round, height, parent, miner, nonce, timestamp,
payload_digest}``, where ``payload_digest`` is the SHA-256 of the canonical
payload.  ``hash_model`` hashes model parameters (numpy arrays, torch tensors or
nested dicts/lists of them) canonically: dict keys sorted, arrays C-ordered and
little-endian, dtype and shape included, so equal parameters give equal hashes on
every platform and step (7)'s check Hash(M_prev) != Hash(M_new) is a real check.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

# DeRelayL's block kinds (its plug-in declares them; re-exported here)
from derelay.mechanism.derelayl.chain_blocks import KIND_INDEX, KIND_ORDER, BlockKind

__all__ = [
    "KIND_INDEX",
    "KIND_ORDER",
    "Block",
    "BlockKind",
    "PrunedPayload",
    "canonical_json",
    "digest",
    "hash_model",
    "make_block",
    "sha256_hex",
]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(obj: Any) -> str:
    """Sorted-key compact JSON; numpy scalars/arrays and enums converted first."""
    try:
        return _ENCODER.encode(obj)
    except (TypeError, ValueError):
        return _ENCODER.encode(_jsonable(obj))


def sha256_hex(data: str | bytes) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def digest(obj: Any) -> str:
    """SHA-256 hex of the canonical JSON encoding of ``obj``."""
    return sha256_hex(canonical_json(obj))


def _update_array(h: Any, arr: np.ndarray, label: str | None = None) -> None:
    a = np.ascontiguousarray(arr)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and not np.little_endian):
        a = a.astype(a.dtype.newbyteorder("<"))
    h.update(b"A")
    h.update((label or a.dtype.str.lstrip("<>|=")).encode())
    h.update(repr(tuple(a.shape)).encode())
    h.update(a.tobytes())


def _update(h: Any, obj: Any) -> None:
    if isinstance(obj, np.ndarray | np.generic):
        _update_array(h, np.asarray(obj))
        return
    mod = type(obj).__module__
    if mod.startswith("torch"):
        import torch  # lazily: torch is heavy and optional for hashing

        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous()
            if t.dtype == torch.bfloat16:
                _update_array(h, t.view(torch.int16).numpy(), label="bfloat16")
            else:
                _update_array(h, t.numpy())
            return
        if isinstance(obj, torch.nn.Module):
            _update(h, obj.state_dict())
            return
    if isinstance(obj, dict):
        h.update(b"D")
        h.update(str(len(obj)).encode())
        for k in sorted(obj, key=str):
            ks = str(k).encode()
            h.update(len(ks).to_bytes(8, "little") + ks)
            _update(h, obj[k])
        return
    if isinstance(obj, list | tuple):
        h.update(b"L")
        h.update(str(len(obj)).encode())
        for v in obj:
            _update(h, v)
        return
    if isinstance(obj, bool | int | float | str) or obj is None:
        s = canonical_json(obj).encode()
        h.update(b"S" + len(s).to_bytes(8, "little") + s)
        return
    raise TypeError(
        f"hash_model: cannot hash {type(obj).__name__}; pass numpy arrays, torch tensors "
        "or dicts/lists of them"
    )


def hash_model(obj: Any) -> str:
    """SHA-256 hex of model parameters in a canonical order and dtype encoding.

    Accepts a numpy array, a torch tensor, a ``torch.nn.Module`` (its state dict),
    or dicts/lists/tuples nesting them (dict keys sorted as strings).  The dtype,
    shape and little-endian bytes of every array enter the hash, so the float32
    and float64 versions of the same weights hash differently, while a permuted
    dict does not.

    >>> import numpy as np
    >>> hash_model({"b": np.zeros(2), "w": np.ones((2, 2))}) == hash_model(
    ...     {"w": np.ones((2, 2)), "b": np.zeros(2)})
    True
    """
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


class PrunedPayload(dict):
    """The stand-in of a pruned payload: empty, and any read of a key raises.

    A block's contents are pruned once finality makes them unnecessary
    (:meth:`ChainSimulator.prune`); a code path that still needed them would otherwise read
    an empty payload silently.
    """

    __slots__ = ("block_id", "digest")

    def __init__(self, block_id: int, digest: str) -> None:
        super().__init__()
        self.block_id = block_id
        self.digest = digest

    def _gone(self, key):
        raise KeyError(
            f"payload of block {self.block_id} was pruned (final and older than the "
            f"simulator's prune horizon); its digest {self.digest[:12]} is kept, not {key!r}"
        )

    def __getitem__(self, key):
        self._gone(key)

    def get(self, key, default=None):
        self._gone(key)

    def __reduce__(self):
        return (PrunedPayload, (self.block_id, self.digest))


@dataclass(eq=False, slots=True)
class Block:
    """One block.  ``valid`` means valid for an honest full node: the block obeys its
    kind's rules (:mod:`derelay.chain.rules`) *and* its parent chain is valid.

    ``id`` is the simulator's dense index (genesis is 0); ``parent`` is the parent's
    hash (``None`` for genesis).  ``violations`` names the rules broken (``"PI"``,
    ``"NG"``, ``"IT"``, ``"IRa"``, ``"step7"``, ``"context"``, ``"parent"``);
    ``npa`` marks a legal deposit block that left out broadcast deposits; ``reward``
    is its coinbase in nano-coins (:mod:`derelay.chain.rewards`; not hashed, derived).
    """

    kind: BlockKind | None
    round: int
    height: int
    parent: str | None
    miner: int
    payload: dict
    valid: bool
    hash: str
    timestamp: float
    id: int = -1
    parent_id: int = -1
    nonce: int = 0
    honest_miner: bool = True
    violations: tuple[str, ...] = field(default_factory=tuple)
    npa: bool = False
    reward: int = -1  # coinbase in nano-coins set by the simulator; -1: ledger's flat reward
    #: SHA-256 of the payload, kept when the payload is pruned (:meth:`prune_payload`)
    payload_digest: str | None = None

    def prune_payload(self) -> None:
        """Drop the payload's contents and keep its digest: the header, hence the hash and
        the hash chain, stay verifiable; reading the contents afterwards raises."""
        if isinstance(self.payload, PrunedPayload):
            return
        self.payload_digest = digest(self.payload)
        self.payload = PrunedPayload(self.id, self.payload_digest)

    def header(self) -> dict:
        return {
            "kind": None if self.kind is None else self.kind.value,
            "round": self.round,
            "height": self.height,
            "parent": self.parent,
            "miner": self.miner,
            "nonce": self.nonce,
            "timestamp": self.timestamp,
            "payload_digest": (
                self.payload_digest if self.payload_digest is not None else digest(self.payload)
            ),
        }

    def compute_hash(self) -> str:
        return digest(self.header())

    def to_dict(self) -> dict:
        return {
            **self.header(),
            "hash": self.hash,
            "valid": self.valid,
            "violations": list(self.violations),
            "payload": self.payload,
        }

    def __repr__(self) -> str:
        k = "GEN" if self.kind is None else self.kind.value
        return (
            f"Block({k} r={self.round} h={self.height} miner={self.miner} "
            f"valid={self.valid} {self.hash[:10]})"
        )


def make_block(
    kind: BlockKind | None,
    round_index: int,
    height: int,
    parent: Block | None,
    miner: int,
    payload: dict,
    timestamp: float,
    nonce: int,
) -> Block:
    """Create a block and compute its hash (validity is set by the caller)."""
    b = Block(
        kind=kind,
        round=int(round_index),
        height=int(height),
        parent=None if parent is None else parent.hash,
        miner=int(miner),
        payload=payload,
        valid=True,
        hash="",
        timestamp=float(timestamp),
        parent_id=-1 if parent is None else parent.id,
        nonce=int(nonce),
    )
    b.hash = b.compute_hash()
    return b
