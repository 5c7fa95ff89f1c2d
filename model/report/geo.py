"""Geography for GIS tools: facilities, communities, blocked cells and the walking bands of each type.

What ``--geojson`` (run, compare, optimize) writes into ``<folder>/geo/`` depends on where the
scenario lies, because GeoJSON is WGS84 longitude and latitude only (RFC 7946 §4):

* a **grid with** ``[grid] origin = [lon, lat]`` and a **street** scenario: GeoJSON files, WGS84
  longitude, latitude (:func:`write_geojson`, :func:`write_street_geojson`);
* a **grid without an origin**: one GeoPackage ``geo/<scenario>.gpkg`` (:func:`write_geopackage`)
  with a layer per GeoJSON file it replaces, in metres of a local engineering CRS
  (:data:`LOCAL_CRS`): easting = x metres, **northing = -y metres** from the grid's north-west
  corner (rows run south), so that the map is north up and not placed anywhere on the Earth.
  :func:`geography_note` is the line the commands print about it.

The layers (a GeoJSON file each, or a GeoPackage layer each), every attribute a plain number,
text or boolean (no lists or objects), so that a GIS tool's attribute table, labels and styles
use them as they are:

* ``facilities``: one Point per facility, at the centre of its cell; every column of the table
  given (facilities.csv's: ``id``, ``type``, ``name``, ``x``, ``y``, ``capacity`` and the run's
  totals), then ``label``, the type's label;
* ``communities``: one Polygon per community, its ``area`` rectangle; ``name``, ``residents``,
  ``x``, ``y``, ``w``, ``h`` (the area, in cells), ``gates`` (its gate cells as ``x:y`` joined by
  ``;``, from :meth:`model.scenario.Community.gate_cells`: the given gates or the default one)
  and ``gates_given`` (whether the scenario gave them);
* ``blocked``: the blocked cells, merged: one Polygon per edge-connected piece (cells that touch
  only at a corner are separate pieces), with ``cells``;
* ``bands_<type>`` for every type of ``fields_m``: one feature per band of
  :data:`~model.measures.access.BANDS_MIN` (5, 10, 15 minutes). The bands are **cumulative**: the
  ``max_min = 10`` geometry is the union of the squares of the walkable cells whose walking minutes
  (``field_m / m_per_min``, the same division as the access maps) are at most 10, so it contains
  the 5-minute cells too. The ``max_min = 15`` geometry contains exactly the centres of the
  walkable cells within 15 minutes and no other cell centre. A band without any cell (or a type
  nobody uses, whose pace is NaN) has a null geometry. ``type``, ``label``, ``band`` ("within 5
  min"), ``max_min``, ``m_per_min`` (null if not a number) and ``cells``.

Coordinates. Grid metres: cell (x, y) covers [x * cell_m, (x + 1) * cell_m] x
[y * cell_m, (y + 1) * cell_m], x eastwards and y with the row index, i.e. southwards (row 0 at
the top, as on the PNG maps). With ``[grid] origin = [lon, lat]`` (WGS84 degrees of the grid's
north-west corner, grid metres (0, 0)) they are projected to longitude and latitude from the
local transverse Mercator of :func:`local_projection`::

    +proj=tmerc +lat_0=<lat> +lon_0=<lon> +k_0=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs

with easting = x metres and **northing = -y metres**. The scale error of this projection is below
1e-5 within 25 km of the origin's meridian. Edges longer than 1 km are split before projecting (a
straight line in the projection is not one in longitude and latitude). Degrees are rounded to
:data:`DEGREE_DECIMALS` decimals. A grid that would cross the antimeridian or a pole cannot be
written as GeoJSON (its polygons would wrap round the Earth): :func:`geojson_problem` says so, and
the commands refuse ``--geojson`` for it before writing anything. Polygon rings follow RFC 7946's
right-hand rule (exteriors counter-clockwise, holes clockwise) in the coordinates written, in the
GeoPackage too. No file has a ``crs`` member (RFC 7946 removed it); the GeoJSON files have a
top-level foreign member ``lifecircle`` (RFC 7946 §6.1) with the scenario, cell size, origin and
projection.

Speed: the union of a band is built from its rows' runs of consecutive cells, runs of equal
columns in consecutive rows merged into one rectangle, then :func:`shapely.unary_union`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import mapping

from model.city.grid import City
from model.city.streets import StreetCity
from model.measures.access import BANDS_MIN
from model.report.bands import covered_metres, reached_segments
from model.report.gpkg import Crs, Layer, write_gpkg
from model.scenario import Scenario

GEO_FOLDER = "geo"
_SEGMENT_M = 1000.0  # edges longer than this (in metres) are split before projecting to longitude and latitude
# RFC 7946 §11.2: 6 decimals of a degree are about 10 cm; 7 are at most 1.1 cm, finer than any cell
# and than the local projection's error (1e-5 of 25 km is 25 cm), without the 15 digits of a float
DEGREE_DECIMALS = 7
# The CRS of the GeoPackage of a grid without an origin: an engineering (local) CRS, WKT 1's
# LOCAL_CS (what GeoPackage's gpkg_spatial_ref_sys holds, and what GDAL writes for PROJ's ENGCRS),
# metres east and north of the grid's north-west corner. Engineering, not a projected CRS placed
# somewhere by assumption: QGIS (through GDAL and PROJ) reads it as a CRS in metres with no
# position on the Earth, so lengths, areas and a scale bar are right and nothing puts the grid
# over the wrong place on a base map (no transformation to any geographic CRS exists).
LOCAL_CRS = Crs(
    name="lifecircle grid, not placed on the Earth",
    wkt='LOCAL_CS["lifecircle grid, not placed on the Earth",'
    'LOCAL_DATUM["north-west corner of the grid",32767],'
    'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH]]',
    description="metres east (x) and north (-y) of the grid's north-west corner; give [grid] origin to place it",
)


def local_projection(origin: tuple[float, float]) -> str:
    """The PROJ string of the local transverse Mercator centred on ``origin`` (longitude, latitude).

    Easting and northing are metres from the origin; a cell (x, y) of the grid has its corner at
    easting ``x * cell_m``, northing ``-y * cell_m`` (rows run south).
    """
    lon, lat = (float(v) for v in origin)
    return f"+proj=tmerc +lat_0={lat!r} +lon_0={lon!r} +k_0=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs"


def to_lonlat(origin: tuple[float, float]) -> pyproj.Transformer:
    """The transformer from the local projection of ``origin`` (easting, northing) to WGS84 (lon, lat)."""
    return pyproj.Transformer.from_crs(local_projection(origin), "EPSG:4326", always_xy=True)


def geography_note(scenario: Scenario) -> str | None:
    """What ``--geojson`` writes instead of GeoJSON for ``scenario`` (None when it writes GeoJSON)."""
    if scenario.grid is None or scenario.grid.origin is not None:
        return None
    return (
        f"note: {scenario.name} has no [grid] origin and GeoJSON is WGS84 longitude and latitude only"
        f" (RFC 7946), so --geojson writes geo/{scenario.name}.gpkg instead: a GeoPackage in metres east and"
        " north of the grid's north-west corner (a local CRS, north up, not placed on the Earth). For"
        " GeoJSON, give that corner's WGS84 position in the scenario: [grid] origin = [lon, lat]"
    )


def geojson_problem(scenario: Scenario) -> str | None:
    """Why ``scenario``'s grid cannot be written as GeoJSON, or None.

    A grid placed by ``[grid] origin`` that reaches past the antimeridian (180°) or holds a pole:
    its longitudes would wrap round and its polygons cross the whole map. Its outline, split
    every kilometre as it is written, is projected: no two neighbouring points may lie more than
    180° of longitude apart; and neither pole may project inside it.
    """
    if scenario.grid is None or scenario.grid.origin is None:
        return None
    g = scenario.grid
    east, south = g.width * g.cell_m, g.height * g.cell_m
    outline = shapely.get_coordinates(shapely.segmentize(shapely.box(0.0, -south, east, 0.0).exterior, _SEGMENT_M))
    lon, _ = to_lonlat(g.origin).transform(outline[:, 0], outline[:, 1])
    pole_e, pole_n = pyproj.Transformer.from_crs("EPSG:4326", local_projection(g.origin), always_xy=True).transform(
        np.zeros(2), np.array([90.0, -90.0])
    )
    wraps = not np.all(np.isfinite(lon)) or np.any(np.abs(np.diff(lon)) > 180.0)
    pole = np.any((pole_e >= 0) & (pole_e <= east) & (pole_n >= -south) & (pole_n <= 0))
    if not (wraps or pole):
        return None
    return (
        f"{scenario.path.name}: grid.origin: the grid of {g.width} x {g.height} cells of {g.cell_m:g} m from"
        f" {list(g.origin)} (its north-west corner) reaches past the antimeridian (180° longitude) or a pole,"
        " where GeoJSON's longitudes and latitudes wrap round; move the origin, or run without --geojson"
    )


def cell_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cover the True cells of ``mask`` (height, width) with disjoint rectangles of cells.

    Each row's runs of consecutive True cells, and then runs of the same columns in consecutive
    rows merged into one rectangle.

    Returns:
        x0, y0, x1, y1: the rectangles' first columns and rows, and their ends (exclusive), int64.

    """
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    y, x0 = np.nonzero(step == 1)  # row-major: starts and ends of a row's runs alternate
    _, x1 = np.nonzero(step == -1)
    order = np.lexsort((y, x1, x0))
    y, x0, x1 = y[order], x0[order], x1[order]
    new = np.ones(y.size, dtype=bool)
    new[1:] = (x0[1:] != x0[:-1]) | (x1[1:] != x1[:-1]) | (y[1:] != y[:-1] + 1)
    first = np.flatnonzero(new)
    last = np.append(first[1:], y.size)[: first.size] - 1  # no runs: none
    return tuple(x.astype(np.int64) for x in (x0[first], y[first], x1[first], y[last] + 1))


def cells_union(mask: np.ndarray, cell_m: float) -> shapely.Geometry:
    """The union of the squares of the True cells of ``mask`` (height, width), in grid metres.

    Returns:
        A Polygon or MultiPolygon; an empty geometry when no cell is True.

    """
    x0, y0, x1, y1 = cell_runs(mask)
    if x0.size == 0:
        return shapely.Polygon()
    return shapely.unary_union(shapely.box(x0 * cell_m, y0 * cell_m, x1 * cell_m, y1 * cell_m))


def _rounded(geom: shapely.Geometry) -> shapely.Geometry:
    """Degrees rounded to :data:`DEGREE_DECIMALS`, then rings turned to RFC 7946's right-hand rule."""
    geom = shapely.transform(geom, lambda xy: np.round(xy, DEGREE_DECIMALS))
    return shapely.orient_polygons(geom, exterior_cw=False)


def _geojson_geometry(geom: shapely.Geometry | None) -> dict | None:
    """A geometry in degrees as a GeoJSON geometry object (None if missing or empty)."""
    if geom is None or shapely.is_empty(geom):
        return None
    return mapping(_rounded(geom))


class _Placed:
    """Grid metres -> WGS84 longitude, latitude, through the local projection of ``[grid] origin``."""

    def __init__(self, scenario: Scenario):
        g = scenario.grid
        self.transformer = to_lonlat(g.origin)
        self.about = {
            "scenario": scenario.name,
            "coordinates": "WGS84 longitude, latitude",
            "decimals": DEGREE_DECIMALS,
            "cell_m": g.cell_m,
            "origin": list(g.origin),
            "projection": local_projection(g.origin) + " (northing = -y)",
        }

    def _lonlat(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self.transformer.transform(xy[:, 0], -xy[:, 1])
        return np.column_stack([lon, lat])

    def geometry(self, geom: shapely.Geometry | None) -> dict | None:
        """A grid-metre geometry as a GeoJSON geometry object (None if empty)."""
        if geom is None or shapely.is_empty(geom):
            return None
        return _geojson_geometry(shapely.transform(shapely.segmentize(geom, _SEGMENT_M), self._lonlat))


def _native(value: Any) -> Any:
    """A table value as a JSON value: numpy scalars as Python's, NaN, infinities and missing values as null."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_native(v) for v in value]
    return str(value)


def _write(path: Path, name: str, about: dict, features: list[dict]) -> Path:
    collection = {"type": "FeatureCollection", "name": name, "lifecircle": about, "features": features}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(collection, fh, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        fh.write("\n")
    return path


def _feature(geometry: dict | None, properties: dict) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _type_label(scenario: Scenario, ftype: str) -> str:
    return scenario.types[ftype].label if ftype in scenario.types else ftype


def _facility_rows(frame: pd.DataFrame, scenario: Scenario) -> list[dict]:
    """Every column of the facility table as plain values, then the type's ``label``."""
    columns = [str(c) for c in frame.columns]
    rows = []
    for row in frame.itertuples(index=False, name=None):
        properties = {c: _native(v) for c, v in zip(columns, row)}
        if "type" in properties and "label" not in properties:
            properties["label"] = _type_label(scenario, str(properties["type"]))
        rows.append(properties)
    return rows


def _band_properties(scenario: Scenario, ftype: str, max_min: int, pace: float) -> dict:
    return {
        "type": ftype,
        "label": _type_label(scenario, ftype),
        "band": f"within {max_min} min",
        "max_min": max_min,
        "m_per_min": _native(float(pace)),
    }


def _facility_layer(frame: pd.DataFrame, city: City, scenario: Scenario) -> Layer:
    if not {"x", "y"} <= set(frame.columns):
        raise ValueError("the facilities table needs columns x and y (the facility's cell)")
    xs = (frame["x"].to_numpy(dtype=np.float64) + 0.5) * city.cell_m
    ys = (frame["y"].to_numpy(dtype=np.float64) + 0.5) * city.cell_m
    description = f"{scenario.name}: facilities, a point at the centre of each one's cell, facilities.csv's columns"
    return Layer("facilities", "POINT", list(shapely.points(xs, ys)), _facility_rows(frame, scenario), description)


def _community_layer(city: City, scenario: Scenario) -> Layer:
    c = city.cell_m
    layer = Layer("communities", "POLYGON", description=f"{scenario.name}: communities, their area rectangles")
    for com in scenario.communities:
        x, y, w, h = com.area
        layer.geometries.append(shapely.box(x * c, y * c, (x + w) * c, (y + h) * c))
        gates = ";".join(f"{gx}:{gy}" for gx, gy in com.gate_cells(city.walkable))
        row = {"name": com.name, "residents": com.residents, "x": x, "y": y, "w": w, "h": h}
        layer.rows.append(row | {"gates": gates, "gates_given": com.gates is not None})
    return layer


def _blocked_layer(city: City, scenario: Scenario) -> Layer:
    layer = Layer("blocked", "POLYGON", description=f"{scenario.name}: blocked cells, one polygon per connected piece")
    union = cells_union(~np.asarray(city.walkable, dtype=bool), city.cell_m)
    if not shapely.is_empty(union):
        cell_area = city.cell_m**2
        for piece in shapely.get_parts(union):
            layer.geometries.append(piece)
            layer.rows.append({"cells": int(round(piece.area / cell_area))})
    return layer


def _band_layer(city: City, scenario: Scenario, ftype: str, field_m: np.ndarray, pace: float) -> Layer:
    walkable = np.asarray(city.walkable, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        minutes = (np.asarray(field_m, dtype=np.float64) / pace).reshape(city.height, city.width)
    description = f"{scenario.name}: walkable cells within 5, 10, 15 minutes of a {ftype} (cumulative)"
    layer = Layer(f"bands_{ftype}", "MULTIPOLYGON", description=description)
    for max_min in BANDS_MIN:
        mask = walkable & (minutes <= max_min)
        layer.geometries.append(cells_union(mask, city.cell_m))
        layer.rows.append(_band_properties(scenario, ftype, max_min, pace) | {"cells": int(mask.sum())})
    return layer


def grid_layers(
    city: City,
    scenario: Scenario,
    fields_m: dict[str, np.ndarray],
    paces: dict[str, float],
    facilities: pd.DataFrame,
) -> list[Layer]:
    """The layers of a grid run in grid metres (y southwards): facilities, communities, blocked, then the bands.

    Args:
        city: The city (grid size, cell size, walkable cells).
        scenario: Its scenario: communities and facility types' labels.
        fields_m: Per facility type, metres from every cell (flat, cell = y * width + x) to the
            nearest facility of the type, inf where unreachable. One bands layer per type.
        paces: Per type of ``fields_m``, the walking pace (m/min) its bands are drawn at.
        facilities: One row per facility with at least columns ``x`` and ``y`` (e.g.
            facilities.csv's, with visits); every column becomes an attribute.

    """
    layers = [_facility_layer(facilities, city, scenario), _community_layer(city, scenario)]
    layers.append(_blocked_layer(city, scenario))
    for ftype, field in fields_m.items():
        layers.append(_band_layer(city, scenario, ftype, field, float(paces[ftype])))
    return layers


def write_model_geojson(folder: Path, model, facilities: pd.DataFrame | None = None) -> list[Path]:
    """What ``--geojson`` writes for a model: every type's bands at the median own pace of its users.

    GeoJSON on streets (:func:`write_street_geojson`) and on a grid with ``[grid] origin``
    (:func:`write_geojson`); the GeoPackage on a grid without one (:func:`write_geopackage`).
    ``facilities`` defaults to facilities.csv's columns without the run's totals (a model that
    has not run, e.g. a scenario ``lifecircle optimize`` proposes).
    """
    from model.measures.access import needs_by_type, users_pace
    from model.report.files import facilities_table

    built = model.built
    needs = needs_by_type(built.residents.age, model.types)
    paces = {t: users_pace(built.residents.m_per_min, needs[t]) for t in built.fields_m}
    table = facilities_table(built.city) if facilities is None else facilities
    if isinstance(built.city, StreetCity):
        return write_street_geojson(folder, built.city, model.spec, built.fields_m, paces, table)
    if model.spec.grid.origin is None:
        return [write_geopackage(folder, built.city, model.spec, built.fields_m, paces, table)]
    return write_geojson(folder, built.city, model.spec, built.fields_m, paces, table)


def write_geopackage(
    folder: Path,
    city: City,
    scenario: Scenario,
    fields_m: dict[str, np.ndarray],
    paces: dict[str, float],
    facilities: pd.DataFrame,
) -> Path:
    """Write ``folder/geo/<scenario>.gpkg``: the layers of :func:`grid_layers` in :data:`LOCAL_CRS`.

    Easting = x metres, northing = -y metres (north up); rings counter-clockwise outside, clockwise
    round holes; bands as MultiPolygons. The arguments are :func:`grid_layers`'.

    Returns:
        The file written.

    """
    out = Path(folder) / GEO_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    layers = grid_layers(city, scenario, fields_m, paces, facilities)
    for layer in layers:
        layer.geometries = [_north_up(g, layer.geometry_type) for g in layer.geometries]
    return write_gpkg(out / f"{scenario.name}.gpkg", layers, LOCAL_CRS)


def _north_up(geom: shapely.Geometry, geometry_type: str) -> shapely.Geometry | None:
    """A grid-metre geometry with northing = -y, its rings oriented, as ``geometry_type`` (None if empty)."""
    if shapely.is_empty(geom):
        return None
    geom = shapely.transform(geom, lambda xy: xy * [1.0, -1.0] + 0.0)  # + 0.0: northing 0, not -0
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    if geometry_type == "MULTIPOLYGON" and geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return geom


def write_geojson(
    folder: Path,
    city: City,
    scenario: Scenario,
    fields_m: dict[str, np.ndarray],
    paces: dict[str, float],
    facilities: pd.DataFrame,
) -> list[Path]:
    """Write the GeoJSON files of a run on a grid placed by ``[grid] origin`` into ``folder/geo/``.

    Args:
        folder: The results folder; ``geo/`` is made in it.
        city: As :func:`grid_layers`.
        scenario: As :func:`grid_layers`; its ``grid.origin`` places the grid.
        fields_m: As :func:`grid_layers`.
        paces: As :func:`grid_layers`.
        facilities: As :func:`grid_layers`.

    Returns:
        The files written: facilities, communities, blocked, then the bands in ``fields_m``'s order.

    Raises:
        ValueError: The grid has no origin (GeoJSON is WGS84 only: :func:`write_geopackage`), or
            cannot be written (:func:`geojson_problem`).

    """
    if scenario.grid.origin is None:
        raise ValueError(f"{scenario.name}: GeoJSON is WGS84 only, and the grid has no [grid] origin")
    problem = geojson_problem(scenario)
    if problem:
        raise ValueError(problem)
    out = Path(folder) / GEO_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    coords = _Placed(scenario)
    written = []
    for layer in grid_layers(city, scenario, fields_m, paces, facilities):
        features = [_feature(coords.geometry(g), row) for g, row in zip(layer.geometries, layer.rows)]
        written.append(_write(out / f"{layer.name}.geojson", layer.name, coords.about, features))
    return written


def _lonlat_of(city: StreetCity):
    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = city.lonlat(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return convert


def write_street_geojson(
    folder: Path,
    city: StreetCity,
    scenario: Scenario,
    fields_m: dict[str, np.ndarray],
    paces: dict[str, float],
    facilities: pd.DataFrame,
) -> list[Path]:
    """The GeoJSON files of a run on streets, in WGS84 (RFC 7946), into ``folder/geo/``.

    * ``facilities.geojson``: a Point per facility (its ``lon``, ``lat``), every column of
      ``facilities`` as properties, then ``label``, the type's label;
    * ``communities.geojson``: per community, the convex hull of its homes buffered by 25 m (the
      scenario gives no boundary: a drawing aid, not an area of the model), with ``name``,
      ``residents``, ``homes`` and ``gates`` (their number);
    * ``streets.geojson``: the ways, a LineString each, with ``u``, ``v`` (node ids), ``length_m``;
    * ``bands_<type>.geojson``: per band of 5, 10 and 15 minutes, cumulative, a MultiLineString of
      the pieces of ways within the walk at the type's pace (``model.report.bands``), with
      ``type``, ``label``, ``band``, ``max_min``, ``m_per_min`` and ``metres`` (the walking length
      of the pieces, ``bands.covered_metres``; the lines are drawn straight between the ways' nodes).

    Degrees are rounded to :data:`DEGREE_DECIMALS` decimals.
    """
    out = Path(folder) / GEO_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    about = {
        "scenario": scenario.name,
        "coordinates": "WGS84 longitude, latitude",
        "decimals": DEGREE_DECIMALS,
        "crs_of_metres": city.crs,
    }
    to_degrees = _lonlat_of(city)
    xy = city.surface.node_xy_m

    def lines(segments: np.ndarray) -> shapely.Geometry:
        if not len(segments):
            return shapely.MultiLineString()
        flat = to_degrees(segments.reshape(-1, 2)).reshape(-1, 2, 2)
        return shapely.MultiLineString(list(flat))

    points = shapely.points(facilities["lon"].to_numpy(dtype=float), facilities["lat"].to_numpy(dtype=float))
    fac_features = [_feature(_geojson_geometry(p), row) for p, row in zip(points, _facility_rows(facilities, scenario))]
    com_features = []
    for ci, com in enumerate(scenario.communities):
        homes = city.homes.loc[city.homes["community"] == ci, "node"].to_numpy()
        hull = shapely.convex_hull(shapely.MultiPoint(xy[homes])).buffer(25.0) if homes.size else None
        geometry = None if hull is None else _geojson_geometry(shapely.transform(hull, to_degrees))
        properties = {"name": com.name, "residents": com.residents, "homes": int(homes.size)}
        properties["gates"] = int(city.gates[ci].size)
        com_features.append(_feature(geometry, properties))
    u, v, length = (city.edges[c].to_numpy() for c in ("u", "v", "length_m"))
    ends = to_degrees(np.concatenate([xy[u], xy[v]])).reshape(2, -1, 2)
    street_features = [
        _feature(
            _geojson_geometry(shapely.LineString([ends[0, i], ends[1, i]])),
            {"u": int(city.street_id[u[i]]), "v": int(city.street_id[v[i]]), "length_m": float(length[i])},
        )
        for i in range(u.size)
    ]
    written = [
        _write(out / "facilities.geojson", "facilities", about, fac_features),
        _write(out / "communities.geojson", "communities", about, com_features),
        _write(out / "streets.geojson", "streets", about, street_features),
    ]
    for ftype, field in fields_m.items():
        pace = float(paces[ftype])
        features = []
        for max_min in BANDS_MIN:
            budget = max_min * pace if math.isfinite(pace) else -1.0
            pieces = reached_segments(xy[u], xy[v], field[u], field[v], length, budget)
            metres = float(covered_metres(field[u], field[v], length, budget).sum())
            properties = _band_properties(scenario, ftype, max_min, pace) | {"metres": metres}
            features.append(_feature(_geojson_geometry(lines(pieces)), properties))
        written.append(_write(out / f"bands_{ftype}.geojson", f"bands_{ftype}", about, features))
    return written
