"""DeepChain's ABM round on the generic engine (issue 15, steps 0-6).

One ABM round is one collaborative iteration of Sec. 4.1 ("at the end of each iteration all
the weights ... are updated once"): ``period`` local steps, one gradient share, one block.

0. ``draw``: ``groups`` groups of N parties are drawn from the non-workers; each party
   locks ``deposit`` (what it has, at most), each worker locks ``f_w``.  The W workers are
   fixed at setup (their coins carry the lottery).  Every participant got
   ``initial_coins`` at genesis (Sec. 4.2.1).
1. ``train``: each party realises its strategy for the iteration: Normal with probability
   ``honesty`` (deviant agents; honest ones always Normal), otherwise its family's
   deviation.  Normal, Malformed, BadDecShare and Late train ``period`` steps on their own
   shard through the learning primitives; Poison trains on flipped labels; Lazy perturbs
   the group model.  Every party pays its fee share (``fee_total * period`` ∝ 1/D_j) into
   ``FEES``.  Verification (``verifyGradientTX``, ``checkTimeout``, ``f_sver2``): each
   fault is caught with its Pr_v (``pr_v_crypto`` or ``pr_v_sem``); a caught party's
   deposit is forfeited to the group's honest (realised Normal, uncaught) parties, and a
   caught Malformed or Late update is dropped.  An uncaught malformed ciphertext decrypts
   to garbage (a perturbed model, ``malformed_sigma``).
2. ``aggregate``: the true result is ``average`` of the admitted updates; decryption
   needs ``t`` valid shares (rule ``threshold``) and fails on an uncaught bad share.
   Correct workers publish the average, WrongAggregate a perturbed one of its own,
   IdleCopy the first result any worker publishes (workers publish in a random order;
   nothing if nobody computes),
   a coalition (family ``collude``, one coalition id) one shared wrong result.
3. ``leader``: drawn from the workers' *valid* coins (:mod:`.lottery`).
4. The leader's result is compared with the workers' strict majority; on a mismatch she
   loses ``f_w`` (burned, and booked against her valid coins) and gets nothing, and the
   leader is re-drawn from the remaining workers.
5. ``commit``: the committee (the workers) signs when more than ``committee_threshold``
   of it published the block's result; otherwise the block is empty.
6. ``settle``: fees to the leader, block reward minted to her, the forfeits already paid
   to honest parties, deposits and stakes released; π_P is ``pi_p`` (given) or realised as
   ``coin * (accuracy points of the new group model - those of the party's solo model)``
   (measured: the solo model is the party's own ``period`` steps from the same start).
   With an empty block the fees go back to the parties and the group model stays.

Per-round metrics: ``global_accuracy``, ``party_accuracy_mean``, ``solo_accuracy_mean``,
``party_gain_vs_solo`` (points), ``leader``, ``leader_attempts``, ``block_valid``,
``gini_worker_coins``, ``richest_worker_win_share``, ``n_caught``, ``forfeited``,
``decrypt_failed``.  Tables: ``parties`` (each party's accuracy against its solo
baseline per round) and ``leaders`` (the leader sequence).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from derelay.engine import Protocol
from derelay.engine.ledger import to_nano
from derelay.mechanism import FAMILY_CODE
from derelay.strict import StrictModel

from . import closed, crypto
from .lottery import LeaderLottery, gini

#: result classes: CORRECT is the true aggregate; NONE no result; others are wrong ones
CORRECT = 0
NONE = -1


class DeepChainOptions(StrictModel):
    """The protocol's own settings (``RunConfig.options``).  The engine validates them
    strictly (:func:`derelay.engine.run.protocol_options`): a bad option is one line naming
    the key, its value and what is allowed."""

    groups: int = Field(1, ge=1, description="collaborative groups per round")
    trainers_per_round: int | None = Field(
        None, ge=1, description="cap on training jobs per round (None: groups * n_parties)"
    )
    learning: Literal["abstract", "torch"] = "abstract"
    learning_config: dict[str, Any] = Field(default_factory=dict)
    wrong_sigma: float = Field(1.0, ge=0.0, description="noise of a wrong aggregate")
    malformed_sigma: float = Field(
        5.0, ge=0.0, description="garbage of an unverified malformed ciphertext"
    )
    lazy_sigma: float | None = Field(
        None, ge=0.0, description="a lazy party's noise (None: the backend's default)"
    )
    accuracy_scale: float | None = Field(
        None,
        gt=0.0,
        description="accuracy points per "
        "unit of the backend's accuracy (None: 100 for "
        "torch, 1 for abstract, whose values are in coins)",
    )
    solo_baseline: bool = Field(
        True,
        description="train each party's solo model (its own period steps from the same "
        "start) for the accuracy-vs-solo metrics and a measured π_P",
    )


class DeepChainProtocol(Protocol):
    Options = DeepChainOptions
    streams = ("roles", "honesty", "verify", "workers", "lottery")
    system_accounts = ("FEES",)
    stages = ("draw", "train", "aggregate", "leader", "commit", "settle")

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        p, m, o = self.p, self.model, self.options
        if o is None:
            self.options = o = DeepChainOptions()
        n_p, w = int(p.n_parties), int(p.n_workers)
        self.n_groups = o.groups
        if o.trainers_per_round is not None:
            if o.trainers_per_round < n_p:
                raise ValueError(
                    f"trainers_per_round = {o.trainers_per_round} is too small: a group "
                    f"trains n_parties = {n_p} jobs per round"
                )
            self.n_groups = min(o.groups, o.trainers_per_round // n_p)
        if p.pi_p_source == "measured" and not o.solo_baseline:
            raise ValueError(
                "pi_p_source = 'measured' needs the solo baseline: options.solo_baseline = "
                "false is not allowed with it"
            )
        need = w + self.n_groups * n_p
        if m.n < need:
            raise ValueError(
                f"n_participants = {m.n} is too small: needs n_workers + groups * n_parties "
                f"= {need}"
            )
        lg = self.ledger
        self.nano = {
            k: to_nano(getattr(p, k))
            for k in ("deposit", "f_w", "block_reward", "initial_coins", "c_tx")
        }
        if self.nano["initial_coins"] > 0:
            lg.mint_dense(np.full(m.n, self.nano["initial_coins"], dtype=np.int64), "genesis")
        self.fees_acc = lg.account("FEES")
        self.workers = np.sort(m.streams.rng("roles").choice(m.n, size=w, replace=False))
        mask = np.ones(m.n, dtype=bool)
        mask[self.workers] = False
        self.non_workers = np.flatnonzero(mask)
        self.lottery = LeaderLottery(
            w, self.nano["initial_coins"], int(p.validity), bool(p.initial_coins_expire)
        )
        self.t_min = crypto.min_threshold(n_p, p.threshold)
        # strategy lookups per code
        pr = m.role_strats["P"]
        self.p_abbr = pr
        self.p_code_n = m.strategy_code("P", "N")
        self.p_prv = np.array(
            [0.0 if a == "N" else getattr(p, closed.PARTY_DEVIATIONS[a][1]) for a in pr]
        )
        self.p_fault = [m.mechanism.role("P").strategy(a).behaviour.get("fault") for a in pr]
        self.w_abbr = m.role_strats["W"]
        # learning
        from derelay.learning import make_learning

        cfg = dict(o.learning_config)
        # data (and the learning noise) from the shared "data" stream: the same for every
        # mechanism run with the same seed (docs/ENGINE.md sec. 6)
        data_ss = np.random.SeedSequence(int(m.streams.shared("data").integers(2**63)))
        self.learn = make_learning(o.learning, cfg or None, n_participants=m.n, seed_seq=data_ss)
        # D_j: each participant's training data (torch: its shard; abstract: equal)
        data = getattr(self.learn, "data", None)
        self.data_sizes = (
            np.asarray(data.train_sizes(), dtype=np.float64)
            if data is not None and hasattr(data, "train_sizes")
            else np.ones(m.n)
        )
        g0 = self.learn.genesis()
        self.group_model = np.full(self.n_groups, g0, dtype=np.int64)
        self.wins = np.zeros(w, dtype=np.int64)
        self.leader_rows: list[dict] = []
        self.party_rows: list[dict[str, np.ndarray]] = []
        self.coalition_of = m.types.coalition[self.workers]
        self.worker_family = m.types.family[self.workers]

    # -- 0. draw ----------------------------------------------------------------------------
    def stage_draw(self, ctx) -> None:
        m, lg, p = self.model, self.ledger, self.p
        n_p, g = int(p.n_parties), self.n_groups
        rng = ctx.rng("roles")
        parties = rng.choice(self.non_workers, size=g * n_p, replace=False).reshape(g, n_p)
        ctx.data["parties"] = parties
        flat = parties.reshape(-1)
        m.state.role[flat] = m.role_code("P")
        m.state.role[self.workers] = m.role_code("W")
        dep = np.minimum(lg.coins[flat], self.nano["deposit"])
        lg.lock(flat, dep, "deposit")
        ctx.data["deposit"] = dep
        stake = np.minimum(lg.coins[self.workers], self.nano["f_w"])
        lg.lock(self.workers, stake, "worker_stake")
        ctx.data["stake"] = stake

    # -- 1. train ---------------------------------------------------------------------------
    def stage_train(self, ctx) -> None:
        m, lg, p, o = self.model, self.ledger, self.p, self.options
        parties = ctx.data["parties"]
        flat = parties.reshape(-1)
        g, n_p = parties.shape
        own = m.strategy_of("P", flat).astype(np.int64)
        honest_draw = ctx.rng("honesty").random(flat.size) < p.honesty
        real = np.where(honest_draw, self.p_code_n, own)
        caught = (real != self.p_code_n) & (ctx.rng("verify").random(flat.size) < self.p_prv[real])
        fault = [self.p_fault[c] for c in real]
        # fees ∝ 1/D_j over each group (Sec. 4.2.2; equal shards: equal shares)
        d_j = self.data_sizes[flat].reshape(g, n_p)
        inv = 1.0 / d_j
        share = inv / inv.sum(axis=1, keepdims=True)
        fee_each = np.array(
            [to_nano(x) for x in (p.fee_total * p.period * share).ravel()], dtype=np.int64
        )
        fee = np.minimum(lg.coins[flat], fee_each)
        lg.transfer(flat, self.fees_acc, fee, "fee")
        ctx.data["fee"] = fee
        # learning: one batched call per kind
        parents = np.repeat(self.group_model, n_p)
        models = np.empty(flat.size, dtype=np.int64)
        lazy = np.array([self.p_abbr[c] == "Lazy" for c in real], dtype=bool)
        trains = ~lazy
        if trains.any():
            data = ["label_flip" if self.p_abbr[c] == "Poison" else "own" for c in real[trains]]
            models[trains] = self.learn.train(parents[trains], flat[trains], int(p.period), data)
        if lazy.any():
            models[lazy] = self.learn.perturb(parents[lazy], flat[lazy], o.lazy_sigma)
        garbage = np.array([f == "malformed" for f in fault]) & ~caught
        if garbage.any():  # an unverified malformed ciphertext decrypts to garbage
            clean = models[garbage].copy()
            models[garbage] = self.learn.perturb(clean, flat[garbage], o.malformed_sigma)
            self.learn.release(clean)
        dropped = caught & np.array([f in ("malformed", "late") for f in fault])
        # forfeits to the group's honest parties
        honest = (real == self.p_code_n) & ~caught
        dep = ctx.data["deposit"]
        received = np.zeros(flat.size, dtype=np.int64)
        forfeited = 0
        for gi in range(g):
            sl = slice(gi * n_p, (gi + 1) * n_p)
            lost = int(dep[sl][caught[sl]].sum())
            if lost:
                to = flat[sl][honest[sl]]
                before = lg.coins[to].copy() if to.size else None
                lg.slash(lost, to if to.size else None, "forfeit")
                if to.size:
                    received[np.flatnonzero(honest[sl]) + gi * n_p] = lg.coins[to] - before
                forfeited += lost
        ctx.data.update(
            real=real,
            caught=caught,
            fault=fault,
            models=models,
            dropped=dropped,
            honest=honest,
            received=received,
            forfeited=forfeited,
        )

    # -- 2. aggregate -----------------------------------------------------------------------
    def stage_aggregate(self, ctx) -> None:
        parties = ctx.data["parties"]
        g, n_p = parties.shape
        models, dropped, fault, caught = (
            ctx.data[k] for k in ("models", "dropped", "fault", "caught")
        )
        groups, weights, ok = [], [], np.zeros(g, dtype=bool)
        for gi in range(g):
            sl = slice(gi * n_p, (gi + 1) * n_p)
            admitted = models[sl][~dropped[sl]]
            bad_share = np.array([f == "bad_dec_share" for f in fault[sl]])
            late = np.array([f == "late" for f in fault[sl]]) & caught[sl]
            good_shares = int((~bad_share & ~late).sum())
            uncaught_bad = bool((bad_share & ~caught[sl]).any())
            ok[gi] = admitted.size > 0 and good_shares >= self.t_min and not uncaught_bad
            keep = ~dropped[sl] if admitted.size else np.ones(n_p, dtype=bool)
            groups.append(models[sl][keep])
            weights.append(self.data_sizes[parties[gi]][keep])  # FedAvg: ∝ data size
        agg = self.learn.average(groups, weights)
        ctx.data.update(aggregate=agg, decrypt_ok=ok)
        # each worker's published result class
        w = self.workers.size
        codes = self.model.strategy_of("W", self.workers)
        order = ctx.rng("workers").permutation(w)
        result = np.full(w, NONE, dtype=np.int64)
        first_seen = NONE
        for j in order:
            a = self.w_abbr[codes[j]]
            if a == "Correct":
                result[j] = CORRECT
            elif a == "WrongAggregate":
                result[j] = 1 + j  # its own wrong result
            elif a == "Coalition":
                c = int(self.coalition_of[j])
                result[j] = 1 + w + (c if c >= 0 else w + j)  # shared per coalition
            if result[j] != NONE and first_seen == NONE:
                first_seen = result[j]
        for j in order:  # IdleCopy: the first result published (nothing if none)
            if self.w_abbr[codes[j]] == "IdleCopy":
                result[j] = first_seen
        computes = np.array([self.w_abbr[c] in ("Correct", "WrongAggregate") for c in codes])
        ctx.data.update(result=result, computes=computes)

    # -- 3./4. leader with the majority check -----------------------------------------------
    def stage_leader(self, ctx) -> None:
        w = self.workers.size
        result = ctx.data["result"]
        vals, counts = np.unique(result[result != NONE], return_counts=True)
        majority = NONE
        if counts.size and counts.max() * 2 > w:
            majority = int(vals[np.argmax(counts)])
        failed: list[int] = []
        leader = -1
        rng = ctx.rng("lottery")
        while len(failed) < w:
            j = self.lottery.draw(rng, exclude=failed)
            if result[j] != NONE and result[j] == majority:
                leader = j
                break
            failed.append(j)
        ctx.data.update(leader=leader, failed=np.array(failed, dtype=np.int64), majority=majority)

    # -- 5. committee -----------------------------------------------------------------------
    def stage_commit(self, ctx) -> None:
        leader, result = ctx.data["leader"], ctx.data["result"]
        w = self.workers.size
        valid = False
        if leader >= 0:
            signers = int((result == result[leader]).sum())
            valid = signers > self.p.committee_threshold * w
        ctx.data["valid"] = valid

    # -- 6. settle --------------------------------------------------------------------------
    def stage_settle(self, ctx) -> None:
        m, lg, p, o = self.model, self.ledger, self.p, self.options
        d = ctx.data
        parties = d["parties"]
        flat = parties.reshape(-1)
        g, n_p = parties.shape
        st = m.state
        w = self.workers.size
        leader, valid, failed = d["leader"], d["valid"], d["failed"]
        earned = np.zeros(w, dtype=np.int64)
        # workers: slashed stakes of failed leaders, the rest released
        stake = d["stake"]
        keep = np.ones(w, dtype=bool)
        keep[failed] = False
        lg.release(self.workers[keep], stake[keep], "worker_stake_return")
        lost = int(stake[failed].sum())
        lg.slash(lost, None, "worker_stake_forfeit")
        earned[failed] -= stake[failed]
        worker_cost = np.where(d["computes"], p.c_eval, 0.0) + p.c_tx
        worker_cost[failed] += stake[failed] / m.nano
        worker_rev = np.zeros(w)
        fees_total = int(lg.balances[self.fees_acc])
        prev = self.group_model.copy()
        if valid:
            lj = self.workers[leader]
            lg.transfer(self.fees_acc, lj, fees_total, "fee_to_leader")
            lg.mint(lj, self.nano["block_reward"], "block_reward")
            earned[leader] += fees_total + self.nano["block_reward"]
            worker_rev[leader] += (fees_total + self.nano["block_reward"]) / m.nano
            self.wins[leader] += 1
            new = d["aggregate"].copy()
            upd = d["decrypt_ok"]
            if d["result"][leader] != CORRECT:  # a wrong aggregate got through
                new = self.learn.perturb(new, np.full(g, lj), o.wrong_sigma)
                if (~upd).any():
                    self.learn.release(new[~upd])
            self.group_model = np.where(upd, new, self.group_model)
        elif fees_total:
            lg.transfer(self.fees_acc, flat, d["fee"], "fee_refund")
        self.lottery.end_round(earned)
        # parties: deposits back unless forfeited
        caught, dep = d["caught"], d["deposit"]
        lg.release(flat[~caught], dep[~caught], "deposit_refund")
        # π_P
        scale = o.accuracy_scale or (100.0 if o.learning == "torch" else 1.0)
        acc_group = self.learn.eval_accuracy(self.group_model)
        if o.solo_baseline:
            solo = self.learn.train(np.repeat(prev, n_p), flat, int(p.period), "own")
            solo_acc = self.learn.eval_accuracy(solo)
            self.learn.release(solo)
        else:
            solo_acc = np.full(flat.size, np.nan)
        held_acc = np.repeat(acc_group, n_p)
        gain_pts = scale * (held_acc - solo_acc)
        gets_model = ~d["dropped"] & ~caught
        if p.pi_p_source == "given":
            pi = np.where(gets_model, p.pi_p, 0.0)
        else:
            pi = np.where(gets_model, p.coin * gain_pts, 0.0)
        real = d["real"]
        fee_paid = d["fee"] / m.nano if valid else np.zeros(flat.size)
        cost = (
            np.where(real == self.p_code_n, p.omega_p, 0.0)
            + fee_paid
            + np.where(caught, dep / m.nano, 0.0)
        )
        rev = pi + d["received"] / m.nano
        st.revenue[flat] += rev
        st.cost[flat] += cost
        st.revenue[self.workers] += worker_rev
        st.cost[self.workers] += worker_cost
        ctx.play("P", None, flat, rev - cost, rev, cost)
        ctx.play("W", None, self.workers, worker_rev - worker_cost, worker_rev, worker_cost)
        # release models no longer held
        drop = np.setdiff1d(np.concatenate([d["models"], d["aggregate"], prev]), self.group_model)
        self.learn.release(drop)
        # metrics and tables
        coins = lg.coins[self.workers].astype(float)
        richest = int(np.argmax(coins))
        rounds_done = ctx.round + 1
        fam = m.types.family
        honest_party = fam[flat] == FAMILY_CODE["honest"]
        dev_w = np.array([self.w_abbr[c] != "Correct" for c in m.strategy_of("W", self.workers)])
        used = ~d["dropped"] & np.repeat(d["decrypt_ok"], n_p) & bool(valid)
        ctx.metric("accuracy", float(np.mean(acc_group)))
        ctx.metric(
            "honest_accuracy",
            float(np.mean(held_acc[honest_party])) if honest_party.any() else np.nan,
        )
        ctx.metric("training_jobs", int(flat.size))
        ctx.metric("wasted_jobs", int((~used).sum()))
        ctx.metric("deviant_actions", int((real != self.p_code_n).sum() + dev_w.sum()))
        ctx.metric("deviant_detected", int(caught.sum() + dev_w[failed].sum()))
        ctx.metric("global_accuracy", float(np.mean(acc_group)))
        ctx.metric("party_accuracy_mean", float(np.mean(held_acc)))
        ctx.metric("solo_accuracy_mean", float(np.mean(solo_acc)))
        ctx.metric("party_gain_vs_solo", float(np.mean(gain_pts)))
        ctx.metric("leader", int(self.workers[leader]) if valid else -1)
        ctx.metric("leader_attempts", int(len(failed) + (1 if leader >= 0 else 0)))
        ctx.metric("block_valid", bool(valid))
        ctx.metric("decrypt_failed", int((~d["decrypt_ok"]).sum()))
        ctx.metric("gini_worker_coins", gini(coins))
        ctx.metric("richest_worker_win_share", float(self.wins[richest] / rounds_done))
        ctx.metric("n_caught", int(caught.sum()))
        ctx.metric("forfeited", d["forfeited"] / m.nano)
        ctx.metric("pi_p_realised_mean", float(np.mean(pi)))
        self.leader_rows.append(
            {
                "round": ctx.round,
                "leader": int(self.workers[leader]) if leader >= 0 else -1,
                "attempts": int(len(failed) + (1 if leader >= 0 else 0)),
                "valid": bool(valid),
                "failed": ",".join(str(int(self.workers[j])) for j in failed),
            }
        )
        self.party_rows.append(
            {
                "round": np.full(flat.size, ctx.round),
                "group": np.repeat(np.arange(g), n_p),
                "party": flat,
                "strategy": np.array([self.p_abbr[c] for c in m.strategy_of("P", flat)]),
                "realised": np.array([self.p_abbr[c] for c in real]),
                "caught": caught,
                "accuracy": held_acc,
                "solo_accuracy": solo_acc,
                "gain_points": gain_pts,
                "pi": pi,
            }
        )

    def measured_params(self) -> dict[str, Any]:
        """Measured rates for the closed form (``derelay compare``): with a measured π_P,
        its mean realised value over the parties that received the model."""
        if self.p.pi_p_source != "measured" or not self.party_rows:
            return {}
        pi = np.concatenate([r["pi"] for r in self.party_rows])
        got = ~np.concatenate([r["caught"] for r in self.party_rows])
        if not got.any():
            return {}
        return {"pi_p": max(float(pi[got].mean()), 0.0), "pi_p_source": "given"}

    def tables(self) -> dict[str, Any]:
        import pandas as pd

        parties = (
            pd.DataFrame(
                {k: np.concatenate([r[k] for r in self.party_rows]) for k in self.party_rows[0]}
            )
            if self.party_rows
            else pd.DataFrame()
        )
        return {"leaders": pd.DataFrame(self.leader_rows), "parties": parties}

    def meta(self) -> dict[str, Any]:
        return {
            "workers": self.workers.tolist(),
            "t_min": self.t_min,
            "worker_families": [int(f) for f in self.worker_family],
            "honest_family_code": FAMILY_CODE["honest"],
        }
