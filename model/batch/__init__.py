"""Batches of runs for researchers: an experiment file -> runs -> tidy tables, charts, sensitivity.

- ``experiment``: reading and checking experiment files (docs/experiments.md);
- ``design``: the runs (scenarios x parameter combinations or design points x seeds), run ids;
- ``sizes``: how large a sensitivity design must be (the minimum sizes and their sources);
- ``sensitivity``: SALib designs and indices (Morris, Sobol'), their flags, seed noise and convergence;
- ``replicates``: enough replicates: seeds added in rounds until the target intervals are met;
- ``runner``: running them on a local pool or a Dask cluster, one record per run, resumable;
- ``tables``: runs.csv, results.csv, summary.csv from the records (and as typed Parquet);
- ``batch``: the whole batch, from file to output folder (what ``lifecircle batch`` calls);
- ``calibration/``: fitting parameters to observed figures through the same runner (what
  ``lifecircle calibrate`` calls; docs/calibration.md).

The batch tool uses the model; the model never imports it.
"""
