"""Moved: the generic recorder is :mod:`derelay.engine.record`; DeRelayL's rows and plays
are in :mod:`derelay.mechanism.derelayl.protocol`."""

from derelay.engine.record import AUTO_SAMPLE, AUTO_SAMPLE_ABOVE, Recorder  # noqa: F401
from derelay.mechanism.derelayl.protocol import N_LATEST  # noqa: F401
