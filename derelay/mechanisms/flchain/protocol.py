"""FLChain's ABM round on the generic engine (issue 14, steps 0-4).

One FLM *lifetime* is ``flm_lifetime`` = L rounds.  System accounts: ``AUTH``, ``PAC``
and ``FED`` (one pooled account for every federation; each federation's share of it is
tracked in :attr:`FLChainProtocol.fed_nano` so its residue and shortfall are reported);
buyers pay from ``EXTERNAL``.  Every payment is one ledger operation per Table III row
(reason ``flchain.<row key>``, :data:`~.closed_form.TABLE_III`) or per derived row
(``compensation``, ``refund``, ``node_deposit``, ``node_slash``, ``block_reward``,
``deposit_funding``).

0. **Lifetime start** (round % L == 0): agents are drawn into ``n_nodes`` FLChain
   nodes, ``reporter_share`` reporters and DP candidates; each candidate states an
   expected income EINC and a cost COST per FLM (means K p_FLM / cap and c, spread
   ``intention_spread``); Alg. 1 (:func:`~.alg1.greedy_np`) allocates them; members
   register (``register_dp``: the deposit d is *pre-frozen*, i.e. locked in escrow in
   PAC's custody, Sec. V-B; ``upload_ci``) and each FLM is registered
   (``register_flm``).  A DP whose balance is short of d + f_CI brings the difference
   from outside (``deposit_funding`` from EXTERNAL; option ``deposit_funding``).
   Nodes lock a deposit d (derived).  Each federation is audited with probability
   ``audit`` by a random reporter.
1. **Per round and federation**: members train through the learning primitives
   (EarlyAbort: ``steps_fraction`` of the steps; Poison: ``data="label_flip"``;
   MalformedCipher trains nothing; Abort stops at a random round); in the lifetime's
   first round MalformedCipher / BadUnmaskShare messages are checked by each partner
   with probability ``q_crypto`` and by the auditing reporter; a malformed message
   nobody checks breaks the unmasking and the FL fails (Table IV Unrep.: no sale).
   The verified updates are averaged (``average``).  The leader (``leader`` rule over
   the nodes' RELY) documents the aggregate; a WrongAgg leader is out-voted when at
   least 2/3 of the nodes are CorrectAgg (BFT), slashed (``node_slash`` to PAC) and
   replaced by the next node by the rule; otherwise its wrong aggregate is accepted
   and that round's averaging is lost.
2. **Reports** move money row by row: misbehaviour (``report_fee``, ``forfeit``,
   ``report_reward``, ``forfeit_to_fed``), unqualified DP (``uq_report_fee``,
   ``uq_auth_fee``, ``uq_forfeit``, ``uq_report_reward``, ``uq_forfeit_to_fed``), false
   reports (``false_report_fee`` / ``false_uq_report_fee``).  A report halts the FLM
   (forced halting): honest members get ``compensation`` cp_j = p_FLM RELY_j^2 / N
   from FED and their deposits back.  PAC or FED never overdraw: a row they cannot pay
   is paid as far as their balance goes and the rest is recorded as a *shortfall*
   (``pac_shortfall`` / ``fed_shortfall``; PAC solvency reporting); a negative row
   (d - r1 < 0) is paid as 0 and counted in ``negative_rows``.
3. **Lifetime end**: an FLM neither halted nor failed is bought ``k_sales`` times,
   each purchase EXTERNAL -> PAC -> FED -> DPs in proportion to RELY_j^2 / N; the
   residue stays in FED and is reported (``sale_residue``).  Semantic detection
   (probability ``q_sem``) of EarlyAbort / Poison happens before the sale.  RELY is
   updated, RELY <- (1 - eta) RELY + eta remark (remark ``proof_only``: 0 for a DP found
   guilty, else 1; ``contribution``: 1 if the partners' mean validation accuracy of the
   leave-one-out average is not above the full average's, else 0), and deposits of the
   innocent are refunded.
4. **Each round** a block reward is minted to the leader (``block_reward``).

Plays: a DP play is one lifetime (revenue and cost summed over it, comparable to the
closed form's lifetime utilities); a Node play is one leadership round; an RP play is
one audit.  Costs: c / L per training round (x ``steps_fraction`` for EarlyAbort), so
a DP halted early spends less than the closed form's c.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from derelay.engine import Protocol
from derelay.engine.ledger import to_nano
from derelay.strict import StrictModel

from . import alg1
from . import closed_form as cf


class FLChainOptions(StrictModel):
    """Options of the FLChain round protocol (``RunConfig.options``)."""

    learning: Literal["abstract", "torch", "off"] = Field(
        "abstract", description="learning backend (off: money and detection only)"
    )
    learning_config: dict = Field(default_factory=dict, description="backend configuration")
    n_nodes: int = Field(10, ge=1, description="FLChain nodes per lifetime (Sec. VI: ten)")
    reporter_share: float = Field(0.125, ge=0.0, le=1.0, description="share of reporters")
    n_flms: int | None = Field(None, ge=1, description="FLMs per lifetime (None: fill)")
    intention_spread: float = Field(0.5, ge=0.0, le=1.0, description="EINC/COST spread")
    local_steps: int = Field(
        10, ge=1, description="SGD steps per FedAvg iteration (a round runs period x these)"
    )
    top_fraction: float = Field(
        1 / 3, gt=0.0, le=1.0, description="random_top: the most reliable share of nodes"
    )
    trainers_per_round: int | None = Field(
        None, ge=1, description="at most this many training jobs per round (fewer FLMs)"
    )
    deposit_funding: Literal["external", "balance"] = Field(
        "external", description="a DP short of its deposit: bring it from outside, or stay out"
    )


R = {r.key: r for r in cf.TABLE_III + cf.DERIVED_ROWS}


class FLChainProtocol(Protocol):
    Options = FLChainOptions
    streams = ("roles", "intent", "detect", "leader", "learn")
    system_accounts = ("AUTH", "PAC", "FED")
    stages = ("lifetime", "train", "verify", "aggregate", "lead", "settle")
    agent_columns = ("rely",)

    # ------------------------------------------------------------------------ setup
    def setup(self) -> None:
        m, p = self.model, self.p
        o = self.options if self.options is not None else FLChainOptions()
        self.options = o
        if p.remark == "contribution" and o.learning == "off":
            raise ValueError(
                "parameter 'remark' = 'contribution' needs learning: set option learning "
                "to abstract or torch"
            )
        n = m.n
        self.state = m.state
        self.rely = np.full(n, float(p.rely0))
        m.state.rely = self.rely
        self.acct = {a: self.ledger.account(a) for a in self.system_accounts}
        self.L = int(p.flm_lifetime)
        self.cap = int(p.fed_capacity)
        self.nano = {
            k: to_nano(getattr(p, k))
            for k in (
                "d",
                "f1",
                "r1",
                "f2",
                "r2",
                "f_auth",
                "f_ci",
                "f_flm",
                "block_reward",
                "p_flm",
            )
        }
        beh = m.behaviour_vector
        self.b_trains = beh("DP", "trains", True, bool)
        self.b_steps = beh("DP", "steps_fraction", 1.0, float)
        self.b_data = beh("DP", "data", "own", object)
        self.b_malformed = beh("DP", "malformed", "", object)
        self.b_unqualified = beh("DP", "unqualified", False, bool)
        self.b_aborts = beh("DP", "aborts", False, bool)
        self.b_wrong = beh("Node", "wrong_agg", False, bool)
        self.b_audits = beh("RP", "audits", True, bool)
        self.b_false = beh("RP", "false_report", False, bool)
        self.learning = None
        if o.learning != "off":
            self.learning = getattr(m, "learning", None)
            if self.learning is None:
                from derelay.learning import make_learning

                # the data (and the learning noise) from the shared "data" stream: the same
                # shards, held-out set and genesis for every mechanism run with this seed
                # (common random numbers, docs/ENGINE.md sec. 6); the protocol's own "learn"
                # stream depends on its stream list and gave FLChain other data
                data_seed = int(m.streams.shared("data").integers(0, 2**63))
                self.learning = make_learning(
                    o.learning,
                    o.learning_config or None,
                    n_participants=n,
                    seed_seq=np.random.SeedSequence(data_seed),
                )
        self.deposit = np.zeros(n, dtype=np.int64)  # each agent's frozen deposit (escrow)
        self.totals = {
            k: 0
            for k in (
                "reports_misbehaviour",
                "reports_unqualified",
                "false_reports",
                "halts",
                "failed",
                "sold",
                "leader_replaced",
                "wrong_accepted",
                "negative_rows",
                "no_leader",
            )
        }
        self.shortfall = {"PAC": 0, "FED": 0}
        self.pac_min = 0
        self.residue_nano = 0
        self.deposit_funding_nano = 0  # EXTERNAL money that only funds deposits and fees
        self.detected = {
            "malformed": 0,
            "malformed_total": 0,
            "unqualified": 0,
            "unqualified_total": 0,
            "semantic": 0,
            "semantic_total": 0,
        }
        self.acts = {"actions": 0, "detected": 0}  # deviant actions of the round
        self._pending_halt: set[int] = set()  # federations with a report this round
        self.audits = {"federations": 0, "audited": 0}
        self.feds: list[np.ndarray] = []
        self.fed_of = np.full(n, -1, dtype=np.int64)
        self.nodes = np.empty(0, dtype=np.int64)
        self.reporters = np.empty(0, dtype=np.int64)

    # ------------------------------------------------------------------- helpers
    def _codes(self, role, agents):
        return self.model.strategy_of(role, agents)

    def _earn(self, who, coins):
        who = np.asarray(who, dtype=np.int64).reshape(-1)
        np.add.at(self.state.revenue, who, coins)
        np.add.at(self.lt_rev, who, coins)

    def _spend(self, who, coins):
        who = np.asarray(who, dtype=np.int64).reshape(-1)
        np.add.at(self.state.cost, who, coins)
        np.add.at(self.lt_cost, who, coins)

    def _fund(self, who: int, amount: int) -> bool:
        """Make sure participant ``who`` holds ``amount`` (EXTERNAL top-up if allowed)."""
        short = amount - int(self.ledger.balances[who])
        if short <= 0:
            return True
        if self.options.deposit_funding == "external":
            self.ledger.external(who, short, "flchain.deposit_funding")
            self.deposit_funding_nano += short
            return True
        return False

    def _row(self, key: str, src: int | str, dst: int | str, amount: int, fed: int = -1) -> int:
        """Pay one Table III (or derived) row; system payers never overdraw."""
        lg = self.ledger
        reason = R[key].reason
        if amount < 0:
            self.totals["negative_rows"] += 1
            amount = 0
        if amount == 0:
            return 0
        s = self.acct.get(src, src) if isinstance(src, str) else src
        d = self.acct.get(dst, dst) if isinstance(dst, str) else dst
        if src in ("PAC", "FED"):
            avail = int(lg.balances[s])
            if amount > avail:
                self.shortfall[src] += amount - avail
                amount = avail
            if amount == 0:
                return 0
        elif isinstance(src, int | np.integer) and s >= 0:
            self._fund(int(s), amount)
        lg.transfer(s, d, amount, reason)
        if src == "FED" and fed >= 0:
            self.fed_nano[fed] -= amount
        if dst == "FED" and fed >= 0:
            self.fed_nano[fed] += amount
        return amount

    # ---------------------------------------------------------------- 0. lifetime
    def _act(self, detected: bool) -> None:
        self.acts["actions"] += 1
        self.acts["detected"] += int(bool(detected))

    def measured_params(self) -> dict:
        """Measured rates for the closed form (``derelay compare``): the share of
        federations an auditing reporter actually audited."""
        if self.audits["federations"] == 0:
            return {}
        return {"audit": self.audits["audited"] / self.audits["federations"]}

    def stage_lifetime(self, ctx) -> None:
        self._ctx = ctx
        self.acts = {"actions": 0, "detected": 0}
        if ctx.round % self.L == 0:
            self._start_lifetime(ctx)
        m = self.model
        st = m.state
        members = np.flatnonzero(self.fed_of >= 0)
        st.role[members] = m.role_code("DP")
        st.role[self.nodes] = m.role_code("Node")
        st.role[self.reporters] = m.role_code("RP")

    def _start_lifetime(self, ctx) -> None:
        m, p, o, lg = self.model, self.p, self.options, self.ledger
        n = m.n
        rng = ctx.rng("roles")
        perm = rng.permutation(n)
        k_nodes = min(o.n_nodes, n)
        k_rep = min(int(round(o.reporter_share * n)), n - k_nodes)
        self.nodes = np.sort(perm[:k_nodes])
        self.reporters = np.sort(perm[k_nodes : k_nodes + k_rep])
        cand = np.sort(perm[k_nodes + k_rep :])
        n_flm = o.n_flms or max(1, cand.size // self.cap)
        if o.trainers_per_round is not None:
            n_flm = max(1, min(n_flm, o.trainers_per_round // self.cap))
        self.lt_rev = np.zeros(n)
        self.lt_cost = np.zeros(n)
        self.fed_of[:] = -1
        if self.learning is not None and len(getattr(self, "models", ())):
            self.learning.release(self.models)
        # Alg. 1 on the stated intentions
        ri = ctx.rng("intent")
        s = o.intention_spread
        einc = (p.k_sales * p.p_flm / self.cap) * ri.uniform(1 - s, 1 + s, (n_flm, cand.size))
        cost = p.c * ri.uniform(1 - s, 1 + s, (n_flm, cand.size))
        pft = self.rely[cand][None, :] * (einc - cost)
        pairs = alg1.greedy_np(pft, [self.cap] * n_flm) if cand.size else []
        groups: list[list[int]] = [[] for _ in range(n_flm)]
        for i, j in pairs:
            groups[i].append(int(cand[j]))
        self.feds = [np.array(sorted(g), dtype=np.int64) for g in groups if g]
        self.alloc_profit = float(sum(pft[i, j] for i, j in pairs))
        nf = len(self.feds)
        self.fed_nano = np.zeros(nf, dtype=np.int64)
        self.fed_halted = np.zeros(nf, dtype=bool)
        self.failed = np.zeros(nf, dtype=bool)
        self.guilty = np.zeros(n, dtype=bool)
        self.aborted = np.zeros(n, dtype=bool)
        # registration (Table III rows 1-3), one flow per row
        for f, g in enumerate(self.feds):
            self.fed_of[g] = f
            for a in g:
                self._fund(int(a), self.nano["d"] + self.nano["f_ci"])
                lg.lock(int(a), self.nano["d"], R["register_dp"].reason)
                self.deposit[a] += self.nano["d"]
                self._row("upload_ci", int(a), "FED", self.nano["f_ci"], f)
                self._spend(a, p.f_ci)
            self._row("register_flm", "FED", "PAC", self.nano["f_flm"], f)
        for a in self.nodes:
            self._fund(int(a), self.nano["d"])
            lg.lock(int(a), self.nano["d"], "flchain.node_deposit")
            self.deposit[a] += self.nano["d"]
        self.node_ok = np.ones(self.nodes.size, dtype=bool)  # not slashed this lifetime
        # per-lifetime draws of the deviations' timing and of the audits
        rd = ctx.rng("detect")
        self.abort_round = rd.integers(min(1, self.L - 1), self.L, size=n)
        self.auditor = np.full(nf, -1, dtype=np.int64)
        if self.reporters.size:
            hit = rd.random(nf) < p.audit
            who = self.reporters[rd.integers(0, self.reporters.size, size=nf)]
            self.auditor[hit] = who[hit]
        # learning: one genesis model per FLM
        self.models = (
            np.array([self.learning.genesis() for _ in range(nf)], dtype=np.int64)
            if self.learning is not None
            else np.zeros(nf, dtype=np.int64)
        )

    # ---------------------------------------------------------------- 1. training
    def stage_train(self, ctx) -> None:
        p, o = self.p, self.options
        t = ctx.round % self.L
        ctx.data["updates"] = {}
        trainers, parents, steps, data, feds = [], [], [], [], []
        full = o.local_steps * int(p.period)
        for f, g in enumerate(self.feds):
            if self.fed_halted[f]:
                continue
            codes = self._codes("DP", g)
            for a, code in zip(g.tolist(), codes.tolist(), strict=True):
                if self.b_aborts[code] and t >= self.abort_round[a]:
                    self.aborted[a] = True
                if self.aborted[a] or not self.b_trains[code]:
                    continue
                frac = float(self.b_steps[code])
                trainers.append(a)
                parents.append(self.models[f])
                steps.append(max(1, int(round(frac * full))))
                data.append(str(self.b_data[code]))
                feds.append(f)
                self._spend(a, p.c / self.L * frac)
        ctx.data["trainers"] = np.array(trainers, dtype=np.int64)
        ctx.data["train_feds"] = np.array(feds, dtype=np.int64)
        if self.learning is not None and trainers:
            ids = self.learning.train(
                parents, trainers, steps=np.array(steps), data=data, round=ctx.round
            )
            ctx.data["train_ids"] = np.asarray(ids, dtype=np.int64)

    # ---------------------------------------------------------- 1-2. verification
    def _report(self, kind: str, f: int, guilty: int, reporter: int, role: str) -> None:
        """A true report: Table III rows, forced halting, compensation, refunds."""
        p, lg = self.p, self.ledger
        nn = self.nano
        if kind == "misbehaviour":
            self._row("report_fee", reporter, "PAC", nn["f1"])
            self._spend(reporter, p.f1)
            lg.slash(int(self.deposit[guilty]), self.acct["PAC"], R["forfeit"].reason)
            paid = self._row("report_reward", "PAC", reporter, nn["r1"])
            self._earn(reporter, paid / self.model.nano)
            self._row("forfeit_to_fed", "PAC", "FED", nn["d"] - nn["r1"], f)
            self.totals["reports_misbehaviour"] += 1
        else:
            self._row("uq_report_fee", reporter, "PAC", nn["f2"])
            self._spend(reporter, p.f2)
            self._row("uq_auth_fee", "PAC", "AUTH", nn["f_auth"])
            lg.slash(int(self.deposit[guilty]), self.acct["PAC"], R["uq_forfeit"].reason)
            paid = self._row("uq_report_reward", "PAC", reporter, nn["r2"])
            self._earn(reporter, paid / self.model.nano)
            self._row("uq_forfeit_to_fed", "PAC", "FED", nn["d"] - nn["f_auth"] - nn["r2"], f)
            self.totals["reports_unqualified"] += 1
        self._spend(guilty, self.deposit[guilty] / self.model.nano)
        self.deposit[guilty] = 0
        self.guilty[guilty] = True
        self._pending_halt.add(f)

    def _halt(self, f: int) -> None:
        if self.fed_halted[f]:
            return
        self.fed_halted[f] = True
        self.totals["halts"] += 1
        g = self.feds[f]
        n = g.size
        for a in g.tolist():
            if self.guilty[a]:
                continue
            cp = to_nano(self.p.p_flm * self.rely[a] ** 2 / n)
            paid = self._row("compensation", "FED", a, cp, f)
            self._earn(a, paid / self.model.nano)
            self._refund(a)

    def _refund(self, a: int) -> None:
        if self.deposit[a] > 0:
            self.ledger.release(int(a), int(self.deposit[a]), R["refund"].reason)
            self.deposit[a] = 0

    def stage_verify(self, ctx) -> None:
        """Every misbehaviour of the round is checked and reported (each report its
        Table III rows); a federation with a report is halted after all of them, so
        co-located deviants are all found guilty before the innocent are compensated."""
        t = ctx.round % self.L
        rd = ctx.rng("detect")
        self._pending_halt = set()
        for f, g in enumerate(self.feds):
            if self.fed_halted[f]:
                continue
            self._verify_federation(ctx, f, g, t, rd)
            if f in self._pending_halt:
                self._halt(f)

    def _verify_federation(self, ctx, f: int, g: np.ndarray, t: int, rd) -> None:
        p = self.p
        codes = self._codes("DP", g)
        auditor = int(self.auditor[f])
        a_code = self._codes("RP", [auditor])[0] if auditor >= 0 else -1
        audits = auditor >= 0 and bool(self.b_audits[a_code])
        if t == 0:
            self.audits["federations"] += 1
            if auditor >= 0 and audits:
                self._spend(auditor, p.c_audit)
                self.audits["audited"] += 1
            elif auditor >= 0 and not self.b_false[a_code]:
                self._act(False)  # an assigned audit skipped
            # malformed ciphertexts / unmask shares, checked by partners and auditor
            for a, code in zip(g.tolist(), codes.tolist(), strict=True):
                if not self.b_malformed[code]:
                    continue
                self.detected["malformed_total"] += 1
                partners = g[(g != a) & ~self.guilty[g]]
                check = partners[rd.random(partners.size) < p.q_crypto]
                if check.size:
                    rep = int(check[rd.integers(0, check.size)])
                    self._report("misbehaviour", f, a, rep, "DP")
                    self.detected["malformed"] += 1
                elif audits:
                    self._report("misbehaviour", f, a, auditor, "RP")
                    self.detected["malformed"] += 1
                else:
                    self.failed[f] = True
                self._act(self.guilty[a])
            # unqualified DPs, found by an auditing reporter (the authority can tell)
            for a, code in zip(g.tolist(), codes.tolist(), strict=True):
                if not self.b_unqualified[code]:
                    continue
                self.detected["unqualified_total"] += 1
                if audits:
                    self._report("unqualified", f, a, auditor, "RP")
                    self.detected["unqualified"] += 1
                self._act(audits)
            if auditor >= 0:
                self._false_report(ctx, f, auditor, a_code)
                self._play_rp(auditor, a_code)
        # an abort misses the round's deadline: visible on chain, reported by a partner
        for a, code in zip(g.tolist(), codes.tolist(), strict=True):
            if self.b_aborts[code] and self.aborted[a] and not self.guilty[a]:
                partners = g[(g != a) & ~self.guilty[g]]
                if partners.size:
                    rep = int(partners[rd.integers(0, partners.size)])
                    self._report("misbehaviour", f, a, rep, "DP")
                self._act(self.guilty[a])
        # semantic evaluation before the sale (EarlyAbort, Poison)
        if t == self.L - 1 and f not in self._pending_halt:
            for a, code in zip(g.tolist(), codes.tolist(), strict=True):
                lazy = self.b_steps[code] < 1.0 or self.b_data[code] != "own"
                if not lazy:
                    continue
                self.detected["semantic_total"] += 1
                if rd.random() < p.q_sem:
                    partners = g[(g != a) & ~self.guilty[g]]
                    if partners.size:
                        rep = int(partners[rd.integers(0, partners.size)])
                        self._report("misbehaviour", f, a, rep, "DP")
                        self.detected["semantic"] += 1
                self._act(self.guilty[a])

    def _false_report(self, ctx, f: int, rp: int, code: int) -> None:
        if not self.b_false[code]:
            return
        rd = ctx.rng("detect")
        if rd.random() < 0.5:
            self._row("false_report_fee", rp, "PAC", self.nano["f1"])
            self._spend(rp, self.p.f1)
        else:
            self._row("false_uq_report_fee", rp, "PAC", self.nano["f2"])
            self._spend(rp, self.p.f2)
        self.totals["false_reports"] += 1
        self._act(True)  # a false report is rejected and its fee forfeited

    def _play_rp(self, rp: int, code: int) -> None:
        ctx_play = self._ctx.play
        ctx_play(
            "RP",
            np.array([code]),
            [rp],
            self.lt_rev[rp] - self.lt_cost[rp],
            self.lt_rev[rp],
            self.lt_cost[rp],
        )
        # a reporter's lifetime accounts restart after each audit play
        self.lt_rev[rp] = 0.0
        self.lt_cost[rp] = 0.0

    # ------------------------------------------------------------- 1. aggregation
    def stage_aggregate(self, ctx) -> None:
        feds = ctx.data["train_feds"]
        live = ~(self.fed_halted | self.failed) if len(self.feds) else np.zeros(0, bool)
        ctx.data["used_jobs"] = int(live[feds].sum()) if feds.size else 0
        if self.learning is None or "train_ids" not in ctx.data:
            return
        ids, feds = ctx.data["train_ids"], ctx.data["train_feds"]
        groups, which = [], []
        for f in range(len(self.feds)):
            sel = ids[(feds == f)]
            if sel.size and not self.fed_halted[f] and not self.failed[f]:
                groups.append(sel)
                which.append(f)
        ctx.data["agg"] = (groups, which, ids)

    # ---------------------------------------------------------- 1/4. the leader
    def _rank_nodes(self, ctx, ok: np.ndarray) -> np.ndarray:
        cand = self.nodes[ok]
        if cand.size == 0:
            return cand
        # most reliable first; ties broken uniformly at random (the paper gives no rule)
        tie = ctx.rng("leader").permutation(cand.size)
        cand = cand[np.lexsort((tie, -self.rely[cand]))]
        if self.p.leader == "random_top":
            k = max(1, int(np.ceil(self.options.top_fraction * cand.size)))
            top = cand[:k]
            top = top[ctx.rng("leader").permutation(k)]
            cand = np.concatenate([top, cand[k:]])
        return cand

    def stage_lead(self, ctx) -> None:
        m, p = self.model, self.p
        ok = self.node_ok.copy()
        wrong = self.b_wrong[self._codes("Node", self.nodes)]
        honest_share = float((~wrong[ok]).mean()) if ok.any() else 0.0
        outvote = honest_share >= 2 / 3
        leader = -1
        accepted_wrong = False
        for a in self._rank_nodes(ctx, ok).tolist():
            i = int(np.searchsorted(self.nodes, a))
            if wrong[i]:
                code = self._codes("Node", [a])
                self._act(outvote)
                if outvote:  # out-voted, replaced and slashed
                    amt = int(self.deposit[a])
                    self.ledger.slash(amt, self.acct["PAC"], R["node_slash"].reason)
                    self.deposit[a] = 0
                    self.node_ok[i] = False
                    cost = amt / m.nano + p.c_mine
                    m.state.cost[a] += cost
                    ctx.play("Node", code, [a], -cost, 0.0, cost)
                    self.totals["leader_replaced"] += 1
                    continue
                accepted_wrong = True
            leader = a
            break
        groups, which, ids = ctx.data.get("agg", ([], [], None))
        if accepted_wrong:
            self.totals["wrong_accepted"] += 1
            ctx.data["used_jobs"] = 0
        elif groups:
            new = self.learning.average(groups)
            self.learning.release(self.models[which])
            self.models[which] = new
        if ids is not None:
            self.learning.release(ids)
        if self.learning is not None and len(self.models):
            self.last_accuracy = self.learning.eval_accuracy(self.models)
        if leader < 0:
            self.totals["no_leader"] += 1
            return
        self.ledger.mint(leader, self.nano["block_reward"], R["block_reward"].reason)
        rev = self.nano["block_reward"] / m.nano
        m.state.revenue[leader] += rev
        m.state.cost[leader] += p.c_mine
        ctx.play("Node", None, [leader], rev - p.c_mine, rev, p.c_mine)
        ctx.data["leader"] = leader

    # ------------------------------------------------------------ 3. settlement
    def stage_settle(self, ctx) -> None:
        if ctx.round % self.L != self.L - 1:
            self._metrics(ctx)
            return
        p, m = self.p, self.model
        nn = self.nano
        acc = getattr(self, "last_accuracy", None)
        sold = [f for f in range(len(self.feds)) if not self.fed_halted[f] and not self.failed[f]]
        if acc is not None and len(acc) and sold:
            self.sold_accuracy = float(np.mean(acc[sold]))
        for f, g in enumerate(self.feds):
            n = g.size
            if not self.fed_halted[f] and not self.failed[f]:
                self.totals["sold"] += 1
                sh = np.array([to_nano(p.p_flm * self.rely[a] ** 2 / n) for a in g.tolist()])
                for _ in range(int(p.k_sales)):
                    self.ledger.external(self.acct["PAC"], nn["p_flm"], R["purchase"].reason)
                    self._row("purchase_to_fed", "PAC", "FED", nn["p_flm"], f)
                    for a, x in zip(g.tolist(), sh.tolist(), strict=True):
                        paid = self._row("profit_share", "FED", a, int(x), f)
                        self._earn(a, paid / m.nano)
                self.residue_nano += int(p.k_sales) * (nn["p_flm"] - int(sh.sum()))
            elif self.failed[f] and not self.fed_halted[f]:
                self.totals["failed"] += 1
            self._update_rely(f, g)
            for a in g.tolist():
                if not self.guilty[a]:
                    self._refund(a)
            codes = self._codes("DP", g)
            ctx.play(
                "DP", codes, g, self.lt_rev[g] - self.lt_cost[g], self.lt_rev[g], self.lt_cost[g]
            )
        for i, a in enumerate(self.nodes.tolist()):
            if self.node_ok[i]:
                self._refund(a)
        self._metrics(ctx)

    def _update_rely(self, f: int, g: np.ndarray) -> None:
        p = self.p
        remark = np.where(self.guilty[g], 0.0, 1.0)
        if p.remark == "contribution" and self.learning is not None and g.size > 1:
            remark = remark * self._loo_remarks(f, g)
        eta = float(p.rely_eta)
        self.rely[g] = (1 - eta) * self.rely[g] + eta * remark

    def _loo_remarks(self, f: int, g: np.ndarray) -> np.ndarray:
        """1 if leaving DP j out does not raise the partners' validation accuracy."""
        b = self.learning
        # each member's own contribution this lifetime: one more local round from the
        # federation's model, then the average with and without it
        ids = b.train([self.models[f]] * g.size, g)
        groups = [ids] + [ids[np.arange(g.size) != j] for j in range(g.size)]
        avg = b.average(groups)
        sc = b.score_local(avg, g).mean(axis=0)  # partners' mean validation accuracy
        out = (sc[1:] <= sc[0]).astype(float)
        b.release(np.concatenate([ids, avg]))
        return out

    # ------------------------------------------------------------------ metrics
    def _metrics(self, ctx) -> None:
        lg = self.ledger
        nano = self.model.nano
        pac = int(lg.balances[self.acct["PAC"]])
        self.pac_min = min(self.pac_min, pac)
        ctx.metric("n_federations", len(self.feds))
        ctx.metric("halted_feds", int(self.fed_halted.sum()) if len(self.feds) else 0)
        ctx.metric("failed_feds", int(self.failed.sum()) if len(self.feds) else 0)
        for k, v in self.totals.items():
            ctx.metric(k, v)
        ctx.metric("pac_balance", pac / nano)
        ctx.metric("fed_balance", int(lg.balances[self.acct["FED"]]) / nano)
        ctx.metric("auth_balance", int(lg.balances[self.acct["AUTH"]]) / nano)
        ctx.metric("pac_shortfall", self.shortfall["PAC"] / nano)
        ctx.metric("fed_shortfall", self.shortfall["FED"] / nano)
        ctx.metric("sale_residue", self.residue_nano / nano)
        ctx.metric("deposit_funding", self.deposit_funding_nano / nano)
        ctx.metric("mean_rely", float(self.rely.mean()))
        ctx.metric("alloc_profit", float(getattr(self, "alloc_profit", 0.0)))
        acc = getattr(self, "last_accuracy", None)
        ok = acc is not None and len(acc) > 0
        ctx.metric("accuracy", float(np.mean(acc)) if ok else np.nan)
        ctx.metric("sold_accuracy", float(getattr(self, "sold_accuracy", np.nan)))
        honest = np.flatnonzero((self.fed_of >= 0) & (self.model.types.family == 0))
        ctx.metric(
            "honest_accuracy",
            float(np.mean(acc[self.fed_of[honest]])) if ok and honest.size else np.nan,
        )
        jobs = int(ctx.data.get("trainers", np.empty(0)).size)
        ctx.metric("training_jobs", jobs)
        ctx.metric("wasted_jobs", jobs - int(ctx.data.get("used_jobs", 0)))
        ctx.metric("deviant_actions", self.acts["actions"])
        ctx.metric("deviant_detected", self.acts["detected"])

    def meta(self) -> dict:
        nano = self.model.nano
        return {
            "flchain": {
                "pac_solvent": self.shortfall["PAC"] == 0,
                "pac_shortfall": self.shortfall["PAC"] / nano,
                "fed_shortfall": self.shortfall["FED"] / nano,
                "pac_min_balance": self.pac_min / nano,
                "sale_residue": self.residue_nano / nano,
                "deposit_funding": self.deposit_funding_nano / nano,
                "totals": dict(self.totals),
                "detected": dict(self.detected),
            }
        }
