"""Generic recorder: rounds, agents and realised utilities per (role, strategy).

* ``rounds``: one row per round, the dict the protocol's ``round_row`` returns.
* ``agents``: one row per participant per recorded round (``record_every``,
  ``record_sample``): ``round, agent_id, role, strategy, coins, coins_nano``, the
  protocol's ``agent_columns``, ``utility, revenue, cost``.
* ``utilities``: per round and (role, strategy) the number of role plays and the sums of
  realised utility, revenue, cost, utility squared (for Monte Carlo standard errors) and
  of each of the protocol's ``play_stats`` (what its closed form is evaluated at).

Plays are accumulated in one ``(stats, buckets)`` array per round with ``bincount``: no
Python work per agent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from derelay import _fastnp as fnp

from .ledger import NANO
from .protocol import Protocol

#: Without ``record_sample``, populations above this size record a sample of AUTO_SAMPLE
#: agents (every ``record_every``-th round).  1,000 agents (was 10,000 before issue 20,
#: which cost 35% CPU and 2.6x peak memory at 100,000 participants): enough for
#: per-agent trajectories and role/strategy histograms; the population-wide figures are
#: in rounds.parquet and utilities.parquet whatever the sample.  Pass ``record_sample``
#: (up to ``n``) for more.
AUTO_SAMPLE_ABOVE = 20_000
AUTO_SAMPLE = 1_000
BASE_STATS = ("n", "utility", "revenue", "cost", "utility_sq")
#: Plays of at most this many players are summed in one bincount over (stat, bucket);
#: longer ones with one bincount per column (the same sums: no (stats, plays) key array)
FUSE_MAX = 2048


class Recorder:
    def __init__(self, model) -> None:
        self.m = model
        cfg = model.cfg
        self.rows: list[dict] = []
        self.agent_chunks: list[dict] = []  # per recorded round: "round" and the columns
        n = model.n
        size = getattr(cfg, "record_sample", None)
        if size is None and n > AUTO_SAMPLE_ABOVE:
            size = AUTO_SAMPLE  # a full table would not fit in memory for huge runs
        if size is not None and size < n:
            rng = model.streams.rng("sample")
            self.sample = np.sort(rng.choice(n, size=size, replace=False))
        else:
            self.sample = None
        self.record_every = int(getattr(cfg, "record_every", 1))
        self.stats = (*BASE_STATS, *model.protocol.play_stats)
        self._stat_index = {s: i for i, s in enumerate(self.stats)}
        self.n_stats = len(self.stats)
        self.bucket_base: dict[str, int] = {}
        off = 0
        for r in model.roles:
            self.bucket_base[r] = off
            off += len(model.role_strats[r])
        self.n_buckets = off
        self.bucket_names = [(r, a) for r in model.roles for a in model.role_strats[r]]
        self.util_rows: list[np.ndarray] = []
        # bin offsets of the stats in :meth:`play`'s one bincount (stat j -> j * buckets)
        self._offsets = np.arange(self.n_stats, dtype=np.int64) * self.n_buckets
        self._cur: np.ndarray | None = None
        self._all_ids: np.ndarray | None = None  # arange(n), read-only (full agents table)
        self._zero_buf = np.zeros(0)  # play_many's shared zeros (read-only)
        self._idle_lut: np.ndarray | None = None  # role code -> strategy code 0 / idle -1

    # --- per round ---------------------------------------------------------------------
    def begin_round(self) -> None:
        self._cur = np.zeros((self.n_stats, self.n_buckets))

    def play(self, role: str, codes, utility, revenue=None, cost=None, **stats) -> None:
        """Record role plays (``codes``: strategy codes in ``role``) with realised utility
        (revenue - cost) and any of the protocol's ``play_stats`` (scalars or arrays)."""
        if type(codes) is not np.ndarray or codes.dtype != np.int64 or codes.ndim != 1:
            codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        m = codes.size
        if m == 0:
            return
        base = self.bucket_base[role]
        cur = self._cur
        idx = self._stat_index
        if m == 1:  # one player (a miner): scalar arithmetic, no numpy dispatch
            self.play_one(role, int(codes[0]), utility, revenue, cost, **stats)
            return
        b = codes + base if base else codes
        nb = self.n_buckets
        counts = fnp.bincount(b, minlength=nb)
        cur[0] += counts
        u = np.asarray(utility, dtype=np.float64)
        rev = u if revenue is None else np.asarray(revenue, np.float64)
        c = (rev - u) if cost is None else np.asarray(cost, np.float64)
        # the array columns in one bincount over (stat, bucket): each bin still sums its
        # column's entries in order, so the sums equal one bincount per column
        rows: list[int] = []
        cols: list[np.ndarray] = []
        pairs = [(1, u), (2, rev), (3, c), (4, u * u)]
        pairs += [(idx[name], v) for name, v in stats.items()]
        for j, v in pairs:
            if type(v) is np.ndarray and v.ndim == 1:
                rows.append(j)
                cols.append(v)
            elif np.ndim(v) == 0:
                v = float(v)
                if v != 0.0:
                    cur[j] += v * counts
            else:
                rows.append(j)
                cols.append(np.asarray(v, dtype=np.float64).reshape(-1))
        k = len(rows)
        if not k:
            return
        if m > FUSE_MAX:  # long columns: one bincount each (no (k, m) key to build)
            for j, col in zip(rows, cols, strict=True):
                if col.shape != (m,):
                    raise ValueError(f"a play column has shape {col.shape}, expected ({m},)")
                cur[j] += fnp.bincount(b, weights=col, minlength=nb)
            return
        for col in cols:
            if col.shape != (m,):
                raise ValueError(f"a play column has shape {col.shape}, expected ({m},)")
        key = self._offsets[:k, None] + b  # (k, m): bin of stat j, bucket b[i]
        sums = fnp.bincount(key.ravel(), weights=fnp.concatenate(cols), minlength=k * nb)
        if rows[-1] - rows[0] == k - 1 and rows == list(range(rows[0], rows[0] + k)):
            cur[rows[0] : rows[0] + k] += sums.reshape(k, nb)  # consecutive stats: a view
        else:
            cur[rows] += sums.reshape(k, nb)

    def play_many(self, plays) -> None:
        """:meth:`play` of several roles at once: ``plays`` holds ``(role, codes, utility,
        revenue, cost, stats)`` tuples (``codes`` an array, or one int for one player whose
        values are scalars).  Distinct roles have disjoint buckets, so one bincount over all
        of them gives every bin the same sum, in the same order, as one :meth:`play` per
        role (plays that share a role are recorded one by one).

        The plays' columns fill one dense ``(stats, players)`` weight matrix, a stat a play
        does not give holding 0.0: a bin's sum starts at +0.0 and adding +0.0 or -0.0 to it
        changes nothing, so the sums equal the per-column ones bit for bit.  A scalar stat
        of a multi-player play is added as ``value * count`` (as :meth:`play` does)."""
        size = 0
        roles = set()
        for p in plays:
            size += 1 if type(p[1]) is int else len(p[1])
            roles.add(p[0])
        if len(roles) != len(plays) or size > FUSE_MAX:
            for role, codes, utility, revenue, cost, stats in plays:
                self.play(role, codes, utility, revenue, cost, **stats)
            return
        cur, idx, nb, ns = self._cur, self._stat_index, self.n_buckets, self.n_stats
        f64 = np.float64
        bs: list[np.ndarray] = []  # the multi-player plays' buckets, in order
        blocks: list[list] = []  # their stat rows 1.. (arrays of their length)
        one_b: list[int] = []  # the one-player plays' buckets ...
        one_rows: list[list] = []  # ... and their stat rows 1..
        for role, codes, utility, revenue, cost, stats in plays:
            base = self.bucket_base[role]
            if type(codes) is int:  # one player, scalar values
                rev = utility if revenue is None else revenue
                row = [utility, rev, rev - utility if cost is None else cost, utility * utility]
                row += [0.0] * (ns - 5)
                for name, v in stats.items():
                    row[idx[name] - 1] = v
                one_b.append(base + codes)
                one_rows.append(row)
                continue
            if type(codes) is not np.ndarray or codes.ndim != 1:
                codes = np.asarray(codes).reshape(-1)
            m = codes.size
            if m == 0:
                continue
            u = np.asarray(utility, dtype=f64)
            rev = u if revenue is None else np.asarray(revenue, f64)
            c = (rev - u) if cost is None else np.asarray(cost, f64)
            if u.ndim != 1 or rev.ndim != 1 or c.ndim != 1:  # scalar utilities: as play()
                self.play(role, codes, utility, revenue, cost, **stats)
                continue
            b = np.add(codes, base, dtype=np.int64)  # int64 buckets, whatever the codes
            rows: list = [u, rev, c, u * u] + [self._zeros(m)] * (ns - 5)
            counts = None
            for name, v in stats.items():
                if type(v) is np.ndarray and v.ndim == 1:
                    rows[idx[name] - 1] = v  # its length is checked when w is filled
                    continue
                if np.ndim(v) == 0:
                    v = float(v)
                    if m == 1:
                        rows[idx[name] - 1] = np.full(1, v)
                    elif v != 0.0:  # value * count, as play() adds it
                        if counts is None:
                            counts = fnp.bincount(b, minlength=nb)
                        cur[idx[name]] += v * counts
                    continue
                rows[idx[name] - 1] = np.asarray(v, dtype=f64).reshape(-1)
            bs.append(b)
            blocks.append(rows)
        if one_b:
            bs.append(np.array(one_b, dtype=np.int64))
        if not bs:
            return
        b_all = fnp.concatenate(bs) if len(bs) > 1 else bs[0]
        w = np.empty((ns, b_all.size))
        w[0] = 1.0
        pos = 0
        for rows in blocks:
            m = rows[0].size
            try:
                w[1:, pos : pos + m] = rows
            except ValueError:
                bad = next(r.shape for r in rows if r.shape != (m,))
                raise ValueError(f"a play column has shape {bad}, expected ({m},)") from None
            pos += m
        if one_b:
            w[1:, pos:] = np.array(one_rows, dtype=f64).T
        key = self._offsets[:, None] + b_all
        cur += fnp.bincount(key.ravel(), weights=w.ravel(), minlength=ns * nb).reshape(ns, nb)

    def _zeros(self, m: int) -> np.ndarray:
        """A read-only run of m zeros (one shared buffer)."""
        z = self._zero_buf
        if z.size < m:
            z = self._zero_buf = np.zeros(max(m, 2 * z.size))
            z.setflags(write=False)
        return z[:m]

    def play_one(self, role: str, code: int, utility, revenue=None, cost=None, **stats) -> None:
        """:meth:`play` of one player with strategy ``code`` (scalar arithmetic)."""
        j = self.bucket_base[role] + code
        cur = self._cur
        u = _scalar(utility)
        rev = u if revenue is None else _scalar(revenue)
        c = rev - u if cost is None else _scalar(cost)
        cur[0, j] += 1.0
        cur[1, j] += u
        cur[2, j] += rev
        cur[3, j] += c
        cur[4, j] += u * u
        if stats:
            idx = self._stat_index
            for name, v in stats.items():
                cur[idx[name], j] += _scalar(v)

    def end_round(self, row: dict) -> None:
        self.rows.append(row)
        self.util_rows.append(self._cur)
        # the engine has just set utility = revenue - cost: derived again on output
        self.record_agents(utility_derived=True)

    def end_halted(self, row: dict) -> None:
        self.rows.append(row)
        self.util_rows.append(np.zeros((self.n_stats, self.n_buckets)))
        self.record_agents()

    def record_agents(self, utility_derived: bool = False) -> None:
        """Record the agents table's rows of this round.  ``utility_derived``: utility
        is revenue - cost, elementwise (the engine's own subtraction), so the column is
        not stored but recomputed exactly by :meth:`agents_frame`."""
        m = self.m
        if m.round % self.record_every != 0:
            return
        st = m.state
        if self.sample is not None:
            idx = self.sample

            def take(a: np.ndarray) -> np.ndarray:
                return a[idx]  # a fresh copy

        else:  # every agent: plain copies (the same values as indexing by arange(n))
            idx = self._all_ids
            if idx is None or len(idx) != m.n:
                idx = self._all_ids = np.arange(m.n, dtype=np.int64)
                idx.setflags(write=False)  # shared by the chunks (concatenated on output)

            def take(a: np.ndarray) -> np.ndarray:
                return a[: len(idx)].copy()

        role = take(st.role)
        if role.dtype != np.int8:
            role = role.astype(np.int8)
        # each agent's strategy in its role (the idle ones: -1)
        if m.all_codes_zero():  # every strategy code 0: -1 for idle, else 0, by lookup
            lut = self._idle_lut
            if lut is None or lut.size != m.idle + 1:
                lut = self._idle_lut = np.zeros(m.idle + 1, dtype=np.int16)
                lut[m.idle] = -1
            strat = lut[role]
        else:
            strat = st.strategy[idx, np.minimum(role, len(m.roles) - 1)]
            if strat.dtype != np.int16:
                strat = strat.astype(np.int16)
            strat[role == m.idle] = -1
        chunk = {
            "round": m.round,  # one value per chunk (expanded by agents_frame)
            "agent_id": idx if idx.dtype == np.int64 else idx.astype(np.int64),
            "role_code": role,
            "strategy_code": strat,
            "coins_nano": take(st.coins),
        }
        proto = m.protocol
        own_column = type(proto).agent_column is not Protocol.agent_column
        for name in proto.agent_columns:
            # the default column is the state's array: a plain copy of the recorded agents
            chunk[name] = proto.agent_column(name, idx) if own_column else take(getattr(st, name))
        chunk["utility"] = None if utility_derived else take(st.utility)
        chunk["revenue"] = take(st.revenue)
        chunk["cost"] = take(st.cost)
        self.agent_chunks.append(chunk)

    # --- tables ---------------------------------------------------------------------------
    def rounds_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows)
        # nano-coin totals beyond 2^64 are Python ints (the ledger is exact at any size):
        # exact decimals then, so the column stays numeric and Parquet can hold it
        for c in df.columns:
            if c.endswith("_nano") and df[c].dtype == object:
                from decimal import Decimal

                df[c] = df[c].map(lambda v: Decimal(int(v)))
        return df

    def agents_frame(self) -> pd.DataFrame:
        m = self.m
        extra = tuple(m.protocol.agent_columns)
        if not self.agent_chunks:
            cols = ["round", "agent_id", "role", "strategy", "coins", *extra]
            return pd.DataFrame({c: [] for c in cols})
        chunks = self.agent_chunks
        skip = ("round", "utility")
        data = {k: fnp.concatenate([c[k] for c in chunks]) for k in chunks[0] if k not in skip}
        # utility: revenue - cost where the chunk did not store it (the same subtraction)
        data["utility"] = fnp.concatenate(
            [
                np.subtract(c["revenue"], c["cost"]) if c["utility"] is None else c["utility"]
                for c in chunks
            ]
        )
        data["round"] = np.repeat(
            np.array([c["round"] for c in chunks], dtype=np.int64),
            [len(c["agent_id"]) for c in chunks],
        )
        role_names = np.array(m.role_names, dtype=object)
        width = max((len(v) for v in m.role_strats.values()), default=0)
        lut = np.full((len(m.role_names), width + 1), "", dtype=object)
        for ri, r in enumerate(m.roles):
            for si, a in enumerate(m.role_strats[r]):
                lut[ri, si] = a
        rc = data.pop("role_code").astype(np.int64)
        sc = data.pop("strategy_code").astype(np.int64)
        sc = fnp.where(sc < 0, width, sc)
        out = {
            "round": data["round"],
            "agent_id": data["agent_id"],
            "role": pd.Categorical(role_names[rc], categories=list(m.role_names)),
            "strategy": lut[rc, sc].astype(str),
            "coins": data["coins_nano"] / NANO,
            "coins_nano": data["coins_nano"],
        }
        for name in extra:
            out[name] = data[name]
        for name in ("utility", "revenue", "cost"):
            out[name] = data[name]
        return pd.DataFrame(out)

    def utilities_frame(self) -> pd.DataFrame:
        if not self.util_rows:
            return pd.DataFrame(
                columns=["round", "role", "strategy", "n", "utility_sum", "revenue_sum", "cost_sum"]
            )
        arr = np.stack(self.util_rows)  # (rounds, stats, buckets)
        R, _, B = arr.shape
        data = {
            "round": np.repeat(np.arange(1, R + 1), B),
            "role": np.tile([b[0] for b in self.bucket_names], R),
            "strategy": np.tile([b[1] for b in self.bucket_names], R),
            "n": arr[:, 0, :].reshape(-1).astype(np.int64),
        }
        for k, name in enumerate(self.stats[1:], start=1):
            data[f"{name}_sum"] = arr[:, k, :].reshape(-1)
        df = pd.DataFrame(data)
        return df[df["n"] > 0].reset_index(drop=True)

    def mean_utilities(self, burn_in: int = 0) -> pd.DataFrame:
        """Realised mean utility per (role, strategy) over rounds after ``burn_in``:
        ``role, strategy, plays, mean, se`` (for any mechanism)."""
        u = self.utilities_frame()
        u = u[u["round"] > burn_in]
        g = u.groupby(["role", "strategy"], sort=False)[["n", "utility_sum", "utility_sq_sum"]]
        s = g.sum().reset_index()
        n = s["n"].astype(float)
        mean = s["utility_sum"] / n
        var = (s["utility_sq_sum"] / n - mean**2).clip(lower=0.0)
        return pd.DataFrame(
            {
                "role": s["role"],
                "strategy": s["strategy"],
                "plays": s["n"].astype(np.int64),
                "mean": mean,
                "se": np.sqrt(var / n),
            }
        )


def _scalar(x) -> float:
    t = type(x)
    if t is float or t is int or t is np.float64:
        return float(x)
    return float(x) if np.ndim(x) == 0 else float(np.ravel(x)[0])
