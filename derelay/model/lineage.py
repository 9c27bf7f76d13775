"""Moved to :mod:`derelay.mechanism.derelayl.lineage` (DeRelayL's plug-in); this name is the same module."""

import sys

from derelay.mechanism.derelayl import lineage as _moved

sys.modules[__name__] = _moved
