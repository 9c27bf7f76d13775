"""Peer-to-peer topologies with per-edge latencies and shortest-path delays.

The chain simulator (:mod:`derelay.chain`) propagates every block along shortest
paths: a block published by node ``m`` at time ``t`` reaches node ``j`` at
``t + D[m, j]`` where ``D`` is the all-pairs shortest-path matrix of per-edge
latencies (computed once with :func:`scipy.sparse.csgraph.shortest_path`, so a
block costs one row lookup, never a graph walk).  Shortest-path delays satisfy the
triangle inequality, which guarantees that a block never reaches a node before its
parent did (the parent reached the child's miner first) - the simulator relies on it.

Up to ``MAX_NODES`` = 10,000 nodes (the delay matrix is dense: n^2 * 8 bytes); large
populations map participants onto pools (:func:`derelay.chain.assign_pools`).

Topologies (``TOPOLOGIES``)
---------------------------
``random_regular``  every node has ``degree`` peers (Bitcoin-like; default degree 8)
``small_world``     connected Watts-Strogatz ring, ``degree`` neighbours, rewiring ``rewire``
``scale_free``      Barabasi-Albert preferential attachment, ``degree // 2`` links per newcomer
``complete``        every pair linked (the textbook setting of PoW stale-rate theory)
``file``            a user-supplied graph: edge list (``.txt/.csv/.tsv/.edges/.edgelist``,
                    ``u v [latency]`` per line), GraphML (``.graphml``) or node-link JSON
                    (``.json``); an edge attribute ``latency`` (seconds) is used when present.

Latencies
---------
``latency`` is the *mean per-hop delay* in seconds.  Per-edge latencies are drawn
around it: ``jitter`` is the coefficient of variation of a log-normal distribution
with that mean (``jitter = 0`` gives every edge exactly ``latency``).  A user graph
keeps its own ``latency`` edge attributes unless ``override_latency`` is set.
All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, shortest_path

MAX_NODES = 10_000  # the all-pairs delay matrix takes n**2 * 8 bytes (800 MB at 10,000)
TOPOLOGIES: tuple[str, ...] = ("random_regular", "small_world", "scale_free", "complete", "file")
EDGE_LIST_SUFFIXES = (".txt", ".csv", ".tsv", ".edges", ".edgelist")


class NetworkError(ValueError):
    """Bad topology input; the message names the parameter and the allowed values."""


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def build_graph(
    topology: str,
    n_nodes: int,
    rng: np.random.Generator,
    *,
    degree: int = 8,
    rewire: float = 0.1,
    path: str | Path | None = None,
) -> nx.Graph:
    """Build a connected undirected graph on nodes ``0..n-1``.

    ``degree`` is clipped to ``n_nodes - 1``; for ``random_regular`` an odd
    ``n_nodes * degree`` is fixed by using ``degree - 1`` (a regular graph needs an
    even degree sum).  Random generators are retried with fresh seeds until connected.
    """
    if topology not in TOPOLOGIES:
        raise NetworkError(f"topology must be one of {', '.join(TOPOLOGIES)}; got {topology!r}")
    if topology == "file":
        if path is None:
            raise NetworkError("topology 'file' needs a graph file (--graph PATH)")
        return load_graph(path)
    if not 2 <= n_nodes <= MAX_NODES:
        raise NetworkError(
            f"nodes must be in [2, {MAX_NODES}] (all-pairs delays take n^2 * 8 bytes); "
            f"got {n_nodes}"
        )
    if degree < 1:
        raise NetworkError(f"degree must be >= 1; got {degree}")
    if not 0.0 <= rewire <= 1.0:
        raise NetworkError(f"rewire must be in [0, 1]; got {rewire}")
    d = min(degree, n_nodes - 1)
    if topology == "complete":
        return nx.complete_graph(n_nodes)
    for _ in range(50):
        if topology == "random_regular":
            dd = d if (d * n_nodes) % 2 == 0 else d - 1
            g = nx.random_regular_graph(max(dd, 1), n_nodes, seed=_seed(rng))
            if dd < 2 and n_nodes > 2:  # a perfect matching is never connected
                g.add_edges_from((i, i + 1) for i in range(n_nodes - 1))
        elif topology == "small_world":
            k = max(2, d)
            if k >= n_nodes:
                return nx.complete_graph(n_nodes)
            g = nx.connected_watts_strogatz_graph(n_nodes, k, rewire, tries=200, seed=_seed(rng))
        else:  # scale_free
            m = max(1, min(d // 2, n_nodes - 1))
            g = nx.barabasi_albert_graph(n_nodes, m, seed=_seed(rng))
        if nx.is_connected(g):
            return g
    raise NetworkError(f"could not build a connected {topology} graph with {n_nodes} nodes")


def load_graph(path: str | Path) -> nx.Graph:
    """Read a user graph (edge list, GraphML or node-link JSON) and relabel nodes 0..n-1.

    Node labels are sorted (numerically when all are integers) before relabelling, so
    the mapping is deterministic.  The graph must be connected and have >= 2 nodes.
    """
    p = Path(path)
    if not p.is_file():
        raise NetworkError(f"graph file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix == ".graphml":
            g = nx.Graph(nx.read_graphml(p))
        elif suffix == ".json":
            data = json.loads(p.read_text())
            if "links" in data and "edges" not in data:
                g = nx.Graph(nx.node_link_graph(data, edges="links"))
            else:
                g = nx.Graph(nx.node_link_graph(data))
        elif suffix in EDGE_LIST_SUFFIXES:
            g = nx.Graph()
            for lineno, raw in enumerate(p.read_text().splitlines(), start=1):
                line = raw.split("#", 1)[0].replace(",", " ").replace("\t", " ").strip()
                if not line:
                    continue
                parts = line.split()
                if len(parts) not in (2, 3):
                    raise NetworkError(
                        f"graph file {p.name} line {lineno}: expected 'u v [latency]', got {raw!r}"
                    )
                if len(parts) == 3:
                    try:
                        lat = float(parts[2])
                    except ValueError:
                        raise NetworkError(
                            f"graph file {p.name} line {lineno}: latency {parts[2]!r} is not a number"
                        ) from None
                    g.add_edge(parts[0], parts[1], latency=lat)
                else:
                    g.add_edge(parts[0], parts[1])
        else:
            raise NetworkError(
                f"graph file must end in .graphml, .json or one of {', '.join(EDGE_LIST_SUFFIXES)};"
                f" got {p.name!r}"
            )
    except NetworkError:
        raise
    except Exception as exc:  # parser errors of networkx / json
        raise NetworkError(f"could not read graph file {p.name}: {exc}") from None
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    if not 2 <= g.number_of_nodes() <= MAX_NODES:
        raise NetworkError(
            f"graph file {p.name} must have between 2 and {MAX_NODES} nodes; "
            f"got {g.number_of_nodes()}"
        )
    if not nx.is_connected(g):
        raise NetworkError(f"graph file {p.name} is not connected")
    labels = list(g.nodes)
    try:
        order = sorted(labels, key=lambda x: int(x))
    except (TypeError, ValueError):
        order = sorted(labels, key=str)
    g = nx.relabel_nodes(g, {old: i for i, old in enumerate(order)})
    for _, _, data in g.edges(data=True):
        if "latency" in data:
            lat = float(data["latency"])
            if not (math.isfinite(lat) and lat >= 0):
                raise NetworkError(f"graph file {p.name}: edge latency must be >= 0; got {lat}")
            data["latency"] = lat
    return g


def assign_latencies(
    g: nx.Graph,
    latency: float,
    rng: np.random.Generator,
    *,
    jitter: float = 0.5,
    override: bool = True,
) -> nx.Graph:
    """Set edge attribute ``latency``: log-normal with mean ``latency`` and CV ``jitter``.

    Edges are visited in sorted order so the draw is deterministic.  With
    ``override=False`` edges that already carry a latency keep it.
    """
    if not (math.isfinite(latency) and latency >= 0):
        raise NetworkError(f"latency must be >= 0 seconds; got {latency}")
    if not (math.isfinite(jitter) and jitter >= 0):
        raise NetworkError(f"latency jitter must be >= 0; got {jitter}")
    edges = sorted((min(u, v), max(u, v)) for u, v in g.edges)
    if latency == 0 or jitter == 0:
        draws = np.full(len(edges), float(latency))
    else:
        s2 = math.log1p(jitter**2)
        draws = rng.lognormal(math.log(latency) - s2 / 2, math.sqrt(s2), size=len(edges))
    for (u, v), lat in zip(edges, draws, strict=True):
        if override or "latency" not in g.edges[u, v]:
            g.edges[u, v]["latency"] = float(lat)
    return g


def delay_matrix(g: nx.Graph) -> np.ndarray:
    """All-pairs shortest-path delays (seconds) over edge attribute ``latency``.

    Zero-latency edges are handled exactly (scipy treats explicit zeros in a sparse
    matrix as missing edges, so they are replaced by a tiny epsilon and the result is
    rounded back).  Returns a C-contiguous ``float64`` array with a zero diagonal.
    """
    n = g.number_of_nodes()
    if sorted(g.nodes) != list(range(n)):
        raise NetworkError("graph nodes must be labelled 0..n-1")
    rows, cols, w = [], [], []
    tiny = 0.0
    for u, v, data in g.edges(data=True):
        lat = float(data.get("latency", 0.0))
        rows.append(u)
        cols.append(v)
        w.append(lat)
    w_arr = np.asarray(w, dtype=float)
    if w_arr.size and (w_arr == 0).any():
        tiny = 1e-300
        w_arr = np.where(w_arr == 0, tiny, w_arr)
    mat = csr_matrix((w_arr, (rows, cols)), shape=(n, n))
    ncomp, _ = connected_components(mat, directed=False)
    if ncomp != 1:
        raise NetworkError("network graph must be connected")
    d = shortest_path(mat, method="D", directed=False)
    if tiny:
        d[d < 1e-250] = 0.0
    return np.ascontiguousarray(d, dtype=np.float64)


@dataclass
class Network:
    """A topology with per-edge latencies and its precomputed delay matrix."""

    graph: nx.Graph
    delays: np.ndarray
    topology: str
    latency: float
    eccentricity: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.eccentricity = self.delays.max(axis=1)

    @property
    def n_nodes(self) -> int:
        return int(self.delays.shape[0])

    @classmethod
    def build(
        cls,
        topology: str,
        n_nodes: int,
        latency: float,
        rng: np.random.Generator,
        *,
        degree: int = 8,
        rewire: float = 0.1,
        jitter: float = 0.5,
        path: str | Path | None = None,
        override_latency: bool = False,
    ) -> Network:
        """Build graph, draw latencies (user graphs keep theirs unless overridden)."""
        g = build_graph(topology, n_nodes, rng, degree=degree, rewire=rewire, path=path)
        override = topology != "file" or override_latency
        assign_latencies(g, latency, rng, jitter=jitter, override=override)
        return cls(graph=g, delays=delay_matrix(g), topology=topology, latency=latency)

    def summary(self) -> dict:
        """Size, degree and delay statistics (JSON-friendly)."""
        g = self.graph
        off = self.delays[~np.eye(self.n_nodes, dtype=bool)]
        degs = np.array([d for _, d in g.degree()])
        lats = np.array([d.get("latency", 0.0) for _, _, d in g.edges(data=True)])
        return {
            "topology": self.topology,
            "nodes": self.n_nodes,
            "edges": g.number_of_edges(),
            "mean_degree": float(degs.mean()),
            "mean_edge_latency": float(lats.mean()) if lats.size else 0.0,
            "mean_delay": float(off.mean()) if off.size else 0.0,
            "max_delay": float(off.max()) if off.size else 0.0,
        }
