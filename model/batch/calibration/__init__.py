"""Calibration: fitting behaviour parameters to observed figures, through the batch runner.

``lifecircle calibrate CALIB.toml`` (docs/calibration.md):

- ``file``: reading and checking the calibration file (scenario, parameter ranges, seeds, method);
- ``observations``: reading and checking the observed figures (a CSV) against the scenario;
- ``figures``: the figures of one finished run that observations can name (pure functions of
  the run's visit log and totals) and the run function that records them;
- ``likelihood``: the Gaussian synthetic log-likelihood of a point, profile intervals, the fit table;
- ``search``: the seeded optuna sampler asked for points in rounds, each round run through
  :func:`model.batch.runner.execute` (local pool or Dask, resumable);
- ``calibrate``: the whole calibration, from file to output folder.

It sits inside batch/ because every model evaluation is a batch run (the same run ids, records
and runner); the model never imports it.
"""
