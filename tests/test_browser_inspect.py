"""Inspecting and steering the page in a real browser (issue 22, 5 and its bad input).

One server for the file: ``lifecircle serve`` of the hand-made small scenario written to a
temporary folder (so that the test can break the file on disk later), saving into that folder,
and one chromium page (``tests.test_browser``'s helpers: no request leaves the machine). In order:
every slider shows its value; the chosen cell's facility and residents are shown with the
engine's figures; the monitors count every resident; run to a time, refusals of bad times, run
the day, and a long run stopped; a re-plan after the clock has run asks first (Cancel keeps the
clock, OK restarts it), the plan's list and Undo; blocked placements; save names that leave the
save folder; and a scenario file broken after the page opened, on Reset and when chosen.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np
import playwright.sync_api as playwright
import pytest

from tests.conftest import write_small
from tests.test_browser import (  # noqa: F401
    STEP_TIMEOUT_MS,
    _browsing,
    _no_error,
    _page_server,
    _serving,
    _set_field,
    _wait_for_map,
    chromium,
)

expect = playwright.expect
RESIDENTS = 4000  # two communities of 2,000: a day takes seconds, long enough to see a run's bar and stop it


@pytest.fixture(scope="module")
def served(tmp_path_factory, chromium):  # noqa: F811
    """The small scenario served from a file of a temporary folder; yields (page, scenario file, folder, log)."""
    folder = tmp_path_factory.mktemp("inspect")
    path = write_small(folder, residents=RESIDENTS // 2)
    with _serving(str(path), folder) as (url, log), _browsing(chromium, url) as page:
        _wait_for_map(page)
        yield page, path, folder, log


@pytest.fixture(scope="module")
def model(served):
    """The same scenario and seed built in this process: what the page's first model holds."""
    from model.web.state import PageModel

    return PageModel(str(served[1]))


def _clock(page) -> str:
    return page.locator(".lifecircle-clock").inner_text()


def _monitor(page, state: str) -> int:
    return int(
        page.locator(f'table.lifecircle-monitors tr[data-key="{state}"] td').nth(1).inner_text().replace(",", "")
    )


def test_every_slider_shows_its_value(served):
    """Mesa's Play Interval and Render Interval (1) and the page's knobs showed their value only while
    dragged. The page asks Mesa for 150 ms between steps; Mesa's slider steps by 10 from 1, and Vuetify
    shows the nearest of its steps, 151."""
    page = served[0]
    for label, value in [
        ("Play Interval", "151"),
        ("Render Interval", "1"),
        ("Residential mixing", "1"),
        ("Capacity multiplier", "1"),
        ("Destination-choice decay", "1"),
    ]:
        thumb = page.locator(".v-input", has_text=label).locator(".v-slider__thumb-label")
        expect(thumb).to_be_visible(timeout=STEP_TIMEOUT_MS)
        assert thumb.inner_text() == value, label


def test_the_chosen_cell_shows_its_facility_residents_and_the_monitors(served, model):
    page, *_ = served
    res, width = model.built.residents, model.city.width
    # the market of small stands at (5, 8): its name and capacity as built, nobody there at 06:00
    _set_field(page, "x", 5)
    _set_field(page, "y", 8)
    market = page.locator(".lifecircle-facility")
    expect(market).to_have_attribute("data-name", "market 1", timeout=STEP_TIMEOUT_MS)
    rows = {
        r.locator("td").nth(0).inner_text(): r.locator("td").nth(1).inner_text() for r in market.locator("tr").all()
    }
    assert rows == {
        "type": model.spec.types["market"].label,
        "capacity": "150",
        "visitors now": "0",
        "queue now": "0",
        "turned away today": "0",
        "visits today": "0",
    }
    # a home cell: its residents by group, counted here by brute force
    home = int(np.bincount(res.node).argmax())
    x, y = home % width, home // width
    _set_field(page, "x", x)
    _set_field(page, "y", y)
    total = page.locator('table.lifecircle-cell tr[data-total="all"] td')
    expect(total.nth(1)).to_have_text(f"{int((res.node == home).sum()):,}", timeout=STEP_TIMEOUT_MS)
    expect(total.nth(2)).to_have_text(f"{int((res.node == home).sum()):,}")  # 06:00: everyone at home
    for g, name in enumerate(res.group_names):
        n = int(((res.node == home) & (res.group == g)).sum())
        assert page.locator(f'table.lifecircle-cell tr[data-group="{name}"] td').nth(1).inner_text() == f"{n:,}"
    assert page.locator(".lifecircle-no-facility").count() == 1
    # the monitors: everyone at home at 06:00
    assert _monitor(page, "at home") == RESIDENTS and _monitor(page, "walking") == 0


def test_run_to_a_time_refuses_bad_times_runs_the_day_and_stops(served):
    page, _, _, log = served
    field = page.get_by_label("Run to (HH:MM)")
    run_to = page.get_by_role("button", name="Run to", exact=True)
    problem = page.locator(".lifecircle-run-problem")
    for text, says in [
        ("25:00", "'25:00' is not a time of day: write HH:MM"),
        ("abc", "'abc' is not a time of day"),
        ("05:30", "05:30 is outside the simulated hours 06:00-22:00"),
    ]:
        field.fill(text)
        run_to.click()
        expect(problem).to_have_text(re.compile(re.escape(says)), timeout=STEP_TIMEOUT_MS)
        assert _clock(page) == "Day 1 (Mon) 06:00"
    field.fill("07:30")
    run_to.click()
    expect(page.locator(".lifecircle-clock")).to_have_text("Day 1 (Mon) 07:30", timeout=60_000)
    expect(page.locator(".lifecircle-running")).to_have_count(0)  # the run's bar gone
    assert problem.count() == 0
    states = ("at home", "walking", "waiting", "visiting", "escorting")
    expect(page.locator(".lifecircle-monitor-clock")).to_have_text("Day 1 (Mon) 07:30")
    assert sum(_monitor(page, s) for s in states) == RESIDENTS and _monitor(page, "at home") < RESIDENTS

    # the day's end: a long run says how far it is, and Stop ends it before the day's end
    # a run's bar may show briefly: an observer of the page's changes notes it
    page.evaluate(
        """() => { window.barSeen = false; new MutationObserver(() => {
            if (document.querySelector('.lifecircle-running')) window.barSeen = true;
        }).observe(document.body, {childList: true, subtree: true}); }"""
    )
    page.get_by_role("button", name="Run the day").click()
    page.wait_for_function("() => window.barSeen", timeout=STEP_TIMEOUT_MS)
    # the rest of this small day runs in about a third of a second: the page's server is held still
    # (SIGSTOP) while the Stop click is sent, so that the click reaches it during the run, not after it
    server = _page_server(int(page.url.rsplit(":", 1)[1].strip("/")))
    server.suspend()
    try:
        page.get_by_role("button", name="Stop").click()
    finally:
        server.resume()
    expect(page.locator(".lifecircle-running")).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    expect(page.locator(".lifecircle-clock")).not_to_have_text("Day 1 (Mon) 07:30", timeout=STEP_TIMEOUT_MS)
    stopped = _clock(page)
    assert stopped.startswith("Day 1 (Mon)") and stopped < "Day 1 (Mon) 22:00", stopped
    page.get_by_role("button", name="Run the day").click()
    expect(page.locator(".lifecircle-clock")).to_have_text("Day 2 (Tue) 06:00", timeout=60_000)
    _no_error(page, log)


def test_a_replan_after_the_clock_ran_asks_first_and_the_plan_lists_and_undoes(served):
    page, _, _, log = served
    assert _clock(page) == "Day 2 (Tue) 06:00"  # run by the test before
    dialog = page.locator(".v-dialog--active")
    _set_field(page, "x", 4)
    _set_field(page, "y", 5)
    page.get_by_role("button", name="Add facility").click()
    expect(dialog).to_contain_text("This restarts the clock at Day 1 (Mon) 06:00; continue?", timeout=STEP_TIMEOUT_MS)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0, timeout=STEP_TIMEOUT_MS)  # closed: the fields take typing again
    expect(page.get_by_text("nothing changed: the clock runs on")).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    assert _clock(page) == "Day 2 (Tue) 06:00" and page.locator(".lifecircle-plan-empty").count() == 1

    page.get_by_role("button", name="Add facility").click()
    dialog.get_by_role("button", name="Restart with the change").click()
    expect(dialog).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    expect(page.locator(".lifecircle-clock")).to_have_text("Day 1 (Mon) 06:00", timeout=STEP_TIMEOUT_MS)
    plan = page.locator("ol.lifecircle-plan li")
    expect(plan).to_have_text(["+ elderly_care (4, 5)"])

    # blocked and outside the grid: refused, the plan unchanged (no dialog: nothing was changed)
    for x, y, says in [(9, 0, "cell (9, 0) is blocked"), (20, 3, "cell (20, 3) is outside the 20x12 grid")]:
        _set_field(page, "x", x)
        _set_field(page, "y", y)
        page.get_by_role("button", name="Add facility").click()
        expect(page.locator(".v-alert", has_text=says)).to_have_count(1, timeout=STEP_TIMEOUT_MS)
        assert dialog.count() == 0
    expect(plan).to_have_count(1)

    # at 06:00 a change needs no confirmation; Undo takes back the last
    _set_field(page, "x", 3)
    _set_field(page, "y", 3)
    page.locator(".v-input", has_text="Facility type").locator(".v-select__slot").click()
    page.get_by_role("option", name="park", exact=True).click()
    page.get_by_role("button", name="Remove facility").click()
    expect(plan).to_have_count(2, timeout=STEP_TIMEOUT_MS)
    expect(plan.nth(1)).to_have_text("- park (3, 3)")
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("undid: removed the park or pocket park at (3, 3)")).to_have_count(
        1, timeout=STEP_TIMEOUT_MS
    )
    expect(plan).to_have_count(1)
    _no_error(page, log)


def test_save_names_that_leave_the_save_folder_are_refused(served):
    """A NUL in the name and a name of 300 characters reached the file system (a traceback on the page)."""
    page, _, folder, log = served
    _set_field(page, "x", 6)  # a plan to save (a plan with nothing in it stops a save before its name)
    _set_field(page, "y", 6)
    page.get_by_role("button", name="Add facility").click()
    restart = page.locator(".v-dialog--active").get_by_role("button", name="Restart with the change")
    with contextlib.suppress(playwright.TimeoutError):  # asked only if the clock has run (an earlier test, or load)
        restart.click(timeout=3000)
    expect(page.get_by_text(re.compile(r"^added a new .* at \(6, 6\)$"))).to_have_count(1, timeout=STEP_TIMEOUT_MS)
    before = sorted(p.name for p in folder.iterdir())
    field = page.get_by_label("Save the plan as")
    for name, says in [
        ("../x.toml", "give a file name without a folder"),
        ("/tmp/x.toml", "give a file name without a folder"),
        ("a/b.toml", "give a file name without a folder"),
        ("..", "give a file name without a folder"),
        ("a\x00b.toml", "give a file name without a folder"),
        ("x" * 300 + ".toml", "a file name of at most 255 bytes"),
    ]:
        field.fill(name)
        field.press("Enter")
        page.get_by_role("button", name="Save as scenario").click()
        expect(page.locator(".v-alert", has_text=says)).to_have_count(1, timeout=STEP_TIMEOUT_MS)
        assert sorted(p.name for p in folder.iterdir()) == before, name
    _no_error(page, log)


def test_a_scenario_file_broken_after_the_page_opened_is_a_message(served):
    """Reset (Mesa's) and choosing the scenario used to load it unguarded: a traceback on the page."""
    page, path, _, log = served
    path.write_text("[grid]\nwidth = -1\n", encoding="utf-8")
    problem = page.locator(".lifecircle-scenario-problem")
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(problem).to_contain_text("did not load, the page reset the scenario it had", timeout=STEP_TIMEOUT_MS)
    expect(problem).to_contain_text("grid.width: must be positive, not -1")
    expect(page.locator("ol.lifecircle-plan li")).to_have_count(2)  # the plan kept
    assert _clock(page) == "Day 1 (Mon) 06:00"

    def choose(name: str) -> None:
        page.locator(".v-input", has_text="Scenario").locator(".v-select__slot").click()
        page.get_by_role("option", name=name, exact=True).click()

    choose("demo")
    expect(problem).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    choose(str(path))
    expect(problem).to_contain_text("did not load, the choice is unchanged", timeout=STEP_TIMEOUT_MS)
    expect(page.locator(".v-input", has_text="Scenario").locator(".v-select__selection")).to_have_text("demo")

    # the page still re-plans from the scenario it loaded
    _set_field(page, "x", 4)
    _set_field(page, "y", 6)
    page.get_by_role("button", name="Add facility").click()
    expect(page.locator("ol.lifecircle-plan li")).to_have_count(3, timeout=STEP_TIMEOUT_MS)
    assert page.locator(".lifecircle-map .js-plotly-plot").count() == 1
    _no_error(page, log)
