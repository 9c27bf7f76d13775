"""Moved to :mod:`derelay.mechanism.derelayl.protocol` (DeRelayL's round protocol on the
generic engine); this name is the same module (``DeRelayModel`` lives there)."""

import sys

from derelay.mechanism.derelayl import protocol as _moved

sys.modules[__name__] = _moved
