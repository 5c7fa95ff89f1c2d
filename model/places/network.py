"""The walking network of an imported place: fences that block ways, the largest connected part, noding of lines.

Three steps shared by ``lifecircle import osm`` and ``lifecircle import gis`` (docs/places.md,
"Importing a place"):

* :func:`fence_blocked`: a walkable edge whose line crosses a fence or wall away from a gate is
  removed (the rule and why it reads "crosses" are in its docstring);
* :func:`largest_component`: only the largest connected part of what is left is kept, as the
  scenario loader joins homes and facilities to that part anyway;
* :func:`node_lines`: a planner's street lines cut into edges at their ends and at the vertices
  they share (the OpenStreetMap reader gets this from pyrosm).

Everything here is in metres of one projected CRS and deterministic (no randomness, sorted ids).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

GATE_TOLERANCE_M = 1.0
"""A crossing of a fence within this distance of a gate is through the gate (metres). A way
through a gate shares the gate's node, so its crossing is at the gate exactly; one metre allows
for a gate drawn a step beside the fence line. An assumption."""

NODE_PRECISION_M = 0.001
"""Vertices of a planner's street lines closer than this are one node (metres): the same vertex
written by two lines, after the reprojection's rounding."""


@dataclass(frozen=True)
class FenceCheck:
    """Which edges fences block.

    Attributes:
        blocked: bool (e,) whether each edge crosses a fence away from every gate.
        through_gates: Edges that cross a fence only at gates (kept).
        junctions_on_fences: Network nodes that lie inside a fence line (not at its end), are not
            gates and where edges meet: ways pass the fence there (kept; reported).

    """

    blocked: np.ndarray
    through_gates: int
    junctions_on_fences: int


def fence_blocked(edges: np.ndarray, fences: np.ndarray, gates_xy: np.ndarray) -> FenceCheck:
    """The edges that a fence or wall blocks.

    The rule: an edge is blocked when its line **crosses** a fence line (shapely ``crosses``:
    the two meet at a point inside both lines, not only where one of them ends) at any point
    farther than :data:`GATE_TOLERANCE_M` from every gate. An edge that runs along a fence, or
    ends at it, is not blocked. Edges are cut at junctions (and pyrosm cuts OSM ways at gate
    nodes), so a way through a gate node meets the fence at the end of its edges: it touches,
    and passes. A junction of ways that lies on a fence but is not a gate is also passed (the
    mapper joined the ways to the fence there); such junctions are counted, not changed.

    Args:
        edges: Edge lines (shapely), metres.
        fences: Fence and wall lines (closed fences as their rings), metres.
        gates_xy: float (g, 2) gate positions, metres.

    """
    blocked = np.zeros(len(edges), dtype=bool)
    if len(edges) == 0 or len(fences) == 0:
        return FenceCheck(blocked, 0, 0)
    tree = shapely.STRtree(fences)
    gates = cKDTree(gates_xy) if len(gates_xy) else None
    ei, fi = tree.query(edges, predicate="crosses")
    crossing = np.zeros(len(edges), dtype=bool)
    if len(ei):
        points, index = shapely.get_coordinates(shapely.intersection(edges[ei], fences[fi]), return_index=True)
        away = _far_from(points, gates)
        blocked[ei[np.unique(index[away])]] = True
        crossing[ei] = True
    through = int((crossing & ~blocked).sum())
    return FenceCheck(blocked, through, _junctions_on_fences(edges, fences, tree, gates))


def _far_from(points: np.ndarray, gates: cKDTree | None) -> np.ndarray:
    """Whether each point is farther than the gate tolerance from every gate."""
    if gates is None or len(points) == 0:
        return np.ones(len(points), dtype=bool)
    distance, _ = gates.query(points)
    return distance > GATE_TOLERANCE_M


def _junctions_on_fences(edges: np.ndarray, fences: np.ndarray, tree: shapely.STRtree, gates: cKDTree | None) -> int:
    """Edge ends inside a fence line (not at its ends) and away from gates: distinct points."""
    ei, fi = tree.query(edges, predicate="touches")
    if len(ei) == 0:
        return 0
    ends = shapely.boundary(edges[ei])
    points, index = shapely.get_coordinates(shapely.intersection(ends, fences[fi]), return_index=True)
    if len(points) == 0:
        return 0
    fence_ends = shapely.boundary(fences[fi[index]])
    inside = ~shapely.intersects(fence_ends, shapely.points(points))
    found = points[inside & _far_from(points, gates)]
    return len(np.unique(np.round(found, 2), axis=0))


@dataclass(frozen=True)
class Component:
    """The largest connected part of a network.

    Attributes:
        node_kept: bool (n,) per node of the ids given.
        edge_kept: bool (e,) per edge.
        parts: How many connected parts the network had (isolated nodes count).

    """

    node_kept: np.ndarray
    edge_kept: np.ndarray
    parts: int


def largest_component(node_id: np.ndarray, u: np.ndarray, v: np.ndarray) -> Component:
    """The nodes and edges of the largest connected part.

    The largest has the most nodes, then the most edges, then the smallest node id (so that ties
    are decided the same way every time).

    Args:
        node_id: int64 (n,) node ids.
        u: int64 (e,) first node id of each edge (every id among ``node_id``).
        v: int64 (e,) second node id.

    """
    order = np.argsort(node_id, kind="stable")
    iu = order[np.searchsorted(node_id, u, sorter=order)]
    iv = order[np.searchsorted(node_id, v, sorter=order)]
    n = len(node_id)
    graph = coo_matrix((np.ones(len(u)), (iu, iv)), shape=(n, n))
    parts, label = connected_components(graph, directed=False)
    nodes = np.bincount(label, minlength=parts)
    edges = np.bincount(label[iu], minlength=parts)
    smallest = np.full(parts, np.iinfo(np.int64).max)
    np.minimum.at(smallest, label, node_id)
    best = min(range(parts), key=lambda p: (-nodes[p], -edges[p], smallest[p]))
    return Component(label == best, label[iu] == best, int(parts))


@dataclass(frozen=True)
class Noded:
    """Lines cut into edges at their ends and at shared vertices.

    Attributes:
        node_xy: float (n, 2) node positions, sorted by x then y; node ids are 1 + row.
        u: int64 (e,) first node id of each edge.
        v: int64 (e,) second node id.
        line: int64 (e,) the input line each edge is a piece of.
        pieces: The edges' coordinates, float (k, 2) each, from u to v.

    """

    node_xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    line: np.ndarray
    pieces: list[np.ndarray]


def node_lines(lines: list[np.ndarray]) -> Noded:
    """Cut lines into edges at nodes: every line end, and every vertex two lines (or one line twice) share.

    Lines that cross between vertices do not meet (a bridge, an underpass): a planner's layer
    that means a junction has a vertex there, as OSM has. Repeated vertices (closer than
    :data:`NODE_PRECISION_M`) are one; a line that shrinks to one point gives no edge.

    Args:
        lines: The coordinates of each line, float (k, 2), metres.

    """
    coords_of, keys_of = [], []
    for coords in lines:
        keys = _keys(coords)
        keep = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]
        coords_of.append(np.asarray(coords, dtype=float)[keep])
        keys_of.append([keys[i] for i in keep])
    count: Counter[tuple[int, int]] = Counter()
    for keys in keys_of:
        if len(keys) >= 2:
            count.update(keys[1:-1])
            count.update([keys[0], keys[0], keys[-1], keys[-1]])  # an end is a node by itself
    node_keys = sorted(key for key, n in count.items() if n >= 2)
    number = {key: i + 1 for i, key in enumerate(node_keys)}
    u, v, line_of, pieces = [], [], [], []
    for index, (coords, keys) in enumerate(zip(coords_of, keys_of, strict=True)):
        start = 0
        for at in range(1, len(keys)):
            if keys[at] in number:
                u.append(number[keys[start]])
                v.append(number[keys[at]])
                line_of.append(index)
                pieces.append(coords[start : at + 1])
                start = at
    node_xy = np.array(node_keys, dtype=float).reshape(-1, 2) * NODE_PRECISION_M
    ints = {"dtype": np.int64}
    return Noded(node_xy, np.array(u, **ints), np.array(v, **ints), np.array(line_of, **ints), pieces)


def _keys(coords: np.ndarray) -> list[tuple[int, int]]:
    """Each vertex as integer multiples of the node precision."""
    grid = np.round(np.asarray(coords, dtype=float)[:, :2] / NODE_PRECISION_M).astype(np.int64)
    return [(int(x), int(y)) for x, y in grid]
