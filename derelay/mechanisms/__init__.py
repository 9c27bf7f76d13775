"""The related mechanisms shipped with derelay, one plug-in package each.

``pot`` (Proof of Training), ``brain`` (BRAIN), ``flchain`` (FLChain) and ``deepchain``
(DeepChain).  Each package declares its parameter space, roles and strategies, conditions,
claims, funding and round protocol; the registry (:mod:`derelay.mechanism.registry`) loads
them by name.
"""
