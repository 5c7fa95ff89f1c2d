"""A scenario of a real place from its :class:`~model.places.source.Source`: the tables of docs/streets.md.

:func:`build` does, in order (docs/places.md, "Importing a place"):

1. the network: edges that cross a fence away from a gate are removed, then only the largest
   connected part is kept (model/places/network.py);
2. communities: each home takes the polygon it lies in (the first of the source's order); homes
   outside every polygon go to "<name> (rest)", or, with a communities file, are dropped;
3. residents: the communities file's, or ``population`` (else one resident per
   :data:`DEFAULT_FLOOR_M2_PER_RESIDENT` m² of home floor area) shared over communities in
   proportion to their homes' floor area, by largest remainders so that the total is exact;
   communities without homes or residents are left out, with their homes;
4. gates: each takes the community whose polygon holds it, else that of the nearest home within
   :data:`GATE_REACH_M`; others are left out;
5. names made unique (" (2)", " (3)", ...), and homes and facilities far from the network reported.

Nothing is snapped: the scenario loader joins homes, facilities and gates to the network.
Everything is counted in :attr:`Built.counts`; nothing is dropped without a count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from model.city.streets import FAR_JOIN_M
from model.scenario import Problem, ScenarioError

from .network import fence_blocked, largest_component
from .source import Source

DEFAULT_FLOOR_M2_PER_RESIDENT = 40.0
"""ASSUMPTION: without --population (and without residents in a communities file), one resident
per 40 m² of home floor area. A round figure of the order of the floor space per person of urban
housing; not a figure of any place. Where OSM gives no ``building:levels`` a building counts with
one storey, so this undercounts tall buildings: give --population when the number is known."""

GATE_REACH_M = 100.0
"""A gate outside every community polygon belongs to the community of the nearest home when that
home is this close (metres); farther gates are left out (counted). An assumption."""

FAR_M = FAR_JOIN_M
"""Homes and facilities farther than this from every node of the network kept are reported (the
loader's straight connector walk would be long). They are kept."""

FIRST_IDS = 5
"""How many ids a report names."""


@dataclass
class Built:
    """The scenario's tables, ready to write (docs/streets.md columns first, then readers' columns).

    Attributes:
        name: The scenario's name.
        epsg: Its projection.
        nodes, edges, homes, facilities, gates: The data files' rows.
        communities: (name, residents) in order.
        population_words: Where the residents come from, for the header.
        counts: What was kept and dropped, for the summary and the header.
        notes: Lines of the summary: what was dropped or is far, with first ids.
        warnings: What the reader and the build warn of.

    """

    name: str
    epsg: int
    nodes: pd.DataFrame
    edges: pd.DataFrame
    homes: pd.DataFrame
    facilities: pd.DataFrame
    gates: pd.DataFrame
    communities: list[tuple[str, int]]
    population_words: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- helpers


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` shared in proportion to ``weights`` in whole numbers that sum to it exactly.

    Each gets the floor of its quota; the rest go one each to the largest remainders (ties: the
    larger weight, then the earlier). Hamilton's method.
    """
    weights = np.asarray(weights, dtype=float)
    quota = total * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    order = sorted(range(len(weights)), key=lambda i: (-(quota[i] - base[i]), -weights[i], i))
    base[order[:left]] += 1
    return base


def unique_names(names: list[str]) -> list[str]:
    """Names made unique in order: a repeat gets " (2)", " (3)", ... (a number not yet taken)."""
    taken = set(names)
    seen: set[str] = set()
    out = []
    for name in names:
        if name in seen:
            k = 2
            while f"{name} ({k})" in taken:
                k += 1
            name = f"{name} ({k})"
            taken.add(name)
        seen.add(name)
        out.append(name)
    return out


def counted(n: int, word: str, words: str | None = None) -> str:
    """``1 home``, ``2 homes``, ``1,200 communities``."""
    return f"{n:,} {word if n == 1 else words or word + 's'}"


def _first(ids) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:FIRST_IDS]) + (", ..." if len(ids) > FIRST_IDS else "")


def _area_of(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """The first polygon (in the given order) holding each point, or -1."""
    out = np.full(len(x), len(polygons), dtype=np.int64)
    if len(polygons) and len(x):
        tree = shapely.STRtree(polygons)
        point, polygon = tree.query(shapely.points(x, y), predicate="within")
        np.minimum.at(out, point, polygon)
    return np.where(out == len(polygons), -1, out)


# --------------------------------------------------------------------------- the steps


def _network(source: Source, built: Built) -> None:
    edges, nodes = source.edges, source.nodes
    check = fence_blocked(source.edge_lines, source.fences, source.gates[["x_m", "y_m"]].to_numpy(dtype=float))
    edges = edges[~check.blocked]
    part = largest_component(nodes["node_id"].to_numpy(), edges["u"].to_numpy(), edges["v"].to_numpy())
    built.counts.update(
        edges_fenced=int(check.blocked.sum()),
        edges_through_gates=check.through_gates,
        junctions_on_fences=check.junctions_on_fences,
        nodes_small_parts=int((~part.node_kept).sum()),
        edges_small_parts=int((~part.edge_kept).sum()),
        parts=part.parts,
    )
    if check.blocked.any():
        ids = pd.unique(source.edges.loc[check.blocked, "way_id" if "way_id" in edges else "feature"])
        what = "ways" if "way_id" in edges else "features of the streets layer"
        built.notes.append(
            f"{counted(int(check.blocked.sum()), 'edge')} crossing a fence or wall away from a gate: removed "
            f"({what} {_first(ids)})"
        )
    if check.junctions_on_fences:
        built.notes.append(
            f"{counted(check.junctions_on_fences, 'junction')} of ways on a fence or wall without a gate: walkers "
            "pass there (kept: the ways are joined to the fence)"
        )
    built.nodes = nodes[part.node_kept].sort_values("node_id", ignore_index=True)
    built.edges = edges[part.edge_kept].sort_values(["u", "v", "length_m"], ignore_index=True)


def _community_of_homes(source: Source, built: Built) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Homes with their community (index into the returned communities table)."""
    homes, areas = source.homes, source.areas
    if homes.empty:
        raise ScenarioError([Problem(source.file, "", "has no homes: no building holds residents")])
    area = _area_of(homes["x_m"].to_numpy(), homes["y_m"].to_numpy(), areas["geometry"].to_numpy())
    names = list(areas["name"])
    residents = list(areas["residents"])
    geometry = list(areas["geometry"])
    outside = area < 0
    if outside.any() and source.areas_file is not None:
        built.counts["homes_outside_communities"] = int(outside.sum())
        built.notes.append(
            f"{counted(int(outside.sum()), 'home')} outside every community of {source.areas_file}: left out "
            f"({_first(homes.loc[outside, 'home_id'])})"
        )
        homes, area = homes[~outside], area[~outside]
        if homes.empty:
            raise ScenarioError(
                [Problem(source.areas_file, "", "holds no home: every home lies outside its communities")]
            )
    elif outside.any():
        names.append(f"{built.name} (rest)" if len(areas) else built.name)
        residents.append(np.nan)
        geometry.append(None)
        area = np.where(outside, len(names) - 1, area)
    communities = pd.DataFrame({"name": names, "residents": residents, "geometry": geometry})
    return homes.assign(area=area), communities


def _residents(homes: pd.DataFrame, communities: pd.DataFrame, population: int | None, built: Built) -> np.ndarray:
    """Residents of each community (0 for those without homes)."""
    floor = np.bincount(homes["area"], weights=homes["floor_m2"], minlength=len(communities))
    has_homes = np.bincount(homes["area"], minlength=len(communities)) > 0
    given = communities["residents"].to_numpy(dtype=float)
    if np.isfinite(given).all() and len(given):
        built.population_words = "the residents column of the communities file"
        lost = given[~has_homes]
        if lost.any():
            built.notes.append(
                f"{counted(int((~has_homes).sum()), 'community', 'communities')} of the file without homes: left "
                f"out with their {counted(int(lost.sum()), 'resident')}"
            )
        return np.where(has_homes, given, 0).astype(np.int64)
    if population is None:
        population = max(1, math.floor(floor.sum() / DEFAULT_FLOOR_M2_PER_RESIDENT + 0.5))
        built.population_words = (
            f"{population:,} residents: one per {DEFAULT_FLOOR_M2_PER_RESIDENT:g} m² of the homes' "
            f"{floor.sum():,.0f} m² of floor area (the import's default, an assumption)"
        )
    else:
        built.population_words = f"{population:,} residents (--population, an assumption)"
    return largest_remainder(population, floor)


def _communities(source: Source, population: int | None, built: Built) -> tuple[pd.DataFrame, pd.DataFrame]:
    homes, communities = _community_of_homes(source, built)
    residents = _residents(homes, communities, population, built)
    has_homes = np.bincount(homes["area"], minlength=len(communities)) > 0
    empty = has_homes & (residents == 0)
    if empty.any():
        lost = homes["area"].isin(np.flatnonzero(empty))
        given = communities["residents"].to_numpy(dtype=float)
        why = "0 in the file" if np.isfinite(given).all() else "too little floor area for one resident of the total"
        built.notes.append(
            f"{counted(int(empty.sum()), 'community', 'communities')} with no resident ({why}): left out with "
            f"{counted(int(lost.sum()), 'home')} ({_first(communities['name'][empty])})"
        )
        built.counts["homes_in_communities_without_residents"] = int(lost.sum())
    kept = has_homes & (residents > 0)
    built.counts["communities_without_homes"] = int((~has_homes).sum())
    communities = communities.assign(residents=residents, kept=kept)
    homes = homes[kept[homes["area"].to_numpy()]]
    return homes, communities


def _names(communities: pd.DataFrame) -> pd.DataFrame:
    """Kept communities in name order (the rest community last), their names made unique."""
    kept = communities[communities["kept"]].copy()
    kept["rest"] = kept["geometry"].isna()
    kept["key"] = kept["name"].str.casefold()
    kept = kept.reset_index(names="area").sort_values(["rest", "key", "area"], ignore_index=True)
    kept["name"] = unique_names(list(kept["name"]))
    return kept


def _gates(source: Source, homes: pd.DataFrame, kept: pd.DataFrame, built: Built) -> pd.DataFrame:
    gates = source.gates
    if gates.empty:
        return gates.assign(community=pd.Series([], dtype=object))
    xy = gates[["x_m", "y_m"]].to_numpy(dtype=float)
    polygons = kept[~kept["rest"]]
    inside = _area_of(xy[:, 0], xy[:, 1], polygons["geometry"].to_numpy())
    name = np.array([None] * len(gates), dtype=object)
    name[inside >= 0] = polygons["name"].to_numpy()[inside[inside >= 0]]
    area_name = dict(zip(kept["area"], kept["name"], strict=True))
    distance, nearest = cKDTree(homes[["x_m", "y_m"]].to_numpy(dtype=float)).query(xy)
    near = (inside < 0) & (distance <= GATE_REACH_M)
    name[near] = [area_name[a] for a in homes["area"].to_numpy()[nearest[near]]]
    left = name == None  # noqa: E711 (an object array)
    built.counts["gates_far"] = int(left.sum())
    if left.any():
        built.notes.append(
            f"{counted(int(left.sum()), 'gate')} outside every community and farther than {GATE_REACH_M:g} m "
            "from any home: left out"
        )
    return gates.assign(community=name)[~left]


def _far(built: Built, table: pd.DataFrame, what: str, ids: str) -> None:
    if table.empty:
        return
    distance, _ = cKDTree(built.nodes[["x_m", "y_m"]].to_numpy(dtype=float)).query(table[["x_m", "y_m"]].to_numpy())
    far = distance > FAR_M
    built.counts[f"{what}_far"] = int(far.sum())
    if far.any():
        built.notes.append(
            f"{counted(int(far.sum()), what[:-1], what)} farther than {FAR_M:g} m from the network kept (kept; "
            f"the loader walks them there in a straight line): {_first(table.loc[far, ids])}"
        )


def build(source: Source, name: str, population: int | None = None) -> Built:
    """The scenario's tables from a source (see the module's docstring for the steps).

    Args:
        source: What the place is built from.
        name: The scenario's name (the rest community is "<name> (rest)").
        population: Residents in all, shared by floor area; None: the communities file's
            residents, or the default density.

    Raises:
        ScenarioError: No homes (naming the source or the communities file).

    """
    built = Built(name, source.epsg, *(pd.DataFrame(),) * 5, communities=[], population_words="")
    built.warnings = list(source.warnings)
    built.counts.update(source.dropped)
    if source.dropped.get("homes_without_area"):
        n = source.dropped["homes_without_area"]
        built.notes.append(f"{counted(n, 'building')} without floor area (a degenerate footprint): left out")
    _network(source, built)
    homes, communities = _communities(source, population, built)
    kept = _names(communities)
    area_name = dict(zip(kept["area"], kept["name"], strict=True))
    built.communities = [(n, int(r)) for n, r in zip(kept["name"], kept["residents"], strict=True)]
    built.gates = _gates(source, homes, kept, built)
    homes = homes.assign(community=[area_name[a] for a in homes["area"]]).drop(columns="area")
    built.homes = homes.sort_values("home_id", ignore_index=True)
    facilities = source.facilities.reset_index(drop=True)  # the source's order: read_osm's type, osm_type, osm_id
    renamed = unique_names(list(facilities["name"]))
    built.counts["facilities_renamed"] = sum(a != b for a, b in zip(renamed, facilities["name"], strict=True))
    built.facilities = facilities.assign(name=renamed)
    _far(built, built.homes, "homes", "home_id")
    _far(built, built.facilities, "facilities", "osm_id" if "osm_id" in built.facilities else "name")
    return built
