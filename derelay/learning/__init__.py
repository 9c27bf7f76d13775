"""Real relay learning with torch (issue 6).

A small MLP fixed at genesis is actually trained at every relay step: trainers start
from their model owner's parameters and train on private shards (IID or Dirichlet
label skew) of scikit-learn's digits or a synthetic task; lazy (NTr) trainers submit
the received parameters plus white noise; models are scored on the Q_Cases test
cases published each round and hashed with SHA-256 over their parameter tensors.

Public API
----------
* :class:`LearningConfig`, :func:`learning_config`, :func:`load_learning_config`,
  :class:`LearningConfigError` - validated settings.
* :class:`TorchBackend` and :class:`RoundLearning` - the ABM's learning backend
  (``genesis``, ``train_round``, ``release``, ``best_accuracy``).
* :func:`round_metrics` - the ``best_accuracy``, ``mean_gain`` and
  ``lazy_top_s_rate`` columns (one definition for every caller).
* :func:`run_comparison` (relay vs FedAvg vs centralised on the same shards and
  budget, :class:`Schedule`), :func:`calibrate` (© and the lucky-lazy rate as inputs
  of the closed form), :func:`lazy_noise_sweep`, :func:`lazy_closed_form`.
* ``derelay learn`` (:mod:`derelay.cli.learn`) runs all of it from the command line.
"""

from .backend import RoundLearning, TorchBackend, round_metrics
from .config import (
    LearningConfig,
    LearningConfigError,
    learning_config,
    learning_config_from_params,
    load_learning_config,
)
from .data import LearningData, build_data, dirichlet_shards
from .experiment import (
    ComparisonResult,
    Schedule,
    calibrate,
    lazy_closed_form,
    lazy_noise_sweep,
    run_comparison,
)
from .model import MLPSpec, evaluate, model_hash

__all__ = [
    "ComparisonResult",
    "LearningConfig",
    "LearningConfigError",
    "LearningData",
    "MLPSpec",
    "RoundLearning",
    "Schedule",
    "TorchBackend",
    "build_data",
    "calibrate",
    "dirichlet_shards",
    "evaluate",
    "lazy_closed_form",
    "lazy_noise_sweep",
    "learning_config",
    "learning_config_from_params",
    "load_learning_config",
    "model_hash",
    "round_metrics",
    "run_comparison",
]
