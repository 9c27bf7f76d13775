"""Moved to :mod:`derelay.mechanism.derelayl.learning` (DeRelayL's plug-in); this name is the same module."""

import sys

from derelay.mechanism.derelayl import learning as _moved

sys.modules[__name__] = _moved
