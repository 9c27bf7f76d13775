"""DeRelayL's own analysis, moved into its plug-in
(:mod:`derelay.mechanism.derelayl.formal.auction`); this name is the same module."""

import sys

from derelay.mechanism.derelayl.formal import auction as _moved

sys.modules[__name__] = _moved
