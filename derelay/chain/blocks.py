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
    #: the payload digest the hash committed to when the block was made (so freezing need
    #: not re-encode the payload; :meth:`compute_hash` still re-digests a live payload)
    committed_digest: str | None = field(default=None, repr=False)

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
    header = b.header()
    b.committed_digest = header["payload_digest"]
    b.hash = digest(header)
    return b


class BlockStore:
    """The simulator's blocks: live :class:`Block` objects, and *frozen* ones as columns.

    A block finality makes unnecessary is frozen (:meth:`freeze`): its Python object and
    payload go, and what stays is its header (kind, round, height, parent id, miner, nonce,
    timestamp, the payload's SHA-256), its own SHA-256 and what the metrics read (valid,
    honest miner, NPA, violations, coinbase) - about 120 bytes of numpy columns instead of
    about 600 bytes of Python objects, so memory per block stays small and constant.
    Reading a frozen block (``store[i]``) rebuilds an equal :class:`Block` whose payload is
    a :class:`PrunedPayload`; its :meth:`Block.compute_hash` is the stored hash, so the
    whole hash chain stays verifiable (:meth:`verify`).

    Behaves as a read-only sequence of blocks (``len``, indexing, slicing, iteration) with
    ``append``.
    """

    _COLS = (
        ("round", np.int64, 0),
        ("kind", np.int8, -1),
        ("height", np.int64, 0),
        ("parent", np.int64, -1),
        ("miner", np.int64, -1),
        ("nonce", np.int64, 0),
        ("t", np.float64, 0.0),
        ("valid", np.bool_, False),
        ("honest", np.bool_, True),
        ("npa", np.bool_, False),
        ("viol", np.int16, 0),
        ("coinbase", np.int64, -1),
    )

    def __init__(self, kinds: tuple = KIND_ORDER) -> None:
        self.kinds = tuple(kinds)
        self._code = {k: i for i, k in enumerate(self.kinds)}
        self._objs: list[Block | None] = []
        self._cap = 0
        self._col: dict[str, np.ndarray] = {n: np.zeros(0, d) for n, d, _ in self._COLS}
        self._hash = np.zeros((0, 32), dtype=np.uint8)
        self._pdig = np.zeros((0, 32), dtype=np.uint8)
        self._viol_of: dict[tuple[str, ...], int] = {(): 0}
        self._viols: list[tuple[str, ...]] = [()]
        self.n_frozen = 0

    # --- sequence ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._objs)

    def append(self, block: Block) -> None:
        self._objs.append(block)

    def __getitem__(self, i):
        b = self._objs[i]
        if b.__class__ is Block:  # the hot path: a live block
            return b
        if b is None:
            return self._thaw(range(len(self._objs))[i])
        ids = range(len(self._objs))[i]  # a slice
        return [x if x is not None else self._thaw(j) for j, x in zip(ids, b, strict=True)]

    def __iter__(self):
        for i, b in enumerate(self._objs):
            yield b if b is not None else self._thaw(i)

    def frozen(self, i: int) -> bool:
        return self._objs[i] is None

    # --- columns -----------------------------------------------------------------------
    def _reserve(self, n: int) -> None:
        if n <= self._cap:
            return
        cap = max(1024, 2 * self._cap, n)
        for name, dtype, fill in self._COLS:
            new = np.full(cap, fill, dtype=dtype)
            new[: self._cap] = self._col[name][: self._cap]
            self._col[name] = new
        for attr in ("_hash", "_pdig"):
            new = np.zeros((cap, 32), dtype=np.uint8)
            new[: self._cap] = getattr(self, attr)[: self._cap]
            setattr(self, attr, new)
        self._cap = cap

    def freeze(self, i: int) -> bool:
        """Keep block ``i`` as header columns only; returns False if it already was."""
        b = self._objs[i]
        if b is None:
            return False
        self._reserve(i + 1)
        pd_hex = b.payload_digest or b.committed_digest or digest(b.payload)
        c = self._col
        c["round"][i] = b.round
        c["kind"][i] = -1 if b.kind is None else self._code[b.kind]
        c["height"][i] = b.height
        c["parent"][i] = b.parent_id
        c["miner"][i] = b.miner
        c["nonce"][i] = b.nonce
        c["t"][i] = b.timestamp
        c["valid"][i] = b.valid
        c["honest"][i] = b.honest_miner
        c["npa"][i] = b.npa
        v = self._viol_of.get(b.violations)
        if v is None:
            v = self._viol_of[b.violations] = len(self._viols)
            self._viols.append(b.violations)
        c["viol"][i] = v
        c["coinbase"][i] = b.reward
        self._hash[i] = np.frombuffer(bytes.fromhex(b.hash), dtype=np.uint8)
        self._pdig[i] = np.frombuffer(bytes.fromhex(pd_hex), dtype=np.uint8)
        self._objs[i] = None
        self.n_frozen += 1
        return True

    def hash_of(self, i: int) -> str:
        b = self._objs[i]
        return b.hash if b is not None else self._hash[i].tobytes().hex()

    def round_of(self, i: int) -> int:
        b = self._objs[i]
        return b.round if b is not None else int(self._col["round"][i])

    def _thaw(self, i: int) -> Block:
        c = self._col
        k = int(c["kind"][i])
        pid = int(c["parent"][i])
        dig = self._pdig[i].tobytes().hex()
        return Block(
            kind=None if k < 0 else self.kinds[k],
            round=int(c["round"][i]),
            height=int(c["height"][i]),
            parent=None if pid < 0 else self.hash_of(pid),
            miner=int(c["miner"][i]),
            payload=PrunedPayload(i, dig),
            valid=bool(c["valid"][i]),
            hash=self._hash[i].tobytes().hex(),
            timestamp=float(c["t"][i]),
            id=i,
            parent_id=pid,
            nonce=int(c["nonce"][i]),
            honest_miner=bool(c["honest"][i]),
            violations=self._viols[int(c["viol"][i])],
            npa=bool(c["npa"][i]),
            reward=int(c["coinbase"][i]),
            payload_digest=dig,
        )

    def verify(self) -> None:
        """Re-hash every block's header (frozen ones from their columns) and check each
        parent link names the parent's hash; raises ``ValueError`` at the first block that
        does not verify (tampered header, payload digest or link)."""
        for i, b in enumerate(self):
            if b.compute_hash() != b.hash:
                raise ValueError(f"block {i}: header does not hash to its hash {b.hash[:12]}")
            if b.parent_id >= 0 and b.parent != self.hash_of(b.parent_id):
                raise ValueError(f"block {i}: parent link broken (parent id {b.parent_id})")
            if b.parent_id < 0 and i != 0:
                raise ValueError(f"block {i}: no parent")
