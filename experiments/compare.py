"""``derelay compare``: every mechanism under the same deviants, data and currency.

None of the five papers simulates deviant agents; each argues its incentives alone, in its
own units.  This module answers, for all registered mechanisms at once:

    Which mechanism keeps which deviation unprofitable, at what issuance or outside cost,
    with what model accuracy?

What is held equal (for one seed)
---------------------------------
* **Population**: ``n_participants`` agents with persistent *types* (a deviation family);
  the same agents are deviants in every mechanism (types come from the engine's shared
  ``population`` stream, which depends on the seed only).  *Group* deviation: a share of
  the agents (``share``, 10% by default) per family; *unilateral*: one deviant agent, over
  more seeds.
* **Data and learning**: the same backend kind for all, seeded from the shared ``data``
  stream (common random numbers across mechanisms).
* **Compute**: at most ``trainers_per_round`` training jobs per round in every mechanism
  (``compute = "native"`` uses each paper's own sizes instead).
* **Currency**: 1 coin = 1 percentage point of held-out accuracy of a model held; all
  other costs come from the engine's common space.  DeRelayL runs on the ``draw`` chain so
  forks do not confound the comparison (``forks = true`` turns the simulated chain on).
* **Reward designs**: ``paper_defaults`` (each mechanism's defaults), and ``min_feasible``:
  the mechanism's least-funding reward levers satisfying its own design conditions, found
  exactly with :func:`derelay.formal.design.design` (``funding`` = money minted plus money
  paid in from outside per round, in closed form) where its conditions allow it; otherwise
  that design is reported as unavailable.

Measured per (mechanism, design, family, share, seed)
-----------------------------------------------------
* ``gain_per_round``: the deviant agents' realised utility per round minus the *same
  agents'* utility in the paired all-honest run (same seed, so same roles and data); a 95%
  t-interval over seeds in the report.
* ``cf_margin`` / ``cf_ic``: the mechanism's own closed-form IC margin (U_N - U_dev) for
  the strategy of that family in each role having one, at the run's parameters (with the
  protocol's measured rates fed in where it reports them); ``claim_status``: the z3 status
  of the mechanism's claim for that family, where the mechanism names one.
* ``detection_rate``: deviant actions penalised or rejected / deviant actions.
* money per round: ``minted``, ``external``, ``burned`` and ``outlay`` (net money reaching
  participants: the change of their balances and escrow), money moved while setting a run
  up excluded, and outside money that only funds participants' own deposits (a protocol's
  cumulative ``deposit_funding`` column) excluded from both ``external`` and ``outlay``.
* accuracy, in percentage points (torch: held-out accuracy x 100; abstract learning: the
  stand-in's value in (c), which the common currency makes points): final and mean (area
  under the curve / rounds) accuracy of the mechanism's
  output model, mean accuracy of models held by honest agents, accuracy lost against the
  all-honest run, wasted compute share, Gini of coins, outlay per accuracy point gained.

A family a mechanism has no strategy for is never run and shows "–": it is not counted as
honest.  Where the simulated sign of the gain and the closed-form sign disagree, the row
is a *finding* and is listed in the report.

Verdict rule per cell: *unprofitable* when the 95% interval of the gain lies below 0,
*profitable* when it lies above 0, *inconclusive* otherwise.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from derelay.strict import StrictModel

DEVIANT_FAMILIES = (
    "lazy",
    "poison",
    "withhold",
    "misreport",
    "lazy_eval",
    "malformed",
    "collude",
    "false_report",
    "skip_audit",
    "free_ride",
    "biased_data",
    "censor",
)
DESIGNS = ("paper_defaults", "min_feasible")
ALL_MECHANISMS = ("derelayl", "pot", "brain", "flchain", "deepchain")

#: compare.parquet: the declared schema (column -> pandas dtype).
SCHEMA: dict[str, str] = {
    "setting": "string",  # group | unilateral | accuracy
    "mechanism": "string",
    "design": "string",
    "family": "string",
    "share": "float64",
    "seed": "int64",
    "replication": "int64",
    "rounds": "int64",
    "n_deviants": "int64",
    "gain_per_round": "float64",
    "deviant_utility_per_round": "float64",
    "honest_twin_utility_per_round": "float64",
    "detection_rate": "float64",
    "deviant_actions": "float64",
    "deviant_detected": "float64",
    "minted_per_round": "float64",
    "external_per_round": "float64",
    "burned_per_round": "float64",
    "outlay_per_round": "float64",
    "accuracy_final": "float64",
    "accuracy_auc": "float64",
    "honest_accuracy": "float64",
    "accuracy_lost": "float64",
    "wasted_share": "float64",
    "gini_coins": "float64",
    "outlay_per_point": "float64",
    "cf_margin": "float64",
    "cf_ic": "boolean",
    "claim": "string",
    "claim_status": "string",
}


class CompareConfig(StrictModel):
    """The comparison's settings (``experiments/compare.toml``)."""

    name: str = "compare"
    mechanisms: list[str] = Field(default_factory=lambda: list(ALL_MECHANISMS))
    families: list[str] = Field(default_factory=lambda: list(DEVIANT_FAMILIES))
    share: float = Field(0.1, gt=0.0, le=0.5)
    unilateral: bool = True
    unilateral_seeds: int = Field(0, ge=0, le=1000, description="0: twice `seeds`")
    seeds: int = Field(5, ge=1, le=1000)
    rounds: int = Field(50, ge=2, le=100_000)
    learning: Literal["abstract", "torch"] = "abstract"
    designs: list[Literal["paper_defaults", "min_feasible"]] = Field(
        default_factory=lambda: list(DESIGNS)
    )
    compute: Literal["equal", "native"] = "equal"
    trainers_per_round: int = Field(16, ge=1, le=100_000)
    n_participants: int = Field(128, ge=4, le=1_000_000)
    accuracy_shares: list[float] = Field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5])
    accuracy_families: list[str] = Field(default_factory=lambda: ["poison", "lazy"])
    forks: bool = False
    seed: int = Field(20261201, ge=0)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("families", "accuracy_families")
    @classmethod
    def _families(cls, v):
        for f in v:
            if f not in DEVIANT_FAMILIES:
                raise ValueError(f"unknown family {f!r}: allowed {', '.join(DEVIANT_FAMILIES)}")
        return v

    @field_validator("mechanisms")
    @classmethod
    def _mechanisms(cls, v):
        from derelay.mechanism import mechanism_names

        known = mechanism_names()
        for m in v:
            if m not in known:
                raise ValueError(f"unknown mechanism {m!r}: registered {', '.join(known)}")
        return v

    @field_validator("accuracy_shares")
    @classmethod
    def _shares(cls, v):
        for s in v:
            if not (0.0 < s <= 0.5):
                raise ValueError(f"accuracy share {s!r} is out of range: allowed 0 < share <= 0.5")
        return v


def quick_config(**over: Any) -> CompareConfig:
    """``--quick``: abstract learning, 3 seeds, 20 rounds, every mechanism, 3 shares."""
    base = dict(
        learning="abstract",
        seeds=3,
        rounds=20,
        unilateral_seeds=3,
        n_participants=64,
        trainers_per_round=8,
        accuracy_shares=[0.25, 0.5],
    )
    base.update(over)
    return CompareConfig(**base)


# ---------------------------------------------------------------------------------------
# What each mechanism can play
# ---------------------------------------------------------------------------------------


def families_of(mech) -> list[str]:
    """The deviation families some role of ``mech`` has a strategy for."""
    out = []
    for r in mech.roles:
        for s in r.strategies:
            f = s.deviation_family
            if f != "honest" and f not in out:
                out.append(f)
    return out


def available_mechanisms(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(names whose declaration has a round protocol, names whose has none).  Every name
    is registered (the config checks it); a protocol that fails to load is an error."""
    from derelay.mechanism import get_mechanism

    ok, missing = [], []
    for n in names:
        m = get_mechanism(n)
        if m.protocol is None:
            missing.append(n)
        else:
            m.load_protocol()
            ok.append(n)
    return ok, missing


@functools.lru_cache(maxsize=64)
def _min_feasible(mech_name: str, params_json: str) -> str | None:
    """JSON of the least-issuance lever values meeting the mechanism's conditions, or None."""
    from derelay.formal.design import DesignError, design
    from derelay.mechanism import get_mechanism

    mech = get_mechanism(mech_name)
    levers = list(mech.space.levers)
    if not levers or mech.funding is None or not mech.conditions:
        return None
    base = mech.space.validate(json.loads(params_json))
    try:
        res = design(mech, base, levers, want=["conditions"], minimize="funding")
    except (DesignError, ValueError, TypeError):
        return None
    opt = res.get("optimum") or {}
    if res.get("status") != "region" or opt.get("status") != "optimum":
        return None
    at = opt.get("at")
    if not at:  # infimum not attained (strict conditions): step inside the region
        at = _inside_optimum(mech, base, levers, opt["value"]["exact"])
        if at is None:
            return None
    if isinstance(at, dict) and "exact" in at and len(levers) == 1:
        at = {levers[0]: at["exact"]}
    from fractions import Fraction

    vals = {k: float(Fraction(str(v))) for k, v in at.items()}
    try:
        mech.space.validate({**json.loads(params_json), **vals})
    except ValueError:
        return None
    return json.dumps(vals, sort_keys=True)


def _inside_optimum(mech, base, levers, value_exact: str) -> dict[str, str] | None:
    """A point of the region whose issuance is within 1e-6 (relative) of the infimum."""
    from fractions import Fraction

    import z3

    from derelay.formal.design import properties

    ctx = z3.Context()
    p = mech.space.symbolic(levers, base=base, ctx=ctx)
    s = z3.Solver(ctx=ctx)
    s.set("rlimit", 20_000_000)
    for t in mech.space.domain_constraints(p, levers):
        s.add(t if z3.is_expr(t) else z3.BoolVal(bool(t), ctx))
    for pr in properties(mech, ["conditions"], None):
        t = pr.formula(p)
        s.add(t if z3.is_expr(t) else z3.BoolVal(bool(t), ctx))
    v = Fraction(value_exact)
    slack = max(abs(v) * Fraction(1, 10**6), Fraction(1, 10**9))
    f = mech.funding.minted(p) + mech.funding.external(p)  # the declared funding per round
    s.add(f <= v + slack)
    if s.check() != z3.sat:
        return None
    m = s.model()
    out = {}
    for k in levers:
        x = m.eval(getattr(p, k), model_completion=True)
        out[k] = str(Fraction(x.numerator_as_long(), x.denominator_as_long()))
    return out


def design_params(mech_name: str, design: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run's parameters under a reward design (None: design unavailable)."""
    params = dict(params)
    if design == "paper_defaults":
        return params
    found = _min_feasible(mech_name, json.dumps(params, sort_keys=True))
    if found is None:
        return None
    return {**params, **json.loads(found)}


# ---------------------------------------------------------------------------------------
# The run kind
# ---------------------------------------------------------------------------------------


def _protocol_fields(proto) -> set[str]:
    opts = getattr(proto, "Options", None)
    return set(getattr(opts, "model_fields", {}) or {})


def _gini(x: np.ndarray) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = x.size
    if n == 0 or x.sum() <= 0:
        return 0.0
    cum = np.cumsum(x)
    return float((n + 1 - 2 * (cum.sum() / cum[-1])) / n)


def population_params(mech, n: int) -> dict[str, Any]:
    """The space values of ``mech`` that a population of ``n`` participants sets: its
    ``population(n)`` (by default the common space's population alone; DeRelayL's also
    couples its miners to it)."""
    return dict(mech.population(n))


def run_config(config: Mapping[str, Any]):
    """The engine RunConfig of one comparison run."""
    from derelay.engine import RunConfig
    from derelay.mechanism import get_mechanism

    mech = get_mechanism(config["mechanism"])
    proto = mech.load_protocol()
    fields = _protocol_fields(proto)
    options = dict(config.get("options") or {})
    if "learning" in fields:
        options.setdefault("learning", config.get("learning", "abstract"))
    if config.get("compute", "equal") == "equal" and "trainers_per_round" in fields:
        options.setdefault("trainers_per_round", int(config["trainers_per_round"]))
    if mech.name == "derelayl":
        options.setdefault("chain", "simulated" if config.get("forks") else "draw")
        options.setdefault("learning", config.get("learning", "abstract"))
        # its standalone runs keep their historical learning stream; here the data are
        # the engine's shared ones, as for every other mechanism
        options.setdefault("data_stream", "shared")
    params = dict(config.get("mech_params") or {})
    for key, value in population_params(mech, int(config["n_participants"])).items():
        params.setdefault(key, value)
    family, share = config["family"], float(config["share"])
    types = {} if family == "honest" or share <= 0 else {family: share}
    return RunConfig(
        mechanism=mech.name,
        name=f"compare-{mech.name}",
        params=params,
        options=options,
        types=types,
        flows="off",
        mesa_agents=False,
    )


def compare_kind(config: dict, seed: int) -> dict[str, Any]:
    """One comparison run (deviant or all-honest twin): summary, agents and rounds."""
    import pandas as pd

    from derelay.engine import build_model
    from derelay.mechanism import get_mechanism

    mech = get_mechanism(config["mechanism"])
    params = design_params(mech.name, config["design"], config.get("mech_params") or {})
    base = {
        "mechanism": mech.name,
        "design": config["design"],
        "family": config["family"],
        "share": float(config["share"]),
    }
    if params is None:
        summary = pd.DataFrame([{**base, "available": False}])
        return {"summary": summary}
    rc = run_config({**config, "mech_params": params})
    model = build_model(rc, seed=int(seed))
    rounds = int(config["rounds"])
    lg = model.ledger
    n = model.n
    part0 = int(lg.coins.sum()) + int(lg.escrow)
    # money moved while setting the run up (a genesis mint, initial coins) is not per-round
    minted0, external0, burned0 = int(lg.minted), int(lg.external_in), int(lg.burned)
    gini = np.zeros(rounds)
    for r in range(rounds):
        model.step()
        gini[r] = _gini(lg.coins[:n])
    rdf = model.recorder.rounds_frame()
    fam = np.asarray(model.types.family)
    dev = fam > 0
    cum = np.asarray(model.state.cum_utility, dtype=np.float64)
    nano = float(model.nano)

    def col(name, default=0.0):
        return rdf[name].to_numpy(dtype=float) if name in rdf else np.full(len(rdf), default)

    # accuracy in percentage points: torch reports held-out accuracy in [0, 1]; the abstract
    # stand-in reports values in (c), which the common currency makes points already
    scale = 100.0 if config.get("learning", "abstract") == "torch" else 1.0
    acc = col("accuracy", np.nan) * scale
    hon_acc = col("honest_accuracy", np.nan) * scale
    jobs, wasted = col("training_jobs").sum(), col("wasted_jobs").sum()
    actions, detected = col("deviant_actions").sum(), col("deviant_detected").sum()
    part1 = int(lg.coins.sum()) + int(lg.escrow)
    # money a protocol paid in from outside only to fund participants' own deposits
    # (a cumulative ``deposit_funding`` column, e.g. FLChain's) is neither outside cost
    # nor outlay: it is the participants' stake, returned or forfeited
    dep = float(rdf["deposit_funding"].iloc[-1]) if "deposit_funding" in rdf and len(rdf) else 0.0
    outlay = (part1 - part0) / nano - dep
    acc0 = float(acc[0]) if len(acc) and np.isfinite(acc[0]) else float("nan")
    accf = float(acc[-1]) if len(acc) else float("nan")
    gain_pts = (accf - acc0) if np.isfinite(accf) and np.isfinite(acc0) else float("nan")
    cf = closed_form(
        mech, params, config["family"], getattr(model.protocol, "measured_params", None)
    )
    summary = {
        **base,
        "available": True,
        "rounds": rounds,
        "n_deviants": int(dev.sum()),
        "deviant_utility_total": float(cum[dev].sum()),
        "deviant_actions": float(actions),
        "deviant_detected": float(detected),
        "minted_per_round": (lg.minted - minted0) / nano / rounds,
        "external_per_round": ((lg.external_in - external0) / nano - dep) / rounds,
        "burned_per_round": (lg.burned - burned0) / nano / rounds,
        "outlay_per_round": outlay / rounds,
        "accuracy_initial": acc0,
        "accuracy_final": accf,
        "accuracy_auc": float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan"),
        "honest_accuracy": float(np.nanmean(hon_acc))
        if np.isfinite(hon_acc).any()
        else float("nan"),
        "wasted_share": float(wasted / jobs) if jobs > 0 else float("nan"),
        "gini_coins": float(gini[-1]) if rounds else 0.0,
        "outlay_per_point": (outlay / gain_pts) if gain_pts and gain_pts > 0 else float("nan"),
        **cf,
    }
    agents = pd.DataFrame(
        {"agent_id": np.arange(n), "family_code": fam.astype(np.int64), "cum_utility": cum}
    )
    rounds_df = pd.DataFrame(
        {
            "round": np.arange(1, rounds + 1),
            "accuracy": acc[:rounds] if len(acc) >= rounds else np.resize(acc, rounds),
            "gini_coins": gini,
        }
    )
    return {"summary": pd.DataFrame([summary]), "agents": agents, "rounds": rounds_df}


def closed_form(mech, params: Mapping[str, Any], family: str, measured=None) -> dict[str, Any]:
    """The closed-form IC margin for ``family`` (min over the roles having it) and the
    z3 status of the mechanism's claim for it (``family_claims``, if declared)."""
    out: dict[str, Any] = {
        "cf_margin": float("nan"),
        "cf_ic": None,
        "claim": "",
        "claim_status": "",
    }
    if family == "honest":
        return out
    over = dict(params)
    if callable(measured):
        try:
            over.update(measured() or {})
        except (ValueError, TypeError, ZeroDivisionError):
            pass
    try:
        point = mech.space.validate(over)
    except ValueError:
        point = mech.space.validate(dict(params))
    p = mech.space.values(point)
    margins, ics = [], []
    for r in mech.roles:
        s = r.for_family(family)
        if s.is_normal:
            continue
        m = float(mech.ic_margin(r.abbr, s.abbr, p))
        margins.append(m)
        ics.append(m > 0 if s.strict_ic else m >= 0)
    if margins:
        out["cf_margin"] = min(margins)
        out["cf_ic"] = bool(all(ics))
    claim = dict(getattr(mech, "family_claims", {}) or {}).get(family)
    if claim:
        out["claim"] = claim
        out["claim_status"] = _claim_status(
            mech.name, claim, json.dumps(dict(params), sort_keys=True)
        )
    return out


@functools.lru_cache(maxsize=256)
def _claim_status(mech_name: str, claim: str, params_json: str) -> str:
    from derelay.formal.claims import prove_claim

    try:
        return prove_claim(mech_name, claim, json.loads(params_json))["status"]
    except (KeyError, ValueError, TypeError):
        return "unknown"


def register() -> None:
    """Register ``compare`` as a sweep run kind (idempotent; spawn-safe)."""
    from experiments.runner import register_kind

    register_kind("compare", doc="one run of the five-mechanism comparison")(compare_kind)


register()


# ---------------------------------------------------------------------------------------
# Planning and running
# ---------------------------------------------------------------------------------------


def plan(cfg: CompareConfig, mechanisms: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Sweep points per setting (group, accuracy, unilateral)."""
    from derelay.mechanism import get_mechanism

    group, accuracy, uni = [], [], []
    for name in mechanisms:
        fams = families_of(get_mechanism(name))
        for d in cfg.designs:
            group.append({"mechanism": name, "design": d, "family": "honest", "share": 0.0})
            for f in cfg.families:
                if f in fams:
                    group.append({"mechanism": name, "design": d, "family": f, "share": cfg.share})
        for f in cfg.accuracy_families:
            if f not in fams:
                continue
            for s in cfg.accuracy_shares:
                if s != cfg.share:
                    accuracy.append(
                        {"mechanism": name, "design": "paper_defaults", "family": f, "share": s}
                    )
        if cfg.unilateral:
            one = 1.0 / cfg.n_participants
            uni.append(
                {"mechanism": name, "design": "paper_defaults", "family": "honest", "share": 0.0}
            )
            for f in cfg.families:
                if f in fams:
                    uni.append(
                        {"mechanism": name, "design": "paper_defaults", "family": f, "share": one}
                    )
    out = {"group": group + accuracy}
    if uni:
        out["unilateral"] = uni
    return out


def _spec(cfg: CompareConfig, setting: str, points: list[dict[str, Any]]):
    from experiments.spec import spec_from_mapping

    reps = cfg.seeds if setting == "group" else (cfg.unilateral_seeds or 2 * cfg.seeds)
    base = {
        "rounds": cfg.rounds,
        "learning": cfg.learning,
        "compute": cfg.compute,
        "trainers_per_round": cfg.trainers_per_round,
        "n_participants": cfg.n_participants,
        "forks": cfg.forks,
    }
    pts = []
    for p in points:
        pt = dict(p)
        m = p["mechanism"]
        if cfg.params.get(m):
            pt["mech_params"] = dict(cfg.params[m])
        if cfg.options.get(m):
            pt["options"] = dict(cfg.options[m])
        pts.append(pt)
    return spec_from_mapping(
        {
            "name": f"{cfg.name}-{setting}",
            "kind": "compare",
            "replications": reps,
            "seed": cfg.seed,
            "seeding": "common",
            "base": base,
            "sweep": {"mode": "points", "points": pts},
        },
        source=f"compare ({setting})",
    )


def run_compare(
    cfg: CompareConfig,
    out: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = False,
    figures: bool = True,
) -> dict[str, Any]:
    """Run every setting's sweep into ``out/sweeps/<setting>``, then analyse and report."""
    from experiments.runner import run_sweep

    out = Path(out)
    names, missing = available_mechanisms(cfg.mechanisms)
    if not names:
        raise ValueError(
            f"none of the mechanisms {', '.join(cfg.mechanisms)} has a round protocol here"
        )
    settings = plan(cfg, names)
    (out / "sweeps").mkdir(parents=True, exist_ok=True)
    results = {}
    for setting, points in settings.items():
        spec = _spec(cfg, setting, points)
        res = run_sweep(
            spec,
            out / "sweeps" / setting,
            workers=workers,
            resume=resume,
            scheduler=scheduler,
            progress=progress,
        )
        results[setting] = res
    df = collect_results(out, cfg)
    write_parquet(df, out / "compare.parquet")
    summary = summarise(df, cfg, names)
    summary["missing_mechanisms"] = missing
    summary["failed_runs"] = int(sum(getattr(r, "failed", 0) or 0 for r in results.values()))
    if figures:
        summary["figures"] = make_figures(df, out, cfg, names)
    (out / "compare.toml").write_text(config_toml(cfg), encoding="utf-8")
    (out / "report.md").write_text(render_report(summary, cfg), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2) + "\n")
    return summary


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"a comparison setting cannot be {v!r} in TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as a comparison setting")


def config_toml(cfg: CompareConfig) -> str:
    """The comparison's *effective* settings (file, command-line options and ``--quick``
    folded in) as a TOML file that ``derelay compare --config`` reads back to the same
    :class:`CompareConfig`; written beside every report as ``compare.toml``."""
    data = cfg.model_dump()
    lines = ["# the effective settings of this comparison: derelay compare --config THIS"]
    tables = {k: data.pop(k) for k in ("params", "options")}
    lines += [f"{k} = {_toml_value(v)}" for k, v in data.items()]
    for table, per_mech in tables.items():
        for mech, values in per_mech.items():
            lines += ["", f"[{table}.{mech}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------------------


def collect_results(out: str | Path, cfg: CompareConfig):
    """compare.parquet rows: each deviant run paired with its all-honest twin."""
    import pandas as pd

    from experiments.runner import load_results

    out = Path(out)
    rows = []
    for setting in ("group", "unilateral"):
        d = out / "sweeps" / setting
        if not (d / "sweep.json").exists():
            continue
        summ = load_results(d, "summary")
        if summ.empty:
            continue
        agents = load_results(d, "agents")
        summ = summ[summ["available"].astype(bool)] if "available" in summ else summ
        honest = summ[summ["family"] == "honest"]
        key = ["mechanism", "design", "replication"]
        hidx = {tuple(r[k] for k in key): r for _, r in honest.iterrows()}
        ag = {rid: g for rid, g in agents.groupby("run_id")} if len(agents) else {}
        for _, r in summ.iterrows():
            twin = hidx.get(tuple(r[k] for k in key))
            is_acc = (
                setting == "group"
                and r["family"] != "honest"
                and abs(r["share"] - cfg.share) > 1e-12
            )
            row = {
                "setting": "accuracy" if is_acc else setting,
                "mechanism": r["mechanism"],
                "design": r["design"],
                "family": r["family"],
                "share": float(r["share"]),
                "seed": int(r["seed"]),
                "replication": int(r["replication"]),
                "rounds": int(r["rounds"]),
                "n_deviants": int(r["n_deviants"]),
            }
            dev_u = hon_u = gain = float("nan")
            if (
                twin is not None
                and r["family"] != "honest"
                and r["run_id"] in ag
                and twin["run_id"] in ag
            ):
                a = ag[r["run_id"]].set_index("agent_id")
                b = ag[twin["run_id"]].set_index("agent_id")
                ids = a.index[a["family_code"] > 0]
                if len(ids):
                    dev_u = float(a.loc[ids, "cum_utility"].mean()) / row["rounds"]
                    hon_u = float(b.loc[ids, "cum_utility"].mean()) / row["rounds"]
                    gain = dev_u - hon_u
            elif r["family"] == "honest":
                gain = 0.0
            acc_lost = float("nan")
            if twin is not None:
                acc_lost = float(twin["accuracy_auc"] - r["accuracy_auc"])
            actions = float(r.get("deviant_actions", 0.0) or 0.0)
            row.update(
                gain_per_round=gain,
                deviant_utility_per_round=dev_u,
                honest_twin_utility_per_round=hon_u,
                detection_rate=float(r["deviant_detected"]) / actions
                if actions > 0
                else float("nan"),
                deviant_actions=actions,
                deviant_detected=float(r.get("deviant_detected", 0.0) or 0.0),
                minted_per_round=float(r["minted_per_round"]),
                external_per_round=float(r["external_per_round"]),
                burned_per_round=float(r["burned_per_round"]),
                outlay_per_round=float(r["outlay_per_round"]),
                accuracy_final=float(r["accuracy_final"]),
                accuracy_auc=float(r["accuracy_auc"]),
                honest_accuracy=float(r["honest_accuracy"]),
                accuracy_lost=acc_lost,
                wasted_share=float(r["wasted_share"]),
                gini_coins=float(r["gini_coins"]),
                outlay_per_point=float(r["outlay_per_point"]),
                cf_margin=float(r["cf_margin"]),
                cf_ic=None if pd.isna(r["cf_ic"]) else bool(r["cf_ic"]),
                claim=str(r.get("claim", "") or ""),
                claim_status=str(r.get("claim_status", "") or ""),
            )
            rows.append(row)
    df = pd.DataFrame(rows, columns=list(SCHEMA))
    return df.astype(SCHEMA)


def write_parquet(df, path: Path) -> None:
    from derelay.io import output_file

    with output_file(path) as tmp:
        df.to_parquet(tmp, index=False)


def _ci(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval (NaN bounds with fewer than 2 values)."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(x.mean())
    if x.size < 2:
        return m, float("nan"), float("nan")
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    h = float(stats.t.ppf(0.975, x.size - 1) * se)
    return m, m - h, m + h


def verdict(lo: float, hi: float) -> str:
    """The stated rule: unprofitable / profitable / inconclusive from the 95% interval."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    if hi < 0:
        return "unprofitable"
    if lo > 0:
        return "profitable"
    return "inconclusive"


def summarise(df, cfg: CompareConfig, mechanisms: Sequence[str]) -> dict[str, Any]:
    """The report's data: the main tables per design, findings, settings."""
    from derelay.mechanism import get_mechanism

    tables: dict[str, list[dict[str, Any]]] = {}
    findings: list[dict[str, Any]] = []
    for design in cfg.designs:
        rows = []
        for m in mechanisms:
            fams = families_of(get_mechanism(m))
            sub = df[(df["mechanism"] == m) & (df["design"] == design)]
            group = sub[sub["setting"] == "group"]
            honest = group[group["family"] == "honest"]
            mixed = group[group["family"] != "honest"]
            row: dict[str, Any] = {"mechanism": m, "available": bool(len(group))}
            cells = {}
            for f in cfg.families:
                if f not in fams:
                    cells[f] = None
                    continue
                g = group[group["family"] == f]
                if not len(g):
                    cells[f] = {"status": "not run"}
                    continue
                mean, lo, hi = _ci(g["gain_per_round"].to_numpy())
                sim = verdict(lo, hi)
                cf_ic = g["cf_ic"].dropna()
                cf = None if not len(cf_ic) else bool(cf_ic.iloc[0])
                disagree = (cf is True and sim == "profitable") or (
                    cf is False and sim == "unprofitable"
                )
                det = g["detection_rate"].to_numpy(dtype=float)
                cell = {
                    "gain": mean,
                    "ci": [lo, hi],
                    "seeds": int(g["gain_per_round"].notna().sum()),
                    "verdict": sim,
                    "cf_ic": cf,
                    "cf_margin": float(g["cf_margin"].iloc[0]),
                    "claim_status": str(g["claim_status"].iloc[0] or ""),
                    "detection_rate": float(np.nanmean(det))
                    if np.isfinite(det).any()
                    else float("nan"),
                    "disagrees": bool(disagree),
                }
                if disagree:
                    findings.append({"mechanism": m, "design": design, "family": f, **cell})
                cells[f] = cell
            row["cells"] = cells

            def mean(frame, c):
                v = frame[c].to_numpy(dtype=float)
                return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

            row.update(
                minted_per_round=mean(honest, "minted_per_round"),
                external_per_round=mean(honest, "external_per_round"),
                outlay_per_round=mean(honest, "outlay_per_round"),
                accuracy_honest=mean(honest, "accuracy_final"),
                accuracy_mixed=mean(mixed, "accuracy_final"),
                accuracy_lost=mean(mixed, "accuracy_lost"),
                outlay_per_point=mean(honest, "outlay_per_point"),
                wasted_share=mean(mixed, "wasted_share"),
                gini_coins=mean(honest, "gini_coins"),
            )
            rows.append(row)
        tables[design] = rows
    uni = []
    for m in mechanisms:
        sub = df[
            (df["mechanism"] == m) & (df["setting"] == "unilateral") & (df["family"] != "honest")
        ]
        for f, g in sub.groupby("family"):
            mean, lo, hi = _ci(g["gain_per_round"].to_numpy())
            uni.append(
                {
                    "mechanism": m,
                    "family": f,
                    "gain": mean,
                    "ci": [lo, hi],
                    "verdict": verdict(lo, hi),
                    "seeds": int(len(g)),
                }
            )
    return {
        "config": cfg.model_dump(mode="json"),
        "mechanisms": list(mechanisms),
        "tables": tables,
        "unilateral": uni,
        "findings": findings,
        "rows": int(len(df)),
        "rule": "unprofitable: 95% t-interval of the gain per round below 0; profitable: above "
        "0; inconclusive: it contains 0 (or fewer than 2 seeds)",
    }


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------


def make_figures(df, out: Path, cfg: CompareConfig, mechanisms: Sequence[str]) -> list[str]:
    """Save the comparison's figures as ``out/figures/<name>.png``; their file names."""
    figdir = Path(out) / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    return [_save(fig, figdir / name) for name, fig in figures(df, out, cfg, mechanisms)]


def figures(df, out: Path, cfg: CompareConfig, mechanisms: Sequence[str]) -> list[tuple[str, Any]]:
    """The comparison's four figures as (name, matplotlib figure) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    made = []
    fams = list(cfg.families)
    group = df[(df["setting"] == "group") & (df["design"] == "paper_defaults")]
    # 1. heatmap of gains, hatched where simulation and closed form disagree
    mat = np.full((len(mechanisms), len(fams)), np.nan)
    hatch = np.zeros_like(mat, dtype=bool)
    for i, m in enumerate(mechanisms):
        for j, f in enumerate(fams):
            g = group[(group["mechanism"] == m) & (group["family"] == f)]
            if len(g):
                mean, lo, hi = _ci(g["gain_per_round"].to_numpy())
                mat[i, j] = mean
                cf = g["cf_ic"].dropna()
                sim = verdict(lo, hi)
                if len(cf) and (
                    (bool(cf.iloc[0]) and sim == "profitable")
                    or (not bool(cf.iloc[0]) and sim == "unprofitable")
                ):
                    hatch[i, j] = True
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(fams), 1.2 + 0.6 * len(mechanisms)))
    finite = mat[np.isfinite(mat)]
    lim = float(np.max(np.abs(finite))) if finite.size else 1.0
    lim = lim or 1.0
    im = ax.imshow(
        np.ma.masked_invalid(mat), cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -lim, lim), aspect="auto"
    )
    for i in range(len(mechanisms)):
        for j in range(len(fams)):
            if not np.isfinite(mat[i, j]):
                ax.text(j, i, "–", ha="center", va="center", color="0.4")
            else:
                ax.text(j, i, f"{mat[i, j]:.2g}", ha="center", va="center", fontsize=7)
            if hatch[i, j]:
                ax.add_patch(
                    plt.Rectangle(
                        (j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="k", lw=0
                    )
                )
    ax.set_xticks(range(len(fams)), fams, rotation=45, ha="right")
    ax.set_yticks(range(len(mechanisms)), mechanisms)
    ax.set_title(
        "Deviation gain per round (coins), group deviants; hatched: sim vs closed form disagree"
    )
    fig.colorbar(im, ax=ax, label="gain per round (coins)")
    fig.tight_layout()
    made.append(("gain_heatmap", fig))
    # 2. accuracy against deviant share, poison and lazy
    fig, axes = plt.subplots(
        1, len(cfg.accuracy_families), figsize=(5 * len(cfg.accuracy_families), 3.6), squeeze=False
    )
    for ax, fam in zip(axes[0], cfg.accuracy_families, strict=True):
        drawn = False
        for m in mechanisms:
            sub = df[
                (df["mechanism"] == m)
                & (df["design"] == "paper_defaults")
                & (df["setting"] != "unilateral")
            ]
            sub = sub[(sub["family"] == fam) | (sub["family"] == "honest")]
            if not (sub["family"] == fam).any():
                continue
            xs, ms, los, his = [], [], [], []
            for s, g in sub.groupby("share"):
                mean, lo, hi = _ci(g["accuracy_final"].to_numpy())
                if math.isfinite(mean):
                    xs.append(s)
                    ms.append(mean)
                    los.append(lo if math.isfinite(lo) else mean)
                    his.append(hi if math.isfinite(hi) else mean)
            if xs:
                ax.plot(xs, ms, marker="o", label=m)
                ax.fill_between(xs, los, his, alpha=0.2)
                drawn = True
        ax.set_xlabel(f"share of {fam} agents")
        ax.set_ylabel("final accuracy of the output model (points)")
        ax.set_title(f"Accuracy vs {fam} share (95% bands over seeds)")
        if drawn:
            ax.legend(fontsize=7)
        else:
            ax.text(
                0.5, 0.5, f"no mechanism has a {fam} strategy", transform=ax.transAxes, ha="center"
            )
    fig.tight_layout()
    made.append(("accuracy_vs_share", fig))
    # 3. outlay per round against final accuracy, designs joined by arrows
    fig, ax = plt.subplots(figsize=(6, 4.2))
    g = df[df["setting"] == "group"]
    for m in mechanisms:
        pts = {}
        for d in cfg.designs:
            for kind, sel in (
                ("honest", g["family"] == "honest"),
                ("mixed", g["family"] != "honest"),
            ):
                sub = g[(g["mechanism"] == m) & (g["design"] == d) & sel]
                if len(sub):
                    x = _nanmean(sub["outlay_per_round"])
                    y = _nanmean(sub["accuracy_final"])
                    if math.isfinite(x) and math.isfinite(y):
                        pts[(d, kind)] = (x, y)
        for kind, mk in (("honest", "o"), ("mixed", "x")):
            a, b = pts.get(("paper_defaults", kind)), pts.get(("min_feasible", kind))
            if a:
                ax.scatter(*a, marker=mk, label=f"{m} ({kind})")
            if a and b:
                ax.annotate("", xy=b, xytext=a, arrowprops={"arrowstyle": "->", "lw": 0.8})
    ax.set_xlabel("outlay to participants per round (coins)")
    ax.set_ylabel("final accuracy (points)")
    ax.set_title("Outlay vs accuracy; arrows: paper_defaults → min_feasible")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, ncol=2)
    else:
        ax.text(0.5, 0.5, "no mechanism reported an accuracy", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    made.append(("outlay_vs_accuracy", fig))
    # 4. wealth concentration over time (all-honest runs)
    from experiments.runner import load_results

    fig, ax = plt.subplots(figsize=(6, 3.8))
    d = Path(out) / "sweeps" / "group"
    if (d / "sweep.json").exists():
        rounds = load_results(d, "rounds")
        summ = load_results(d, "summary")
        honest_ids = set(
            summ[(summ["family"] == "honest") & (summ["design"] == "paper_defaults")]["run_id"]
        )
        rr = rounds[rounds["run_id"].isin(honest_ids)]
        for m in mechanisms:
            sub = rr[rr["mechanism"] == m]
            if not len(sub):
                continue
            stat = sub.groupby("round")["gini_coins"].agg(["mean", "min", "max"])
            ax.plot(stat.index, stat["mean"], label=m)
            ax.fill_between(stat.index, stat["min"], stat["max"], alpha=0.15)
    ax.set_xlabel("round")
    ax.set_ylabel("Gini of coins")
    ax.set_title("Wealth concentration, all-honest runs (band: min-max over seeds)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    made.append(("gini_over_rounds", fig))
    return made


def _nanmean(v) -> float:
    v = np.asarray(v, dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _save(fig, stem: Path) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(stem.with_suffix(".png"), dpi=120, metadata={"Software": None})
    plt.close(fig)
    return stem.with_suffix(".png").name


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

_MARK = {
    "unprofitable": "unprofitable",
    "profitable": "**profitable**",
    "inconclusive": "inconclusive",
}


def _f(x: float, nd: int = 3) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{nd}g}"


def render_report(summary: Mapping[str, Any], cfg: CompareConfig) -> str:
    """report.md, rendered from the summary data only."""
    lines = [
        f"# Five mechanisms compared ({cfg.name})",
        "",
        f"Mechanisms: {', '.join(summary['mechanisms'])}."
        + (
            f" Not available here: {', '.join(summary['missing_mechanisms'])}."
            if summary.get("missing_mechanisms")
            else ""
        ),
        f"{cfg.seeds} seeds x {cfg.rounds} rounds, {cfg.n_participants} agents, {cfg.learning} learning, "
        f"compute {cfg.compute} ({cfg.trainers_per_round} training jobs per round at most), group share {cfg.share:g}.",
        "",
        f"Verdict rule: {summary['rule']}. Beside it, the closed form's IC verdict at the run's "
        "parameters (✓ holds, ✗ fails). A cell '–' means the mechanism has no strategy of that family "
        "(never counted as honest).",
        "",
    ]
    fams = list(cfg.families)
    for design, rows in summary["tables"].items():
        lines += [f"## Design: {design}", ""]
        lines.append(
            "| mechanism | "
            + " | ".join(fams)
            + " | minted/round | outlay/round | acc. honest (pts) | acc. mixed (pts) | acc. lost (pts) | outlay/point | wasted % |"
        )
        lines.append("|---" * (len(fams) + 8) + "|")
        for r in rows:
            if not r["available"]:
                lines.append(
                    f"| {r['mechanism']} | "
                    + " | ".join("n/a" for _ in fams)
                    + " | design unavailable"
                    + " |" * 7
                )
                continue
            cells = []
            for f in fams:
                c = r["cells"].get(f)
                if c is None:
                    cells.append("–")
                elif "gain" not in c:
                    cells.append(c.get("status", ""))
                else:
                    cf = "" if c["cf_ic"] is None else (" ✓" if c["cf_ic"] else " ✗")
                    flag = " ⚑" if c["disagrees"] else ""
                    cells.append(
                        f"{_f(c['gain'])} [{_f(c['ci'][0])}, {_f(c['ci'][1])}] {_MARK[c['verdict']]}{cf}{flag}"
                    )
            lines.append(
                f"| {r['mechanism']} | "
                + " | ".join(cells)
                + f" | {_f(r['minted_per_round'])} | {_f(r['outlay_per_round'])} | {_f(r['accuracy_honest'])}"
                f" | {_f(r['accuracy_mixed'])} | {_f(r['accuracy_lost'])} | {_f(r['outlay_per_point'])}"
                f" | {_f(r['wasted_share'] * 100)} |"
            )
        lines.append("")
    lines += ["## Findings: simulation and closed form disagree", ""]
    if summary["findings"]:
        for fnd in summary["findings"]:
            side = "IC holds in closed form" if fnd["cf_ic"] else "IC fails in closed form"
            lines.append(
                f"- {fnd['mechanism']} ({fnd['design']}), {fnd['family']}: simulated gain {_f(fnd['gain'])} per round "
                f"[{_f(fnd['ci'][0])}, {_f(fnd['ci'][1])}] is {fnd['verdict']}, but {side} (margin {_f(fnd['cf_margin'])})."
            )
    else:
        lines.append("- none at these settings")
    lines.append("")
    if summary["unilateral"]:
        lines += [
            "## Unilateral deviation (one deviant agent)",
            "",
            "| mechanism | family | gain per round [95% CI] | verdict | seeds |",
            "|---|---|---|---|---|",
        ]
        for u in summary["unilateral"]:
            lines.append(
                f"| {u['mechanism']} | {u['family']} | {_f(u['gain'])} [{_f(u['ci'][0])}, {_f(u['ci'][1])}] | {u['verdict']} | {u['seeds']} |"
            )
        lines.append("")
    if summary.get("figures"):
        lines += ["## Figures", ""] + [f"![{f}](figures/{f})" for f in summary["figures"]] + [""]
    lines += [
        "## Reproduce",
        "",
        "The effective settings of this report (configuration file, command-line options"
        " and `--quick` folded in) are written beside it as `compare.toml`:",
        "",
        "```",
        "derelay compare --config compare.toml --out runs/compare",
        "```",
        "",
    ]
    return "\n".join(lines)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj
