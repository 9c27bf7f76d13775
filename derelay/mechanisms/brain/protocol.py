"""BRAIN's ABM round on the generic engine (issue 13).

Participants ``0 .. n_nodes - 1`` are BRAIN nodes (every participant when the run's
parameters do not name ``n_nodes``); each locks ``deposit`` (paid in from EXTERNAL) at
set-up.  One round:

1. **suggest** - ``k_proposers`` active nodes are drawn (stream ``roles``); each builds a
   suggestion from its *local* copy of the shared model by its proposer strategy
   (``N``: ``train``; ``Lazy``: ``perturb``; ``Poison``: ``train(data="label_flip")``;
   ``Stale``: ``train`` from the shared model ``stale_lag`` rounds old) and SUGGESTs it
   (FIFO queue ``push``).
2. **evaluate** - per suggestion, in queue order on one block clock (the next request's
   phase (2)-a starts when the previous one's ends: pipelining):

   * (2)-a sortition per epoch (Alg. 2): in every epoch ``h // E`` that starts before
     ``h_start + T_C`` each eligible node other than the proposer is elected iff its VRF
     draw ``vrf_u(sk, request, seed_{r-f}, epoch) < p_elect``; electees commit one block
     later (``commit_latency``) in random order within a block, until Q_C have committed;
     otherwise the request is cancelled after T_C (a-fallback: no payments).  The seed
     advances ``seed_r = H(seed_{r-1} || r)`` after each phase (2)-a.
   * scoring: ``N`` members score the suggestion and (relative mode) their local current
     model with ``score_local``; ``RandomScore`` draws uniform scores, ``Inflate``
     reports (1, 0), ``Deflate`` (0, 1) for (suggestion, current); ``Withhold`` and
     ``BadReveal`` commit something without evaluating.
   * (2)-b reveal (Alg. 3) one block after the end of (2)-a; ``BadReveal`` reveals a
     value its commitment does not open (rejected), ``Withhold`` never reveals.  The Q_R-th
     valid reveal executes; with fewer than Q_R after T_R the fallback applies: ``b-I``
     decides on the revealed scores (none revealed: no decision), ``b-II`` pushes the
     request back with a new committee, at most ``max_requeue`` times.
   * the median of the revealed scores decides (:func:`rules.accept`); a member without
     local validation data (NaN score) abstains (:func:`rules.scored`).  Flows: R_S to an accepted proposer, P_S
     slashed from a rejected one; R_C per seated committer, R_R per valid reveal, R_U to
     the executor; P_R slashed from withholders, P_C from bad revealers.  Penalties are
     burned from the deposit escrow; rewards are paid from ``TREASURY``, which is funded
     from EXTERNAL (users' fees) as it pays.
   * every ``CorrectAgg`` node merges an accepted update with Alg. 1 (its own
     :class:`rules.WMA` and one ``mix`` per node); ``OmitUpdates`` nodes skip it.
3. **finality** - blocks tick through epochs; COMMIT (verify_fast + COMMIT_H), the
   quorum-completing pop, REVEAL_H (also a rejected one) and SUGGEST (push) are
   transactions with Table II gas and cost ``c_tx`` each.  Finality is final consensus
   (no forks): ``finality_f`` only selects the seed ``seed_{r-f}``.

Scores: with the torch backend a score is an accuracy in [0, 1].  The abstract backend's
values are in (c) units, so the protocol maps a value v to an accuracy-like score
``0.95 - 0.85 exp(-v / abstract_scale)`` (clipped at 0): monotone, 0.10 at genesis (chance
on 10 classes).  Alg. 1's weights are the median scores; a window whose weights sum to 0
leaves the model unchanged (alpha = 0).

Per-round metrics: ``accuracy`` (the shared model held by CorrectAgg nodes),
``accept_honest`` / ``accept_lazy`` / ``accept_stale`` / ``accept_poison`` (acceptance
rates of decided suggestions, NaN without any), ``quorum_fail_rate``, ``gas_per_accepted``,
``models_identical`` (all CorrectAgg nodes hold hash-identical models), and more.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from derelay.engine import Protocol
from derelay.engine.ledger import to_nano

from .rules import WMA, Request, accept, commitment, median, next_seed, scored, vrf_u


class BrainOptions(BaseModel):
    """Options of BRAIN's round protocol (the mechanism's parameters are in its space)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    learning: Literal["abstract", "torch"] = "abstract"
    learning_config: dict = Field(default_factory=dict)
    lazy_strategy: Literal["Lazy", "Stale"] = Field(
        "Lazy", description="the proposer strategy agents of the lazy family play"
    )
    lazy_sigma: float | None = Field(None, ge=0.0, description="perturb sigma (None: backend)")
    stale_lag: int = Field(3, ge=1, description="Stale: train from the model this many rounds old")
    max_requeue: int = Field(2, ge=0, description="b-II: re-queues before a request is dropped")
    commit_latency: int = Field(1, ge=1, description="blocks from election to COMMIT")
    reveal_latency: int = Field(1, ge=1, description="blocks from the end of (2)-a to REVEAL")
    abstract_scale: float = Field(10.0, gt=0.0, description="abstract value -> score scale")
    trainers_per_round: int | None = Field(
        None, ge=1, description="cap on proposers (training jobs) per round; None: k_proposers"
    )


ACC0, ACC_MAX = 0.10, 0.95


class BrainProtocol(Protocol):
    Options = BrainOptions
    streams = ("roles", "learn", "sortition", "score", "order")
    system_accounts = ("TREASURY",)
    stages = ("suggest", "evaluate", "finalize")
    agent_columns = ("deposit_left", "money_cum")

    # --- set-up -----------------------------------------------------------------------
    def setup(self) -> None:
        m, p, o = self.model, self.p, self.options
        from derelay.learning import make_learning

        # the nodes: participants 0 .. n_nodes - 1 when n_nodes is given, else the whole
        # population (a run that sets only n_participants, e.g. derelay compare, makes every
        # agent a BRAIN node; the defaults are the paper's 21 either way)
        given = dict(getattr(m.cfg, "params", None) or {})
        self.nodes = np.arange(int(p.n_nodes) if "n_nodes" in given else m.n)
        # the data (and the learning noise) from the shared "data" stream: the same for
        # every mechanism run with this seed (common random numbers, docs/ENGINE.md sec. 6)
        data_seed = int(m.streams.shared("data").integers(0, 2**63))
        self.learn = make_learning(
            o.learning,
            o.learning_config or None,
            n_participants=m.n,
            seed_seq=np.random.SeedSequence(data_seed),
        )
        self.torch = o.learning == "torch"
        # lazy family: Lazy (default) or Stale
        if o.lazy_strategy != "Lazy":
            lazy, stale = m.strategy_code("P", "Lazy"), m.strategy_code("P", "Stale")
            col = m.role_code("P")
            m.state.strategy[m.state.strategy[:, col] == lazy, col] = stale
            m.strategies_changed()
        self.train_kind = m.behaviour_vector("P", "train", "own", object)
        self.score_kind = m.behaviour_vector("C", "score", "honest", object)
        self.reveal_kind = m.behaviour_vector("C", "reveal", "valid", object)
        self.applies = m.behaviour_vector("A", "apply", True, bool)
        # deposits
        self.nano = {
            k: to_nano(getattr(p, k))
            for k in ("r_c", "r_r", "r_u", "r_s", "p_c", "p_r", "p_s", "deposit")
        }
        nodes = self.nodes
        dep = self.nano["deposit"]
        if dep:
            self.ledger.external(nodes, dep, "deposit_in")
            self.ledger.lock(nodes, dep, "deposit")
        self.model.state.deposit_left = np.zeros(m.n, dtype=np.int64)
        self.model.state.deposit_left[nodes] = dep
        # coins only (rewards - penalties - costs), without the value of the model held
        self.model.state.money_cum = np.zeros(m.n)
        self.need = min(dep, max(self.nano["p_c"], self.nano["p_r"], self.nano["p_s"]))
        self.treasury = self.ledger.account("TREASURY")
        # models: every node starts from M_0 with its own Alg. 1 state
        g = self.genesis_id = int(self.learn.genesis())
        self.local = np.full(nodes.size, g, dtype=np.int64)
        self.wma = [WMA(int(p.window)) for _ in nodes]
        self.history: list[int] = [g]  # the shared model at the end of each round
        self.sk = [int(x) for x in m.streams.rng("sortition").integers(0, 2**63, nodes.size)]
        self.seeds = [int(m.streams.rng("sortition").integers(0, 2**63))]
        self.height = 0
        self.request_id = 0
        self.totals = {"gas": 0.0, "accepted": 0, "decided": 0, "suggested": 0}
        self.counts: dict[str, list] = {}  # decided / accepted per proposer kind
        self.gas = {
            k: float(getattr(p, f"gas_{k}"))
            for k in ("verify_fast", "commit_h", "reveal_h", "push", "pop")
        }

    # --- helpers ----------------------------------------------------------------------
    def score_of(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.torch:
            return v
        s = ACC_MAX - (ACC_MAX - ACC0) * np.exp(-v / self.options.abstract_scale)
        return np.maximum(s, 0.0)

    def scores(self, ids, scorers) -> np.ndarray:
        return self.score_of(self.learn.score_local(ids, scorers))

    def accuracy(self, ids) -> np.ndarray:
        return self.score_of(self.learn.eval_accuracy(ids))

    def model_hashes(self, ids) -> list[str]:
        if self.torch:
            return list(self.learn.hashes(ids))
        vals = np.asarray(self.learn.eval_accuracy(ids), dtype=np.float64)
        return [hashlib.sha256(v.tobytes()).hexdigest() for v in vals]

    def active(self) -> np.ndarray:
        dl = self.model.state.deposit_left[self.nodes]
        return self.nodes[(dl >= self.need) & (dl > 0) | (self.need == 0)]

    def correct(self) -> np.ndarray:
        codes = self.model.strategy_of("A", self.nodes)
        return self.nodes[self.applies[codes]]

    def shared(self) -> int:
        """The shared model: held by the CorrectAgg nodes (the first one's copy)."""
        c = self.correct()
        return int(self.local[c[0]]) if c.size else int(self.history[-1])

    def pay(self, who: int, amount_nano: int, reason: str) -> float:
        """A reward from the treasury (funded from EXTERNAL as it pays); coins paid."""
        if amount_nano <= 0:
            return 0.0
        self.ledger.external(self.treasury, amount_nano, "fees_in")
        self.ledger.transfer(self.treasury, int(who), amount_nano, reason)
        return amount_nano / self.model.nano

    def pay_many(self, who: np.ndarray, amount_nano: int, reason: str) -> np.ndarray:
        """The same reward to each of ``who`` (one treasury top-up, one transfer)."""
        who = np.asarray(who, dtype=np.int64)
        if amount_nano <= 0 or not who.size:
            return np.zeros(who.size)
        self.ledger.external(self.treasury, amount_nano * who.size, "fees_in")
        self.ledger.transfer(self.treasury, who, amount_nano, reason)
        return np.full(who.size, amount_nano / self.model.nano)

    def penalise(self, who: int, amount_nano: int, reason: str, d: dict) -> float:
        """Slash up to ``amount_nano`` from ``who``'s deposit and burn it; coins slashed."""
        st = self.model.state
        amt = int(min(amount_nano, st.deposit_left[int(who)]))
        d["penalty_due"] += amount_nano / self.model.nano
        if amt <= 0:
            return 0.0
        self.ledger.slash(amt, None, reason)
        st.deposit_left[int(who)] -= amt
        d["burned"] += amt / self.model.nano
        return amt / self.model.nano

    # --- stages -----------------------------------------------------------------------
    def stage_suggest(self, ctx) -> None:
        m, p, o = self.model, self.p, self.options
        act = self.active()
        cap = o.trainers_per_round
        k = min(int(p.k_proposers), act.size, int(cap) if cap is not None else act.size)
        props = np.sort(ctx.rng("roles").choice(act, size=k, replace=False)) if k else act[:0]
        codes = m.strategy_of("P", props)
        kinds = self.train_kind[codes]
        sugg = np.full(k, -1, dtype=np.int64)
        parents = self.local[props]
        stale_parent = self.history[max(0, len(self.history) - 1 - o.stale_lag)]
        for kind in ("own", "label_flip", "stale", "perturb"):
            sel = np.flatnonzero(kinds == kind)
            if not sel.size:
                continue
            if kind == "perturb":
                sugg[sel] = self.learn.perturb(
                    parents[sel], props[sel], o.lazy_sigma, round=ctx.round
                )
            else:
                par = parents[sel] if kind != "stale" else np.full(sel.size, stale_parent)
                data = "label_flip" if kind == "label_flip" else "own"
                sugg[sel] = self.learn.train(par, props[sel], data=data, round=ctx.round)
        trains = kinds != "perturb"
        m.state.cost[props] += np.where(trains, p.c_train, 0.0) + p.c_tx
        m.state.role[self.nodes] = m.role_code("A")
        m.state.role[props] = m.role_code("P")
        ctx.data.update(props=props, codes=codes, sugg=sugg, trains=trains)

    def _sortition(self, req_id: int, proposer: int, h_start: int, ctx) -> list:
        """Phase (2)-a electees as (block, node) commit events in order, at most Q_C."""
        p, o = self.p, self.options
        E, tc, qc = int(p.epoch_blocks), int(p.t_commit), int(p.q_commit)
        seed = self.seeds[max(0, len(self.seeds) - 1 - int(p.finality_f))]
        pending = {int(i) for i in self.active() if int(i) != proposer}
        order = ctx.rng("order")
        events: list[tuple[int, int]] = []
        for e in range(h_start // E, (h_start + tc) // E + 1):
            b = max(h_start, e * E) + o.commit_latency
            if b - h_start > tc or len(events) >= qc:
                break
            won = [i for i in sorted(pending) if vrf_u(self.sk[i], req_id, seed, e) < p.p_elect]
            for k in order.permutation(len(won)).tolist():
                pending.discard(won[k])
                events.append((b, won[k]))
        return events[:qc]

    def _values(self, members: np.ndarray, codes: np.ndarray, sid: int, rng) -> np.ndarray:
        """(suggestion, current-model) scores each member commits to."""
        sk = self.score_kind[codes]
        vals = np.zeros((members.size, 2))
        hon = np.flatnonzero(sk == "honest")
        if members.size:
            # every member's reading is drawn (common random numbers: a deviant committee
            # leaves the learning backend's noise sequence as in its all-honest twin); only
            # the honest members use theirs (and pay C_eval for it)
            ids = [sid] + [int(self.local[i]) for i in members]
            sc = self.scores(ids, members)
            vals[hon, 0] = sc[hon, 0]
            vals[hon, 1] = sc[hon, 1 + hon]
        rnd = np.flatnonzero(sk == "random")
        vals[rnd] = rng.random((rnd.size, 2))
        vals[sk == "inflate"] = (1.0, 0.0)
        vals[sk == "deflate"] = (0.0, 1.0)
        return vals

    def _attempt(self, req_id, proposer, sid, h, ctx, d, plays) -> tuple:
        """One pass through phases (2)-a and (2)-b: (request, decision or None, next h)."""
        m, p, o = self.model, self.p, self.options
        relative = p.score_mode == "relative"
        rng = ctx.rng("score")
        req = Request(
            proposer, h, int(p.q_commit), int(p.q_reveal), int(p.t_commit), int(p.t_reveal)
        )
        events = self._sortition(req_id, proposer, h, ctx)
        r = len(self.seeds)
        self.seeds.append(next_seed(self.seeds[-1], r))
        if len(events) < int(p.q_commit):
            req.expire_commit(h + int(p.t_commit) + 1)  # a-fallback: cancelled, no payments
            members = np.array([i for _, i in events], dtype=np.int64)
            codes = m.strategy_of("C", members)
            ev = np.where(self.score_kind[codes] == "honest", 2 if relative else 1, 0)
            for i, e in zip(members.tolist(), ev.tolist(), strict=True):
                plays.append([i, int(m.strategy_of("C", [i])[0]), 0.0, e * p.c_eval + p.c_tx, 0])
                d["gas"] += self.gas["verify_fast"] + self.gas["commit_h"]
            return req, None, h + int(p.t_commit) + 1
        members = np.array([i for _, i in events], dtype=np.int64)
        codes = m.strategy_of("C", members)
        vals = self._values(members, codes, sid, rng)
        nonce = {int(i): bytes(rng.integers(0, 256, 16, dtype=np.uint8)) for i in members}
        value = {int(i): (float(vals[k, 0]), float(vals[k, 1])) for k, i in enumerate(members)}
        for b, i in events:
            req.commit(i, commitment(value[i], i, nonce[i]), b, True)
        d["gas"] += members.size * (self.gas["verify_fast"] + self.gas["commit_h"])
        d["gas"] += self.gas["pop"]
        rk = self.reveal_kind[codes]
        ev = np.where(self.score_kind[codes] == "honest", 2 if relative else 1, 0)
        seat = {
            int(i): [int(i), int(c), 0.0, e * p.c_eval + p.c_tx, 0]
            for i, c, e in zip(members, codes, ev, strict=True)
        }
        hb = req.h_c + o.reveal_latency
        for k in ctx.rng("order").permutation(members.size).tolist():
            i = int(members[k])
            if rk[k] == "none":
                continue
            v = value[i] if rk[k] == "valid" else (1.0 - value[i][0], value[i][1] + 1.0)
            d["gas"] += self.gas["reveal_h"]
            seat[i][3] += p.c_tx
            req.reveal(i, v, nonce[i], hb)
        if req.phase == "reveal":
            req.expire_reveal(req.h_c + int(p.t_reveal) + 1)
        nano = self.nano
        for i, v in zip(
            members.tolist(), self.pay_many(members, nano["r_c"], "reward_commit"), strict=True
        ):
            seat[i][2] += v
        rv_ids = np.array(sorted(req.revealed), dtype=np.int64)
        for i, v in zip(
            rv_ids.tolist(), self.pay_many(rv_ids, nano["r_r"], "reward_reveal"), strict=True
        ):
            seat[i][2] += v
        for i in req.withheld:
            seat[i][3] += self.penalise(i, nano["p_r"], "penalty_reveal", d)
            seat[i][4] = 1
        for i in req.rejected:
            seat[i][3] += self.penalise(i, nano["p_c"], "penalty_commit", d)
            seat[i][4] = 1
        rv = sorted(req.revealed)
        adv = sum(1 for i in rv if self.score_kind[m.strategy_of("C", [i])[0]] != "honest")
        d["n_committees"] += 1
        d["adv_major"] += int(len(rv) > 0 and 2 * adv >= len(rv))
        decision = None
        if req.phase == "done" or (p.fallback == "b-I" and rv):
            if req.executor is None:  # b-I: the last valid revealer executes
                req.executor = int(req.order[max(req.order.index(j) for j in rv)])
            seat[req.executor][2] += self.pay(req.executor, nano["r_u"], "reward_update")
            sv, cv = scored([req.revealed[i] for i in rv], relative)
            if sv:  # every revealer without a score (no local data): no decision
                decision = (accept(sv, cv if relative else None, p), float(median(sv)))
        plays.extend(seat.values())
        h_next = req.h_c  # pipelining: the next request's (2)-a starts when this one's ends
        if decision is None:
            h_next = req.h_c + int(p.t_reveal) + 1  # b-II re-queue (or nothing to decide)
        return req, decision, h_next

    def stage_evaluate(self, ctx) -> None:
        p = self.p
        d = ctx.data
        props, sugg = d["props"], d["sugg"]
        d.update(
            burned=0.0, penalty_due=0.0, gas=0.0, blocks0=self.height, n_committees=0, adv_major=0
        )
        outcome = np.zeros(props.size, dtype=np.int8)  # 0 undecided, 1 accepted, 2 rejected
        prop_money = np.zeros((props.size, 2))  # R_S received, P_S slashed
        plays: list[list] = []  # committee seats: [agent, code, revenue, cost]
        accepted_models: list[tuple[int, float]] = []
        tries = 1 + (int(self.options.max_requeue) if p.fallback == "b-II" else 0)
        for j in range(props.size):
            proposer, sid = int(props[j]), int(sugg[j])
            d["gas"] += self.gas["push"]
            h, decision = self.height, None
            for _ in range(tries):
                self.request_id += 1
                req, decision, h = self._attempt(self.request_id, proposer, sid, h, ctx, d, plays)
                if decision is not None or req.phase == "cancelled":
                    break
            if decision is not None:
                ok, score = decision
                outcome[j] = 1 if ok else 2
                if ok:
                    prop_money[j, 0] = self.pay(proposer, self.nano["r_s"], "reward_suggest")
                    accepted_models.append((sid, score))
                else:
                    prop_money[j, 1] = self.penalise(
                        proposer, self.nano["p_s"], "penalty_suggest", d
                    )
            self.height = max(self.height, h)
        d.update(
            outcome=outcome, prop_money=prop_money, plays=plays, accepted_models=accepted_models
        )

    def stage_finalize(self, ctx) -> None:
        m, p, st = self.model, self.p, self.model.state
        d = ctx.data
        # Alg. 1 on every CorrectAgg node: its own WMA state and one mix per node
        corr = self.correct()
        acc_before = self.accuracy(self.local[self.nodes])
        applied = np.zeros(self.nodes.size)
        for sid, a in d["accepted_models"]:
            if not corr.size:
                break
            al = np.array([self._alpha(int(i), a) for i in corr])
            old = self.local[corr].copy()
            self.local[corr] = self.learn.mix(old, np.full(corr.size, sid), al)
            self._release_old(old)
            applied[corr] += 1
        acc_after = self.accuracy(self.local[self.nodes])
        gain = 100.0 * (acc_after - acc_before)  # 1 coin = 1 accuracy point of a model held
        # proposers
        props, codes = d["props"], d["codes"]
        c_p = np.where(d["trains"], p.c_train, 0.0) + p.c_tx
        rev_p, cost_p = d["prop_money"][:, 0], d["prop_money"][:, 1] + c_p
        np.add.at(st.revenue, props, rev_p)
        np.add.at(st.cost, props, d["prop_money"][:, 1])  # c_p was added in stage_suggest
        ctx.play("P", codes, props, rev_p - cost_p, rev_p, cost_p)
        np.add.at(st.money_cum, props, rev_p - cost_p)
        # committee seats
        if d["plays"]:
            arr = np.array(d["plays"], dtype=np.float64)
            agents, scodes = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
            np.add.at(st.revenue, agents, arr[:, 2])
            np.add.at(st.cost, agents, arr[:, 3])
            ctx.play("C", scodes, agents, arr[:, 2] - arr[:, 3], arr[:, 2], arr[:, 3])
            np.add.at(st.money_cum, agents, arr[:, 2] - arr[:, 3])
            st.role[np.setdiff1d(agents, props)] = m.role_code("C")
        # nodes
        c_a = applied * p.c_apply
        st.revenue[self.nodes] += gain
        st.cost[self.nodes] += c_a
        ctx.play("A", m.strategy_of("A", self.nodes), self.nodes, gain - c_a, gain, c_a)
        st.money_cum[self.nodes] -= c_a
        self.history.append(self.shared())
        keep = self.options.stale_lag + 2
        if len(self.history) > keep:
            dropped = self.history[:-keep]
            self.history = self.history[-keep:]
            self._release_old(dropped)
        self._release_old(d["sugg"])
        self._metrics(ctx, corr, applied, gain)

    def _alpha(self, node: int, a: float) -> float:
        return float(self.wma[node].push(a))

    def _release_old(self, ids) -> None:
        keep = set(self.history) | set(self.local.tolist())
        drop = [int(i) for i in np.unique(ids) if int(i) not in keep]
        if drop:
            self.learn.release(drop)

    def _metrics(self, ctx, corr, applied, gain) -> None:
        d, m = ctx.data, self.model
        outcome, codes = d["outcome"], d["codes"]
        decided = outcome > 0
        k = outcome.size

        def rate(abbr):
            sel = decided & (codes == m.strategy_code("P", abbr))
            name = {"N": "honest", "Lazy": "lazy", "Stale": "stale", "Poison": "poison"}[abbr]
            ctx.metric(f"n_decided_{name}", int(sel.sum()))
            ctx.metric(f"n_accepted_{name}", int((outcome[sel] == 1).sum()))
            cnt = self.counts.setdefault(name, [0, 0])
            cnt[0] += int(sel.sum())
            cnt[1] += int((outcome[sel] == 1).sum())
            return float((outcome[sel] == 1).mean()) if sel.any() else float("nan")

        n_acc = int((outcome == 1).sum())
        shared = self.shared()
        hs = self.model_hashes(self.local[corr]) if corr.size else []
        ctx.metric("accuracy", float(self.accuracy([shared])[0]))
        ctx.metric("suggestions", k)
        ctx.metric("decided", int(decided.sum()))
        ctx.metric("accepted", n_acc)
        ctx.metric("accept_honest", rate("N"))
        ctx.metric("accept_lazy", rate("Lazy"))
        ctx.metric("accept_stale", rate("Stale"))
        ctx.metric("accept_poison", rate("Poison"))
        ctx.metric("quorum_fail_rate", float((~decided).mean()) if k else float("nan"))
        ctx.metric("gas", d["gas"])
        ctx.metric("gas_per_accepted", d["gas"] / n_acc if n_acc else float("nan"))
        ctx.metric("models_identical", float(len(set(hs)) <= 1))
        ctx.metric("distinct_correct_models", len(set(hs)))
        ctx.metric(
            "committee_adv_majority",
            d["adv_major"] / d["n_committees"] if d["n_committees"] else float("nan"),
        )
        ctx.metric(
            "v_update_measured",
            float(gain[corr].sum() / applied[corr].sum())
            if corr.size and applied[corr].sum()
            else float("nan"),
        )
        ctx.metric("blocks", self.height - d["blocks0"])
        ctx.metric("height", self.height)
        ctx.metric("burned_penalties", d["burned"])
        ctx.metric("penalty_uncollected", d["penalty_due"] - d["burned"])
        ctx.metric("active_nodes", int(self.active().size))
        ctx.metric("applied_updates", float(applied.sum()))
        # docs/ENGINE.md sec. 6 conventions
        fam = m.types.family[self.nodes]
        hon = self.nodes[fam == 0]
        ctx.metric(
            "honest_accuracy",
            float(self.accuracy(self.local[hon]).mean()) if hon.size else float("nan"),
        )
        trains = d["trains"]
        ctx.metric("training_jobs", int(trains.sum()))
        ctx.metric("wasted_jobs", int((trains & (outcome != 1)).sum()))
        n_code = m.strategy_code("P", "N")
        dev_p = codes != n_code
        acts = int(dev_p.sum())
        det = int((dev_p & (outcome == 2)).sum())
        if d["plays"]:
            arr = np.array(d["plays"], dtype=np.float64)
            dev_c = arr[:, 1].astype(np.int64) != m.strategy_code("C", "N")
            acts += int(dev_c.sum())
            det += int((dev_c & (arr[:, 4] > 0)).sum())
        omit = ~self.applies[m.strategy_of("A", self.nodes)]
        acts += int(omit.sum()) * n_acc  # one omission per accepted update and node
        ctx.metric("deviant_actions", acts)
        ctx.metric("deviant_detected", det)
        self.counts.setdefault("applied", [0.0, 0.0])
        self.counts["applied"][0] += float(applied[corr].sum()) if corr.size else 0.0
        self.counts["applied"][1] += float(gain[corr].sum()) if corr.size else 0.0
        self.totals["gas"] += d["gas"]
        self.totals["accepted"] += n_acc
        self.totals["decided"] += int(decided.sum())
        self.totals["suggested"] += k

    def measured_params(self) -> dict[str, float]:
        """The rates measured so far, as space keys (fed back into the closed form, e.g. by
        ``derelay compare``; pooled like :func:`calibrate.measured_rates`)."""
        out: dict[str, float] = {}
        for key, name in (
            ("pi_n", "honest"),
            ("pi_l", "lazy"),
            ("pi_stale", "stale"),
            ("pi_p", "poison"),
        ):
            dec, acc = self.counts.get(name, [0, 0])
            if dec:
                out[key] = acc / dec
        if self.totals["suggested"]:
            out["pi_q"] = self.totals["decided"] / self.totals["suggested"]
        n_app, gain = self.counts.get("applied", [0.0, 0.0])
        if n_app:
            out["v_update"] = max(0.0, gain / n_app)
        return out

    def meta(self) -> dict:
        return {
            "brain": {
                "totals": dict(self.totals),
                "height": self.height,
                "learning": self.options.learning,
                "nodes": int(self.nodes.size),
                "measured": self.measured_params(),
            }
        }
