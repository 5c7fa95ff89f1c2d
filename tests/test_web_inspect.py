"""Inspecting and steering the browser page without a browser (issue 22, 5): a facility's figures and a
cell's residents against brute force from the engine's arrays, the state monitors, run-to times
worked by hand, the plan's history and undo, and bad input (save names, a scenario file broken
after it was loaded) refused with a message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import solara

from model.scenario import load_scenario
from model.simulation.rules import State
from model.web.state import (
    PICK_M,
    PageModel,
    Plan,
    PlanError,
    cell_info,
    clock_text,
    facilities_at,
    facility_info,
    plan_file,
    residents_by_state,
    save_plan,
    start_text,
    steps_to,
    steps_to_day_end,
)
from tests.conftest import write_busy_small, write_small

STREETS_SMALL = Path(__file__).parent / "data" / "streets_small" / "small.toml"


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    """small with a market and elderly care too small for their users, two days, capacities x1."""
    return PageModel(str(write_busy_small(tmp_path_factory.mktemp("busy"))), days=2)


# --------------------------------------------------------------------------- a facility


def _brute_facility(model, index: int) -> dict:
    """A facility's figures now from every resident's state and node, the visit log and the turn-away log."""
    node = model.city.facilities["node"].to_numpy()[index]
    states, where = model.resident_states(), model.positions()
    tpd = model.clock.ticks_per_day
    done = min(model.steps, model.total_ticks)
    today = model.days - 1 if done == model.total_ticks else done // tpd
    visits = model.visit_log.columns()
    turned = model.turn_aways()
    return {
        "present": int(((states == State.VISITING) & (where == node)).sum()),
        "queue": int(((states == State.WAITING) & (where == node)).sum()),
        "visits_today": int(((visits["facility"] == index) & (visits["leave_min"] // 1440 == today)).sum()),
        "turned_away_today": int(((turned["facility"] == index) & (turned["tick"] // tpd == today)).sum()),
    }


def test_a_facilitys_figures_are_the_engines_counted_by_brute_force(busy):
    """Every facility of busy small stands on its own cell: those visiting or queueing there now are
    the residents in that state at its cell; visits and turn-aways today are counted from the logs,
    at hours through two days, at the first tick of the second day (none yet) and at the run's end."""
    model = busy
    tpd = model.clock.ticks_per_day
    assert model.city.facilities["node"].is_unique
    seen = {"present": 0, "queue": 0, "visits_today": 0, "turned_away_today": 0}
    for stop in (60, 150, 300, tpd - 1, tpd, tpd + 1, tpd + 200, 2 * tpd):
        while model.steps < stop:
            model.step()
        for i in range(len(model.city.facilities)):
            info, want = facility_info(model, i), _brute_facility(model, i)
            assert {k: info[k] for k in want} == want, (stop, i)
            for k in seen:
                seen[k] = max(seen[k], info[k])
        if stop == tpd:
            assert clock_text(model).startswith("Day 2") and all(
                facility_info(model, i)["visits_today"] == 0 for i in range(len(model.city.facilities))
            )
    assert all(v > 0 for v in seen.values()), seen  # every figure was seen above 0 somewhere
    market = facilities_at(model, 15, 4)
    assert len(market) == 1
    info = facility_info(model, market[0])
    assert (info["type"], info["x"], info["y"], info["capacity"]) == ("market", 15, 4, 3)  # as written by hand


def test_the_capacity_shown_is_the_pages_and_cells_without_a_facility_have_none(tmp_path):
    model = PageModel(str(write_busy_small(tmp_path, residents=40)), capacity_multiplier=2.0, days=1)
    (market,) = facilities_at(model, 15, 4)
    assert facility_info(model, market)["capacity"] == 6  # 3 written, x2
    assert facilities_at(model, 14, 4) == [] and facilities_at(model, 9, 0) == []  # beside it; the wall


def test_on_streets_the_nearest_facility_within_the_pick_distance_is_inspected():
    """streets_small's Kamppi care stands at (385090, 6671110) and its park at (385210, 6671120)."""
    model = PageModel(str(STREETS_SMALL), days=1)
    names = model.city.facilities["name"]
    (care,) = facilities_at(model, 385090.0 + 60.0, 6671110.0)  # 60 m east of it, 60.8 m from the park
    assert names[care] == "Kamppi care" and facility_info(model, care)["capacity"] == 30
    (park,) = facilities_at(model, 385210.0 - 59.0, 6671120.0)  # 59 m from the park, 61.8 m from the care
    assert names[park] == "Riverside park"
    assert PICK_M == 100.0
    assert facilities_at(model, 385300.0, 6671000.0 - 99.0) != []  # the market, 99 m south of it
    assert facilities_at(model, 385300.0, 6671000.0 - 101.0) == []  # 101 m: nothing


# --------------------------------------------------------------------------- a cell


def test_a_cells_residents_by_group_and_age_are_counted_by_brute_force(busy):
    model = busy
    res, width = model.built.residents, model.city.width
    where = model.positions()
    bands = sorted(load_scenario(model.spec.path).ages, key=lambda b: b.lo)
    homes = np.unique(res.node)
    cells = [(int(c % width), int(c // width)) for c in homes[:: max(1, homes.size // 12)]]
    cells += [(15, 4), (12, 5), (0, 0)]  # the market, elderly care, an empty corner
    for x, y in cells:
        info = cell_info(model, x, y)
        for kind, at in (("living", res.node), ("present", where)):
            ids = [r for r in range(res.age.size) if at[r] == y * width + x]
            want_groups = {g: sum(res.group_names[res.group[r]] == g for r in ids) for g in res.group_names}
            want_ages = {str(b): sum(b.contains(int(res.age[r])) for r in ids) for b in bands}
            assert info[kind] == {"total": len(ids), "by_group": want_groups, "by_age": want_ages}, (x, y, kind)
    assert cell_info(model, *cells[0], present=False)["present"] is None  # not traced (city scale)
    assert cell_info(model, *cells[0], present=False)["living"] == cell_info(model, *cells[0])["living"]
    total = sum(cell_info(model, int(c % width), int(c // width))["living"]["total"] for c in homes)
    assert total == res.age.size  # everyone lives in one cell


def test_on_streets_a_place_is_everything_within_the_pick_distance():
    model = PageModel(str(STREETS_SMALL), days=1)
    for _ in range(120):
        model.step()
    res, xy, where = model.built.residents, model.surface.node_xy_m, model.positions()
    x, y = 385150.0, 6671100.0
    info = cell_info(model, x, y)
    living = [r for r in range(res.age.size) if ((res.x[r] - x) ** 2 + (res.y[r] - y) ** 2) ** 0.5 <= 100.0]
    present = [r for r in range(res.age.size) if np.hypot(*(xy[where[r]] - (x, y))) <= 100.0]
    assert info["living"]["total"] == len(living) > 0 and info["present"]["total"] == len(present)


# --------------------------------------------------------------------------- monitors


def test_residents_by_state_are_the_time_series_columns(tmp_path):
    """small has households (the catalogue's default): the escorting carers are monitored too."""
    model = PageModel(str(write_small(tmp_path, residents=120)), days=1)
    labels = ("at home", "walking", "waiting", "visiting", "escorting")
    assert residents_by_state(model) == dict(zip(labels, (240, 0, 0, 0, 0), strict=True))
    rows = model.datacollector.model_vars
    seen = dict.fromkeys(labels, 0)
    for _ in range(200):
        model.step()
        now = residents_by_state(model)
        columns = ("home", "walking", "waiting", "at_facilities", "escorting")
        assert now == {label: rows[c][-1] for label, c in zip(labels, columns, strict=True)}
        by_state = np.bincount(model.resident_states(), minlength=5)
        assert now == {label: int(n) for label, n in zip(labels, by_state, strict=True)}
        seen = {k: max(seen[k], now[k]) for k in labels}
    assert seen["walking"] > 0 and seen["visiting"] > 0, seen


def test_escorting_is_not_monitored_without_households(tmp_path):
    model = PageModel(str(write_small(tmp_path, residents=60, extra="\n[households]\non = false\n")), days=1)
    assert list(residents_by_state(model)) == ["at home", "walking", "waiting", "visiting"]
    assert sum(residents_by_state(model).values()) == model.population.age.size


# --------------------------------------------------------------------------- run to a time


@pytest.fixture
def short(tmp_path):
    """Two days of 07:00-08:30 in 1-minute ticks: 90 ticks a day."""
    path = write_small(tmp_path, residents=30, extra='\n[simulation]\nday_start = "07:00"\nday_end = "08:30"\n')
    return PageModel(str(path), days=2)


def _run(model, n: int) -> str:
    for _ in range(n):
        model.step()
    return clock_text(model)


def test_run_to_a_time_today_or_the_next_days(short):
    model = short
    assert steps_to(model, "07:30") == 30 and _run(model, 30) == "Day 1 (Mon) 07:30"
    assert steps_to(model, " 07:31 ") == 1
    assert steps_to(model, "07:15") == 75 and _run(model, 75) == "Day 2 (Tue) 07:15"  # passed: tomorrow's
    with pytest.raises(PlanError, match=r"the run ends at Day 2 \(Tue\) 08:30, before the next 07:15"):
        steps_to(model, "07:15")
    assert steps_to(model, "08:30") == 75 and steps_to_day_end(model) == 75
    assert _run(model, 75) == "Day 2 (Tue) 08:30"
    with pytest.raises(PlanError, match=r"the run is over \(Day 2 \(Tue\) 08:30\): press Reset"):
        steps_to_day_end(model)


def test_the_days_end_is_the_next_days_start_and_the_start_is_tomorrows(short):
    model = short
    assert steps_to(model, "08:30") == 90 == steps_to_day_end(model)
    assert steps_to(model, "07:00") == 90  # now is 07:00: the next 07:00 is tomorrow's
    _run(model, 10)
    assert steps_to_day_end(model) == 80 and _run(model, 80) == "Day 2 (Tue) 07:00"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("25:00", "'25:00' is not a time of day: write HH:MM"),
        ("abc", "'abc' is not a time of day"),
        ("", "'' is not a time of day"),
        ("7.30", "'7.30' is not a time of day"),
        ("06:59", r"06:59 is outside the simulated hours 07:00-08:30"),
        ("08:31", r"08:31 is outside the simulated hours 07:00-08:30"),
        ("24:00", r"24:00 is outside the simulated hours"),
    ],
)
def test_run_to_refuses_what_is_not_a_time_of_the_simulated_hours(short, text, says):
    with pytest.raises(PlanError, match=says):
        steps_to(short, text)
    assert short.steps == 0


def test_a_time_between_ticks_is_reached_at_the_later_tick(tmp_path):
    path = write_small(tmp_path, residents=30, extra="\n[simulation]\ntick_min = 5\n")
    model = PageModel(str(path), days=1)
    assert clock_text(model) == "Day 1 (Mon) 06:00" == start_text(model)
    n = steps_to(model, "07:32")
    assert n == 19 and _run(model, n) == "Day 1 (Mon) 07:35"  # 92 minutes: the 19th 5-minute tick


# --------------------------------------------------------------------------- the plan's list and undo


def test_the_plan_lists_its_changes_in_order_and_undo_takes_them_back(tmp_path):
    scenario = load_scenario(write_small(tmp_path))
    plan = Plan()
    with pytest.raises(PlanError, match="nothing to undo"):
        plan.undo()
    plan.add(scenario, "elderly_care", 4, 5)
    plan.add(scenario, "nursery", 4, 5)
    plan.remove(scenario, "park", 3, 3)
    plan.remove(scenario, "elderly_care", 4, 5)  # the added one: out of the plan's additions
    with pytest.raises(PlanError):
        plan.add(scenario, "park", 9, 0)  # blocked: no change, nothing in the list
    assert plan.changes == [
        "+ elderly_care (4, 5)",
        "+ nursery (4, 5)",
        "- park (3, 3)",
        "- elderly_care (4, 5), added",
    ]
    assert (plan.added, plan.removed) == ([("nursery", 4, 5)], [("park", 3, 3)])
    assert plan.undo() == "undid: removed the added elderly care centre with canteen at (4, 5)"
    assert plan.added == [("elderly_care", 4, 5), ("nursery", 4, 5)]  # back in its place: its name is kept
    assert [s.name for s in plan.new_sites(scenario)] == ["elderly_care added 1", "nursery added 2"]
    plan.undo()
    assert plan.removed == [] and len(plan.changes) == 2
    plan.undo()
    plan.undo()
    assert plan.empty and plan.changes == []
    plan.add(scenario, "park", 4, 4)
    plan.attach(load_scenario("demo"))  # another scenario: its own plan, nothing to undo
    assert plan.changes == [] and plan.empty


def test_undo_on_streets_brings_back_the_facility_removed_nearest():
    scenario = load_scenario(STREETS_SMALL)
    plan = Plan()
    plan.add(scenario, "park", 385150.0, 6671050.0)
    plan.remove(scenario, "elderly_care", 385091.0, 6671111.0)  # Kamppi care
    assert plan.removed == [("elderly_care", 385090.0, 6671110.0)]
    assert plan.changes == ["+ park (385150.0, 6671050.0)", "- elderly_care (385090.0, 6671110.0)"]
    plan.undo()
    assert plan.removed == [] and plan.added == [("park", 385150.0, 6671050.0)]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "name",
    ["../x.toml", "/tmp/x.toml", "a/b.toml", "..", ".", "", "a\x00b.toml", "tab\there.toml", "x" * 300 + ".toml"],
)
def test_a_save_name_that_is_not_one_file_of_the_save_folder_is_refused(name, tmp_path):
    with pytest.raises(PlanError, match="give a file name|at most 255 bytes"):
        plan_file(tmp_path, name)


def test_a_save_the_file_system_refuses_is_a_message_and_writes_nothing(tmp_path):
    """A NUL in the name used to reach the file system (ValueError: embedded null byte) and a name of 300
    characters ``exists()`` (OSError: File name too long): each a traceback on the page."""
    model = PageModel(str(write_small(tmp_path, residents=30)), days=1)
    model.plan.add(model.base_scenario, "elderly_care", 4, 5)
    folder = tmp_path / "saved"
    folder.mkdir()
    for target in (folder / "a\x00b.toml", folder / ("x" * 300 + ".toml")):
        with pytest.raises(PlanError, match="give a file name|at most 255 bytes"):
            save_plan(model, target)
    assert list(folder.iterdir()) == []


def test_a_replan_builds_from_the_scenario_as_loaded_even_when_its_file_broke_since(tmp_path):
    """Add on the page used to load the scenario file again: a file broken since the page opened made
    it a traceback. The re-planned model is built from the scenario the page loaded."""
    path = write_small(tmp_path, residents=30)
    model = PageModel(str(path), days=1)
    path.write_text("name = \n", encoding="utf-8")
    model.plan.add(model.base_scenario, "elderly_care", 4, 5)
    again = model.replanned()
    assert ("elderly_care", 4, 5) in {(f.type, f.x, f.y) for f in again.spec.facilities}


def test_a_reset_to_a_scenario_that_no_longer_loads_keeps_the_page(tmp_path):
    """The sidebar's model (Mesa's Reset builds it): a file broken after it was loaded used to raise from
    Reset (a traceback on the page). Now the page says so and resets the scenario it had loaded; the
    plan stays."""
    from model.web.app import Knobs, SidebarModel

    path = write_small(tmp_path, residents=30)
    knobs = Knobs(*(solara.reactive(v) for v in (str(path), 0.5, 1.0, 1.0, "", 0)))
    plan = Plan()
    first = SidebarModel(knobs, plan=plan)
    plan.add(first.base_scenario, "elderly_care", 4, 5)
    path.write_text("[grid]\nwidth = -1\n", encoding="utf-8")
    again = SidebarModel(knobs, plan=plan)
    assert "small.toml" in knobs.problem.value and "did not load" in knobs.problem.value
    assert again.spec.mixing == 0.5 and ("elderly_care", 4, 5) in plan.added
    assert ("elderly_care", 4, 5) in {(f.type, f.x, f.y) for f in again.spec.facilities}
    knobs.choose(str(path))  # choosing it again: refused with the message, the choice unchanged
    assert "did not load" in knobs.problem.value and knobs.scenario_name.value == str(path)
    assert knobs.refused.value == 1
    knobs.choose("demo")
    assert knobs.problem.value == "" and knobs.scenario_name.value == "demo"
