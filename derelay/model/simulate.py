"""``run_simulation`` and ``RunResult``: one ABM run and its three output files."""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import SimConfig
from .core import DeRelayModel


@dataclass
class RunResult:
    """Tables of one run.

    ``rounds``: one row per round; ``agents``: one row per participant per recorded
    round; ``utilities``: realised utility sums per round and (role, strategy);
    ``lineage``: (optional) every model's parent, owner and trainer; ``meta``: resolved
    configuration, seed, package version and timings.
    """

    rounds: pd.DataFrame
    agents: pd.DataFrame
    meta: dict[str, Any]
    utilities: pd.DataFrame = field(default_factory=pd.DataFrame)
    lineage: pd.DataFrame | None = None
    blocks: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:  # the live model stays out of pickles (dask sweeps)
        state = dict(self.__dict__)
        state["model"] = None
        return state

    def write(self, out_dir: str | Path) -> Path:
        """Write rounds.parquet, agents.parquet, utilities.parquet and run.json.

        Files are written to temporary names and renamed, so a failure leaves nothing
        half-written.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "rounds.parquet": self.rounds,
            "agents.parquet": self.agents,
            "utilities.parquet": self.utilities,
        }
        if self.lineage is not None:
            files["lineage.parquet"] = self.lineage
        if len(self.blocks):
            files["blocks.parquet"] = self.blocks
        tmp_paths = []
        try:
            for name, df in files.items():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
                os.close(fd)
                df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
                tmp_paths.append((tmp, out / name))
            fd, tmp = tempfile.mkstemp(prefix=".run.json.", dir=out)
            from derelay.cli._common import to_jsonable

            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(to_jsonable(self.meta), fh, indent=2, sort_keys=True, default=str)
                fh.write("\n")
            tmp_paths.append((tmp, out / "run.json"))
        except BaseException:
            for tmp, _ in tmp_paths:
                Path(tmp).unlink(missing_ok=True)
            raise
        for tmp, final in tmp_paths:
            os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
            os.replace(tmp, final)
        return out


def run_simulation(
    cfg: SimConfig | None = None,
    rounds: int = 100,
    seed: int = 0,
    progress: bool = False,
    backend=None,
) -> RunResult:
    """Run ``rounds`` relay rounds of ``cfg`` with ``seed`` (same inputs, same tables)."""
    from derelay import __version__

    if cfg is None:
        cfg = SimConfig.from_preset("paper_text")
    rounds = int(rounds)
    if rounds < 1:
        raise ValueError(f"rounds = {rounds} is out of range: allowed rounds >= 1")
    t0 = time.perf_counter()
    model = DeRelayModel(cfg, seed=seed, backend=backend)
    t1 = time.perf_counter()
    model.run(rounds, progress=progress)
    t2 = time.perf_counter()
    rec = model.recorder
    rounds_df = rec.rounds_frame()
    agents_df = rec.agents_frame()
    util_df = rec.utilities_frame()
    t3 = time.perf_counter()
    meta = {
        "config": cfg.resolved(),
        "seed": int(seed),
        "rounds": rounds,
        "package": "derelay",
        "version": __version__,
        "chain": model.chain.name,
        "learning": cfg.learning,
        "ledger": {
            "minted_nano": model.ledger.minted,
            "burned_nano": model.ledger.burned,
            "forfeited_nano": model.ledger.forfeited,
            "returned_nano": model.ledger.returned,
            "redistributed_nano": model.ledger.redistributed,
            "escrow_nano": model.ledger.escrow,
            "total_coins_nano": model.ledger.total(),
        },
        "chain_metrics": model.chain.metrics(),
        "agents_recorded": None if rec.sample is None else int(len(rec.sample)),
        "citation_tree_size": model.settlement.engine.tree_size,
        "timings": {
            "setup_s": t1 - t0,
            "rounds_s": t2 - t1,
            "per_round_ms": 1000 * (t2 - t1) / rounds,
            "tables_s": t3 - t2,
        },
    }
    lineage = pd.DataFrame(model.lineage.table()) if cfg.keep_lineage else None
    return RunResult(rounds_df, agents_df, meta, util_df, lineage, rec.blocks_frame(), model)


def abm_run_kind(config: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Sweep adapter (experiments' ``RUN_KINDS`` signature): config dict, seed -> tables.

    ``config`` holds ``rounds`` (default 100), optionally ``preset`` (a shipped preset
    to start from) and any :class:`SimConfig` keys (``params`` as a sub-table).
    Returns ``rounds``, ``agents`` and ``utilities`` tables.
    """
    data = dict(config)
    rounds = int(data.pop("rounds", 100))
    preset = data.pop("preset", None)
    if preset is not None:
        cfg = SimConfig.from_preset(str(preset))
        cfg = cfg.with_updates(**data) if data else cfg
    else:
        cfg = SimConfig.from_mapping(data)
    res = run_simulation(cfg, rounds=rounds, seed=seed)
    return {"rounds": res.rounds, "agents": res.agents, "utilities": res.utilities}
