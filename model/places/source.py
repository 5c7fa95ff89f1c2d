"""What a place is built from: an OpenStreetMap extract or a planner's layers, as one set of tables.

:func:`osm_source` turns :func:`~model.places.osm.read_osm`'s :class:`OsmPlace` into a
:class:`Source`, choosing the homes among the buildings; :func:`gis_source` reads a planner's layers
(model/places/gis.py) into the same. :mod:`.build` makes a scenario of either: it does not know where
the tables came from. Every table is in metres of the source's UTM projection, with WGS84
longitude and latitude beside every point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from model.scenario import Problem, ScenarioError

from . import gis
from .network import node_lines
from .osm import OsmPlace, geodesic_lengths, utm_epsg

HOME_LATTICE_M = 50.0
"""Without a buildings layer, homes are the centres of a square lattice of this side (metres) in
each community polygon, each with the lattice cell's area as its floor area: residents are spread
evenly over the polygon. An assumption (the grid's usual cell)."""


@dataclass
class Source:
    """The tables a scenario of a real place is built from (metres of ``epsg``; lon, lat WGS84).

    Attributes:
        kind: "osm" or "gis".
        file: The main input (the extract, or the streets layer), for messages and the header.
        epsg: The UTM projection.
        nodes: node_id, x_m, y_m, lon, lat.
        edges: u, v, length_m (geodesic), and columns for readers (way_id, highway).
        edge_lines: The edges' lines (shapely), metres, row for row.
        homes: home_id, x_m, y_m, lon, lat, floor_m2 (> 0), and columns for readers.
        areas: Community polygons: name, residents (NaN: not given), geometry (valid polygons,
            metres), in the order in which a home inside several takes one (the first).
        areas_file: The communities file the areas come from, or None (OSM's areas).
        facilities: type, name, x_m, y_m, lon, lat, capacity (NaN: the catalogue's), and columns for readers.
        fences: Fence and wall lines, metres.
        gates: x_m, y_m, lon, lat, and columns for readers.
        real: Lines for the scenario's header: what the tables hold, as read.
        assumed: Lines for the header: what reading them assumed.
        warnings: What the reader warns of.
        dropped: Counts of what was left out on reading, for the summary.

    """

    kind: str
    file: str
    epsg: int
    nodes: pd.DataFrame
    edges: pd.DataFrame
    edge_lines: np.ndarray
    homes: pd.DataFrame
    areas: pd.DataFrame
    areas_file: str | None
    facilities: pd.DataFrame
    fences: np.ndarray
    gates: pd.DataFrame
    real: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)


def _lonlat(epsg: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    to_lonlat = pyproj.Transformer.from_crs(epsg, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _with_lonlat(frame: pd.DataFrame, epsg: int) -> pd.DataFrame:
    lon, lat = _lonlat(epsg, frame["x_m"].to_numpy(), frame["y_m"].to_numpy())
    return frame.assign(lon=lon, lat=lat)


# --------------------------------------------------------------------------- communities file


def read_communities(path: str | Path, epsg: int, population: int | None) -> pd.DataFrame:
    """A communities layer: name, residents (NaN where the layer has no ``residents``), geometry.

    The smallest polygon comes first, so that a home inside several takes the smallest.

    Raises:
        ScenarioError: Any problem of :func:`gis.read_layer`; an empty name; residents that are
            not whole numbers of at least 0; residents given together with ``population``.

    """
    file = str(path)
    frame = gis.read_layer(path, "communities")
    names = gis.texts(frame, "name", file, required=True)
    residents = gis.numbers(frame, "residents", file, low=0, integer=True)
    if "residents" in frame:
        empty = np.flatnonzero(np.isnan(residents))
        if len(empty):
            raise ScenarioError([Problem(file, "residents", f"feature {empty[0] + 1}: is empty")])
        if population is not None:
            raise ScenarioError(
                [Problem(file, "residents", "gives every community's residents: leave out --population")]
            )
    geometry = gis.polygonal(gis.projected(frame, epsg))
    out = pd.DataFrame({"name": names, "residents": residents, "geometry": geometry, "order": np.arange(len(frame))})
    out = out.assign(area_m2=shapely.area(geometry))
    return out.sort_values(["area_m2", "order"], ignore_index=True)[["name", "residents", "geometry"]]


# --------------------------------------------------------------------------- OpenStreetMap


def osm_source(place: OsmPlace, communities: str | Path | None = None, population: int | None = None) -> Source:
    """The tables of an OpenStreetMap extract, homes chosen (docs/places.md, "lifecircle import osm").

    Homes: residential buildings (``building`` = apartments, house, ...: read_osm's
    ``residential``), and buildings of unknown use (``building=yes``: ``ambiguous``) whose
    representative point lies in a landuse=residential polygon. When the extract has none of
    these but has buildings, every building is a home, with a warning. Floor area = footprint x
    storeys (read_osm's, 1 storey assumed without ``building:levels``); an invalid footprint is
    repaired (shapely.make_valid), and a building with no area left is dropped and counted.

    Args:
        place: The extract, read.
        communities: A communities layer in place of OSM's landuse=residential and
            place=neighbourhood polygons, or None.
        population: The --population given (only to refuse it beside residents in ``communities``).

    Raises:
        ScenarioError: No buildings at all (naming the extract, key ``bbox`` when a box was
            given); any problem of the communities layer.

    """
    file = place.file
    areas = read_communities(communities, place.epsg, population) if communities else _osm_areas(place)
    homes, home_words, warnings, dropped = _osm_homes(place)
    edges = pd.DataFrame(
        {
            "u": place.edges["u"].to_numpy(),
            "v": place.edges["v"].to_numpy(),
            "length_m": place.edges["length_m"].to_numpy(),
            "way_id": place.edges["way_id"].to_numpy(),
            "highway": place.edges["highway"].to_numpy(),
        }
    )
    facilities = place.facilities.assign(capacity=np.nan)[
        ["type", "name", "x_m", "y_m", "lon", "lat", "capacity", "osm_id", "osm_type"]
    ]
    gates = place.gates.assign(tag=_gate_tags(place.gates))[["x_m", "y_m", "lon", "lat", "osm_id", "tag"]]
    real = [
        _extent(place),
        f"streets: walkable ways (osmnx's walk filter, docs/places.md), {len(place.nodes):,} nodes and "
        f"{len(place.edges):,} edges as read",
        f"homes: {home_words}",
        f"facilities: {len(place.facilities):,} features selected by the catalogue's OSM tags "
        "(model/catalogue.toml `osm`)",
        f"fences: {len(place.barriers):,} barrier=fence|wall ways; gates: {len(place.gates):,} barrier=gate|entrance "
        "and entrance=* nodes",
    ]
    return Source(
        kind="osm",
        file=file,
        epsg=place.epsg,
        nodes=place.nodes[["node_id", "x_m", "y_m", "lon", "lat"]],
        edges=edges,
        edge_lines=place.edges.geometry.to_numpy(),
        homes=homes,
        areas=areas,
        areas_file=str(communities) if communities else None,
        facilities=facilities,
        fences=place.barriers.geometry.to_numpy(),
        gates=gates,
        real=real,
        assumed=[
            "homes: buildings of unknown use (building=yes) inside landuse=residential polygons house people, as "
            "residential buildings do; a building without building:levels has 1 storey (docs/places.md)"
        ],
        warnings=warnings,
        dropped=dropped,
    )


def _extent(place: OsmPlace) -> str:
    """What part of the extract was read, in WGS84 degrees."""
    if place.bbox is not None:
        box = ",".join(f"{v:.7f}" for v in place.bbox)
        return f"bounding box {box} (W,S,E,N; a way with a node in it is read whole)"
    lon, lat = place.nodes["lon"], place.nodes["lat"]
    box = ",".join(f"{v:.7f}" for v in (lon.min(), lat.min(), lon.max(), lat.max()))
    return f"the whole file: its walking network spans {box} (W,S,E,N)"


def _gate_tags(gates: pd.DataFrame) -> list[str]:
    """``barrier=gate`` or ``entrance=main``: what made a node a gate."""
    out = []
    for barrier, entrance in zip(gates["barrier"].tolist(), gates["entrance"].tolist(), strict=True):
        out.append(f"barrier={barrier}" if isinstance(barrier, str) else f"entrance={entrance}")
    return out


def _osm_areas(place: OsmPlace) -> pd.DataFrame:
    """OSM's community polygons: place=neighbourhood before landuse=residential, then the smallest first."""
    areas = place.areas
    if areas.empty:
        return pd.DataFrame({"name": [], "residents": [], "geometry": []})
    names = [
        name if isinstance(name, str) and name.strip() else f"area {osm_id}"
        for name, osm_id in zip(areas["name"].tolist(), areas["osm_id"].tolist(), strict=True)
    ]
    geometry = gis.polygonal(areas.geometry.to_numpy())
    out = pd.DataFrame(
        {
            "name": names,
            "residents": np.nan,
            "geometry": geometry,
            "rank": (areas["tag"] != "place=neighbourhood").to_numpy().astype(int),
            "area_m2": shapely.area(geometry),
            "order": np.arange(len(areas)),
        }
    )
    return out.sort_values(["rank", "area_m2", "order"], ignore_index=True)[["name", "residents", "geometry"]]


def _osm_homes(place: OsmPlace) -> tuple[pd.DataFrame, str, list[str], dict[str, int]]:
    """The homes among the buildings, how they were chosen, warnings, and what was dropped."""
    b = place.buildings
    if b.empty:
        key = "bbox" if place.bbox is not None else ""
        raise ScenarioError([Problem(place.file, key, "holds no buildings: there are no homes for residents")])
    landuse = place.areas[place.areas["tag"] == "landuse=residential"] if not place.areas.empty else place.areas
    in_landuse = _inside(b["x_m"].to_numpy(), b["y_m"].to_numpy(), landuse.geometry.to_numpy())
    residential = b["residential"].to_numpy(dtype=bool)
    unknown_in_landuse = b["ambiguous"].to_numpy(dtype=bool) & in_landuse
    chosen = residential | unknown_in_landuse
    warnings = []
    if chosen.any():
        words = (
            f"{int(residential.sum()):,} residential buildings (building=apartments, house, ...) and "
            f"{int(unknown_in_landuse.sum()):,} of unknown use (building=yes) in landuse=residential"
        )
    else:
        chosen = np.ones(len(b), dtype=bool)
        words = f"all {len(b):,} buildings: the extract has no residential building"
        warnings.append(f"{place.file}: no residential buildings: every one of its {len(b):,} buildings is a home")
    homes = b[chosen]
    floor = _repaired_floor(homes)
    keep = np.round(floor, 2) > 0  # as written: floor_m2 has 2 decimals and must be above 0
    dropped = {"homes_without_area": int((~keep).sum())}
    homes = homes[keep]
    assumed = int(homes["levels_assumed"].sum())
    words += f"; floor area = footprint x building:levels, 1 storey assumed for {assumed:,} of {len(homes):,}"
    out = pd.DataFrame(
        {
            # a relation's id negated: a way and a relation may have the same number
            "home_id": np.where(homes["osm_type"] == "relation", -homes["osm_id"], homes["osm_id"]).astype(np.int64),
            "x_m": homes["x_m"].to_numpy(),
            "y_m": homes["y_m"].to_numpy(),
            "lon": homes["lon"].to_numpy(),
            "lat": homes["lat"].to_numpy(),
            "floor_m2": floor[keep],
            "osm_id": homes["osm_id"].to_numpy(),
            "osm_type": homes["osm_type"].to_numpy(),
            "building": homes["building"].to_numpy(),
            "levels": homes["levels"].to_numpy(),
            "levels_assumed": homes["levels_assumed"].to_numpy(dtype=bool),
        }
    )
    return out, words, warnings, dropped


def _repaired_floor(buildings: pd.DataFrame) -> np.ndarray:
    """Floor area; where the footprint's polygon is invalid, that of its repair (shapely.make_valid)."""
    floor = buildings["floor_area_m2"].to_numpy(dtype=float)
    geometry = buildings.geometry.to_numpy()
    invalid = ~shapely.is_valid(geometry)
    if invalid.any():
        repaired = shapely.area(gis.polygonal(geometry[invalid]))
        floor = floor.copy()
        floor[invalid] = repaired * buildings["levels"].to_numpy(dtype=float)[invalid]
    return np.where(np.isfinite(floor), floor, 0.0)


def _inside(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Whether each point lies in any of the polygons."""
    out = np.zeros(len(x), dtype=bool)
    if len(polygons) == 0 or len(x) == 0:
        return out
    tree = shapely.STRtree(gis.polygonal(polygons))
    points, _ = tree.query(shapely.points(x, y), predicate="within")
    out[points] = True
    return out


# --------------------------------------------------------------------------- a planner's layers


@dataclass(frozen=True)
class GisFiles:
    """The layers of ``lifecircle import gis``: streets required, the others None when not given."""

    streets: str | Path
    buildings: str | Path | None = None
    communities: str | Path | None = None
    facilities: str | Path | None = None
    barriers: str | Path | None = None
    gates: str | Path | None = None


def gis_source(files: GisFiles, population: int | None = None) -> Source:
    """The tables of a planner's layers (docs/places.md, "lifecircle import gis").

    The projection is the UTM zone of the centre of the streets layer. Streets are cut into edges
    at their ends and shared vertices (:func:`~model.places.network.node_lines`); an edge's
    length is the geodesic length of its line, or, when the layer has ``length_m``, the line's
    ``length_m`` shared over its edges in proportion to theirs.

    Raises:
        ScenarioError: Any problem of a layer (naming its file and column); neither buildings
            nor communities (no homes).

    """
    streets_file = str(files.streets)
    if files.buildings is None and files.communities is None:
        raise ScenarioError(
            [
                Problem(
                    streets_file, "", "needs --buildings or --communities: homes are buildings, or lie in communities"
                )
            ]
        )
    streets = gis.read_layer(files.streets, "streets")
    epsg = utm_epsg(*gis.lonlat_centre(streets))
    nodes, edges, lines = _gis_network(streets, epsg, streets_file)
    areas = read_communities(files.communities, epsg, population) if files.communities else _no_areas()
    homes, words, warnings, dropped = _gis_homes(files, epsg, areas)
    facilities = _gis_facilities(files.facilities, epsg)
    fences = np.array([], dtype=object)
    if files.barriers is not None:
        fences = gis.lines_of(gis.projected(gis.read_layer(files.barriers, "barriers"), epsg))
    gates = _gis_points(files.gates, "gates", epsg)
    real = [
        f"streets: {Path(streets_file).name}, {len(streets):,} lines cut into {len(nodes):,} nodes and "
        f"{len(edges):,} edges",
        f"homes: {words}",
        f"facilities: {len(facilities):,}" + (f" from {Path(files.facilities).name}" if files.facilities else ""),
        f"fences: {len(fences):,} lines; gates: {len(gates):,} points",
    ]
    return Source(
        kind="gis",
        file=streets_file,
        epsg=epsg,
        nodes=nodes,
        edges=edges,
        edge_lines=lines,
        homes=homes,
        areas=areas,
        areas_file=str(files.communities) if files.communities else None,
        facilities=facilities,
        fences=fences,
        gates=gates,
        real=real,
        warnings=warnings,
        dropped={"homes_without_area": dropped},
    )


def _no_areas() -> pd.DataFrame:
    return pd.DataFrame({"name": [], "residents": [], "geometry": []})


def _gis_network(streets: Any, epsg: int, file: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    given = gis.numbers(streets, "length_m", file, low=0)
    if "length_m" in streets and np.isnan(given).any():
        raise ScenarioError([Problem(file, "length_m", f"feature {np.flatnonzero(np.isnan(given))[0] + 1}: is empty")])
    lines, owner = [], []
    for index, geometry in enumerate(gis.projected(streets, epsg)):
        for part in shapely.get_parts(geometry):
            lines.append(shapely.get_coordinates(part))
            owner.append(index)
    noded = node_lines(lines)
    if len(noded.u) == 0:
        raise ScenarioError([Problem(file, "", "holds no street of any length: no walking network")])
    pieces = np.array([shapely.LineString(p) for p in noded.pieces], dtype=object)
    lon_lat = [np.column_stack(_lonlat(epsg, p[:, 0], p[:, 1])) for p in noded.pieces]
    length = geodesic_lengths(np.array([shapely.LineString(p) for p in lon_lat], dtype=object))
    feature = np.asarray(owner, dtype=np.int64)[noded.line]
    if "length_m" in streets:  # the line's given length, shared over its pieces as their geodesic lengths are
        total = np.bincount(feature, weights=length, minlength=len(streets))[feature]
        length = given[feature] * np.divide(length, total, out=np.zeros_like(length), where=total > 0)
    x, y = noded.node_xy[:, 0], noded.node_xy[:, 1]
    nodes = _with_lonlat(pd.DataFrame({"node_id": np.arange(1, len(x) + 1, dtype=np.int64), "x_m": x, "y_m": y}), epsg)
    edges = pd.DataFrame({"u": noded.u, "v": noded.v, "length_m": length, "feature": feature + 1})
    return nodes, edges, pieces


def _gis_homes(files: GisFiles, epsg: int, areas: pd.DataFrame) -> tuple[pd.DataFrame, str, list[str], int]:
    if files.buildings is None:
        return _lattice_homes(areas, epsg)
    file = str(files.buildings)
    frame = gis.read_layer(files.buildings, "buildings")
    levels = gis.numbers(frame, "levels", file, low=0)
    levels[levels == 0] = np.nan
    assumed = np.isnan(levels)
    levels = np.where(assumed, 1.0, levels)
    residential = gis.flags(frame, "residential", file)
    warnings = []
    if residential is None:
        chosen, words = np.ones(len(frame), dtype=bool), f"all {len(frame):,} buildings of {Path(file).name}"
    elif residential.any():
        chosen, words = residential, f"{int(residential.sum()):,} residential buildings of {Path(file).name}"
    else:
        chosen, words = np.ones(len(frame), dtype=bool), f"all {len(frame):,} buildings of {Path(file).name}"
        warnings.append(f"{file}: residential: no building is residential: every one of them is a home")
    polygons = gis.polygonal(gis.projected(frame, epsg))
    floor = shapely.area(polygons) * levels
    keep = chosen & (np.round(floor, 2) > 0)  # as written: 2 decimals, above 0
    dropped = int((chosen & ~keep).sum())
    points = shapely.point_on_surface(polygons[keep])
    homes = pd.DataFrame(
        {
            "home_id": np.flatnonzero(keep).astype(np.int64) + 1,  # the feature's number in its layer
            "x_m": shapely.get_x(points),
            "y_m": shapely.get_y(points),
            "floor_m2": floor[keep],
            "levels": levels[keep],
            "levels_assumed": assumed[keep],
        }
    )
    words += f"; floor area = footprint x levels, 1 storey assumed for {int(assumed[keep].sum()):,}"
    return _with_lonlat(homes, epsg)[_HOME_COLUMNS], words, warnings, dropped


_HOME_COLUMNS = ["home_id", "x_m", "y_m", "lon", "lat", "floor_m2", "levels", "levels_assumed"]


def _lattice_homes(areas: pd.DataFrame, epsg: int) -> tuple[pd.DataFrame, str, list[str], int]:
    """A home at each centre of a HOME_LATTICE_M lattice inside a community (its representative point if none)."""
    xs, ys, floors = [], [], []
    side = HOME_LATTICE_M
    for polygon in areas["geometry"]:
        if polygon.is_empty:
            continue
        w, s, e, n = polygon.bounds
        gx = np.arange(np.floor(w / side), np.ceil(e / side)) * side + side / 2
        gy = np.arange(np.floor(s / side), np.ceil(n / side)) * side + side / 2
        mx, my = np.meshgrid(gx, gy)
        points = shapely.points(mx.ravel(), my.ravel())
        inside = shapely.contains(polygon, points)
        if inside.any():
            xs.append(mx.ravel()[inside])
            ys.append(my.ravel()[inside])
            floors.append(np.full(int(inside.sum()), side * side))
        else:
            point = shapely.point_on_surface(polygon)
            xs.append([point.x])
            ys.append([point.y])
            floors.append([side * side])
    x, y = np.concatenate(xs or [[]]), np.concatenate(ys or [[]])
    homes = pd.DataFrame({"x_m": x, "y_m": y, "floor_m2": np.concatenate(floors or [[]])})
    homes = homes.drop_duplicates(["x_m", "y_m"]).sort_values(["x_m", "y_m"], ignore_index=True)
    homes.insert(0, "home_id", np.arange(1, len(homes) + 1, dtype=np.int64))
    homes = homes.assign(levels=np.nan, levels_assumed=True)
    words = f"no buildings layer: {len(homes):,} points of a {side:g} m lattice in the communities, equal floor areas"
    warning = f"no --buildings: homes are {len(homes):,} points of a {side:g} m lattice inside the communities"
    return _with_lonlat(homes, epsg)[_HOME_COLUMNS], words, [warning], 0


def _gis_facilities(path: str | Path | None, epsg: int) -> pd.DataFrame:
    columns = ["type", "name", "x_m", "y_m", "lon", "lat", "capacity"]
    if path is None:
        return pd.DataFrame({c: [] for c in columns})
    file = str(path)
    frame = gis.read_layer(path, "facilities")
    types = gis.facility_types(gis.texts(frame, "type", file, required=True), file)
    names = gis.texts(frame, "name", file, required=False)
    names = [n if n else f"{t} {i + 1}" for i, (t, n) in enumerate(zip(types, names, strict=True))]
    capacity = gis.numbers(frame, "capacity", file, low=0, integer=True)
    points = shapely.point_on_surface(gis.projected(frame, epsg))
    out = pd.DataFrame(
        {"type": types, "name": names, "x_m": shapely.get_x(points), "y_m": shapely.get_y(points), "capacity": capacity}
    )
    return _with_lonlat(out, epsg)[columns]


def _gis_points(path: str | Path | None, role: str, epsg: int) -> pd.DataFrame:
    if path is None:
        return pd.DataFrame({c: [] for c in ("x_m", "y_m", "lon", "lat")})
    points = shapely.point_on_surface(gis.projected(gis.read_layer(path, role), epsg))
    return _with_lonlat(pd.DataFrame({"x_m": shapely.get_x(points), "y_m": shapely.get_y(points)}), epsg)
