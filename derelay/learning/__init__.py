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
"""

from .backend import RoundLearning, TorchBackend, round_metrics
from .config import LearningConfig, LearningConfigError, learning_config, load_learning_config
from .data import LearningData, build_data, dirichlet_shards
from .model import MLPSpec, evaluate, model_hash

__all__ = [
    "LearningConfig",
    "LearningConfigError",
    "LearningData",
    "MLPSpec",
    "RoundLearning",
    "TorchBackend",
    "build_data",
    "dirichlet_shards",
    "evaluate",
    "learning_config",
    "load_learning_config",
    "model_hash",
    "round_metrics",
]
