"""The simulation's kernels made ready at server start, so that the page can say it is compiling them.

The model's kernels (model/city, model/measures, model/simulation) are compiled by numba on their
first call and kept on disk (``cache=True``: beside the sources in ``__pycache__``, or in
``NUMBA_CACHE_DIR``). The first page load and the first step after installing therefore spend
about 30 s compiling, later ones load the compiled kernels in a second or two. A
:class:`KernelWarmup` does that work in a background thread when the server starts: it runs a
small bundled scenario of the same kind as the page's (a grid or streets) for a few simulated
hours, asks for its summary and draws every figure of the page, which calls every kernel the
page calls, with the same argument types, and matplotlib's first use (its font cache) besides.
It listens to numba's ``numba:compile`` events (numba compiles only what its cache lacks), so
the page can tell "compiling" (:data:`COMPILING_MESSAGE`) from "loading" while it waits.

No Solara here: model/web/app.py shows the message until :meth:`KernelWarmup.wait` returns.
A warm-up that fails is logged and counts as done: the page then builds its model as before and
shows that model's own error, if any.
"""

from __future__ import annotations

import logging
import threading
import time

from numba.core import event

from model.scenario import load_scenario

# what the page says while the kernels compile (issue 19: "instead of hanging silently")
COMPILING_MESSAGE = "Compiling the simulation kernels, once after installing: about 30 s"
LOADING_MESSAGE = "Loading the simulation kernels ..."
# the small bundled scenario run to warm the kernels of each kind of walking surface
WARM_SCENARIOS = {"grid": "demo", "streets": "helsinki_centre"}
WARM_TICKS = 30  # 06:00 to 06:30: the first departures, arrivals and queues call every kernel of a step

_log = logging.getLogger(__name__)


class _CompileCount(event.Listener):
    """Counts numba's compilations (a kernel loaded from the disk cache is not one)."""

    def __init__(self):
        self.started = 0

    def on_start(self, ev):
        self.started += 1

    def on_end(self, ev):
        pass


def warm_scenario(scenario_name: str) -> str:
    """The bundled scenario that warms the kernels of ``scenario_name``'s kind (grid or streets)."""
    return WARM_SCENARIOS["grid" if load_scenario(scenario_name).streets is None else "streets"]


def warm_kernels(scenario_name: str, ticks: int = WARM_TICKS) -> None:
    """Run ``scenario_name`` for ``ticks`` ticks on the page's engine and draw every figure of the page."""
    from model.model import LifeCircleModel
    from model.web import figures
    from model.web.state import first_point

    model = LifeCircleModel(load_scenario(scenario_name), days=1, engine="fast")
    view = figures.MapView(band_type=next(iter(model.city.types), None), selected=first_point(model))
    figures.map_figure(model, view)
    figures.coverage_figure(model)
    for _ in range(ticks):
        model.step()
    figures.map_figure(model, view)
    figures.occupancy_figure(model)
    figures.exposure_figure(model)
    model.summary()


class KernelWarmup:
    """Warms the kernels for the page of ``scenario_name`` in a background thread.

    Args:
        scenario_name: The page's scenario (a bundled name or a file): its kind chooses the
            scenario run (:data:`WARM_SCENARIOS`).
        warm: What warms them (default :func:`warm_kernels`, given the scenario to run).
    """

    def __init__(self, scenario_name: str, warm=warm_kernels):
        """Prepare; :meth:`start` starts the thread."""
        self.scenario_name = scenario_name
        self._warm = warm
        self._done = threading.Event()
        self._count = _CompileCount()
        self._thread: threading.Thread | None = None
        self.seconds: float | None = None  # how long the warm-up took, once done

    def start(self) -> KernelWarmup:
        """Start the warm-up thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lifecircle-kernel-warmup", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        t0 = time.perf_counter()
        event.register("numba:compile", self._count)
        try:
            self._warm(warm_scenario(self.scenario_name))
        except Exception:  # the page's own build shows the problem; the server keeps serving
            _log.exception("warming the simulation kernels failed")
        finally:
            event.unregister("numba:compile", self._count)
            self.seconds = time.perf_counter() - t0
            self._done.set()
            _log.info("kernels ready in %.1f s (%d compiled)", self.seconds, self._count.started)

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over."""
        return self._done.is_set()

    @property
    def compiling(self) -> bool:
        """Whether numba has compiled a kernel during the warm-up (its cache lacked one)."""
        return self._count.started > 0

    @property
    def compiled(self) -> int:
        """How many kernels numba compiled during the warm-up."""
        return self._count.started

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the warm-up is over (at most ``timeout`` seconds); whether it is."""
        return self._done.wait(timeout)

    @property
    def message(self) -> str:
        """What the page says while waiting: compiling, or loading the compiled kernels."""
        return COMPILING_MESSAGE if self.compiling else LOADING_MESSAGE
