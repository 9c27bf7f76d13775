"""Topologies, latencies and shortest-path delays (derelay.network)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from derelay.network import (
    TOPOLOGIES,
    Network,
    NetworkError,
    assign_latencies,
    build_graph,
    delay_matrix,
    load_graph,
)


@pytest.mark.parametrize("topology", [t for t in TOPOLOGIES if t != "file"])
def test_presets_are_connected_and_sized(topology):
    g = build_graph(topology, 60, np.random.default_rng(0), degree=6)
    assert g.number_of_nodes() == 60
    assert nx.is_connected(g)
    if topology == "random_regular":
        assert {d for _, d in g.degree()} == {6}
    if topology == "complete":
        assert g.number_of_edges() == 60 * 59 // 2


def test_odd_degree_sum_and_tiny_graphs():
    g = build_graph("random_regular", 7, np.random.default_rng(1), degree=3)
    assert nx.is_connected(g) and g.number_of_nodes() == 7
    for topo in ("random_regular", "small_world", "scale_free", "complete"):
        g2 = build_graph(topo, 2, np.random.default_rng(2), degree=8)
        assert nx.is_connected(g2)


def test_delays_match_networkx_dijkstra_and_triangle_inequality():
    rng = np.random.default_rng(3)
    net = Network.build("small_world", 40, 0.3, rng, degree=4, jitter=0.8)
    d = net.delays
    ref = dict(nx.all_pairs_dijkstra_path_length(net.graph, weight="latency"))
    for i in range(40):
        for j in range(40):
            assert d[i, j] == pytest.approx(ref[i][j], abs=1e-12)
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    # triangle inequality: the simulator relies on parents arriving before children
    assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-12)


def test_latency_distribution_mean_and_constant():
    g = build_graph("random_regular", 400, np.random.default_rng(4), degree=10)
    assign_latencies(g, 0.5, np.random.default_rng(5), jitter=0.5)
    lats = np.array([x["latency"] for *_, x in g.edges(data=True)])
    # 2,000 log-normal draws with CV 0.5: standard error of the mean 0.5*0.5/sqrt(2000)
    assert abs(lats.mean() - 0.5) < 5 * 0.25 / np.sqrt(lats.size)
    assign_latencies(g, 0.2, np.random.default_rng(5), jitter=0.0)
    assert {x["latency"] for *_, x in g.edges(data=True)} == {0.2}


def test_complete_graph_constant_latency_gives_one_hop_delay():
    net = Network.build("complete", 10, 0.7, np.random.default_rng(0), jitter=0.0)
    off = net.delays[~np.eye(10, dtype=bool)]
    assert np.allclose(off, 0.7)


def test_zero_latency_is_exact_zero():
    net = Network.build("random_regular", 30, 0.0, np.random.default_rng(0), degree=4)
    assert np.all(net.delays == 0)


def test_deterministic_given_seed():
    a = Network.build("scale_free", 50, 0.4, np.random.default_rng(9))
    b = Network.build("scale_free", 50, 0.4, np.random.default_rng(9))
    assert np.array_equal(a.delays, b.delays)
    c = Network.build("scale_free", 50, 0.4, np.random.default_rng(10))
    assert not np.array_equal(a.delays, c.delays)


def test_user_graph_formats(tmp_path):
    el = tmp_path / "g.edges"
    el.write_text("# comment\na b 0.1\nb c 0.2\nc d\n")
    g = load_graph(el)
    assert g.number_of_nodes() == 4 and nx.is_connected(g)
    net = Network.build("file", 0, 1.0, np.random.default_rng(0), path=el, jitter=0.0)
    # 'a b' and 'b c' keep their latencies; 'c d' gets the mean latency 1.0
    assert net.delays.max() == pytest.approx(0.1 + 0.2 + 1.0)

    gm = tmp_path / "g.graphml"
    h = nx.path_graph(5)
    nx.set_edge_attributes(h, 0.25, "latency")
    nx.write_graphml(h, gm)
    assert delay_matrix(load_graph(gm))[0, 4] == pytest.approx(1.0)

    js = tmp_path / "g.json"
    js.write_text(json.dumps(nx.node_link_data(nx.cycle_graph(6), edges="edges")))
    assert load_graph(js).number_of_nodes() == 6


@pytest.mark.parametrize(
    "content,name,match",
    [
        ("0 1\n2 3\n", "g.txt", "not connected"),
        ("0 1 x\n", "g.txt", "not a number"),
        ("0 1 2 3\n", "g.txt", "expected"),
        ("0 1 -1\n", "g.txt", ">= 0"),
        ("0 1\n", "g.xyz", "must end in"),
    ],
)
def test_user_graph_errors(tmp_path, content, name, match):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(NetworkError, match=match):
        load_graph(p)


def test_bad_arguments_name_the_parameter():
    rng = np.random.default_rng(0)
    with pytest.raises(NetworkError, match="topology must be one of"):
        build_graph("ring", 10, rng)
    with pytest.raises(NetworkError, match=r"nodes must be in \[2, 10000\]"):
        build_graph("complete", 1, rng)
    with pytest.raises(NetworkError, match="n\\^2"):
        build_graph("random_regular", 20_000, rng)
    with pytest.raises(NetworkError, match="latency must be >= 0"):
        assign_latencies(nx.path_graph(3), -1.0, rng)
    with pytest.raises(NetworkError, match="does not exist"):
        load_graph("/nonexistent/graph.txt")
