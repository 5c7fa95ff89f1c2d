"""Pictures: the only part of the package that imports matplotlib (with the non-interactive Agg backend).

- ``maps``: access maps and the guidance maps of residential gates (the grid's rasters);
- ``streets``: the same maps on a street network, bands drawn along the ways;
- ``charts``: coverage, occupancy and exposure charts of a run;
- ``batch``: the charts of a batch of runs (metrics against parameters, sensitivity);
- ``compare``: the charts of a comparison of scenarios (maps side by side, minutes gained, who gained);
- ``live``: the browser page's map and live charts, as PNG bytes (model/web/figures.py gathers their numbers).

Every function draws from numbers computed elsewhere (walking fields, tables, summaries); none
computes a measure or a shortest path itself. :func:`draw_all` draws many pictures on all cores.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os

import matplotlib

matplotlib.use("Agg")

from model.report.drawing.charts import plot_coverage, plot_exposure, plot_occupancy  # noqa: E402
from model.report.drawing.maps import GUIDANCE_MAX_COMMUNITIES, plot_access_map, plot_guidance_map  # noqa: E402
from model.report.drawing.streets import plot_street_access_map, plot_street_guidance_map  # noqa: E402

__all__ = [
    "GUIDANCE_MAX_COMMUNITIES",
    "draw_all",
    "plot_access_map",
    "plot_coverage",
    "plot_exposure",
    "plot_guidance_map",
    "plot_occupancy",
    "plot_street_access_map",
    "plot_street_guidance_map",
]

_JOBS: list = []  # the drawing jobs of draw_all, inherited by its forked workers


def _draw_job(index: int) -> None:
    function, args = _JOBS[index]
    function(*args)


def draw_all(jobs: list) -> None:
    """Run drawing jobs ``(function, args)``, on all cores where processes can be forked.

    Each map takes a quarter of a second of matplotlib; a run writes a dozen or more. Forked
    workers inherit the jobs' data without copying or pickling it. Where ``fork`` is not
    available (Windows, macOS' default), or with one core, the jobs run one after another.
    """
    global _JOBS
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for function, args in jobs:
            function(*args)
        return
    _JOBS = jobs
    try:
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            list(pool.map(_draw_job, range(len(jobs))))
    finally:
        _JOBS = []
