"""Live ABM runs behind the dashboard: one thin adapter per model implementation.

An adapter is built from a validated parameter point, the strategy mix per role
(``{role: {strategy: share}}``, Normal taking the rest), an adaptation rule and a seed,
and offers ``step() -> dict`` (one flat row of plain floats per round) and ``plots``, the
declaration of what the page draws from those rows.  The page knows nothing else about the
model, so a second implementation plugs in with a second adapter:

* :class:`DeRelaySim` drives today's :class:`derelay.model.DeRelayModel` (Mesa 3) through
  :class:`derelay.model.SimConfig`.

* :class:`EngineSim` drives the generic engine's ``MechanismModel`` (issue 10) for any
  mechanism that declares a round protocol.

:func:`make_sim` picks the adapter for a mechanism (DeRelaySim for DeRelayL, whose engine
port is not on main yet; EngineSim for any other mechanism with a protocol), or says in one
line that no model runs it (the page then shows that line instead of the simulation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

ADAPTATIONS = ("fixed", "imitation", "best_response", "replicator")
VERSION_BINS = 6  # the version plot: 0..4 versions behind the latest, then "5+"


@dataclass(frozen=True)
class PlotSpec:
    """One live plot: ``kind`` "line" (one line per column, a point per round) or "bars"
    (the latest row's columns as bars, replaced every round)."""

    key: str
    title: str
    columns: tuple[tuple[str, str], ...]  # (row key, legend label)
    kind: str = "line"
    y_label: str = ""
    #: lines shown at first (0: all); the others are listed in the legend, a click shows them
    show_first: int = 0


class SimError(ValueError):
    """A strategy mix or option the model refuses; the message is one user-facing line."""


def normal_shares(
    mechanism: Any, mix: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Complete each role's mix with its Normal strategy (1 - the deviations' shares)."""
    out: dict[str, dict[str, float]] = {}
    for role in mechanism.roles:
        given = {k: float(v) for k, v in (mix.get(role.abbr) or {}).items() if float(v) > 0}
        total = sum(given.values())
        if total > 1.0 + 1e-9:
            names = ", ".join(f"{k} {v:g}" for k, v in given.items())
            raise SimError(
                f"strategy mix of {role.abbr}: deviations sum to {total:g} ({names}); "
                "allowed total <= 1 (Normal takes the rest)"
            )
        if given:
            out[role.abbr] = {role.normal.abbr: max(0.0, 1.0 - total), **given}
    return out


class DeRelaySim:
    """:class:`derelay.model.DeRelayModel` (the DeRelayL ABM on Mesa 3), one round a step."""

    name = "derelay.model.DeRelayModel"
    #: the readings of the paper the model can start from (``derelay run --preset``)
    presets = ("paper_text", "authors_code")

    def __init__(
        self,
        mechanism: Any,
        params: Any,
        mix: Mapping[str, Mapping[str, float]],
        seed: int,
        adaptation: str = "fixed",
        preset: str | None = None,
    ) -> None:
        from derelay.model import DeRelayModel, SimConfig, SimConfigError

        self.mechanism = mechanism
        strategies = normal_shares(mechanism, mix)
        try:
            # `derelay run`'s configuration: a preset, with the page's point, mix and rule
            data = SimConfig.from_preset(preset or self.presets[0]).model_dump()
            data.update(params=dict(params), strategies=strategies, adaptation=adaptation)
            cfg = SimConfig.from_mapping(data)
        except (SimConfigError, ValueError) as exc:
            raise SimError(str(exc).splitlines()[0]) from None
        self.cfg = cfg
        self.model = DeRelayModel(cfg, seed=int(seed))
        self.roles = {r: list(self.model.role_strats[r]) for r in self.model.role_strats}

    @property
    def round(self) -> int:
        return int(self.model.round)

    @property
    def plots(self) -> list[PlotSpec]:
        share_cols = tuple(
            (f"share_{r}_{a}", f"{r} {a}") for r, abbrs in self.roles.items() for a in abbrs
        )
        versions = tuple((f"v{k}", str(k)) for k in range(VERSION_BINS - 1)) + (
            (f"v{VERSION_BINS - 1}", f"{VERSION_BINS - 1}+"),
            ("v_none", "none"),
        )
        return [
            PlotSpec(
                "coins",
                "Coins per participant",
                (("mean_coins", "mean"), ("max_coins", "max"), ("min_coins", "min")),
                y_label="coins",
            ),
            PlotSpec(
                "versions",
                "Version distribution (versions behind the latest)",
                versions,
                kind="bars",
                y_label="share of participants",
            ),
            PlotSpec("shares", "Strategy shares per role", share_cols, y_label="share"),
            PlotSpec(
                "trainers",
                "Trainers per round",
                (
                    ("n_trainers", "trainers"),
                    ("n_submitted", "submitted"),
                    ("n_selected", "selected"),
                ),
                y_label="count",
            ),
            PlotSpec(
                "ledger",
                "Ledger (cumulative)",
                (("minted", "minted"), ("external", "external"), ("burned", "burned")),
                y_label="coins",
            ),
        ]

    def step(self) -> dict[str, float]:
        self.model.step()
        row = self.model.recorder.rows[-1]
        out = {"round": float(row["round"])}
        for key in (
            "mean_coins",
            "max_coins",
            "min_coins",
            "total_coins",
            "n_trainers",
            "n_submitted",
            "n_selected",
            "minted",
            "burned",
            "latest_version",
        ):
            out[key] = float(row[key])
        out["external"] = 0.0  # DeRelayL's ABM has no outside money: rewards are minted
        for r, abbrs in self.roles.items():
            for a in abbrs:
                out[f"share_{r}_{a}"] = float(row[f"share_{r}_{a}"])
        cuts = VERSION_BINS - 1
        for k in range(cuts):
            out[f"v{k}"] = float(row[f"share_latest_{k}"])
        rest = sum(float(v) for k, v in row.items() if k.startswith("share_latest_")) - sum(
            out[f"v{k}"] for k in range(cuts)
        )
        out[f"v{cuts}"] = rest + float(row["share_older"])
        out["v_none"] = float(row["share_none"])
        out["halted"] = float(bool(row.get("halted", False)))
        return out


#: Row columns an engine protocol may report that the accuracy plot shows.
ACCURACY_COLUMNS = ("accuracy", "best_accuracy", "mean_accuracy", "final_accuracy")
#: Metrics every engine protocol reports for the comparison (shown first).
COMMON_METRICS = ("honest_accuracy", "training_jobs", "wasted_jobs", "deviant_detected")
_LEDGER_COLUMNS = {"round", "halted", "minted", "external", "burned", "escrow", "total_coins"}


class EngineSim:
    """The generic engine's model (:func:`derelay.engine.build_model`, issue 10) for any
    mechanism that declares a round protocol.

    The strategy mix per role goes into ``RunConfig.strategies``.  The plots follow the
    protocol's round rows: coins per participant and the ledger's minted / external /
    burned money always; strategy shares per role; the mechanism's accuracy when its rows
    report one; counts (``n_*`` columns, such as trainers) and its other metrics."""

    name = "derelay.engine.MechanismModel"
    presets: tuple[str, ...] = ()

    def __init__(
        self,
        mechanism: Any,
        params: Any,
        mix: Mapping[str, Mapping[str, float]],
        seed: int,
        adaptation: str = "fixed",
        preset: str | None = None,
    ) -> None:
        from derelay.engine import RunConfig, build_model

        self.mechanism = mechanism
        point = params.to_dict() if hasattr(params, "to_dict") else dict(params)
        try:
            cfg = RunConfig(
                mechanism=mechanism.name,
                params=point,
                strategies=normal_shares(mechanism, mix),
                adaptation=adaptation,
            )
            self.model = build_model(cfg, seed=int(seed))
            # the protocol's row columns, from one round of a second model of the same run
            probe = build_model(cfg, seed=int(seed))
            probe.step()
            self.columns = [k for k, v in probe.recorder.rows[-1].items() if _is_number(v)]
        except ValueError as exc:
            raise SimError(str(exc).strip().splitlines()[0]) from None
        self.cfg = cfg

    @property
    def round(self) -> int:
        return int(self.model.round)

    @property
    def plots(self) -> list[PlotSpec]:
        cols = self.columns
        shares = tuple(
            (c, c.removeprefix("share_").replace("_", " ", 1))
            for c in cols
            if c.startswith("share_")
        )
        accuracy = tuple((c, c) for c in cols if c in ACCURACY_COLUMNS)
        counts = tuple((c, c.removeprefix("n_")) for c in cols if c.startswith("n_"))
        other = [
            c
            for c in cols
            if c not in _LEDGER_COLUMNS
            and not c.endswith("_nano")
            and not c.startswith(("share_", "n_"))
            and c not in ACCURACY_COLUMNS
        ]
        # the engine's common comparison metrics first, then the protocol's own
        other.sort(
            key=lambda c: (
                c not in COMMON_METRICS,
                COMMON_METRICS.index(c) if c in COMMON_METRICS else 0,
            )
        )
        other = tuple((c, c) for c in other)
        plots = [
            PlotSpec(
                "coins",
                "Coins per participant",
                (("mean_coins", "mean"), ("max_coins", "max"), ("min_coins", "min")),
                y_label="coins",
            )
        ]
        if accuracy:
            plots.append(PlotSpec("accuracy", "Accuracy", accuracy, y_label="accuracy"))
        if shares:
            plots.append(PlotSpec("shares", "Strategy shares per role", shares, y_label="share"))
        if counts:
            plots.append(PlotSpec("trainers", "Counts per round", counts, y_label="count"))
        if other:
            plots.append(
                PlotSpec("metrics", f"{self.mechanism.name} round metrics", other, show_first=3)
            )
        plots.append(
            PlotSpec(
                "ledger",
                "Ledger (cumulative)",
                (("minted", "minted"), ("external", "external"), ("burned", "burned")),
                y_label="coins",
            )
        )
        return plots

    def step(self) -> dict[str, float]:
        from derelay.engine.ledger import NANO

        self.model.step()
        row = self.model.recorder.rows[-1]
        out = {k: float(row[k]) if _is_number(row.get(k)) else math.nan for k in self.columns}
        coins = np.asarray(self.model.state.coins, dtype=np.float64) / NANO
        out.update(
            round=float(self.round),
            mean_coins=float(coins.mean()),
            max_coins=float(coins.max()),
            min_coins=float(coins.min()),
        )
        lg = self.model.ledger
        out.update(minted=lg.minted / NANO, external=lg.external_in / NANO, burned=lg.burned / NANO)
        out["halted"] = float(bool(row.get("halted", False)))
        return out


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def sim_class(mechanism: Any):
    """The adapter class for ``mechanism``, or ``None`` with no model to run it."""
    if mechanism.name == "derelayl":
        return DeRelaySim
    if getattr(mechanism, "protocol", None):
        return EngineSim
    return None


def make_sim(
    mechanism: Any,
    params: Any,
    mix,
    seed: int,
    adaptation: str = "fixed",
    preset: str | None = None,
):
    cls = sim_class(mechanism)
    if cls is None:
        raise SimError(
            f"no agent-based model runs mechanism '{mechanism.name}' here "
            "(it declares no round protocol for derelay.engine)"
        )
    if adaptation not in ADAPTATIONS:
        raise SimError(f"adaptation = {adaptation!r} is not allowed: allowed {list(ADAPTATIONS)}")
    if preset is not None and preset not in cls.presets:
        raise SimError(f"preset = {preset!r} is not allowed: allowed {list(cls.presets)}")
    return cls(mechanism, params, mix, seed, adaptation, preset)
