"""The forkserver preload of the sweep's process pool (imported in pool processes only;
a pool forked from the main process does the same in ``experiments.runner._worker_init``).

Importing it

* makes the process ignore SIGINT: Ctrl-C goes to the whole process group, and the parent
  alone handles it (it stops the pool and keeps every finished run), so a worker never
  prints a ``KeyboardInterrupt`` traceback.  The forkserver imports its preload before it
  records the signal handlers it restores in each forked worker, so every worker starts
  with SIGINT ignored;
* gives every worker one BLAS/OpenMP thread (``OMP_NUM_THREADS`` and friends, set before
  numpy is imported): N workers on N cores never oversubscribe them, and a run computes
  the same bits in a worker as in the parent (which runs its runs with one thread too);
* imports the built-in run kinds (numpy, pandas, the engine's parameters) once, in the
  server, so that workers start warm.  The server's preload also lists the modules of
  the sweep's kind (:func:`experiments.registry.preload_modules`: mesa and the model for
  ``abm``, pyarrow for the outputs), imported once there too.

Never import this module in the main process (``experiments.runner._worker_init`` does
the same for forked and spawn-started workers, after their imports).
"""

from __future__ import annotations

import os
import signal

from .registry import THREAD_VARS  # light: imports nothing numerical

signal.signal(signal.SIGINT, signal.SIG_IGN)
for _var in THREAD_VARS:
    os.environ[_var] = "1"

from . import kinds as _kinds  # noqa: E402,F401
