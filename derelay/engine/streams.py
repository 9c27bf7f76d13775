"""Named random streams spawned from one ``numpy.random.SeedSequence``.

A run's streams are the protocol's names followed by the engine's
(:data:`ENGINE_STREAMS`); the k-th name gets child ``k`` of ``SeedSequence(seed)``, so a
stream depends on the seed and its position only (never on global state, never on
which other streams were used).
"""

from __future__ import annotations

import zlib

import numpy as np

#: Streams the engine itself uses (after the protocol's own).
ENGINE_STREAMS = ("adapt", "init", "sample", "graph")


class Streams:
    def __init__(self, seed: int, names: tuple[str, ...]) -> None:
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate stream names in {names}")
        self.seed = int(seed)
        self.names = tuple(names)
        children = np.random.SeedSequence(self.seed).spawn(len(self.names))
        self._ss = dict(zip(self.names, children, strict=True))
        self._rng: dict[str, np.random.Generator] = {}

    def seed_seq(self, name: str) -> np.random.SeedSequence:
        try:
            return self._ss[name]
        except KeyError:
            raise KeyError(f"unknown random stream {name!r}; streams: {list(self.names)}") from None

    def rng(self, name: str) -> np.random.Generator:
        g = self._rng.get(name)
        if g is None:
            g = self._rng[name] = np.random.default_rng(self.seed_seq(name))
        return g

    def int_seed(self, name: str) -> int:
        """A 32-bit integer seed derived from a stream (for libraries taking ints)."""
        return int(self.seed_seq(name).generate_state(1)[0])

    def shared(self, name: str) -> np.random.Generator:
        """A stream that depends on the seed and the *name* only, not on the protocol's
        stream list: the same for every mechanism run with the same seed.  Used for
        what a comparison holds equal across mechanisms ("population": agent types,
        "data": learning shards and held-out sets)."""
        key = "shared:" + name
        g = self._rng.get(key)
        if g is None:
            ss = np.random.SeedSequence(self.seed, spawn_key=(0x5EED, zlib.crc32(name.encode())))
            g = self._rng[key] = np.random.default_rng(ss)
        return g
