"""The page's panels for inspecting and steering (issue 22, 5).

What is at the chosen place, the residents by state, running to a clock time, the plan's list
with a confirmation before a change restarts the clock, and the values beside the sliders.

What they show is computed by the pure functions of :mod:`model.web.state` (``facility_info``,
``cell_info``, ``residents_by_state``, ``steps_to``); these components only lay it out. Each reads
the model while holding ``model.lock``, as the figures do, so that a step run by Mesa's "Use
Threads" never shows half done. docs/browser.md (Inspecting and steering) says what each shows.
"""

from __future__ import annotations

import threading
import time
from html import escape

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from model.web.state import (
    PICK_M,
    PageModel,
    PlanError,
    cell_info,
    clock_text,
    facilities_at,
    facility_info,
    residents_by_state,
    start_text,
    steps_to,
    steps_to_day_end,
)

# Assumption, as the map's figures.TRACE_MAX: above this many residents those at a place now are
# not counted (tracing every walker along its path costs seconds a tick at city scale)
PRESENT_MAX = 100_000
BAR_WAIT_S = 10.0  # at most this long a run waits for its bar to be drawn before it steps
PROGRESS_EVERY_S = 0.25  # how often a long run says how far it is (a redraw of its bar costs little)
# Assumptions: while the model plays, the page's figures (the plotly map and charts, the inspector)
# are redrawn at most once a second and its texts (clock, monitors, Mesa's time) about three times.
# At Mesa's 1 ms play interval with "Use Threads", a redraw on every step kept the page's
# connection so busy that the clock vanished and the page once said "App is disconnected", and a
# click made reacton give up ("Too many renders triggered": the step thread changed Mesa's counter
# during every render pass); figures redrawn three times a second still lost the connection under
# load: Chromium drawing four plotly figures fell behind (issue 22).
REDRAW_EVERY_S = 1.0
TEXT_EVERY_S = 0.3
# at most this long a redraw's thread waits for it to be through (a page closed meanwhile never is)
DRAWN_WAIT_S = 30.0

# Vuetify draws a slider's value in its thumb only while it is dragged: shown always, for Mesa's
# own sliders (Play Interval, Render Interval) as for the page's
SLIDER_VALUES_CSS = """
.v-slider__thumb-label-container { display: block !important; }
.v-input__slider { margin-top: 18px; }
"""

_TABLE = 'style="font-size: 12px; border-spacing: 8px 1px"'


@solara.component
def SliderValues():
    """Every slider of the page shows its value beside its thumb, not only while it is dragged."""
    solara.Style(SLIDER_VALUES_CSS)


def _rows(pairs) -> str:
    """Table rows of (name, value) pairs, the value right-aligned (``data-key`` the name)."""
    return "".join(
        f'<tr data-key="{escape(str(k))}"><td>{escape(str(k))}</td><td style="text-align:right">{v}</td></tr>'
        for k, v in pairs
    )


def monitors_html(model: PageModel) -> str:
    """The clock and the residents in each state now, as a small table."""
    counts = residents_by_state(model)
    return (
        f'<div class="lifecircle-monitor-clock" style="font-size: 13px">{escape(clock_text(model))}</div>'
        f'<table class="lifecircle-monitors" {_TABLE}>{_rows((k, f"{n:,}") for k, n in counts.items())}</table>'
    )


class Redraws:
    """A counter that a thread of the page passes on from Mesa's (:func:`use_redraws`).

    Components read it (:meth:`get`) instead of Mesa's ``update_counter``; :func:`Drawn`, rendered
    in the same pass, sets ``drawn`` once a redraw it started is through.
    """

    def __init__(self, counter: solara.Reactive, drawn: threading.Event):
        self.counter, self.drawn = counter, drawn

    def get(self) -> int:
        """The counter, which makes the component reading it redraw when it changes."""
        return self.counter.get()


def use_redraws(every: float = REDRAW_EVERY_S) -> Redraws:
    """Mesa's step counter (``update_counter``), passed on at most once every ``every`` seconds.

    A component that reads the returned counter instead of Mesa's is redrawn after a step at once
    if it was last redrawn ``every`` seconds ago or more, and otherwise when they have passed: a
    Step click, and the last step before play stops, are always drawn, while a play at any speed
    redraws at most 1 / ``every`` times a second. The counter is passed on by a thread of the page
    (ended when the page closes), so a step only sets an event; the thread waits for the redraw to
    be through (:func:`Drawn`, in whichever thread renders it: a click's redraws the page in the
    thread that handles the browser's messages) and then at least as long again, so that a slow
    page is redrawn at most half the time. Without that wait, under load a click's render never
    ended: each of its passes took longer than ``every``, and the next was asked for meanwhile;
    the click's thread reads no messages while it renders, and the page lost its connection (issue
    22). Nothing on the page may read Mesa's counter itself: at a 1 ms play interval it changes
    during every render pass, and reacton gives up after 100 passes ("Too many renders triggered").
    """
    shown = solara.use_reactive(update_counter.peek())  # peek: this component is not redrawn by a step
    changed = solara.use_memo(threading.Event, [])
    drawn = solara.use_memo(threading.Event, [])
    # the subscription ends with the page (the effect's cleanup), before its kernel closes
    solara.use_effect(lambda: update_counter.subscribe(lambda _: changed.set()), [])

    def pump(cancel: threading.Event) -> None:
        while not cancel.is_set():
            if changed.wait(0.1):
                changed.clear()
                counter = update_counter.peek()
                if counter == shown.peek():
                    continue
                start = time.monotonic()
                drawn.clear()
                shown.set(counter)  # returns once this thread redrew the page, or at once if another renders
                drawn.wait(DRAWN_WAIT_S)
                # steps meanwhile set ``changed``: drawn when the time is up (and never busier than half the time)
                cancel.wait(max(every, time.monotonic() - start))

    solara.use_thread(pump, [], intrusive_cancel=False)
    return Redraws(shown, drawn)


@solara.component
def Drawn(redraws: Redraws):
    """Nothing on the page: tells ``redraws``'s thread that the render pass with its counter is through.

    Rendered last among the components that read ``redraws``; its effect runs when the pass's
    components are drawn (reacton runs effects once the render pass is over).
    """
    counter = redraws.get()
    solara.use_effect(redraws.drawn.set, [counter])


@solara.component
def Controls(model: solara.Reactive, params: dict, title: str, redraws: Redraws, play_interval: int = 150):
    """Mesa's controls in the sidebar: its play and render intervals, Use Threads, Reset, ▶ / ❚❚, Step.

    This is Mesa's SolaraViz without its parts the page does not use (a grid of charts, the model
    parameters' card: the page's knobs are :class:`~model.web.app.Knobs`), and with its
    *Information* card (``model.time``) redrawn by ``redraws`` (:func:`use_redraws`): Mesa's own
    reads Mesa's counter, which at a 1 ms play interval with Use Threads changed during every render
    pass of a click, and reacton gave up ("Too many renders triggered", issue 22). Mesa's
    ``ModelController`` steps, plays and resets the model: Reset builds ``type(model)(**params)``.
    """
    play = solara.use_reactive(play_interval)
    render = solara.use_reactive(1)
    threads = solara.use_reactive(False)
    with solara.AppBar():
        solara.AppBarTitle(title)
        solara.lab.ThemeToggle()
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            solara.SliderInt(label="Play Interval (ms)", value=play, min=1, max=500, step=10)
            solara.SliderInt(label="Render Interval (steps)", value=render, min=1, max=100, step=2)
            solara.Checkbox(label="Use Threads", value=threads)
            ModelController(
                model, model_parameters=params, play_interval=play, render_interval=render, use_threads=threads
            )
        with solara.Card("Information"):
            Information(model.value, redraws)


@solara.component
def Information(model: PageModel, redraws: Redraws):
    """Mesa's clock of the model (``model.time``, one unit a step), as SolaraViz's *Information* card shows it.

    A component of its own: the one that holds the sidebar is not redrawn while the model plays
    (its buttons would be made anew under the pointer, and a click on ❚❚ lost).
    """
    redraws.get()
    solara.Text(f"Time: {model.time}")


@solara.component
def Monitors(model: PageModel, redraws: Redraws):
    """Residents at home, walking, waiting, visiting (and escorting) (``redraws``: :func:`use_redraws`'s)."""
    redraws.get()
    with model.lock:
        html = monitors_html(model)
    with solara.Card("Residents now", style={"flex": "0 1 200px"}):
        solara.HTML(tag="div", unsafe_innerHTML=html)


def facility_html(info: dict) -> str:
    """One facility's figures (:func:`model.web.state.facility_info`) as a table under its name."""
    rows = (
        ("type", escape(info["label"])),
        ("capacity", f"{info['capacity']:,}"),
        ("visitors now", f"{info['present']:,}"),
        ("queue now", f"{info['queue']:,}"),
        ("turned away today", f"{info['turned_away_today']:,}"),
        ("visits today", f"{info['visits_today']:,}"),
    )
    return (
        f'<div class="lifecircle-facility" data-name="{escape(info["name"])}" style="margin-bottom: 6px">'
        f'<b style="font-size: 13px">{escape(info["name"])}</b><table {_TABLE}>{_rows(rows)}</table></div>'
    )


def _n(value) -> str:
    """A count with thousands separated, or the text given ("-": not counted)."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def cell_html(info: dict) -> str:
    """The residents of a place (:func:`model.web.state.cell_info`): living there and there now, by group and age."""
    living = info["living"]
    present = info["present"] or {"total": "-", "by_group": {}, "by_age": {}}  # not counted: "-"
    head = '<tr><th></th><th style="text-align:right">live here</th><th style="text-align:right">here now</th></tr>'

    def rows(kind: str, label) -> str:
        return "".join(
            f'<tr data-{kind}="{escape(k)}"><td>{label(k)}</td><td style="text-align:right">{n:,}</td>'
            f'<td style="text-align:right">{_n(present[f"by_{kind}"].get(k, "-"))}</td></tr>'
            for k, n in living[f"by_{kind}"].items()
        )

    total = (
        f'<tr data-total="all"><td><b>residents</b></td><td style="text-align:right"><b>{living["total"]:,}</b></td>'
        f'<td style="text-align:right"><b>{_n(present["total"])}</b></td></tr>'
    )
    return (
        f'<table class="lifecircle-cell" {_TABLE}>{head}{total}'
        f"{rows('group', lambda g: f'group {escape(g)}')}{rows('age', lambda b: f'age {escape(b)}')}</table>"
    )


@solara.component
def Inspector(model: PageModel, x, y, redraws: Redraws):
    """What is at the chosen place: its facilities' visitors, queue and today's figures, its residents.

    The place is a cell of a grid, or on streets what lies within :data:`~model.web.state.PICK_M`
    of the point (x and y None: none chosen). ``redraws``: :func:`use_redraws`'s counter.
    """
    redraws.get()
    streets = model.spec.streets is not None
    with solara.Card("At the chosen place", style={"flex": "1 1 300px", "max-width": "380px"}):
        if x is None or y is None:
            solara.Text("choose a place: click the map", style={"font-size": "12px"})
            return
        with model.lock:
            found = [facility_info(model, i) for i in facilities_at(model, x, y)]
            people = cell_info(model, x, y, present=len(model.built.residents) <= PRESENT_MAX)
        where = f"within {PICK_M:g} m of ({x:.1f}, {y:.1f})" if streets else f"cell ({x}, {y})"
        solara.Text(where, classes=["lifecircle-place"], style={"font-size": "12px", "display": "block"})
        if found:
            solara.HTML(tag="div", unsafe_innerHTML="".join(facility_html(f) for f in found))
        else:
            solara.Text(
                f"no facility {'within ' + format(PICK_M, 'g') + ' m' if streets else 'on this cell'}",
                classes=["lifecircle-no-facility"],
                style={"font-size": "12px", "display": "block"},
            )
        solara.HTML(tag="div", unsafe_innerHTML=cell_html(people))


def use_replanning(model: solara.Reactive, message: solara.Reactive, problem: solara.Reactive):
    """A hook for the re-planning panel: ``act(do)`` makes a change to the plan, ``confirm()`` draws the dialog.

    ``do()`` changes the model's plan and returns what it did (or raises PlanError: shown in
    ``problem``, the plan unchanged). Before the model's first step the page re-plans at once;
    after it, a dialog asks first, since the re-planned model starts the clock again: on Cancel
    (or a click beside it) the plan goes back to what it was and the clock runs on.
    """
    asking = solara.use_reactive(False)
    pending = solara.use_reactive(None)  # (what was done, the plan before it) while asking
    m = model.value

    def commit(done: str) -> None:
        problem.set("")
        message.set(done)
        model.set(m.replanned())
        force_update()

    def act(do) -> None:
        before = m.plan.saved()
        try:
            done = do()
        except PlanError as exc:
            message.set("")  # first: the page never shows a refusal beside the last success
            problem.set(str(exc))
            return
        if m.steps == 0:
            commit(done)
        else:
            pending.set((done, before))
            asking.set(True)

    def confirmed() -> None:
        asking.set(False)  # first: the dialog goes before the page redraws with the new model (seconds)
        if pending.value is not None:
            done = pending.value[0]
            pending.set(None)
            commit(done)

    def cancelled() -> None:
        asking.set(False)
        if pending.value is not None:
            m.plan.restore(pending.value[1])
            pending.set(None)
            problem.set("")
            message.set("nothing changed: the clock runs on")

    def confirm() -> None:
        done = pending.value[0] if pending.value else ""
        solara.lab.ConfirmationDialog(
            asking,
            title="Re-plan",
            content=f"{done}. This restarts the clock at {start_text(m)}; continue?",
            ok="Restart with the change",
            on_ok=confirmed,
            on_cancel=cancelled,
        )

    return act, confirm


@solara.component
def PlanList(changes: list[str]):
    """The plan's changes, in the order they were made (Undo takes back the last)."""
    if not changes:
        solara.Text("the plan: no change yet", classes=["lifecircle-plan-empty"], style={"font-size": "12px"})
        return
    items = "".join(f"<li>{escape(c)}</li>" for c in changes)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=f'<div style="font-size: 12px">the plan, in order:</div>'
        f'<ol class="lifecircle-plan" style="font-size: 12px; margin: 0 0 4px 0">{items}</ol>',
    )


@solara.component
def RunControls(model: solara.Reactive):
    """Run to a clock time ("HH:MM") or to the day's end: the model steps, then the page redraws once.

    A run says how far it is (a bar, every :data:`PROGRESS_EVERY_S`) and Stop ends it after the
    step under way; a Reset or a re-plan (a new model) ends it too.
    """
    text = solara.use_reactive("12:00")
    problem = solara.use_reactive("")
    progress = solara.use_reactive(None)  # (ticks done, ticks asked, what) while a run goes
    stop = solara.use_memo(threading.Event, [])
    bar = solara.use_memo(threading.Event, [])  # set once a run's bar is drawn
    solara.use_effect(lambda: bar.set() if progress.value is not None else bar.clear(), [progress.value is None])

    def stepping(m: PageModel, n: int, what: str) -> None:
        # the bar drawn first: under load the click's render was left to a thread drawing the figures,
        # and a short run was over before the page ever showed it (issue 22)
        bar.wait(BAR_WAIT_S)
        shown = time.monotonic()
        for i in range(n):
            if stop.is_set() or model.value is not m:
                break
            m.step()
            if time.monotonic() - shown > PROGRESS_EVERY_S:
                progress.set((i + 1, n, what))
                shown = time.monotonic()
        progress.set(None)
        force_update()

    task = solara.lab.use_task(stepping, dependencies=None, prefer_threaded=True)

    def run(steps_of, what: str) -> None:
        m = model.value
        try:
            n = steps_of(m)
        except PlanError as exc:
            problem.set(str(exc))
            return
        problem.set("")
        stop.clear()
        progress.set((0, n, what))
        task(m, n, what)

    with solara.Sidebar(), solara.Card("Run ahead"):
        running = progress.value is not None
        with solara.Row(style={"align-items": "center"}):
            solara.InputText("Run to (HH:MM)", value=text, continuous_update=True, disabled=running)
            solara.Button(
                "Run to",
                on_click=lambda: run(lambda m: steps_to(m, text.value), f"to {text.value.strip()}"),
                disabled=running,
                outlined=True,
            )
        with solara.Row():
            solara.Button(
                "Run the day",
                on_click=lambda: run(steps_to_day_end, "to the day's end"),
                disabled=running,
                outlined=True,
            )
            solara.Button("Stop", on_click=stop.set, disabled=not running, outlined=True)
        if running:
            done, n, what = progress.value
            solara.ProgressLinear(100 * done / max(n, 1))
            solara.Text(f"running {what}: {done:,} of {n:,} ticks", classes=["lifecircle-running"])
        if problem.value:
            solara.Warning(problem.value, dense=True, classes=["lifecircle-run-problem"])
