"""Batches of runs for researchers: an experiment file -> runs -> tidy tables, charts, sensitivity.

- ``experiment``: reading and checking experiment files (docs/experiments.md);
- ``design``: the runs (scenarios x parameter combinations or design points x seeds), run ids;
- ``sensitivity``: SALib designs and indices (Morris, Sobol');
- ``runner``: running them on a local pool or a Dask cluster, one record per run, resumable;
- ``tables``: runs.csv, results.csv, summary.csv from the records;
- ``batch``: the whole batch, from file to output folder (what ``lifecircle batch`` calls).

The batch tool uses the model; the model never imports it.
"""
