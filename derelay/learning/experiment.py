"""Moved to :mod:`derelay.mechanism.derelayl.relay_learning` (DeRelayL's plug-in: its relay
schedule, Table III parameters and calibration); this name is the same module."""

import sys

from derelay.mechanism.derelayl import relay_learning as _moved

sys.modules[__name__] = _moved
