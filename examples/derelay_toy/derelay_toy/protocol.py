"""The toy's round: assign, work, audit, settle (vectorised over all pairs)."""

from __future__ import annotations

import numpy as np

from derelay.engine import Protocol
from derelay.engine.ledger import to_nano


class ToyProtocol(Protocol):
    streams = ("roles", "audit")
    system_accounts = ("CLIENT",)
    stages = ("assign", "work", "audit", "settle")

    def setup(self) -> None:
        p, m = self.p, self.model
        self.nano = {k: to_nano(getattr(p, k)) for k in ("reward", "fee", "deposit")}
        self.works = m.behaviour_vector("W", "works", True, bool)
        self.audits = m.behaviour_vector("A", "audits", True, bool)
        self.client = self.ledger.account("CLIENT")

    def stage_assign(self, ctx) -> None:
        m = self.model
        perm = ctx.rng("roles").permutation(m.n)
        k = m.n // 2
        ctx.data["w"], ctx.data["a"] = np.sort(perm[:k]), perm[k : 2 * k]
        m.state.role[ctx.data["w"]] = m.role_code("W")
        m.state.role[ctx.data["a"]] = m.role_code("A")
        stake = np.minimum(self.ledger.coins[ctx.data["w"]], self.nano["deposit"])
        self.ledger.lock(ctx.data["w"], stake, "stake")
        ctx.data["stake"] = stake

    def stage_work(self, ctx) -> None:
        w = ctx.data["w"]
        ctx.data["worked"] = self.works[self.model.strategy_of("W", w)]
        self.model.state.cost[w] += np.where(ctx.data["worked"], self.p.c_train, 0.0)

    def stage_audit(self, ctx) -> None:
        a = ctx.data["a"]
        audited = self.audits[self.model.strategy_of("A", a)]
        self.model.state.cost[a] += np.where(audited, self.p.c_eval, 0.0)
        hit = ctx.rng("audit").random(a.size) < self.p.p_detect
        ctx.data["caught"] = audited & hit & ~ctx.data["worked"]

    def stage_settle(self, ctx) -> None:
        m, lg, d = self.model, self.ledger, ctx.data
        w, a, caught, stake = d["w"], d["a"], d["caught"], d["stake"]
        paid = ~caught
        owed = int(paid.sum()) * self.nano["reward"] + a.size * self.nano["fee"]
        lg.external(self.client, owed, "client_payment")
        lg.transfer(self.client, w[paid], self.nano["reward"], "reward")
        lg.transfer(self.client, a, self.nano["fee"], "fee")
        lg.release(w[paid], stake[paid], "stake_return")
        lg.slash(int(stake[caught].sum()), None, "stake_slashed")
        m.state.revenue[w[paid]] += self.p.reward
        m.state.cost[w[caught]] += stake[caught] / m.nano
        m.state.revenue[a] += self.p.fee
        st = m.state
        ctx.play("W", None, w, st.revenue[w] - st.cost[w], st.revenue[w], st.cost[w])
        ctx.play("A", None, a, st.revenue[a] - st.cost[a], st.revenue[a], st.cost[a])
        ctx.metric("n_caught", int(caught.sum()))
        ctx.metric("paid_out", owed / m.nano)
