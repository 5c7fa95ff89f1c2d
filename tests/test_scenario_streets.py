"""Tests for street scenarios: the [streets] table and its CSV data files (docs/streets.md,
model/scenario/streets.py), their communities and facilities, writing them back (scenario_toml,
extend_toml) and every kind of bad input.

The expectations are worked out by hand from tests/data/streets_small (12 nodes 100 m apart, node
ids not in file order; see the comment at the top of small.toml), not taken from the loader.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import threading
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.scenario import (
    Community,
    FacilitySite,
    Scenario,
    ScenarioError,
    Streets,
    extend_toml,
    load_scenario,
    override_kind,
    scenario_toml,
)
from tests.conftest import write_small

DATA = Path(__file__).resolve().parent / "data" / "streets_small"
SMALL = DATA / "small.toml"
FILE_ORDER = ("nodes", "edges", "homes", "facilities", "gates")

# hand-worked: the node ids in file order, their numbers being their rows
NODE_ID = [9001, 42, 7, 1300, 55, 56, 57, 58, 100, 101, 102, 103]
NODE_XY = [
    [385000, 6671000],
    [385100, 6671000],
    [385200, 6671000],
    [385300, 6671000],
    [385000, 6671100],
    [385100, 6671100],
    [385200, 6671100],
    [385300, 6671100],
    [385000, 6671200],
    [385100, 6671200],
    [385200, 6671200],
    [385300, 6671200.5],
]
# edges.csv: 9001-42, 42-7, 7-1300, 55-56, 56-57, 57-58, 9001-55, 42-56, 58-1300, 55-100, 100-101, 101-102
EDGE_U = [0, 1, 2, 4, 5, 6, 0, 1, 7, 4, 8, 9]
EDGE_V = [1, 2, 3, 5, 6, 7, 4, 5, 3, 8, 9, 10]
EDGE_M = [100.0] * 11 + [101.25]
# communities: South (0), then North (1), in small.toml's order
HOME_ID = [70001, 70002, 70003, 70004]
HOME_COMMUNITY = [1, 1, 0, 0]
HOME_XY = [[385050, 6671180], [385150, 6671190], [385020, 6671020], [385250, 6671030]]
HOME_FLOOR = [1200.0, 800.5, 2000.0, 500.0]
GATE_COMMUNITY = [0, 1]
GATE_XY = [[385100, 6671000], [385100, 6671200]]
FACILITIES = (
    # the file's rows: the park's capacity empty (the catalogue's 400), the market unnamed and
    # without capacity ("market 1", the catalogue's 150); then the [[facilities]] entry (elderly
    # care's catalogue capacity, 40)
    FacilitySite("park", 385210.0, 6671120.0, 400, "Riverside park", 123456789),
    FacilitySite("elderly_care", 385090.0, 6671110.0, 30, "Kamppi care", None),
    FacilitySite("market", 385300.0, 6671000.0, 150, "market 1", None),
    FacilitySite("elderly_care", 385012.5, 6671230.0, 40, "New care station", None),
)


def copy_small(tmp_path: Path) -> Path:
    """A copy of the small street scenario to break; its TOML file."""
    shutil.copytree(DATA, tmp_path / "streets_small")
    return tmp_path / "streets_small" / "small.toml"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(path, **kwargs) -> list:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    assert info.value.problems
    return info.value.problems


def find(problems, file: str, key: str, text: str, line: int | None = None):
    """The problem of ``file`` at ``key`` (and ``line``, if given) whose message holds ``text``."""
    for p in problems:
        if p.file == file and p.key == key and text in p.message and (line is None or p.line == line):
            return p
    raise AssertionError(f"no problem {file}:{line}: {key}: ...{text}... in:\n" + "\n".join(map(str, problems)))


def csv_of(toml: Path, name: str) -> Path:
    return toml.parent / "csv" / f"{name}.csv"


# --------------------------------------------------------------------------- a good scenario


def test_the_small_street_scenario_loads_with_the_hand_worked_arrays():
    s = load_scenario(SMALL)
    assert s.grid is None
    st_ = s.streets
    assert isinstance(st_, Streets)
    assert st_.crs == "EPSG:32635"
    assert st_.node_id.dtype == np.int64 and st_.node_id.tolist() == NODE_ID
    assert st_.node_xy_m.shape == (12, 2) and st_.node_xy_m.tolist() == NODE_XY
    assert st_.edge_u.dtype == np.int64 and st_.edge_u.tolist() == EDGE_U
    assert st_.edge_v.tolist() == EDGE_V
    assert st_.edge_m.tolist() == EDGE_M
    assert st_.home_id.tolist() == HOME_ID
    assert st_.home_community.dtype == np.int64 and st_.home_community.tolist() == HOME_COMMUNITY
    assert st_.home_xy_m.tolist() == HOME_XY
    assert st_.home_floor_m2.tolist() == HOME_FLOOR
    assert st_.gate_community.tolist() == GATE_COMMUNITY
    assert st_.gate_xy_m.tolist() == GATE_XY
    assert st_.files == tuple((DATA / "csv" / f"{k}.csv").resolve() for k in FILE_ORDER)
    assert st_.file_keys == FILE_ORDER
    assert st_.file_facilities == FACILITIES[:3]


def test_communities_on_streets_have_no_area_and_no_gates():
    s = load_scenario(SMALL)
    assert s.communities == (
        Community("South", None, 120, None, None),
        Community("North", None, 80, {"a": 0.2, "b": 0.8}, None),
    )


def test_facilities_are_the_files_rows_then_the_toml_entries():
    s = load_scenario(SMALL)
    assert s.facilities == FACILITIES
    assert [f.osm_id for f in s.facilities] == [123456789, None, None, None]  # equality above compares it too
    assert s.types_present == ["elderly_care", "market", "park"]


def test_the_digest_is_sha256_over_key_length_and_bytes_in_file_order():
    h = hashlib.sha256()
    for key in FILE_ORDER:
        data = (DATA / "csv" / f"{key}.csv").read_bytes()
        h.update(f"{key} {len(data)}\n".encode())
        h.update(data)
    assert load_scenario(SMALL).streets.digest == h.hexdigest()


def test_streets_are_equal_by_contents_not_by_path(tmp_path):
    copy = copy_small(tmp_path)
    assert load_scenario(copy) == load_scenario(SMALL)
    assert load_scenario(copy).streets.files != load_scenario(SMALL).streets.files
    with open(csv_of(copy, "homes"), "a", encoding="utf-8") as fh:  # one more home: other contents
        fh.write("70005,North,300,385060,6671150\n")
    changed = load_scenario(copy)
    assert changed.streets != load_scenario(SMALL).streets
    assert changed.streets.home_id.tolist() == [*HOME_ID, 70005]


def test_optional_files_left_out_give_no_gates_and_no_file_facilities(tmp_path):
    path = copy_small(tmp_path)
    edit(path, 'facilities = "csv/facilities.csv"\n', "")
    edit(path, 'gates = "csv/gates.csv"\n', "")
    s = load_scenario(path)
    assert s.streets.file_keys == ("nodes", "edges", "homes")
    assert s.streets.gate_community.shape == (0,) and s.streets.gate_xy_m.shape == (0, 2)
    assert s.facilities == (dataclasses.replace(FACILITIES[3]),)
    assert s.streets.file_facilities == ()
    # the digest leaves them out: only three files fed
    h = hashlib.sha256()
    for key in FILE_ORDER[:3]:
        data = csv_of(path, key).read_bytes()
        h.update(f"{key} {len(data)}\n".encode())
        h.update(data)
    assert s.streets.digest == h.hexdigest()


def test_columns_in_any_order_other_columns_ignored_blank_lines_bom_and_crlf(tmp_path):
    path = copy_small(tmp_path)
    # the nodes as x_m, node_id, y_m with an extra column, CRLF line ends, a BOM and blank lines
    lines = ["x_m,extra,node_id,y_m"] + [f"{x},z,{i},{y}" for i, (x, y) in zip(NODE_ID, NODE_XY, strict=True)]
    text = "\r\n".join(lines[:4] + ["", "  "] + lines[4:]) + "\r\n\r\n"
    csv_of(path, "nodes").write_bytes(b"\xef\xbb\xbf" + text.encode())
    s = load_scenario(path)
    assert s.streets.node_id.tolist() == NODE_ID
    assert s.streets.node_xy_m.tolist() == NODE_XY


def test_a_facility_name_of_the_file_may_be_quoted_with_commas(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "facilities"), "Riverside park", '"Riverside park, north gate"')
    s = load_scenario(path)
    assert s.facilities[0].name == "Riverside park, north gate"


def test_overriding_a_population_key_works_on_streets():
    s = load_scenario(SMALL, overrides={"population.mixing": 0.25, "seed": 9})
    assert (s.mixing, s.seed) == (0.25, 9)
    assert s.streets == load_scenario(SMALL).streets


def test_streets_keys_cannot_be_overridden():
    assert override_kind("streets.crs") is None
    assert override_kind("streets") is None
    find(problems_of(SMALL, overrides={"streets.nodes": "x.csv"}), "overrides", "streets.nodes", "cannot be overridden")


# --------------------------------------------------------------------------- extends


def test_paths_are_relative_to_the_file_that_sets_them(tmp_path, monkeypatch):
    """A variant in another folder: the base's paths stay relative to the base, the variant's to it."""
    other = tmp_path / "elsewhere" / "variants"
    other.mkdir(parents=True)
    shutil.copy(DATA / "csv" / "homes.csv", other / "my_homes.csv")
    with open(other / "my_homes.csv", "a", encoding="utf-8") as fh:
        fh.write("70009,South,250,385210,6671010\n")
    relative = Path(os.path.relpath(SMALL, other)).as_posix()
    variant = other / "variant.toml"
    variant.write_text(f'name = "variant"\nextends = "{relative}"\n\n[streets]\nhomes = "my_homes.csv"\n')
    monkeypatch.chdir(tmp_path)  # neither folder
    s = load_scenario(variant)
    assert s.streets.files[FILE_ORDER.index("homes")] == (other / "my_homes.csv").resolve()
    assert s.streets.files[FILE_ORDER.index("nodes")] == (DATA / "csv" / "nodes.csv").resolve()
    assert s.streets.home_id.tolist() == [*HOME_ID, 70009]
    assert s.streets.home_community.tolist() == [*HOME_COMMUNITY, 0]
    assert s.files == (variant.resolve(), SMALL.resolve())


def test_a_missing_file_of_a_base_is_reported_in_the_base(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "gates").unlink()
    variant = tmp_path / "v.toml"
    variant.write_text('name = "v"\nextends = "streets_small/small.toml"\n')
    p = find(problems_of(variant), "small.toml", "streets.gates", "file not found")
    assert str(csv_of(path, "gates").resolve()) in p.message


# --------------------------------------------------------------------------- writing it back


def round_trip(s: Scenario, folder: Path, name: str = "resolved.toml") -> Scenario:
    path = folder / name
    path.write_text(scenario_toml(s), encoding="utf-8")
    again = load_scenario(path)
    assert again == s
    assert again.streets == s.streets  # by digest
    assert [f.name for f in again.facilities] == [f.name for f in s.facilities]
    return again


def test_scenario_toml_round_trips_a_street_scenario(tmp_path):
    s = load_scenario(SMALL)
    text = scenario_toml(s)
    data = tomllib.loads(text)
    assert "grid" not in data
    assert data["streets"] == {
        "crs": "EPSG:32635",
        **{key: str((DATA / "csv" / f"{key}.csv").resolve()) for key in FILE_ORDER},
    }
    # the file's facilities stay in the file; the hand-placed one is written with at_m
    assert data["facilities"] == [
        {"type": "elderly_care", "at_m": [385012.5, 6671230.0], "capacity": 40, "name": "New care station"}
    ]
    assert all("area" not in c and "gates" not in c for c in data["communities"])
    again = round_trip(s, tmp_path)
    assert again.streets.files == s.streets.files
    # load(write(load(write(load(x))))) == load(x), from another folder
    (tmp_path / "sub").mkdir()
    assert round_trip(again, tmp_path / "sub") == s


def test_a_removed_file_facility_writes_every_facility_by_hand(tmp_path):
    """lifecircle optimize --remove and the page's plan write the scenario without some facilities."""
    s = load_scenario(SMALL)
    kept = tuple(f for f in s.facilities if f.name != "Kamppi care")
    data = tomllib.loads(scenario_toml(dataclasses.replace(s, facilities=kept)))
    assert "facilities" not in data["streets"]
    assert [f["name"] for f in data["facilities"]] == ["Riverside park", "market 1", "New care station"]
    assert data["facilities"][0]["osm_id"] == 123456789
    path = tmp_path / "removed.toml"
    path.write_text(scenario_toml(dataclasses.replace(s, facilities=kept)), encoding="utf-8")
    again = load_scenario(path)
    assert again.facilities == kept
    assert again.streets.file_keys == ("nodes", "edges", "homes", "gates")
    assert again.streets.file_facilities == ()


def test_extend_toml_writes_at_m_on_streets_and_at_on_a_grid(tmp_path):
    added = [("park", 385150.0, 6671050.0, "Pocket park")]
    text = extend_toml(SMALL, tmp_path / "plan.toml", "plan", added, "by hand")
    data = tomllib.loads(text)
    assert data["facilities"] == [{"type": "park", "at_m": [385150.0, 6671050.0], "name": "Pocket park"}]
    (tmp_path / "plan.toml").write_text(text, encoding="utf-8")
    plan = load_scenario(tmp_path / "plan.toml")
    assert plan.facilities == (*FACILITIES, FacilitySite("park", 385150.0, 6671050.0, 400, "Pocket park"))
    assert plan.streets == load_scenario(SMALL).streets

    grid = write_small(tmp_path)
    data = tomllib.loads(extend_toml(grid, tmp_path / "g.toml", "g", [("park", 4, 5, "p")], "by hand"))
    assert data["facilities"] == [{"type": "park", "at": [4, 5], "name": "p"}]
    # told, it does not read the source
    data = tomllib.loads(extend_toml(tmp_path / "nope.toml", tmp_path / "n.toml", "n", added, "", streets=True))
    assert "at_m" in data["facilities"][0]


def test_grid_facilities_may_carry_an_osm_id_and_round_trip(tmp_path):
    path = write_small(tmp_path, extra='\n[[facilities]]\ntype = "park"\nat = [2, 2]\nosm_id = 77\n')
    s = load_scenario(path)
    assert s.facilities[-1].osm_id == 77
    (tmp_path / "r").mkdir()
    out = tmp_path / "r" / "resolved.toml"
    out.write_text(scenario_toml(s), encoding="utf-8")
    assert load_scenario(out) == s


# --------------------------------------------------------------------------- bad input: the table


def test_both_grid_and_streets_are_refused(tmp_path):
    path = copy_small(tmp_path)
    edit(path, "[population]", "[grid]\nwidth = 5\nheight = 5\n\n[population]")
    find(problems_of(path), "small.toml", "streets", "not both")


def test_both_through_extends_name_each_file(tmp_path):
    grid = write_small(tmp_path)
    variant = tmp_path / "v.toml"
    rel = Path(os.path.relpath(SMALL, tmp_path)).as_posix()
    variant.write_text(f'name = "v"\nextends = "{grid.name}"\n\n[streets]\ncrs = "EPSG:32635"\nnodes = "{rel}"\n')
    p = find(problems_of(variant), "v.toml", "streets", "not both")
    assert "small.toml" in p.message and "v.toml" in p.message


def test_neither_grid_nor_streets_is_refused(tmp_path):
    path = copy_small(tmp_path)
    edit(path, "[streets]", "[nothing]")  # an unknown table now, and no place
    problems = problems_of(path)
    find(problems, "small.toml", "grid", "required table is missing (or [streets]")


def test_a_streets_table_of_the_wrong_shape_is_reported_once(tmp_path):
    path = tmp_path / "s.toml"
    text = SMALL.read_text(encoding="utf-8")
    start, end = text.index("[streets]"), text.index("[population]")
    path.write_text(text[:start] + 'streets = "csv"\n\n' + text[end:], encoding="utf-8")
    problems = problems_of(path)
    find(problems, "s.toml", "streets", "must be a table")
    assert not any(p.key == "grid" for p in problems)


@pytest.mark.parametrize("key", ["crs", "nodes", "edges", "homes"])
def test_a_required_streets_key_missing(tmp_path, key):
    path = copy_small(tmp_path)
    text = path.read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
    edit(path, line + "\n", "")
    find(problems_of(path), "small.toml", f"streets.{key}", "required key is missing")


@pytest.mark.parametrize(
    ("crs", "text"),
    [
        ("EPSG:99999999", "pyproj cannot read 'EPSG:99999999'"),
        ("not a crs", "pyproj cannot read"),
        ("", "pyproj cannot read"),
        ("EPSG:4326", "is geographic, in degrees"),
        ("EPSG:4978", "is not a projected CRS"),  # geocentric
        ("EPSG:2263", "measures in US survey foot"),  # New York Long Island, feet
    ],
)
def test_a_crs_that_is_not_projected_in_metres_is_refused(tmp_path, crs, text):
    path = copy_small(tmp_path)
    edit(path, 'crs = "EPSG:32635"', f'crs = "{crs}"')
    find(problems_of(path), "small.toml", "streets.crs", text)


def test_other_projected_crs_in_metres_load(tmp_path):
    path = copy_small(tmp_path)
    edit(path, 'crs = "EPSG:32635"', 'crs = "EPSG:4547"')
    assert load_scenario(path).streets.crs == "EPSG:4547"


def test_a_data_file_missing(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "edges").unlink()
    p = find(problems_of(path), "small.toml", "streets.edges", "file not found")
    assert p.message == f"file not found: {csv_of(path, 'edges').resolve()}"


def test_a_data_file_that_is_a_folder(tmp_path):
    path = copy_small(tmp_path)
    edit(path, 'homes = "csv/homes.csv"', 'homes = "csv"')
    find(problems_of(path), "small.toml", "streets.homes", "is a folder, not a file")


def test_an_empty_path(tmp_path):
    path = copy_small(tmp_path)
    edit(path, 'homes = "csv/homes.csv"', 'homes = " "')
    find(problems_of(path), "small.toml", "streets.homes", "must name a file")


def _loads_within(path: Path, seconds: float = 20.0) -> list:
    """The problems of ``path``, loaded in a thread that must finish (a pipe read would block for ever)."""
    out: list = []

    def load():
        try:
            load_scenario(path)
        except ScenarioError as exc:
            out.extend(exc.problems)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the loader blocked reading a file that is not a regular file"
    return out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_is_not_read(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "homes").unlink()
    os.mkfifo(csv_of(path, "homes"))
    find(_loads_within(path), "small.toml", "streets.homes", "is not a regular file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_not_read_even_through_a_link(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "nodes").unlink()
    csv_of(path, "nodes").symlink_to("/dev/zero")
    find(_loads_within(path), "small.toml", "streets.nodes", "is not a regular file")
    edit(path, 'nodes = "csv/nodes.csv"', 'nodes = "/dev/zero"')
    find(_loads_within(path), "small.toml", "streets.nodes", "is not a regular file")


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = copy_small(tmp_path)
    data = csv_of(path, "homes").read_bytes().replace(b"South,2000", "Süd,2000".encode("latin-1"))
    csv_of(path, "homes").write_bytes(data)
    find(problems_of(path), "csv/homes.csv", "", "not UTF-8 text", line=4)


def test_an_empty_file(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "edges").write_bytes(b"")
    find(problems_of(path), "csv/edges.csv", "", "is empty")
    csv_of(path, "edges").write_bytes(b"\n  \n")
    find(problems_of(path), "csv/edges.csv", "", "is empty")


def test_a_header_without_rows(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "nodes").write_text("node_id,x_m,y_m\n")
    problems = problems_of(path)
    find(problems, "csv/nodes.csv", "", "has no rows")
    csv_of(path, "edges").write_text("u,v,length_m\n")
    find(problems_of(path), "csv/edges.csv", "", "has no rows")


def test_empty_optional_files_are_fine(tmp_path):
    path = copy_small(tmp_path)
    csv_of(path, "gates").write_text("community,x_m,y_m\n")
    csv_of(path, "facilities").write_text("type,name,x_m,y_m\n")
    s = load_scenario(path)
    assert s.facilities == (FACILITIES[3],)
    assert s.streets.gate_community.tolist() == []


@pytest.mark.parametrize(
    ("name", "old", "new", "column", "text"),
    [
        ("homes", "home_id,community,floor_m2", "home_id,community,floor_m", "floor_m2", "(did you mean 'floor_m'?)"),
        ("nodes", "lon,node_id", "lon,id", "node_id", "required column is missing"),
        ("edges", "u,v,length_m", "u,w,length_m", "v", "required column is missing"),
        ("facilities", "type,name", "kind,name", "type", "required column is missing"),
        ("gates", "community,x_m", "compound,x_m", "community", "required column is missing"),
        ("nodes", "lon,node_id,y_m,x_m", "x_m,node_id,y_m,x_m", "x_m", "column given 2 times"),
    ],
)
def test_a_required_column_missing_or_twice(tmp_path, name, old, new, column, text):
    path = copy_small(tmp_path)
    edit(csv_of(path, name), old, new)
    find(problems_of(path), f"csv/{name}.csv", column, text, line=1)


@pytest.mark.parametrize(
    ("name", "old", "new", "column", "line", "text"),
    [
        # floor_m2 on line 3 (the header is line 1)
        ("homes", "North,800.5,", "North,big,", "floor_m2", 3, "must be a decimal number, not 'big'"),
        ("homes", "North,800.5,", "North,,", "floor_m2", 3, "is empty: a number is required"),
        ("homes", "North,800.5,", "North,nan,", "floor_m2", 3, "must be a finite number, not 'nan'"),
        ("homes", "North,800.5,", "North,0,", "floor_m2", 3, "must be more than 0, not 0"),
        ("homes", "North,800.5,", "North,-3,", "floor_m2", 3, "must be more than 0, not -3"),
        ("homes", "North,800.5,", "North,1_000,", "floor_m2", 3, "must be a decimal number"),
        ("homes", "70002,", "70002.0,", "home_id", 3, "must be an integer, not '70002.0'"),
        ("nodes", "385300\n24.93,55", "inf\n24.93,55", "x_m", 5, "must be a finite number, not 'inf'"),
        ("nodes", "6671000,385200", "1e999,385200", "y_m", 4, "must be a finite number, not '1e999'"),
        ("nodes", "24.93,42,", "24.93,-Infinity,", "node_id", 3, "must be an integer"),
        ("nodes", "24.93,42,", "24.93,99999999999999999999,", "node_id", 3, "at most 64 bits"),
        ("edges", "101,102,101.25", "101,102,-5", "length_m", 13, "must be 0 or more, not -5"),
        ("edges", "101,102,101.25", "101,102,NaN", "length_m", 13, "must be a finite number"),
        ("edges", "9001,42,100", "9001,999,100", "v", 2, "unknown node id 999 (not in csv/nodes.csv)"),
        ("edges", "9001,42,100", "8,42,100", "u", 2, "unknown node id 8"),
        ("homes", "70001,North", "70001,Nort", "community", 2, "unknown community 'Nort' (did you mean 'North'?)"),
        ("gates", "North,", "West,", "community", 3, "unknown community 'West'"),
        ("facilities", "park,Riverside", "parc,Riverside", "type", 2, "unknown facility type 'parc'"),
        ("facilities", "30,", "-3,", "capacity", 3, "must be a positive integer (or empty), not -3"),
        ("facilities", "30,", "0,", "capacity", 3, "must be a positive integer (or empty), not 0"),
        ("facilities", "30,", "thirty,", "capacity", 3, "must be an integer, not 'thirty'"),
        ("facilities", "123456789", "12.5", "osm_id", 2, "must be an integer, not '12.5'"),
        ("facilities", "385090,", "x,", "x_m", 3, "must be a decimal number, not 'x'"),
    ],
)
def test_a_bad_value_names_file_column_and_line(tmp_path, name, old, new, column, line, text):
    path = copy_small(tmp_path)
    edit(csv_of(path, name), old, new)
    p = find(problems_of(path), f"csv/{name}.csv", column, text, line=line)
    assert str(p).startswith(f"csv/{name}.csv:{line}: {column}: ")


def test_an_unknown_facility_type_suggests_a_close_one(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "facilities"), "park,Riverside", "parc,Riverside")
    find(problems_of(path), "csv/facilities.csv", "type", "(did you mean 'park'?)", line=2)


def test_duplicate_ids(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "nodes"), "24.93,55,", "24.93,9001,")  # line 6 repeats line 2's id
    edit(csv_of(path, "homes"), "70004,", "70001,")  # line 5 repeats line 2's
    problems = problems_of(path)
    find(problems, "csv/nodes.csv", "node_id", "node id 9001 is used twice (first on line 2)", line=6)
    find(problems, "csv/homes.csv", "home_id", "home id 70001 is used twice (first on line 2)", line=5)


def test_duplicate_facility_names_in_the_file_and_across_file_and_toml(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "facilities"), "market,,", "market,Riverside park,")
    edit(path, 'name = "New care station"', 'name = "Kamppi care"')
    problems = problems_of(path)
    find(
        problems, "csv/facilities.csv", "name", "'Riverside park' is used twice (also in csv/facilities.csv line 2)", 4
    )
    find(
        problems, "small.toml", "facilities[0].name", "'Kamppi care' is used twice (also in csv/facilities.csv line 3)"
    )


def test_a_community_with_residents_but_no_home(tmp_path):
    path = copy_small(tmp_path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('\n[[communities]]\nname = "East"\nresidents = 50\n')
    p = find(problems_of(path), "small.toml", "communities[2]", "has 50 residents but no home in csv/homes.csv")
    assert "'East'" in p.message


def test_a_row_with_the_wrong_number_of_fields(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "gates"), "North,385100,6671200", "North,385100")
    find(problems_of(path), "csv/gates.csv", "", "has 2 fields, the header 3", line=3)


def test_a_csv_syntax_error(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "facilities"), "Kamppi care", '"Kamppi" care')
    find(problems_of(path), "csv/facilities.csv", "", "CSV syntax error", line=3)


def test_many_bad_rows_are_listed_up_to_twenty_then_counted(tmp_path):
    path = copy_small(tmp_path)
    rows = "".join(f"{80000 + i},North,-1,385050,6671180\n" for i in range(25))
    with open(csv_of(path, "homes"), "a", encoding="utf-8") as fh:
        fh.write(rows)
    problems = [p for p in problems_of(path) if p.file == "csv/homes.csv"]
    assert [p.line for p in problems[:20]] == list(range(6, 26))
    assert problems[20].message == "5 more problems in this file are not listed"
    assert len(problems) == 21


def test_every_file_is_checked_in_one_go(tmp_path):
    path = copy_small(tmp_path)
    edit(csv_of(path, "nodes"), "24.93,42,", "24.93,x,")
    edit(csv_of(path, "homes"), "70001,North", "70001,Nort")
    edit(csv_of(path, "facilities"), "30,", "-3,")
    edit(path, "residents = 80", "residents = 0")
    problems = problems_of(path)
    assert {p.file for p in problems} == {"csv/nodes.csv", "csv/homes.csv", "csv/facilities.csv", "small.toml"}


# --------------------------------------------------------------------------- bad input: the TOML entries


def test_area_and_gates_on_a_street_community_are_refused(tmp_path):
    path = copy_small(tmp_path)
    edit(path, "residents = 120", "residents = 120\narea = [0, 0, 2, 2]\ngates = [[0, 0]]")
    problems = problems_of(path)
    find(problems, "small.toml", "communities[0].area", "a community on streets has no area")
    find(problems, "small.toml", "communities[0].gates", "a community on streets has no gates key")


def test_at_on_streets_is_refused(tmp_path):
    path = copy_small(tmp_path)
    edit(path, "at_m = [385012.5, 6671230.0]", "at = [3, 4]")
    problems = problems_of(path)
    find(problems, "small.toml", "facilities[0].at", "on streets give at_m")
    find(problems, "small.toml", "facilities[0].at_m", "required key is missing")


def test_at_m_on_a_grid_is_refused(tmp_path):
    path = write_small(tmp_path, extra='\n[[facilities]]\ntype = "park"\nat = [2, 2]\nat_m = [100.0, 100.0]\n')
    find(problems_of(path), "small.toml", "facilities[4].at_m", "on the grid give its cell, at = [x, y]")


@pytest.mark.parametrize(
    ("value", "text"),
    [("[1.0, nan]", "must be finite numbers"), ("[1.0, inf]", "must be finite numbers"), ('["a", 1]', "[x_m, y_m]")],
)
def test_at_m_must_be_two_finite_numbers(tmp_path, value, text):
    path = copy_small(tmp_path)
    edit(path, "at_m = [385012.5, 6671230.0]", f"at_m = {value}")
    find(problems_of(path), "small.toml", "facilities[0].at_m", text)


def test_a_toml_facility_on_streets_with_a_bad_type_or_capacity(tmp_path):
    path = copy_small(tmp_path)
    edit(path, 'type = "elderly_care"', 'type = "eldery_care"\ncapacity = -1')
    problems = problems_of(path)
    find(problems, "small.toml", "facilities[0].type", "(did you mean 'elderly_care'?)")
    find(problems, "small.toml", "facilities[0].capacity", "must be positive, not -1")


# --------------------------------------------------------------------------- fuzzing the data files

FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(
    name=st.sampled_from(FILE_ORDER),
    cut=st.integers(min_value=0, max_value=400),
    junk=st.binary(max_size=12) | st.sampled_from([b",", b"\n", b'"', b"nan", b"-", b"\r", b"\x00", b"1e999"]),
)
def test_a_damaged_data_file_gives_a_scenario_or_problems_never_a_crash(tmp_path_factory, name, cut, junk):
    path = copy_small(tmp_path_factory.mktemp("fuzz"))
    data = csv_of(path, name).read_bytes()
    cut = min(cut, len(data))
    csv_of(path, name).write_bytes(data[:cut] + junk + data[cut:])
    try:
        s = load_scenario(path)
    except ScenarioError as exc:
        assert all(p.file in ("small.toml", f"csv/{name}.csv") for p in exc.problems), exc
    else:
        assert isinstance(s.streets, Streets)


# --------------------------------------------------------------------------- the example in docs/scenarios.md


def test_the_street_example_of_docs_scenarios_loads_beside_the_small_files(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "docs" / "scenarios.md").read_text(encoding="utf-8")
    example = next(b.split("```", 1)[0] for b in text.split("```toml\n")[1:] if b.startswith('name = "old_town"'))
    shutil.copytree(DATA / "csv", tmp_path / "streets")
    (tmp_path / "old_town.toml").write_text(example, encoding="utf-8")
    s = load_scenario(tmp_path / "old_town.toml")
    assert s.facilities == FACILITIES
    assert [c.name for c in s.communities] == ["South", "North"]
    assert s.streets == load_scenario(SMALL).streets
