"""DeRelayL's formal analysis (T1-T8 proofs, feasible rewards, its deviation searches).

Mechanism-specific, so it lives in DeRelayL's plug-in; :mod:`derelay.formal` re-exports
these modules under their historical names (``derelay.formal.prove`` is
:mod:`derelay.mechanism.derelayl.formal.prove`, ...) and holds the generic layer
(:mod:`derelay.formal.generic`, :mod:`derelay.formal.symbolic`).
"""
