"""Pictures: the only part of the package that imports matplotlib (with the non-interactive Agg backend).

- ``maps``: access maps and the guidance maps of residential gates (the grid's rasters);
- ``streets``: the same maps on a street network, bands drawn along the ways;
- ``charts``: coverage, occupancy and exposure charts of a run;
- ``batch``: the charts of a batch of runs (metrics against parameters, sensitivity);
- ``compare``: the charts of a comparison of scenarios (maps side by side, minutes gained, who gained);
- ``live``: the browser page's map and live charts, as PNG bytes (model/web/figures.py gathers their numbers).

Every function draws from numbers computed elsewhere (walking fields, tables, summaries); none
computes a measure or a shortest path itself. :func:`draw_in_background` draws a run's pictures on
a thread of their own while the caller writes its tables.
"""

from __future__ import annotations

import concurrent.futures

import matplotlib

matplotlib.use("Agg")

from model.report.drawing.charts import plot_coverage, plot_exposure, plot_occupancy  # noqa: E402
from model.report.drawing.maps import GUIDANCE_MAX_COMMUNITIES, plot_access_map, plot_guidance_map  # noqa: E402
from model.report.drawing.streets import plot_street_access_map, plot_street_guidance_map  # noqa: E402

__all__ = [
    "GUIDANCE_MAX_COMMUNITIES",
    "Pictures",
    "draw_in_background",
    "plot_access_map",
    "plot_coverage",
    "plot_exposure",
    "plot_guidance_map",
    "plot_occupancy",
    "plot_street_access_map",
    "plot_street_guidance_map",
]


class Pictures:
    """Drawing jobs ``(function, args)`` run one after another on a thread of their own.

    Why a thread and not processes: a run's process is multi-threaded by the time it draws
    (pyarrow's allocator thread, numba's thread pool), and forking such a process may deadlock
    the child (Python 3.12 warns: "This process is multi-threaded, use of fork() may lead to
    deadlocks"); a fresh process ("spawn", "forkserver") spends more time importing the drawing
    modules (about 1.3 s of CPU) than a run's maps take to draw. Matplotlib holds the GIL for all
    but PNG encoding, so a second drawing thread gains nothing; this one draws while the caller
    writes its CSV files, which pyarrow formats without the GIL.
    """

    def __init__(self):
        """Start the drawing thread (idle until jobs are added)."""
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lifecircle-drawing")
        self._futures: list[concurrent.futures.Future] = []
        self._failed = False

    def add(self, function, *args) -> None:
        """Draw ``function(*args)`` after the jobs added before it (none is drawn after one that failed)."""
        self._futures.append(self._pool.submit(self._draw, function, args))

    def _draw(self, function, args) -> None:
        if self._failed:
            return
        try:
            function(*args)
        except BaseException:
            self._failed = True
            raise

    def finish(self) -> None:
        """Wait for every picture; the first drawing error is raised here (the pictures after it are not drawn)."""
        try:
            for future in self._futures:
                future.result()
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Draw no more pictures: wait for the one being drawn, drop the rest, ignore their errors."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def draw_in_background(jobs: list) -> Pictures:
    """Start drawing jobs ``(function, args)`` on a thread of their own; :meth:`Pictures.finish` waits for them."""
    pictures = Pictures()
    for function, args in jobs:
        pictures.add(function, *args)
    return pictures
