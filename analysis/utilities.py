"""DeRelayL's simulated-vs-Table II utility comparison, moved into its plug-in
(:mod:`derelay.mechanism.derelayl.utilities`); this name is the same module."""

import sys

from derelay.mechanism.derelayl import utilities as _moved

sys.modules[__name__] = _moved
