"""Recording: rounds table, agents table and realised utilities per (role, strategy).

* ``rounds``: one row per round (contract columns of issue 5 plus extras).
* ``agents``: one row per participant per recorded round (``record_every``,
  ``record_sample``) with role, strategy, coins, version and realised utility.
* ``utilities``: per round and (role, strategy) the number of role plays and the sums
  of realised revenue, cost and utility (Table II terms played out), which
  :mod:`analysis.utilities` compares with the closed form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .state import IDLE, NANO, ROLE_CODE, ROLE_NAMES, ROLES

N_LATEST = 10
#: Without ``record_sample``, populations above this size record a sample of AUTO_SAMPLE.
AUTO_SAMPLE_ABOVE = 20_000
AUTO_SAMPLE = 10_000
STATS = (
    "n",
    "utility",
    "revenue",
    "cost",
    "utility_sq",
    "stake",
    "gap",
    "count",
    "selected",
    "returned",
)
N_STATS = len(STATS)


class Recorder:
    def __init__(self, model) -> None:
        self.m = model
        cfg = model.cfg
        self.rows: list[dict] = []
        self.agent_chunks: list[dict[str, np.ndarray]] = []
        n = model.n
        size = cfg.record_sample
        if size is None and n > AUTO_SAMPLE_ABOVE:
            size = AUTO_SAMPLE  # a full table would not fit in memory for huge runs
        if size is not None and size < n:
            rng = np.random.default_rng(np.random.SeedSequence(model.seed_value).spawn(6)[5])
            self.sample = np.sort(rng.choice(n, size=size, replace=False))
        else:
            self.sample = None
        # (role, strategy) buckets
        self.bucket_base = {}
        off = 0
        for r in ROLES:
            self.bucket_base[r] = off
            off += len(model.role_strats[r])
        self.n_buckets = off
        self.bucket_names = [(r, a) for r in ROLES for a in model.role_strats[r]]
        #: (round, kind, miner, valid, items, reward_nano) of every block mined; invalid
        #: blocks were forked away by honest nodes
        self.blocks: list[tuple] = []
        self.util_rows: list[np.ndarray] = []  # per round: (4, n_buckets) n, u, rev, cost
        self._cur: np.ndarray | None = None
        self.learning_metrics = model.cfg.learning == "torch"

    # --- per round ---------------------------------------------------------------------
    def begin_round(self) -> dict:
        self._cur = np.zeros((N_STATS, self.n_buckets))
        return {}

    def play(
        self,
        role: str,
        ids,
        codes,
        utility,
        revenue=None,
        cost=None,
        stake=0.0,
        gap=0.0,
        count=0.0,
        selected=0.0,
        returned=0.0,
    ) -> None:
        """Record role plays (``codes``: strategy codes) with realised utility.

        Per (role, strategy) bucket the round keeps: plays, sums of utility, revenue,
        cost and utility squared (for Monte Carlo standard errors), and of the realised
        quantities the closed form is evaluated at: ``stake`` (deposit at stake),
        ``gap`` (version gap closed), ``count`` (MO: trainers matched; T: ranked;
        miners: items packed), ``selected`` (MO: selected children; T: selected) and
        ``returned`` (deposit returned).
        """
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        if codes.size == 0:
            return
        base = self.bucket_base[role]
        cur = self._cur
        if codes.size == 1:  # one miner: scalar arithmetic, no numpy dispatch
            j = base + int(codes[0])
            u = _scalar(utility)
            rev = u if revenue is None else _scalar(revenue)
            c = rev - u if cost is None else _scalar(cost)
            vals = (u, rev, c, u * u, _scalar(stake), _scalar(gap), _scalar(count))
            cur[0, j] += 1.0
            for k, v in enumerate(vals, start=1):
                cur[k, j] += v
            cur[8, j] += _scalar(selected)
            cur[9, j] += _scalar(returned)
            return
        b = base + codes
        nb = self.n_buckets
        counts = np.bincount(b, minlength=nb)
        cur[0] += counts
        u = np.asarray(utility, dtype=np.float64)
        rev = u if revenue is None else np.asarray(revenue, np.float64)
        c = (rev - u) if cost is None else np.asarray(cost, np.float64)
        cols = (u, rev, c, u * u if u.ndim else u * u, stake, gap, count, selected, returned)
        for k, col in enumerate(cols, start=1):
            if np.ndim(col) == 0:
                v = float(col)
                if v != 0.0:
                    cur[k] += v * counts
            else:
                cur[k] += np.bincount(b, weights=col, minlength=nb)

    def account_round(self, acc, x: dict) -> None:
        """Role plays of owners, trainers and valid-block miners for this round."""
        m = self.m
        st = m.state
        red = x["redistributed_share"] / NANO
        owners, p_t, sel = x["owners"], x["p_t"], x["sel_mask"]
        # model owners: citations as owner (k = 0) - forfeited deposits - transmission;
        # per-owner sums by position in the owners array (no participant-sized arrays)
        opos, n_own = x["p_opos"], len(owners)

        def per_owner(w=None, mask=None):
            i = opos if mask is None else opos[mask]
            if w is not None and mask is not None:
                w = w[mask]
            return np.bincount(i, weights=w, minlength=n_own).astype(np.float64)

        sel_o = per_owner(mask=sel)
        rev_o = sel_o * x["r_cited"]
        if red:
            rev_o += red * sel_o
        cost_o = per_owner(x["lost_mo"] / NANO)
        cost_o += x["sent"] * m.settlement.cost["transmit"]
        stake_o = per_owner(x["dep_mo"] / NANO)
        cnt_o = per_owner()
        ret_o = per_owner((x["dep_mo"] - x["lost_mo"]) / NANO)
        codes_o = st.strategy[owners, ROLE_CODE["MO"]]
        self.play(
            "MO",
            owners,
            codes_o,
            rev_o - cost_o,
            rev_o,
            cost_o,
            stake=stake_o,
            count=cnt_o,
            selected=sel_o,
            returned=ret_o,
        )
        # trainers
        rev_t = x["v_gain_t"] + np.where(sel, red, 0.0)
        cost_t = x["lost_t"] / NANO + x["t_cost"]
        codes_t = st.strategy[p_t, ROLE_CODE["T"]]
        self.play(
            "T",
            p_t,
            codes_t,
            rev_t - cost_t,
            rev_t,
            cost_t,
            stake=x["dep_t"] / NANO,
            gap=x["gap_t"],
            count=x["ranked"].astype(np.float64),
            selected=sel.astype(np.float64),
            returned=(x["dep_t"] - x["lost_t"]) / NANO,
        )
        # miners of valid blocks
        for role, miner, reward, cost, items in acc.pop("miners", []):
            ri = ROLE_CODE[role]
            extra = gap = 0.0
            if role == "EBM":
                extra = float(acc.get("ebm_gain", 0.0))
                gap = extra / m.p.coin
            self.play(
                role,
                [miner],
                [st.strategy[miner, ri]],
                reward + extra - cost,
                reward + extra,
                cost,
                gap=gap,
                count=float(items),
            )

    def end_round(self, acc: dict, res, sel_mask, submitted, lazy) -> None:
        m = self.m
        st, lg = m.state, m.ledger
        n = m.n
        v = st.version
        latest = int(v.max())
        has = v >= 0
        diff = latest - v[has]
        counts = np.bincount(np.minimum(diff, N_LATEST + 1), minlength=N_LATEST + 2)
        row = {
            "round": m.round,
            "n_model_owners": acc["n_model_owners"],
            "n_candidates": acc.get("n_candidates", 0),
            "n_matched": acc.get("n_matched", 0),
            "n_trainers": acc.get("n_trainers", 0),
            "n_submitted": acc["n_submitted"],
            "n_selected": acc["n_selected"],
            "latest_version": latest,
            "total_coins": lg.total() / NANO,
            "minted": lg.minted / NANO,
            "forfeited": lg.forfeited / NANO,
            "burned": lg.burned / NANO,
            "escrow": lg.escrow / NANO,
            "minted_round": acc["minted_round"] / NANO,
            "forfeited_round": acc["forfeited_round"] / NANO,
            "burned_round": acc["burned_round"] / NANO,
            "citation_minted": acc.get("citation_minted", 0) / NANO,
            "citation_predecessors": acc.get("cite_pred", 0.0),
            "forks": acc["forks"],
            "stale_blocks": acc["stale_blocks"],
        }
        for k in range(N_LATEST + 1):
            row[f"share_latest_{k}"] = counts[k] / n
        row["share_older"] = counts[N_LATEST + 1] / n
        row["share_none"] = 1.0 - has.sum() / n
        coins = lg.coins
        row["mean_coins"] = float(coins.mean()) / NANO
        row["min_coins"] = int(coins.min()) / NANO
        row["max_coins"] = int(coins.max()) / NANO
        row["total_coins_nano"] = lg.total()
        row["minted_nano"] = lg.minted
        row["burned_nano"] = lg.burned
        row["escrow_nano"] = lg.escrow
        sub = np.asarray(submitted, bool)
        sel = np.asarray(sel_mask, bool)
        gain = np.asarray(res.gain, dtype=np.float64)
        row["mean_gain"] = float(gain[sel].mean()) if sel.any() else np.nan
        lz = np.asarray(lazy, bool) & sub
        row["lazy_top_s_rate"] = float((sel & lz).sum() / lz.sum()) if lz.any() else np.nan
        perf = np.asarray(res.performance, dtype=np.float64)
        row["best_performance"] = float(np.nanmax(perf[sub])) if sub.any() else np.nan
        if self.learning_metrics:
            row.update(_torch_metrics(res, sel, m.backend))
        row.update(m.strategy_shares())
        row["halted"] = False
        self.rows.append(row)
        self.util_rows.append(self._cur)
        self._record_agents()

    def record_halted(self) -> None:
        last = dict(self.rows[-1]) if self.rows else {}
        last.update(
            round=self.m.round,
            n_model_owners=0,
            n_candidates=0,
            n_matched=0,
            n_trainers=0,
            n_submitted=0,
            n_selected=0,
            minted_round=0.0,
            forfeited_round=0.0,
            burned_round=0.0,
            citation_minted=0.0,
            citation_predecessors=0.0,
            forks=0,
            stale_blocks=0,
            halted=True,
        )
        self.rows.append(last)
        self.util_rows.append(np.zeros((N_STATS, self.n_buckets)))
        self.m.state.role[:] = IDLE
        self.m.state.utility[:] = 0.0
        self._record_agents()

    def _record_agents(self) -> None:
        m = self.m
        if m.round % m.cfg.record_every != 0:
            return
        st = m.state
        idx = self.sample if self.sample is not None else np.arange(m.n)
        role = st.role[idx]
        rc = np.minimum(role, len(ROLES) - 1).astype(np.int64)
        strat = st.strategy[idx, rc].astype(np.int16)
        strat = np.where(role == IDLE, -1, strat)
        self.agent_chunks.append(
            {
                "round": np.full(len(idx), m.round, dtype=np.int64),
                "agent_id": idx.astype(np.int64),
                "role_code": role.astype(np.int8),
                "strategy_code": strat.astype(np.int16),
                "coins_nano": st.coins[idx].copy(),
                "version": st.version[idx].copy(),
                "utility": st.utility[idx].copy(),
                "revenue": st.revenue[idx].copy(),
                "cost": st.cost[idx].copy(),
            }
        )

    # --- tables ---------------------------------------------------------------------------
    def rounds_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def agents_frame(self) -> pd.DataFrame:
        m = self.m
        if not self.agent_chunks:
            cols = ["round", "agent_id", "role", "strategy", "coins", "version"]
            return pd.DataFrame({c: [] for c in cols})
        data = {k: np.concatenate([c[k] for c in self.agent_chunks]) for k in self.agent_chunks[0]}
        role_names = np.array(ROLE_NAMES, dtype=object)
        # strategy label per (role, code)
        width = max(len(v) for v in m.role_strats.values())
        lut = np.full((len(ROLE_NAMES), width + 1), "", dtype=object)
        for ri, r in enumerate(ROLES):
            for si, a in enumerate(m.role_strats[r]):
                lut[ri, si] = a
        rc = data.pop("role_code").astype(np.int64)
        sc = data.pop("strategy_code").astype(np.int64)
        sc = np.where(sc < 0, width, sc)
        df = pd.DataFrame(
            {
                "round": data["round"],
                "agent_id": data["agent_id"],
                "role": pd.Categorical(role_names[rc], categories=list(ROLE_NAMES)),
                "strategy": lut[rc, sc].astype(str),
                "coins": data["coins_nano"] / NANO,
                "coins_nano": data["coins_nano"],
                "version": data["version"],
                "utility": data["utility"],
                "revenue": data["revenue"],
                "cost": data["cost"],
            }
        )
        return df

    def blocks_frame(self) -> pd.DataFrame:
        cols = ["round", "kind", "miner", "valid", "items", "reward_nano"]
        df = pd.DataFrame(self.blocks, columns=cols)
        df = df.astype(
            {
                "round": "int64",
                "miner": "int64",
                "valid": "bool",
                "items": "int64",
                "reward_nano": "int64",
            }
        )
        df["reward"] = df["reward_nano"] / NANO
        return df

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
        for k, name in enumerate(STATS[1:], start=1):
            data[f"{name}_sum"] = arr[:, k, :].reshape(-1)
        df = pd.DataFrame(data)
        return df[df["n"] > 0].reset_index(drop=True)


def _scalar(x) -> float:
    return float(x) if np.ndim(x) == 0 else float(np.ravel(x)[0])


def _torch_metrics(res, sel, backend) -> dict:
    try:
        from derelay.learning import round_metrics
    except ImportError:  # pragma: no cover
        return {}
    out = round_metrics(res, sel, backend)
    return {k: out[k] for k in ("best_accuracy", "mean_gain", "lazy_top_s_rate")}
