"""DeRelayL as one plug-in: declaration, ABM round protocol and settlement together.

* :mod:`.core`: Table II utilities, the miners' block revenues and costs, conditions
  T1-T8, the :class:`DeRelayL` declaration (``from derelay.mechanism.derelayl import ...``
  keeps working for every name defined there);
* :mod:`.protocol`: DeRelayL's round for the generic engine, in named stages;
* :mod:`.behaviour`, :mod:`.settlement`, :mod:`.matching`, :mod:`.lineage`,
  :mod:`.chainsim`, :mod:`.learning`, :mod:`.config`, :mod:`.record`: its ABM parts
  (``derelay.model`` and ``agents`` re-export them for existing users).

Importing this package imports only :mod:`.core` (no mesa, pandas or torch).
"""

from __future__ import annotations

from .core import *  # noqa: F403 - the declaration's public names
