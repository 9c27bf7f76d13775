"""``MechanismModel``: the generic Mesa 3 model every mechanism's protocol runs on.

The engine owns what every mechanism shares:

* the population (``n`` participants; thin Mesa agents are views on an index),
* named RNG streams from one ``SeedSequence`` (:mod:`derelay.engine.streams`): the
  protocol's ``streams`` first, then the engine's ``adapt``, ``init``, ``sample``,
  ``graph``,
* the exact ledger (:mod:`derelay.engine.ledger`, the protocol's system accounts after
  the participants; conservation checked after every round),
* persistent agent *types*: a deviation family (index into
  :data:`derelay.mechanism.FAMILIES`) and an optional coalition id per agent, and the
  strategy profile they induce: ``state.strategy[i, r]`` is the code of the strategy
  agent ``i`` plays in role ``r`` - its family's strategy there, or Normal where the role
  has none (a role with two strategies of one family: the first declared).  Profiles
  can also be drawn per role from shares (``strategies``; DeRelayL's historical input);
  then ``types.family`` is -1 ("per role"),
* the per-agent realised ``revenue``, ``cost``, ``utility`` (= revenue - cost) of the
  round, its EWMA and running sum,
* the recorder (:mod:`derelay.engine.record`) and the adaptation dynamics
  (:mod:`derelay.engine.dynamics`: imitation, logit best response, replicator) over the
  mechanism's roles.

The protocol (:class:`derelay.engine.protocol.Protocol`) owns the round.  Strategy codes
per role order the honest strategy first, then the others by abbreviation.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from derelay.mechanism import FAMILIES, FAMILY_CODE

from ._mesa import mesa
from .ledger import NANO, Ledger, to_nano
from .protocol import RoundContext
from .record import Recorder
from .streams import ENGINE_STREAMS, Streams


class Types:
    """Persistent agent types: ``family`` (int8 index into FAMILIES, -1: per-role
    profile) and ``coalition`` (int32, -1 = none)."""

    def __init__(self, n: int) -> None:
        self.family = np.zeros(n, dtype=np.int8)
        self.coalition = np.full(n, -1, dtype=np.int32)

    def family_name(self, i: int) -> str:
        f = int(self.family[i])
        return FAMILIES[f] if f >= 0 else "per_role"


class State:
    """Per-participant arrays (index = participant id).  Protocols add their own."""

    def __init__(self, n: int, n_roles: int, idle: int, coins: np.ndarray) -> None:
        self.n = n
        self.coins = coins  # the ledger's participant balances (a view)
        self.role = np.full(n, idle, dtype=np.int8)
        self.strategy = np.zeros((n, n_roles), dtype=np.int16)
        self.utility = np.zeros(n)
        self.revenue = np.zeros(n)
        self.cost = np.zeros(n)
        self.ewma_utility = np.zeros(n)
        self.cum_utility = np.zeros(n)


def assign_by_shares(probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exactly round(share * n) agents per entry (largest remainder), shuffled."""
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


class MechanismModel(mesa.Model):
    """One mechanism's ABM: engine state plus the mechanism's round protocol.

    ``cfg`` carries the engine settings by attribute (:class:`derelay.engine.RunConfig`,
    or a mechanism's own configuration with the same field names, e.g. DeRelayL's
    ``SimConfig``).  ``mechanism`` (a :class:`~derelay.mechanism.Mechanism`),
    ``protocol_cls``, ``params`` (the evaluated parameter bag the protocol reads as
    ``self.p``) and ``options`` are resolved by the caller (:func:`build_model`).
    """

    nano = NANO

    def __init__(
        self,
        cfg,
        mechanism,
        protocol_cls,
        params,
        options=None,
        seed: int = 0,
        n_participants: int | None = None,
        role_strategies: dict[str, tuple[str, ...]] | None = None,
        point=None,
        **protocol_kwargs: Any,
    ) -> None:
        super().__init__(seed=int(seed))
        self.cfg = cfg
        self.mechanism = mechanism
        self.seed_value = int(seed)
        self.p = params
        self.point = point  # the validated space point (None: the caller's own params)
        self.options = options
        n = int(n_participants if n_participants is not None else params.n_participants)
        self.n = n
        self.streams = Streams(seed, (*protocol_cls.streams, *ENGINE_STREAMS))
        # roles and strategy codes
        self.roles: tuple[str, ...] = tuple(r.abbr for r in mechanism.roles)
        self.idle = len(self.roles)
        self.role_names: tuple[str, ...] = (*self.roles, "idle")
        self._role_code = {r: i for i, r in enumerate(self.roles)}
        if role_strategies is None:
            role_strategies = {
                r.abbr: tuple(
                    sorted(
                        (s.abbr for s in r.strategies), key=lambda a, r=r: (a != r.normal.abbr, a)
                    )
                )
                for r in mechanism.roles
            }
        self.role_strats = role_strategies
        self._strategy_code = {
            r: {a: i for i, a in enumerate(v)} for r, v in self.role_strats.items()
        }
        # ledger, state, types
        flows = getattr(cfg, "flows", "auto")
        if flows == "auto":
            flows = "full" if n <= 20_000 else "aggregate"
        self.ledger = Ledger(n, system=protocol_cls.system_accounts, flows=flows)
        self.state = State(n, len(self.roles), self.idle, self.ledger.coins)
        self.types = Types(n)
        init_coins = float(getattr(cfg, "initial_coins", 0.0) or 0.0)
        if init_coins > 0:
            self.ledger.mint_dense(np.full(n, to_nano(init_coins), dtype=np.int64), "initial")
        self._assign_strategies()
        self._shares = None
        self._graph = None
        self._cf_utils = None
        self.round = 0  # rounds completed
        self.timings: dict[str, float] = {}
        # the protocol
        self.protocol = protocol_cls(self, **protocol_kwargs)
        self.protocol.setup()
        self.recorder = Recorder(self)
        self._agents_created = False
        if getattr(cfg, "mesa_agents", True):
            self.create_agents()

    # --- types and strategies -------------------------------------------------------
    def _assign_strategies(self) -> None:
        cfg, n = self.cfg, self.n
        rng = self.streams.rng("init")
        types = dict(getattr(cfg, "types", None) or {})
        shares = dict(getattr(cfg, "strategies", None) or {})
        if types:
            fams = ["honest", *sorted(f for f in types if f != "honest")]
            probs = [1.0 - sum(float(v) for f, v in types.items() if f != "honest")]
            probs += [float(types[f]) for f in fams[1:]]
            # the population stream depends on the seed only (not on the protocol's
            # streams): every mechanism run with one seed has the same deviant agents
            pop = self.streams.shared("population")
            codes = assign_by_shares(np.array(probs), n, pop)
            fam_idx = np.array([FAMILY_CODE[f] for f in fams], dtype=np.int8)
            self.types.family[:] = fam_idx[codes]
            for ri, role in enumerate(self.mechanism.roles):
                lut = np.zeros(len(FAMILIES), dtype=np.int16)
                for f in FAMILIES:
                    abbr = role.for_family(f).abbr
                    lut[FAMILY_CODE[f]] = self._strategy_code[role.abbr].get(abbr, 0)
                self.state.strategy[:, ri] = lut[self.types.family]
            self._assign_coalitions(pop)
        if shares:
            self.types.family[:] = -1
            for ri, r in enumerate(self.roles):
                sh = shares.get(r) or {self.role_strats[r][0]: 1.0}
                probs = np.array([sh.get(a, 0.0) for a in self.role_strats[r]])
                self.state.strategy[:, ri] = assign_by_shares(probs, n, rng)

    def _assign_coalitions(self, rng) -> None:
        k = int(getattr(self.cfg, "coalitions", 0) or 0)
        if k <= 0:
            return
        members = np.flatnonzero(self.types.family != FAMILY_CODE["honest"])
        if getattr(self.cfg, "coalition_members", "deviants") == "all":
            members = np.arange(self.n)
        members = members[rng.permutation(members.size)]
        self.types.coalition[members] = (np.arange(members.size) % k).astype(np.int32)

    def role_code(self, role: str) -> int:
        try:
            return self._role_code[role]
        except KeyError:
            raise KeyError(f"unknown role {role!r}; roles are {list(self.roles)}") from None

    def strategy_code(self, role: str, abbr: str) -> int:
        try:
            return self._strategy_code[role][abbr]
        except KeyError:
            raise ValueError(
                f"unknown strategy {role}.{abbr}; allowed {list(self.role_strats.get(role, ()))}"
            ) from None

    def strategy_of(self, role: str, agents) -> np.ndarray:
        """Strategy codes the ``agents`` play in ``role`` (index into role_strats[role])."""
        return self.state.strategy[np.asarray(agents, dtype=np.int64), self.role_code(role)]

    def behaviour_vector(self, role: str, key: str, default=False, dtype=None) -> np.ndarray:
        """``Strategy.behaviour[key]`` of each strategy code of ``role`` (a lookup table:
        ``vec[model.strategy_of(role, agents)]`` gives each agent's switch)."""
        r = self.mechanism.role(role)
        vals = []
        for a in self.role_strats[role]:
            try:
                beh = r.strategy(a).behaviour
            except KeyError:
                beh = {}
            vals.append(beh.get(key, default))
        return np.array(vals, dtype=dtype)

    def set_strategy(self, index: int, role: str, abbr: str) -> None:
        self.state.strategy[index, self.role_code(role)] = self.strategy_code(role, abbr)
        self._shares = None

    def strategies_changed(self) -> None:
        """Call after writing ``state.strategy`` directly (invalidates cached shares)."""
        self._shares = None

    def strategy_shares(self) -> dict[str, float]:
        if self._shares is not None:
            return self._shares
        out = {}
        for ri, r in enumerate(self.roles):
            k = len(self.role_strats[r])
            counts = np.bincount(self.state.strategy[:, ri], minlength=k)
            for a, c in zip(self.role_strats[r], counts, strict=True):
                out[f"share_{r}_{a}"] = c / self.n
        self._shares = out
        return out

    def all_codes_zero(self) -> bool:
        """Whether every agent plays strategy code 0 (Normal) in every role (cached with
        :meth:`strategy_shares`)."""
        shares = self.strategy_shares()
        cached = self.__dict__.get("_zero_codes")
        if cached is None or cached[0] is not shares:
            zero = all(
                shares[f"share_{r}_{a}"] == 0
                for r in self.roles
                for a in self.role_strats[r][1:]
            )
            cached = self._zero_codes = (shares, zero)
        return cached[1]

    # --- Mesa agents ------------------------------------------------------------------
    def create_agents(self) -> None:
        if self._agents_created:
            return
        cls = getattr(self.protocol, "agent_class", None)
        if cls is None:
            from .agent import EngineAgent as cls
        for i in range(self.n):
            cls(self, i)
        self._agents_created = True

    # --- one round --------------------------------------------------------------------
    def step(self) -> None:
        st, proto = self.state, self.protocol
        ctx = RoundContext(self, self.round)
        self.ledger.round = self.round + 1
        if proto.halted:
            self.round += 1
            st.role[:] = self.idle
            st.utility[:] = 0.0
            self.recorder.end_halted(proto.halted_row(ctx))
            return
        st.utility[:] = 0.0
        st.revenue[:] = 0.0
        st.cost[:] = 0.0
        st.role[:] = self.idle
        self.recorder.begin_round()
        proto.run_round(ctx)
        np.subtract(st.revenue, st.cost, out=st.utility)
        ctx.ledger_total = self.ledger.check_conserved()
        m_ = float(getattr(self.cfg, "utility_memory", 0.1))
        st.ewma_utility *= 1.0 - m_
        st.ewma_utility += m_ * st.utility
        st.cum_utility += st.utility
        self.round += 1
        self.recorder.end_round(proto.round_row(ctx))
        self.after_round(ctx)
        if (
            getattr(self.cfg, "adaptation", "fixed") != "fixed"
            and self.round % int(getattr(self.cfg, "adaptation_every", 1)) == 0
        ):
            from .dynamics import adapt

            adapt(self)
            self._shares = None

    def after_round(self, ctx: RoundContext) -> None:
        """Between recording and adaptation (DeRelayL: data collector and agent hooks)."""

    def run(self, rounds: int, progress: bool = False) -> None:
        t0 = time.perf_counter()
        if progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task(f"{self.mechanism.name} rounds", total=rounds)
                for _ in range(rounds):
                    self.step()
                    bar.advance(task)
        else:
            # Mesa's step wrapper (Model._wrapped_step) counts the step and formats a log
            # message each call: count here and call the round itself
            step = getattr(self, "_user_step", None)
            if step is None:
                for _ in range(rounds):
                    self.step()
            else:
                for _ in range(rounds):
                    self.steps += 1
                    step()
        self.timings["rounds_s"] = self.timings.get("rounds_s", 0.0) + time.perf_counter() - t0
