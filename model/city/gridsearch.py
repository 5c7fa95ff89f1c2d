"""Bounded shortest-path searches on the walking grid, many sources at once (numba kernel).

Destination choice needs the walking distance from every home cell to every facility within the
cut-off. At city scale that is one bounded search per facility cell: 6,157 searches of some 7,000
cells each on wuhai_city. scipy.sparse.csgraph.dijkstra takes about 1.3 ms a search there,
11-12 s in all, much of it building and scanning a dense row of the whole grid per source. This
kernel walks the grid implicitly (no graph object, no dense rows), keeps a bucket queue instead of
a heap (Dial's algorithm), resets only the cells it touched, writes only the home cells it
reaches, and splits the sources over the machine's cores: 2.6 s in all (measured; README).

It implements exactly the walking rule of ``model.city.walking_graph`` (8 neighbours,
orthogonal step = cell_m, diagonal = cell_m * sqrt(2), a diagonal only when both orthogonal
cells beside it are walkable); tests/test_gridsearch.py checks it against scipy's Dijkstra.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_DX = np.array([1, -1, 0, 0, 1, 1, -1, -1], dtype=np.int64)
_DY = np.array([0, 0, 1, -1, 1, -1, 1, -1], dtype=np.int64)


@numba.njit(cache=True, nogil=True)
def _search_chunk(
    sources, moves, step_cell, step_m, cell_m, limit_m, origin_index, offsets, out_origin, out_dist, counts
):
    """Bounded Dijkstra from each source with a bucket queue (Dial's algorithm).

    Buckets are ``cell_m`` wide, the shortest step: a cell in bucket k can only be improved by a
    cell in a lower bucket, so every cell popped from the lowest non-empty bucket is final and
    no heap is needed. Steps reach at most 2 buckets ahead (sqrt(2) < 2), so 3 circular buckets
    suffice; stale entries (improved since pushed) are skipped when popped. ``moves[c]`` has bit
    k set when step k (``step_cell[k]`` cells away, ``step_m[k]`` metres) may be taken from cell c.
    """
    n_cells = moves.size
    dist = np.full(n_cells, np.inf)
    settled = np.zeros(n_cells, dtype=np.bool_)
    touched = np.empty(n_cells, dtype=np.int64)
    n_buckets = 3
    cap = 64
    buckets = np.empty((n_buckets, cap), dtype=np.int64)
    sizes = np.zeros(n_buckets, dtype=np.int64)
    for s in range(sources.size):
        src = sources[s]
        dist[src] = 0.0
        touched[0] = src
        n_touched = 1
        sizes[:] = 0
        buckets[0, 0] = src
        sizes[0] = 1
        pending = 1
        current = 0  # bucket number (not index) being emptied
        written = 0
        base = offsets[s]
        while pending > 0:
            b = current % n_buckets
            if sizes[b] == 0:
                current += 1
                continue
            sizes[b] -= 1
            pending -= 1
            c = buckets[b, sizes[b]]
            if settled[c]:
                continue  # a stale duplicate: the cell was improved after this entry was pushed
            settled[c] = True
            d = dist[c]
            o = origin_index[c]
            if o >= 0:
                out_origin[base + written] = o
                out_dist[base + written] = d
                written += 1
            allowed = moves[c]
            for k in range(8):
                if not (allowed >> k) & 1:
                    continue
                n = c + step_cell[k]
                nd = d + step_m[k]
                if nd > limit_m or nd >= dist[n] or settled[n]:
                    continue
                if dist[n] == np.inf:
                    touched[n_touched] = n
                    n_touched += 1
                dist[n] = nd
                nb = int(nd // cell_m) % n_buckets
                if sizes[nb] == cap:
                    grown = np.empty((n_buckets, 2 * cap), dtype=np.int64)
                    grown[:, :cap] = buckets
                    buckets = grown
                    cap *= 2
                buckets[nb, sizes[nb]] = n
                sizes[nb] += 1
                pending += 1
        counts[s] = written
        for i in range(n_touched):
            dist[touched[i]] = np.inf
            settled[touched[i]] = False


@numba.njit(cache=True, parallel=True)
def _search_all(
    sources, moves, step_cell, step_m, cell_m, limit_m, origin_index, offsets, out_origin, out_dist, counts, n_chunks
):
    bounds = np.linspace(0, sources.size, n_chunks + 1).astype(np.int64)
    for k in numba.prange(n_chunks):
        lo, hi = bounds[k], bounds[k + 1]
        _search_chunk(
            sources[lo:hi],
            moves,
            step_cell,
            step_m,
            cell_m,
            limit_m,
            origin_index,
            offsets[lo:hi],
            out_origin,
            out_dist,
            counts[lo:hi],
        )


def bounded_distances(
    walkable: np.ndarray, cell_m: float, sources: np.ndarray, origins: np.ndarray, limit_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walking metres from each source cell to every origin cell within ``limit_m``.

    Args:
        walkable: Bool array (height, width).
        cell_m: Metres per cell side.
        sources: Source cells.
        origins: Origin cells, unique and sorted.
        limit_m: Largest distance reported.

    Returns:
        ``(source_index, origin_index, metres)``: one entry per (source, origin) pair within the
        limit, grouped by source, nearest first within each source.
    """
    height, width = walkable.shape
    sources = np.asarray(sources, dtype=np.int64)
    origin_index = np.full(width * height, -1, dtype=np.int64)
    origin_index[origins] = np.arange(origins.size)
    # room per source: the origins in the square of Chebyshev radius limit / cell_m around it
    radius = int(limit_m // cell_m) + 1 if math.isfinite(limit_m) else max(width, height)
    is_origin = np.zeros((height + 1, width + 1), dtype=np.int64)
    is_origin[1:, 1:] = (origin_index >= 0).reshape(height, width)
    table = is_origin.cumsum(0).cumsum(1)
    sx, sy = sources % width, sources // width
    x0, x1 = np.clip(sx - radius, 0, width), np.clip(sx + radius + 1, 0, width)
    y0, y1 = np.clip(sy - radius, 0, height), np.clip(sy + radius + 1, 0, height)
    room = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    offsets = (np.cumsum(room) - room).astype(np.int64)
    out_origin = np.empty(int(room.sum()), dtype=np.int64)
    out_dist = np.empty(int(room.sum()))
    counts = np.zeros(sources.size, dtype=np.int64)
    if sources.size:
        n_chunks = max(1, min(sources.size, 4 * numba.get_num_threads()))
        moves, step_cell, step_m = _moves(walkable, float(cell_m))
        _search_all(
            sources,
            moves,
            step_cell,
            step_m,
            float(cell_m),
            float(limit_m),
            origin_index,
            offsets,
            out_origin,
            out_dist,
            counts,
            n_chunks,
        )
    return _compact(offsets, counts, out_origin, out_dist)


@numba.njit(cache=True)
def _compact(offsets, counts, out_origin, out_dist):
    """Each source's results, ``offsets[i]:offsets[i] + counts[i]`` of the room reserved, one after another.

    Copies slice by slice: building a mask over the whole room (as large as every source's
    square) took several arrays of its size at once, the peak of a city's build.

    Returns:
        ``(source_index, origin_index, metres)`` of :func:`bounded_distances`.
    """
    n = counts.sum()
    source = np.empty(n, dtype=np.int64)
    origin = np.empty(n, dtype=np.int64)
    metres = np.empty(n)
    k = 0
    for i in range(counts.size):
        lo, c = offsets[i], counts[i]
        source[k : k + c] = i
        origin[k : k + c] = out_origin[lo : lo + c]
        metres[k : k + c] = out_dist[lo : lo + c]
        k += c
    return source, origin, metres


def _moves(walkable: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The walking rule as a bit mask per cell: which of the 8 steps (``_DX``, ``_DY``) it may take.

    Step k from cell (x, y) to (x + dx, y + dy) is allowed when that cell lies on the grid and is
    walkable and, for a diagonal, both orthogonal cells beside it are walkable too (the rule of
    ``model.city.walking_graph``; the cell stepped from need not be walkable: a search from a
    blocked cell steps out of it).

    Returns:
        ``(moves, step_cell, step_m)``: uint8 per cell (bit k: step k allowed), and per step its
        offset in cells (``dy * width + dx``) and its metres (``cell_m``; ``cell_m * sqrt(2)``).
    """
    height, width = walkable.shape
    padded = np.zeros((height + 2, width + 2), dtype=bool)
    padded[1:-1, 1:-1] = walkable
    moves = np.zeros((height, width), dtype=np.uint8)
    diag = cell_m * math.sqrt(2.0)
    step_m = np.empty(8)
    for k, (dx, dy) in enumerate(zip(_DX.tolist(), _DY.tolist(), strict=True)):
        ok = padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width].copy()
        if dx and dy:
            ok &= padded[1 : 1 + height, 1 + dx : 1 + dx + width] & padded[1 + dy : 1 + dy + height, 1 : 1 + width]
        moves |= ok.astype(np.uint8) << k
        step_m[k] = diag if dx and dy else cell_m
    return moves.ravel(), _DY * width + _DX, step_m


class PairDistances:
    """Walking metres between given pairs of cells, exact.

    When the rectangle spanned by two cells has no blocked cell, a shortest walk stays inside it
    and its length is the octile distance ``cell_m * (max(dx, dy) + (sqrt(2) - 1) * min(dx, dy))``
    (every diagonal step's two orthogonal neighbours lie in the rectangle too). Other pairs are
    found by bounded searches from their targets, and cached.
    """

    def __init__(self, walkable: np.ndarray, cell_m: float, limit_m: float):
        """Prepare the blocked-cell counts (a 2-D prefix sum) for the rectangle test."""
        self.walkable = walkable
        self.cell_m = cell_m
        self.limit_m = limit_m
        height, width = walkable.shape
        self.width = width
        blocked = np.zeros((height + 1, width + 1), dtype=np.int64)
        blocked[1:, 1:] = ~walkable
        self.blocked_sum = blocked.cumsum(0).cumsum(1)
        self._cache: dict[tuple[int, int], float] = {}

    def metres(self, a_cells: np.ndarray, b_cells: np.ndarray) -> np.ndarray:
        """Walking metres from each a to its b (inf beyond ``limit_m`` or unreachable)."""
        a_cells = np.asarray(a_cells, dtype=np.int64)
        b_cells = np.asarray(b_cells, dtype=np.int64)
        ax, ay = a_cells % self.width, a_cells // self.width
        bx, by = b_cells % self.width, b_cells // self.width
        x0, x1 = np.minimum(ax, bx), np.maximum(ax, bx) + 1
        y0, y1 = np.minimum(ay, by), np.maximum(ay, by) + 1
        s = self.blocked_sum
        clear = (s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]) == 0
        dx, dy = x1 - x0 - 1, y1 - y0 - 1
        out = self.cell_m * (np.maximum(dx, dy) + (math.sqrt(2.0) - 1.0) * np.minimum(dx, dy))
        out[out > self.limit_m] = np.inf
        hard = np.flatnonzero(~clear)
        if hard.size:
            keys = list(zip(a_cells[hard].tolist(), b_cells[hard].tolist()))
            missing = sorted({k for k in keys if k not in self._cache})
            if missing:
                targets = np.unique([b for _, b in missing])
                origins = np.unique([a for a, _ in missing])
                src, org, metres = bounded_distances(self.walkable, self.cell_m, targets, origins, self.limit_m)
                found = dict(zip(zip(origins[org].tolist(), targets[src].tolist()), metres.tolist()))
                for k in missing:
                    self._cache[k] = found.get(k, math.inf)
            out[hard] = [self._cache[k] for k in keys]
        return out
