"""Walking access: the shortest walk from every cell to the nearest facility of each type.

Definition (docs/metrics.md, "Walking access"): residents walk on walkable cells with
8-neighbour moves (orthogonal step = cell_m, diagonal = cell_m * sqrt(2), no cutting corners).
A resident's access time to a type is the shortest walking distance from home to the nearest
facility of that type divided by the resident's own walking speed. Unreachable is infinite.

One multi-source Dijkstra search per facility type (scipy.sparse.csgraph) gives the distance
field of that type over the whole grid; residents read their home cell from it. Walking paths
(for the agents engine and the browser) come from cached Dijkstra trees (:class:`PathTrees`).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from scipy.sparse import csgraph

from model.city.grid import City


def distance_field(city: City, sources: np.ndarray, limit_m: float = np.inf) -> np.ndarray:
    """Metres from every cell to the nearest of ``sources`` (inf where unreachable or beyond ``limit_m``)."""
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    if sources.size == 0:
        return np.full(city.n_cells, np.inf)
    return csgraph.dijkstra(city.graph, directed=False, indices=sources, min_only=True, limit=limit_m)


def nearest_source(city: City, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres from every cell to the nearest of ``sources``, and which source that is.

    Returns:
        (metres, source cell) per cell; the source is -1 where no source is reachable. Where two
        sources are equally near, scipy's search picks one of them.
    """
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    if sources.size == 0:
        return np.full(city.n_cells, np.inf), np.full(city.n_cells, -1, dtype=np.int64)
    metres, _, nearest = csgraph.dijkstra(
        city.graph, directed=False, indices=sources, min_only=True, return_predecessors=True
    )
    return metres, np.where(nearest < 0, -1, nearest).astype(np.int64)


def access_minutes(
    fields: dict[str, np.ndarray], home_cell: np.ndarray, m_per_min: np.ndarray
) -> dict[str, np.ndarray]:
    """Each resident's walking minutes to the nearest facility of each type (inf if unreachable)."""
    return {t: field[home_cell] / m_per_min for t, field in fields.items()}


class PathTrees:
    """Shortest walking paths between cells, from cached Dijkstra trees (scipy.sparse.csgraph).

    A tree rooted at a cell gives the path from every cell to it; read backwards, the path from
    it. Residents walk between home and facilities, so trees rooted at facility cells serve both
    ways. At most ``max_trees`` trees are kept (least recently used first out): a tree holds two
    numbers per grid cell.
    """

    def __init__(self, city: City, max_trees: int = 512):
        """Start with no trees; each is computed the first time a path to or from its cell needs it."""
        self.city = city
        self.max_trees = max_trees
        self._trees: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def _tree(self, root: int) -> tuple[np.ndarray, np.ndarray]:
        if root in self._trees:
            self._trees.move_to_end(root)
        else:
            dist, pred = csgraph.dijkstra(self.city.graph, directed=False, indices=root, return_predecessors=True)
            self._trees[root] = (dist, pred)
            if len(self._trees) > self.max_trees:
                self._trees.popitem(last=False)
        return self._trees[root]

    def metres(self, source: int, target: int, root: int | None = None) -> float:
        """Shortest walking distance between two cells, read from the tree of ``root`` (``target`` by default).

        Which tree is read is fixed by the caller, not by which trees happen to be cached: the two
        trees of a pair can differ in the last bit (the same edges summed in another order).
        """
        root = tree_root(root, source, target)
        return float(self._tree(root)[0][source if root == target else target])

    def path(self, source: int, target: int, root: int | None = None) -> tuple[list[int], np.ndarray]:
        """Cells from ``source`` to ``target`` (both included) and the metres walked at each.

        Of equally short walks the tree of ``root`` (``target`` by default; either end) gives one,
        whatever trees are cached, so that the same walk asked twice is the same walk (issue 22:
        walkers' cells differed between two calls, as other trees had been cached between them).
        """
        root = tree_root(root, source, target)
        if root == source and source != target:
            cells, along = self._path_to(target, source)
            return cells[::-1], along[-1] - along[::-1]
        return self._path_to(source, target)

    def _path_to(self, source: int, root: int) -> tuple[list[int], np.ndarray]:
        dist, pred = self._tree(root)
        cells = [source]
        while cells[-1] != root:
            cells.append(int(pred[cells[-1]]))
        return cells, dist[source] - dist[cells]


def tree_root(root: int | None, source: int, target: int) -> int:
    """The end of a walk whose shortest-path tree is read: ``root`` (one of the two ends), ``target`` if None."""
    if root is None:
        return target
    if root not in (source, target):
        raise ValueError(f"the root {root} is neither end of the walk from {source} to {target}")
    return root
