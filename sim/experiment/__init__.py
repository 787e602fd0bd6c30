"""Experiments: many runs of a scenario, on common random numbers, with confidence intervals.

``run`` simulates one scenario with one seed. ``replicate`` runs one scenario on many seeds,
``compare`` runs several designs on the same seeds and tests their paired differences, ``sweep``
runs a grid or a sample of parameter values, ``search`` finds the smallest (or largest) value that
meets a target with a given confidence. Each drives its runs through an ``Executor`` (local
processes or Dask) and keeps them in a ``Store`` (one file per run, so an experiment resumes).
"""
