"""The forkserver preload of the sweep's process pool (imported in pool processes only).

Importing it makes the process ignore SIGINT: Ctrl-C goes to the whole process group, and
the parent alone handles it (it stops the pool and keeps every finished run), so a worker
never prints a ``KeyboardInterrupt`` traceback.  The forkserver imports its preload before
it records the signal handlers it restores in each forked worker, so every worker starts
with SIGINT ignored; and the built-in run kinds (pandas, numpy, the engine) are imported
once, in the server, so that workers start warm.  Never import this module in the main
process (``experiments.runner._worker_init`` does the same for spawn-started workers).
"""

from __future__ import annotations

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)

from . import kinds as _kinds  # noqa: E402,F401
