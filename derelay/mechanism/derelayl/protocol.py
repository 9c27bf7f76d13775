"""DeRelayL's round on the generic engine: Sec. III-B steps 1-11 / Sec. IV-A, in stages.

One round (:class:`DeRelayLProtocol`, ``stages``):

1. ``roles`` (Sec. IV-A(1)): the owners are the previous round's selected trainers
   (round 1: the genesis owner alone); Q_MO&T - #owners candidate trainers are drawn at
   random among the other participants; the rest are candidate miners.
2. ``bidding`` (Sec. IV-A(2)): an owner deposits min(Budget_MO, coins) / Q_SelectionLimit
   per trainer; a trainer bids min(coins, V_latest - V_now + 1) (times its strategy's
   ``bid_factor``).
3. ``matching`` (Step 1, Algorithm 1 or Sec. IV-A(3); :mod:`.matching`) and deposits
   into escrow (Step 2).
4. ``deposit_block`` (Step 3): the DBM packs the deposit contracts (NPA: only a share; PI:
   the block is forked away and re-mined); unpacked contracts are refunded.
5. ``training`` (Steps 4-5): NTm owners send nothing; training succeeds with Pr_Training;
   NTr trainers submit parent + noise; NBr trainers never broadcast.
6. ``blocks`` (Steps 7-10): EB, TB, SB mined; miners paid their block revenues.
7. ``settlement`` (Step 11 part 3): the top share s of the ranked models is selected,
   their deposits returned, the rest forfeited (burned or redistributed).
8. ``citations`` (Step 11 part 4 / Sec. IV-A(6)): citation rewards minted.
9. ``versions``: what every participant holds after the round; the trainers' and EBM's
   model value (Table II (V_RecM - V_Now^T [+1]) (c)).
10. ``accounting``: realised utility per (role, strategy) for the recorder.
11. ``next_owners``: the selected trainers become the next round's owners.

All state lives in numpy arrays (``model.state``, ``model.ledger``); the Mesa agents
(:class:`agents.Participant`) are views on an index.  No Python loop runs over the
participants in a round.  Random draws: stream ``model`` (roles, matching ties, packing,
training success, selection ties), ``chain`` (miners, forks), ``learn`` (the learning
backend), in the order of the stages.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from derelay import _fastnp as fnp
from derelay.engine.ledger import NANO, to_nano
from derelay.engine.metrics import standard_columns
from derelay.engine.model import MechanismModel
from derelay.engine.protocol import Protocol, RoundContext

from . import core as dr
from .behaviour import strategy_table
from .chainsim import DrawChain, StageResult, make_chain
from .config import SimConfig
from .learning import make_backend
from .lineage import Lineage
from .matching import match
from .settlement import DeRelayLSettlement, make_settlement

#: DeRelayL's roles in code order (state.role codes, agents.parquet); idle after them.
ROLES = tuple(r.abbr for r in dr.DERELAYL.roles)
ROLE_CODE = {r: i for i, r in enumerate(ROLES)}
IDLE = len(ROLES)
ROLE_NAMES = (*ROLES, "idle")
MO, T = dr.MO.abbr, dr.T.abbr
BLOCK_ROLE = {kind: role for role, kind in dr.MINER_BLOCK.items()}
N_LATEST = 10
#: the rounds-table columns of the version-lag histogram (lag 0..N_LATEST, then older)
SHARE_LATEST_KEYS = (*(f"share_latest_{k}" for k in range(N_LATEST + 1)), "share_older")


class DeRelayLProtocol(Protocol):
    """DeRelayL's round (see the module docstring)."""

    streams = ("model", "chain", "learn")
    system_accounts = ()
    stages = (
        "roles",
        "bidding",
        "matching",
        "deposit_block",
        "training",
        "blocks",
        "settlement",
        "citations",
        "versions",
        "accounting",
        "next_owners",
    )
    play_stats = ("stake", "gap", "count", "selected", "returned")
    agent_columns = ("version",)

    @property
    def agent_class(self):
        from agents.participant import Participant

        return Participant

    def __init__(self, model, backend=None) -> None:
        super().__init__(model)
        self._backend_override = backend

    @classmethod
    def build_model(cls, run_cfg, seed: int = 0, backend=None):
        """A :class:`DeRelayModel` from a generic RunConfig: ``params`` are DeRelayL's,
        ``options`` any :class:`SimConfig` fields, the engine settings carried over."""
        data = dict(run_cfg.options)
        preset = data.pop("preset", None)
        engine = run_cfg.model_dump(exclude={"mechanism", "params", "options"})
        data = {**engine, **data, "params": dict(run_cfg.params)}
        for k in ("strategies", "types"):
            if not data[k]:
                data.pop(k)
        if preset is not None:
            cfg = SimConfig.from_preset(str(preset)).with_updates(**data)
        else:
            cfg = SimConfig.from_mapping(data)
        return DeRelayModel(cfg, seed=seed, backend=backend)

    # --- set-up ---------------------------------------------------------------------------
    def setup(self) -> None:
        m, cfg, p = self.model, self.model.cfg, self.p
        n = m.n
        st = m.state
        if cfg.genesis_normal:
            st.strategy[cfg.genesis_owner, ROLE_CODE[MO]] = 0
        st.version = np.full(n, -1, dtype=np.int64)  # reported (incl. EBM copies)
        st.version_own = np.full(n, -1, dtype=np.int64)  # trained / received only
        st.last_perf = np.full(n, -np.inf)
        st.cited = np.zeros(n, dtype=np.int64)  # citation rewards received (nano)
        self._vec = self._behaviour_vectors()
        self._any_hook = bool(self._vec["has_hook"].any())
        self._bid_factor_one = bool((self._vec["bid_factor"] == 1.0).all())
        self._all_valid = {r: bool(self._vec[f"valid_{r}"].all()) for r in BLOCK_ROLE.values()}
        self._true = np.ones(n, dtype=bool)  # read-only: sliced as "all valid" masks
        self._true.setflags(write=False)
        self._zero_codes = np.zeros(n, dtype=np.int16)  # read-only: sliced as "all code 0"
        self._zero_codes.setflags(write=False)
        self._prof_key = self._prof = None  # see _profile
        # types are fixed for a run: are all of them honest or per-role (family <= 0)?
        self._types_honest = bool((m.types.family <= 0).all())
        self.lineage = Lineage(capacity=4096, keep_all=cfg.keep_lineage)
        streams = m.streams
        self.rng = streams.rng("model")
        if cfg.data_stream == "shared":  # the same data as every mechanism with this seed
            data_ss = np.random.SeedSequence(int(streams.shared("data").integers(0, 2**63)))
        else:
            data_ss = streams.seed_seq("learn")
        self.backend = self._backend_override or make_backend(cfg, n, data_ss)
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
        self.chain = make_chain(cfg, streams.rng("chain"))
        self._draw_chain = type(self.chain) is DrawChain
        st.version[self.genesis_owner] = 0
        st.version_own[self.genesis_owner] = 0
        self.owners = np.array([self.genesis_owner], dtype=np.int64)
        self.owner_nodes = np.array([self.genesis_node], dtype=np.int64)
        self.owner_backend = np.array([g_backend], dtype=np.int64)
        self.owner_perf = np.zeros(1)
        # every owner model has one depth (the round's selected models are children of
        # models of one depth): V_latest, kept here instead of read from the lineage
        self.owner_depth = 0
        self.coin_nano = to_nano(p.coin)
        self.budget_nano = to_nano(p.mo_budget)
        self.limit = int(p.selection_limit)
        self.n_mot = n - int(p.n_miners)
        self.blocks: list[tuple] = []  # (round, kind, miner, valid, items, reward_nano)
        self.learning_metrics = cfg.learning == "torch"

    def _behaviour_vectors(self) -> dict[str, np.ndarray]:
        b = self.model.behaviour
        dq = self.p.q_deposit
        npa = self.p.q_deposit_less / dq if dq > 0 else 0.0
        dbm = BLOCK_ROLE["DB"]
        return {
            "transmits": np.array([x.transmits for x in b[MO]]),
            "trains": np.array([x.trains for x in b[T]]),
            "broadcasts": np.array([x.broadcasts for x in b[T]]),
            "bid_factor": np.array([x.bid_factor for x in b[T]], dtype=np.float64),
            **{f"valid_{r}": np.array([x.block_valid for x in b[r]]) for r in BLOCK_ROLE.values()},
            "pack": np.array([npa if x.pack_fraction is None else x.pack_fraction for x in b[dbm]]),
            "has_hook": np.array([any(x.hook is not None for x in b[r]) for r in ROLES]),
        }

    def _profile(self) -> SimpleNamespace:
        """What the present strategy profile does, for the round's shortcuts: whether
        every present owner strategy transmits, every present trainer strategy trains and
        broadcasts, every present miner strategy of a role mines valid blocks, and whether
        every agent plays Normal in every role.  Cached per strategy-shares dict (the model
        renews it whenever a strategy changes), so it is recomputed only then."""
        shares = self.model.strategy_shares()
        if self._prof_key is shares:
            return self._prof
        strats = self.model.role_strats
        present = {
            r: [i for i, a in enumerate(strats[r]) if shares[f"share_{r}_{a}"] > 0] for r in ROLES
        }
        v = self._vec
        self._prof = SimpleNamespace(
            all_transmit=all(v["transmits"][i] for i in present[MO]),
            all_train=all(v["trains"][i] for i in present[T]),
            all_broadcast=all(v["broadcasts"][i] for i in present[T]),
            all_valid={
                r: self._all_valid[r] or all(v[f"valid_{r}"][i] for i in present[r])
                for r in BLOCK_ROLE.values()
            },
            all_normal=self.model.all_codes_zero(),
        )
        self._prof.all_blocks_valid = all(self._prof.all_valid.values())
        self._prof_key = shares
        return self._prof

    # --- stages ----------------------------------------------------------------------------
    def stage_roles(self, ctx: RoundContext) -> None:
        st, d = self.model.state, ctx.data
        d["burned0"], d["forfeited0"], d["minted0"] = (
            self.ledger.burned,
            self.ledger.slashed,
            self.ledger.minted,
        )
        d["acc"] = {}
        d["prof"] = self._profile()  # the round's strategy profile (fixed within a round)
        owners = self.owners
        st.role[owners] = ROLE_CODE[MO]
        free = self._true.copy()  # neither owner nor (below) candidate
        free[owners] = False
        non_owner = free.nonzero()[0]
        n_cand = int(max(0, min(self.n_mot - len(owners), len(non_owner))))
        cand = (
            _sorted(self.rng.choice(non_owner, size=n_cand, replace=False))
            if n_cand
            else non_owner[:0]
        )
        free[cand] = False
        d["owners"], d["cand"] = owners, cand
        d["miners"] = free.nonzero()[0]
        d["acc"]["n_candidates"] = n_cand

    def stage_bidding(self, ctx: RoundContext) -> None:
        st, d, cfg = self.model.state, ctx.data, self.model.cfg
        cand, owners = d["cand"], d["owners"]
        coins = self.ledger.coins
        v_latest = d["v_latest"] = self.owner_depth
        v_bid = st.version if cfg.bid_counts_ebm_copies else st.version_own
        gap = v_latest - np.maximum(v_bid[cand], 0) + 1  # int64 (versions are int64)
        want = gap * self.coin_nano
        if not self._bid_factor_one:  # some trainer strategy scales its bid
            bf = self._vec["bid_factor"][st.strategy[cand, ROLE_CODE[T]]]
            if (bf != 1.0).any():
                want = np.floor(want * bf).astype(np.int64)
        d["bids"] = np.minimum(coins[cand], want)
        d["mo_dep"] = np.minimum(coins[owners], self.budget_nano) // self.limit

    def stage_matching(self, ctx: RoundContext) -> None:
        st, d, cfg, lg = self.model.state, ctx.data, self.model.cfg, self.ledger
        mt = match(
            cfg.matching,
            cfg.deposit_price,
            self.owner_perf,
            d["mo_dep"],
            self.budget_nano,
            self.limit,
            d["cand"],
            d["bids"],
            st.last_perf[d["cand"]],
            self.rng,
        )
        d["pair_owner_pos"] = mt.owner_pos
        d["pair_owner"] = d["owners"][mt.owner_pos]
        d["pair_t"] = mt.trainer
        d["pair_dep_mo"] = d["mo_dep"][mt.owner_pos]
        d["pair_dep_t"] = mt.t_deposit
        lg.lock_parts(((d["pair_owner"], d["pair_dep_mo"]), (d["pair_t"], d["pair_dep_t"])))
        d["acc"]["n_matched"] = len(mt.trainer)

    def stage_deposit_block(self, ctx: RoundContext) -> None:
        st, d, lg = self.model.state, ctx.data, self.ledger
        r_idx = ctx.round
        n_pairs = len(d["pair_t"])
        d["forks"] = d["stale"] = 0
        # chain = "simulated": the blocks carry the round's real contents and the round
        # is settled from the main-chain blocks (RoundPayloads)
        rp = self.chain.round_payloads(r_idx) if self.chain.real_blocks else None
        d["rp"] = rp
        db_build = None
        dbm = BLOCK_ROLE["DB"]
        if rp is not None:
            rp.set_deposits(d["pair_owner"], d["pair_t"], d["pair_dep_mo"], d["pair_dep_t"])
            pack, codes = self._vec["pack"], st.strategy[:, ROLE_CODE[dbm]]

            def db_build(who: int, honest: bool) -> dict:
                return rp.deposit_payload(float(pack[codes[who]]), honest)

        db = self._mine("DB", r_idx, d, db_build)
        d["db"] = db
        packed = None  # None: every contract packed
        if db.miner >= 0 and rp is not None:
            packed = rp.packed(db.payload)  # the contracts the main-chain DB packs
            n_packed = int(np.count_nonzero(packed))
            self._pay_block(db.miner, "DB", n_packed, d)
        elif db.miner >= 0:
            frac = float(self._vec["pack"][st.strategy[db.miner, ROLE_CODE[dbm]]])
            if frac >= 1.0:
                n_packed = n_pairs
            else:
                k = int(math.floor(frac * n_pairs))
                packed = np.zeros(n_pairs, dtype=bool)
                packed[self.rng.permutation(n_pairs)[:k]] = True
                n_packed = int(np.count_nonzero(packed))
            self._pay_block(db.miner, "DB", n_packed, d)
        else:
            packed = np.zeros(n_pairs, dtype=bool)
            n_packed = 0
        # unpacked contracts are not on chain: refund, no training
        if n_packed < n_pairs:
            up = ~packed
            lg.release_parts(
                (
                    (d["pair_owner"][up], d["pair_dep_mo"][up]),
                    (d["pair_t"][up], d["pair_dep_t"][up]),
                )
            )
        keys = ("owner", "opos", "t", "dep_mo", "dep_t")
        cols = ("pair_owner", "pair_owner_pos", "pair_t", "pair_dep_mo", "pair_dep_t")
        if n_packed == n_pairs:  # every contract packed: the pair arrays themselves
            for k, c in zip(keys, cols, strict=True):
                d["p_" + k] = d[c]
        else:
            pk = packed.nonzero()[0]
            for k, c in zip(keys, cols, strict=True):
                d["p_" + k] = d[c][pk]
        st.role[d["p_t"]] = ROLE_CODE[T]
        d["acc"]["n_trainers"] = n_packed

    def stage_training(self, ctx: RoundContext) -> None:
        st, d, cfg, S = self.model.state, ctx.data, self.model.cfg, self.settlement
        p_owner, p_opos, p_t = d["p_owner"], d["p_opos"], d["p_t"]
        npk = len(p_t)
        n_own = len(d["owners"])
        prof = d["prof"]
        every = self._true[:npk]  # read-only "all" mask
        if prof.all_transmit:  # no present owner strategy withholds the model
            transmitted = every
        else:
            transmitted = self._vec["transmits"][st.strategy[p_owner, ROLE_CODE[MO]]]
        ts = None if prof.all_train and prof.all_broadcast else st.strategy[p_t, ROLE_CODE[T]]
        trains = every if prof.all_train else self._vec["trains"][ts]
        broadcasts = every if prof.all_broadcast else self._vec["broadcasts"][ts]
        parent_nodes = self.owner_nodes[p_opos]
        v_latest = d["v_latest"]  # the depth of every parent (owner) model
        d["v_before_t"] = st.version[p_t]  # a gather: already a copy
        draw = self.rng.random(npk) < self.p.p_train_success
        if prof.all_transmit and prof.all_train:  # the same masks, without the no-ops
            lazy, ok = np.zeros(npk, dtype=bool), draw
        else:
            lazy = ~trains
            ok = transmitted & (lazy | draw)  # = succ & transmitted
        res = self.backend.train_round(ctx.round, self.owner_backend[p_opos], p_t, lazy, ok)
        has_model = res.model_ids >= 0
        changed = np.asarray(res.hash_changed, dtype=bool)
        submitted = has_model & changed if prof.all_broadcast else has_model & broadcasts & changed
        perf = np.asarray(res.performance, dtype=np.float64)
        # what the trainers now hold
        if cfg.failed_keeps_received:
            if prof.all_transmit:
                st.version_own[p_t] = np.maximum(st.version_own[p_t], v_latest)
            else:
                tr = p_t[transmitted]
                st.version_own[tr] = np.maximum(st.version_own[tr], v_latest)
        t_hm = p_t[has_model]
        th = t_hm if prof.all_train else p_t[has_model & trains]
        st.version_own[th] = np.maximum(st.version_own[th], v_latest + 1)
        st.last_perf[t_hm] = perf[has_model]
        # trainers' operating costs (Table II, eqs. 31-38)
        c = S.cost
        if prof.all_transmit and prof.all_train and prof.all_broadcast:
            # (transmit + train) + (encrypt + broadcast) where a model is held, else
            # (transmit + train) + 0.0: the sums of the general branch, term by term
            tt = c["transmit"] + c["train"]
            t_cost = fnp.where(has_model, tt + (c["encrypt"] + c["broadcast"]), tt + 0.0)
        else:
            t_cost = fnp.where(transmitted, c["transmit"], 0.0)
            t_cost += fnp.where(transmitted & trains, c["train"], 0.0)
            t_cost += fnp.where(has_model & broadcasts, c["encrypt"] + c["broadcast"], 0.0)
        # owners' transmission cost, once per transmitting owner (eq. 24)
        sent_pos = p_opos if prof.all_transmit else p_opos[transmitted]
        sent = fnp.bincount(sent_pos, minlength=n_own) > 0  # per owner position
        st.cost[d["owners"][sent]] += c["transmit"]
        # lineage nodes for the submitted models
        sub_pos = submitted.nonzero()[0]
        nodes = self.lineage.add(
            len(sub_pos),
            parent=parent_nodes[sub_pos],
            recipient=p_owner[sub_pos],
            trainer=p_t[sub_pos],
            depth=v_latest + 1,
            round=ctx.round + 1,
            perf=perf[sub_pos],
            backend_id=res.model_ids[sub_pos],
            lazy=False if prof.all_train else ~trains[sub_pos],
            pays=True,
        )
        node_of = np.empty(npk, dtype=np.int64)
        node_of.fill(-1)
        node_of[sub_pos] = nodes
        d.update(
            transmitted=transmitted,
            trains=trains,
            res=res,
            has_model=has_model,
            submitted=submitted,
            perf=perf,
            t_cost=t_cost,
            sent=sent,
            sub_pos=sub_pos,
            node_of=node_of,
        )

    def stage_blocks(self, ctx: RoundContext) -> None:
        d, S, r_idx = ctx.data, self.settlement, ctx.round
        rp, res, sub_pos, p_owner, p_t = d["rp"], d["res"], d["sub_pos"], d["p_owner"], d["p_t"]
        n_sub = len(sub_pos)
        n_hash = n_sub  # an NBr trainer broadcasts nothing, not even its hash
        n_enc = n_ver = n_sub
        eb_build = tb_build = sb_build = None
        if rp is not None:
            ph, nh = res.parent_hashes, res.hashes
            rp.set_models(
                p_owner[sub_pos], p_t[sub_pos], [ph[i] for i in sub_pos], [nh[i] for i in sub_pos]
            )
            eb_build = rp.encryption_payload
        eb = self._mine("EB", r_idx, d, eb_build)
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

        tb = self._mine("TB", r_idx, d, tb_build) if eb.miner >= 0 else None
        if rp is not None and tb is not None and tb.miner >= 0:
            n_enc = len(tb.payload["encrypted"])
            perf, submitted = d["perf"], d["submitted"]
            rk = (submitted & np.isfinite(perf)).nonzero()[0]
            rp.set_performances(p_t[rk], perf[rk], S.top_k(len(rk)))

            def sb_build(who: int, honest: bool) -> dict:
                return rp.settlement_payload(tb.payload, honest)

        sb = self._mine("SB", r_idx, d, sb_build) if tb is not None and tb.miner >= 0 else None
        if rp is not None and sb is not None and sb.miner >= 0:
            n_ver = len(sb.payload["performances"])
        if "winners" not in d:  # drawn winners: no forks, no stale blocks
            for stage in (d["db"], eb, tb, sb):
                if stage is not None:
                    d["forks"] += stage.forks
                    d["stale"] += stage.stale
        d["chain_ok"] = d["db"].miner >= 0 and sb is not None and sb.miner >= 0
        paid = []
        if eb.miner >= 0:
            paid.append((eb.miner, "EB", n_hash))
        if tb is not None and tb.miner >= 0:
            paid.append((tb.miner, "TB", n_enc))
        if sb is not None and sb.miner >= 0:
            paid.append((sb.miner, "SB", n_ver))
        if paid:
            self._pay_blocks(paid, d)
        d["eb"], d["sb"] = eb, sb

    def stage_settlement(self, ctx: RoundContext) -> None:
        st, d, cfg, lg = self.model.state, ctx.data, self.model.cfg, self.ledger
        p_t, p_owner = d["p_t"], d["p_owner"]
        npk = len(p_t)
        selected_pos = np.zeros(0, dtype=np.int64)
        # (the ranking beyond the selected is not needed: the EBM's model is the round's
        # depth, V_latest + 1, whichever selected model it copies)
        if d["chain_ok"] and d["rp"] is not None:  # the ranking and top_k of the main-chain SB
            selected_pos, _ = d["rp"].selection(d["sb"].payload, p_t)
        elif d["chain_ok"]:
            S = self.settlement
            if type(S).select is DeRelayLSettlement.select:
                # only the selected top k are ranked (one partial sort)
                selected_pos, _ = S.select(d["perf"], d["submitted"], self.rng, False)
            else:  # a registered settlement's own select
                selected_pos, _ = S.select(d["perf"], d["submitted"], self.rng)
        sel_mask = np.zeros(npk, dtype=bool)
        sel_mask[selected_pos] = True
        # deposits: returned for selected pairs; NTm owners' trainers get theirs back;
        # everything else is forfeited (Step 11 part 3; eqs. 28, 35, 38)
        if d["chain_ok"]:
            ret_t = sel_mask if d["prof"].all_transmit else sel_mask | ~d["transmitted"]
            ret_mo = sel_mask
        else:  # the round is void: every packed deposit goes back (a read-only mask)
            ret_t = ret_mo = self._true[:npk]
        p_dep_t, p_dep_mo = d["p_dep_t"], d["p_dep_mo"]
        if ret_t is ret_mo:  # one mask: its positions once (ascending, as the mask's)
            back = ret_t.nonzero()[0]
            parts = ((p_t[back], p_dep_t[back]), (p_owner[back], p_dep_mo[back]))
        else:
            parts = ((p_t[ret_t], p_dep_t[ret_t]), (p_owner[ret_mo], p_dep_mo[ret_mo]))
        lg.release_parts(parts)
        lost_t = fnp.where(ret_t, 0, p_dep_t)
        lost_mo = fnp.where(ret_mo, 0, p_dep_mo)
        lost = int(np.add.reduce(lost_t, axis=None) + np.add.reduce(lost_mo, axis=None))
        to = None
        if cfg.forfeit == "redistribute":
            to = fnp.concatenate([p_t[sel_mask], p_owner[sel_mask]])
        share = 0
        if lost:
            lg.slash(lost, to, "forfeit")
            if to is not None and len(to):
                share = lost // len(to)
                np.add.at(st.revenue, to, share / NANO)
        # deposits in coins; a pair's deposit is either returned whole or lost whole, so
        # lost / NANO and (deposit - lost) / NANO are the coin deposit or 0.0, exactly
        stake_t, stake_mo = p_dep_t / NANO, p_dep_mo / NANO
        cost_t = fnp.where(ret_t, 0.0, stake_t) + d["t_cost"]
        st.cost[p_t] += cost_t  # each trainer appears once per round
        # the owners' forfeits, summed per owner position (the owners are distinct, so
        # adding them at the owners equals adding the participant-sized bincount)
        owners = d["owners"]
        lost_o = fnp.bincount(
            d["p_opos"], weights=fnp.where(ret_mo, 0.0, stake_mo), minlength=len(owners)
        )
        st.cost[owners] += lost_o
        d.update(
            selected_pos=selected_pos,
            sel_mask=sel_mask,
            lost_t=lost_t,
            lost_mo=lost_mo,
            ret_t=ret_t,
            ret_mo=ret_mo,
            stake_t=stake_t,
            stake_mo=stake_mo,
            cost_t=cost_t,
            lost_o=lost_o,
            redistributed_share=share,
        )

    def stage_citations(self, ctx: RoundContext) -> None:
        st, d, S = self.model.state, ctx.data, self.settlement
        sel_nodes = d["node_of"][d["selected_pos"]]
        cite = S.citations(sel_nodes) if len(sel_nodes) else None
        if cite is not None:
            total_cite = self.ledger.mint_dense(cite, "citation")
            st.cited += cite
            st.revenue += cite / NANO
            # the owner's own share (k = 0, one R_Cited per selected child) is the MO's
            # "now" revenue; the rest goes to predecessor owners, whatever their role
            d["acc"]["citation_minted"] = total_cite
            d["acc"]["cite_pred"] = (total_cite - len(d["selected_pos"]) * S.r_cited) / NANO
        if self.model.cfg.keep_lineage:  # the column only lineage.parquet reads
            self.lineage.set("selected", sel_nodes, True)
        d["sel_nodes"], d["cited"] = sel_nodes, cite is not None

    def stage_versions(self, ctx: RoundContext) -> None:
        st, d, cfg = self.model.state, ctx.data, self.model.cfg
        eb, v_latest = d["eb"], d["v_latest"]
        coin_f = self.p.coin
        if (
            d["chain_ok"]
            and len(d["selected_pos"])
            and cfg.ebm_receives != "none"
            and eb.miner >= 0
        ):
            # "best" (the best model's) and "max" (the deepest submitted): every model of
            # the round has depth V_latest + 1
            best_depth = v_latest + 1
            v0 = int(st.version[eb.miner])
            if best_depth > v0:
                d["acc"]["ebm_gain"] = (best_depth - max(v0, -1)) * coin_f
                st.revenue[eb.miner] += d["acc"]["ebm_gain"]
                st.version[eb.miner] = best_depth
        np.maximum(st.version, st.version_own, out=st.version)
        # model value the trainers gained (Table II: (V_RecM - V_Now^T [+1]) (c))
        p_t, v_before_t = d["p_t"], d["v_before_t"]
        # versions never fall (np.maximum above; trainers are not the EBM): the gain >= 0
        v_gain_t = (st.version[p_t] - v_before_t) * coin_f
        if cfg.check_invariants:
            assert (st.version[p_t] >= v_before_t).all(), "a trainer's version fell"
        st.revenue[p_t] += v_gain_t
        d["v_gain_t"] = v_gain_t
        if d["prof"].all_transmit:
            d["gap_t"] = v_latest - v_before_t  # versions are >= -1 (-1: none held)
        else:
            d["gap_t"] = fnp.where(d["transmitted"], v_latest - v_before_t, 0)

    def stage_accounting(self, ctx: RoundContext) -> None:
        """Realised utility per (role, strategy): owners, trainers, valid-block miners."""
        st, d, S = self.model.state, ctx.data, self.settlement
        red = d["redistributed_share"] / NANO
        owners, p_t, sel = d["owners"], d["p_t"], d["sel_mask"]
        r_cited = (S.r_cited / NANO) if d["cited"] else 0.0
        # model owners: citations as owner (k = 0) - forfeited deposits - transmission;
        # per-owner sums by position in the owners array (no participant-sized arrays)
        opos, n_own = d["p_opos"], len(owners)
        # the per-owner sums by position in the owners array (counts: int; the recorder
        # adds them as floats, the same values); the forfeits per owner are settlement's
        sel_o = fnp.bincount(opos, weights=sel, minlength=n_own)  # counts, as floats
        stake_mo = d["stake_mo"]
        stake_o = fnp.bincount(opos, weights=stake_mo, minlength=n_own)
        count_o = fnp.bincount(opos, minlength=n_own)
        returned_o = fnp.bincount(
            opos, weights=fnp.where(d["ret_mo"], stake_mo, 0.0), minlength=n_own
        )
        rev_o = sel_o * r_cited
        if red:
            rev_o += red * sel_o
        cost_o = d["lost_o"] + d["sent"] * S.cost["transmit"]
        # (v_gain_t >= +0.0 elementwise: adding 0.0 would only copy it)
        rev_t = d["v_gain_t"] + fnp.where(sel, red, 0.0) if red else d["v_gain_t"]
        cost_t = d["cost_t"]  # forfeits + operating costs (settlement's)
        # owners', trainers' and the valid blocks' miners' plays in one recorder call
        # (ints and flags are summed as floats: the same values; each miner role mines one
        # block a round, so the roles are distinct)
        mo_stats = {"stake": stake_o, "count": count_o, "selected": sel_o, "returned": returned_o}
        t_stats = {
            "stake": d["stake_t"],
            "gap": d["gap_t"],
            "count": d["submitted"],
            "selected": sel,
            "returned": fnp.where(d["ret_t"], d["stake_t"], 0.0),
        }
        strategy = st.strategy
        if d["prof"].all_normal:  # every code 0: no gathers
            codes_o, codes_t = self._zero_codes[: len(owners)], self._zero_codes[: len(p_t)]
        else:
            codes_o, codes_t = strategy[owners, ROLE_CODE[MO]], strategy[p_t, ROLE_CODE[T]]
        plays = [
            (MO, codes_o, rev_o - cost_o, rev_o, cost_o, mo_stats),
            (T, codes_t, rev_t - cost_t, rev_t, cost_t, t_stats),
        ]
        ebm = BLOCK_ROLE["EB"]
        for role, miner, reward, cost, items in d["acc"].pop("miners", []):
            extra = gap = 0.0
            if role == ebm:
                extra = float(d["acc"].get("ebm_gain", 0.0))
                gap = extra / self.p.coin
            code = 0 if d["prof"].all_normal else int(strategy[miner, ROLE_CODE[role]])
            rev = reward + extra
            plays.append((role, code, rev - cost, rev, cost, {"gap": gap, "count": float(items)}))
        self.model.recorder.play_many(plays)

    def stage_next_owners(self, ctx: RoundContext) -> None:
        d, cfg = ctx.data, self.model.cfg
        res, selected_pos = d["res"], d["selected_pos"]
        forget = hasattr(self.backend, "forget_before")
        # the models no longer needed (only a backend without forget_before is told)
        stale_models = None if forget else res.model_ids[d["has_model"] & ~d["sel_mask"]]
        if len(selected_pos):
            if not forget:
                stale_models = fnp.concatenate([stale_models, self.owner_backend])
            self.owners = d["p_t"][selected_pos]
            self.owner_nodes = d["sel_nodes"]
            self.owner_depth = d["v_latest"] + 1
            if cfg.check_invariants:
                depth = self.lineage.col("depth", self.owner_nodes)
                assert (depth == self.owner_depth).all(), "owner models of different depths"
            self.owner_backend = res.model_ids[selected_pos]
            self.owner_perf = d["perf"][selected_pos]
        elif d["chain_ok"] and cfg.on_no_selection == "halt":
            self.halted = True
        # else: the owners stay owners
        if forget:
            self.backend.forget_before(int(np.minimum.reduce(self.owner_backend, axis=None)))
        else:
            keep = np.isin(stale_models, self.owner_backend, invert=True)
            self.backend.release(stale_models[keep & (stale_models >= 0)])

    # --- mining ------------------------------------------------------------------------------
    def _mine(self, kind: str, r_idx: int, d: dict, build=None):
        """Mine one block; ``build(participant, honest)`` gives its contents (simulated
        chain; ``honest`` is False for a PI/NG/IT/IRa miner, whose payload the chain's
        rules reject)."""
        miners = d["miners"]
        if kind == "DB" and self._draw_chain and len(miners):
            # every present miner strategy of every block role mines valid blocks: the
            # round's four draws at once (DrawChain.winners: the same draws and state)
            if d["prof"].all_blocks_valid:
                d["winners"] = self.chain.winners(miners, len(BLOCK_ROLE)).tolist()
        winners = d.get("winners")
        if winners:
            return StageResult(winners.pop(0))
        st = self.model.state
        role = BLOCK_ROLE[kind]
        ri = ROLE_CODE[role]
        if self._all_valid[role] or d["prof"].all_valid[role]:
            # every strategy (or every present strategy) of the role mines valid blocks
            valid = self._true[: len(miners)]
        else:
            valid = self._vec[f"valid_{role}"][st.strategy[miners, ri]]
        res = self.chain.mine(kind, r_idx, miners, valid, build)
        if len(res.invalid_miners):
            inv = res.invalid_miners
            d["invalid_blocks"] = d.get("invalid_blocks", 0) + len(inv)
            c = self.settlement.block_cost(kind, 0, False)
            np.add.at(st.cost, inv, c)
            st.role[inv] = ri
            self.model.recorder.play(role, st.strategy[inv, ri], -c, 0.0, c)
            for mnr in inv.tolist():
                self.blocks.append((r_idx + 1, kind, mnr, False, 0, 0))
        return res

    def _pay_block(self, miner: int, kind: str, n_items: int, d: dict) -> None:
        self._pay_blocks(((miner, kind, n_items),), d)

    def _pay_blocks(self, blocks, d: dict) -> None:
        """Pay the miners of valid main-chain blocks, ``(miner, kind, items)`` in order:
        reward, revenue, cost and role, block by block."""
        st, S, mint = self.model.state, self.settlement, self.ledger.mint
        rnd = self.model.round + 1
        miners_acc = d["acc"].setdefault("miners", [])
        for miner, kind, n_items in blocks:
            amount = S.block_reward(kind, n_items)
            mint(miner, amount, "block_reward")
            role = BLOCK_ROLE[kind]
            cost = S.block_cost(kind, n_items, True)
            rev = amount / NANO
            st.revenue[miner] += rev
            st.cost[miner] += cost
            st.role[miner] = ROLE_CODE[role]
            miners_acc.append((role, miner, rev, cost, n_items))
            self.blocks.append((rnd, kind, int(miner), True, int(n_items), amount))

    # --- recording -------------------------------------------------------------------------
    def round_row(self, ctx: RoundContext) -> dict:
        m, lg, d = self.model, self.ledger, ctx.data
        acc = d["acc"]
        st = m.state
        n = m.n
        v = st.version
        latest = int(np.maximum.reduce(v, axis=None))
        held = v[v >= 0]
        counts = fnp.bincount(np.minimum(latest - held, N_LATEST + 1), minlength=N_LATEST + 2)
        total = lg.total() if ctx.ledger_total is None else ctx.ledger_total
        minted, burned, escrow, slashed = lg.minted, lg.burned, lg.escrow, lg.slashed
        row = {
            "round": m.round,
            "n_model_owners": len(d["owners"]),
            "n_candidates": acc.get("n_candidates", 0),
            "n_matched": acc.get("n_matched", 0),
            "n_trainers": acc.get("n_trainers", 0),
            "n_submitted": len(d["sub_pos"]),
            "n_selected": len(d["selected_pos"]),
            "latest_version": latest,
            "total_coins": total / NANO,
            "minted": minted / NANO,
            "forfeited": slashed / NANO,
            "burned": burned / NANO,
            "escrow": escrow / NANO,
            "minted_round": (minted - d["minted0"]) / NANO,
            "forfeited_round": (slashed - d["forfeited0"]) / NANO,
            "burned_round": (burned - d["burned0"]) / NANO,
            "citation_minted": acc.get("citation_minted", 0) / NANO,
            "citation_predecessors": acc.get("cite_pred", 0.0),
            "forks": d["forks"],
            "stale_blocks": d["stale"],
        }
        # count / n, each correctly rounded (numpy's float division of the exact counts)
        row.update(zip(SHARE_LATEST_KEYS, (counts / n).tolist(), strict=True))
        row["share_none"] = 1.0 - held.size / n  # counts covers every holder once
        coins = lg.coins
        # = coins.mean(): numpy's float64 sum over the count, without its wrapper
        row["mean_coins"] = float(np.add.reduce(coins, dtype=np.float64) / coins.size) / NANO
        # one integer sort gives the extremes and (standard_columns) the Gini coefficient
        srt = None if lg.allow_overdraft else _sorted(coins.copy())
        if srt is not None and srt.size:
            row["min_coins"] = int(srt[0]) / NANO
            row["max_coins"] = int(srt[-1]) / NANO
        else:
            row["min_coins"] = int(np.minimum.reduce(coins, axis=None)) / NANO
            row["max_coins"] = int(np.maximum.reduce(coins, axis=None)) / NANO
        row["total_coins_nano"] = total
        row["minted_nano"] = minted
        row["burned_nano"] = burned
        row["escrow_nano"] = escrow
        res, sel, sub = d["res"], d["sel_mask"], d["submitted"]
        n_sel = len(d["selected_pos"])  # sel has exactly the selected positions set
        if n_sel:
            g = np.asarray(res.gain, dtype=np.float64)[sel]
            row["mean_gain"] = float(np.add.reduce(g) / g.size)  # = g.mean()
        else:
            row["mean_gain"] = np.nan
        if d["prof"].all_train:  # no lazy model
            row["lazy_top_s_rate"] = np.nan
        else:
            lz = ~d["trains"] & sub
            n_lz = int(np.count_nonzero(lz))
            row["lazy_top_s_rate"] = float(np.count_nonzero(sel & lz) / n_lz) if n_lz else np.nan
        row["best_performance"] = (
            float(np.fmax.reduce(d["perf"][sub])) if len(d["sub_pos"]) else np.nan
        )  # the same value as nanmax (which is fmax.reduce), without its checks
        if self.learning_metrics:
            from derelay.learning import round_metrics

            out = round_metrics(res, sel, self.backend)
            row.update({k: out[k] for k in ("best_accuracy", "mean_gain", "lazy_top_s_rate")})
        row.update(m.strategy_shares())
        row["halted"] = False
        row.update(self._comparison_columns(d, res, sel, sub, srt))
        return row

    def _comparison_columns(self, d: dict, res, sel, sub, sorted_coins=None) -> dict:
        """The columns every mechanism reports (docs/ENGINE.md section 6) and the
        standard ones (:mod:`derelay.engine.metrics`), after DeRelayL's own."""
        m, st = self.model, self.model.state
        out = standard_columns(m, sorted_coins)
        ids = self.owner_backend
        if len(ids):
            ev = np.asarray(self.backend.eval_accuracy(ids), dtype=np.float64)
            out["accuracy"] = float(np.fmax.reduce(ev))  # = nanmax
            honest = None if self._types_honest else m.types.family[self.owners] <= 0
            if honest is None or np.count_nonzero(honest):
                evh = ev if honest is None else ev[honest]
                total = float(np.add.reduce(evh, axis=None))
                if total == total:  # no NaN: nanmean's own sum / count
                    out["honest_accuracy"] = total / evh.size
                else:  # a NaN (or inf - inf, where nanmean is NaN too)
                    out["honest_accuracy"] = float(np.nanmean(evh))
            else:
                out["honest_accuracy"] = np.nan
        else:
            out["accuracy"] = np.nan
            out["honest_accuracy"] = np.nan
        prof = d["prof"]
        if prof.all_transmit and prof.all_train:  # every packed pair trained
            out["training_jobs"] = len(sel)
            out["wasted_jobs"] = len(sel) - len(d["selected_pos"])  # sel: those set
        else:
            trained = d["trains"] & d["transmitted"]
            out["training_jobs"] = int(np.count_nonzero(trained))
            out["wasted_jobs"] = int(np.count_nonzero(trained & ~sel))
        # deviant actions: every play this round of a non-Normal strategy; detected: the
        # ones penalised (a forfeited deposit, or a block forked away)
        if prof.all_normal:  # every strategy code is 0
            out["deviant_actions"] = 0
        else:
            idx = (st.role != m.idle).nonzero()[0]
            codes = st.strategy[idx, st.role[idx].astype(np.int64)]
            dev = codes != 0
            out["deviant_actions"] = int(np.count_nonzero(dev))
        n_det = 0
        if out["deviant_actions"]:
            lost = np.zeros(m.n, dtype=bool)
            lost[d["p_t"][d["lost_t"] > 0]] = True
            lost[d["p_owner"][d["lost_mo"] > 0]] = True
            n_det = int(np.count_nonzero(lost[idx] & dev))
        out["deviant_detected"] = n_det + int(d.get("invalid_blocks", 0))
        return out

    def halted_row(self, ctx: RoundContext) -> dict:
        last = dict(self.model.recorder.rows[-1]) if self.model.recorder.rows else {}
        last.update(
            round=self.model.round,
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
        return last

    def own_state_values(self, role: str, idx: np.ndarray):
        """A trainer's or owner's own state for best response (``None`` for miners)."""
        if role not in (T, MO):
            return None
        return own_state_values(self.model, idx)

    def strategy_utility(self, role: str, abbr: str):
        return self.model.behaviour[role][self.model.role_strats[role].index(abbr)].utility

    def blocks_frame(self):
        import pandas as pd

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

    def tables(self) -> dict:
        import pandas as pd

        out = {"blocks": self.blocks_frame()}
        if self.model.cfg.keep_lineage:
            out["lineage"] = pd.DataFrame(self.lineage.table())
        return out

    def meta(self) -> dict:
        lg = self.ledger
        return {
            "chain": self.chain.name,
            "learning": self.model.cfg.learning,
            "ledger": {
                "minted_nano": lg.minted,
                "burned_nano": lg.burned,
                "forfeited_nano": lg.slashed,
                "returned_nano": lg.released,
                "redistributed_nano": lg.redistributed,
                "escrow_nano": lg.escrow,
                "total_coins_nano": lg.total(),
            },
            "chain_metrics": self.chain.metrics(),
            "citation_tree_size": self.settlement.engine.tree_size,
        }


def _sorted(a: np.ndarray) -> np.ndarray:
    """``a`` sorted in place (a fresh array: np.sort without its wrapper and copy)."""
    a.sort()
    return a


def own_state_values(model, idx: np.ndarray):
    """Parameter values as seen by participants ``idx`` (numpy arrays, one per agent).

    A trainer's own version gap and the deposit it would bid under the paper's rule
    (V_RecM = V_latest, V_Now^T its own version, b^T = min(coins, V_latest - V_Now + 1));
    an owner's own deposit per trainer b^MO = min(Budget_MO, coins) / limit.  Every other
    key is the run's parameter.  The Table II formulas evaluate these arrays directly.
    """
    from derelay.params import as_values

    p = model.p
    v = as_values(p)
    st = model.state
    latest = float(st.version.max())
    v_now = np.maximum(st.version[idx], 0).astype(np.float64)
    coins = st.coins[idx] / NANO
    v.v_rec = np.full(len(idx), latest)
    v.v_now_t = np.minimum(v_now, latest)
    v.b_t = np.minimum(coins, (latest - v.v_now_t + 1) * p.coin)
    v.b_mo = np.minimum(p.mo_budget, coins) / p.selection_limit
    return v


class DeRelayModel(MechanismModel):
    """The DeRelayL relay as a Mesa 3 model: the generic engine plus
    :class:`DeRelayLProtocol` (vectorised state, thin agents)."""

    def __init__(self, cfg: SimConfig | None = None, seed: int = 0, backend=None) -> None:
        from derelay.mechanism import get_mechanism

        cfg = cfg or SimConfig.from_preset("paper_text")
        table = strategy_table(cfg.mechanism)
        role_strats = {r: tuple(sorted(table[r], key=lambda a: (a != "N", a))) for r in ROLES}
        self.behaviour = {r: [table[r][a] for a in role_strats[r]] for r in ROLES}
        super().__init__(
            cfg,
            get_mechanism(cfg.mechanism),
            DeRelayLProtocol,
            cfg.params,
            options=cfg,
            seed=seed,
            role_strategies=role_strats,
            backend=backend,
        )
        self.rng = self.streams.rng("model")  # the round's stream (as before the engine)
        self.datacollector = None
        if cfg.datacollector:
            import mesa

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

    # the protocol's state, as attributes of the model (existing users read them here)
    @property
    def owners(self) -> np.ndarray:
        return self.protocol.owners

    @property
    def owner_perf(self) -> np.ndarray:
        return self.protocol.owner_perf

    @property
    def owner_nodes(self) -> np.ndarray:
        return self.protocol.owner_nodes

    @property
    def backend(self):
        return self.protocol.backend

    @property
    def chain(self):
        return self.protocol.chain

    @property
    def lineage(self):
        return self.protocol.lineage

    @property
    def settlement(self):
        return self.protocol.settlement

    @property
    def halted(self) -> bool:
        return self.protocol.halted

    @property
    def adapt_rng(self) -> np.random.Generator:
        return self.streams.rng("adapt")

    def strategy_for(self, index: int, role: str) -> str:
        return self.role_strats[role][int(self.state.strategy[index, ROLE_CODE[role]])]

    def behaviour_of(self, index: int):
        rc = int(self.state.role[index])
        if rc == IDLE:
            return None
        return self.behaviour[ROLES[rc]][int(self.state.strategy[index, rc])]

    def after_round(self, ctx: RoundContext) -> None:
        if self.datacollector is not None and self.round % self.cfg.record_every == 0:
            self.datacollector.collect(self)
        if self.protocol._any_hook:
            self.agents.shuffle_do("run_hook")
            self._shares = None
