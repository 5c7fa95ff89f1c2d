"""The city on a street network: the walkable ways, and the homes, facilities and gates joined to them.

A scenario with ``[streets]`` (docs/streets.md) is built into a :class:`StreetCity`, whose walking
surface is a :class:`model.city.surface.StreetSurface` of

* the street nodes, numbered ``0 .. n_street - 1`` in the order of the nodes file, and the ways
  between them;
* one node more for every home, facility and gate, joined to the nearest street node of the
  network's largest connected component by one edge: its **connector walk**, the straight line
  between the two (``join_m`` metres).

Because a connector is an edge of the graph, every distance the model asks the surface for is
already the whole walk: from a home to a facility it is ``home join_m + network metres between
the two street nodes + facility join_m`` (docs/metrics.md), and from a facility's node the
distance field reaches every home through its connector. Nothing else in the model needs to know
that connectors exist. Two homes on the same street node are ``join_m`` + ``join_m`` apart, never
nearer: a connector is a walk from the door to the street and back.

Joining to the largest component only is deliberate: a home whose nearest street node lies on a
scrap of way cut off from the rest (a courtyard path, an extract's edge) would reach nothing.
A connector longer than :data:`FAR_JOIN_M` is reported by ``lifecircle import`` and refused for
``optimize``'s candidate points.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyproj

from model.city.surface import StreetSurface
from model.scenario import Scenario, Streets

FAR_JOIN_M = 500.0
"""A connector walk longer than this is reported by ``lifecircle import`` and refused for ``optimize``'s
candidate points: the point probably lies beyond the extract's ways, or its street is missing from them."""


@dataclass(frozen=True, eq=False)
class StreetCity:
    """Street network, homes, facilities and gates of a street scenario, on one walking surface.

    Attributes:
        crs: The projected CRS of every coordinate (``[streets] crs``).
        surface: The walking surface: street nodes, then homes, facilities and gates by connector.
        n_street: Number of street nodes (node numbers below it are street nodes).
        street_id: The network's own id of every street node (OSM node ids when imported).
        join: (n_nodes,) the street node each node joins: itself for a street node.
        join_m: (n_nodes,) the connector walk in metres: 0 for a street node.
        types: Facility type ids present, in catalogue order.
        facilities: One row per facility: id, type, name, x, y (metres), capacity, node, osm_id.
        homes: One row per home: home_id, community (index), x, y (metres), floor_m2, node.
        gates: Per community (index), the nodes of its gates (empty when the scenario gives none).
        edges: The street ways (u, v, length_m), street node numbers, as the scenario gives them.
    """

    crs: str
    surface: StreetSurface
    n_street: int
    street_id: np.ndarray
    join: np.ndarray
    join_m: np.ndarray
    types: tuple[str, ...]
    facilities: pd.DataFrame
    homes: pd.DataFrame
    gates: tuple[np.ndarray, ...]
    edges: pd.DataFrame

    def facility_nodes(self, ftype: str) -> np.ndarray:
        """Nodes of the facilities of one type."""
        return self.facilities.loc[self.facilities["type"] == ftype, "node"].to_numpy()

    @cached_property
    def _to_lonlat(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def lonlat(self, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 longitude and latitude (degrees) of points in the city's CRS."""
        lon, lat = self._to_lonlat.transform(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
        return np.asarray(lon), np.asarray(lat)

    def node_columns(self, nodes: np.ndarray) -> pd.DataFrame:
        """The columns a home's or facility's row gains on streets: x_m, y_m, lon, lat, node, node_m.

        ``node`` is the street node it joins, by the network's own id (the OSM node id when
        imported); ``node_m`` the connector walk to it in metres.
        """
        nodes = np.asarray(nodes, dtype=np.int64)
        xy = self.surface.node_xy_m[nodes]
        lon, lat = self.lonlat(xy[:, 0], xy[:, 1])
        return pd.DataFrame(
            {
                "x_m": xy[:, 0],
                "y_m": xy[:, 1],
                "lon": lon,
                "lat": lat,
                "node": self.street_id[self.join[nodes]],
                "node_m": self.join_m[nodes],
            }
        )


def street_surface(streets: Streets) -> StreetSurface:
    """The walking surface of a scenario's street network alone (no homes, facilities or gates joined)."""
    return StreetSurface.from_edges(
        streets.node_xy_m, streets.edge_u, streets.edge_v, streets.edge_m, node_id=streets.node_id
    )


def build_street_city(scenario: Scenario) -> StreetCity:
    """Join the homes, facilities and gates of a street scenario to its network, on one surface."""
    st = scenario.streets
    if st is None:
        raise ValueError(f"scenario {scenario.name!r} has no [streets]")
    streets = street_surface(st)
    n_street = streets.n_nodes
    sites = scenario.facilities
    fac_xy = np.array([[f.x, f.y] for f in sites], dtype=float).reshape(-1, 2)
    points = np.concatenate([st.home_xy_m, fac_xy, st.gate_xy_m]).reshape(-1, 2)
    joined, connector = streets.snap(points[:, 0], points[:, 1], among=streets.main_component)
    extra = np.arange(n_street, n_street + points.shape[0], dtype=np.int64)
    surface = StreetSurface.from_edges(
        np.concatenate([st.node_xy_m, points]),
        np.concatenate([st.edge_u, extra]),
        np.concatenate([st.edge_v, joined]),
        np.concatenate([st.edge_m, connector]),
        node_id=np.concatenate([st.node_id, -1 - np.arange(points.shape[0], dtype=np.int64)]),
    )
    join = np.concatenate([np.arange(n_street, dtype=np.int64), joined])
    join_m = np.concatenate([np.zeros(n_street), connector])
    n_home, n_fac = st.home_id.size, len(sites)
    home_node = extra[:n_home]
    fac_node = extra[n_home : n_home + n_fac]
    gate_node = extra[n_home + n_fac :]
    facilities = pd.DataFrame(
        {
            "id": np.arange(n_fac, dtype=np.int64),
            "type": pd.Series([f.type for f in sites], dtype=object),
            "name": pd.Series([f.name for f in sites], dtype=object),
            "x": fac_xy[:, 0],
            "y": fac_xy[:, 1],
            "capacity": np.array([f.capacity for f in sites], dtype=np.int64),
            "node": fac_node,
            "osm_id": pd.array([f.osm_id for f in sites], dtype="Int64"),
        }
    )
    homes = pd.DataFrame(
        {
            "home_id": st.home_id,
            "community": st.home_community,
            "x": st.home_xy_m[:, 0],
            "y": st.home_xy_m[:, 1],
            "floor_m2": st.home_floor_m2,
            "node": home_node,
        }
    )
    gates = tuple(gate_node[st.gate_community == ci] for ci in range(len(scenario.communities)))
    edges = pd.DataFrame({"u": st.edge_u, "v": st.edge_v, "length_m": st.edge_m})
    return StreetCity(
        crs=st.crs,
        surface=surface,
        n_street=n_street,
        street_id=np.asarray(st.node_id, dtype=np.int64),
        join=join,
        join_m=join_m,
        types=tuple(scenario.types_present),
        facilities=facilities,
        homes=homes,
        gates=gates,
        edges=edges,
    )


def home_slots(city: StreetCity, community: int, n: int, strip_m: float) -> np.ndarray:
    """The home nodes of ``n`` residents of a community, shared by floor area, neighbours consecutive.

    Each home gets ``n * floor_m2 / total`` residents rounded by the largest remainder (exactly
    ``n`` in all; equal remainders: the earlier home in the order below). Homes are taken strip
    by strip, strips of ``strip_m`` west to east, south to north within a strip, so that
    consecutive slots are near each other, as the grid's slots are taken column by column.
    """
    mine = city.homes.loc[city.homes["community"] == community]
    if n == 0 or mine.empty:
        return np.zeros(0, dtype=np.int64)
    strip = np.floor(mine["x"].to_numpy() / strip_m)
    order = np.lexsort((mine["home_id"].to_numpy(), mine["y"].to_numpy(), strip))
    weight = mine["floor_m2"].to_numpy(dtype=float)[order]
    share = n * weight / weight.sum()
    count = np.floor(share).astype(np.int64)
    short = n - int(count.sum())
    if short > 0:
        by_remainder = np.argsort(-(share - count), kind="stable")
        count[by_remainder[:short]] += 1
    return np.repeat(mine["node"].to_numpy()[order], count)
