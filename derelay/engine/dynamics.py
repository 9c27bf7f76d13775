"""Strategy adaptation between rounds (``adaptation``), over any mechanism's roles.

* ``"fixed"``: nobody changes strategy.
* ``"imitation"``: each participant revises with probability ``adaptation_rate``: it
  looks at one random neighbour on the networkx social graph (``social_graph``) and
  copies the neighbour's whole strategy profile with the Fermi probability
  1 / (1 + exp(-(u_j - u_i) / noise)), u = EWMA of realised utility per round
  (pairwise-comparison imitation of better-earning neighbours).
* ``"best_response"``: each revising participant draws, for every role, a strategy from
  the logit (noisy best response) distribution exp(U_s / noise) over the mechanism's
  closed-form utilities (``Mechanism.utilities``; a strategy the mechanism does not
  declare uses the protocol's ``strategy_utility`` or is never chosen), evaluated at the
  run's parameters or - ``best_response_state = "own"`` - at each agent's own state where
  the protocol provides one (``Protocol.own_state_values``: the same formulas evaluated on
  numpy arrays, one entry per agent).
* ``"replicator"``: per role, shares follow the exponential replicator map
  x_s <- x_s exp(f_s / noise) / sum, with f_s the EWMA of the *measured* mean utility of
  strategy s in that role (strategies never observed keep their share), blended with
  rate ``adaptation_rate`` and mutation ``mutation``; then the fewest participants
  switch so that the counts match the new shares.

All rules draw from the run's ``adapt`` stream (deterministic).  Settings are read from
the run configuration by attribute.
"""

from __future__ import annotations

import numpy as np


def adapt(model) -> None:
    rule = model.cfg.adaptation
    if rule == "imitation":
        _imitation(model)
    elif rule == "best_response":
        _best_response(model)
    elif rule == "replicator":
        _replicator(model)


def social_graph_csr(model):
    """Neighbour lists of the social graph as CSR arrays (built once, seeded)."""
    if model._graph is not None:
        return model._graph
    import networkx as nx

    g = model.cfg.social_graph
    n = model.n
    seed = model.streams.int_seed("graph")
    if g.kind == "watts_strogatz":
        G = nx.watts_strogatz_graph(n, min(g.k, n - 1), g.p, seed=seed)
    elif g.kind == "erdos_renyi":
        G = nx.fast_gnp_random_graph(n, g.p, seed=seed)
    elif g.kind == "barabasi_albert":
        G = nx.barabasi_albert_graph(n, min(g.k, n - 1), seed=seed)
    else:
        G = nx.complete_graph(n)
    A = nx.to_scipy_sparse_array(G, nodelist=range(n), format="csr")
    model._graph = (A.indptr.astype(np.int64), A.indices.astype(np.int64))
    return model._graph


def _imitation(model) -> None:
    cfg, rng, st = model.cfg, model.streams.rng("adapt"), model.state
    indptr, indices = social_graph_csr(model)
    n = model.n
    deg = np.diff(indptr)
    revise = (rng.random(n) < cfg.adaptation_rate) & (deg > 0)
    i = np.flatnonzero(revise)
    if i.size == 0:
        return
    j = indices[indptr[i] + (rng.random(i.size) * deg[i]).astype(np.int64)]
    du = st.ewma_utility[j] - st.ewma_utility[i]
    p = 1.0 / (1.0 + np.exp(-np.clip(du / cfg.adaptation_noise, -50, 50)))
    copy = rng.random(i.size) < p
    st.strategy[i[copy]] = st.strategy[j[copy]]


def _utility_formula(model, role: str, abbr: str):
    try:
        return model.mechanism.role(role).strategy(abbr).utility
    except KeyError:
        return model.protocol.strategy_utility(role, abbr)


def closed_form_utilities(model) -> dict[str, np.ndarray]:
    """Closed-form utility of every strategy code per role (-inf if none known)."""
    if model._cf_utils is not None:
        return model._cf_utils
    out = {}
    for r in model.roles:
        vals = []
        for a in model.role_strats[r]:
            f = _utility_formula(model, r, a)
            vals.append(-np.inf if f is None else float(f(model.p)))
        out[r] = np.array(vals)
    model._cf_utils = out
    return out


def _logit(u: np.ndarray, noise: float) -> np.ndarray:
    z = np.where(np.isfinite(u), u / noise, -np.inf)
    z = z - np.max(z)
    w = np.exp(z)
    return w / w.sum()


def _best_response(model) -> None:
    cfg, rng, st = model.cfg, model.streams.rng("adapt"), model.state
    n = model.n
    own = getattr(cfg, "best_response_state", "params") == "own"
    for ri, r in enumerate(model.roles):
        k = len(model.role_strats[r])
        if k < 2:
            continue
        revise = np.flatnonzero(rng.random(n) < cfg.adaptation_rate)
        if revise.size == 0:
            continue
        pv = model.protocol.own_state_values(r, revise) if own else None
        if pv is None:
            probs = _logit(closed_form_utilities(model)[r], cfg.adaptation_noise)
            st.strategy[revise, ri] = rng.choice(k, size=revise.size, p=probs).astype(np.int16)
            continue
        cols = []
        for a in model.role_strats[r]:
            f = _utility_formula(model, r, a)
            if f is None:
                cols.append(np.full(revise.size, -np.inf))
            else:
                cols.append(np.broadcast_to(np.asarray(f(pv), dtype=np.float64), revise.shape))
        U = np.stack(cols, axis=1)  # (agents, strategies)
        z = np.where(np.isfinite(U), U / cfg.adaptation_noise, -np.inf)
        z -= z.max(axis=1, keepdims=True)
        w = np.exp(z)
        cdf = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        draw = rng.random(revise.size)[:, None]
        choice = np.minimum((draw > cdf).sum(axis=1), k - 1)
        st.strategy[revise, ri] = choice.astype(np.int16)


def _replicator(model) -> None:
    cfg, rng, st = model.cfg, model.streams.rng("adapt"), model.state
    rec = model.recorder
    cur = rec.util_rows[-1] if rec.util_rows else None
    if not hasattr(model, "_fitness"):
        model._fitness = {r: np.zeros(len(model.role_strats[r])) for r in model.roles}
        model._seen = {r: np.zeros(len(model.role_strats[r]), dtype=bool) for r in model.roles}
    n = model.n
    for ri, r in enumerate(model.roles):
        k = len(model.role_strats[r])
        if k < 2:
            continue
        base = rec.bucket_base[r]
        if cur is not None:
            cnt = cur[0, base : base + k]
            mean = np.divide(cur[1, base : base + k], cnt, out=np.zeros(k), where=cnt > 0)
            obs = cnt > 0
            f, seen = model._fitness[r], model._seen[r]
            first = obs & ~seen
            f[first] = mean[first]
            upd = obs & seen
            f[upd] = (1 - cfg.utility_memory) * f[upd] + cfg.utility_memory * mean[upd]
            seen |= obs
        f, seen = model._fitness[r], model._seen[r]
        x = np.bincount(st.strategy[:, ri], minlength=k) / n
        if seen.sum() < 2:
            continue
        fbar = np.dot(x[seen], f[seen]) / max(x[seen].sum(), 1e-300)
        g = np.where(seen, np.exp(np.clip((f - fbar) / cfg.adaptation_noise, -50, 50)), 1.0)
        xn = x * g
        xn = xn / xn.sum()
        xn = (1 - cfg.adaptation_rate) * x + cfg.adaptation_rate * xn
        if cfg.mutation > 0:
            xn = (1 - cfg.mutation) * xn + cfg.mutation / k
        _reassign(st.strategy[:, ri], xn, rng)


def _reassign(col: np.ndarray, shares: np.ndarray, rng) -> None:
    """Switch the fewest entries of ``col`` so its counts match ``shares`` (in place)."""
    n = len(col)
    k = len(shares)
    raw = shares * n
    target = np.floor(raw).astype(np.int64)
    rem = n - int(target.sum())
    if rem > 0:
        target[np.argsort(-(raw - target), kind="stable")[:rem]] += 1
    counts = np.bincount(col, minlength=k)
    surplus = counts - target
    movers = []
    for s in np.flatnonzero(surplus > 0):
        idx = np.flatnonzero(col == s)
        movers.append(rng.choice(idx, size=int(surplus[s]), replace=False))
    if not movers:
        return
    movers = np.concatenate(movers)
    rng.shuffle(movers)
    new = np.repeat(np.flatnonzero(surplus < 0), -surplus[surplus < 0])
    col[movers] = new.astype(col.dtype)
