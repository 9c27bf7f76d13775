"""Turning results into answers.

* :mod:`analysis.stats` - confidence bands over replications, Gini of coins (per round),
  final values per run, pivots, closed-form regions over two parameters.
* :mod:`analysis.plots` - time series with bands, two-parameter heatmaps, Gini, SALib
  indices; PNG and PDF via :func:`analysis.plots.save_figure`.
* :mod:`analysis.feasibility`, :mod:`analysis.deviations` (formal layer, issue 3) - the
  feasible-reward region and deviation gains.
* :mod:`analysis.utilities` (ABM, issue 5) - simulated versus closed-form utilities.
"""
