"""The optional scenario keys [grid] origin and [[communities]] gates, and the default gate rule."""

from __future__ import annotations

import numpy as np
import pytest

from model.scenario import Community, ScenarioError, load_scenario, override_kind, scenario_toml
from tests.conftest import write_small

# write_small: a 20 x 12 grid, blocked [9, 0, 1, 5] and [9, 6, 1, 6]; West = [1, 1, 7, 10], East = [11, 2, 8, 8]
ORIGIN = "origin = [106.79, 39.72]"
WEST_GATES = "gates = [[1, 1], [7, 10]]"
# one blocked cell inside West, at (3, 4)
BLOCKED = "blocked = [[9, 0, 1, 5], [9, 6, 1, 6]]"
BLOCKED_IN_WEST = "blocked = [[9, 0, 1, 5], [9, 6, 1, 6], [3, 4, 1, 1]]"


def scenario_file(tmp_path, origin: str | None = ORIGIN, gates: str | None = WEST_GATES, blocked: str = BLOCKED):
    """The small scenario with ``origin`` in [grid] and ``gates`` in the West community (None: left out)."""
    path = write_small(tmp_path)
    text = path.read_text(encoding="utf-8").replace(BLOCKED, blocked)
    if origin is not None:
        text = text.replace("cell_m = 50.0", f"cell_m = 50.0\n{origin}")
    if gates is not None:
        text = text.replace("area = [1, 1, 7, 10]", f"area = [1, 1, 7, 10]\n{gates}")
    path.write_text(text, encoding="utf-8")
    return path


def one_problem(path, overrides=None):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, overrides=overrides)
    assert len(exc.value.problems) == 1, exc.value.problems
    return exc.value.problems[0]


# --------------------------------------------------------------------------- good values


def test_good_values_load(tmp_path):
    s = load_scenario(scenario_file(tmp_path))
    assert s.grid.origin == (106.79, 39.72)
    assert all(isinstance(v, float) for v in s.grid.origin)
    west, east = s.communities
    assert west.gates == ((1, 1), (7, 10))
    assert east.gates is None


def test_integer_and_edge_origin(tmp_path):
    s = load_scenario(scenario_file(tmp_path, origin="origin = [-180, 85]"))
    assert s.grid.origin == (-180.0, 85.0)
    s = load_scenario(scenario_file(tmp_path, origin="origin = [180.0, -85.0]"))
    assert s.grid.origin == (180.0, -85.0)


def test_keys_are_optional(tmp_path):
    s = load_scenario(scenario_file(tmp_path, origin=None, gates=None))
    assert s.grid.origin is None
    assert all(c.gates is None for c in s.communities)


def test_gates_at_the_corners_of_the_area(tmp_path):
    s = load_scenario(scenario_file(tmp_path, gates="gates = [[1, 1], [7, 1], [1, 10], [7, 10], [4, 5]]"))
    assert s.communities[0].gates == ((1, 1), (7, 1), (1, 10), (7, 10), (4, 5))


# --------------------------------------------------------------------------- bad values: one problem each


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("origin = [106.79]", "must be [longitude, latitude] (two numbers, WGS84 degrees), not [106.79]"),
        ("origin = [106.79, 39.72, 0.0]", "must be [longitude, latitude]"),
        ("origin = []", "must be [longitude, latitude]"),
        ('origin = ["106.79", 39.72]', "must be [longitude, latitude]"),
        ("origin = [true, 39.72]", "must be [longitude, latitude]"),
        ("origin = 106.79", "must be [longitude, latitude]"),
        ("origin = { lon = 106.79, lat = 39.72 }", "must be [longitude, latitude]"),
        ("origin = [180.5, 39.72]", "must lie within [-180, 180] and [-85, 85] degrees, not [180.5, 39.72]"),
        ("origin = [-181, 0]", "must lie within"),
        ("origin = [106.79, 85.01]", "must lie within"),
        ("origin = [106.79, -90]", "must lie within"),
        ("origin = [nan, 39.72]", "must be finite numbers"),
        ("origin = [106.79, inf]", "must be finite numbers"),
    ],
)
def test_bad_origin_is_one_problem(tmp_path, origin, words):
    p = one_problem(scenario_file(tmp_path, origin=origin))
    assert (p.file, p.key) == ("small.toml", "grid.origin")
    assert words in p.message


@pytest.mark.parametrize(
    ("gates", "key", "words"),
    [
        ("gates = [[20, 3]]", "communities[0].gates[0]", "cell (20, 3) is outside the 20x12 grid"),
        ("gates = [[1, 1], [3, -1]]", "communities[0].gates[1]", "cell (3, -1) is outside the 20x12 grid"),
        (
            "gates = [[0, 4]]",
            "communities[0].gates[0]",
            "cell (0, 4) is outside the community's area [1, 1, 7, 10]",
        ),
        (
            "gates = [[1, 1], [8, 1]]",
            "communities[0].gates[1]",
            "cell (8, 1) is outside the community's area [1, 1, 7, 10]",
        ),
        (
            "gates = [[12, 5]]",  # inside the grid and walkable, but East's
            "communities[0].gates[0]",
            "cell (12, 5) is outside the community's area [1, 1, 7, 10]",
        ),
        ("gates = [[3, 4]]", "communities[0].gates[0]", "cell (3, 4) is blocked"),
        ("gates = []", "communities[0].gates", "must list at least one [x, y] cell"),
        ("gates = [[1, 1], [1, 1]]", "communities[0].gates[1]", "cell (1, 1) is given twice"),
        ("gates = [[1]]", "communities[0].gates[0]", "must be [x, y] (two integers), not [1]"),
        ("gates = [[1, 2, 3]]", "communities[0].gates[0]", "must be [x, y] (two integers)"),
        ("gates = [[1.0, 2]]", "communities[0].gates[0]", "must be [x, y] (two integers)"),
        ('gates = [["1", 2]]', "communities[0].gates[0]", "must be [x, y] (two integers)"),
        ("gates = [1, 2]", "communities[0].gates", "must be a list of [x, y] cells"),
        ("gates = [3, 4]", "communities[0].gates", "must be a list of [x, y] cells"),
        ("gates = 5", "communities[0].gates", "must be a list of [x, y] cells"),
        ("gates = { x = 1, y = 2 }", "communities[0].gates", "must be a list of [x, y] cells"),
    ],
)
def test_bad_gates_are_one_problem(tmp_path, gates, key, words):
    p = one_problem(scenario_file(tmp_path, gates=gates, blocked=BLOCKED_IN_WEST))
    assert (p.file, p.key) == ("small.toml", key)
    assert words in p.message


def test_problems_name_the_file_that_set_them(tmp_path):
    scenario_file(tmp_path, origin=None, gates=None)
    variant = tmp_path / "variant.toml"
    variant.write_text(
        'name = "variant"\nextends = "small.toml"\n\n[grid]\norigin = [200.0, 0.0]\n\n'
        '[[communities]]\nname = "West"\narea = [1, 1, 7, 10]\nresidents = 10\ngates = [[0, 0]]\n',
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as exc:
        load_scenario(variant)
    got = sorted((p.file, p.key) for p in exc.value.problems)
    assert got == [("variant.toml", "communities[0].gates[0]"), ("variant.toml", "grid.origin")]


def test_a_base_origin_is_inherited(tmp_path):
    scenario_file(tmp_path)
    variant = tmp_path / "variant.toml"
    variant.write_text('name = "variant"\nextends = "small.toml"\n\n[grid]\nwidth = 21\n', encoding="utf-8")
    s = load_scenario(variant)
    assert (s.grid.width, s.grid.origin) == (21, (106.79, 39.72))
    assert s.communities[0].gates == ((1, 1), (7, 10))


def test_origin_overrides(tmp_path):
    assert override_kind("grid.origin") == "lonlat"
    assert override_kind("grid.origin.x") is None
    assert override_kind("communities") is None
    path = scenario_file(tmp_path, origin=None)
    assert load_scenario(path, overrides={"grid.origin": [111.7, 40.8]}).grid.origin == (111.7, 40.8)
    p = one_problem(path, overrides={"grid.origin": [111.7, 91.0]})
    assert (p.file, p.key) == ("overrides", "grid.origin")
    p = one_problem(path, overrides={"grid.origin": 3})
    assert (p.file, p.key) == ("overrides", "grid.origin")


# --------------------------------------------------------------------------- round trip


def test_round_trip_with_both_keys(tmp_path):
    s = load_scenario(scenario_file(tmp_path, origin="origin = [106.79123456789012, -39.1]"))
    text = scenario_toml(s)
    out = tmp_path / "resolved.toml"
    out.write_text(text, encoding="utf-8")
    again = load_scenario(out)
    assert again == s
    assert again.grid.origin == (106.79123456789012, -39.1)
    assert [c.gates for c in again.communities] == [((1, 1), (7, 10)), None]


def test_round_trip_writes_the_keys_only_when_given(tmp_path):
    s = load_scenario(scenario_file(tmp_path, origin=None, gates=None))
    text = scenario_toml(s)
    assert "origin" not in text and "gates" not in text
    out = tmp_path / "resolved.toml"
    out.write_text(text, encoding="utf-8")
    assert load_scenario(out) == s


# --------------------------------------------------------------------------- the default gate


def gates_of(area, blocked=(), shape=(8, 10), gates=None):
    walkable = np.ones(shape, dtype=bool)
    for x, y in blocked:
        walkable[y, x] = False
    return Community("c", area, 1, None, gates).gate_cells(walkable)


def test_default_gate_is_the_centre_cell():
    # area [2, 1, 5, 3]: columns 2..6, rows 1..3; the centre is (4, 2)
    assert gates_of((2, 1, 5, 3)) == [(4, 2)]
    assert gates_of((0, 0, 1, 1)) == [(0, 0)]


def test_default_gate_with_the_centre_blocked_is_the_nearest_walkable_cell():
    # (4, 1), (3, 2), (5, 2), (4, 3) are all 1 cell away: the lowest y wins
    assert gates_of((2, 1, 5, 3), blocked=[(4, 2)]) == [(4, 1)]
    # (3, 2) and (5, 2) are 1 away: same y, the lower x wins
    assert gates_of((2, 1, 5, 3), blocked=[(4, 2), (4, 1), (4, 3)]) == [(3, 2)]
    # the cross blocked: the four diagonal cells are sqrt(2) away; (3, 1) has the lowest y, then x
    assert gates_of((2, 1, 5, 3), blocked=[(4, 2), (4, 1), (4, 3), (3, 2), (5, 2)]) == [(3, 1)]
    # the whole middle column blocked and (3, 2): (5, 2) at 1 beats (3, 1) at sqrt(2)
    assert gates_of((2, 1, 5, 3), blocked=[(4, 1), (4, 2), (4, 3), (3, 2)]) == [(5, 2)]


def test_default_gate_of_an_even_area():
    # area [0, 0, 4, 4]: the centre (1.5, 1.5) is a corner of four cells, all sqrt(0.5) away
    assert gates_of((0, 0, 4, 4)) == [(1, 1)]
    assert gates_of((0, 0, 4, 4), blocked=[(1, 1)]) == [(2, 1)]
    assert gates_of((0, 0, 4, 4), blocked=[(1, 1), (2, 1)]) == [(1, 2)]
    # a 4 x 1 strip: (1, 0) and (2, 0) tie; lower x
    assert gates_of((3, 5, 4, 1)) == [(4, 5)]


def test_default_gate_far_from_the_centre():
    # a 5 x 5 area with only its last row walkable: the middle of that row, (2 + 2, 4)
    blocked = [(x, y) for x in range(2, 7) for y in range(0, 4)]
    assert gates_of((2, 0, 5, 5), blocked=blocked) == [(4, 4)]


def test_no_walkable_cell_no_gate():
    assert gates_of((2, 1, 2, 1), blocked=[(2, 1), (3, 1)]) == []


def test_given_gates_are_returned_in_order():
    assert gates_of((2, 1, 5, 3), gates=((6, 3), (2, 1))) == [(6, 3), (2, 1)]


def test_gate_cells_of_a_loaded_scenario(tmp_path):
    from model.city.grid import walkable_mask

    s = load_scenario(scenario_file(tmp_path, origin=None))
    walkable = walkable_mask(s.grid.width, s.grid.height, s.grid.blocked)
    west, east = s.communities
    assert west.gate_cells(walkable) == [(1, 1), (7, 10)]
    # East = [11, 2, 8, 8]: centre (14.5, 5.5); (14, 5), (15, 5), (14, 6), (15, 6) tie; lowest y, then x
    assert east.gate_cells(walkable) == [(14, 5)]
