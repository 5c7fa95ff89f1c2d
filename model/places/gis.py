"""A planner's own GIS layers, read and checked: streets, buildings, communities, facilities, fences, gates.

Each layer is a file GDAL reads through pyogrio (GeoJSON, GeoPackage, shapefile, ...) in any
coordinate reference system pyproj knows; it is reprojected into the import's UTM zone. The
columns read, and the geometry each layer holds, are the table :data:`LAYERS` (docs/places.md,
"lifecircle import gis"). Every problem is a :class:`~model.scenario.ScenarioError` naming the file
and the column (the key), and nothing is written.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from model.scenario import Problem, ScenarioError, load_catalogue
from model.scenario.reading import file_problem

if TYPE_CHECKING:
    import geopandas as gpd


@dataclass(frozen=True)
class Layer:
    """What one layer holds.

    Attributes:
        geometry: "line", "polygon" or "point" (a polygon is also read as a point: its
            representative point, inside it).
        required: Columns that must be there.
        optional: Columns read when there.

    """

    geometry: str
    required: tuple[str, ...]
    optional: tuple[str, ...]


LAYERS = {
    "streets": Layer("line", (), ("length_m",)),
    "buildings": Layer("polygon", (), ("levels", "residential")),
    "communities": Layer("polygon", ("name",), ("residents",)),
    "facilities": Layer("point", ("type", "name"), ("capacity",)),
    "barriers": Layer("line", (), ()),
    "gates": Layer("point", (), ()),
}
"""The layers of ``lifecircle import gis`` and their columns; other columns are ignored."""

SHAPEFILE_NAME_LENGTH = 10
"""A shapefile's column names have at most 10 characters: ``residential`` is read as ``residentia`` too."""

_GEOMETRY_TYPES = {
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
    "point": ("Point", "Polygon", "MultiPolygon"),
}
_TRUE = ("true", "yes", "1", "t", "y")
_FALSE = ("false", "no", "0", "f", "n", "")


def _problem(file: str, key: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(file, key, message)])


def _said(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= 200 else text[:197] + "..."


# --------------------------------------------------------------------------- reading


def read_layer(path: str | Path, role: str) -> gpd.GeoDataFrame:
    """One layer, as read, with its CRS and geometry checked (not yet reprojected).

    A file of several layers (a GeoPackage) is read at the layer named ``role`` ("streets",
    "buildings", ...), so that one plan.gpkg can serve every option; a file of one layer is read
    whatever its layer is called.

    Raises:
        ScenarioError: A missing or unreadable file; several layers and none named ``role``; no
            CRS or one pyproj cannot read (key ``crs``); a missing column (key: the column); a
            feature without geometry or of the wrong kind (key ``geometry``).

    """
    import geopandas as gpd
    import pyogrio

    file = str(path)
    problem = file_problem(path, limit=None)  # a layer may be large, or a folder (a shapefile's, a .gdb)
    if problem is not None and problem.why != "folder":
        raise _problem(file, "", "no such file" if problem.why == "missing" else problem.message)
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        layer = _choose_layer(layers, role, file)
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except ScenarioError:
        raise
    except Exception as exc:  # GDAL's errors: not a layer it can read
        raise _problem(
            file, "", f"cannot be read as a GIS layer (GeoJSON, GeoPackage, shapefile): {_said(exc)}"
        ) from None
    _check_crs(frame, file)
    spec = LAYERS[role]
    frame = _full_names(frame, spec)
    _check_columns(frame, spec, file, role)
    _check_geometry(frame, spec, file, role)
    return frame


def _choose_layer(layers: list[str], role: str, file: str) -> str:
    if len(layers) == 1:
        return layers[0]
    if role in layers:
        return role
    if not layers:
        raise _problem(file, "", "holds no layer")
    named = ", ".join(layers[:6]) + (", ..." if len(layers) > 6 else "")
    raise _problem(file, "", f"holds {len(layers)} layers ({named}) and none is called '{role}'")


def _check_crs(frame: gpd.GeoDataFrame, file: str) -> None:
    if frame.crs is None:
        prj = Path(file).with_suffix(".prj")
        if Path(file).suffix.lower() == ".shp" and prj.exists():
            raise _problem(file, "crs", f"{prj.name} does not hold a coordinate reference system that can be read")
        raise _problem(
            file,
            "crs",
            "has no coordinate reference system (a shapefile needs its .prj; GeoJSON is WGS84 by its standard)",
        )
    try:
        crs = pyproj.CRS.from_user_input(frame.crs)
        pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    except Exception as exc:  # a CRS GDAL read but pyproj cannot transform
        raise _problem(file, "crs", f"cannot be used: {_said(exc)}") from None


def _full_names(frame: gpd.GeoDataFrame, spec: Layer) -> gpd.GeoDataFrame:
    """Columns a shapefile cut to its 10 characters (``residentia``) under their full names."""
    short = {c[:SHAPEFILE_NAME_LENGTH]: c for c in spec.required + spec.optional if len(c) > SHAPEFILE_NAME_LENGTH}
    renames = {k: v for k, v in short.items() if k in frame.columns and v not in frame.columns}
    return frame.rename(columns=renames) if renames else frame


def _check_columns(frame: gpd.GeoDataFrame, spec: Layer, file: str, role: str) -> None:
    columns = [str(c) for c in frame.columns if c != frame.geometry.name]
    for column in spec.required:
        if column not in columns:
            close = difflib.get_close_matches(column, columns, n=1, cutoff=0.5)
            close += [c for c in columns if c.lower() == column and c not in close]
            hint = f"; did you mean '{close[0]}'?" if close else f"; its columns: {', '.join(columns) or 'none'}"
            raise _problem(file, column, f"missing column: the {role} layer needs '{column}'{hint}")


def _check_geometry(frame: gpd.GeoDataFrame, spec: Layer, file: str, role: str) -> None:
    if frame.empty:
        raise _problem(file, "", f"holds no features: the {role} layer is empty")
    geometry = frame.geometry
    missing = np.flatnonzero((geometry.isna() | geometry.is_empty).to_numpy())
    if len(missing):
        raise _problem(file, "geometry", f"feature {missing[0] + 1} has no geometry")
    allowed = _GEOMETRY_TYPES[spec.geometry]
    wrong = np.flatnonzero(~geometry.geom_type.isin(allowed).to_numpy())
    if len(wrong):
        kind = geometry.geom_type.iloc[wrong[0]]
        words = {"line": "lines", "polygon": "polygons", "point": "points (or polygons)"}[spec.geometry]
        raise _problem(file, "geometry", f"feature {wrong[0] + 1} is a {kind}: the {role} layer holds {words}")


# --------------------------------------------------------------------------- projection


def lonlat_centre(frame: gpd.GeoDataFrame) -> tuple[float, float]:
    """The centre of a layer's bounds in WGS84 degrees."""
    w, s, e, n = frame.to_crs("EPSG:4326").total_bounds
    return (w + e) / 2, (s + n) / 2


def projected(frame: gpd.GeoDataFrame, epsg: int) -> np.ndarray:
    """A layer's geometries in the import's projection (shapely, metres)."""
    return frame.geometry.to_crs(epsg).to_numpy()


# --------------------------------------------------------------------------- values of columns


def numbers(frame: pd.DataFrame, column: str, file: str, *, low: float, integer: bool = False) -> np.ndarray:
    """A numeric column, NaN where empty; a value that is not a number of at least ``low`` is refused."""
    out = np.full(len(frame), np.nan)
    if column not in frame:
        return out
    for i, value in enumerate(frame[column].tolist()):
        if value is None or (isinstance(value, str) and not value.strip()) or _is_nan(value):
            continue
        number = _number(value)
        whole = number is not None and float(number).is_integer()
        if number is None or number < low or (integer and not whole):
            words = "an integer" if integer else "a number"
            raise _problem(file, column, f"feature {i + 1}: must be {words} of at least {low:g}, not {value!r}")
        out[i] = number
    return out


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def flags(frame: pd.DataFrame, column: str, file: str) -> np.ndarray | None:
    """A true/false column (true, yes, 1 / false, no, 0, empty), or None when the layer has none."""
    if column not in frame:
        return None
    out = np.zeros(len(frame), dtype=bool)
    for i, value in enumerate(frame[column].tolist()):
        text = "" if value is None or _is_nan(value) else str(value).strip().lower()
        if isinstance(value, bool) or text in _TRUE + _FALSE:
            out[i] = bool(value) if isinstance(value, bool) else text in _TRUE
        elif _number(value) in (0.0, 1.0):
            out[i] = _number(value) == 1.0
        else:
            raise _problem(file, column, f"feature {i + 1}: must be true or false (yes/no, 1/0), not {value!r}")
    return out


def texts(frame: pd.DataFrame, column: str, file: str, *, required: bool) -> list[str | None]:
    """A text column, stripped; an empty value is None, or refused when ``required``."""
    out: list[str | None] = []
    for i, value in enumerate(frame[column].tolist()):
        text = None if value is None or _is_nan(value) else str(value).strip() or None
        if text is None and required:
            raise _problem(file, column, f"feature {i + 1}: is empty")
        out.append(text)
    return out


def facility_types(values: Sequence[str | None], file: str) -> list[str]:
    """Facility types, each checked against the catalogue (with the closest name)."""
    known = list(load_catalogue())
    for i, value in enumerate(values):
        if value not in known:
            close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; the catalogue's types: {', '.join(known)}"
            raise _problem(file, "type", f"feature {i + 1}: '{value}' is not a facility type of the catalogue{hint}")
    return list(values)  # type: ignore[arg-type]


def polygonal(geometries: np.ndarray) -> np.ndarray:
    """Valid polygons of each geometry (invalid rings repaired by shapely.make_valid; other parts dropped)."""
    out = []
    for geometry in shapely.make_valid(np.asarray(geometries)):
        parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return np.array(out, dtype=object)


def lines_of(geometries: np.ndarray) -> np.ndarray:
    """Lines of each geometry: a polygon as its boundary (a closed fence), multi-parts as one."""
    kinds = shapely.get_type_id(geometries)
    return np.where(np.isin(kinds, [3, 6]), shapely.boundary(geometries), geometries)
