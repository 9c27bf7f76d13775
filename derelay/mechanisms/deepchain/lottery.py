"""DeepChain's leader lottery over the workers' *valid* coins (Sec. 4.2.5).

Algorand's sortition draws a leader with probability proportional to her coins ``w``;
DeepChain counts in ``w`` only the coins "that have available validity value", to
"eliminate the phenomenon of wealth accumulation" (Sec. 4.2.5).  A coin's validity is "the
time interval of a round" (Sec. 4.1).

Here a coin earned (or a stake lost) in round ``s`` counts in the lottery of rounds
``s + 1 .. s + validity``; ``validity = 0`` stands for ``inf`` (every coin counts: plain
stake-weighted sortition).  The genesis allocation counts forever, or only for the first
``validity`` rounds when ``initial_coins_expire``.  A worker's weight is her valid coins,
floored at zero; when nobody has valid coins the draw is uniform.  Failed leaders of the
round are excluded from the re-draw (Sec. 4.2.4: "chosen a new leader from the remaining
workers").

State is an integer ring buffer (validity x W) of nano-coin earnings, so a round costs
O(W * validity) and the lottery is exact and deterministic given the RNG.
"""

from __future__ import annotations

import numpy as np


def gini(x) -> float:
    """Gini coefficient of non-negative holdings (0: equal; (n-1)/n: one holds all)."""
    x = np.sort(np.asarray(x, dtype=float).ravel())
    n = x.size
    tot = x.sum()
    if n == 0 or tot <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * ranks - n - 1) @ x / (n * tot))


class LeaderLottery:
    """Valid-coin weights of ``n_workers`` workers (amounts in integer units)."""

    def __init__(self, n_workers: int, initial: int, validity: int, initial_expire: bool):
        if n_workers < 1:
            raise ValueError("n_workers must be >= 1")
        if validity < 0:
            raise ValueError("validity must be >= 0 (0 = inf)")
        self.n = int(n_workers)
        self.validity = int(validity)
        self.initial = int(initial)
        self.initial_expire = bool(initial_expire)
        self.round = 0  # the lottery round about to be drawn
        if self.validity == 0:
            self._cum = np.zeros(self.n, dtype=np.int64)
            self._ring = None
        else:
            self._cum = None
            self._ring = np.zeros((self.validity, self.n), dtype=np.int64)

    def _initial_valid(self) -> bool:
        return not self.initial_expire or self.validity == 0 or self.round < self.validity

    def weights(self) -> np.ndarray:
        """Valid coins of every worker for the lottery of the current round (>= 0)."""
        earned = self._cum if self._ring is None else self._ring.sum(axis=0)
        w = earned + (self.initial if self._initial_valid() else 0)
        return np.maximum(w, 0)

    def probabilities(self, exclude=()) -> np.ndarray:
        w = self.weights().astype(float)
        mask = np.ones(self.n, dtype=bool)
        mask[list(exclude)] = False
        if not mask.any():
            raise ValueError("no worker left to draw")
        w = np.where(mask, w, 0.0)
        tot = w.sum()
        if tot <= 0:
            return mask / mask.sum()
        return w / tot

    def draw(self, rng: np.random.Generator, exclude=()) -> int:
        """One leader (stake-weighted over valid coins; uniform when nobody has any)."""
        pr = self.probabilities(exclude)
        u = rng.random()
        return int(min(np.searchsorted(np.cumsum(pr), u, side="right"), self.n - 1))

    def end_round(self, earned) -> None:
        """Book the round's earnings (negative: stake lost), then advance one round."""
        earned = np.asarray(earned, dtype=np.int64)
        if self._ring is None:
            self._cum += earned
        else:
            self._ring[self.round % self.validity] = earned
        self.round += 1


def simulate_lottery(
    n_workers: int,
    rounds: int,
    validity: int,
    initial: int,
    reward: int,
    initial_expire: bool,
    seed: int | np.random.SeedSequence = 0,
) -> dict:
    """The lottery alone: every round one leader, who earns ``reward`` (no faults).

    Returns the leader sequence, each worker's coins (initial + earned), the Gini of
    worker coins per round and the share of rounds won by the richest worker at the end.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss)
    lot = LeaderLottery(n_workers, initial, validity, initial_expire)
    coins = np.full(n_workers, initial, dtype=np.int64)
    leaders = np.empty(rounds, dtype=np.int64)
    ginis = np.empty(rounds)
    zero = np.zeros(n_workers, dtype=np.int64)
    for r in range(rounds):
        j = lot.draw(rng)
        leaders[r] = j
        e = zero.copy()
        e[j] = reward
        coins += e
        lot.end_round(e)
        ginis[r] = gini(coins)
    wins = np.bincount(leaders, minlength=n_workers)
    richest = int(np.argmax(coins))
    return {
        "leaders": leaders,
        "coins": coins,
        "gini": ginis,
        "wins": wins,
        "richest": richest,
        "richest_win_share": float(wins[richest] / max(rounds, 1)),
        "max_win_share": float(wins.max() / max(rounds, 1)),
        "longest_streak": _longest_streak(leaders),
    }


def _longest_streak(seq: np.ndarray) -> int:
    if seq.size == 0:
        return 0
    change = np.flatnonzero(np.diff(seq) != 0)
    bounds = np.concatenate([[-1], change, [seq.size - 1]])
    return int(np.diff(bounds).max())


def concentration_study(
    validities=(1, 5, 0),
    n_workers: int = 8,
    rounds: int = 500,
    initial: int = 10,
    reward: int = 1,
    seeds: int = 20,
    expire_options=(False, True),
) -> list[dict]:
    """Wealth concentration per (validity, initial_coins_expire), averaged over seeds, next
    to the uniform lottery (coins play no part) as the no-rich-get-richer benchmark."""
    rows = []
    root = np.random.SeedSequence(20260415)
    seeds_ss = root.spawn(seeds)
    for expire in expire_options:
        for v in validities:
            runs = [
                simulate_lottery(n_workers, rounds, v, initial, reward, expire, s) for s in seeds_ss
            ]
            rows.append(_summary(runs, v, expire, n_workers, rounds, seeds))
    # benchmark: uniform lottery (every worker equally likely whatever her coins)
    uni = []
    for s in seeds_ss:
        rng = np.random.default_rng(s)
        leaders = rng.integers(0, n_workers, rounds)
        wins = np.bincount(leaders, minlength=n_workers)
        coins = initial + reward * wins
        ginis = np.array(
            [
                gini(initial + reward * np.bincount(leaders[: r + 1], minlength=n_workers))
                for r in range(rounds)
            ]
        )
        uni.append(
            {
                "gini": ginis,
                "wins": wins,
                "coins": coins,
                "richest": int(np.argmax(coins)),
                "richest_win_share": float(wins[np.argmax(coins)] / rounds),
                "max_win_share": float(wins.max() / rounds),
                "longest_streak": _longest_streak(leaders),
            }
        )
    rows.append(_summary(uni, "uniform", None, n_workers, rounds, seeds))
    return rows


def _summary(runs, validity, expire, n_workers, rounds, seeds) -> dict:
    g_final = np.array([r["gini"][-1] for r in runs])
    return {
        "validity": "inf" if validity == 0 else validity,
        "initial_coins_expire": expire,
        "n_workers": n_workers,
        "rounds": rounds,
        "seeds": seeds,
        "gini_final_mean": float(g_final.mean()),
        "gini_final_se": float(g_final.std(ddof=1) / np.sqrt(len(runs))) if len(runs) > 1 else 0.0,
        "richest_win_share_mean": float(np.mean([r["richest_win_share"] for r in runs])),
        "max_win_share_mean": float(np.mean([r["max_win_share"] for r in runs])),
        "longest_streak_mean": float(np.mean([r["longest_streak"] for r in runs])),
    }
