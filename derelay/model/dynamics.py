"""Strategy adaptation between rounds (``SimConfig.adaptation``).

* ``"fixed"``: nobody changes strategy.
* ``"imitation"``: each participant revises with probability ``adaptation_rate``: it
  looks at one random neighbour on the networkx social graph (``social_graph``) and
  copies the neighbour's whole strategy profile with the Fermi probability
  1 / (1 + exp(-(u_j - u_i) / noise)), u = EWMA of realised utility per round
  (pairwise-comparison imitation of better-earning neighbours).
* ``"best_response"``: each revising participant draws, for every role, a strategy from
  the logit (noisy best response) distribution exp(U_s / noise) over the closed-form
  Table II utilities (``get_mechanism().utilities``; a user-registered strategy
  supplies ``utility(p)`` or is never chosen), evaluated at the run's parameters
  (``best_response_state = "params"``) or, for trainers and owners, at each agent's
  own state (``"own"``: its version gap, the deposit its coins allow) - the same
  formulas evaluated on numpy arrays, one entry per agent.
* ``"replicator"``: per role, shares follow the exponential replicator map
  x_s <- x_s exp(f_s / noise) / sum, with f_s the EWMA of the *measured* mean utility of
  strategy s in that role (strategies never observed keep their share), blended with
  rate ``adaptation_rate`` and mutation ``mutation``; then the fewest participants
  switch so that the counts match the new shares.

All rules draw from the model's dedicated adaptation generator (deterministic).
"""

from __future__ import annotations

import numpy as np

from .state import ROLES


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
    seed = int(np.random.SeedSequence(model.seed_value).spawn(7)[6].generate_state(1)[0])
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
    cfg, rng, st = model.cfg, model.adapt_rng, model.state
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


def closed_form_utilities(model) -> dict[str, np.ndarray]:
    """Table II utility of every registered strategy per role (-inf if none known)."""
    from derelay.mechanism import get_mechanism

    if getattr(model, "_cf_utils", None) is not None:
        return model._cf_utils
    mech = get_mechanism(model.cfg.mechanism)
    declared = mech.utilities(model.p)
    out = {}
    for r in ROLES:
        vals = []
        for beh in model.behaviour[r]:
            if beh.abbr in declared.get(r, {}):
                vals.append(float(declared[r][beh.abbr]))
            elif beh.utility is not None:
                vals.append(float(beh.utility(model.p)))
            else:
                vals.append(-np.inf)
        out[r] = np.array(vals)
    model._cf_utils = out
    return out


def _logit(u: np.ndarray, noise: float) -> np.ndarray:
    z = np.where(np.isfinite(u), u / noise, -np.inf)
    z = z - np.max(z)
    w = np.exp(z)
    return w / w.sum()


def own_state_values(model, idx: np.ndarray):
    """Parameter values as seen by participants ``idx`` (numpy arrays, one per agent).

    A trainer's own version gap and the deposit it would bid under the paper's rule
    (V_RecM = V_latest, V_Now^T its own version, b^T = min(coins, V_latest - V_Now + 1));
    an owner's own deposit per trainer b^MO = min(Budget_MO, coins) / limit.  Every other
    key is the run's parameter.  The Table II formulas evaluate these arrays directly.
    """
    from derelay.params import as_values

    from .state import NANO

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


def _best_response(model) -> None:
    cfg, rng, st = model.cfg, model.adapt_rng, model.state
    n = model.n
    own = cfg.best_response_state == "own"
    utils = None if own else closed_form_utilities(model)
    if own:
        from derelay.mechanism import get_mechanism

        mech = get_mechanism(cfg.mechanism)
    for ri, r in enumerate(ROLES):
        k = len(model.role_strats[r])
        if k < 2:
            continue
        revise = np.flatnonzero(rng.random(n) < cfg.adaptation_rate)
        if revise.size == 0:
            continue
        if not own or r not in ("T", "MO"):
            u = utils[r] if utils is not None else closed_form_utilities(model)[r]
            probs = _logit(u, cfg.adaptation_noise)
            st.strategy[revise, ri] = rng.choice(k, size=revise.size, p=probs).astype(np.int16)
            continue
        pv = own_state_values(model, revise)
        role = mech.role(r)
        cols = []
        for beh in model.behaviour[r]:
            try:
                f = role.strategy(beh.abbr).utility
            except KeyError:
                f = beh.utility
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
    cfg, rng, st = model.cfg, model.adapt_rng, model.state
    rec = model.recorder
    cur = rec.util_rows[-1] if rec.util_rows else None
    if not hasattr(model, "_fitness"):
        model._fitness = {r: np.zeros(len(model.role_strats[r])) for r in ROLES}
        model._seen = {r: np.zeros(len(model.role_strats[r]), dtype=bool) for r in ROLES}
    n = model.n
    for ri, r in enumerate(ROLES):
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
