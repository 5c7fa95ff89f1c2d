"""A GeoPackage writer on the standard library's sqlite3: layers of features in one CRS, one file.

GeoPackage (OGC 12-128r18, version 1.2.1 here) is a SQLite database with three tables of its own:
``gpkg_spatial_ref_sys`` (the CRSs, as WKT), ``gpkg_contents`` (one row per layer) and
``gpkg_geometry_columns`` (each layer's geometry column, its type and CRS); each layer is a
table with an integer ``fid``, a ``geom`` column of GeoPackage binary geometries (a small
header with the CRS id and the envelope, then ISO WKB, §2.1.3) and one column per attribute.
QGIS, GDAL/OGR (and so geopandas and pyogrio), ArcGIS read it.

Written here rather than through GDAL (pyogrio or fiona, optional dependencies of the project:
the ``osm`` extra) so that every install writes it, and byte for byte the same on every run:
``last_change`` is a fixed date (:data:`LAST_CHANGE`), as GDAL's own ``OGR_CURRENT_DATE``
setting does for reproducible builds, and nothing else depends on the clock. No spatial index
(an extension; our layers hold at most thousands of features, which GIS tools draw at once).

Attribute types are plain (GeoPackage §1.1.1.1.3): ``BOOLEAN``, ``INTEGER``, ``REAL`` and
``TEXT``, chosen per column from its values; missing values, NaN and infinities are NULL.
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

APPLICATION_ID = 0x47504B47  # "GPKG", GeoPackage §1.1.1.1.1
USER_VERSION = 10201  # GeoPackage 1.2.1: read by GDAL since 2.2 (and so by every QGIS 3)
LAST_CHANGE = "2000-01-01T00:00:00.000Z"  # a fixed date, so that the same run writes the same bytes
FIRST_SRS_ID = 100000  # the first id GDAL gives a CRS of organization NONE (any id is allowed)
_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]]'
)
# the three CRS rows every GeoPackage holds (§1.1.2.1.2)
_REQUIRED_SRS = (
    ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude coordinates in decimal degrees"),
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
)
_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
  description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
  identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL,
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
"""
_GEOMETRY_TYPES = ("POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRY")


@dataclass(frozen=True)
class Crs:
    """A CRS as a GeoPackage row: its name, WKT (version 1, as §1.1.2.1.1 asks) and description."""

    name: str
    wkt: str
    description: str = ""
    organization: str = "NONE"
    code: int = FIRST_SRS_ID


@dataclass
class Layer:
    """One layer: a geometry and a row of attributes per feature, all with the same columns.

    Attributes:
        name: The table name (a GIS tool's layer name).
        geometry_type: One of POINT, LINESTRING, POLYGON, MULTI... or GEOMETRY.
        geometries: Per feature, a shapely geometry in the CRS's units, or None (empty).
        rows: Per feature, column -> value (numbers, text, booleans, None).
        description: A sentence for gpkg_contents.

    """

    name: str
    geometry_type: str
    geometries: list[shapely.Geometry | None] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""


def _quote(name: str) -> str:
    """An SQL identifier in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def _plain(value: Any) -> Any:
    """A value as SQLite stores it: numpy as Python, NaN, infinities and missing as None, lists as JSON text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return None if value != value else str(value)  # pd.NA and NaT compare unequal to themselves


def column_type(values: list[Any]) -> str:
    """The GeoPackage type of a column from its (plain) values: BOOLEAN, INTEGER, REAL or TEXT."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INTEGER"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "REAL"
    return "TEXT"


def geometry_blob(geom: shapely.Geometry | None, srs_id: int) -> bytes | None:
    """A GeoPackage binary geometry (§2.1.3): "GP", version 0, flags, the CRS id, the envelope, ISO WKB.

    Flags: little-endian (bit 0), an x/y envelope (bits 1-3 = 1) except for points (none).
    """
    if geom is None or shapely.is_empty(geom):
        return None
    point = shapely.get_type_id(geom) == 0
    flags = 0b0000_0001 if point else 0b0000_0011
    header = b"GP" + bytes([0, flags]) + struct.pack("<i", srs_id)
    if not point:
        min_x, min_y, max_x, max_y = shapely.bounds(geom)
        header += struct.pack("<4d", min_x, max_x, min_y, max_y)
    return header + shapely.to_wkb(geom, byte_order=1, flavor="iso", output_dimension=2)


def write_gpkg(path: Path, layers: list[Layer], crs: Crs) -> Path:
    """Write ``layers`` into a new GeoPackage at ``path`` (an existing file is replaced).

    Returns:
        ``path``.

    """
    path = Path(path)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {USER_VERSION}")
        con.execute("BEGIN")
        for statement in _SCHEMA.split(";")[:-1]:
            con.execute(statement)
        rows = [*_REQUIRED_SRS, (crs.name, crs.code, crs.organization, crs.code, crs.wkt, crs.description)]
        con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", rows)
        for layer in layers:
            _write_layer(con, layer, crs.code)
        con.execute("COMMIT")
    finally:
        con.close()
    return path


def _write_layer(con: sqlite3.Connection, layer: Layer, srs_id: int) -> None:
    if layer.geometry_type not in _GEOMETRY_TYPES:
        raise ValueError(f"{layer.name}: geometry type {layer.geometry_type!r} is not one of {_GEOMETRY_TYPES}")
    columns = list(dict.fromkeys(c for row in layer.rows for c in row))
    values = [[_plain(row.get(c)) for c in columns] for row in layer.rows]
    types = [column_type([v[i] for v in values]) for i in range(len(columns))]
    table = _quote(layer.name)
    fields = "".join(f", {_quote(c)} {t}" for c, t in zip(columns, types))
    con.execute(
        f'CREATE TABLE {table} ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "geom" {layer.geometry_type}{fields})'
    )
    present = [g for g in layer.geometries if g is not None and not shapely.is_empty(g)]
    bounds = shapely.total_bounds(present) if present else [None] * 4
    con.execute(
        "INSERT INTO gpkg_contents VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, ?)",
        (layer.name, layer.name, layer.description, LAST_CHANGE, *(_plain(b) for b in bounds), srs_id),
    )
    con.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)", (layer.name, layer.geometry_type, srs_id)
    )
    marks = ", ".join("?" * (len(columns) + 2))
    con.executemany(
        f"INSERT INTO {table} VALUES ({marks})",
        [(i + 1, geometry_blob(g, srs_id), *v) for i, (g, v) in enumerate(zip(layer.geometries, values))],
    )
