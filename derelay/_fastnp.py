"""numpy's bincount, where and concatenate without their ``__array_function__``
dispatchers, for the round's hot paths (issue 20).

Each of these public functions is a Python-level dispatcher wrapped around a C function
(``__wrapped__``, set by numpy's ``array_function_dispatch``): the dispatcher only looks
for ``__array_function__`` overrides, which plain ndarrays never have.  Calling the C
function directly gives the same result for ndarray arguments and saves about 0.2 us a
call (``benchmarks/bench_round.py``); should a numpy version drop ``__wrapped__``, the
public function is used.
"""

from __future__ import annotations

import numpy as np

bincount = getattr(np.bincount, "__wrapped__", np.bincount)
where = getattr(np.where, "__wrapped__", np.where)
concatenate = getattr(np.concatenate, "__wrapped__", np.concatenate)

__all__ = ["bincount", "concatenate", "where"]
