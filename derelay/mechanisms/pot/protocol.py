"""Proof of Training's round on the generic engine (issue 12, steps 1-7).

One round runs ``orders_per_round`` orders one after another; each order starts from the
last winner's model (a documented multi-round extension: the paper has one order per
client and no chaining).  Per order:

1. **draw**: K staked providers (fewer if free-entry IR fails, below), the validators and
   the verifiers, disjoint, from the participants who hold no aggregator seat (stream
   ``roles``).  Aggregator seats (``n_aggregators``) are drawn once at set-up and staked
   ``agg_stake`` each.  An optional client agent (``client_agent``) is drawn too.
2. **fund**: the client's escrow receives R from ``EXTERNAL``.
3. **train / commit**: through the learning primitives (contest mode).  A training job
   succeeds with probability ``p_train_success`` (stream ``train``); a failed job has no
   model to commit.  Normal trains (``data="own"``), Poison trains on flipped labels,
   Lazy perturbs the start model, Withhold commits a hash and never reveals (slashed
   ``withhold_slash``, burned), Copy commits a perturbed start model as its fallback and
   then claims the best honest revealed model: :func:`accept_reveal` rejects the claim
   (no prior commit of that hash) and only its fallback stands.
4. **validate**: the client releases D_test (WithholdTest never does: the order is
   invalidated and the escrow refunded; BiasedTest shifts every model's score by a
   N(0, ``biased_sigma``) bias that all validators see alike).  Validators score every
   revealed model with ``score_cases`` and stake ``v_stake`` per score; Inflate/Deflate
   shift one provider's score by ±δ for a bribe g paid from ``EXTERNAL``; Random reports
   noise without evaluating; Cluster validators all inflate the same provider.
5. **challenge**: a model whose scores disagree (two or more distinct values) is verified
   for sure; otherwise each auditing verifier audits each validation with probability
   ``audit`` (stream ``audit``).  A wrong validation is slashed its ``v_stake``: γ of it
   to its challengers in equal shares, the rest (and integer remainders) burned; forced
   verification with no auditing verifier is done by the network and burns all of it.  A
   FalseChallenge verifier challenges one correct validation and loses its ``c_stake``
   (burned).
6. **finalize**: the winner (best corrected score: the true score where a verification
   happened, else the agreed score; ties uniform, stream ``validate``) gets
   (1 − ρ − r)R; the winner's validators whose validations stand share ρR; the seats
   share rR (minted instead under ``funding = inflation``, and the winner then gets
   (1 − ρ)R); integer residues are burned (:func:`finalize_split`).  Other models are
   released and count as wasted compute.  The settlement's gas (Table 6) is a cost of the
   seats, G·gas_price_coin in equal shares.
7. **finality** is BFT: final at once, no forks.  Drain seats of one coalition (coalition
   id -1 counts as one coalition) holding >= k seats take the order's escrow (equal
   shares, residue burned) and forfeit their stakes, and their seats are refilled; with
   fewer than k honest signers and no draining coalition the settlement is blocked and
   the escrow refunded.

Free entry (``free_entry = true``): providers enter only while the closed-form U_N at the
order's K is >= 0, so K shrinks to the largest K at which it holds
(:func:`derelay.mechanisms.pot.closed.free_entry_providers`); the metric
``provider_exit`` is the share of the K seats left empty.

Money moves only through the ledger (integer nano-coins); compute, evaluation,
transaction and gas costs are costs of the agents (``state.cost``), not coins.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import numpy as np
from pydantic import Field

from derelay.engine import Protocol
from derelay.engine.ledger import NANO, to_nano
from derelay.mechanism import FAMILY_CODE
from derelay.space import to_fraction
from derelay.strict import StrictModel

from .closed import free_entry_providers, settlement_coin


class PoTOptions(StrictModel):
    """Options of the PoT round protocol (``RunConfig.options``)."""

    orders_per_round: int = Field(1, ge=1, description="orders per round, run in sequence")
    learning: Literal["abstract", "torch"] = "abstract"
    learning_config: dict = Field(default_factory=dict, description="backend options")
    endowment: float = Field(
        25.0, ge=0.0, description="coins paid in from EXTERNAL to every participant at set-up "
        "(their registration collateral)"
    )
    client_agent: bool = Field(False, description="draw the client from the population")
    colluder_seats: int | None = Field(
        None, ge=0, description="aggregator seats given first to agents of family 'collude' "
        "(a staged takeover); None: seats drawn uniformly"
    )
    free_entry: bool = Field(True, description="providers exit while free-entry IR fails")
    lazy_sigma: float = Field(0.01, ge=0.0, description="noise of a lazy model (perturb)")
    random_sigma: float = Field(1.0, gt=0.0, description="noise of a Random validator's scores")
    biased_sigma: float = Field(1.0, gt=0.0, description="bias of a BiasedTest D_test")
    trainers_per_round: int | None = Field(
        None, ge=1, description="cap on the providers (training jobs) per round over all "
        "orders, for equal compute across mechanisms; None: K per order"
    )


# ----------------------------------------------------------------------------------------
# Pure pieces (tested on their own)
# ----------------------------------------------------------------------------------------


def finalize_split(
    reward_nano: int, rho, tax, n_validators: int, n_seats: int, funding: str = "tax"
) -> dict[str, int]:
    """The exact nano-coin split of one sealed order's escrow.

    ``winner`` = floor(R·(1 − ρ − r)) (tax) or floor(R·(1 − ρ)) (inflation);
    ``per_validator`` = floor(floor(R·ρ)/n_V) for each of the n_V validators whose
    validation of the winner stands; ``per_seat`` = floor(floor(R·r)/n_seats);
    ``burned`` = what the escrow keeps after those payments (tax funding), and under
    inflation ``minted`` = floor(R·r) is new money for the seats instead.
    """
    rho, tax = to_fraction(rho), to_fraction(tax)
    r_n = int(reward_nano)
    val_pool = int(r_n * rho)
    agg_pool = int(r_n * tax)
    if funding == "tax":
        win = int(r_n * (1 - rho - tax))
    else:
        win = int(r_n * (1 - rho))
    per_v = val_pool // n_validators if n_validators > 0 else 0
    per_s = agg_pool // n_seats if n_seats > 0 else 0
    paid_from_escrow = win + per_v * n_validators + (per_s * n_seats if funding == "tax" else 0)
    return {
        "winner": win,
        "per_validator": per_v,
        "per_seat": per_s,
        "minted": per_s * n_seats if funding != "tax" else 0,
        "burned": r_n - paid_from_escrow,
    }


def accept_reveal(commits: dict[int, str], provider: int, model_hash: str) -> bool:
    """Commit-reveal (eqs. 1-2): a reveal stands iff the provider committed exactly this
    model's hash before the deadline."""
    return commits.get(int(provider)) == model_hash


def gini(x: np.ndarray) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return 0.0
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)


class PoTProtocol(Protocol):
    """The PoT round (module docstring)."""

    Options = PoTOptions
    streams = ("roles", "learn", "train", "validate", "audit")
    system_accounts = ("CLIENT",)
    stages = ("orders",)
    agent_columns = ("wins", "winnings")

    # --- set-up ------------------------------------------------------------------------
    def setup(self) -> None:
        m, p, lg, o = self.model, self.p, self.ledger, self.options
        if o is None:
            self.options = o = PoTOptions()
        from derelay.learning import make_learning

        # data (and the learning noise) from the shared "data" stream: the same for every
        # mechanism run with the same seed (common random numbers, docs/ENGINE.md sec. 6)
        data_ss = np.random.SeedSequence(int(m.streams.shared("data").integers(0, 2**63)))
        self.learning = make_learning(
            o.learning, dict(o.learning_config) or None, n_participants=m.n, seed_seq=data_ss
        )
        self.start = int(self.learning.genesis())
        self.client = lg.account("CLIENT")
        self.k = int(p.n_providers)
        self.n_v, self.n_x = int(p.n_validators), int(p.n_verifiers)
        self.n_seats, self.k_sig = int(p.n_aggregators), int(p.k_multisig)
        per_order = self.k + self.n_v + self.n_x + (1 if o.client_agent else 0)
        free = m.n - self.n_seats
        if per_order * o.orders_per_round > free:
            raise ValueError(
                f"orders_per_round = {o.orders_per_round} needs {per_order * o.orders_per_round} "
                f"participants besides the {self.n_seats} aggregator seats; allowed at most "
                f"{max(free // per_order, 0)} orders per round with n_participants = {m.n}"
            )
        self.nano = {
            k: to_nano(getattr(p, k))
            for k in ("reward", "provider_stake", "withhold_slash", "v_stake", "c_stake",
                      "misreport_gain", "agg_stake")
        }
        self.gamma = to_fraction(p.gamma)
        self.gas_coin = float(settlement_coin(p))
        # strategy switches per role (lookup tables over strategy codes)
        self.sP = {a: i for i, a in enumerate(m.role_strats["P"])}
        self.sV = {a: i for i, a in enumerate(m.role_strats["V"])}
        self.sX = {a: i for i, a in enumerate(m.role_strats["X"])}
        self.sA = {a: i for i, a in enumerate(m.role_strats["A"])}
        self.sC = {a: i for i, a in enumerate(m.role_strats["C"])}
        if o.endowment > 0:
            lg.external(np.arange(m.n), to_nano(o.endowment), "endowment")
        self.wins = np.zeros(m.n, dtype=np.int64)
        self.winnings = np.zeros(m.n)
        self.ever_provider = np.zeros(m.n, dtype=bool)
        m.state.wins = self.wins
        m.state.winnings = self.winnings
        self.seat = np.zeros(m.n, dtype=bool)
        self.seat_stake = np.zeros(m.n, dtype=np.int64)
        self.k_eff = min(self.k, free_entry_providers(p)) if o.free_entry else self.k
        self._fill_seats(self.n_seats, first_colluders=o.colluder_seats)

    def _fill_seats(self, count: int, first_colluders: int | None = None) -> None:
        m, lg = self.model, self.ledger
        rng = self.model.streams.rng("roles")
        pool = np.flatnonzero(~self.seat)
        pool = pool[rng.permutation(pool.size)]
        chosen: list[int] = []
        if first_colluders:
            coll = pool[m.types.family[pool] == FAMILY_CODE["collude"]]
            chosen = list(coll[: min(first_colluders, count)])
        rest = [i for i in pool if i not in set(chosen)]
        chosen += rest[: count - len(chosen)]
        idx = np.array(sorted(int(i) for i in chosen), dtype=np.int64)
        stake = np.minimum(lg.coins[idx], self.nano["agg_stake"])
        lg.lock(idx, stake, "agg_stake")
        self.seat[idx] = True
        self.seat_stake[idx] = stake

    # --- the round ---------------------------------------------------------------------
    def stage_orders(self, ctx) -> None:
        m = self.model
        acc = {k: 0.0 for k in ("jobs", "wasted", "validations", "wrong", "caught", "audits",
                                "sealed", "drained", "blocked", "copy_rejected", "withheld",
                                "false_challenges", "invalidated", "deviant_actions",
                                "deviant_detected")}
        self._honest_models: list[int] = []
        perm = ctx.rng("roles").permutation(np.flatnonzero(~self.seat))
        k = self.k_eff
        cap = self.options.trainers_per_round
        if cap is not None:
            k = max(1, min(k, cap // self.options.orders_per_round))
        per = k + self.n_v + self.n_x + (1 if self.options.client_agent else 0)
        seats = np.flatnonzero(self.seat)
        m.state.role[seats] = m.role_code("A")
        self._seat_rev = np.zeros(m.n)
        self._seat_cost = np.zeros(m.n)
        self._refill = 0
        for o in range(self.options.orders_per_round):
            block = perm[o * per : (o + 1) * per]
            prov = np.sort(block[:k])
            val = np.sort(block[k : k + self.n_v])
            ver = np.sort(block[k + self.n_v : k + self.n_v + self.n_x])
            cli = int(block[-1]) if self.options.client_agent else None
            self._order(ctx, prov, val, ver, cli, acc)
        st = m.state
        seats = np.flatnonzero(self.seat | (self._seat_rev != 0) | (self._seat_cost != 0))
        if self._refill:
            self._fill_seats(self._refill)
        st.revenue[seats] += self._seat_rev[seats]
        st.cost[seats] += self._seat_cost[seats]
        ctx.play("A", None, seats, self._seat_rev[seats] - self._seat_cost[seats],
                 self._seat_rev[seats], self._seat_cost[seats])
        # metrics
        best = float(self.learning.eval_accuracy([self.start])[0])
        ctx.metric("best_accuracy", best)
        ctx.metric("accuracy", best)
        hm = self._honest_models
        ctx.metric("honest_accuracy", float(np.mean(self.learning.eval_accuracy(hm)))
                   if hm else float("nan"))
        ctx.metric("training_jobs", acc["jobs"])
        ctx.metric("wasted_jobs", acc["wasted"])
        ctx.metric("deviant_actions", acc["deviant_actions"])
        ctx.metric("deviant_detected", acc["deviant_detected"])
        ctx.metric("wasted_compute_share", acc["wasted"] / acc["jobs"] if acc["jobs"] else 0.0)
        ctx.metric("winners_gini", gini(self.winnings[self.ever_provider]))
        ctx.metric("cheat_rate", acc["wrong"] / acc["validations"] if acc["validations"] else 0.0)
        ctx.metric("audit_rate", acc["audits"] / acc["validations"] if acc["validations"] else 0.0)
        ctx.metric("detection_rate", acc["caught"] / acc["wrong"] if acc["wrong"] else float("nan"))
        ctx.metric("provider_exit", (self.k - self.k_eff) / self.k)
        ctx.metric("n_providers_active", float(k))
        for key in ("sealed", "drained", "blocked", "copy_rejected", "withheld",
                    "false_challenges", "invalidated"):
            ctx.metric(key, acc[key])
        ctx.metric("forks", 0.0)

    # --- one order ---------------------------------------------------------------------
    def _order(self, ctx, prov, val, ver, cli, acc) -> None:
        m, p, lg, nano = self.model, self.p, self.ledger, self.nano
        st = m.state
        rev = {}  # agent -> revenue (coins) in this order
        cost = {}

        def add(d, agents, x):
            for a, v in zip(np.atleast_1d(agents).tolist(), np.broadcast_to(x, np.shape(
                    np.atleast_1d(agents))).tolist(), strict=True):
                d[a] = d.get(a, 0.0) + float(v)

        # 1. roles
        st.role[prov] = m.role_code("P")
        st.role[val] = m.role_code("V")
        st.role[ver] = m.role_code("X")
        self.ever_provider[prov] = True
        sp = m.strategy_of("P", prov)
        sv = m.strategy_of("V", val)
        sx = m.strategy_of("X", ver)
        c_strat = None
        if cli is not None:
            st.role[cli] = m.role_code("C")
            c_strat = int(m.strategy_of("C", [cli])[0])
        # 2. fund: EXTERNAL -> client -> escrow
        payer = self.client if cli is None else cli
        lg.external(payer, nano["reward"], "order_reward")
        lg.lock(payer, nano["reward"], "order_escrow")
        if cli is not None:
            add(cost, cli, p.reward)
        p_stake = np.minimum(lg.coins[prov], nano["provider_stake"])
        lg.lock(prov, p_stake, "provider_stake")
        # 3. train and commit
        rng_t = ctx.rng("train")
        success = rng_t.random(prov.size) < p.p_train_success
        is_ = {a: sp == self.sP[a] for a in ("N", "Lazy", "Poison", "Withhold", "Copy")}
        trains = is_["N"] | is_["Poison"]
        add(cost, prov[trains], p.c_train)
        add(cost, prov, p.c_tx)
        acc["jobs"] += float(trains.sum())
        models = np.full(prov.size, -1, dtype=np.int64)
        honest_ok = is_["N"] & success
        poison_ok = is_["Poison"] & success
        for mask, data in ((honest_ok, "own"), (poison_ok, "label_flip")):
            if mask.any():
                models[mask] = self.learning.train(
                    np.full(int(mask.sum()), self.start), prov[mask], data=data, round=ctx.round
                )
        lazyish = is_["Lazy"] | is_["Copy"] | is_["Withhold"]
        if lazyish.any():
            models[lazyish] = self.learning.perturb(
                np.full(int(lazyish.sum()), self.start), prov[lazyish],
                sigma=self.options.lazy_sigma, round=ctx.round,
            )
        has = models >= 0
        self._honest_models.extend(int(x) for x in models[honest_ok])
        acc["deviant_actions"] += float((~is_["N"]).sum())
        acc["deviant_detected"] += float((is_["Withhold"] | is_["Copy"] & (
            honest_ok.any())).sum())
        hashes = self.learning.hashes(models[has]) if has.any() else []
        commits = {int(a): h for a, h in zip(prov[has].tolist(), hashes, strict=True)}
        # reveal (after the deadline): Withhold never reveals; Copy claims a copy first
        revealed = has & ~is_["Withhold"]
        acc["withheld"] += float(is_["Withhold"].sum())
        honest_models = models[honest_ok]
        if is_["Copy"].any() and honest_models.size:
            target_hash = self.learning.hashes([int(honest_models[0])])[0]
            for a in prov[is_["Copy"]].tolist():
                if not accept_reveal(commits, a, target_hash):
                    acc["copy_rejected"] += 1
                    add(cost, a, p.c_tx)
        # withhold slash (burned) now; other provider stakes are released at the end
        w_idx = np.flatnonzero(is_["Withhold"])
        if w_idx.size:
            sl = np.minimum(p_stake[w_idx], nano["withhold_slash"])
            lg.slash(int(sl.sum()), None, "withhold_slash")
            p_stake[w_idx] -= sl
            add(cost, prov[w_idx], sl / NANO)
        rid = np.flatnonzero(revealed)
        r_models = models[rid]
        n_models = rid.size
        # 4. validate (the client releases D_test unless it withholds it)
        withhold_test = c_strat is not None and c_strat == self.sC["WithholdTest"]
        sealed = False
        winner_pos = -1
        slashed_v = np.zeros(val.size, dtype=bool)
        v_stake = np.zeros(val.size, dtype=np.int64)
        if withhold_test or n_models == 0:
            acc["invalidated"] += float(withhold_test)
        else:
            true, _ = self.learning.score_cases(r_models, ctx.round)
            true = np.asarray(true, dtype=np.float64)
            rng_v = ctx.rng("validate")
            if c_strat is not None and c_strat == self.sC["BiasedTest"]:
                true = true + rng_v.normal(0.0, self.options.biased_sigma, n_models)
            scores = np.repeat(true[None, :], val.size, axis=0)
            delta = float(p.delta)
            is_v = {a: sv == self.sV[a] for a in ("N", "Inflate", "Deflate", "Random", "Cluster")}
            for a in ("Inflate", "Deflate"):
                for i in np.flatnonzero(is_v[a]).tolist():
                    j = int(rng_v.integers(n_models))
                    scores[i, j] += delta if a == "Inflate" else -delta
            if is_v["Cluster"].any():
                j = int(rng_v.integers(n_models))
                scores[is_v["Cluster"], j] += delta
            rnd = np.flatnonzero(is_v["Random"])
            if rnd.size:
                scores[rnd] = true[None, :] + rng_v.normal(
                    0.0, self.options.random_sigma, (rnd.size, n_models)
                )
            acc["deviant_actions"] += float((~is_v["N"]).sum())
            evaluates = ~is_v["Random"]
            add(cost, val[evaluates], n_models * p.c_eval)
            add(cost, val, p.c_tx)
            bribed = is_v["Inflate"] | is_v["Deflate"] | is_v["Cluster"]
            if bribed.any():
                lg.external(val[bribed], nano["misreport_gain"], "bribe")
                add(rev, val[bribed], p.misreport_gain)
            v_stake = np.minimum(lg.coins[val], nano["v_stake"] * n_models)
            lg.lock(val, v_stake, "validation_stake")
            per_val_stake = v_stake // max(n_models, 1)
            wrong = scores != true[None, :]
            acc["validations"] += float(scores.size)
            acc["wrong"] += float(wrong.sum())
            # 5. challenge phase
            rng_a = ctx.rng("audit")
            auditor = sx == self.sX["Audit"]
            disagree = np.array([np.unique(scores[:, j]).size > 1 for j in range(n_models)])
            verified = disagree.copy()
            challengers = [[[] for _ in range(n_models)] for _ in range(val.size)]
            aud = np.flatnonzero(auditor)
            checked = np.zeros((val.size, n_models), dtype=bool)
            checked[:, disagree] = True
            for j in np.flatnonzero(disagree).tolist():
                add(cost, ver[aud], val.size * p.c_ver)
                for i in range(val.size):
                    if wrong[i, j]:
                        challengers[i][j] = ver[aud].tolist()
            if aud.size and (~disagree).any():
                draws = rng_a.random((aud.size, val.size, n_models)) < p.audit
                draws[:, :, disagree] = False
                n_aud = draws.sum(axis=(1, 2))
                add(cost, ver[aud], n_aud * p.c_ver)
                checked |= draws.any(axis=0)
                hit = draws & wrong[None, :, :]
                for x, i, j in zip(*np.nonzero(hit), strict=True):
                    challengers[i][j].append(int(ver[aud[x]]))
                    verified[j] = True
            for i in range(val.size):
                for j in range(n_models):
                    if not wrong[i, j] or not (disagree[j] or challengers[i][j]):
                        continue
                    acc["caught"] += 1
                    amount = int(min(per_val_stake[i], v_stake[i]))
                    v_stake[i] -= amount
                    slashed_v[i] = True
                    add(cost, val[i], amount / NANO)
                    ch = sorted(set(challengers[i][j]))
                    to_ch = int(Fraction(amount) * self.gamma)
                    if ch:
                        chal_stake = np.minimum(lg.coins[ch], nano["c_stake"])
                        lg.lock(ch, chal_stake, "challenge_stake")
                        lg.release(ch, chal_stake, "challenge_stake_return")
                        add(cost, ch, p.c_tx)
                        burned = lg.slash(to_ch, ch, "validation_slash_challenger")
                        add(rev, ch, (to_ch - burned) / NANO / len(ch))
                        lg.slash(amount - to_ch, None, "validation_slash_burn")
                    else:
                        lg.slash(amount, None, "validation_slash_burn")
            acc["audits"] += float(checked.sum())
            acc["deviant_detected"] += float(slashed_v.sum())
            # false challenges: one correct validation each, the challenge stake is lost
            fc = np.flatnonzero(sx == self.sX["FalseChallenge"])
            if fc.size:
                cs = np.minimum(lg.coins[ver[fc]], nano["c_stake"])
                lg.lock(ver[fc], cs, "challenge_stake")
                lg.slash(int(cs.sum()), None, "false_challenge")
                add(cost, ver[fc], cs / NANO + p.c_tx)
                acc["false_challenges"] += float(fc.size)
            acc["deviant_actions"] += float((sx != self.sX["Audit"]).sum())
            acc["deviant_detected"] += float(fc.size)
            # corrected scores: the truth where a verification happened, else the agreed one
            corrected = np.where(verified, true, scores[0])
            best = corrected.max()
            ties = np.flatnonzero(corrected == best)
            winner_pos = int(ties[rng_v.integers(ties.size)]) if ties.size > 1 else int(ties[0])
            sealed = True
        # 6-7. finality and settlement
        seats = np.flatnonzero(self.seat)
        drain_code = self.sA["Drain"]
        drainers = seats[m.strategy_of("A", seats) == drain_code]
        coalition = self._largest_coalition(drainers)
        acc["deviant_actions"] += float(drainers.size)
        if c_strat is not None and c_strat != self.sC["N"]:
            acc["deviant_actions"] += 1.0
        escrow_open = nano["reward"]
        if coalition.size >= self.k_sig:
            # Drain: the coalition signs the escrow away and forfeits its stakes
            share = escrow_open // coalition.size
            lg.release(coalition, share, "drain")
            lg.slash(escrow_open - share * coalition.size, None, "drain_residue")
            self._seat_rev[coalition] += share / NANO
            stake = self.seat_stake[coalition]
            lg.slash(int(stake.sum()), None, "drain_stake_forfeit")
            self._seat_cost[coalition] += stake / NANO
            self.seat[coalition] = False
            self.seat_stake[coalition] = 0
            self._refill += int(coalition.size)
            acc["deviant_detected"] += float(coalition.size)
            acc["drained"] += 1
            acc["wasted"] += float(trains.sum())
            sealed = False
        elif seats.size - drainers.size < self.k_sig and sealed:
            acc["blocked"] += 1
            acc["wasted"] += float(trains.sum())
            lg.release(payer, escrow_open, "order_refund")
            if cli is not None:
                add(rev, cli, p.reward)
            sealed = False
        elif sealed:
            win_agent = int(prov[rid[winner_pos]])
            elig = val[~slashed_v]
            split = finalize_split(nano["reward"], p.rho, p.tax, elig.size, seats.size, p.funding)
            lg.release(win_agent, split["winner"], "winner_reward")
            if elig.size:
                lg.release(elig, split["per_validator"], "validator_reward")
            if p.funding == "tax":
                lg.release(seats, split["per_seat"], "aggregator_tax")
            else:
                lg.mint(seats, split["per_seat"], "aggregator_issuance")
            lg.slash(split["burned"], None, "finalize_residue")
            add(rev, win_agent, split["winner"] / NANO)
            add(rev, elig, split["per_validator"] / NANO)
            self._seat_rev[seats] += split["per_seat"] / NANO
            self._seat_cost[seats] += self.gas_coin / seats.size
            self.wins[win_agent] += 1
            self.winnings[win_agent] += split["winner"] / NANO
            acc["sealed"] += 1
            if cli is not None:
                add(rev, cli, p.reward)  # the client values a sealed order at R
            w_model = int(r_models[winner_pos])
            losers = [int(x) for x in models[has] if int(x) != w_model]
            acc["wasted"] += float(sum(1 for i in np.flatnonzero(trains & has).tolist()
                                       if int(models[i]) != w_model))
            acc["wasted"] += float((trains & ~has).sum())
            self.learning.release(losers)
            self.start = w_model
        else:
            lg.release(payer, escrow_open, "order_refund")
            if cli is not None:
                add(rev, cli, p.reward)
                if withhold_test and n_models:
                    add(rev, cli, p.reward)  # the revealed models, for free
            acc["wasted"] += float(trains.sum())
        # release the stakes left
        lg.release(prov, p_stake, "provider_stake_return")
        if v_stake.any():
            lg.release(val, v_stake, "validation_stake_return")
        # record the plays
        for role, agents in (("P", prov), ("V", val), ("X", ver)):
            r_ = np.array([rev.get(int(a), 0.0) for a in agents])
            c_ = np.array([cost.get(int(a), 0.0) for a in agents])
            st.revenue[agents] += r_
            st.cost[agents] += c_
            ctx.play(role, None, agents, r_ - c_, r_, c_)
        if cli is not None:
            r_, c_ = rev.get(cli, 0.0), cost.get(cli, 0.0) + p.c_tx
            st.revenue[cli] += r_
            st.cost[cli] += c_
            ctx.play("C", None, [cli], r_ - c_, r_, c_)

    def _largest_coalition(self, drainers: np.ndarray) -> np.ndarray:
        if drainers.size == 0:
            return drainers
        ids = self.model.types.coalition[drainers]
        vals, counts = np.unique(ids, return_counts=True)
        best = vals[np.argmax(counts)]
        return np.sort(drainers[ids == best])

    def meta(self) -> dict:
        return {
            "pot": {
                "free_entry_providers": int(self.k_eff),
                "seats": int(self.seat.sum()),
                "learning": self.options.learning,
            }
        }
