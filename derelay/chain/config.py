"""Validated chain configuration (pydantic)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from derelay.network import TOPOLOGIES

Topology = Literal["random_regular", "small_world", "scale_free", "complete", "file"]
Policy = Literal["invalid", "withhold"]
FinalRule = Literal["longest", "honest"]
POLICIES: tuple[str, ...] = ("invalid", "withhold")
assert set(TOPOLOGIES) == {"random_regular", "small_world", "scale_free", "complete", "file"}


class ChainConfig(BaseModel):
    """Everything that defines a chain simulation (besides the seed).

    Units are seconds and integer nano-coins.  ``interval`` is the mean time between
    blocks at difficulty 1; ``difficulty`` multiplies the expected work per block, so
    at a fixed total hash rate the mean inter-block time is ``interval * difficulty``
    (``effective_interval``).  ``latency`` is the mean per-hop delay; per-edge
    latencies are log-normal around it with coefficient of variation ``latency_jitter``.

    ``final_rule`` says which chain is *final* for the measurements:
    ``"longest"`` (default) - the longest chain among all published blocks, valid or
    not, i.e. the chain PoW makes canonical for anyone who does not re-verify every
    rule (light clients, the settlement of deposits); honest validation protects it
    only while honest miners out-mine the adversary, which is exactly what the paper
    assumes ("honest participants ... follow the honest blocks", C8).
    ``"honest"`` - the longest *valid* chain as honest full nodes see it; invalid
    blocks can then never be final and a majority adversary shows up only as slower
    honest growth and a long invalid branch.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_nodes: int = Field(128, ge=2, description="network nodes (miners or mining pools)")
    topology: Topology = "random_regular"
    latency: float = Field(0.5, ge=0, allow_inf_nan=False, description="mean per-hop delay (s)")
    interval: float = Field(10.0, gt=0, allow_inf_nan=False, description="mean block interval (s)")
    difficulty: float = Field(1.0, gt=0, allow_inf_nan=False)
    confirmation_depth: int = Field(6, ge=1, description="k: blocks on top before a block is final")
    degree: int = Field(8, ge=1, description="peers per node (random_regular, small_world)")
    rewire: float = Field(0.1, ge=0, le=1, description="small-world rewiring probability")
    latency_jitter: float = Field(0.5, ge=0, allow_inf_nan=False, description="CV of edge latency")
    graph_path: str | None = Field(None, description="graph file for topology 'file'")
    adversary: float = Field(0.0, ge=0, lt=1, description="adversary's share alpha of hash power")
    policy: Policy = "invalid"
    adversary_nodes: int = Field(1, ge=1, description="nodes the adversary's hash power sits on")
    give_up: int | None = Field(
        None,
        ge=0,
        description="invalid policy: abandon own branch when this far behind (default k)",
    )
    hash_skew: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="hash power of the node ranked j is proportional to j**-hash_skew (0: equal)",
    )
    final_rule: FinalRule = "longest"
    rewards: Literal["mechanism", "flat"] = Field(
        "mechanism",
        description="coinbase: inclusion revenue of Table II (mechanism) or block_reward (flat)",
    )
    block_reward: int = Field(
        1_000_000, ge=0, description="flat coinbase per valid block (nano-coins)"
    )
    strict_honest_payloads: bool = Field(
        True, description="raise if payload(miner, honest=True) builds an invalid block"
    )

    @model_validator(mode="after")
    def _check(self) -> ChainConfig:
        if self.topology == "file" and not self.graph_path:
            raise ValueError("topology 'file' needs graph_path")
        if self.adversary > 0 and self.adversary_nodes >= self.n_nodes:
            raise ValueError(
                f"adversary_nodes must be < n_nodes ({self.n_nodes}); got {self.adversary_nodes}"
            )
        return self

    @property
    def effective_interval(self) -> float:
        return self.interval * self.difficulty

    @property
    def abandon_depth(self) -> int:
        return self.confirmation_depth if self.give_up is None else self.give_up


def config_error_message(exc: ValidationError) -> str:
    """One line naming the offending parameter(s), value and allowed range."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "config"
        msg = err.get("msg", "invalid")
        val = err.get("input")
        parts.append(f"{loc}: {msg} (got {val!r})" if loc != "config" else msg)
    return "; ".join(parts)
