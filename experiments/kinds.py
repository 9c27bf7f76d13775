"""Built-in run kinds of the sweep engine (registered in ``RUN_KINDS`` on import).

* ``check``: one parameter point in closed form (utilities, margins, T1-T8, IR/IC).
* ``feasible``: minimal per-round issuance over the reward parameters such that T1-T8
  hold (a linear programme; the formal layer's exact solver is used when present).
* ``dynamics``: stochastic logit-revision dynamics of each role's population on the
  closed-form Table II utilities: does Normal stay dominant, and how fast do deviations
  take over when a condition is violated?
* ``abm`` / ``chain`` / ``learning``: the agent-based model (issue 5), the forkable
  chain (issue 4) and real relay learning (issue 6), imported lazily.
* ``toy``: a trivially cheap random walk used by the engine's own tests (``fail`` and
  ``sleep`` config keys exercise failure recording and interruption).

Every kind is a module-level function ``kind(config, seed) -> {table: DataFrame}``
(spawn-safe) that draws randomness only from ``numpy.random.default_rng(seed)``.  Every
kind accepts a free-text ``label`` key (a name for a sweep point, kept as a column).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from derelay.params import REWARD_KEYS, params_from_mapping

from .registry import register_kind

# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _params(config: dict):
    return params_from_mapping(config.get("params", {}) or {})


def _check_keys(config: dict, allowed: set[str], kind: str) -> None:
    extra = sorted(set(config) - allowed)
    if extra:
        raise ValueError(
            f"unknown config key(s) {extra} for kind '{kind}'; allowed {sorted(allowed)}"
        )


def _positive_int(config: dict, key: str, default: int, lo: int = 1, hi: int = 10**7) -> int:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ValueError(f"'{key}' = {v!r} must be an integer in [{lo}, {hi}]")
    return v


def _unit(config: dict, key: str, default: float, lo=0.0, hi=1.0) -> float:
    v = config.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        raise ValueError(f"'{key}' = {v!r} must be a number in [{lo}, {hi}]")
    return float(v)


# ---------------------------------------------------------------------------------------
# toy: for the engine's tests
# ---------------------------------------------------------------------------------------


def _validate_toy(config: dict) -> None:
    _check_keys(config, {"rounds", "drift", "fail", "sleep", "params", "label"}, "toy")
    _positive_int(config, "rounds", 10, 1, 10**6)
    _unit(config, "sleep", 0.0, 0.0, 60.0)


@register_kind("toy", _validate_toy, "cheap random walk (engine tests): rounds, drift, fail, sleep")
def toy(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """A random walk with drift; ``fail = true`` raises, ``sleep`` waits (seconds)."""
    rng = np.random.default_rng(seed)
    if config.get("sleep"):
        time.sleep(float(config["sleep"]))
    if config.get("fail"):
        raise ValueError("toy run asked to fail (config fail = true)")
    n = int(config.get("rounds", 10))
    steps = rng.normal(float(config.get("drift", 0.0)), 1.0, n)
    return {"rounds": pd.DataFrame({"round": np.arange(n), "value": np.cumsum(steps)})}


# ---------------------------------------------------------------------------------------
# check: closed form at one point
# ---------------------------------------------------------------------------------------


def _validate_params_only(kind: str, extra: set[str] = frozenset()):
    def validate(config: dict) -> None:
        _check_keys(config, {"params", "label", *extra}, kind)

    return validate


def check_row(params) -> dict[str, Any]:
    """Flat record of ``derelay check`` at one point (utilities, margins, verdicts)."""
    from derelay.check import check_point
    from derelay.mechanism import get_mechanism
    from derelay.params import as_values

    res = check_point(params)
    row: dict[str, Any] = {}
    for role, d in res["utilities"].items():
        for s, u in d.items():
            row[f"u_{role}_{s}"] = u
    for role, d in res["margins"].items():
        for k, m in d.items():
            row[f"margin_{role}_{k}"] = m
    for c, v in res["conditions"].items():
        row[c] = v
    for role, v in res["ir"].items():
        row[f"ir_{role}"] = v
    for role, v in res["ic"].items():
        row[f"ic_{role}"] = v
    row["all_conditions"] = all(res["conditions"].values())
    row["normal_ir_ic_all"] = all(res["ir"].values()) and all(res["ic"].values())
    row["n_failing_conditions"] = len(res["failing"]["conditions"])
    mech = get_mechanism("derelayl")
    row["issuance"] = float(mech.issuance(as_values(params)))
    return row


@register_kind("check", _validate_params_only("check"), "closed-form utilities, T1-T8, IR/IC")
def check(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Closed-form evaluation of one parameter point (deterministic; seed unused)."""
    row = check_row(_params(config))
    row["round"] = 0
    return {"rounds": pd.DataFrame([row])}


# ---------------------------------------------------------------------------------------
# feasible: minimal issuance over the rewards
# ---------------------------------------------------------------------------------------


def _validate_feasible(config: dict) -> None:
    _check_keys(config, {"params", "free", "solver", "label"}, "feasible")
    if config.get("solver", "z3") not in ("z3", "lp"):
        raise ValueError(f"'solver' = {config.get('solver')!r} must be z3 or lp")
    free = config.get("free", list(REWARD_KEYS))
    bad = [k for k in free if k not in REWARD_KEYS]
    if bad:
        raise ValueError(f"'free' holds non-reward keys {bad}; allowed {list(REWARD_KEYS)}")


def min_issuance(params, free: list[str] | None = None, solver: str = "lp") -> dict[str, Any]:
    """Minimal per-round issuance such that T1-T8 hold, over the ``free`` rewards.

    Every condition's printed form (``paper_form``: lhs - rhs) and the mechanism's
    ``issuance`` are affine in the reward parameters, so the coefficients are read off
    the mechanism's own formulas (no formula is re-typed) and the problem is a linear
    programme (scipy HiGHS).  Strict conditions (T7, T8) are relaxed to >=: the value
    returned is the infimum.  ``solver="z3"`` uses the formal layer's exact optimum
    (:func:`derelay.formal.feasible.feasible_rewards`, all seven rewards free, strict
    conditions met with a margin of 1e-9 coin); the two agree (tests show it).
    """
    if solver == "z3" and (free is None or set(free) == set(REWARD_KEYS)):
        from derelay.formal.feasible import feasible_rewards
        from derelay.mechanism import get_mechanism
        from derelay.params import as_values

        r = feasible_rewards(params)
        out = {"feasible": bool(r["feasible"]), "solver": "z3"}
        out["min_issuance"] = float(r["issuance"]) if r["feasible"] else float("nan")
        for k, v in (r.get("rewards") or {}).items():
            out[f"opt_{k}"] = float(v)
        out["binding"] = ",".join(r.get("binding") or [])
        out["issuance_at_params"] = float(get_mechanism().issuance(as_values(params)))
        return out
    from scipy.optimize import linprog

    from derelay.mechanism import get_mechanism
    from derelay.params import as_values

    mech = get_mechanism("derelayl")
    free = list(free or REWARD_KEYS)
    base = params.model_dump()

    def at(rewards: dict[str, float]):
        d = dict(base)
        d.update(rewards)
        return as_values(d)

    zero = {k: 0.0 for k in free}

    def margins(p):
        out = []
        for c in mech.conditions:
            lhs, rel, rhs = c.paper_form(p)
            out.append(float(lhs) - float(rhs))
        return np.array(out)

    try:
        a = margins(at(zero))
        cols = [margins(at({**zero, k: 1.0})) - a for k in free]
        iss0 = float(mech.issuance(at(zero)))
        c = np.array([float(mech.issuance(at({**zero, k: 1.0}))) - iss0 for k in free])
    except ZeroDivisionError:
        return {"feasible": False, "min_issuance": float("nan"), "note": "a divisor is zero"}
    b = np.column_stack(cols) if cols else np.zeros((len(a), 0))
    res = linprog(c, A_ub=-b, b_ub=a, bounds=[(0, None)] * len(free), method="highs")
    out: dict[str, Any] = {"feasible": bool(res.status == 0), "solver": "lp"}
    if res.status == 0:
        x = res.x
        out["min_issuance"] = float(iss0 + c @ x)
        out.update({f"opt_{k}": float(v) for k, v in zip(free, x, strict=True)})
        slack = a + b @ x
        out["binding"] = ",".join(
            cond.name for cond, s in zip(mech.conditions, slack, strict=True) if abs(s) < 1e-9
        )
    else:
        out["min_issuance"] = float("nan")
        failing = [
            cond.name
            for cond, row, s in zip(mech.conditions, b, a, strict=True)
            if not np.any(row > 0) and s < 0
        ]
        out["binding"] = ""
        out["note"] = "infeasible: " + (",".join(failing) or res.message)
    out["issuance_at_params"] = float(mech.issuance(as_values(params)))
    return out


@register_kind(
    "feasible", _validate_feasible, "minimal issuance with T1-T8 holding (exact z3 or LP)"
)
def feasible(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Minimal feasible issuance over the free rewards (deterministic; seed unused)."""
    row = min_issuance(_params(config), config.get("free"), config.get("solver", "z3"))
    row.pop("note", None) if row.get("feasible") else None
    row["round"] = 0
    return {"rounds": pd.DataFrame([row])}


# ---------------------------------------------------------------------------------------
# dynamics: logit revision on the closed-form utilities
# ---------------------------------------------------------------------------------------

_DYN_KEYS = {
    "params",
    "label",
    "rounds",
    "population",
    "revision_rate",
    "temperature",
    "initial_normal",
    "payoff_noise",
}


def _validate_dynamics(config: dict) -> None:
    _check_keys(config, _DYN_KEYS, "dynamics")
    _positive_int(config, "rounds", 100, 1, 10**6)
    _positive_int(config, "population", 128, 1, 10**9)
    _unit(config, "revision_rate", 0.1)
    _unit(config, "initial_normal", 0.9)
    t = config.get("temperature", 0.005)
    if isinstance(t, bool) or not isinstance(t, int | float) or not t > 0:
        raise ValueError(f"'temperature' = {t!r} must be a number > 0 (coins)")
    _unit(config, "payoff_noise", 0.0, 0.0, 1e6)


@register_kind("dynamics", _validate_dynamics, "logit-revision strategy dynamics per role")
def dynamics(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Population shares per role and strategy under noisy logit revision.

    Each role has ``population`` agents (default 128); each round a Binomial share
    ``revision_rate`` of each strategy's agents revises and picks a strategy with logit
    probabilities ``softmax((U + noise) / temperature)`` (``temperature`` in coins;
    ``payoff_noise``: standard deviation of a per-round common payoff shock per
    strategy).  Utilities are the mechanism's Table II closed forms at ``params``.
    Starts from ``initial_normal`` on Normal, the rest spread evenly over deviations.
    """
    from derelay.mechanism import get_mechanism
    from derelay.params import as_values

    rng = np.random.default_rng(seed)
    mech = get_mechanism("derelayl")
    utils = mech.utilities(as_values(_params(config)))
    rounds = int(config.get("rounds", 100))
    pop = int(config.get("population", 128))
    rate = float(config.get("revision_rate", 0.1))
    temp = float(config.get("temperature", 0.005))
    init = float(config.get("initial_normal", 0.9))
    noise = float(config.get("payoff_noise", 0.0))
    cols: dict[str, np.ndarray] = {"round": np.arange(rounds + 1)}
    normal_shares = []
    for role in mech.roles:
        names = [s.abbr for s in role.strategies]
        u = np.array([float(utils[role.abbr][s]) for s in names])
        k = len(names)
        counts = np.zeros(k, dtype=np.int64)
        n_normal = int(round(init * pop))
        counts[0] = n_normal
        rest = pop - n_normal
        if k > 1:
            counts[1:] = rest // (k - 1)
            counts[1 : 1 + rest % (k - 1)] += 1
        hist = np.empty((rounds + 1, k), dtype=np.int64)
        hist[0] = counts
        mean_u = np.empty(rounds + 1)
        mean_u[0] = counts @ u / pop
        shocks = rng.normal(0.0, noise, (rounds, k)) if noise > 0 else np.zeros((rounds, k))
        for t in range(rounds):
            revisers = rng.binomial(counts, rate)
            counts = counts - revisers
            z = (u + shocks[t]) / temp
            z = np.exp(z - z.max())
            counts = counts + rng.multinomial(revisers.sum(), z / z.sum())
            hist[t + 1] = counts
            mean_u[t + 1] = counts @ u / pop
        for j, s in enumerate(names):
            cols[f"share_{role.abbr}_{s}"] = hist[:, j] / pop
        cols[f"share_N_{role.abbr}"] = hist[:, 0] / pop
        cols[f"mean_utility_{role.abbr}"] = mean_u
        normal_shares.append(hist[:, 0] / pop)
    cols["share_N"] = np.mean(normal_shares, axis=0)
    cols["share_N_min"] = np.min(normal_shares, axis=0)
    return {"rounds": pd.DataFrame(cols)}


# ---------------------------------------------------------------------------------------
# abm / chain / learning: the other parts, imported lazily
# ---------------------------------------------------------------------------------------


def _abm_split(config: dict) -> tuple[dict, dict]:
    own = {k: config[k] for k in ("rounds", "preset", "keep", "label") if k in config}
    rest = {k: v for k, v in config.items() if k not in own}
    return own, rest


#: Keys only a generic :class:`derelay.engine.RunConfig` has (a config with one of them is
#: a RunConfig, whatever the mechanism).
RUN_CONFIG_ONLY = ("options", "types", "coalitions", "coalition_members")


def _generic_mechanism(config: dict) -> bool:
    """Whether ``config`` is a generic RunConfig (another mechanism on its own protocol, or
    any mechanism given RunConfig keys) rather than DeRelayL's SimConfig."""
    if any(k in config for k in RUN_CONFIG_ONLY):
        return True
    name = config.get("mechanism", "derelayl")
    if name == "derelayl":
        return False
    from derelay.mechanism import get_mechanism

    return not hasattr(get_mechanism(name).load_protocol(), "build_model")


def abm_config(config: dict):
    """The configuration of an ``abm`` run config: DeRelayL's
    :class:`derelay.model.SimConfig` (preset + overrides), or for any other mechanism a
    :class:`derelay.engine.RunConfig` (``mechanism``, ``params``, ``options``, ``types``,
    ...)."""
    own, rest = _abm_split(config)
    if _generic_mechanism(config):
        from pydantic import ValidationError

        from derelay.engine import RunConfig, build_model

        if "preset" in own:
            raise ValueError("'preset' is DeRelayL's SimConfig key; a RunConfig has none")
        try:
            cfg = RunConfig(**rest)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise ValueError(f"'{loc}': {str(err['msg']).removeprefix('Value error, ')}") from None
        build_model(cfg.model_copy(update={"mesa_agents": False}))  # validates params/options
        return cfg
    from derelay.model import SimConfig

    preset = own.get("preset")
    if preset is not None:
        base = SimConfig.from_preset(str(preset))
        return base.with_updates(**rest) if rest else base
    return SimConfig.from_mapping(rest)


ABM_TABLES = ("rounds", "agents", "utilities")


def _validate_abm(config: dict) -> None:
    own, _ = _abm_split(config)
    _positive_int(config, "rounds", 100, 1, 10**7)
    keep = own.get("keep", ["rounds"])
    bad = [k for k in keep if k not in ABM_TABLES]
    if bad:
        raise ValueError(f"'keep' = {keep!r}: allowed tables {list(ABM_TABLES)}")
    abm_config(config)  # raises SimConfigError (a ValueError) naming the bad key


def _with_shares_and_gini(rounds: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    from analysis.stats import gini

    rounds = rounds.copy()
    normal = [c for c in rounds.columns if c.startswith("share_") and c.endswith("_N")]
    roles_n = [c for c in normal if c.count("_") == 2]
    if roles_n:
        rounds["share_N"] = rounds[roles_n].mean(axis=1)
        rounds["share_N_min"] = rounds[roles_n].min(axis=1)
        rounds["share_normal"] = rounds["share_N_min"]
    if len(agents) and "coins_nano" in agents.columns:
        a = agents.sort_values(["round", "agent_id"])
        rs = a["round"].to_numpy()
        uniq, start = np.unique(rs, return_index=True)
        sizes = np.diff(np.append(start, len(rs)))
        if len(set(sizes)) == 1:
            coins = a["coins_nano"].to_numpy(dtype=float).reshape(len(uniq), sizes[0])
            g = gini(coins, axis=-1)
        else:
            g = np.array([gini(c) for c in np.split(a["coins_nano"].to_numpy(float), start[1:])])
        gser = pd.Series(np.atleast_1d(g), index=uniq)
        rounds["gini_coins"] = rounds["round"].map(gser)
    return rounds


@register_kind(
    "abm", _validate_abm, "the agent-based model of any mechanism (DeRelayL's by default)"
)
def abm(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """One ABM run: ``preset`` (paper_text | authors_code) plus SimConfig overrides; with
    ``mechanism`` (the spec's ``mechanism`` key) another mechanism's RunConfig keys.

    ``rounds`` (default 100); ``keep``: tables to return (rounds, agents, utilities;
    default rounds).  The rounds table gains ``share_N`` / ``share_N_min`` (mean and
    minimum over roles of the Normal share; ``share_normal`` = ``share_N_min``) and
    ``gini_coins`` (Gini of participants' coins, on recorded rounds).
    """
    own, _ = _abm_split(config)
    cfg = abm_config(config)
    if _generic_mechanism(config):
        from derelay.engine import run_simulation
    else:
        from derelay.model import run_simulation
    res = run_simulation(cfg, rounds=int(own.get("rounds", 100)), seed=int(seed))
    out = {"rounds": _with_shares_and_gini(res.rounds, res.agents)}
    keep = own.get("keep", ["rounds"])
    if "agents" in keep:
        out["agents"] = res.agents.assign(role=res.agents["role"].astype(str))
    if "utilities" in keep:
        out["utilities"] = res.utilities
    return out


_CHAIN_OWN = {"blocks", "mode", "label"}


def _chain_config(config: dict):
    from derelay.chain import ChainConfig

    rest = {k: v for k, v in config.items() if k not in _CHAIN_OWN and k != "params"}
    return ChainConfig(**rest)


def _validate_chain(config: dict) -> None:
    _positive_int(config, "blocks", 2000, 1, 10**8)
    if config.get("mode", "continuous") not in ("continuous", "staged"):
        raise ValueError(f"'mode' = {config.get('mode')!r} must be continuous or staged")
    from pydantic import ValidationError

    try:
        _chain_config(config)
    except ValidationError as exc:
        from derelay.chain import config_error_message

        raise ValueError(config_error_message(exc)) from None


@register_kind("chain", _validate_chain, "the forkable PoW chain (derelay.chain.ChainSimulator)")
def chain(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """One chain simulation: ``blocks`` (default 2000), ``mode`` (continuous | staged)
    plus :class:`derelay.chain.ChainConfig` fields (adversary, latency, topology, ...).
    One row (round 0) of the chain's metrics (stale/orphan rates, reorgs, invalid
    final blocks, adversary's share of the main chain, time to finality, ...)."""
    from derelay.chain.experiment import simulate

    own = {k: v for k, v in config.items() if k not in ("params", "label")}
    own.setdefault("blocks", 2000)
    m = simulate(own, seed).metrics()
    row = {k: v for k, v in m.items() if isinstance(v, int | float | bool | str)}
    row.pop("seconds", None)  # wall-clock time: not a result (keeps runs reproducible)
    row["round"] = 0
    return {"rounds": pd.DataFrame([row])}


_LEARN_OWN = {"rounds", "methods", "central_budget", "lazy_share", "params", "label"}


def _learning_parts(config: dict):
    from derelay.mechanism.derelayl.relay_learning import (
        METHODS,
        Schedule,
        learning_config_from_params,
    )

    p = _params(config)
    rest = {k: v for k, v in config.items() if k not in _LEARN_OWN}
    cfg = learning_config_from_params(p, **rest)
    sched = Schedule.from_params(p, lazy_share=float(config.get("lazy_share", 0.0)))
    methods = tuple(config.get("methods", list(METHODS)))
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"'methods' has unknown {bad}; allowed {list(METHODS)}")
    if "relay" not in methods:
        methods = ("relay", *methods)
    return cfg, sched, methods


def _validate_learning(config: dict) -> None:
    _positive_int(config, "rounds", 20, 1, 10**6)
    _unit(config, "lazy_share", 0.0)
    cfg, sched, _ = _learning_parts(config)
    sched.validate()


@register_kind("learning", _validate_learning, "real relay learning vs FedAvg vs central")
def learning(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Relay learning on the torch backend and its baselines (derelay.learning):
    ``rounds`` (default 20), ``methods`` (relay, fedavg, central), ``central_budget``,
    ``lazy_share``, ``params`` (Table III counts) and LearningConfig fields."""
    import torch

    from derelay.mechanism.derelayl.relay_learning import run_comparison

    torch.set_num_threads(1)
    cfg, sched, methods = _learning_parts(config)
    res = run_comparison(
        cfg,
        int(config.get("rounds", 20)),
        seed=int(seed),
        schedule=sched,
        methods=methods,
        central_budget=config.get("central_budget", "compute"),
    )
    return {"rounds": res.rounds}

# the comparison of the mechanisms (experiments/compare.py) is a run kind too
from . import compare as _compare  # noqa: E402,F401
