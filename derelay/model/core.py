"""DeRelayModel: the relay round of Sec. III-B (steps 1-11) and Sec. IV-A on Mesa 3.

One ``step()`` is one training round:

1. Roles (Sec. IV-A(1)): the owners are the previous round's selected trainers (round 1:
   the genesis owner alone); Q_MO&T - #owners candidate trainers are drawn at random
   among the other participants; the rest are candidate miners.
2. Bidding (Sec. IV-A(2)): an owner deposits min(Budget_MO, coins) / Q_SelectionLimit
   per trainer; a trainer bids min(coins, V_latest - V_now + 1) (times its strategy's
   ``bid_factor``).
3. Matching (Step 1, Algorithm 1 or Sec. IV-A(3); :mod:`derelay.model.matching`) and
   deposits into escrow (Step 2).
4. DB mined (Step 3): the DBM packs the deposit contracts (NPA: only a share; PI: the
   block is forked away and re-mined).
5. Transmission and training (Steps 4-5): NTm owners send nothing; training succeeds
   with Pr_Training; NTr trainers submit parent + noise; NBr trainers never broadcast.
6. EB, TB, SB mined (Steps 7-11); the top share s of the ranked models is selected, their
   deposits returned, the rest forfeited; citation rewards and miner rewards minted.

All state lives in numpy arrays (``self.state``, ``self.ledger``); the Mesa agents
(:class:`agents.Participant`) are views on an index.  No Python loop runs over the
participants in a round.
"""

from __future__ import annotations

import math
import time

import mesa
import numpy as np

from agents.strategies import MINER_BLOCK, strategy_table

from .chainsim import make_chain
from .config import SimConfig
from .learning import make_backend
from .lineage import Lineage
from .matching import match
from .record import Recorder
from .settlement import make_settlement
from .state import IDLE, NANO, ROLE_CODE, ROLES, Ledger, to_nano


class _State:
    """Per-participant arrays (index = participant id)."""

    def __init__(self, n: int, n_roles: int) -> None:
        self.n = n
        self.coins: np.ndarray  # set to the ledger's array
        self.version = np.full(n, -1, dtype=np.int64)  # reported (incl. EBM copies)
        self.version_own = np.full(n, -1, dtype=np.int64)  # trained / received only
        self.role = np.full(n, IDLE, dtype=np.int8)
        self.strategy = np.zeros((n, n_roles), dtype=np.int16)
        self.last_perf = np.full(n, -np.inf)
        self.utility = np.zeros(n)  # realised utility this round (coins)
        self.revenue = np.zeros(n)
        self.cost = np.zeros(n)
        self.ewma_utility = np.zeros(n)
        self.cum_utility = np.zeros(n)
        self.cited = np.zeros(n, dtype=np.int64)  # citation rewards received (nano)


class DeRelayModel(mesa.Model):
    """The DeRelayL relay as a Mesa 3 model (vectorised state, thin agents)."""

    def __init__(self, cfg: SimConfig | None = None, seed: int = 0, backend=None) -> None:
        cfg = cfg or SimConfig.from_preset("paper_text")
        super().__init__(seed=int(seed))
        self.cfg = cfg
        self.seed_value = int(seed)
        p = cfg.params
        self.p = p
        n = int(p.n_participants)
        self.n = n
        ss = np.random.SeedSequence(int(seed))
        s_model, s_chain, s_learn, s_adapt, s_init = ss.spawn(5)
        self.rng = np.random.default_rng(s_model)
        self.adapt_rng = np.random.default_rng(s_adapt)
        init_rng = np.random.default_rng(s_init)

        # --- strategies: declared roles + registered behaviours ---------------------------
        table = strategy_table(cfg.mechanism)
        self.role_strats: dict[str, tuple[str, ...]] = {
            r: tuple(sorted(table[r], key=lambda a: (a != "N", a))) for r in ROLES
        }
        self.behaviour = {r: [table[r][a] for a in self.role_strats[r]] for r in ROLES}
        self.state = _State(n, len(ROLES))
        self.ledger = Ledger(n)
        self.state.coins = self.ledger.coins
        if cfg.initial_coins > 0:
            self.ledger.mint_dense(np.full(n, to_nano(cfg.initial_coins), dtype=np.int64))
        for ri, r in enumerate(ROLES):
            shares = cfg.shares(r)
            probs = np.array([shares.get(a, 0.0) for a in self.role_strats[r]])
            self.state.strategy[:, ri] = _assign_by_shares(probs, n, init_rng)
        if cfg.genesis_normal:
            self.state.strategy[cfg.genesis_owner, ROLE_CODE["MO"]] = 0
        self._vec = self._behaviour_vectors()

        # --- components ----------------------------------------------------------------
        self.lineage = Lineage(capacity=4096, keep_all=cfg.keep_lineage)
        self.backend = backend or make_backend(cfg, n, s_learn)
        g_backend = int(self.backend.genesis())
        self.genesis_owner = int(cfg.genesis_owner)
        self.genesis_node = int(
            self.lineage.add(
                parent=-1,
                recipient=self.genesis_owner,
                trainer=self.genesis_owner,
                depth=0,
                round=0,
                perf=0.0,
                backend_id=g_backend,
                pays=bool(cfg.genesis_bonus),
                selected=True,
            )[0]
        )
        self.settlement = make_settlement(cfg, self.lineage, self.genesis_node)
        self.chain = make_chain(cfg, np.random.default_rng(s_chain))
        self.state.version[self.genesis_owner] = 0
        self.state.version_own[self.genesis_owner] = 0
        self.owners = np.array([self.genesis_owner], dtype=np.int64)
        self.owner_nodes = np.array([self.genesis_node], dtype=np.int64)
        self.owner_backend = np.array([g_backend], dtype=np.int64)
        self.owner_perf = np.zeros(1)
        self.halted = False
        self.round = 0  # rounds completed

        # nano constants
        self.coin_nano = to_nano(p.coin)
        self.budget_nano = to_nano(p.mo_budget)
        self.limit = int(p.selection_limit)
        self.n_mot = n - int(p.n_miners)

        # --- recording, dynamics, Mesa agents -------------------------------------------
        self.recorder = Recorder(self)
        self._graph = None
        if cfg.mesa_agents:
            from agents.participant import Participant

            for i in range(n):
                Participant(self, i)
        self.timings: dict[str, float] = {}
        self.datacollector = None
        if cfg.datacollector:
            self.datacollector = mesa.DataCollector(
                model_reporters={
                    "total_coins": lambda m: m.ledger.total() / NANO,
                    "latest_version": lambda m: int(m.state.version.max()),
                    "n_model_owners": lambda m: len(m.owners),
                },
                agent_reporters={"coins": "coins", "version": "version", "role": "role"}
                if cfg.mesa_agents
                else None,
            )

    # ------------------------------------------------------------------------------------
    # strategy helpers
    # ------------------------------------------------------------------------------------
    def _behaviour_vectors(self) -> dict[str, np.ndarray]:
        b = self.behaviour
        dq = self.p.q_deposit
        npa = self.p.q_deposit_less / dq if dq > 0 else 0.0
        return {
            "transmits": np.array([x.transmits for x in b["MO"]]),
            "trains": np.array([x.trains for x in b["T"]]),
            "broadcasts": np.array([x.broadcasts for x in b["T"]]),
            "bid_factor": np.array([x.bid_factor for x in b["T"]], dtype=np.float64),
            **{
                f"valid_{r}": np.array([x.block_valid for x in b[r]])
                for r in ("DBM", "EBM", "TBM", "SBM")
            },
            "pack": np.array(
                [npa if x.pack_fraction is None else x.pack_fraction for x in b["DBM"]]
            ),
            "has_hook": np.array([any(x.hook is not None for x in b[r]) for r in ROLES]),
        }

    def strategy_for(self, index: int, role: str) -> str:
        ri = ROLE_CODE[role]
        return self.role_strats[role][int(self.state.strategy[index, ri])]

    def strategy_of(self, index: int) -> str:
        rc = int(self.state.role[index])
        if rc == IDLE:
            return ""
        return self.role_strats[ROLES[rc]][int(self.state.strategy[index, rc])]

    def behaviour_of(self, index: int):
        rc = int(self.state.role[index])
        if rc == IDLE:
            return None
        return self.behaviour[ROLES[rc]][int(self.state.strategy[index, rc])]

    def set_strategy(self, index: int, role: str, abbr: str) -> None:
        try:
            code = self.role_strats[role].index(abbr)
        except ValueError:
            raise ValueError(
                f"unknown strategy {role}.{abbr}; allowed {list(self.role_strats[role])}"
            ) from None
        self.state.strategy[index, ROLE_CODE[role]] = code
        self._shares = None

    def strategies_changed(self) -> None:
        """Call after writing ``state.strategy`` directly (invalidates cached shares)."""
        self._shares = None

    def strategy_shares(self) -> dict[str, float]:
        if getattr(self, "_shares", None) is not None:
            return self._shares
        out = {}
        for ri, r in enumerate(ROLES):
            counts = np.bincount(self.state.strategy[:, ri], minlength=len(self.role_strats[r]))
            for a, c in zip(self.role_strats[r], counts, strict=True):
                out[f"share_{r}_{a}"] = c / self.n
        self._shares = out
        return out

    # ------------------------------------------------------------------------------------
    # one round
    # ------------------------------------------------------------------------------------
    def step(self) -> None:  # noqa: C901 - the round is one readable sequence
        if self.halted:
            self.round += 1
            self.recorder.record_halted()
            return
        st, lg, cfg, rng, S = self.state, self.ledger, self.cfg, self.rng, self.settlement
        n = self.n
        r_idx = self.round  # 0-based round index
        burned0, forfeited0, minted0 = lg.burned, lg.forfeited, lg.minted
        st.utility[:] = 0.0
        st.revenue[:] = 0.0
        st.cost[:] = 0.0
        st.role[:] = IDLE
        acc = self.recorder.begin_round()

        owners = self.owners
        n_own = len(owners)
        st.role[owners] = ROLE_CODE["MO"]
        # 1. roles -----------------------------------------------------------------------
        is_owner = np.zeros(n, dtype=bool)
        is_owner[owners] = True
        non_owner = np.flatnonzero(~is_owner)
        n_cand = int(max(0, min(self.n_mot - n_own, len(non_owner))))
        cand = (
            np.sort(rng.choice(non_owner, size=n_cand, replace=False)) if n_cand else non_owner[:0]
        )
        is_cand = np.zeros(n, dtype=bool)
        is_cand[cand] = True
        miners = np.flatnonzero(~is_owner & ~is_cand)

        # 2. bidding ---------------------------------------------------------------------
        coins = lg.coins
        v_latest = int(self.lineage.col("depth", self.owner_nodes[:1])[0])
        v_bid = st.version if cfg.bid_counts_ebm_copies else st.version_own
        gap = (v_latest - np.maximum(v_bid[cand], 0) + 1).astype(np.int64)
        t_strat = st.strategy[cand, ROLE_CODE["T"]]
        want = gap * self.coin_nano
        bf = self._vec["bid_factor"][t_strat]
        if np.any(bf != 1.0):
            want = np.floor(want * bf).astype(np.int64)
        bids = np.minimum(coins[cand], want)
        mo_dep = np.minimum(coins[owners], self.budget_nano) // self.limit

        # 3. matching and deposits ---------------------------------------------------------
        m = match(
            cfg.matching,
            cfg.deposit_price,
            self.owner_perf,
            mo_dep,
            self.budget_nano,
            self.limit,
            cand,
            bids,
            st.last_perf[cand],
            rng,
        )
        pair_owner_pos = m.owner_pos
        pair_owner = owners[pair_owner_pos]
        pair_t = m.trainer
        pair_dep_mo = mo_dep[pair_owner_pos]
        pair_dep_t = m.t_deposit
        n_pairs = len(pair_t)
        lg.lock(pair_owner, pair_dep_mo)
        lg.lock(pair_t, pair_dep_t)
        acc["n_candidates"] = n_cand
        acc["n_matched"] = n_pairs

        forks = 0
        stale = 0
        # 4. deposit block ----------------------------------------------------------------
        # chain = "simulated": the blocks carry the round's real contents and the round
        # is settled from the main-chain blocks (derelay.model.chainsim.RoundPayloads)
        rp = self.chain.round_payloads(r_idx) if self.chain.real_blocks else None
        db_build = None
        if rp is not None:
            rp.set_deposits(pair_owner, pair_t, pair_dep_mo, pair_dep_t)
            pack, dbm = self._vec["pack"], st.strategy[:, ROLE_CODE["DBM"]]

            def db_build(who: int, honest: bool) -> dict:
                return rp.deposit_payload(float(pack[dbm[who]]), honest)

        db = self._mine("DB", r_idx, miners, acc, db_build)
        forks += db.forks
        stale += db.stale
        packed = np.zeros(n_pairs, dtype=bool)
        if db.miner >= 0 and rp is not None:
            packed = rp.packed(db.payload)  # the contracts the main-chain DB packs
            n_packed = int(packed.sum())
            self._pay_block(db.miner, "DB", n_packed, acc)
        elif db.miner >= 0:
            frac = float(self._vec["pack"][st.strategy[db.miner, ROLE_CODE["DBM"]]])
            if frac >= 1.0:
                packed[:] = True
            else:
                k = int(math.floor(frac * n_pairs))
                packed[rng.permutation(n_pairs)[:k]] = True
            n_packed = int(packed.sum())
            self._pay_block(db.miner, "DB", n_packed, acc)
        else:
            n_packed = 0
        # unpacked contracts are not on chain: refund, no training
        if n_packed < n_pairs:
            up = ~packed
            lg.release(pair_owner[up], pair_dep_mo[up])
            lg.release(pair_t[up], pair_dep_t[up])
        pk = np.flatnonzero(packed)
        p_owner, p_opos, p_t = pair_owner[pk], pair_owner_pos[pk], pair_t[pk]
        p_dep_mo, p_dep_t = pair_dep_mo[pk], pair_dep_t[pk]
        npk = len(pk)
        st.role[p_t] = ROLE_CODE["T"]
        acc["n_trainers"] = npk

        # 5. transmission and training -----------------------------------------------------
        o_strat = st.strategy[p_owner, ROLE_CODE["MO"]]
        transmitted = self._vec["transmits"][o_strat]
        ts = st.strategy[p_t, ROLE_CODE["T"]]
        trains = self._vec["trains"][ts]
        broadcasts = self._vec["broadcasts"][ts]
        parent_nodes = self.owner_nodes[p_opos]
        parent_depth = self.lineage.col("depth", parent_nodes)
        coin_f = self.p.coin
        v_before_t = st.version[p_t].copy()
        succ = transmitted & (~trains | (rng.random(npk) < self.p.p_train_success))
        res = self.backend.train_round(
            r_idx, self.owner_backend[p_opos], p_t, ~trains, succ & transmitted
        )
        has_model = res.model_ids >= 0
        submitted = has_model & broadcasts & np.asarray(res.hash_changed, dtype=bool)
        perf = np.asarray(res.performance, dtype=np.float64)
        # what the trainers now hold
        if cfg.failed_keeps_received:
            recv = transmitted
            tr = p_t[recv]
            st.version_own[tr] = np.maximum(st.version_own[tr], parent_depth[recv])
        honest_model = has_model & trains
        th = p_t[honest_model]
        st.version_own[th] = np.maximum(st.version_own[th], parent_depth[honest_model] + 1)
        st.last_perf[p_t[has_model]] = perf[has_model]
        # trainers' operating costs (Table II, eqs. 31-38)
        c = S.cost
        t_cost = np.where(transmitted, c["transmit"], 0.0)
        t_cost += np.where(transmitted & trains, c["train"], 0.0)
        t_cost += np.where(has_model & broadcasts, c["encrypt"] + c["broadcast"], 0.0)
        # owners' transmission cost, once per transmitting owner (eq. 24)
        sent = np.bincount(p_opos[transmitted], minlength=n_own) > 0  # per owner position
        st.cost[owners[sent]] += c["transmit"]

        # lineage nodes for the submitted models
        sub_pos = np.flatnonzero(submitted)
        nodes = self.lineage.add(
            parent=parent_nodes[sub_pos],
            recipient=p_owner[sub_pos],
            trainer=p_t[sub_pos],
            depth=parent_depth[sub_pos] + 1,
            round=r_idx + 1,
            perf=perf[sub_pos],
            backend_id=res.model_ids[sub_pos],
            lazy=~trains[sub_pos],
            pays=True,
        )
        node_of = np.full(npk, -1, dtype=np.int64)
        node_of[sub_pos] = nodes
        n_sub = len(sub_pos)

        # 6. EB, TB, SB -----------------------------------------------------------------
        n_hash = n_sub  # an NBr trainer broadcasts nothing, not even its hash
        n_enc = n_ver = n_sub
        eb_build = tb_build = sb_build = None
        if rp is not None:
            ph, nh = res.parent_hashes, res.hashes
            rp.set_models(
                p_owner[sub_pos], p_t[sub_pos], [ph[i] for i in sub_pos], [nh[i] for i in sub_pos]
            )
            eb_build = rp.encryption_payload
        eb = self._mine("EB", r_idx, miners, acc, eb_build)
        if rp is not None and eb.miner >= 0:
            n_hash = len(eb.payload["records"])
            cases = getattr(res, "test_cases", None)
            if cases is None:  # abstract learning: no test data
                rp.set_cases(None, S.q_cases)
            else:
                from derelay.chain import hash_model

                rp.set_cases(hash_model(np.asarray(cases)), len(cases))

            def tb_build(who: int, honest: bool) -> dict:
                return rp.testing_payload(eb.payload, honest)

        tb = self._mine("TB", r_idx, miners, acc, tb_build) if eb.miner >= 0 else None
        if rp is not None and tb is not None and tb.miner >= 0:
            n_enc = len(tb.payload["encrypted"])
            rk = np.flatnonzero(submitted & np.isfinite(perf))
            rp.set_performances(p_t[rk], perf[rk], S.top_k(len(rk)))

            def sb_build(who: int, honest: bool) -> dict:
                return rp.settlement_payload(tb.payload, honest)

        sb = (
            self._mine("SB", r_idx, miners, acc, sb_build)
            if tb is not None and tb.miner >= 0
            else None
        )
        if rp is not None and sb is not None and sb.miner >= 0:
            n_ver = len(sb.payload["performances"])
        for stage in (eb, tb, sb):
            if stage is not None:
                forks += stage.forks
                stale += stage.stale
        chain_ok = db.miner >= 0 and sb is not None and sb.miner >= 0
        if eb.miner >= 0:
            self._pay_block(eb.miner, "EB", n_hash, acc)
        if tb is not None and tb.miner >= 0:
            self._pay_block(tb.miner, "TB", n_enc, acc)
        if sb is not None and sb.miner >= 0:
            self._pay_block(sb.miner, "SB", n_ver, acc)

        selected_pos = np.zeros(0, dtype=np.int64)
        order = np.zeros(0, dtype=np.int64)
        if chain_ok and rp is not None:  # the ranking and top_k of the main-chain SB
            selected_pos, order = rp.selection(sb.payload, p_t)
        elif chain_ok:
            selected_pos, order = S.select(perf, submitted, rng)
        sel_mask = np.zeros(npk, dtype=bool)
        sel_mask[selected_pos] = True

        # deposits: returned for selected pairs; NTm owners' trainers get theirs back;
        # everything else is forfeited (Step 11 part 3; eqs. 28, 35, 38)
        if chain_ok:
            ret_t = sel_mask | ~transmitted
            ret_mo = sel_mask
        else:  # the round is void: every packed deposit goes back
            ret_t = np.ones(npk, dtype=bool)
            ret_mo = np.ones(npk, dtype=bool)
        lg.release(p_t[ret_t], p_dep_t[ret_t])
        lg.release(p_owner[ret_mo], p_dep_mo[ret_mo])
        lost_t = np.where(ret_t, 0, p_dep_t)
        lost_mo = np.where(ret_mo, 0, p_dep_mo)
        lost = int(lost_t.sum() + lost_mo.sum())
        to = None
        if cfg.forfeit == "redistribute":
            to = np.concatenate([p_t[sel_mask], p_owner[sel_mask]])
        if lost:
            lg.forfeit(lost, to)
            if to is not None and len(to):
                share = lost // len(to)
                np.add.at(st.revenue, to, share / NANO)
        st.cost[p_t] += lost_t / NANO + t_cost  # each trainer appears once per round
        st.cost += np.bincount(p_owner, weights=lost_mo / NANO, minlength=n)

        # citations (Step 11 part 4 / Sec. IV-A(6)) ------------------------------------------
        sel_nodes = node_of[selected_pos]
        cite = S.citations(sel_nodes) if len(sel_nodes) else None
        if cite is not None:
            total_cite = lg.mint_dense(cite)
            st.cited += cite
            st.revenue += cite / NANO
            # the owner's own share (k = 0, one R_Cited per selected child) is the MO's
            # "now" revenue; the rest goes to predecessor owners, whatever their role
            acc["citation_minted"] = total_cite
            acc["cite_pred"] = (total_cite - len(selected_pos) * S.r_cited) / NANO
        self.lineage.set("selected", sel_nodes, True)

        # versions after the round ------------------------------------------------------
        if chain_ok and len(selected_pos) and cfg.ebm_receives != "none" and eb.miner >= 0:
            if cfg.ebm_receives == "best":
                best_depth = int(parent_depth[order[0]] + 1)
            else:
                best_depth = int((parent_depth[sub_pos] + 1).max())
            v0 = int(st.version[eb.miner])
            if best_depth > v0:
                acc["ebm_gain"] = (best_depth - max(v0, -1)) * coin_f
                st.revenue[eb.miner] += acc["ebm_gain"]
                st.version[eb.miner] = best_depth
        np.maximum(st.version, st.version_own, out=st.version)
        # model value the trainers gained (Table II: (V_RecM - V_Now^T [+1]) (c))
        v_gain_t = np.maximum(st.version[p_t] - np.maximum(v_before_t, -1), 0) * coin_f
        st.revenue[p_t] += v_gain_t

        # realised utility per agent and per (role, strategy) ---------------------------------
        st.utility[:] = st.revenue - st.cost
        gap_t = np.where(transmitted, parent_depth - np.maximum(v_before_t, -1), 0)
        self.recorder.account_round(
            acc,
            {
                "p_owner": p_owner,
                "p_opos": p_opos,
                "owners": owners,
                "r_cited": (S.r_cited / NANO) if cite is not None else 0.0,
                "p_t": p_t,
                "dep_mo": p_dep_mo,
                "dep_t": p_dep_t,
                "lost_mo": lost_mo,
                "lost_t": lost_t,
                "t_cost": t_cost,
                "v_gain_t": v_gain_t,
                "gap_t": gap_t.astype(np.float64),
                "ranked": submitted,
                "sent": sent,
                "redistributed_share": (lost // len(to)) if (to is not None and len(to)) else 0,
                "sel_mask": sel_mask,
            },
        )
        m_ = cfg.utility_memory
        st.ewma_utility *= 1.0 - m_
        st.ewma_utility += m_ * st.utility
        st.cum_utility += st.utility

        # new owners -------------------------------------------------------------------
        stale_models = res.model_ids[has_model & ~sel_mask]
        if len(selected_pos):
            stale_models = np.concatenate([stale_models, self.owner_backend])
            self.owners = p_t[selected_pos]
            self.owner_nodes = sel_nodes
            self.owner_backend = res.model_ids[selected_pos]
            self.owner_perf = perf[selected_pos]
        elif chain_ok and cfg.on_no_selection == "halt":
            self.halted = True
        # else: the owners stay owners
        if hasattr(self.backend, "forget_before"):
            self.backend.forget_before(int(self.owner_backend.min()))
        else:
            keep = np.isin(stale_models, self.owner_backend, invert=True)
            self.backend.release(stale_models[keep & (stale_models >= 0)])

        if cfg.check_invariants:
            lg.check()
        acc.update(
            n_model_owners=n_own,
            n_submitted=n_sub,
            n_selected=len(selected_pos),
            forks=forks,
            stale_blocks=stale,
            burned_round=lg.burned - burned0,
            forfeited_round=lg.forfeited - forfeited0,
            minted_round=lg.minted - minted0,
        )
        self.round += 1
        self.recorder.end_round(acc, res, sel_mask, submitted, ~trains)
        if self.datacollector is not None and self.round % cfg.record_every == 0:
            self.datacollector.collect(self)
        if self._vec["has_hook"].any():
            self.agents.shuffle_do("run_hook")
            self._shares = None
        if cfg.adaptation != "fixed" and self.round % cfg.adaptation_every == 0:
            from .dynamics import adapt

            adapt(self)
            self._shares = None

    # ------------------------------------------------------------------------------------
    def _mine(self, kind: str, r_idx: int, miners: np.ndarray, acc: dict, build=None):
        """Mine one block; ``build(participant, honest)`` gives its contents (simulated
        chain; ``honest`` is False for a PI/NG/IT/IRa miner, whose payload the chain's
        rules reject)."""
        role = {"DB": "DBM", "EB": "EBM", "TB": "TBM", "SB": "SBM"}[kind]
        assert MINER_BLOCK[role] == kind
        ri = ROLE_CODE[role]
        valid = self._vec[f"valid_{role}"][self.state.strategy[miners, ri]]
        res = self.chain.mine(kind, r_idx, miners, valid, build)
        if len(res.invalid_miners):
            inv = res.invalid_miners
            c = self.settlement.cost["mine"]
            np.add.at(self.state.cost, inv, c)
            self.state.role[inv] = ri
            self.recorder.play(role, inv, self.state.strategy[inv, ri], -c, 0.0, c)
            for mnr in inv.tolist():
                self.recorder.blocks.append((r_idx + 1, kind, mnr, False, 0, 0))
        return res

    def _pay_block(self, miner: int, kind: str, n_items: int, acc: dict) -> None:
        role = {"DB": "DBM", "EB": "EBM", "TB": "TBM", "SB": "SBM"}[kind]
        ri = ROLE_CODE[role]
        amount = self.settlement.block_reward(kind, n_items)
        self.ledger.mint(np.array([miner]), np.array([amount]))
        cost = self.settlement.block_cost(kind, n_items, True)
        self.state.revenue[miner] += amount / NANO
        self.state.cost[miner] += cost
        self.state.role[miner] = ri
        acc.setdefault("miners", []).append((role, miner, amount / NANO, cost, n_items))
        self.recorder.blocks.append((self.round + 1, kind, int(miner), True, int(n_items), amount))

    # ------------------------------------------------------------------------------------
    def run(self, rounds: int, progress: bool = False) -> None:
        t0 = time.perf_counter()
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task("relay rounds", total=rounds)
                for _ in range(rounds):
                    self.step()
                    bar.advance(task)
        else:
            for _ in range(rounds):
                self.step()
        self.timings["rounds_s"] = self.timings.get("rounds_s", 0.0) + time.perf_counter() - t0


def _assign_by_shares(probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly round(share * n) agents per strategy (largest remainder), shuffled."""
    probs = np.asarray(probs, dtype=np.float64)
    raw = probs * n
    counts = np.floor(raw).astype(np.int64)
    rem = n - int(counts.sum())
    if rem > 0:
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:rem]] += 1
    codes = np.repeat(np.arange(len(probs), dtype=np.int16), counts)
    rng.shuffle(codes)
    return codes
