"""Learning backends of the ABM: the abstract one (now in :mod:`derelay.learning.abstract`,
re-exported here) and torch's via an adapter.

:class:`AbstractBackend` has the interface of :class:`derelay.learning.TorchBackend`
(``genesis``, ``train_round``, ``release``, ``best_accuracy``) without training anything:

* ``mode="cumulative"`` (authors' code, ``Model.delta_performance_number``): a trained
  model's performance is its parent's plus N(``mu``, ``sigma``); a lazy (NTr) model's is
  the parent's plus N(``lazy_mu``, ``lazy_sigma``).
* ``mode="version"`` (paper text, Sec. III-C2: "the model performance incremental from
  one version to the next is approximately (c)"): the true value of a model is the
  knowledge accumulated along its lineage, ``mu`` (c) per honest training, ``lazy_mu``
  per lazy one; same-version models are alike.

In both modes the *measured* performance the SBM ranks is the true value plus
non-heritable test-case noise N(0, ``eval_sigma``).  ``gain`` is measured minus the
parent's true value.  Performance is in units of (c).

Model hashes (``hash_models=True``, used by ``chain = "simulated"`` whose EB records
Hash(M_prev) and Hash(M_new)): an abstract model has no parameters, so its "hash" is a
hash chain over its lineage, :func:`abstract_model_hash` = SHA-256 of (parent's hash,
round, trainer, model id), rooted at a genesis hash.  It is unique per model (a lazy
NTr model, "parent + white noise", differs from its parent as a real one would) and
commits to the model's whole ancestry; the torch backend hashes real parameters with
:func:`derelay.chain.hash_model` instead.
"""

from __future__ import annotations

import numpy as np

# Moved to derelay.learning.abstract (issue 11: the learning primitives); re-exported here.
from derelay.learning.abstract import AbstractBackend, AbstractRound, abstract_model_hash

__all__ = ["AbstractBackend", "AbstractRound", "abstract_model_hash", "make_backend"]


def make_backend(cfg, n_participants: int, seed_seq: np.random.SeedSequence):
    """The backend selected by ``cfg.learning`` ("abstract" or "torch")."""
    if cfg.learning == "abstract":
        return AbstractBackend(
            mode=cfg.performance,
            mu=cfg.perf_mu,
            sigma=cfg.perf_sigma,
            lazy_mu=cfg.lazy_mu,
            lazy_sigma=cfg.lazy_sigma,
            eval_sigma=cfg.eval_sigma,
            seed=seed_seq,
            hash_models=cfg.chain == "simulated" and cfg.chain_contents == "real",  # EB hashes
        )
    from derelay.learning import TorchBackend, learning_config

    lcfg = learning_config(**cfg.learning_config) if cfg.learning_config else None
    seed = int(seed_seq.generate_state(1)[0])
    return TorchBackend(lcfg, n_participants=n_participants, seed=seed)
