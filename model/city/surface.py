"""The walking surface: one interface for where residents walk, a grid of cells or a street network.

Models are written against :class:`WalkingSurface`, the way Mesa's discrete spaces (grid, network,
Voronoi) share one base class: the engines, measures and reports ask the surface for distances,
paths and units and never read the grid's cells. Two surfaces implement it:

* :class:`GridSurface`, the walkable grid of today (``model.city.grid.City``): nodes are the
  grid's cells, ``node = y * width + x``; every method delegates to the functions the code
  already uses (``access.distance_field``, ``access.nearest_source``, ``gridsearch
  .bounded_distances``, ``access.PathTrees``), so its results are those of today, bit for bit.
* :class:`StreetSurface`, a street network: nodes are intersections and ends of walkable ways,
  edges are ways with their length in metres (osmnx's convention: a projected graph, ``length``
  on every edge), searched with scipy.sparse.csgraph's Dijkstra, and for the bounded searches of
  many origins (``within``) with a Dijkstra of its own that gives scipy's distances bit for bit;
  homes and facilities join it at their nearest node by a straight connector walk
  (:meth:`WalkingSurface.snap`).

Every distance is in metres and every coordinate in metres of the surface's own frame (x east;
for the grid, y grows with the row, as in the grid's pictures and GeoJSON). The graph is
undirected: a walk is as long both ways. docs/surfaces.md describes the interface and what still
reads the grid directly.
"""

from __future__ import annotations

import abc
import math
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numba
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from model.city.access import PathTrees, distance_field, nearest_source, tree_root
from model.city.grid import City, block_cells_of
from model.city.gridsearch import PairDistances, bounded_distances

# StreetSurface.within shares its searches over threads from this many searches on (fewer, as the
# pairs of a day's turn-aways ask for, are done at once: starting threads would cost more), in
# chunks of a quarter of a thread's share, so that a thread finishing early (short searches at the
# city's edge) takes another chunk instead of waiting
_THREADED_SEARCHES = 64
_CHUNKS_PER_THREAD = 4


class PairMetres(Protocol):
    """Walking metres between given pairs of nodes (see :meth:`WalkingSurface.pairs`)."""

    def metres(self, a_nodes: np.ndarray, b_nodes: np.ndarray) -> np.ndarray:
        """Metres from each a to its b: inf beyond the measurer's limit or where unreachable."""
        ...


class WalkingSurface(abc.ABC):
    """Where residents walk: nodes with coordinates in metres joined by walkable edges in metres.

    Nodes are numbered ``0 .. n_nodes - 1``. Every method that takes nodes accepts any integer
    array-like and raises ValueError for a node outside that range. Distances are walking metres
    along the surface (``inf`` where unreachable); they never include the connector walk of
    :meth:`snap`, which callers add for points that are not on a node.
    """

    @property
    @abc.abstractmethod
    def n_nodes(self) -> int:
        """Number of nodes."""

    @property
    @abc.abstractmethod
    def node_xy_m(self) -> np.ndarray:
        """Float array (n_nodes, 2): each node's x (east) and y in metres of the surface's own frame."""

    @property
    @abc.abstractmethod
    def graph_m(self) -> sparse.csr_matrix:
        """Sparse (n_nodes x n_nodes) matrix of edge lengths in metres, one entry per undirected edge.

        Use it with ``directed=False`` in scipy.sparse.csgraph; an explicit zero is an edge of
        length 0.
        """

    @abc.abstractmethod
    def distance_field(self, sources, limit_m: float = math.inf) -> np.ndarray:
        """Metres from the nearest of ``sources`` to every node.

        Args:
            sources: Source nodes (repeats allowed; none gives a field of inf).
            limit_m: Largest distance searched; nodes farther away get inf.

        Returns:
            Float array (n_nodes,): 0 on the sources, inf where unreachable or beyond ``limit_m``.
        """

    @abc.abstractmethod
    def nearest_source(self, sources) -> tuple[np.ndarray, np.ndarray]:
        """Metres from every node to its nearest source, and which source node that is.

        Args:
            sources: Source nodes (repeats allowed).

        Returns:
            ``(metres, source_node)``, each of shape (n_nodes,): the distance of the nearest
            source and its node number (not its position in ``sources``), ``inf`` and -1 where no
            source is reachable. Of equally near sources, the search picks one.
        """

    @abc.abstractmethod
    def within(self, origins, limit_m: float, targets=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The bounded search from many origins: every node within ``limit_m`` metres of each origin.

        Args:
            origins: Origin nodes (repeats allowed: each is one search).
            limit_m: Largest distance reported, metres (0 reports each origin itself).
            targets: Unique sorted nodes to report (e.g. home nodes); None reports every node.

        Returns:
            ``(origin_row, node, metres)``: one entry per (origin, node) pair within the limit,
            ``origin_row`` the position of the origin in ``origins``; grouped by origin row in
            ascending order. The order within a group belongs to the surface (no caller may rely
            on it): the street surface gives nearest first, ties by node; the grid gives the
            order in which its kernel settles cells.
        """

    @abc.abstractmethod
    def path(self, a: int, b: int, root: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The shortest walk from node ``a`` to node ``b``.

        Of equally short walks, the shortest-path tree rooted at ``root`` (``b`` by default, or
        ``a``) gives one: the same arguments give the same walk, whatever trees are cached
        (:func:`walk_root` chooses the end whose tree is shared by most walks).

        Returns:
            ``(nodes, cumulative_m)``: the nodes from ``a`` to ``b``, both included, and the metres
            walked on arriving at each (0 at ``a``, the distance at ``b``).

        Raises:
            ValueError: If ``b`` cannot be reached from ``a``.
        """

    @abc.abstractmethod
    def metres(self, a: int, b: int, root: int | None = None) -> float:
        """The length of the shortest walk between nodes ``a`` and ``b`` (inf when unconnected).

        Read from the tree rooted at ``root`` (``b`` by default, or ``a``), whatever is cached:
        the two ends' trees can differ in the last bit (the same edges summed in another order).
        """

    @abc.abstractmethod
    def pairs(self, limit_m: float) -> PairMetres:
        """A reusable measurer of walking metres between given pairs of nodes, up to ``limit_m``.

        Its ``metres(a_nodes, b_nodes)`` gives the walk from each a to its b, inf beyond
        ``limit_m`` or where unreachable; it keeps what it searched, so that asking again is cheap.
        """

    @property
    @abc.abstractmethod
    def bound_slack_m(self) -> float:
        """How far a bound on walking metres may need widening so that rounding cannot lose a pair.

        A search whose bound is derived from minutes and paces adds this: a cell's side on the
        grid (whose pair measurer works cell by cell), 0 on a street network.
        """

    @abc.abstractmethod
    def snap(self, x_m, y_m, among=None) -> tuple[np.ndarray, np.ndarray]:
        """The node each point joins the surface at, and the straight connector walk to it.

        Args:
            x_m: x of each point, metres (scalar or array).
            y_m: y of each point, metres, same shape.
            among: Bool array (n_nodes,) of the nodes a point may join (e.g. :attr:`main_component`);
                None: the surface's default (every node of a street network; walkable cells of the
                grid).

        Returns:
            ``(node, connector_m)``, arrays of the points' shape.
        """

    @abc.abstractmethod
    def unit_squares(self, size_m: float) -> np.ndarray:
        """The (column, row) of the square spatial unit of side ``size_m`` each node lies in.

        Units are the residential blocks of the segregation measures: squares of side ``size_m``
        from the frame's origin (the grid rounds the side to whole cells). residents.csv labels a
        home's block ``column:row``.

        Returns:
            Int64 array (n_nodes, 2).
        """

    def unit_side_m(self, size_m: float) -> float:
        """The side of the units :meth:`unit_squares` makes when asked for ``size_m`` (metres)."""
        return float(size_m)

    def units(self, size_m: float) -> np.ndarray:
        """A key per node of the square spatial unit of side ``size_m`` it lies in.

        Keys are whole numbers (:func:`unit_keys` of :meth:`unit_squares`), and sort as the units'
        (column, row).

        Returns:
            Int64 array (n_nodes,).
        """
        squares = self.unit_squares(size_m)
        return unit_keys(squares[:, 0], squares[:, 1])

    def components(self) -> np.ndarray:
        """Connected-component label of every node (int array (n_nodes,), labels 0, 1, ...)."""
        return csgraph.connected_components(self.graph_m, directed=False)[1].astype(np.int64)

    @property
    def main_component(self) -> np.ndarray:
        """Bool array (n_nodes,): the nodes of the largest connected component (of equal ones, label 0 first).

        Callers report the homes and facilities off it: from there they reach little or nothing.
        """
        labels = self.components()
        return labels == int(np.argmax(np.bincount(labels)))

    def check_nodes(self, nodes, what: str = "node") -> np.ndarray:
        """Nodes as an int64 array, after checking that each lies in ``0 .. n_nodes - 1``.

        Raises:
            ValueError: Naming the first node out of range.
        """
        arr = np.asarray(nodes)
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{what}s must be whole node numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64).reshape(-1)
        bad = np.flatnonzero((arr < 0) | (arr >= self.n_nodes))
        if bad.size:
            raise ValueError(f"{what} {int(arr[bad[0]])} (entry {int(bad[0])}) is not a node: 0 .. {self.n_nodes - 1}")
        return arr


def walk_root(a: int, b: int, home: int) -> int:
    """The end of a resident's walk from ``a`` to ``b`` whose shortest-path tree gives the walk.

    The end that is not the resident's ``home``: walks go between a home and facilities, or
    between facilities, so the trees read are those of the few facility nodes, shared by
    everyone who walks to or from them (a walk between two facilities: its destination ``b``).
    Both engines ask :meth:`WalkingSurface.path` with it, so a walk never depends on which
    trees are cached.
    """
    return a if b == home else b


def _check_limit(limit_m: float) -> float:
    """The limit as a float, after checking that it is a distance (0 or more, inf allowed)."""
    limit = float(limit_m)
    if not limit >= 0:  # also NaN
        raise ValueError(f"limit_m must be 0 or more metres, got {limit_m}")
    return limit


def _points(x_m, y_m) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Flat float arrays of the points and their common shape; ValueError on NaN or a shape mismatch."""
    x = np.asarray(x_m, dtype=np.float64)
    y = np.asarray(y_m, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x_m and y_m differ in shape: {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("points to snap must have finite coordinates")
    return x.reshape(-1), y.reshape(-1), x.shape


_TIES = 8  # equally near nodes looked at when snapping: the lowest node number of those joins


def _nearest_among(xy: np.ndarray, eligible: np.ndarray, x: np.ndarray, y: np.ndarray, tree=None):
    """Nearest eligible node of every point (cKDTree) and the straight distance to it."""
    nodes = np.flatnonzero(eligible)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if nodes.size == 0:
        raise ValueError("no node to snap to: the surface (or the 'among' mask) has none")
    if tree is None:
        tree = cKDTree(xy[nodes])
    n_near = min(_TIES, nodes.size)
    metres, k = tree.query(np.column_stack([x, y]), k=n_near)
    metres, k = np.asarray(metres).reshape(x.size, n_near), np.asarray(k).reshape(x.size, n_near)
    # of equally near nodes, the lowest node number (cKDTree's own pick among ties is arbitrary)
    candidate = np.where(metres == metres[:, :1], nodes[k], np.iinfo(np.int64).max)
    return candidate.min(axis=1), np.asarray(metres[:, 0], dtype=np.float64)


def unit_keys(column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One int64 key per (column, row) of a unit, sorting as (column, row) does.

    ``key = (column - min column) * rows + (row - min row)``, with ``rows`` the span of rows, so
    that ``np.unique`` of keys lists units in the order ``np.unique(..., axis=0)`` lists the pairs
    (the order of the count tables of model/measures/segregation.py).
    """
    column = np.asarray(column, dtype=np.int64)
    row = np.asarray(row, dtype=np.int64)
    if column.size == 0:
        return np.zeros(0, dtype=np.int64)
    rows = int(row.max() - row.min()) + 1
    return (column - column.min()) * rows + (row - row.min())


class _TreeCache:
    """Shortest-path trees by root (scipy's Dijkstra), least recently used out first.

    A tree holds two numbers per node; residents walk between a few facilities and many homes,
    so trees rooted at either end of a walk are reused.
    """

    def __init__(self, graph: sparse.csr_matrix, max_trees: int):
        self.graph = graph
        self.max_trees = max_trees
        self._trees: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __contains__(self, root: int) -> bool:
        return root in self._trees

    def tree(self, root: int) -> tuple[np.ndarray, np.ndarray]:
        if root in self._trees:
            self._trees.move_to_end(root)
        else:
            dist, pred = csgraph.dijkstra(self.graph, directed=False, indices=root, return_predecessors=True)
            self._trees[root] = (dist, pred)
            if len(self._trees) > self.max_trees:
                self._trees.popitem(last=False)
        return self._trees[root]


class GridSurface(WalkingSurface):
    """The walkable grid as a walking surface: nodes are cells, ``node = y * width + x``.

    Every cell is a node, blocked ones too (they have no edges: a blocked cell is a component of
    its own). Node coordinates are cell centres, ``((x + 0.5) * cell_m, (y + 0.5) * cell_m)``, as in
    the run's GeoJSON. Each method delegates to the function the code uses today, so results are
    those of today bit for bit (tests/test_surface.py compares them on the bundled scenarios).

    Args:
        city: The city built from a scenario (``model.city.grid.build_city``).
        max_trees: Shortest-path trees kept for :meth:`path` (``access.PathTrees``).
    """

    def __init__(self, city: City, max_trees: int = 512):
        self.city = city
        self.paths = PathTrees(city, max_trees=max_trees)
        ys, xs = np.divmod(np.arange(city.n_cells, dtype=np.int64), city.width)
        self._xy = np.column_stack([(xs + 0.5) * city.cell_m, (ys + 0.5) * city.cell_m])
        self._xy.flags.writeable = False
        self._walkable_tree: cKDTree | None = None

    @property
    def n_nodes(self) -> int:
        """Number of cells, walkable or not."""
        return self.city.n_cells

    @property
    def node_xy_m(self) -> np.ndarray:
        """Cell centres in metres (read-only)."""
        return self._xy

    @property
    def graph_m(self) -> sparse.csr_matrix:
        """The city's walking graph (``City.graph``)."""
        return self.city.graph

    def distance_field(self, sources, limit_m: float = math.inf) -> np.ndarray:
        """Metres from the nearest source to every cell: ``access.distance_field``."""
        return distance_field(self.city, self.check_nodes(sources, "source"), _check_limit(limit_m))

    def nearest_source(self, sources) -> tuple[np.ndarray, np.ndarray]:
        """Metres from every cell to its nearest source, and that source's cell: ``access.nearest_source``."""
        return nearest_source(self.city, self.check_nodes(sources, "source"))

    def within(self, origins, limit_m: float, targets=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cells within ``limit_m`` of each origin: ``gridsearch.bounded_distances`` from the origins.

        The kernel reports a cell as it settles it, by ``cell_m``-wide buckets of distance, nearest
        bucket first (not strictly nearest first within a bucket). A blocked origin reaches only
        itself, as on the walking graph (the kernel alone would step out of it; today's callers
        search from walkable cells only, where the two agree).
        """
        origins = self.check_nodes(origins, "origin")
        report = np.arange(self.n_nodes, dtype=np.int64) if targets is None else self._targets(targets)
        row, k, metres = bounded_distances(self.city.walkable, self.city.cell_m, origins, report, _check_limit(limit_m))
        node = report[k]
        blocked = ~self.city.walkable.reshape(-1)[origins]
        if blocked.any():
            # the kernel steps out of a blocked origin; on the walking graph it has no edge
            keep = ~blocked[row] | (node == origins[row])
            row, node, metres = row[keep], node[keep], metres[keep]
        return row, node, metres

    def _targets(self, targets) -> np.ndarray:
        targets = self.check_nodes(targets, "target")
        if targets.size > 1 and not (np.diff(targets) > 0).all():
            raise ValueError("targets must be unique and sorted")
        return targets

    def path(self, a: int, b: int, root: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The shortest walk between two cells: ``access.PathTrees.path``."""
        a, b = (int(n) for n in self.check_nodes([a, b]))
        if not math.isfinite(self.paths.metres(a, b, root)):
            raise ValueError(f"cell {b} cannot be reached from cell {a}")
        cells, along = self.paths.path(a, b, root)
        return np.asarray(cells, dtype=np.int64), along

    def metres(self, a: int, b: int, root: int | None = None) -> float:
        """The shortest walk between two cells: ``access.PathTrees.metres``."""
        a, b = (int(n) for n in self.check_nodes([a, b]))
        return self.paths.metres(a, b, root)

    def pairs(self, limit_m: float) -> PairMetres:
        """``gridsearch.PairDistances``: the octile shortcut where no blocked cell lies between, else searches."""
        return PairDistances(self.city.walkable, self.city.cell_m, _check_limit(limit_m))

    @property
    def bound_slack_m(self) -> float:
        """A cell's side."""
        return self.city.cell_m

    def snap(self, x_m, y_m, among=None) -> tuple[np.ndarray, np.ndarray]:
        """The cell a point lies in when it may join there, else the nearest such cell centre.

        ``among`` defaults to the walkable cells. The connector is the straight line from the
        point to the cell's centre (0 for a point at a centre, where today's homes and facilities
        are).
        """
        x, y, shape = _points(x_m, y_m)
        city = self.city
        walkable = city.walkable.reshape(-1)
        eligible = walkable if among is None else self._mask(among)
        cx = np.floor(x / city.cell_m).astype(np.int64)
        cy = np.floor(y / city.cell_m).astype(np.int64)
        inside = (cx >= 0) & (cx < city.width) & (cy >= 0) & (cy < city.height)
        node = np.where(inside, cy * city.width + cx, 0)
        here = inside & eligible[node]
        far = np.flatnonzero(~here)
        if far.size:
            if among is None and self._walkable_tree is None:
                self._walkable_tree = cKDTree(self._xy[walkable])
            tree = self._walkable_tree if among is None else None
            node[far], _ = _nearest_among(self._xy, eligible, x[far], y[far], tree)
        connector = np.hypot(x - self._xy[node, 0], y - self._xy[node, 1])
        return node.reshape(shape), connector.reshape(shape)

    def _mask(self, among) -> np.ndarray:
        mask = np.asarray(among, dtype=bool).reshape(-1)
        if mask.size != self.n_nodes:
            raise ValueError(f"among must hold one bool per node ({self.n_nodes}), got {mask.size}")
        return mask

    def unit_side_m(self, size_m: float) -> float:
        """Whole cells: ``max(1, round(size_m / cell_m)) * cell_m``."""
        return block_cells_of(self.city.cell_m, size_m) * self.city.cell_m

    def unit_squares(self, size_m: float) -> np.ndarray:
        """Residential blocks of about ``size_m``: squares of ``max(1, round(size_m / cell_m))`` cells.

        The blocks of the measures (``model.city.grid.block_cells_of``, ``segregation.block_keys``): block
        ``(x // b, y // b)`` of cell (x, y), so a count table by their keys has the rows of
        ``block_keys``' table, in the same order.
        """
        if not float(size_m) > 0:
            raise ValueError(f"size_m must be more than 0 metres, got {size_m}")
        block = block_cells_of(self.city.cell_m, size_m)
        ys, xs = np.divmod(np.arange(self.n_nodes, dtype=np.int64), self.city.width)
        return np.column_stack([xs // block, ys // block])


class StreetSurface(WalkingSurface):
    """A street network as a walking surface: undirected ways with their lengths in metres.

    Build it with :meth:`from_edges` or :meth:`from_networkx` (osmnx's projected graphs). Homes
    and facilities join it at the nearest node by a straight connector walk (:meth:`snap`);
    joining at the nearest point of the nearest edge is a later refinement (it needs the edge
    geometry and splits an edge into two).

    Attributes:
        node_id: The graph's own node ids (e.g. OSM ids), one per node.
        max_trees: Shortest-path trees kept for :meth:`path`.
    """

    def __init__(self, node_xy_m: np.ndarray, graph_m: sparse.csr_matrix, node_id=None, max_trees: int = 512):
        """Wrap checked arrays; use :meth:`from_edges` or :meth:`from_networkx`, which check them."""
        self._xy = np.asarray(node_xy_m, dtype=np.float64)
        self._xy.flags.writeable = False
        self._graph = graph_m
        n = self._xy.shape[0]
        self.node_id = np.arange(n) if node_id is None else np.asarray(node_id)
        self.max_trees = max_trees
        self._trees = _TreeCache(graph_m, max_trees)
        self._kdtree: cKDTree | None = None
        self._labels: np.ndarray | None = None
        self._trunks: tuple[np.ndarray, np.ndarray] | None = None
        self._adj: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_edges(cls, node_xy_m, u, v, length_m, node_id=None) -> StreetSurface:
        """Build a street surface from its nodes and undirected edges.

        Of repeated edges between the same two nodes (either way round) the shortest is kept;
        loops (``u == v``) are dropped, as they never shorten a walk; an edge of length 0 is
        kept (two nodes at the same place).

        Args:
            node_xy_m: Float array (n, 2), metres, finite.
            u: First node of each edge (0 .. n - 1).
            v: Second node of each edge.
            length_m: Length of each edge, metres: finite, 0 or more.
            node_id: The graph's own id of each node (unique), e.g. OSM ids; default 0 .. n - 1.

        Raises:
            ValueError: For bad coordinates, naming the node, or a bad edge, naming the edge's
                index (position in ``u``, ``v``, ``length_m``).
        """
        xy = np.asarray(node_xy_m, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"node_xy_m must have shape (n, 2), got {xy.shape}")
        bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        if bad.size:
            raise ValueError(f"node {int(bad[0])} has coordinates {xy[bad[0]].tolist()}: they must be finite metres")
        n = xy.shape[0]
        u, v, length = _check_edges(n, u, v, length_m)
        if node_id is not None:
            node_id = np.asarray(node_id)
            if node_id.shape != (n,):
                raise ValueError(f"node_id must hold one id per node ({n}), got shape {node_id.shape}")
            if pd.Index(node_id).has_duplicates:
                raise ValueError("node_id holds repeated ids")
        return cls(xy, _edge_matrix(n, u, v, length), node_id)

    @classmethod
    def from_networkx(cls, graph, x: str = "x", y: str = "y", length: str = "length") -> StreetSurface:
        """Build a street surface from a networkx graph in osmnx's convention.

        Nodes keep their ids (``node_id``) in the graph's order; coordinates are the node
        attributes ``x`` and ``y``, lengths the edge attribute ``length``, both in metres, so an
        osmnx graph must be projected first (``osmnx.project_graph``). Directions and parallel
        edges collapse to one undirected edge each, the shortest.

        Raises:
            ValueError: For a graph in longitude/latitude (its ``crs`` says EPSG:4326), a node
                without coordinates or an edge without a length (naming it).
        """
        crs = str(graph.graph.get("crs", "")).lower().replace(" ", "")
        if crs in {"epsg:4326", "wgs84", "ogc:crs84"}:
            raise ValueError(f"the graph is in {graph.graph['crs']} (degrees): project it to metres first")
        ids = list(graph.nodes)
        index = {node: i for i, node in enumerate(ids)}
        xy = np.empty((len(ids), 2))
        for i, (node, data) in enumerate(graph.nodes(data=True)):
            if x not in data or y not in data:
                raise ValueError(f"node {node!r} has no '{x}' and '{y}' attributes")
            xy[i] = data[x], data[y]
        edges = list(graph.edges(data=length))
        for k, (a, b, value) in enumerate(edges):
            if value is None:
                raise ValueError(f"edge {k} ({a!r}, {b!r}) has no '{length}' attribute")
        u = np.array([index[a] for a, _, _ in edges], dtype=np.int64)
        v = np.array([index[b] for _, b, _ in edges], dtype=np.int64)
        lengths = np.array([value for _, _, value in edges], dtype=np.float64)
        node_id = np.empty(len(ids), dtype=object)
        node_id[:] = ids
        if all(isinstance(i, (int, np.integer)) for i in ids):
            node_id = np.array(ids, dtype=np.int64)
        return cls.from_edges(xy, u, v, lengths, node_id)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self._xy.shape[0]

    @property
    def node_xy_m(self) -> np.ndarray:
        """Node coordinates in metres (read-only)."""
        return self._xy

    @property
    def graph_m(self) -> sparse.csr_matrix:
        """Edge lengths, one entry per undirected edge (row < column), explicit zeros kept."""
        return self._graph

    def node_index(self, ids) -> np.ndarray:
        """Node numbers of the graph's own ids (``node_id``).

        Raises:
            ValueError: Naming the first id that is not a node.
        """
        ids = np.asarray(ids).reshape(-1)
        found = pd.Index(self.node_id).get_indexer(ids)
        if (found < 0).any():
            raise ValueError(f"node id {ids[np.argmax(found < 0)]!r} is not in the graph")
        return found.astype(np.int64)

    def distance_field(self, sources, limit_m: float = math.inf) -> np.ndarray:
        """Metres from the nearest source to every node (one multi-source Dijkstra, scipy)."""
        sources = np.unique(self.check_nodes(sources, "source"))
        limit = _check_limit(limit_m)
        if sources.size == 0:
            return np.full(self.n_nodes, np.inf)
        return csgraph.dijkstra(self._graph, directed=False, indices=sources, min_only=True, limit=limit)

    def nearest_source(self, sources) -> tuple[np.ndarray, np.ndarray]:
        """Metres from every node to its nearest source and that source's node (scipy's Dijkstra)."""
        sources = np.unique(self.check_nodes(sources, "source"))
        if sources.size == 0:
            return np.full(self.n_nodes, np.inf), np.full(self.n_nodes, -1, dtype=np.int64)
        metres, _, nearest = csgraph.dijkstra(
            self._graph, directed=False, indices=sources, min_only=True, return_predecessors=True
        )
        return metres, np.where(nearest < 0, -1, nearest).astype(np.int64)

    def within(self, origins, limit_m: float, targets=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nodes within ``limit_m`` of each origin, nearest first (ties by node).

        A Dijkstra on the graph's adjacency (numba, :func:`_search_from`) that touches only the
        nodes it reaches, the searches shared over the machine's threads. A leaf origin (a home or
        facility on its connector of w metres to node p, see :meth:`leaf_trunks`) is searched from
        p, starting at w metres: every walk from the leaf starts with that step, so the search
        sums each walk's metres in the order a search from the leaf would (``w + e1 + e2 ...``)
        and its distances are the leaf's own, bit for bit. Leaves on one node with connectors of
        the same length, and the node itself when it is an origin too, share one search.
        Searching from p at 0 and adding w afterwards would share more but round differently
        (``(e1 + e2 ...) + w``: one ulp apart for 1,877 of helsinki_centre's 4,831 candidate
        entries). A leaf that is not a target is never entered: nothing lies beyond it.
        """
        origins = self.check_nodes(origins, "origin")
        limit = _check_limit(limit_m)
        keep = np.ones(self.n_nodes, dtype=np.bool_)
        if targets is not None:
            targets = self.check_nodes(targets, "target")
            if targets.size > 1 and not (np.diff(targets) > 0).all():
                raise ValueError("targets must be unique and sorted")
            keep[:] = False
            keep[targets] = True
        if origins.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        trunk, step = self.leaf_trunks()
        start, start_m = trunk[origins], step[origins] + 0.0  # + 0.0: a connector of -0.0 m starts at 0.0
        order = np.lexsort((start_m, start))
        new = np.ones(order.size, dtype=bool)
        new[1:] = (np.diff(start[order]) != 0) | (np.diff(start_m[order]) != 0)
        group = np.empty(origins.size, dtype=np.int64)
        group[order] = np.cumsum(new) - 1
        indptr, indices, weights = self._adjacency()
        kind = np.where(np.diff(indptr) == 1, np.where(keep, LEAF, DEAD_END), THROUGH).astype(np.int8)
        counts, nodes, metres = _search_all(
            (indptr, indices, weights, kind), start[order][new], start_m[order][new], limit, keep
        )
        # a leaf searched from its trunk at w > 0: itself first at 0 metres (when a target), and
        # not again at the 2w metres at which its trunk's search reaches it (when within the limit)
        own_first = (start != origins) & (start_m > 0)
        itself = own_first & keep[origins]
        size = counts[group] + itself - (itself & (start_m + step[origins] <= limit))
        group_ptr = np.concatenate([[0], np.cumsum(counts)])
        out_ptr = np.concatenate([[0], np.cumsum(size)])
        node, metre = _per_origin(group, origins, own_first, itself, group_ptr, nodes, metres, out_ptr)
        return np.repeat(np.arange(origins.size, dtype=np.int64), size), node, metre

    def _adjacency(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The graph both ways as CSR arrays (indptr, neighbour, metres), explicit zeros kept (computed once)."""
        if self._adj is None:
            coo = self._graph.tocoo()
            row = np.concatenate([coo.row, coo.col]).astype(np.int64)
            col = np.concatenate([coo.col, coo.row]).astype(np.int64)
            length = np.concatenate([coo.data, coo.data]).astype(np.float64)
            by_row = np.argsort(row, kind="stable")
            indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
            np.cumsum(np.bincount(row, minlength=self.n_nodes), out=indptr[1:])
            self._adj = (indptr, col[by_row], length[by_row])
        return self._adj

    def path(self, a: int, b: int, root: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The shortest walk between two nodes, from the shortest-path tree rooted at ``root`` (default ``b``)."""
        a, b = (int(n) for n in self.check_nodes([a, b]))
        if tree_root(root, a, b) == a and a != b:
            nodes, along = self._walk_to_root(b, a)  # b ... a, metres from a falling to 0
            return nodes[::-1].copy(), along[::-1].copy()
        nodes, along = self._walk_to_root(a, b)  # a ... b, metres to b falling to 0
        return nodes, along[0] - along

    def _walk_to_root(self, start: int, root: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes from ``start`` back to ``root`` along the tree, and each one's metres from the root."""
        dist, pred = self._trees.tree(root)
        if not math.isfinite(dist[start]):
            raise ValueError(f"node {start} and node {root} are not connected")
        nodes = [start]
        while nodes[-1] != root:
            nodes.append(int(pred[nodes[-1]]))
        nodes = np.asarray(nodes, dtype=np.int64)
        return nodes, dist[nodes]

    def metres(self, a: int, b: int, root: int | None = None) -> float:
        """The shortest walk between two nodes, from the tree rooted at ``root`` (default ``b``)."""
        a, b = (int(n) for n in self.check_nodes([a, b]))
        root = tree_root(root, a, b)
        return float(self._trees.tree(root)[0][a if root == b else b])

    def pairs(self, limit_m: float) -> PairMetres:
        """A :class:`_StreetPairs`: one bounded search per distinct first node, kept."""
        return _StreetPairs(self, _check_limit(limit_m))

    @property
    def bound_slack_m(self) -> float:
        """0: street distances are exact, whatever the bound."""
        return 0.0

    def snap(self, x_m, y_m, among=None) -> tuple[np.ndarray, np.ndarray]:
        """The nearest node of each point (scipy's cKDTree) and the straight connector walk to it."""
        x, y, shape = _points(x_m, y_m)
        if among is None:
            if self._kdtree is None and self.n_nodes:
                self._kdtree = cKDTree(self._xy)
            node, connector = _nearest_among(self._xy, np.ones(self.n_nodes, dtype=bool), x, y, self._kdtree)
        else:
            mask = np.asarray(among, dtype=bool).reshape(-1)
            if mask.size != self.n_nodes:
                raise ValueError(f"among must hold one bool per node ({self.n_nodes}), got {mask.size}")
            node, connector = _nearest_among(self._xy, mask, x, y)
        return node.reshape(shape), connector.reshape(shape)

    def unit_squares(self, size_m: float) -> np.ndarray:
        """Squares of side ``size_m`` from the frame's origin: ``(floor(x / size_m), floor(y / size_m))``."""
        if not float(size_m) > 0:
            raise ValueError(f"size_m must be more than 0 metres, got {size_m}")
        return np.floor(self._xy / float(size_m)).astype(np.int64).reshape(-1, 2)

    def leaf_trunks(self) -> tuple[np.ndarray, np.ndarray]:
        """Per node, the node its walks start through and the metres to it (computed once).

        A leaf (a node with one edge, e.g. a home on its connector) starts through its one
        neighbour, ``w`` metres away; any other node through itself, 0 metres away.
        """
        if self._trunks is None:
            coo = self._graph.tocoo()
            ends = np.concatenate([coo.row, coo.col])
            other = np.concatenate([coo.col, coo.row])
            length = np.concatenate([coo.data, coo.data])
            degree = np.bincount(ends, minlength=self.n_nodes)
            trunk = np.arange(self.n_nodes, dtype=np.int64)
            step = np.zeros(self.n_nodes)
            leaf = degree[ends] == 1
            trunk[ends[leaf]] = other[leaf]
            step[ends[leaf]] = length[leaf]
            self._trunks = (trunk, step)
        return self._trunks

    def components(self) -> np.ndarray:
        """Connected-component label of every node (computed once)."""
        if self._labels is None:
            self._labels = super().components()
            self._labels.flags.writeable = False
        return self._labels


def _check_edges(n: int, u, v, length_m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges as int64, int64, float64 arrays, after checking them.

    Raises:
        ValueError: Naming the index of the first edge with a node outside ``0 .. n - 1`` or a
            length that is NaN, infinite or negative.
    """
    u = np.asarray(u).reshape(-1)
    v = np.asarray(v).reshape(-1)
    length = np.asarray(length_m, dtype=np.float64).reshape(-1)
    if not (u.size == v.size == length.size):
        raise ValueError(f"u, v and length_m differ in length: {u.size}, {v.size}, {length.size}")
    for name, ends in (("u", u), ("v", v)):
        if ends.size and not np.issubdtype(ends.dtype, np.integer):
            raise ValueError(f"{name} must hold whole node numbers, got dtype {ends.dtype}")
    u, v = u.astype(np.int64), v.astype(np.int64)
    bad = np.flatnonzero((u < 0) | (u >= n) | (v < 0) | (v >= n))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"edge {k} ({u[k]}, {v[k]}) names a node outside 0 .. {n - 1}")
    bad = np.flatnonzero(~(np.isfinite(length) & (length >= 0)))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"edge {k} ({u[k]}, {v[k]}) has length {length[k]}: lengths must be finite metres, 0 or more")
    return u, v, length


def _edge_matrix(n: int, u: np.ndarray, v: np.ndarray, length: np.ndarray) -> sparse.csr_matrix:
    """CSR matrix with one entry per undirected edge (row < column), the shortest of repeats.

    Built from its arrays directly, not from coordinates, so that repeats are not summed and
    zero lengths stay explicit entries (scipy.sparse.csgraph reads an explicit zero as an edge).
    """
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    proper = lo != hi
    lo, hi, length = lo[proper], hi[proper], length[proper]
    order = np.lexsort((length, hi, lo))
    lo, hi, length = lo[order], hi[order], length[order]
    first = np.ones(lo.size, dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, length = lo[first], hi[first], length[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(lo, minlength=n), out=indptr[1:])
    return sparse.csr_matrix((length, hi, indptr), shape=(n, n))


THROUGH, LEAF, DEAD_END = 0, 1, 2
"""How :func:`_search_from` treats a node: walked through (any node with 2 edges or more, or none),
a leaf to report (one edge, a target: its metres are final as soon as its one neighbour's are), or a
leaf never entered (one edge, not a target: no walk goes on from it)."""


@numba.njit(cache=True, nogil=True)
def _search_from(indptr, indices, weights, kind, starts, start_m, limit_m, keep):
    """Bounded Dijkstra from each start node, at its start metres (binary heaps, stale entries skipped).

    A node's metres are the least over walks of the metres summed step by step from the start
    (``start_m + e1 + e2 ...``, each sum rounded as it goes), whatever the order in which equal
    walks are found: scipy.sparse.csgraph's Dijkstra gives the same, bit for bit. Nodes beyond
    ``limit_m`` are not reached (as scipy's ``limit``: at the limit is within), nor is anything
    from a start beyond it.

    Leaves to report wait in a heap of their own, so the main heap holds only the nodes walked
    through: a leaf's metres are final once its neighbour's are, and it is reported when the
    main heap's nearest lies beyond it (no leaf found later can be nearer).

    Args:
        indptr: CSR offsets of the adjacency (both directions).
        indices: Neighbour of each entry.
        weights: Metres of each entry (0 or more).
        kind: Per node, :data:`THROUGH`, :data:`LEAF` or :data:`DEAD_END` (never entered).
        starts: Start node of each search.
        start_m: Metres already walked at the start node, per search.
        limit_m: Largest distance reached.
        keep: Bool per node: report it when reached.

    Returns:
        ``(counts, nodes, metres)``: the kept nodes reached, search after search (``counts`` per
        search), nearest first, ties by node.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    settled = np.zeros(n, dtype=np.bool_)
    touched = np.empty(n, dtype=np.int64)
    heap_m = np.empty(indices.size + 1)  # an entry per improvement: at most one per directed edge
    heap_n = np.empty(indices.size + 1, dtype=np.int64)
    leaf_m = np.empty(n)  # a leaf is pushed once: when its one neighbour is settled
    leaf_n = np.empty(n, dtype=np.int64)
    counts = np.zeros(starts.size, dtype=np.int64)
    out_n = np.empty(max(16, 4 * starts.size), dtype=np.int64)
    out_m = np.empty(out_n.size)
    written = 0
    for s in range(starts.size):
        base = written
        if start_m[s] <= limit_m:
            src = starts[s]
            dist[src] = start_m[s]
            touched[0] = src
            n_touched = 1
            heap_m[0] = start_m[s]
            heap_n[0] = src
            size = 1
            n_leaves = 0
            while size > 0 or n_leaves > 0:
                if size == 0 or (n_leaves > 0 and leaf_m[0] < heap_m[0]):
                    out_n, out_m = _emit(out_n, out_m, written, leaf_n[0], leaf_m[0])
                    written += 1
                    n_leaves -= 1
                    _sift_down(leaf_m, leaf_n, n_leaves, leaf_m[n_leaves], leaf_n[n_leaves])
                    continue
                d = heap_m[0]
                u = heap_n[0]
                size -= 1
                _sift_down(heap_m, heap_n, size, heap_m[size], heap_n[size])
                if settled[u]:
                    continue  # a stale entry: the node was settled nearer
                settled[u] = True
                if keep[u]:
                    out_n, out_m = _emit(out_n, out_m, written, u, d)
                    written += 1
                for j in range(indptr[u], indptr[u + 1]):
                    v = indices[j]
                    if kind[v] == DEAD_END or settled[v]:
                        continue
                    nd = d + weights[j]
                    if nd > limit_m:
                        continue
                    if kind[v] == LEAF:
                        settled[v] = True
                        touched[n_touched] = v
                        n_touched += 1
                        _sift_up(leaf_m, leaf_n, n_leaves, nd, v)
                        n_leaves += 1
                        continue
                    if nd >= dist[v]:
                        continue
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    _sift_up(heap_m, heap_n, size, nd, v)
                    size += 1
            for i in range(n_touched):
                dist[touched[i]] = np.inf
                settled[touched[i]] = False
            _mend_ties(out_n, out_m, base, written)
        counts[s] = written - base
    return counts, out_n[:written], out_m[:written]


@numba.njit(cache=True, nogil=True)
def _mend_ties(out_n, out_m, lo, hi):
    """Sort entries ``lo:hi``, already in order of metres, by node within each run of equal metres.

    A search reports in order of metres, and of nodes among equal metres but where a leaf and a
    node walked through (or, by a zero-length edge, two nodes) came out of that order: an
    insertion sort, which costs one pass where nothing is out of order.
    """
    for i in range(lo + 1, hi):
        m, x = out_m[i], out_n[i]
        k = i - 1
        while k >= lo and out_m[k] == m and out_n[k] > x:
            out_m[k + 1] = out_m[k]
            out_n[k + 1] = out_n[k]
            k -= 1
        out_m[k + 1] = m
        out_n[k + 1] = x


@numba.njit(cache=True, nogil=True, inline="always")
def _emit(out_n, out_m, written, node, metres):
    """Write one entry at ``written``, doubling the buffers when full; returns the buffers."""
    if written == out_n.size:
        out_n = np.concatenate((out_n, np.empty(out_n.size, dtype=np.int64)))
        out_m = np.concatenate((out_m, np.empty(out_m.size)))
    out_n[written] = node
    out_m[written] = metres
    return out_n, out_m


@numba.njit(cache=True, nogil=True, inline="always")
def _precedes(m_a, node_a, m_b, node_b):
    """Whether entry a comes before entry b: nearer, or as near and a lower node."""
    return m_a < m_b or (m_a == m_b and node_a < node_b)


@numba.njit(cache=True, nogil=True, inline="always")
def _sift_up(heap_m, heap_n, size, m, x):
    """Put (m, x) into the heap of ``size`` entries, ordered by metres, then node."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if not _precedes(m, x, heap_m[parent], heap_n[parent]):
            break
        heap_m[i] = heap_m[parent]
        heap_n[i] = heap_n[parent]
        i = parent
    heap_m[i] = m
    heap_n[i] = x


@numba.njit(cache=True, nogil=True, inline="always")
def _sift_down(heap_m, heap_n, size, m, x):
    """Put (m, x) at the root of the heap of ``size`` entries (its last one removed) and sift it down."""
    if size == 0:
        return
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _precedes(heap_m[child + 1], heap_n[child + 1], heap_m[child], heap_n[child]):
            child += 1
        if not _precedes(heap_m[child], heap_n[child], m, x):
            break
        heap_m[i] = heap_m[child]
        heap_n[i] = heap_n[child]
        i = child
    heap_m[i] = m
    heap_n[i] = x


@numba.njit(cache=True, parallel=True)
def _per_origin(group, origins, own_first, itself, group_ptr, nodes, metres, out_ptr):
    """Each origin's nodes and metres, copied from its group's search into ``out_ptr[i]:out_ptr[i + 1]``.

    An origin marked ``own_first`` (a leaf searched from its trunk at w > 0 metres) comes first
    at 0 metres when ``itself`` (it is a target), and its entry of the trunk's search is left out.
    """
    out_n = np.empty(out_ptr[-1], dtype=np.int64)
    out_m = np.empty(out_ptr[-1])
    for i in numba.prange(origins.size):
        o = origins[i]
        k = out_ptr[i]
        if itself[i]:
            out_n[k] = o
            out_m[k] = 0.0
            k += 1
        for j in range(group_ptr[group[i]], group_ptr[group[i] + 1]):
            if own_first[i] and nodes[j] == o:
                continue
            out_n[k] = nodes[j]
            out_m[k] = metres[j]
            k += 1
    return out_n, out_m


def _search_all(graph, starts, start_m, limit_m, keep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_search_from` over chunks of the searches, one thread per numba thread.

    Each search is independent, so the results do not depend on the chunks or the threads.
    """
    indptr, indices, weights, kind = graph
    n_threads = numba.get_num_threads()
    n_chunks = min(starts.size, n_threads * _CHUNKS_PER_THREAD)
    if n_chunks <= 1 or starts.size < _THREADED_SEARCHES:
        return _search_from(indptr, indices, weights, kind, starts, start_m, limit_m, keep)
    bounds = np.linspace(0, starts.size, n_chunks + 1).astype(np.int64)
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        parts = list(
            pool.map(
                lambda lo, hi: _search_from(
                    indptr, indices, weights, kind, starts[lo:hi], start_m[lo:hi], limit_m, keep
                ),
                bounds[:-1],
                bounds[1:],
            )
        )
    return tuple(np.concatenate(arrays) for arrays in zip(*parts, strict=True))


class _StreetPairs:
    """Walking metres between pairs of street nodes, up to a limit.

    Each distinct first node is searched once (:meth:`StreetSurface.within` up to the limit) and
    its reached nodes kept sorted, so a pair is a binary search in them: memory grows with the
    nodes reached, not with the network (a dense row per node would not fit at city scale).

    A first node that is a leaf (one edge, of w metres, to node p: a home or facility on its
    connector) is searched from p instead: every walk from it to another node is w + the walk
    from p, so the homes on one street node share one search (at city scale 13,119 homes join
    3,769 street nodes).
    """

    def __init__(self, surface: StreetSurface, limit_m: float):
        self.surface = surface
        self.limit_m = limit_m
        self._reached: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def metres(self, a_nodes, b_nodes) -> np.ndarray:
        """Metres from each a to its b: inf beyond the limit or where unreachable."""
        first = self.surface.check_nodes(a_nodes, "origin")
        b = self.surface.check_nodes(b_nodes, "target")
        if first.size != b.size:
            raise ValueError(f"a_nodes and b_nodes differ in length ({first.size} and {b.size})")
        trunk, step = self.surface.leaf_trunks()
        a, offset = trunk[first], step[first]
        missing = np.unique(a[[int(x) not in self._reached for x in a.tolist()]]) if a.size else a
        if missing.size:
            row, node, metres = self.surface.within(missing, self.limit_m)
            starts = np.searchsorted(row, np.arange(missing.size + 1))
            for i, origin in enumerate(missing.tolist()):
                lo, hi = starts[i], starts[i + 1]
                order = np.argsort(node[lo:hi], kind="stable")
                self._reached[origin] = (node[lo:hi][order], metres[lo:hi][order])
        out = np.full(a.size, np.inf)
        by_origin = np.argsort(a, kind="stable")
        origins, starts = np.unique(a[by_origin], return_index=True)
        ends = np.append(starts[1:], a.size)
        for origin, lo, hi in zip(origins.tolist(), starts.tolist(), ends.tolist(), strict=True):
            at = by_origin[lo:hi]
            nodes, metres = self._reached[origin]
            k = np.searchsorted(nodes, b[at])
            k_in = np.minimum(k, max(nodes.size - 1, 0))
            hit = (k < nodes.size) & (nodes[k_in] == b[at]) if nodes.size else np.zeros(at.size, dtype=bool)
            out[at[hit]] = metres[k_in[hit]]
        out += offset
        out[first == b] = 0.0
        out[out > self.limit_m] = np.inf
        return out
