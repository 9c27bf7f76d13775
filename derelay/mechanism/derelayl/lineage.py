"""Model lineage (owner, trainer, parent of every model) and the citation engine.

Citation rule (Sec. IV-A(6), Step 11 part 4): every selected model pays one (c) to its
owner (the MO who provided its parent) and to every predecessor owner up to the genesis
owner.  Walking each selected model's ancestor chain costs O(depth) per model, i.e.
O(rounds^2) over a run.  :class:`CitationEngine` avoids it:

* all models selected in one round sit at the same depth of the lineage tree and their
  ancestries coalesce after a few generations;
* the *trunk* is the path from genesis to the current most recent common ancestor
  (MRCA) of all live models; a per-participant vector counts (or, for the discounted
  schedule, beta-weights) the paying owners on the trunk.  The trunk only ever grows
  downwards, and each node is added once (amortised linear);
* only the short non-trunk part is walked, level by level with numpy (duplicates merged
  by ``bincount`` per level).

Per round the cost is (non-trunk levels) x (width) plus O(participants), independent of
the round index.  :func:`naive_citations` is the direct ancestor walk the tests pin the
fast path against.

Nodes that can never be visited again (above the trunk top, or dead branches) are
dropped by compaction so memory stays bounded on long, large runs; ``keep_all=True``
keeps the whole lineage for output (``lineage.parquet``).
"""

from __future__ import annotations

import numpy as np

from derelay import _fastnp as fnp


class Lineage:
    """Growable struct-of-arrays of models; node ids are global and increasing."""

    FIELDS = (
        ("parent", np.int64),
        ("recipient", np.int64),
        ("trainer", np.int64),
        ("depth", np.int64),
        ("round", np.int64),
        ("perf", np.float64),
        ("backend_id", np.int64),
        ("lazy", np.bool_),
        ("selected", np.bool_),
        ("pays", np.bool_),
    )

    _ATTRS = tuple((name, "_" + name) for name, _ in FIELDS)

    def __init__(self, capacity: int = 1024, keep_all: bool = False) -> None:
        self.capacity = max(16, int(capacity))
        self.base = 0  # id of the first stored node
        self.n = 0  # number of stored nodes
        self.keep_all = keep_all
        for name, dt in self.FIELDS:
            setattr(self, "_" + name, np.zeros(self.capacity, dtype=dt))

    @property
    def next_id(self) -> int:
        return self.base + self.n

    def add(self, size: int | None = None, **cols) -> np.ndarray:
        """Append nodes (all columns broadcast to one length, ``size`` if given); returns
        their ids."""
        k = -1 if size is None else int(size)
        if size is None:
            for v in cols.values():
                if type(v) is np.ndarray:
                    if v.ndim:
                        k = max(k, v.size)
                elif not isinstance(v, int | float | np.generic) and np.ndim(v) > 0:
                    k = max(k, np.size(v))
            if k < 0:  # every column a scalar: one node
                k = 1
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        if self.n + k > self.capacity:
            new = max(self.capacity * 2, self.n + k)
            for name, dt in self.FIELDS:
                arr = np.zeros(new, dtype=dt)
                arr[: self.n] = getattr(self, "_" + name)[: self.n]
                setattr(self, "_" + name, arr)
            self.capacity = new
        n0 = self.n
        sl = slice(n0, n0 + k)
        d = self.__dict__
        for name, attr in self._ATTRS:
            d[attr][sl] = cols.get(name, 0)
        self.n = n0 + k
        b = self.base + n0
        return np.arange(b, b + k, dtype=np.int64)

    def col(self, name: str, ids) -> np.ndarray:
        if type(ids) is not np.ndarray or ids.dtype != np.int64:
            ids = np.asarray(ids, dtype=np.int64)
        return getattr(self, "_" + name)[ids - self.base if self.base else ids]

    def set(self, name: str, ids, values) -> None:
        getattr(self, "_" + name)[np.asarray(ids, dtype=np.int64) - self.base] = values

    def compact(self, keep_from: int) -> None:
        """Drop nodes with id < ``keep_from`` (no-op when ``keep_all``)."""
        if self.keep_all:
            return
        drop = int(keep_from) - self.base
        if drop <= 0 or drop < self.n // 2:
            return
        for name, _ in self.FIELDS:
            arr = getattr(self, "_" + name)
            arr[: self.n - drop] = arr[drop : self.n]
        self.n -= drop
        self.base += drop

    def table(self) -> dict[str, np.ndarray]:
        """All stored nodes as columns (``model_id`` first)."""
        out = {"model_id": np.arange(self.base, self.next_id, dtype=np.int64)}
        for name, _ in self.FIELDS:
            out[name] = getattr(self, "_" + name)[: self.n].copy()
        return out


class CitationEngine:
    """Citation rewards per participant for the models selected in one round.

    ``schedule="every_ancestor"``: weight 1 for the owner and every predecessor owner;
    ``"discounted"``: weight beta^k for the k-th predecessor (k = 0: the owner).  A node
    pays its ``recipient`` only if its ``pays`` flag is set (the genesis node pays only
    with ``genesis_bonus``, reproducing the authors' code).
    """

    def __init__(
        self,
        lineage: Lineage,
        n_participants: int,
        genesis: int,
        schedule: str = "every_ancestor",
        beta: float = 1.0,
        mode: str = "auto",
    ) -> None:
        self.lin = lineage
        self.n = int(n_participants)
        self.schedule = schedule
        self.beta = float(beta)
        self.discounted = schedule == "discounted"
        self.top = int(genesis)  # trunk top (MRCA so far)
        self.top_depth = int(lineage.col("depth", [genesis])[0])
        dtype = np.float64 if self.discounted else np.int64
        self.trunk = np.zeros(self.n, dtype=dtype)
        if lineage.col("pays", [genesis])[0]:
            self.trunk[int(lineage.col("recipient", [genesis])[0])] += 1
        self.levels_walked = 0
        self.narrow = 6  # below this many lineages, walk in plain Python
        if mode not in ("auto", "interval", "dense", "walk"):
            raise ValueError(f"mode must be 'auto', 'interval', 'dense' or 'walk', got {mode!r}")
        self.mode = "interval" if mode == "auto" else mode
        # interval mode: the live models in DFS order and the ancestral tree below the
        # trunk, each node with its interval [s, e) of live leaves
        self.leaves = np.array([int(genesis)], dtype=np.int64)
        # the tree as one (5, nodes) int64 array: rows recipient, depth, pays (0/1),
        # interval start s, interval end e (one concatenation and one filter per round)
        self.tree = np.zeros((5, 0), dtype=np.int64)
        self.tree_size = 0
        self._ar = np.zeros(0, dtype=np.int64)  # see _arange
        # dense mode: one per-participant path vector per live model (rows of A)
        self.live = np.array([int(genesis)], dtype=np.int64)
        self.A = self.trunk[None, :].copy()

    def weights(self, selected: np.ndarray) -> np.ndarray:
        """Per-participant citation weight (count, or beta-weighted) for ``selected``.

        All selected nodes must share one depth (true for every round of the relay).
        """
        lin = self.lin
        sel = np.asarray(selected, dtype=np.int64)
        if sel.size == 0:
            return np.zeros(self.n, dtype=self.trunk.dtype)
        depth = lin.col("depth", sel)
        d = int(depth[0])
        if np.logical_or.reduce(depth != d, axis=None):
            raise ValueError("selected models of one round must share one depth")
        if self.mode == "dense":
            return self._dense(sel)
        if self.mode == "interval":
            return self._interval(sel, d)
        out = np.zeros(self.n, dtype=self.trunk.dtype)
        nodes = np.unique(sel)
        cnt = fnp.bincount(np.searchsorted(nodes, sel), minlength=nodes.size).astype(np.int64)
        total = int(sel.size)
        k = 0
        recs: list[np.ndarray] = []
        ws: list[np.ndarray] = []
        # wide levels: numpy; duplicates merged by bincount over the id range (wide
        # levels) or np.unique (sparse levels spread over many ids)
        par_a, rec_a, pay_a, base = lin._parent, lin._recipient, lin._pays, lin.base
        while nodes.size > self.narrow:
            i = nodes - base
            pays = pay_a[i]
            w = cnt.astype(np.float64) * (self.beta**k) if self.discounted else cnt
            if pays.all():
                recs.append(rec_a[i])
                ws.append(w)
            elif pays.any():
                recs.append(rec_a[i[pays]])
                ws.append(w[pays])
            parents = par_a[i]
            lo = int(parents.min())
            span = int(parents.max()) - lo + 1
            if span <= 8 * parents.size:
                merged = fnp.bincount(parents - lo, weights=cnt, minlength=span)
                nz = merged.nonzero()[0]
                nodes = nz.astype(np.int64) + lo
                cnt = merged[nz].astype(np.int64)
            else:
                nodes, inv = np.unique(parents, return_inverse=True)
                cnt = fnp.bincount(inv, weights=cnt, minlength=nodes.size).astype(np.int64)
            k += 1
            self.levels_walked += 1
        # the few lineages that remain coalesce slowly: plain Python is cheaper per level
        if nodes.size > 1:
            par, rec, pay = par_a, rec_a, pay_a
            cur = dict(zip(nodes.tolist(), cnt.tolist(), strict=True))
            acc: dict[int, float] = {}
            beta = self.beta
            wk = beta**k if self.discounted else 1
            while len(cur) > 1:
                nxt: dict[int, int] = {}
                for node, c in cur.items():
                    i = node - base
                    if pay.item(i):
                        r = rec.item(i)
                        acc[r] = acc.get(r, 0) + c * wk
                    p = par.item(i)
                    nxt[p] = nxt.get(p, 0) + c
                cur = nxt
                k += 1
                if self.discounted:
                    wk *= beta
                self.levels_walked += 1
            if acc:
                recs.append(np.fromiter(acc.keys(), dtype=np.int64, count=len(acc)))
                ws.append(
                    np.fromiter(
                        acc.values(),
                        dtype=np.float64 if self.discounted else np.int64,
                        count=len(acc),
                    )
                )
            nodes = np.fromiter(cur.keys(), dtype=np.int64, count=1)
        mrca = int(nodes[0])
        self._advance(mrca)
        if recs:
            r = fnp.concatenate(recs)
            w = fnp.concatenate(ws)
            if self.discounted:
                out += fnp.bincount(r, weights=w, minlength=self.n)
            else:
                out += fnp.bincount(r, weights=w, minlength=self.n).astype(np.int64)
        if self.discounted:
            out += total * (self.beta ** (d - self.top_depth)) * self.trunk
        else:
            out += total * self.trunk
        return out

    def _interval(self, sel: np.ndarray, d: int) -> np.ndarray:
        """O(tree + n) per round, independent of the round index.

        The live models are kept in a DFS order, so the live descendants of every node of
        the ancestral tree form one interval [s, e) of that order.  When the selected
        models replace their parents, an old position i maps to f(i) = number of
        selected children of the live models before i, so a node's new interval is
        [f(s), f(e)) and its number of selected descendants - its citation weight -
        is f(e) - f(s): one vectorised gather for the whole tree, whatever its depth.
        Nodes whose interval empties die; nodes whose interval covers every selected
        model are common ancestors and move to the trunk vector.
        """
        lin = self.lin
        leaves = self.leaves
        parents = lin.col("parent", sel)
        lo = int(np.minimum.reduce(leaves, axis=None))
        where = np.empty(int(np.maximum.reduce(leaves, axis=None)) - lo + 1, dtype=np.int64)
        where.fill(-1)
        where[leaves - lo] = np.arange(len(leaves), dtype=np.int64)
        try:
            pi = where[parents - lo]  # DFS position of each selected model's parent
        except IndexError:
            pi = None
        # a parent below lo wraps around, one that is no live model maps to -1: either way
        # the leaf at its position is not the parent
        if pi is None or not np.logical_and.reduce(leaves[pi] == parents, axis=None):
            raise ValueError("interval citation mode: a selected model's parent is not live")
        # f[i]: the selected children of the live models before position i
        f = fnp.bincount(pi + 1, minlength=len(leaves) + 1).cumsum()
        # stable counting order by parent position (radix sort for small keys)
        key = pi.astype(np.uint16) if len(leaves) <= 65535 else pi
        o = key.argsort(kind="stable")
        new_leaves = sel[o]
        n_s = len(new_leaves)
        # remap the tree's intervals, add the new leaves
        old = self.tree
        m0 = old.shape[1]
        tree = np.empty((5, m0 + n_s), dtype=np.int64)
        tree[:3, :m0] = old[:3]
        tree[3:, :m0] = f[old[3:]]
        i = (new_leaves - lin.base) if lin.base else new_leaves
        tree[0, m0:] = lin._recipient[i]
        tree[1, m0:] = d
        tree[2, m0:] = lin._pays[i]
        ar = self._arange(n_s + 1)  # the new leaves' intervals [j, j + 1)
        tree[3, m0:] = ar[:n_s]
        tree[4, m0:] = ar[1:]
        t_rec, t_depth, t_pays = tree[0], tree[1], tree[2]
        w = tree[4] - tree[3]
        # weights of this round (before moving common ancestors to the trunk)
        if self.discounted:
            ww = fnp.where(t_pays != 0, w * self.beta ** (d - t_depth).astype(np.float64), 0.0)
            out = fnp.bincount(t_rec, weights=ww, minlength=self.n)
            out += n_s * (self.beta ** (d - self.top_depth)) * self.trunk
        else:
            out = fnp.bincount(t_rec, weights=w * t_pays, minlength=self.n).astype(np.int64)
            out += n_s * self.trunk
        # prune dead nodes, move common ancestors to the trunk
        keep = (w > 0) & (w < n_s)  # w <= n_s: w == n_s covers every selected model
        if m0 + n_s and np.maximum.reduce(w, axis=None) == n_s:
            full = w == n_s
            fp = full & (t_pays != 0)
            new_top = int(np.maximum.reduce(t_depth[full], axis=None))
            if self.discounted:
                self.trunk *= self.beta ** (new_top - self.top_depth)
                np.add.at(
                    self.trunk,
                    t_rec[fp],
                    self.beta ** (new_top - t_depth[fp]).astype(np.float64),
                )
            else:
                np.add.at(self.trunk, t_rec[fp], 1)
            self.top_depth = new_top
        self.tree = tree.take(keep.nonzero()[0], axis=1)  # = tree[:, keep], C-ordered
        self.leaves = new_leaves
        self.tree_size = self.tree.shape[1]
        if lin.n * 2 >= lin.capacity:  # compact only when the storage half fills
            lin.compact(int(np.minimum.reduce(new_leaves, axis=None)))
        return out

    def _arange(self, k: int) -> np.ndarray:
        """0, 1, ..., k - 1 (a view of one cached, read-only arange)."""
        a = self._ar
        if a.size < k:
            a = self._ar = np.arange(max(k, 2 * a.size), dtype=np.int64)
            a.setflags(write=False)
        return a[:k]

    def _dense(self, sel: np.ndarray) -> np.ndarray:
        """Small populations: A[m] = beta * A[parent] + e_recipient(m), O(|S| * n)."""
        lin = self.lin
        nodes = np.unique(sel)
        parents = lin.col("parent", nodes)
        rows = np.searchsorted(self.live, parents)
        if np.any(rows >= len(self.live)) or np.any(
            self.live[np.minimum(rows, len(self.live) - 1)] != parents
        ):
            raise ValueError("dense citation mode: a selected model's parent is not live")
        A = self.A[rows]
        if self.discounted:
            A *= self.beta
        pays = lin.col("pays", nodes)
        rec = lin.col("recipient", nodes)
        idx = np.flatnonzero(pays)
        A[idx, rec[idx]] += 1
        self.live, self.A = nodes, A
        self.lin.compact(int(nodes[0]))
        if len(nodes) == len(sel):
            return A.sum(axis=0)
        cnt = fnp.bincount(np.searchsorted(nodes, sel), minlength=nodes.size)
        return (A * cnt[:, None]).sum(axis=0).astype(A.dtype)

    def _advance(self, mrca: int) -> None:
        """Extend the trunk from its current top down to ``mrca`` (each node once)."""
        if mrca == self.top:
            return
        lin = self.lin
        path = []
        node = mrca
        while node != self.top:
            path.append(node)
            node = int(lin.col("parent", [node])[0])
        path = np.asarray(path[::-1], dtype=np.int64)  # from just below top down to mrca
        new_depth = int(lin.col("depth", [mrca])[0])
        pays = lin.col("pays", path)
        rec = lin.col("recipient", path[pays])
        if self.discounted:
            step = new_depth - self.top_depth
            self.trunk *= self.beta**step
            dep = lin.col("depth", path[pays])
            np.add.at(self.trunk, rec, self.beta ** (new_depth - dep).astype(np.float64))
        else:
            np.add.at(self.trunk, rec, 1)
        self.top = mrca
        self.top_depth = new_depth
        self.lin.compact(self.top)

    def amounts(self, selected: np.ndarray, r_cited_nano: int) -> np.ndarray:
        """Citation payment per participant in nano-coins (int64)."""
        w = self.weights(selected)
        if self.discounted:
            return np.rint(w * float(r_cited_nano)).astype(np.int64)
        return w * int(r_cited_nano)


def naive_citations(
    parent: np.ndarray,
    recipient: np.ndarray,
    pays: np.ndarray,
    selected: np.ndarray,
    n_participants: int,
    discounted: bool = False,
    beta: float = 1.0,
) -> np.ndarray:
    """Reference: walk every selected model's ancestor chain up to genesis (O(depth))."""
    out = np.zeros(n_participants, dtype=np.float64 if discounted else np.int64)
    for m in np.asarray(selected, dtype=np.int64):
        node = int(m)
        k = 0
        while node >= 0:
            if pays[node]:
                out[recipient[node]] += beta**k if discounted else 1
            node = int(parent[node])
            k += 1
    return out
