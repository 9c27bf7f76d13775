"""Progress of ``derelay paper``: ``section k/N``, a bar inside long sections, an ETA.

On a terminal a rich progress display (two bars: the sections, and the runs of the
current section) refreshes in place.  When the output is not a terminal (CI logs, a
pipe), a heartbeat thread writes one plain line every ``every`` seconds.  The ETA uses
the per-section times of the previous report in the output directory (same mode) when
there is one, otherwise equal shares; inside a section it extrapolates the runs done.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def expected_seconds(out: Path, keys: Sequence[str], quick: bool) -> dict[str, float]:
    """Per-section seconds of the last report written to ``out`` in the same mode."""
    try:
        data = json.loads((Path(out) / "reproduction.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if bool(data.get("quick")) != bool(quick):
        return {}
    return {
        s["key"]: float(s.get("seconds") or 0.0)
        for s in data.get("sections", [])
        if s.get("key") in keys
    }


class Progress:
    """Tracks sections and inner steps; renders on a TTY or logs a heartbeat."""

    def __init__(
        self,
        keys: Sequence[str],
        expected: dict[str, float] | None = None,
        tty: bool = False,
        log: Callable[[str], None] = print,
        every: float = 5.0,
        console=None,
    ) -> None:
        self.keys = list(keys)
        self.expected = {k: float((expected or {}).get(k, 0.0)) for k in self.keys}
        if not any(self.expected.values()):
            self.expected = dict.fromkeys(self.keys, 1.0)
        fallback = sum(self.expected.values()) / max(1, sum(v > 0 for v in self.expected.values()))
        self.expected = {k: (v if v > 0 else fallback) for k, v in self.expected.items()}
        self.tty, self.log, self.every = tty, log, every
        self.k = 0
        self.key = ""
        self.t0 = time.perf_counter()
        self.ts = self.t0
        self.done_inner = 0
        self.total_inner = 0
        self.what = ""
        self.done_seconds: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rich = None
        self._console = console
        self._lock = threading.Lock()

    # ---- estimates ---------------------------------------------------------------
    def eta(self) -> float:
        """Seconds left (estimate)."""
        now = time.perf_counter()
        spent = now - self.ts
        exp = self.expected.get(self.key, 0.0)
        if self.total_inner and self.done_inner:
            left_here = spent * (self.total_inner - self.done_inner) / self.done_inner
        else:
            left_here = max(0.0, exp - spent)
        later = self.keys[self.k :] if self.k else self.keys
        # scale the not-yet-run sections by how fast this run is versus the last one
        ratio = 1.0
        done_exp = sum(self.expected[k] for k in self.done_seconds)
        if done_exp > 0:
            ratio = sum(self.done_seconds.values()) / done_exp
        return left_here + ratio * sum(self.expected[k] for k in later)

    def line(self) -> str:
        el = time.perf_counter() - self.t0
        inner = ""
        if self.total_inner:
            inner = f", {self.what} {self.done_inner}/{self.total_inner}"
        return (
            f"section {self.k}/{len(self.keys)} [{self.key}]{inner}; "
            f"elapsed {_hms(el)}, ETA {_hms(self.eta())}"
        )

    # ---- events ------------------------------------------------------------------
    def start(self) -> None:
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),
                console=self._console,
                transient=False,
            )
            self._rich.start()
            self._outer = self._rich.add_task("sections", total=len(self.keys), eta="")
            self._inner = self._rich.add_task("", total=None, eta="", visible=False)
        else:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()

    def section(self, k: int, key: str) -> None:
        with self._lock:
            self.k, self.key = k, key
            self.ts = time.perf_counter()
            self.done_inner = self.total_inner = 0
            self.what = ""
        if self._rich is not None:
            self._rich.update(
                self._outer,
                completed=k - 1,
                description=f"section {k}/{len(self.keys)} {key}",
                eta=f"ETA {_hms(self.eta())}",
            )
            self._rich.update(self._inner, visible=False)
        else:
            self.log(self.line())

    def inner(self, done: int, total: int, what: str = "") -> None:
        with self._lock:
            self.done_inner, self.total_inner, self.what = done, total, what
        if self._rich is not None:
            self._rich.update(
                self._inner, completed=done, total=total, visible=True,
                description=f"  {what}", eta="",
            )  # fmt: skip
            self._rich.update(self._outer, eta=f"ETA {_hms(self.eta())}")

    def section_done(self, key: str, seconds: float) -> None:
        self.done_seconds[key] = seconds
        if self._rich is not None:
            self._rich.update(self._outer, completed=self.k, eta=f"ETA {_hms(self.eta())}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._rich is not None:
            self._rich.stop()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                msg = self.line()
            self.log(msg)


def _hms(sec: float) -> str:
    sec = max(0, int(round(sec)))
    m, s = divmod(sec, 60)
    return f"{m}:{s:02d}"
