"""Moved to :mod:`derelay.engine.dynamics` (generic over any mechanism's roles).

``own_state_values(model, idx)`` is DeRelayL's (:mod:`derelay.mechanism.derelayl.protocol`).
"""

from derelay.engine.dynamics import (  # noqa: F401
    _logit,
    _reassign,
    adapt,
    closed_form_utilities,
    social_graph_csr,
)
from derelay.mechanism.derelayl.protocol import own_state_values  # noqa: F401
