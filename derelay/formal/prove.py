"""DeRelayL's own analysis, moved into its plug-in
(:mod:`derelay.mechanism.derelayl.formal.prove`); this name is the same module."""

import sys

from derelay.mechanism.derelayl.formal import prove as _moved

sys.modules[__name__] = _moved
