"""Read an OpenStreetMap extract into projected tables: walkable ways, buildings, facilities, fences, gates.

:func:`read_osm` returns an :class:`OsmPlace`, whose tables are in metres in the UTM zone of the
extract's centre (or of the bounding box's), with longitude and latitude (WGS84) beside every point.
docs/places.md describes the reader for users; this docstring says why it is built as it is.

**Library: pyrosm** (with pyosmium for the XML formats). pyrosm reads .osm.pbf straight into
GeoDataFrames, cuts ways at their shared nodes into edges with their geometry (``get_network(...,
nodes=True)``), builds building and area polygons from ways and multipolygon relations, and filters
the walking network with a filter written after osmnx's ``walk`` network type; a bounding box is
one argument. It reads Helsinki's 685 kB extract in well under a second. osmnx builds the same
network, but from Overpass queries or an .osm XML file and without the PBF format extracts come in
(Geofabrik, BBBike); pyosmium reads every format but leaves the geometry (way splitting, polygons
of relations) to its caller. pyrosm reads only PBF: an .osm, .osm.bz2 or .osm.gz file is first
copied, object by object, into a temporary .osm.pbf by pyosmium (``osmium``), which reads all of
them, and removed after the read. Anything else is refused with the formats read.

**Walkable ways.** pyrosm's ``walking`` filter (``pyrosm.config.osm_filters.walking_filter``),
which follows osmnx's ``walk`` (``osmnx._overpass._get_network_filter``): a way with a ``highway``
tag, except ``area=yes``; highway abandoned, bus_guideway, construction, cycleway, motor, motorway,
motorway_link, no, planned, platform, proposed, raceway, razed, and pyrosm's rest_area and
services; ``service=private``; and ways closed to walkers by OSM's access hierarchy: ``foot`` when
the way has it, otherwise ``access``, closes with ``no`` or ``private``. It differs from osmnx in
two places: osmnx drops ``access=private`` even with ``foot=yes`` and keeps ``access=no``, and
pyrosm drops a road whose sidewalks are mapped as separate ways (``sidewalk=separate``, also
``:both``, ``:left``, ``:right``), which are walked instead. Values are matched also among ";"
multi-values. Edges are the pieces of the ways between nodes that end a way or are shared with
another walkable way (pyrosm's segments), undirected: a walker may go both ways of a one-way street.

**Lengths and areas.** An edge's ``length_m`` is the geodesic length of its geometry on the WGS84
ellipsoid (pyproj.Geod), independent of the projection. Footprints are planar areas in the UTM
projection, whose scale error is at most 0.04% in a zone (0.08% in area).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from model.scenario import Problem, ScenarioError
from model.scenario.reading import file_problem

from .tags import TagMapping, mapping_from

if TYPE_CHECKING:
    import geopandas as gpd

DEFAULT_LEVELS = 1.0
"""ASSUMPTION: the storeys of a building without a readable ``building:levels`` (absent, not a
positive number, or several values): one, so that such a building counts with its footprint only.
A reader that knows the place better passes its own ``default_levels``."""

RESIDENTIAL_BUILDINGS = frozenset(
    {
        "residential",
        "apartments",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "houseboat",
        "static_caravan",
        "cabin",
        "ger",
        "stilt_house",
        "trullo",
        "annexe",
        "barracks",
        "tree_house",
    }
)
"""Values of ``building`` that say people live there: the "Accommodation" values of the OSM wiki's
Key:building page (https://wiki.openstreetmap.org/wiki/Key:building), but ``hotel``."""

AMBIGUOUS_BUILDINGS = frozenset({"yes", "construction", "hut"})
"""Values of ``building`` that do not say what the building is for: ``yes`` (a building, use
unknown: most buildings in OSM), ``construction``, ``hut``. They are flagged ``ambiguous`` and not
``residential``; whether they house anyone is for the importer to decide (e.g. inside
landuse=residential)."""

FENCE_BARRIERS = ("fence", "wall")
"""``barrier`` values of a compound's enclosure (https://wiki.openstreetmap.org/wiki/Key:barrier)."""

GATE_BARRIERS = ("gate", "entrance")
"""``barrier`` values of a way through an enclosure; every node with an ``entrance`` tag is one too."""

AREA_TAGS = {"landuse": ["residential"], "place": ["neighbourhood"]}
"""Polygons that may be communities: landuse=residential and place=neighbourhood."""

PBF_SUFFIXES = (".pbf",)
"""Read by pyrosm directly."""
CONVERTED_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz")
"""Copied into a temporary .osm.pbf by pyosmium first."""

_WGS84 = "EPSG:4326"
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class OsmPlace:
    """An OpenStreetMap extract as tables in a local metric projection.

    Every point has ``x_m``, ``y_m`` (metres in :attr:`epsg`) and ``lon``, ``lat`` (WGS84); every
    geometry column is in :attr:`epsg`. OSM ids are int64; ``osm_type`` is node, way or relation.

    Attributes:
        file: The file read.
        epsg: The EPSG code of the projection: WGS84 / UTM of the zone of the centre.
        bbox: The bounding box read (west, south, east, north), or None for the whole file.
        nodes: The walking network's nodes: ``node_id`` (the OSM node id), ``x_m``, ``y_m``,
            ``lon``, ``lat``; sorted by id.
        edges: The walking network's edges (GeoDataFrame): ``u``, ``v`` (node ids), ``way_id``,
            ``highway``, ``name``, ``length_m`` (geodesic, along the geometry), ``geometry``.
        buildings: Building polygons (GeoDataFrame): ``osm_id``, ``osm_type``, ``building`` (the
            tag), ``name``, ``levels_tag`` (``building:levels`` as given), ``levels``,
            ``levels_assumed`` (true where :data:`DEFAULT_LEVELS` or the given default stands in),
            ``footprint_m2``, ``floor_area_m2`` (footprint × levels), ``residential``,
            ``ambiguous``, the representative point ``x_m``, ``y_m``, ``lon``, ``lat``, ``geometry``.
        facilities: Features the tag mapping selects: ``osm_id``, ``osm_type``, ``type`` (the
            catalogue type), ``name`` (OSM's, or "<type> <osm_type>/<id>"), ``named`` (whether
            OSM gives the name), ``x_m``, ``y_m``, ``lon``, ``lat`` (polygons at their
            representative point); sorted by type, osm_type, osm_id.
        barriers: Fences and walls (GeoDataFrame of lines; a closed one is its ring):
            ``osm_id``, ``osm_type``, ``barrier``, ``length_m``, ``geometry``.
        gates: Nodes with ``barrier=gate|entrance`` or an ``entrance`` tag: ``osm_id``,
            ``barrier``, ``entrance``, ``on_network`` (a node of the walking network), ``x_m``,
            ``y_m``, ``lon``, ``lat``.
        areas: Polygons that may be communities (GeoDataFrame): ``osm_id``, ``osm_type``,
            ``tag`` ("landuse=residential" or "place=neighbourhood"), ``name``, ``area_m2``,
            ``geometry``.

    """

    file: str
    epsg: int
    bbox: tuple[float, float, float, float] | None
    nodes: pd.DataFrame
    edges: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    facilities: pd.DataFrame
    barriers: gpd.GeoDataFrame
    gates: pd.DataFrame
    areas: gpd.GeoDataFrame

    @property
    def crs(self) -> pyproj.CRS:
        """The local projection."""
        return pyproj.CRS.from_epsg(self.epsg)


# --------------------------------------------------------------------------- input checks


def _check_file(path: Path, file: str) -> str:
    """The format of ``path``: "pbf" or "xml"; a missing file or another suffix is refused."""
    name = path.name.lower()
    problem = file_problem(path, limit=None)  # an extract may be large; a pipe or a device is refused unopened
    if problem is not None:
        raise ScenarioError([Problem(file, "", "no such file" if problem.why == "missing" else problem.message)])
    if name.endswith(PBF_SUFFIXES):
        return "pbf"
    if name.endswith(CONVERTED_SUFFIXES):
        return "xml"
    formats = ", ".join(PBF_SUFFIXES + CONVERTED_SUFFIXES).replace(".pbf", ".osm.pbf")
    raise ScenarioError([Problem(file, "", f"is not an OpenStreetMap extract by its name: reads {formats}")])


def check_bbox(bbox: Sequence[float] | None, file: str) -> tuple[float, float, float, float] | None:
    """The bounding box (west, south, east, north) in WGS84 degrees, checked.

    Raises:
        ScenarioError: Not four finite numbers, outside longitude -180..180 or latitude -90..90,
            or empty (west >= east or south >= north); key ``bbox``.

    """
    if bbox is None:
        return None
    values = list(bbox) if isinstance(bbox, (list, tuple)) else None
    if values is None or len(values) != 4 or not all(_finite(v) for v in values):
        return _bad_bbox(file, f"must be four numbers W,S,E,N (WGS84 degrees), not {bbox!r}")
    w, s, e, n = (float(v) for v in values)
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        return _bad_bbox(file, f"{w},{s},{e},{n} is not on the Earth: longitudes -180..180, latitudes -90..90")
    if w >= e or s >= n:
        side = f"west {w} is not less than east {e}" if w >= e else f"south {s} is not less than north {n}"
        return _bad_bbox(file, f"{w},{s},{e},{n} is empty: {side}")
    return (w, s, e, n)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _bad_bbox(file: str, message: str) -> Any:
    raise ScenarioError([Problem(file, "bbox", message)])


# --------------------------------------------------------------------------- reading with pyrosm


@contextlib.contextmanager
def _as_pbf(path: Path, kind: str, file: str) -> Iterator[Path]:
    """The file as .osm.pbf: itself, or a temporary copy written by pyosmium (removed afterwards)."""
    if kind == "pbf":
        yield path
        return
    import osmium

    with tempfile.TemporaryDirectory(prefix="lifecircle-osm-") as tmp:
        pbf = Path(tmp) / "extract.osm.pbf"
        try:
            writer = osmium.SimpleWriter(str(pbf))
            try:
                for obj in osmium.FileProcessor(str(path)):
                    writer.add(obj)
            finally:
                writer.close()
        except Exception as exc:  # osmium's parse errors are RuntimeErrors with libosmium's message
            raise ScenarioError([Problem(file, "", f"cannot be read as OpenStreetMap XML: {_said(exc)}")]) from None
        yield pbf


def _said(exc: BaseException) -> str:
    """An exception's first line, shortened, for a message."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= 200 else text[:197] + "..."


def _read_layers(pbf: Path, bbox: tuple | None, mapping: TagMapping, file: str) -> dict[str, Any]:
    """Every layer the tables are made of, as pyrosm returns them (None where nothing is found)."""
    try:
        import pyrosm
    except ImportError as exc:  # not bad input: the optional extra is missing
        raise ImportError("reading OpenStreetMap needs the osm extra: pip install 'lifecircle[osm]'") from exc
    box = list(bbox) if bbox is not None else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyrosm warns of empty layers; the checks below say it
            osm = pyrosm.OSM(str(pbf), bounding_box=box, engine="in_memory", progress=False)
            network = osm.get_network("walking", nodes=True)
            keys = list(mapping.keys)
            return {
                "network": network if network is not None else (None, None),
                "buildings": osm.get_buildings(extra_attributes=["building:levels"]),
                "facilities": _features_with_keys(osm, mapping.first_keys, [*keys, "name"]),
                "barriers": osm.get_data_by_custom_criteria(
                    custom_filter={"barrier": list(FENCE_BARRIERS)}, keep_nodes=False
                ),
                "gates": osm.get_data_by_custom_criteria(
                    custom_filter={"barrier": list(GATE_BARRIERS), "entrance": True},
                    keep_ways=False,
                    keep_relations=False,
                ),
                "areas": osm.get_data_by_custom_criteria(
                    custom_filter=AREA_TAGS, keep_nodes=False, extra_attributes=["name"]
                ),
            }
    except ScenarioError:
        raise
    except Exception as exc:  # pyrosm's protobuf, zlib and format errors: the file is not a readable extract
        problem = f"cannot be read as an OpenStreetMap extract (.osm.pbf): {_said(exc)}"
        raise ScenarioError([Problem(file, "", problem)]) from None


def _features_with_keys(osm: Any, keys: Sequence[str], columns: list[str]) -> Any:
    """Every node, way and relation with any of ``keys``, read one key at a time.

    One read per key: pyrosm 0.25's ``custom_filter={"leisure": True, "shop": True}`` misses a
    leisure=park way of the Helsinki extract (way 123911186) that ``{"leisure": True}`` finds.
    """
    frames = [osm.get_data_by_custom_criteria(custom_filter={key: True}, extra_attributes=columns) for key in keys]
    frames = [f for f in frames if f is not None and not f.empty]
    if not frames:
        return None
    both = pd.concat(frames, ignore_index=True)
    return both.drop_duplicates(subset=["osm_type", "id"], ignore_index=True)


# --------------------------------------------------------------------------- projection and geometry


def utm_epsg(lon: float, lat: float) -> int:
    """The EPSG code of WGS84 / UTM of the zone holding (lon, lat) (north 326zz, south 327zz)."""
    zone = min(int((lon + 180) // 6) + 1, 60)
    code = (32600 if lat >= 0 else 32700) + zone
    pyproj.CRS.from_epsg(code)  # raises if pyproj does not know it
    return code


def geodesic_lengths(geometries: Any) -> np.ndarray:
    """Length in metres of each line (lon/lat) on the WGS84 ellipsoid, summed over its segments."""
    coords, index = shapely.get_coordinates(np.asarray(geometries), return_index=True)
    same = index[1:] == index[:-1]
    _, _, dist = _GEOD.inv(coords[:-1, 0][same], coords[:-1, 1][same], coords[1:, 0][same], coords[1:, 1][same])
    return np.bincount(index[1:][same], weights=dist, minlength=len(geometries))


def _points(frame: pd.DataFrame, geometry: Any, to_lonlat: pyproj.Transformer) -> pd.DataFrame:
    """``frame`` with x_m, y_m, lon, lat of each projected geometry's representative point."""
    points = shapely.point_on_surface(np.asarray(geometry))
    x, y = shapely.get_x(points), shapely.get_y(points)
    lon, lat = to_lonlat.transform(x, y)
    return frame.assign(x_m=x, y_m=y, lon=lon, lat=lat)


def _column(frame: pd.DataFrame | None, name: str) -> pd.Series:
    """A column of a pyrosm table as object values, None where absent."""
    if frame is None or name not in frame:
        return pd.Series([None] * (0 if frame is None else len(frame)), index=None if frame is None else frame.index)
    return pd.Series([None if pd.isna(v) else v for v in frame[name]], index=frame.index, dtype=object)


def _ids(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"osm_id": frame["id"].astype(np.int64).to_numpy()}, index=frame.index)
    out["osm_type"] = _column(frame, "osm_type").fillna("node") if "osm_type" in frame else "node"
    return out


# --------------------------------------------------------------------------- the tables


def _network(raw: tuple, epsg: int, to_xy: pyproj.Transformer) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    import geopandas as gpd

    nodes_raw, edges_raw = raw
    lon, lat = nodes_raw["lon"].to_numpy(float), nodes_raw["lat"].to_numpy(float)
    x, y = to_xy.transform(lon, lat)
    nodes = pd.DataFrame({"node_id": nodes_raw["id"].astype(np.int64).to_numpy(), "x_m": x, "y_m": y})
    nodes = nodes.assign(lon=lon, lat=lat).sort_values("node_id", ignore_index=True)
    edges = gpd.GeoDataFrame(
        {
            "u": edges_raw["u"].astype(np.int64).to_numpy(),
            "v": edges_raw["v"].astype(np.int64).to_numpy(),
            "way_id": edges_raw["id"].astype(np.int64).to_numpy(),
            "highway": _column(edges_raw, "highway").to_numpy(),
            "name": _column(edges_raw, "name").to_numpy(),
            "length_m": geodesic_lengths(edges_raw.geometry.to_numpy()),
        },
        geometry=edges_raw.geometry.to_crs(epsg).to_numpy(),
        crs=epsg,
    )
    return nodes, edges


def _levels(tag: pd.Series, default_levels: float) -> tuple[np.ndarray, np.ndarray]:
    """Storeys from ``building:levels`` and whether the default stands in."""
    given = pd.to_numeric(tag, errors="coerce").to_numpy(dtype=float)
    readable = np.isfinite(given) & (given > 0)
    return np.where(readable, given, default_levels), ~readable


def _buildings(raw: Any, epsg: int, to_lonlat: pyproj.Transformer, default_levels: float) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if raw is not None:
        raw = raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])]
    if raw is None or raw.empty:
        return _empty_geo(epsg, ["osm_id", "osm_type", "building", "levels", "footprint_m2", "floor_area_m2"])
    projected = raw.geometry.to_crs(epsg)
    out = _ids(raw)
    building = _column(raw, "building").fillna("yes")
    levels, assumed = _levels(_column(raw, "building:levels"), default_levels)
    footprint = projected.area.to_numpy()
    out = out.assign(
        building=building.to_numpy(),
        name=_column(raw, "name").to_numpy(),
        levels_tag=_column(raw, "building:levels").to_numpy(),
        levels=levels,
        levels_assumed=assumed,
        footprint_m2=footprint,
        floor_area_m2=footprint * levels,
        residential=building.isin(RESIDENTIAL_BUILDINGS).to_numpy(),
        ambiguous=building.isin(AMBIGUOUS_BUILDINGS).to_numpy(),
    )
    out = _points(out, projected, to_lonlat)
    out = gpd.GeoDataFrame(out, geometry=projected.to_numpy(), crs=epsg)
    return out.sort_values(["osm_type", "osm_id"], ignore_index=True)


def _facilities(raw: Any, mapping: TagMapping, epsg: int, to_lonlat: pyproj.Transformer) -> pd.DataFrame:
    columns = ["osm_id", "osm_type", "type", "name", "named", "x_m", "y_m", "lon", "lat"]
    if raw is None or raw.empty:
        return pd.DataFrame({c: [] for c in columns})
    tags = pd.DataFrame({key: _column(raw, key) for key in mapping.keys}, index=raw.index)
    found = mapping.match_frame(tags)
    raw = raw[found.notna().to_numpy()]
    found = found[found.notna()]
    if raw.empty:
        return pd.DataFrame({c: [] for c in columns})
    out = _ids(raw).assign(type=found.to_numpy())
    name = _column(raw, "name")
    generated = out["type"] + " " + out["osm_type"] + "/" + out["osm_id"].astype(str)
    out = out.assign(name=name.where(name.notna(), generated).to_numpy(), named=name.notna().to_numpy())
    out = _points(out, raw.geometry.to_crs(epsg), to_lonlat)
    return out[columns].sort_values(["type", "osm_type", "osm_id"], ignore_index=True)


def _barriers(raw: Any, epsg: int) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if raw is not None:
        raw = raw[_column(raw, "barrier").isin(FENCE_BARRIERS).to_numpy()]
    if raw is None or raw.empty:
        return _empty_geo(epsg, ["osm_id", "osm_type", "barrier", "length_m"])
    projected = raw.geometry.to_crs(epsg).to_numpy()
    polygonal = np.isin(shapely.get_type_id(projected), [3, 6])  # a closed fence read as a polygon: its ring
    lines = np.where(polygonal, shapely.boundary(projected), projected)
    out = _ids(raw).assign(barrier=_column(raw, "barrier").to_numpy(), length_m=shapely.length(lines))
    return gpd.GeoDataFrame(out, geometry=lines, crs=epsg).sort_values(["osm_type", "osm_id"], ignore_index=True)


def _gates(raw: Any, nodes: pd.DataFrame, to_xy: pyproj.Transformer) -> pd.DataFrame:
    columns = ["osm_id", "barrier", "entrance", "on_network", "x_m", "y_m", "lon", "lat"]
    if raw is None or raw.empty:
        return pd.DataFrame({c: [] for c in columns})
    lon, lat = shapely.get_x(raw.geometry.to_numpy()), shapely.get_y(raw.geometry.to_numpy())
    x, y = to_xy.transform(lon, lat)
    out = pd.DataFrame(
        {
            "osm_id": raw["id"].astype(np.int64).to_numpy(),
            "barrier": _column(raw, "barrier").to_numpy(),
            "entrance": _column(raw, "entrance").to_numpy(),
        }
    )
    out = out.assign(on_network=out["osm_id"].isin(nodes["node_id"]).to_numpy(), x_m=x, y_m=y, lon=lon, lat=lat)
    return out[columns].sort_values("osm_id", ignore_index=True)


def _areas(raw: Any, epsg: int) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if raw is not None:
        raw = raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])]
    if raw is None or raw.empty:
        return _empty_geo(epsg, ["osm_id", "osm_type", "tag", "name", "area_m2"])
    landuse = _column(raw, "landuse").to_numpy() == "residential"
    tag = np.where(landuse, "landuse=residential", "place=neighbourhood")
    projected = raw.geometry.to_crs(epsg)
    out = _ids(raw).assign(tag=tag, name=_column(raw, "name").to_numpy(), area_m2=projected.area.to_numpy())
    return gpd.GeoDataFrame(out, geometry=projected.to_numpy(), crs=epsg).sort_values(
        ["osm_type", "osm_id"], ignore_index=True
    )


def _empty_geo(epsg: int, columns: list[str]) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=epsg)


# --------------------------------------------------------------------------- the reader


def read_osm(
    path: str | Path,
    bbox: Sequence[float] | None = None,
    mapping: Mapping[str, Sequence[str]] | TagMapping | None = None,
    *,
    default_levels: float = DEFAULT_LEVELS,
) -> OsmPlace:
    """Read an OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2, .osm.gz) into projected tables.

    Nothing is written (an XML file's temporary .osm.pbf copy is removed).

    Args:
        path: The extract.
        bbox: (west, south, east, north) in WGS84 degrees: only what lies in it (pyrosm keeps a
            way with a node inside the box whole, so its nodes may reach beyond it); None for all.
        mapping: Catalogue type -> OSM tag conditions, in place of the catalogue's ``osm`` tags
            (model/places/tags.py); None for the catalogue's.
        default_levels: Storeys of a building without readable ``building:levels``
            (:data:`DEFAULT_LEVELS`, an assumption).

    Returns:
        The tables, in the UTM zone of the box's centre, or of the walking network's when the
        whole file is read.

    Raises:
        ScenarioError: A missing file, a file that is not an OSM extract or is cut short, a bad or
            empty bounding box (key ``bbox``), no walkable ways (in the box), a tag mapping naming
            a type the catalogue does not have (key ``mapping.<type>``); each names the file.
        ImportError: When pyrosm (the ``osm`` extra) is not installed.

    """
    file = str(path)
    kind = _check_file(Path(path), file)
    box = check_bbox(bbox, file)
    tags = mapping_from(mapping, file)
    if not (math.isfinite(default_levels) and default_levels > 0):
        raise ScenarioError([Problem(file, "default_levels", f"must be a positive number, not {default_levels}")])
    with _as_pbf(Path(path), kind, file) as pbf:
        raw = _read_layers(pbf, box, tags, file)
    nodes_raw, edges_raw = raw["network"]
    if edges_raw is None or edges_raw.empty or nodes_raw is None or nodes_raw.empty:
        where = ("bbox", f"{','.join(map(str, box))} holds no walkable ways") if box else ("", "holds no walkable ways")
        raise ScenarioError([Problem(file, *where)])
    w, s, e, n = box or (nodes_raw["lon"].min(), nodes_raw["lat"].min(), nodes_raw["lon"].max(), nodes_raw["lat"].max())
    epsg = utm_epsg((w + e) / 2, (s + n) / 2)
    to_xy = pyproj.Transformer.from_crs(_WGS84, epsg, always_xy=True)
    to_lonlat = pyproj.Transformer.from_crs(epsg, _WGS84, always_xy=True)
    nodes, edges = _network(raw["network"], epsg, to_xy)
    return OsmPlace(
        file=file,
        epsg=epsg,
        bbox=box,
        nodes=nodes,
        edges=edges,
        buildings=_buildings(raw["buildings"], epsg, to_lonlat, default_levels),
        facilities=_facilities(raw["facilities"], tags, epsg, to_lonlat),
        barriers=_barriers(raw["barriers"], epsg),
        gates=_gates(raw["gates"], nodes, to_xy),
        areas=_areas(raw["areas"], epsg),
    )
