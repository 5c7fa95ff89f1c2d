"""The browser page: the map, the re-planning panel and the live charts, stepped by Mesa's controls.

Serve it with ``lifecircle serve [SCENARIO]`` (or ``solara run model.web.app``; the scenario is
read from the environment variable ``LIFECIRCLE_SCENARIO``, default ``demo``). What each part
shows is said in docs/browser.md; the pictures come from model/web/figures.py (drawn by
model/report/drawing/live.py) and the model's knobs and plan live in model/web/state.py. The
sidebar holds the page's scenario and knobs (:class:`Knobs`, applied on Reset) and Mesa's step /
play / reset (:func:`.panels.Controls`); the page the clock and the view switches above the map
with the re-planning panel and the inspector, beside the charts, the monitors and "run to". The
page is redrawn from :func:`.panels.use_redraws`, never from Mesa's step counter. On a street
scenario the map is drawn along the streets and the re-planning panel takes a point in metres
(a click on the map names it) instead of a cell.

Until numba's kernels are ready the page shows what it waits for instead of hanging silently:
after installing they compile once (about 30 s, :data:`~model.web.warmup.COMPILING_MESSAGE`),
later they load from numba's disk cache in seconds. :mod:`.warmup` does that from server start
(Solara imports this module when it starts), so a page opened a little later finds them ready.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import solara
from solara.server import kernel_context

from model.scenario import ScenarioError, load_scenario
from model.web import figures, panels, plots, widget_bundle
from model.web.state import (
    PageModel,
    Plan,
    PlanError,
    add_facility,
    clock_text,
    coverage_rows,
    first_point,
    life_circle_complete,
    plan_file,
    save_plan,
    scenario_choices,
)
from model.web.warmup import KernelWarmup

SCENARIO = os.environ.get("LIFECIRCLE_SCENARIO", "demo")
SAVE_DIR = Path(os.environ.get("LIFECIRCLE_SAVE_DIR", "."))  # where "save as scenario" writes
NO_BANDS = "none"
# numba's kernels, compiled once after installing (about 30 s), are warmed from server start
# (Solara imports this module when it starts); the page says so until they are ready
WARMUP = KernelWarmup(SCENARIO).start()


@dataclass(frozen=True)
class Knobs:
    """The sidebar's scenario and knobs, as the page's reactive values (applied on Reset).

    Mesa's SolaraViz kept the values of its own sliders in its sidebar and passed them on Reset;
    a scenario chosen there was built with the mixing slider's value, set from the first scenario
    (issue 22). The page therefore owns them: choosing a scenario sets the sliders to its own
    values (its ``population.mixing``, multipliers 1), a slider moved after that applies, and
    Mesa's Reset passes this object (a fixed parameter), which :class:`SidebarModel` reads.

    A scenario file that does not load (broken on disk after the page opened) is a message in
    ``problem``: choosing it leaves the choice as it was (``refused`` counts such choices), and a
    Reset resets the scenario as the page loaded it last (``last``: its
    :class:`~model.scenario.Scenario` and parameters).
    """

    scenario_name: solara.Reactive
    mixing: solara.Reactive
    capacity_multiplier: solara.Reactive
    decay_multiplier: solara.Reactive
    problem: solara.Reactive
    refused: solara.Reactive
    last: dict = field(default_factory=dict, compare=False)

    def choose(self, scenario_name: str) -> None:
        """A scenario chosen: the sliders start at its own values (one that does not load: a message)."""
        try:
            mixing = float(load_scenario(scenario_name).mixing)
        except ScenarioError as exc:
            self.problem.set(f"{scenario_name} did not load, the choice is unchanged: {exc}")
            self.refused.set(self.refused.value + 1)
            return
        self.problem.set("")
        self.mixing.set(mixing)
        self.capacity_multiplier.set(1.0)
        self.decay_multiplier.set(1.0)
        self.scenario_name.set(scenario_name)

    def values(self) -> dict:
        """The knobs now, as :class:`PageModel`'s parameters."""
        return {
            "scenario_name": self.scenario_name.value,
            "mixing": self.mixing.value,
            "capacity_multiplier": self.capacity_multiplier.value,
            "decay_multiplier": self.decay_multiplier.value,
        }


class SidebarModel(PageModel):
    """The page's model: built (by Mesa's Reset too) from the sidebar's :class:`Knobs` as they are now.

    Args:
        knobs: The sidebar's knobs.
        plan: The page's plan.
        values: The parameters to build with instead of the knobs' (a re-planned model keeps its own).
    """

    def __init__(self, knobs: Knobs, plan: Plan | None = None, values: dict | None = None, base=None):
        """Build the model of the knobs' scenario and values (or of ``values``; ``base``: as PageModel's).

        A scenario that does not load is a message in ``knobs.problem``, and the model is built
        from the scenario and values of the page's last model instead (there is none on the first).
        """
        self.knobs = knobs
        values = knobs.values() if values is None else values
        try:
            super().__init__(**values, plan=plan, base=base)
        except ScenarioError as exc:
            if not knobs.last:
                raise
            knobs.problem.set(f"{values['scenario_name']} did not load, the page reset the scenario it had: {exc}")
            super().__init__(**knobs.last["values"], plan=plan, base=knobs.last["base"])
        else:
            if knobs.last and knobs.problem.value:  # a Reset that loaded: the last message is out of date
                knobs.problem.set("")
        knobs.last.update(values=self.params, base=self.base_scenario)

    def replanned(self) -> SidebarModel:
        """A new model with the same parameters, the scenario as loaded, and the plan as it is now."""
        return SidebarModel(self.knobs, plan=self.plan, values=self.params, base=self.base_scenario)


@solara.component
def KnobsCard(knobs: Knobs):
    """The scenario and the knobs in the sidebar, with their values (applied on Reset)."""
    with solara.Sidebar(), solara.Card("Scenario and knobs (applied on Reset)"):
        solara.Select(
            "Scenario",
            values=list(scenario_choices(SCENARIO).values()),
            value=knobs.scenario_name.value,
            on_value=knobs.choose,
        ).key(f"scenario-{knobs.refused.value}")  # a new one after a refusal: the browser's shows the refused
        if knobs.problem.value:
            solara.Warning(knobs.problem.value, dense=True, classes=["lifecircle-scenario-problem"])
        solara.SliderFloat("Residential mixing", value=knobs.mixing, min=0.0, max=1.0, step=0.05)
        solara.SliderFloat("Capacity multiplier", value=knobs.capacity_multiplier, min=0.25, max=3.0, step=0.25)
        solara.SliderFloat(
            "Destination-choice decay (x catalogue)", value=knobs.decay_multiplier, min=0.0, max=3.0, step=0.25
        )


def _failed(message: str) -> None:
    """A figure's place when it could not be drawn: its message."""
    solara.Warning(message, dense=True, classes=["lifecircle-draw-failed"])


@solara.component
def Clock(model: PageModel, redraws: panels.Redraws):
    """Day and time of the simulation (``redraws``: :func:`.panels.use_redraws`'s counter)."""
    redraws.get()
    solara.HTML(tag="div", unsafe_innerHTML=clock_text(model), classes=["lifecircle-clock", "text-h5"])


def knobs_text(model: PageModel) -> str:
    """The knobs the model was built with (the sidebar's sliders apply on Reset)."""
    p = model.params
    return (
        f"mixing {model.spec.mixing:g}, capacity x{p['capacity_multiplier']:g}, "
        f"decay x{p['decay_multiplier']:g}; {len(model.population.age):,} residents"
    )


class Shown:
    """A plotly figure for :func:`PlotlyFigure`, equal to another when their serial numbers are.

    Reacton compares a component's arguments with the last render's; a plotly figure compares by
    turning both into JSON with their arrays in base64 (plotly's ``__eq__``), which cost more CPU
    than drawing the map and, with Mesa's "Use Threads" at a 1 ms play interval, kept the page's
    render busy so that the model never stepped (seen with py-spy). A figure's number
    (:func:`.plots.serial`) says as much, at no cost.
    """

    def __init__(self, fig):
        """Wrap ``fig`` (made by :mod:`.plots`)."""
        self.fig = fig
        self.serial = plots.serial(fig)

    def __eq__(self, other) -> bool:
        """Whether ``other`` shows the same figure."""
        return isinstance(other, Shown) and other.serial == self.serial

    def __hash__(self) -> int:
        """The serial number's."""
        return hash(self.serial)


@functools.cache
def _locked_figure_widget() -> type:
    """Plotly's ``FigureWidget`` whose messages from the browser and whose updates take one lock.

    The page redraws a figure from a thread of its own (:func:`.panels.use_redraws`) while the
    server's event loop handles the browser's messages to the same widget: plotly's handler of the
    browser's trace deltas reads the widget's traces, and read them while a redraw replaced them
    (``IndexError: list index out of range`` in ``_handler_js2py_traceDeltas``, a traceback in the
    server's log under load, issue 22). A re-entrant lock: a message's callback may redraw the page
    in the event loop's thread. Its JavaScript module: :func:`.widget_bundle.esm`.
    """
    from plotly.graph_objs._figurewidget import FigureWidget

    esm = widget_bundle.esm()  # its JavaScript from Solara's cache, once per tab, where serve put it there

    class LockedFigureWidget(FigureWidget):
        if esm is not None:
            _esm = esm

        def __init__(self, *args, **kwargs):
            self._update_lock = threading.RLock()
            super().__init__(*args, **kwargs)

        def _handle_msg(self, msg):
            with self._update_lock:
                return super()._handle_msg(msg)

    return LockedFigureWidget


@solara.component
def PlotlyFigure(shown: Shown, on_click=None, on_relayout=None):
    """``solara.FigurePlotly``, handing the figure to plotly's widget when its serial number changes."""
    widget_class = _locked_figure_widget()

    def points(data) -> None:
        if data and data.get("event_type") == "plotly_click" and on_click is not None:
            on_click(data)

    element = widget_class.element(on__js2py_pointsCallback=points, on__js2py_relayout=on_relayout)

    def update() -> None:  # as solara.FigurePlotly: the layout, then the new traces in place of the old
        widget = solara.get_widget(element)
        with widget._update_lock:
            widget.layout = shown.fig.layout
            old = len(widget.data)
            widget.add_traces(shown.fig.data)
            widget.data = list(widget.data)[old:]

    solara.use_effect(update, [shown.serial])
    return element


def clicked_point(data: dict, on_streets: bool, size: tuple[int, int]) -> tuple | None:
    """The cell (grid: whole numbers inside the grid) or point in metres (streets) of a click on the map.

    ``data`` is plotly's click event as ``solara.FigurePlotly`` hands it on: the first point
    clicked is a cell of the map's image (its x, y), a facility's marker (its own x, y) or, on
    streets, a cell of the fine invisible grid under the ways (its centre, metres). None for a
    click outside the grid or with no point.
    """
    points = (data or {}).get("points") or {}
    xs, ys = points.get("xs") or [], points.get("ys") or []
    if not xs or not ys or xs[0] is None or ys[0] is None:
        return None
    x, y = float(xs[0]), float(ys[0])
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    if on_streets:
        return round(x, 1), round(y, 1)
    cx, cy = round(x), round(y)
    return (cx, cy) if 0 <= cx < size[0] and 0 <= cy < size[1] else None


def zoomed(event: dict | None, ranges: dict) -> dict:
    """The map's view after plotly's relayout event: ``ranges`` ({"x": [a, b], "y": [c, d]}) updated.

    A pan or zoom gives an axis's new range (``xaxis.range[0]`` and ``[1]``, or ``xaxis.range``);
    a double click (``xaxis.autorange``) gives the whole map back (the axis dropped); any other
    change of the layout leaves the view as it is.
    """
    data = (event or {}).get("relayout_data") or {}
    out = dict(ranges)
    for axis in ("x", "y"):
        key = f"{axis}axis"
        if data.get(f"{key}.autorange"):
            out.pop(axis, None)
        elif f"{key}.range" in data:
            out[axis] = [float(v) for v in data[f"{key}.range"]]
        elif f"{key}.range[0]" in data and f"{key}.range[1]" in data:
            out[axis] = [float(data[f"{key}.range[0]"]), float(data[f"{key}.range[1]"])]
    return out


@solara.component
def MapFigure(model: PageModel, view: figures.MapView, on_cell, redraws: panels.Redraws):
    """The interactive map; a click on it chooses a cell, or on streets a point in metres (``on_cell((x, y))``).

    It zooms and pans (the mouse wheel, a drag, plotly's buttons), and keeps the view across the
    redraw of each step; a hover on a facility gives its name, type, capacity and visitors present.
    ``redraws`` is :func:`.panels.use_redraws`'s counter: while the model plays, the map is redrawn
    at most every :data:`.panels.REDRAW_EVERY_S`.
    """
    redraws.get()
    # the view the user left, per scenario (a ref: panning must not redraw the map; the next step does)
    views = solara.use_ref({})
    key = str(model.spec.path or model.spec.name)
    fig, failed = figures.drawn("map", figures.map_figure, model, view, views.current.get(key))
    if fig is None:
        _failed(failed)
        return
    on_streets = model.spec.streets is not None
    size = (model.city.width, model.city.height) if not on_streets else (0, 0)

    def clicked(data) -> None:
        point = clicked_point(data, on_streets, size)
        if point is not None:
            on_cell(point)

    def relayout(event) -> None:
        views.current[key] = zoomed(event, views.current.get(key, {}))

    with solara.Div(classes=["lifecircle-map"], style={"flex": "0 0 auto"}):
        PlotlyFigure(Shown(fig), on_click=clicked, on_relayout=relayout)


def _coverage_html(model: PageModel) -> str:
    """The coverage figures: per type, its users and the share within its level."""
    rows = "".join(
        f'<tr data-type="{r["type"]}"><td title="{r["label"]}">{r["type"]}</td><td>{r["level_min"]:g} min</td>'
        f'<td style="text-align:right">{r["users"]:,}</td>'
        f'<td class="within" style="text-align:right">{r["within_level"]:.1%}</td></tr>'
        for r in coverage_rows(model)
    )
    complete = life_circle_complete(model)
    return (
        '<table class="lifecircle-coverage" style="font-size: 12px; border-spacing: 8px 1px">'
        "<tr><th>type</th><th>level</th><th>users</th><th>within level</th></tr>"
        f"{rows}</table>"
        f'<div class="lifecircle-complete" style="font-size: 12px">life circle complete (every needed type '
        f"within its level): {'-' if complete is None else f'{complete:.1%}'}</div>"
    )


def point_number(text: str | None, whole: bool) -> int | float | None:
    """The number a field of the chosen point holds: a whole number (a cell), or a finite number of metres.

    None for anything else (empty, "abc", "3.5" for a cell): the field is red and Add and Remove
    refuse it with :func:`point_problem`'s message, instead of acting at the last valid value.
    """
    text = (text or "").strip()
    try:
        number = int(text) if whole else float(text)
    except ValueError:
        return None
    return number if whole or math.isfinite(number) else None


def point_problem(label: str, text: str | None, whole: bool) -> str:
    """What is wrong with a field of the chosen point ("" if nothing)."""
    if point_number(text, whole) is not None:
        return ""
    if not (text or "").strip():
        return f"{label} is empty: give it, or click the map"
    return f"{label} = {text.strip()!r} is not {'a whole number (a cell)' if whole else 'a number of metres'}"


@solara.component
def Planning(model: solara.Reactive, cell_x: solara.Reactive, cell_y: solara.Reactive):
    """Re-planning: add or remove a facility at a cell (on streets: a point), the coverage figures, save.

    ``cell_x`` and ``cell_y`` hold the fields' text as typed (a click on the map writes the cell's,
    or the point's); Add and Remove act only on numbers (:func:`point_number`), and say what is
    wrong otherwise, leaving the plan as it was.
    """
    m = model.value
    streets = m.spec.streets is not None
    ftype = solara.use_reactive(next(iter(m.spec.types)))
    message = solara.use_reactive("")
    problem = solara.use_reactive("")
    file_name = solara.use_reactive(f"{m.base_scenario.name}_plan.toml")

    whole = not streets  # a cell on the grid, metres on streets
    labels = ("x (m, east)", "y (m, north)") if streets else ("x", "y")
    problems = [point_problem(label, f.value, whole) for label, f in zip(labels, (cell_x, cell_y), strict=True)]

    act, confirm = panels.use_replanning(model, message, problem)

    def change(action) -> None:
        def do() -> str:
            if any(problems):
                raise PlanError("; ".join(p for p in problems if p) + ": the plan is unchanged")
            x, y = point_number(cell_x.value, whole), point_number(cell_y.value, whole)
            return action(m.base_scenario, ftype.value, x, y)

        act(do)

    def save() -> None:
        try:
            message.set(save_plan(m, plan_file(SAVE_DIR, file_name.value)))
            problem.set("")
        except PlanError as exc:
            message.set("")
            problem.set(str(exc))

    with solara.Card("Re-planning", style={"flex": "1 1 340px", "max-width": "420px"}):
        solara.Select("Facility type", values=list(m.spec.types), value=ftype)
        with solara.Row():
            for label, text, wrong in zip(labels, (cell_x, cell_y), problems, strict=True):
                solara.InputText(label, value=text, continuous_update=True, error=wrong or False)
        solara.Text(
            "or click the map (Remove takes the facility of the type nearest the point)"
            if streets
            else "or click the map",
            style={"font-size": "12px"},
        )
        with solara.Row():
            solara.Button(
                "Add facility",
                on_click=lambda: change(lambda _, t, x, y: add_facility(m, t, x, y)),
                color="primary",
                outlined=True,
            )
            solara.Button("Remove facility", on_click=lambda: change(m.plan.remove), outlined=True)
            solara.Button("Undo", on_click=lambda: act(m.plan.undo), outlined=True, disabled=not m.plan.history)
        if message.value:
            solara.Success(message.value, dense=True)
        if problem.value:
            solara.Warning(problem.value, dense=True)
        panels.PlanList(m.plan.changes)
        confirm()
        solara.HTML(tag="div", unsafe_innerHTML=_coverage_html(m))
        with solara.Row():
            solara.InputText("Save the plan as", value=file_name, continuous_update=True)
            solara.Button("Save as scenario", on_click=save, outlined=True)


def _chart(fig, failed: str, name: str) -> None:
    """A chart's place: the interactive chart, or the message of why it could not be drawn."""
    if fig is None:
        _failed(failed)
    else:
        with solara.Div(classes=["lifecircle-chart", f"lifecircle-{name}"]):
            PlotlyFigure(Shown(fig))


@solara.component
def OccupancyChart(model: PageModel, redraws: panels.Redraws):
    """Visitors present through the day against each type's places (``redraws``: :func:`.panels.use_redraws`'s)."""
    redraws.get()
    _chart(*figures.drawn("occupancy chart", figures.occupancy_figure, model), "occupancy")


@solara.component
def ExposureChart(model: PageModel, redraws: panels.Redraws):
    """Residential against activity exposure by group (redrawn less often in big populations)."""
    redraws.get()
    every = figures.exposure_refresh_ticks(len(model.built.residents))
    fig, failed = solara.use_memo(
        lambda: figures.drawn("exposure chart", figures.exposure_figure, model), [model, model.steps // every]
    )
    _chart(fig, failed, "exposure")


@solara.component
def CoverageChart(model: PageModel):
    """Coverage by type and age band (changes with the plan, not with the clock)."""
    fig, failed = solara.use_memo(lambda: figures.drawn("coverage chart", figures.coverage_figure, model), [model])
    _chart(fig, failed, "coverage")


@solara.component
def Warming(message: str):
    """What the page shows until the kernels are ready: what it is waiting for, and a moving bar."""
    with solara.Column(style={"padding": "24px", "max-width": "720px"}):
        solara.HTML(tag="div", unsafe_innerHTML=message, classes=["lifecircle-warming", "text-h6"])
        solara.ProgressLinear(True)
        solara.Text(f"{SCENARIO} opens as soon as they are ready.", style={"font-size": "12px"})


@solara.component
def Page():
    """The page: a message while the kernels are warmed (:mod:`.warmup`), then the simulation's page."""
    ready = solara.use_reactive(WARMUP.ready)
    message = solara.use_reactive(WARMUP.message)

    def watch(cancel) -> None:  # the message changes when numba starts compiling
        while not WARMUP.wait(0.25) and not cancel.is_set():
            message.set(WARMUP.message)
        ready.set(WARMUP.ready)

    solara.use_thread(watch, [], intrusive_cancel=False)
    if ready.value:
        Simulation()
    else:
        Warming(message.value)


@solara.component
def Simulation():
    """The map, re-planning and the inspector beside the charts; Mesa's controls in the sidebar."""
    plan = solara.use_memo(Plan, [])
    knobs = Knobs(
        solara.use_reactive(SCENARIO),
        solara.use_reactive(solara.use_memo(lambda: float(load_scenario(SCENARIO).mixing), [])),
        solara.use_reactive(1.0),
        solara.use_reactive(1.0),
        solara.use_reactive(""),
        solara.use_reactive(0),
        solara.use_memo(dict, []),
    )
    first = solara.use_memo(lambda: SidebarModel(knobs, plan=plan), [])
    model = solara.use_reactive(first)
    # the page closing (its kernel) ends the play: Mesa's loop would step on, in a thread of the server, for nobody
    solara.use_memo(lambda: kernel_context.get_current_context().on_close(lambda: model.value.close()), [])
    params = {"knobs": knobs, "plan": plan}  # fixed parameters: Mesa's Reset passes them as they are
    colour_by = solara.use_reactive("group")
    band_type = solara.use_reactive(next(iter(first.city.types), NO_BANDS))
    start = solara.use_memo(lambda: first_point(first), [])
    cell_x = solara.use_reactive(str(start[0]))  # the fields' text (Planning)
    cell_y = solara.use_reactive(str(start[1]))
    m = model.value
    redraws = panels.use_redraws()  # the figures'
    ticks = panels.use_redraws(panels.TEXT_EVERY_S)  # the texts'

    on_streets = m.spec.streets is not None

    def restart_point() -> None:  # a scenario of the other kind (on Reset): a cell of a grid, a point of streets
        x, y = first_point(model.value)
        cell_x.set(str(x))
        cell_y.set(str(y))

    solara.use_effect(restart_point, [on_streets])
    x, y = (point_number(text.value, whole=not on_streets) for text in (cell_x, cell_y))
    if x is None or y is None:
        inside = False
    elif on_streets:  # a point in metres, wherever it is (Add says when it is too far from the streets)
        inside = True
    else:
        inside = 0 <= x < m.city.width and 0 <= y < m.city.height
    view = figures.MapView(
        colour_by=colour_by.value,
        band_type=None if band_type.value == NO_BANDS else band_type.value,
        selected=(x, y) if inside else None,
    )

    def choose(cell) -> None:
        cell_x.set(str(cell[0]))
        cell_y.set(str(cell[1]))

    with solara.Column(style={"padding": "4px 8px", "gap": "4px"}):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            Clock(m, ticks)
            solara.Text(knobs_text(m), classes=["lifecircle-knobs"], style={"font-size": "12px", "margin": "0 12px"})
            solara.ToggleButtonsSingle(value=colour_by, values=["group", "age"])
            solara.Select(
                "Walking bands of", values=[NO_BANDS, *m.city.types], value=band_type, style="max-width: 240px"
            )
        # the map and the charts side by side (seen together in a 1400 x 1000 window), re-planning and the
        # inspector under the map, the monitors and run controls under the charts
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start", "gap": "8px"}):
            with solara.Column(style={"flex": "0 0 auto", "gap": "8px"}):
                MapFigure(m, view, choose, redraws)
                Planning(model, cell_x, cell_y)
                panels.Inspector(m, *((x, y) if inside else (None, None)), redraws)
            with solara.Column(classes=["lifecircle-charts"], style={"flex": "0 0 auto", "gap": "4px"}):
                OccupancyChart(m, redraws)
                ExposureChart(m, redraws)
                CoverageChart(m)
                panels.Monitors(m, ticks)
                panels.RunControls(model)
        panels.SliderValues()
        KnobsCard(knobs)
        panels.Controls(model, params, f"lifecircle: {m.spec.name}", ticks)
        panels.Drawn(redraws)  # last: their threads learn that a redraw is through
        panels.Drawn(ticks)
