"""Pictures: the only part of the package that imports matplotlib (with the non-interactive Agg backend).

- ``maps``: access maps and the guidance maps of residential gates (the grid's rasters);
- ``streets``: the same maps on a street network, bands drawn along the ways;
- ``charts``: coverage, occupancy and exposure charts of a run;
- ``batch``: the charts of a batch of runs (metrics against parameters, sensitivity);
- ``compare``: the charts of a comparison of scenarios (maps side by side, minutes gained, who gained);
- ``live``: the browser page's map and live charts, as PNG bytes (model/web/figures.py gathers their numbers).

Every function draws from numbers computed elsewhere (walking fields, tables, summaries); none
computes a measure or a shortest path itself. :func:`draw_in_background` draws a run's pictures on
a thread of their own while the caller writes its tables, and its maps in the drawing process when
the command started one (:func:`start_drawing_process`).
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import multiprocessing
import os

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402

from model.report import fonts, lang  # noqa: E402

# Chinese names and --lang zh drawn in Noto Sans CJK SC (model/report/fonts.py)
fonts.use_fonts(matplotlib.rcParams, font_manager)

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
    "start_drawing_process",
    "stop_drawing_process",
]


# The drawing process of this process's commands (None until started): a fresh interpreter,
# spawned, never forked (see Pictures), kept for every run of the command (compare runs several).
_PROCESS: concurrent.futures.ProcessPoolExecutor | None = None


def start_drawing_process(only_if_idle: bool = True) -> None:
    """Start the process that will draw the maps of this command's runs, and let it import the drawing modules.

    A command calls it before it builds its model: the new interpreter's imports (about 1.3 s of
    CPU) then overlap the build and the simulation, and the maps are drawn beside the charts and
    the tables. Without it every picture is drawn on the drawing thread. Nothing is drawn
    differently: the same functions, the same Agg backend and settings, the same bytes.

    With ``only_if_idle`` (the default) it starts only when a core is free (:func:`_a_core_is_idle`):
    on a busy machine the second process's imports would take CPU from the run rather than use a
    free core (the demo's day: 6.5-7.8 s instead of 7.8-8.6 s on a quiet 2-core machine, but one
    CPU second more).
    """
    global _PROCESS
    if only_if_idle and not _a_core_is_idle():
        return
    if _PROCESS is None:
        _PROCESS = concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        _PROCESS.submit(_ready)  # spawn it now: its imports run while the caller builds


def _a_core_is_idle() -> bool:
    """Whether a core is free now: more than one core, and fewer runnable processes than cores (this one counted).

    The count of processes running or ready to run now is Linux's (/proc/loadavg, fourth field);
    elsewhere the load average of the last minute stands in for it. A load average alone would
    not do: after one command, the next finds it near 1 for a minute though the core is free.
    """
    cores = os.cpu_count() or 1
    return cores >= 2 and _runnable() < cores


def _runnable() -> float:
    """Processes running or ready to run now (this one among them), or the last minute's load average."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            return float(fh.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        pass
    try:
        return os.getloadavg()[0] + 1.0  # this process besides the load of the last minute
    except (AttributeError, OSError):  # no load figures on this system: judge by the cores alone
        return 1.0


def stop_drawing_process() -> None:
    """Let the drawing process end after the maps it was sent; :func:`start_drawing_process` starts a new one."""
    global _PROCESS
    if _PROCESS is not None:
        _PROCESS.shutdown(wait=True)
        _PROCESS = None


def _ready() -> None:
    """Nothing: the drawing modules are imported with this module, in the drawing process."""


def _draw_all(jobs: list, language: str = "en") -> None:
    """In the drawing process: every job ``(function, args)`` in order, in ``language``; the first error stops them."""
    lang.use(language)
    for function, args in jobs:
        function(*args)


class Pictures:
    """Drawing jobs ``(function, args)`` run one after another on a thread of their own, or in the drawing process.

    Why not forked workers: a run's process is multi-threaded by the time it draws (pyarrow's
    allocator thread, numba's thread pool), and forking such a process may deadlock the child
    (Python 3.12 warns: "This process is multi-threaded, use of fork() may lead to deadlocks").
    Matplotlib holds the GIL for all but PNG encoding, so a second drawing thread gains nothing:
    the thread draws while the caller writes its CSV files, which pyarrow formats without the GIL.
    A fresh process ("spawn") costs about 1.3 s of CPU to import the drawing modules, more than a
    run's maps take to draw, unless it is started early (:func:`start_drawing_process`): then
    :meth:`add_maps` sends it the maps, which it draws on the other core.
    """

    def __init__(self):
        """Start the drawing thread (idle until jobs are added)."""
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="lifecircle-drawing")
        self._futures: list[concurrent.futures.Future] = []
        self._elsewhere: concurrent.futures.Future | None = None
        self._elsewhere_jobs: list = []
        self._failed = False

    def add_maps(self, jobs: list) -> None:
        """Draw ``jobs`` in the drawing process if one was started, else on the thread.

        One message carries every job, so the city they share is sent once.
        """
        if _PROCESS is not None and jobs:
            try:
                self._elsewhere = _PROCESS.submit(_draw_all, jobs, lang.language())
                self._elsewhere_jobs = jobs
                return
            except (concurrent.futures.process.BrokenProcessPool, RuntimeError):
                pass  # the drawing process died or could not start: the thread draws them
        for function, args in jobs:
            self.add(function, *args)

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
            if self._elsewhere is not None:
                try:
                    self._elsewhere.result()
                except concurrent.futures.process.BrokenProcessPool:  # it died (killed, out of memory): draw here
                    for function, args in self._elsewhere_jobs:
                        function(*args)
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Draw no more pictures: wait for the ones being drawn, drop the rest, ignore their errors."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._elsewhere is not None and not self._elsewhere.cancel():
            concurrent.futures.wait([self._elsewhere])


def draw_in_background(jobs: list, maps: list = ()) -> Pictures:
    """Start drawing jobs ``(function, args)`` on a thread of their own, and ``maps`` in the drawing process if any.

    :meth:`Pictures.finish` waits for them all.
    """
    pictures = Pictures()
    for function, args in jobs:
        pictures.add(function, *args)
    pictures.add_maps(list(maps))
    return pictures
