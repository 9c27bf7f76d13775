"""Experiments at scale: declarative specs, the sweep engine and sensitivity analysis.

* :mod:`experiments.spec` - the TOML spec format (:func:`load_spec`, :class:`Spec`).
* :mod:`experiments.runner` - ``RUN_KINDS``, :func:`run_sweep` (local processes or Dask,
  resumable, atomic), :func:`load_results`, :func:`load_manifest`.
* :mod:`experiments.kinds` - the built-in run kinds (abm, dynamics, check, feasible,
  chain, learning, toy).
* :mod:`experiments.sensitivity` - Morris and Sobol via SALib.
* :mod:`experiments.testing` - ``assert_converges_to_normal``, the pytest helper that
  runs a run kind (the closed-form helpers are in :mod:`derelay.testing`).

The ``*.toml`` files next to this module are ready-to-run specs (``smoke_sweep.toml``,
the ``paper_*.toml`` experiments behind ``derelay paper``, ``sensitivity_*.toml``) and
the ABM presets ``paper_text.toml`` / ``authors_code.toml``.
"""
