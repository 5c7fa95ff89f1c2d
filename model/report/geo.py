"""GeoJSON files for GIS tools: facilities, communities, blocked cells and the walking bands of each type.

:func:`write_geojson` writes into ``<folder>/geo/``:

* ``facilities.geojson``: one Point per facility, at the centre of its cell; its properties are
  every column of the table given (numbers as JSON numbers, NaN and infinities as null);
* ``communities.geojson``: one Polygon per community, its ``area`` rectangle; properties
  ``name``, ``residents``, ``area`` ([x, y, w, h] in cells), ``gates`` ([[x, y], ...], from
  :meth:`model.scenario.Community.gate_cells`: the given gates or the default one) and
  ``gates_given`` (whether the scenario gave them);
* ``blocked.geojson``: the blocked cells, merged: one Polygon feature per edge-connected piece
  (cells that touch only at a corner are separate pieces), with property ``cells``;
* ``bands_<type>.geojson`` for every type of ``fields_m``: one feature per band of
  :data:`~model.measures.access.BANDS_MIN` (5, 10, 15 minutes). The bands are **cumulative**: the
  ``max_min = 10`` geometry is the union of the squares of the walkable cells whose walking minutes
  (``field_m / m_per_min``, the same division as the access maps) are at most 10, so it contains
  the 5-minute cells too. The ``max_min = 15`` geometry contains exactly the centres of the
  walkable cells within 15 minutes and no other cell centre. A band without any cell (or a type
  nobody uses, whose pace is NaN) has a null geometry. Properties ``type``, ``label``,
  ``max_min``, ``m_per_min`` (null if not a number) and ``cells``.

Coordinates. Without ``[grid] origin`` they are **grid metres**: cell (x, y) covers
[x * cell_m, (x + 1) * cell_m] x [y * cell_m, (y + 1) * cell_m]; x grows eastwards and y with the
row index, i.e. **southwards** (as on the PNG maps, whose row 0 is at the top). A GIS tool that
draws y upwards shows such a file upside down (north at the bottom). The files then have no
``crs`` member (none could name grid metres); the top-level member ``lifecircle`` says
``"coordinates": "grid metres, y southwards"``.

With ``[grid] origin = [lon, lat]`` (WGS84 degrees of the grid's north-west corner, grid metres
(0, 0)) they are **WGS84 longitude, latitude** (RFC 7946, so again no ``crs`` member), projected
from the local transverse Mercator of :func:`local_projection`::

    +proj=tmerc +lat_0=<lat> +lon_0=<lon> +k_0=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs +type=crs

with easting = x metres and **northing = -y metres** (rows run south). The scale error of this
projection is below 1e-5 within 25 km of the origin's meridian. Edges longer than 1 km are split
before projecting (a straight line in the projection is not one in longitude and latitude).
Polygon rings follow RFC 7946's right-hand rule (exteriors counter-clockwise) in the coordinates
written.

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
from model.scenario import Scenario

GEO_FOLDER = "geo"
_SEGMENT_M = 1000.0  # edges longer than this (in metres) are split before projecting to longitude and latitude


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


class _Coordinates:
    """Grid metres -> the coordinates written: grid metres, or WGS84 through the local projection."""

    def __init__(self, scenario: Scenario):
        g = scenario.grid
        self.origin = g.origin
        self.transformer = to_lonlat(g.origin) if g.origin is not None else None
        self.about = {
            "scenario": scenario.name,
            "coordinates": "WGS84 longitude, latitude" if self.transformer else "grid metres, y southwards",
            "cell_m": g.cell_m,
            "origin": list(g.origin) if g.origin is not None else None,
            "projection": local_projection(g.origin) + " (northing = -y)" if g.origin is not None else None,
        }

    def _lonlat(self, xy: np.ndarray) -> np.ndarray:
        lon, lat = self.transformer.transform(xy[:, 0], -xy[:, 1])
        return np.column_stack([lon, lat])

    def geometry(self, geom: shapely.Geometry) -> dict | None:
        """A grid-metre geometry as a GeoJSON geometry object (None if empty)."""
        if geom is None or shapely.is_empty(geom):
            return None
        if self.transformer is not None:
            geom = shapely.transform(shapely.segmentize(geom, _SEGMENT_M), self._lonlat)
        return mapping(shapely.orient_polygons(geom, exterior_cw=False))


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


def _write(path: Path, name: str, coords: _Coordinates, features: list[dict]) -> Path:
    collection = {"type": "FeatureCollection", "name": name, "lifecircle": coords.about, "features": features}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(collection, fh, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        fh.write("\n")
    return path


def _feature(geometry: dict | None, properties: dict) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _facility_features(frame: pd.DataFrame, cell_m: float, coords: _Coordinates) -> list[dict]:
    if not {"x", "y"} <= set(frame.columns):
        raise ValueError("the facilities table needs columns x and y (the facility's cell)")
    xs = (frame["x"].to_numpy(dtype=np.float64) + 0.5) * cell_m
    ys = (frame["y"].to_numpy(dtype=np.float64) + 0.5) * cell_m
    columns = list(frame.columns)
    features = []
    for x, y, row in zip(xs, ys, frame.itertuples(index=False, name=None)):
        properties = {str(c): _native(v) for c, v in zip(columns, row)}
        features.append(_feature(coords.geometry(shapely.Point(x, y)), properties))
    return features


def _community_features(city: City, scenario: Scenario, coords: _Coordinates) -> list[dict]:
    c = city.cell_m
    features = []
    for com in scenario.communities:
        x, y, w, h = com.area
        properties = {
            "name": com.name,
            "residents": com.residents,
            "area": list(com.area),
            "gates": [list(cell) for cell in com.gate_cells(city.walkable)],
            "gates_given": com.gates is not None,
        }
        features.append(_feature(coords.geometry(shapely.box(x * c, y * c, (x + w) * c, (y + h) * c)), properties))
    return features


def _blocked_features(city: City, coords: _Coordinates) -> list[dict]:
    union = cells_union(~np.asarray(city.walkable, dtype=bool), city.cell_m)
    if shapely.is_empty(union):
        return []
    cell_area = city.cell_m**2
    return [
        _feature(coords.geometry(piece), {"cells": int(round(piece.area / cell_area))})
        for piece in shapely.get_parts(union)
    ]


def _band_features(
    city: City, scenario: Scenario, ftype: str, field_m: np.ndarray, pace: float, coords: _Coordinates
) -> list[dict]:
    walkable = np.asarray(city.walkable, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        minutes = (np.asarray(field_m, dtype=np.float64) / pace).reshape(city.height, city.width)
    label = scenario.types[ftype].label if ftype in scenario.types else ftype
    features = []
    for max_min in BANDS_MIN:
        mask = walkable & (minutes <= max_min)
        properties = {
            "type": ftype,
            "label": label,
            "max_min": max_min,
            "m_per_min": _native(float(pace)),
            "cells": int(mask.sum()),
        }
        features.append(_feature(coords.geometry(cells_union(mask, city.cell_m)), properties))
    return features


def write_model_geojson(folder: Path, model, facilities: pd.DataFrame | None = None) -> list[Path]:
    """:func:`write_geojson` for a model: every type's bands at the median own pace of its users.

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
    return write_geojson(folder, built.city, model.spec, built.fields_m, paces, table)


class _Degrees:
    """Coordinates already in WGS84 degrees (a street city converts its own)."""

    def __init__(self, scenario: Scenario, city: StreetCity):
        self.about = {"scenario": scenario.name, "coordinates": "WGS84 longitude, latitude", "crs_of_metres": city.crs}

    def geometry(self, geom: shapely.Geometry) -> dict | None:
        if geom is None or shapely.is_empty(geom):
            return None
        return mapping(shapely.orient_polygons(geom, exterior_cw=False))


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
      ``facilities`` as properties;
    * ``communities.geojson``: per community, the convex hull of its homes buffered by 25 m (the
      scenario gives no boundary: a drawing aid, not an area of the model), with ``name``,
      ``residents``, ``homes`` and ``gates`` (their number);
    * ``streets.geojson``: the ways, a LineString each, with ``u``, ``v`` (node ids), ``length_m``;
    * ``bands_<type>.geojson``: per band of 5, 10 and 15 minutes, cumulative, a MultiLineString of
      the pieces of ways within the walk at the type's pace (``model.report.bands``), with
      ``type``, ``label``, ``max_min``, ``m_per_min`` and ``metres`` (the walking length of the
      pieces, ``bands.covered_metres``; the lines are drawn straight between the ways' nodes).
    """
    out = Path(folder) / GEO_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    coords = _Degrees(scenario, city)
    to_degrees = _lonlat_of(city)
    xy = city.surface.node_xy_m

    def lines(segments: np.ndarray) -> shapely.Geometry:
        if not len(segments):
            return shapely.MultiLineString()
        flat = to_degrees(segments.reshape(-1, 2)).reshape(-1, 2, 2)
        return shapely.MultiLineString(list(flat))

    fac_features = [
        _feature(
            {"type": "Point", "coordinates": [float(row["lon"]), float(row["lat"])]},
            {str(c): _native(v) for c, v in row.items()},
        )
        for _, row in facilities.iterrows()
    ]
    com_features = []
    for ci, com in enumerate(scenario.communities):
        homes = city.homes.loc[city.homes["community"] == ci, "node"].to_numpy()
        hull = shapely.convex_hull(shapely.MultiPoint(xy[homes])).buffer(25.0) if homes.size else None
        geometry = None if hull is None else coords.geometry(shapely.transform(hull, to_degrees))
        properties = {"name": com.name, "residents": com.residents, "homes": int(homes.size)}
        properties["gates"] = int(city.gates[ci].size)
        com_features.append(_feature(geometry, properties))
    u, v, length = (city.edges[c].to_numpy() for c in ("u", "v", "length_m"))
    ends = to_degrees(np.concatenate([xy[u], xy[v]])).reshape(2, -1, 2)
    street_features = [
        _feature(
            {"type": "LineString", "coordinates": [ends[0, i].tolist(), ends[1, i].tolist()]},
            {"u": int(city.street_id[u[i]]), "v": int(city.street_id[v[i]]), "length_m": float(length[i])},
        )
        for i in range(u.size)
    ]
    written = [
        _write(out / "facilities.geojson", "facilities", coords, fac_features),
        _write(out / "communities.geojson", "communities", coords, com_features),
        _write(out / "streets.geojson", "streets", coords, street_features),
    ]
    for ftype, field in fields_m.items():
        pace = float(paces[ftype])
        label = scenario.types[ftype].label if ftype in scenario.types else ftype
        features = []
        for max_min in BANDS_MIN:
            budget = max_min * pace if math.isfinite(pace) else -1.0
            pieces = reached_segments(xy[u], xy[v], field[u], field[v], length, budget)
            metres = float(covered_metres(field[u], field[v], length, budget).sum())
            properties = {"type": ftype, "label": label, "max_min": max_min, "m_per_min": _native(pace)}
            properties["metres"] = metres
            features.append(_feature(coords.geometry(lines(pieces)), properties))
        written.append(_write(out / f"bands_{ftype}.geojson", f"bands_{ftype}", coords, features))
    return written


def write_geojson(
    folder: Path,
    city: City,
    scenario: Scenario,
    fields_m: dict[str, np.ndarray],
    paces: dict[str, float],
    facilities: pd.DataFrame,
) -> list[Path]:
    """Write the GeoJSON files of a run into ``folder/geo/`` (see the module's docstring).

    Args:
        folder: The results folder; ``geo/`` is made in it.
        city: The city (grid size, cell size, walkable cells).
        scenario: Its scenario: communities, facility types' labels and ``grid.origin``.
        fields_m: Per facility type, metres from every cell (flat, cell = y * width + x) to the
            nearest facility of the type, inf where unreachable. One bands file per type.
        paces: Per type of ``fields_m``, the walking pace (m/min) its bands are drawn at.
        facilities: The facility table to write (e.g. facilities.csv's, with visits): one row per
            facility with at least columns ``x`` and ``y``; every column becomes a property.

    Returns:
        The files written: facilities, communities, blocked, then the bands in ``fields_m``'s order.

    """
    out = Path(folder) / GEO_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    coords = _Coordinates(scenario)
    written = [
        _write(out / "facilities.geojson", "facilities", coords, _facility_features(facilities, city.cell_m, coords)),
        _write(out / "communities.geojson", "communities", coords, _community_features(city, scenario, coords)),
        _write(out / "blocked.geojson", "blocked", coords, _blocked_features(city, coords)),
    ]
    for ftype, field in fields_m.items():
        features = _band_features(city, scenario, ftype, field, paces[ftype], coords)
        written.append(_write(out / f"bands_{ftype}.geojson", f"bands_{ftype}", coords, features))
    return written
