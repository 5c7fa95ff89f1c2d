"""Write scenarios/wuhai_city.toml and scenarios/qingshan_city.toml: two whole cities as scenario data.

Run it from anywhere with the project's Python (or any Python 3.11+: it uses only the standard
library):

    /work/venv/bin/python scenarios/generators/generate_city.py             # rewrites both files
    /work/venv/bin/python scenarios/generators/generate_city.py wuhai       # only wuhai_city.toml
    /work/venv/bin/python scenarios/generators/generate_city.py --check     # exit 1 if a file is out of date

The script is deterministic. The jitter of sizes and positions comes from one
``random.Random(seed)`` per city, created in ``build_*`` with the fixed seeds WUHAI_SEED and
QINGSHAN_SEED below and consumed in a fixed order, so the same script always writes the same
bytes. Change the script (or a seed) and rerun it rather than editing the written files.

What it writes (details, and which figure is published and which assumed, in each file's header):

* ``wuhai_city.toml``: Wuhai's 83 communities in 14 life circles with 532,100 residents and the
  published facility counts (88 elderly care, 25 nursery-kindergartens, 7,623 commercial outlets,
  210 pocket parks, a calligraphy room per community and 3 demonstration bases per circle),
  schools and health facilities at GB 50180-2018 norms, on a 9 km x 26 km strip between the
  Yellow River and the hills.
* ``qingshan_city.toml``: Baotou's Qingshan district: 56 communities and 21 villages with
  535,100 residents (7.66% minorities), 14 parks with 14 lakes, 19 squares and 20 gardens, and
  the daily facilities at GB 50180-2018 norms, on a 10 km x 8 km grid.

Checks made here before anything is written (the loader makes its own as well): every facility
lies inside the grid on a walkable cell that is reachable from the rest of the city, no
community overlaps another or a blocked cell, residents sum to the published totals, group
shares sum to 1, and the facility counts are the ones stated in the header.

Published figures are those of docs/sources.md ("Wuhai", "Qingshan, Baotou", with the articles they
come from); every other number is an assumption and is named as one in the written files.
"""

from __future__ import annotations

import random
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]  # scenarios/

Rect = tuple[int, int, int, int]  # x, y, w, h in cells
Cell = tuple[int, int]

CELL_M = 50.0  # assumption: one cell holds an apartment block (the project's usual scale)
STREET_CELLS = 1  # assumption: one 50 m cell of street between neighbouring communities
STREET_MARGIN_CELLS = 2  # shops and parks of a circle may also sit this far outside its blocks
LLOYD_ROUNDS = 12  # k-means rounds when siting several facilities over an area
LLOYD_SAMPLE = 1500  # at most this many cells take part in k-means (a regular subsample)
LLOYD_FIXED_MARGIN_CELLS = 30  # fixed sites farther than this outside the area are ignored (speed)
SITE_JITTER_CELLS = 2  # a sited facility moves up to this many cells off its k-means centre
ROWS_FOR = {1: [1], 2: [2], 3: [3], 4: [2, 2], 5: [3, 2], 6: [3, 3], 7: [4, 3], 8: [3, 3, 2]}
DENSITY_JITTER = (0.8, 1.25)  # assumption: community density varies +-25% around its circle's


# =========================================================================== geometry


class Ground:
    """The grid of one city: blocked rectangles, walkable cells and the reachable part.

    Walking in the model steps to the 8 neighbours without cutting corners, so two cells are
    connected exactly when they are connected by orthogonal steps: reachability is checked on
    4-neighbour components, and only the largest one counts as the city.
    """

    def __init__(self, width: int, height: int, blocked: list[tuple[Rect, str]]):
        self.width, self.height = width, height
        self.blocked = blocked
        walk = [bytearray(b"\x01" * width) for _ in range(height)]
        for (x, y, w, h), what in blocked:
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
                raise SystemExit(f"blocked rectangle {(x, y, w, h)} ({what}) is not inside the grid")
            for yy in range(y, y + h):
                walk[yy][x : x + w] = b"\x00" * w
        self.walk = walk
        self.reach = self._largest_component()

    def _largest_component(self) -> list[bytearray]:
        seen = [bytearray(self.width) for _ in range(self.height)]
        best: list[Cell] = []
        for y0 in range(self.height):
            for x0 in range(self.width):
                if not self.walk[y0][x0] or seen[y0][x0]:
                    continue
                seen[y0][x0] = 1
                comp, queue = [], deque([(x0, y0)])
                while queue:
                    x, y = queue.popleft()
                    comp.append((x, y))
                    for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                        if 0 <= nx < self.width and 0 <= ny < self.height and self.walk[ny][nx] and not seen[ny][nx]:
                            seen[ny][nx] = 1
                            queue.append((nx, ny))
                if len(comp) > len(best):
                    best = comp
        reach = [bytearray(self.width) for _ in range(self.height)]
        for x, y in best:
            reach[y][x] = 1
        return reach

    def ok(self, x: int, y: int) -> bool:
        """Whether (x, y) is inside the grid, walkable and reachable from the rest of the city."""
        return 0 <= x < self.width and 0 <= y < self.height and bool(self.reach[y][x])

    def cells(self, rect: Rect) -> list[Cell]:
        """Return the reachable cells of a rectangle (clipped to the grid), row by row."""
        x0, y0, w, h = rect
        return [
            (x, y)
            for y in range(max(0, y0), min(self.height, y0 + h))
            for x in range(max(0, x0), min(self.width, x0 + w))
            if self.reach[y][x]
        ]

    def nearest(self, x: int, y: int, allowed: Callable[[int, int], bool] | None = None) -> Cell:
        """Return the reachable cell nearest to (x, y) (square rings, then row order), optionally restricted."""
        for r in range(max(self.width, self.height)):
            ring = [(xx, yy) for yy in (y - r, y + r) for xx in range(x - r, x + r + 1)]
            ring += [(xx, yy) for xx in (x - r, x + r) for yy in range(y - r + 1, y + r)]
            hits = [c for c in ring if self.ok(*c) and (allowed is None or allowed(*c))]
            if hits:
                return min(hits, key=lambda c: ((c[0] - x) ** 2 + (c[1] - y) ** 2, c[1], c[0]))
        raise SystemExit(f"no reachable cell near ({x}, {y})")


def inside(rect: Rect, x: int, y: int) -> bool:
    """Whether cell (x, y) lies in ``rect``."""
    rx, ry, rw, rh = rect
    return rx <= x < rx + rw and ry <= y < ry + rh


def overlaps(a: Rect, b: Rect) -> bool:
    """Whether two rectangles share a cell."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def grow(rect: Rect, by: int) -> Rect:
    """Return the rectangle enlarged by ``by`` cells on every side."""
    x, y, w, h = rect
    return (x - by, y - by, w + 2 * by, h + 2 * by)


def shrink_to(rect: Rect, frac: float) -> Rect:
    """Return the central part of ``rect`` covering ``frac`` of its width and height (at least one cell)."""
    x, y, w, h = rect
    nw, nh = max(1, round(w * frac)), max(1, round(h * frac))
    return (x + (w - nw) // 2, y + (h - nh) // 2, nw, nh)


def centre(rect: Rect) -> Cell:
    """Return the centre cell of a rectangle."""
    x, y, w, h = rect
    return (x + w // 2, y + h // 2)


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split an integer total in proportion to weights (largest remainder, ties to the first)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def subdivide(box: Rect, weights: list[float], rows: list[int]) -> list[Rect]:
    """Cut ``box`` into ``sum(rows)`` rectangles in rows, areas in proportion to ``weights``.

    Rows are as high as their weights' share; within a row, widths follow the weights. One
    street (STREET_CELLS) separates neighbours.
    """
    x0, y0, w, h = box
    groups, i = [], 0
    for n in rows:
        groups.append(list(range(i, i + n)))
        i += n
    heights = allocate(h - STREET_CELLS * (len(rows) - 1), [sum(weights[j] for j in g) for g in groups])
    out: list[Rect | None] = [None] * len(weights)
    y = y0
    for g, rh in zip(groups, heights, strict=True):
        widths = allocate(w - STREET_CELLS * (len(g) - 1), [weights[j] for j in g])
        x = x0
        for j, cw in zip(g, widths, strict=True):
            if cw < 3 or rh < 3:
                raise SystemExit(f"subdividing {box}: a part of {cw}x{rh} cells is too small")
            out[j] = (x, y, cw, rh)
            x += cw + STREET_CELLS
        y += rh + STREET_CELLS
    return [r for r in out if r is not None]


def river_rects(
    points: list[tuple[int, int, int]], band: int, height: int, crossings: Iterable[int]
) -> list[tuple[Rect, str]]:
    """Draw a river (or lake) as stacked bands of ``band`` rows, the banks interpolated between control points.

    Args:
        points: (y, west bank x, east bank x exclusive) control points, first at y = 0, last at the bottom row.
        band: Rows per rectangle.
        height: Rows of the grid.
        crossings: Rows left open across the whole river (bridges, a dam road).

    Returns:
        The rectangles, each with an empty comment. Consecutive bands must share a column, or a
        walker could slip diagonally between them; checked.

    """

    def bank(y: float) -> tuple[int, int]:
        for (ya, la, ra), (yb, lb, rb) in zip(points, points[1:], strict=False):
            if ya <= y <= yb:
                t = (y - ya) / (yb - ya)
                return round(la + t * (lb - la)), round(ra + t * (rb - ra))
        raise SystemExit(f"river: no control points around y = {y}")

    crossings = sorted(set(crossings))
    out: list[tuple[Rect, str]] = []
    prev: tuple[int, int] | None = None
    for y0 in range(0, height, band):
        y1 = min(height, y0 + band)
        lo, hi = bank((y0 + y1 - 1) / 2)
        if prev and not (max(lo, prev[0]) < min(hi, prev[1])):
            raise SystemExit(f"river bands at y = {y0} do not overlap: a walker could cross diagonally")
        prev = (lo, hi)
        start = y0
        for c in [c for c in crossings if y0 <= c < y1] + [y1]:
            if c > start:
                out.append(((lo, start, hi - lo, c - start), ""))
            start = c + 1
    return out


def line_rects(fixed: int, start: int, end: int, crossings: Iterable[int], vertical: bool) -> list[Rect]:
    """Draw a one-cell-wide line (rail, channel) from ``start`` to ``end`` (exclusive), open at ``crossings``."""
    out, s = [], start
    for c in sorted(set(crossings)) + [end]:
        if c > s:
            out.append((fixed, s, 1, c - s) if vertical else (s, fixed, c - s, 1))
        s = c + 1
    return out


# =========================================================================== the city being built


@dataclass
class Community:
    """A community as written to the file."""

    name: str
    area: Rect
    residents: int
    circle: str
    note: str = ""
    groups: dict[str, float] | None = None


@dataclass
class Facility:
    """A facility as written to the file."""

    type: str
    x: int
    y: int
    name: str | None = None
    capacity: int | None = None


@dataclass
class Circle:
    """A life circle (or subdistrict, or town): its blocks, communities and the cells for its facilities."""

    name: str
    residents: int
    boxes: list[Rect]
    note: str = ""
    communities: list[Community] = field(default_factory=list)
    homes: list[Cell] = field(default_factory=list)  # cells of its main block's communities
    streets: list[Cell] = field(default_factory=list)  # reachable cells near its blocks, in no community
    all_homes: list[Cell] = field(default_factory=list)  # cells of all its communities, outliers too

    @property
    def main(self) -> Rect:
        """The main block (outlying settlements come after it)."""
        return self.boxes[0]


class City:
    """Communities and facilities of one city on its ground, with placement helpers and checks."""

    def __init__(self, ground: Ground, rng: random.Random):
        self.ground = ground
        self.rng = rng
        self.communities: list[Community] = []
        self.facilities: list[Facility] = []
        self.by_type: dict[str, list[Cell]] = {}
        self._in_community = [bytearray(ground.width) for _ in range(ground.height)]

    # ------------------------------------------------------------------ communities

    def add_community(self, com: Community) -> None:
        """Add a community; its cells must be free of blocked cells and of other communities."""
        x, y, w, h = com.area
        for other in self.communities:
            if overlaps(other.area, com.area):
                raise SystemExit(f"community {com.name} {com.area} overlaps {other.name} {other.area}")
        if len(self.ground.cells(com.area)) != w * h:
            raise SystemExit(f"community {com.name} {com.area} has blocked or unreachable cells")
        for yy in range(y, y + h):
            self._in_community[yy][x : x + w] = b"\x01" * w
        self.communities.append(com)

    def in_community(self, x: int, y: int) -> bool:
        """Whether (x, y) is a community cell."""
        return bool(self._in_community[y][x])

    def street_cells(self, boxes: Iterable[Rect], exclude: Iterable[Rect] = ()) -> list[Cell]:
        """Reachable cells within STREET_MARGIN_CELLS of the boxes that are in no community (nor ``exclude``)."""
        exclude = list(exclude)
        seen: set[Cell] = set()
        out = []
        for box in boxes:
            for c in self.ground.cells(grow(box, STREET_MARGIN_CELLS)):
                if c not in seen and not self.in_community(*c) and not any(inside(r, *c) for r in exclude):
                    seen.add(c)
                    out.append(c)
        return out

    # ------------------------------------------------------------------ facilities

    def add(self, ftype: str, cell: Cell, name: str | None = None, capacity: int | None = None) -> None:
        """Place a facility; it must be on a reachable cell inside the grid."""
        x, y = cell
        if not self.ground.ok(x, y):
            raise SystemExit(f"{ftype} {name or ''} at ({x}, {y}) is outside the grid, blocked or unreachable")
        self.facilities.append(Facility(ftype, x, y, name, capacity))
        self.by_type.setdefault(ftype, []).append(cell)

    def sites(self, cells: list[Cell], n: int, fixed: Iterable[Cell] = ()) -> list[Cell]:
        """``n`` sites spread over ``cells`` as a planner would: k-means centres, jittered, on a cell of ``cells``.

        Lloyd's algorithm from random starting cells; ``fixed`` sites (facilities already there)
        take part in the assignment but do not move, so new sites fill the gaps between them.
        Each centre is moved up to SITE_JITTER_CELLS at random, then snapped to the nearest cell.
        """
        if n <= 0:
            return []
        sample = cells[:: max(1, len(cells) // LLOYD_SAMPLE)]
        centres = [tuple(map(float, cells[self.rng.randrange(len(cells))])) for _ in range(n)]
        xs, ys = [c[0] for c in cells], [c[1] for c in cells]
        near = grow((min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1), LLOYD_FIXED_MARGIN_CELLS)
        fixed = [tuple(map(float, c)) for c in fixed if inside(near, *c)]
        for _ in range(LLOYD_ROUNDS):
            sums = [[0.0, 0.0, 0] for _ in range(n)]
            everything = centres + fixed
            for x, y in sample:
                i = min(range(len(everything)), key=lambda j: (x - everything[j][0]) ** 2 + (y - everything[j][1]) ** 2)
                if i < n:
                    sums[i][0] += x
                    sums[i][1] += y
                    sums[i][2] += 1
            centres = [(sx / k, sy / k) if k else c for (sx, sy, k), c in zip(sums, centres, strict=True)]
        out = []
        for cx, cy in centres:
            tx = round(cx) + self.rng.randint(-SITE_JITTER_CELLS, SITE_JITTER_CELLS)
            ty = round(cy) + self.rng.randint(-SITE_JITTER_CELLS, SITE_JITTER_CELLS)
            out.append(min(cells, key=lambda c: ((c[0] - tx) ** 2 + (c[1] - ty) ** 2, c[1], c[0])))
        return out

    def second(self, ftype: str, cells: list[Cell]) -> Cell:
        """Site a second facility of a type in an area that has one, in the half away from the first."""
        taken = self.by_type.get(ftype, [])
        return max(self.sites(cells, 2), key=lambda c: min((c[0] - t[0]) ** 2 + (c[1] - t[1]) ** 2 for t in taken))

    def jitter_in(self, rect: Rect) -> Cell:
        """Return a random reachable cell of ``rect``."""
        cells = self.ground.cells(rect)
        return cells[self.rng.randrange(len(cells))]

    def count(self, ftype: str) -> int:
        """Facilities of a type placed so far."""
        return len(self.by_type.get(ftype, []))


def split_residents(rng: random.Random, total: int, n: int, lo: int, hi: int, fixed: tuple[int, ...] = ()) -> list[int]:
    """``n`` community sizes summing to ``total``, each in [lo, hi], multiples of 50; ``fixed`` sizes come first.

    Sizes are drawn as uniform weights in [0.45, 1.75] scaled to the total (assumption: sizes vary
    about fourfold, as between old compounds and new estates); a draw outside [lo, hi] is redrawn.
    """
    free_total, free_n = total - sum(fixed), n - len(fixed)
    for _ in range(10_000):
        ws = [rng.uniform(0.45, 1.75) for _ in range(free_n)]
        sizes = [round(free_total * w / sum(ws) / 50) * 50 for w in ws]
        sizes[sizes.index(max(sizes))] += free_total - sum(sizes)
        if all(lo <= s <= hi for s in sizes):
            return [*fixed, *sizes]
    raise SystemExit(f"cannot split {total} into {n} communities of {lo}-{hi}")


def lay_out_circle(
    city: City,
    circle: Circle,
    sizes: list[int],
    names: list[str],
    counts: list[int],
    fit: dict[str, tuple[int, int]] | None = None,
) -> None:
    """Cut the circle's boxes into communities (``counts[i]`` in box i) with the given sizes and names.

    A community named in ``fit`` is shrunk to at most that many cells (w, h) in the middle of its
    slot; the rest of the slot stays open ground (streets, green, school yards).
    """
    i = 0
    for box, n in zip(circle.boxes, counts, strict=True):
        weights = [sizes[i + j] * city.rng.uniform(*DENSITY_JITTER) for j in range(n)]
        for j, area in enumerate(subdivide(box, weights, ROWS_FOR[n])):
            if fit and names[i + j] in fit:
                x, y, w, h = area
                fw, fh = min(w, fit[names[i + j]][0]), min(h, fit[names[i + j]][1])
                area = (x + (w - fw) // 2, y + (h - fh) // 2, fw, fh)
            com = Community(names[i + j], area, sizes[i + j], circle.name)
            city.add_community(com)
            circle.communities.append(com)
            cells = city.ground.cells(area)
            circle.all_homes.extend(cells)
            if box == circle.main:
                circle.homes.extend(cells)
        i += n
    circle.streets = city.street_cells(circle.boxes)


# =========================================================================== writing TOML


def fmt_shares(d: dict[str, float], digits: int) -> str:
    """Write shares as an inline table."""
    return "{ " + ", ".join(f"{k} = {v:.{digits}f}" for k, v in d.items()) + " }"


def fmt_rect(r: Rect) -> str:
    """Write a rectangle as a TOML array."""
    return "[" + ", ".join(str(v) for v in r) + "]"


def facility_line(f: Facility) -> str:
    """Write one facility as an inline table on one line."""
    parts = [f'type = "{f.type}"', f"at = [{f.x}, {f.y}]"]
    if f.capacity is not None:
        parts.append(f"capacity = {f.capacity}")
    if f.name is not None:
        parts.append(f'name = "{f.name}"')
    return "  { " + ", ".join(parts) + " },"


def community_line(c: Community, digits: int) -> str:
    """Write one community as an inline table on one line, with its size and density as a comment."""
    x, y, w, h = c.area
    km2 = w * h * CELL_M * CELL_M / 1e6
    parts = [f'name = "{c.name}"', f"area = {fmt_rect(c.area)}", f"residents = {c.residents}"]
    if c.groups:
        parts.append(f"groups = {fmt_shares(c.groups, digits)}")
    note = f"; {c.note}" if c.note else ""
    return f"  {{ {', '.join(parts)} }},   # {km2:.2f} km2, {c.residents / km2:,.0f}/km2{note}"


def blocked_lines(blocked: list[tuple[Rect, str]]) -> list[str]:
    """Write the grid's blocked list, a comment line before each named group of rectangles."""
    out = ["blocked = ["]
    for rect, what in blocked:
        if what:
            out.append(f"    # {what}")
        out.append(f"    {fmt_rect(rect)},")
    out.append("]")
    return out


def check_common(city: City, total_residents: int, expected: dict[str, int]) -> None:
    """Check what both cities share: residents, unique names, facility counts."""
    got = sum(c.residents for c in city.communities)
    if got != total_residents:
        raise SystemExit(f"residents sum to {got}, not {total_residents}")
    names = [c.name for c in city.communities]
    if len(set(names)) != len(names):
        raise SystemExit("community names are not unique")
    fnames = [f.name for f in city.facilities if f.name]
    if len(set(fnames)) != len(fnames):
        dup = sorted({n for n in fnames if fnames.count(n) > 1})
        raise SystemExit(f"facility names are not unique: {dup[:5]}")
    counts = {t: city.count(t) for t in expected}
    if counts != expected:
        raise SystemExit(f"facility counts {counts} differ from the expected {expected}")
    for com in city.communities:
        if com.groups and abs(sum(com.groups.values()) - 1.0) > 1e-9:
            raise SystemExit(f"{com.name}: group shares do not sum to 1")


def facility_block(city: City, order: list[str], headers: dict[str, list[str]]) -> list[str]:
    """Write the facilities array: types in ``order``, each after its comment header, in placement order."""
    out = ["facilities = ["]
    for t in order:
        out.append("")
        out.extend(f"  # {line}" for line in headers[t])
        out.extend(facility_line(f) for f in city.facilities if f.type == t)
    out.append("]")
    return out


# =========================================================================== Wuhai

WUHAI_SEED = 83  # assumption: any fixed seed (83 communities)

# --------------------------------------------------------------------------- published (docs/sources.md#wuhai)
WUHAI_RESIDENTS = 532_100  # residents covered by the life circles
WUHAI_CIRCLES = 14  # life circles
WUHAI_COMMUNITIES = 83  # communities and villages
WUHAI_ELDERLY_CARE = 88  # elderly care centres and stations in the 83 communities
WUHAI_KINDERGARTENS = 25  # integrated nursery-and-kindergarten institutions
WUHAI_OUTLETS = 7_623  # commercial outlets inside the circles
WUHAI_DEMO_BASES_PER_CIRCLE = 3  # at least three calligraphy demonstration bases per circle
XINDA_RESIDENTS = 10_500  # pilot Xinda Jiayuan: "over 10,000 residents" (10,500 assumed)
XINDA_CELLS = (10, 9)  # its 0.23 km2 (published) as 500 m x 450 m = 0.225 km2

# --------------------------------------------------------------------------- assumptions
WUHAI_POCKET_PARKS = 210  # published "over 200"; 210 assumed
WUHAI_RIVERSIDE_PARKS = 10  # of which on the riverside promenades (assumption)
WUHAI_MARKETS = 300  # fresh-food markets and supermarkets among the 7,623 outlets (assumption)
WUHAI_PRIMARY_PER = 17_000  # residents per primary school (GB 50180-2018: one per 10-minute circle of 15-25k)
WUHAI_BIG_CIRCLE = 41_000  # circles above this get a second middle school and health centre (assumption)
WUHAI_BIG_COMMUNITY = 10_000  # communities of this size get a second health station (like Xinda Jiayuan's two)
WUHAI_COMMUNITY_SIZES = (3_000, 12_000)
WUHAI_SETTLEMENT_RESIDENTS = 3_600  # an outlying mining settlement (assumption: a small one)
DEMO_BASE_CAPACITY = 60  # assumption: a demonstration base holds classes, twice a community room
GROUPS_RELOCATION = {"han": 0.86, "mongol": 0.08, "hui": 0.06}  # assumption: allocated to mix groups
GROUPS_MINING = {"han": 0.93, "mongol": 0.04, "hui": 0.03}  # assumption: old single-employer compounds
WUHAI_RELOCATION_ESTATES = 10  # communities that are shanty-town relocation estates (assumption)
WUHAI_MINING_COMPOUNDS = 8  # old mining compounds, in Wuda and Hainan (assumption)

W_WIDTH, W_HEIGHT = 180, 520  # 9 km x 26 km
W_RAIL_X = 110
# Yellow River banks: (y, west bank x, east bank x exclusive); widens into Wuhai Lake at y 250-380
W_RIVER = [
    (0, 58, 67),
    (40, 56, 65),
    (80, 55, 64),
    (120, 57, 66),
    (160, 59, 68),
    (200, 56, 66),
    (240, 52, 64),
    (270, 46, 70),
    (300, 40, 80),
    (330, 38, 84),
    (360, 44, 82),
    (380, 54, 70),
    (420, 58, 68),
    (470, 60, 69),
    (519, 62, 71),
]
W_BRIDGES = (75, 110, 145)  # road bridges between Wuda and Haibowan
W_DAM_ROAD = 381  # road over the dam at the south end of Wuhai Lake
W_RAIL_CROSSINGS = (10, 49, 83, 117, 153, 175, 260, 390, 426, 462, 500)

# name, residents, [(box, communities in it)], note.  The first box is the circle's centre;
# a second box is an outlying settlement of the same circle.
W_CIRCLES: list[tuple[str, int, list[tuple[Rect, int]], str]] = [
    ("Haibowan 1", 41_500, [((72, 20, 35, 26), 6)], "north riverside, old town"),
    ("Haibowan 2", 44_000, [((72, 52, 35, 28), 7)], "city centre, with the pilot Xinda Jiayuan"),
    ("Haibowan 3", 40_500, [((72, 86, 35, 28), 6)], "riverside, renovated 1990s compounds"),
    ("Haibowan 4", 37_000, [((72, 120, 35, 30), 6)], "south riverside, new estates"),
    ("Haibowan 5", 36_500, [((114, 22, 36, 26), 6)], "east of the rail line, with Changqing community"),
    ("Haibowan 6", 39_000, [((114, 54, 38, 28), 6)], "east of the rail line, station area"),
    ("Haibowan 7", 42_000, [((114, 88, 38, 28), 7)], "east of the rail line, relocation estates"),
    ("Haibowan 8", 35_000, [((114, 122, 36, 30), 5)], "east of the rail line, by the hills"),
    ("Wuda 1", 38_000, [((10, 60, 40, 28), 6)], "west bank, north"),
    ("Wuda 2", 36_000, [((10, 94, 40, 28), 6)], "west bank, centre"),
    ("Wuda 3", 32_500, [((12, 128, 38, 30), 5), ((20, 166, 10, 9), 1)], "west bank, south, with a mining settlement"),
    ("Hainan 1", 39_000, [((114, 392, 30, 28), 5)], "Hainan town centre"),
    ("Hainan 2", 37_500, [((148, 390, 24, 34), 6)], "Hainan east, by the hills"),
    ("Hainan 3", 33_600, [((116, 428, 40, 30), 4), ((160, 470, 10, 9), 1)], "Hainan south, with a mining settlement"),
]

# invented names (pinyin of common Chinese community names); the two pilots are published names
W_NAMES = """Binhe Xinhua Yingbin Nanyuan Xingfu Gongyuan Chaoyang Hexi Donghu Beiyuan Qianjin Renmin Jianshe
Heping Minzu Tuanjie Wenhua Jinqiao Yinhe Haibei Haidong Linyin Bayi Xinghai Huaxia Jinyuan Fuqiang Kangle Anning
Taihe Ruifeng Yongan Mingzhu Qinghe Longhai Shuguang Xiangyang Hongqi Gongnong Kuangqu Dianchang Huagong Tielu
Zhanqian Huancheng Xishan Dongshan Nanshan Shanhe Huanghe Lvyuan Huayuan Taoyuan Liyuan Xingyuan Fuyuan Ruiyuan
Hexie Xinxing Xinyuan Xincun Xinglong Shunli Jixiang Wanfu Baihe Zijing Lanyuan Songyuan Baiyun Qingyun Lianhua
Meihua Yuquan Qingquan Jingyuan Pingan Changan Jinxiu Yuhua Xiyuan Dongyuan Fenghuang Jinshan Xinhe""".split()


def wuhai_ground() -> Ground:
    """Wuhai's strip: the Yellow River and Wuhai Lake, the rail line, the hills, walled industry."""
    blocked: list[tuple[Rect, str]] = []
    river = river_rects(W_RIVER, 8, W_HEIGHT, (*W_BRIDGES, W_DAM_ROAD))
    river[0] = (
        river[0][0],
        "the Yellow River, flowing north; widens into Wuhai Lake at y = 250-380; "
        f"bridges at y = {', '.join(map(str, W_BRIDGES))}, dam road at y = {W_DAM_ROAD}",
    )
    blocked += river
    rail = line_rects(W_RAIL_X, 0, W_HEIGHT, W_RAIL_CROSSINGS, vertical=True)
    blocked += [
        (
            r,
            f"rail line along the east bank; crossings at y = {', '.join(map(str, W_RAIL_CROSSINGS))}"
            if i == 0
            else "",
        )
        for i, r in enumerate(rail)
    ]
    blocked += [
        ((158, 0, 22, 60), "hills east of Haibowan (Zhuozi Mountain foothills)"),
        ((156, 60, 24, 40), ""),
        ((160, 100, 20, 50), ""),
        ((162, 150, 18, 60), ""),
        ((166, 210, 14, 170), "hills between the districts"),
        ((173, 380, 7, 40), "hills east of Hainan"),
        ((176, 420, 4, 100), ""),
        ((0, 30, 6, 80), "hills west of Wuda"),
        ((0, 110, 8, 60), ""),
        ((12, 185, 36, 30), "walled coal and chemical works south of Wuda"),
        ((118, 200, 36, 40), "walled industrial park south of Haibowan, east of the rail line"),
        ((72, 215, 30, 25), "walled industrial park south of Haibowan, west of the rail line"),
        ((120, 290, 40, 50), "walled industrial park between Haibowan and Hainan"),
        ((120, 362, 30, 20), "walled coal yard north of Hainan"),
    ]
    return Ground(W_WIDTH, W_HEIGHT, blocked)


def build_wuhai() -> tuple[City, list[Circle]]:
    """Lay out Wuhai's 14 circles and place every facility."""
    rng = random.Random(WUHAI_SEED)
    city = City(wuhai_ground(), rng)
    circles = [Circle(n, r, [b for b, _ in boxes], note) for n, r, boxes, note in W_CIRCLES]
    if sum(c.residents for c in circles) != WUHAI_RESIDENTS or len(circles) != WUHAI_CIRCLES:
        raise SystemExit("circle residents or count differ from the published figures")
    pool = list(W_NAMES)
    rng.shuffle(pool)
    for circle, (_, _, boxes, _) in zip(circles, W_CIRCLES, strict=True):
        counts = [n for _, n in boxes]
        fixed = (XINDA_RESIDENTS,) if circle.name == "Haibowan 2" else ()
        if len(boxes) > 1:  # the outlying settlement comes last
            fixed = (WUHAI_SETTLEMENT_RESIDENTS,)
        sizes = split_residents(rng, circle.residents, sum(counts), *WUHAI_COMMUNITY_SIZES, fixed=fixed)
        if len(boxes) > 1:
            sizes = sizes[1:] + sizes[:1]
        names = [pool.pop() for _ in range(sum(counts))]
        if circle.name == "Haibowan 2":
            names[0] = "Xinda Jiayuan"
        if circle.name == "Haibowan 5":
            names[0] = "Changqing"
        # the pilot keeps its published area (0.23 km2) inside its slot
        lay_out_circle(city, circle, sizes, names, counts, fit={"Xinda Jiayuan": XINDA_CELLS})
    xinda = next(c for c in city.communities if c.name == "Xinda Jiayuan")
    xinda.note = (
        "published pilot: 0.23 km2, over 10,000 residents; several kindergartens and schools, two health stations"
    )
    changqing = next(c for c in city.communities if c.name == "Changqing")
    changqing.note = "published pilot community (position and size assumed)"
    # groups: relocation estates in Haibowan 7 and elsewhere, old mining compounds in Wuda and Hainan
    others = [c for c in city.communities if not c.note]
    for c in [c for c in others if c.circle == "Haibowan 7"] + rng.sample(
        [c for c in others if c.circle != "Haibowan 7" and not c.circle.startswith(("Wuda", "Hainan"))],
        WUHAI_RELOCATION_ESTATES - sum(1 for c in others if c.circle == "Haibowan 7"),
    ):
        c.groups, c.note = dict(GROUPS_RELOCATION), "relocation estate (shanty-town moves), allocated to mix groups"
    mining = [c for c in others if c.circle.startswith(("Wuda", "Hainan")) and not c.note]
    outliers = [c for c in mining if any(inside(b, *centre(c.area)) for circ in circles for b in circ.boxes[1:])]
    for c in outliers + rng.sample([c for c in mining if c not in outliers], WUHAI_MINING_COMPOUNDS - len(outliers)):
        c.groups, c.note = dict(GROUPS_MINING), "old mining compound, few newcomers"
    for c in outliers:
        c.note = "outlying mining settlement, 1-2 km from its circle's centre; " + c.note

    place_wuhai_facilities(city, circles)
    markets_convenience = city.count("market") + city.count("convenience")
    expected = {
        "elderly_care": WUHAI_ELDERLY_CARE,
        "kindergarten": WUHAI_KINDERGARTENS,
        "park": WUHAI_POCKET_PARKS,
        "culture_room": WUHAI_COMMUNITIES + WUHAI_DEMO_BASES_PER_CIRCLE * WUHAI_CIRCLES,
        "market": WUHAI_MARKETS,
    }
    check_common(city, WUHAI_RESIDENTS, expected)
    if len(city.communities) != WUHAI_COMMUNITIES or markets_convenience != WUHAI_OUTLETS:
        raise SystemExit("Wuhai: community or outlet count differs from the published figure")
    return city, circles


def place_wuhai_facilities(city: City, circles: list[Circle]) -> None:
    """Place every facility of Wuhai; positions jittered with the city's random generator."""
    rng = city.rng
    coms = city.communities
    by_size = sorted(coms, key=lambda c: (-c.residents, c.name))

    # per community: elderly care, health station, calligraphy room (near the community's centre)
    second_care = {c.name for c in by_size[: WUHAI_ELDERLY_CARE - WUHAI_COMMUNITIES]}
    for c in coms:
        city.add("elderly_care", city.jitter_in(shrink_to(c.area, 0.5)), f"{c.name} elderly care station")
        if c.name in second_care:
            cell = city.second("elderly_care", city.ground.cells(c.area))
            city.add("elderly_care", cell, f"{c.name} elderly care centre")
        city.add("health_station", city.jitter_in(shrink_to(c.area, 0.6)), f"{c.name} health hut")
        if c.residents >= WUHAI_BIG_COMMUNITY:
            cell = city.second("health_station", city.ground.cells(c.area))
            city.add("health_station", cell, f"{c.name} health hut 2")
        city.add("culture_room", city.jitter_in(shrink_to(c.area, 0.6)), f"{c.name} calligraphy room")

    # per circle
    by_res = sorted(circles, key=lambda c: (-c.residents, c.name))
    second_kg = {c.name for c in by_res[: WUHAI_KINDERGARTENS - WUHAI_CIRCLES]}
    xinda = next(c for c in coms if c.name == "Xinda Jiayuan")
    for circ in circles:
        cx, cy = centre(circ.main)
        city.add(
            "service_centre",
            city.ground.nearest(cx + rng.randint(-4, 4), cy + rng.randint(-4, 4)),
            f"{circ.name} community service centre",
        )
        big = circ.residents > WUHAI_BIG_CIRCLE
        if big:  # two centres, each serving half of the circle
            for k, cell in enumerate(city.sites(circ.homes, 2), 1):
                city.add("health_centre", cell, f"{circ.name} community health service centre {k}")
        else:  # one, at the circle's centre
            city.add(
                "health_centre",
                city.ground.nearest(cx + rng.randint(-2, 2), cy + rng.randint(-2, 2)),
                f"{circ.name} community health service centre",
            )
        pilot = xinda.circle == circ.name
        for ftype, n, label in (
            ("kindergarten", 1 + (circ.name in second_kg), "nursery and kindergarten"),
            ("primary_school", max(1, round(circ.residents / WUHAI_PRIMARY_PER)), "primary school"),
            ("middle_school", 1 + big, "middle school"),
        ):
            cells = city.sites(circ.homes, n)
            if pilot and ftype != "middle_school":  # the pilot has kindergartens and schools of its own
                cells = in_pilot(city, cells, xinda)
            for k, cell in enumerate(cells, 1):
                city.add(ftype, cell, f"{circ.name} {label} {k}")
                if ftype == "kindergarten":  # published: integrated, a nursery on the same site
                    city.add("nursery", cell, f"{circ.name} {label} {k}, nursery classes")
        for k, cell in enumerate(city.sites(circ.homes + circ.streets, WUHAI_DEMO_BASES_PER_CIRCLE), 1):
            city.add("culture_room", cell, f"{circ.name} calligraphy demonstration base {k}", DEMO_BASE_CAPACITY)

    # riverside pocket parks: on the first walkable cells east (Haibowan) and west (Wuda) of the river
    east = [
        city.ground.nearest(
            W_RAIL_X - 1, y, lambda x, yy, y=y: yy == y and x < W_RAIL_X and not city.ground.ok(x - 1, yy)
        )
        for y in range(24, 150, 21)
    ]
    west = [
        city.ground.nearest(49, y, lambda x, yy, y=y: yy == y and not city.ground.ok(x + 1, yy))
        for y in range(64, 160, 24)
    ]
    for k, cell in enumerate((east + west)[:WUHAI_RIVERSIDE_PARKS], 1):
        city.add("park", cell, f"riverside pocket park {k}")

    # markets, convenience outlets and pocket parks, in proportion to residents
    weights = [c.residents for c in circles]
    parks = allocate(WUHAI_POCKET_PARKS - WUHAI_RIVERSIDE_PARKS, weights)
    markets = allocate(WUHAI_MARKETS, weights)
    shops = allocate(WUHAI_OUTLETS - WUHAI_MARKETS, weights)
    for circ, n_parks, n_markets, n_shops in zip(circles, parks, markets, shops, strict=True):
        for cell in city.sites(circ.all_homes + circ.streets, n_parks, fixed=city.by_type["park"]):
            city.add("park", cell)
        markets = city.sites(circ.streets, n_markets)
        if xinda.circle == circ.name:  # the pilot's large supermarkets
            markets = in_pilot(city, in_pilot(city, markets, xinda), xinda)
        for cell in markets:
            city.add("market", cell)
        place_shops(city, circ, n_shops)


def in_pilot(city: City, cells: list[Cell], pilot: Community) -> list[Cell]:
    """Move the one of ``cells`` nearest to the pilot community (and not yet in it) to a cell inside it."""
    px, py = centre(pilot.area)
    outside = [i for i, c in enumerate(cells) if not inside(pilot.area, *c)]
    i = min(outside, key=lambda j: ((cells[j][0] - px) ** 2 + (cells[j][1] - py) ** 2, j))
    return [city.jitter_in(shrink_to(pilot.area, 0.7)) if j == i else c for j, c in enumerate(cells)]


def place_shops(city: City, circ: Circle, n: int, street_share: float = 0.6) -> None:
    """``n`` convenience outlets: ground-floor shops along the streets (``street_share``) and inside communities."""
    rng = city.rng
    for _ in range(n):
        cells = circ.streets if rng.random() < street_share else circ.all_homes
        city.add("convenience", cells[rng.randrange(len(cells))])


WUHAI_HEADER = """\
# Wuhai (乌海) as a whole: {communities} communities in {circles} life circles, {residents:,} residents,
# and every published facility count, on a {width} x {height} grid of 50 m cells ({km_w:.0f} km x {km_h:.0f} km).
#
# GENERATED by scenarios/generators/generate_city.py (deterministic: fixed seed {seed}): change the script
# and rerun it (`python scenarios/generators/generate_city.py`) rather than editing this file by hand.
# The [grid] table comes at the END of this file: TOML needs the top-level arrays `communities`
# and `facilities` (one inline table a line, to keep {n_fac:,} facilities compact) before the first [table].
#
# PUBLISHED (docs/sources.md#wuhai):
#   - {communities} communities and villages in {circles} life circles, about 40,000 residents each;
#     {residents:,} residents covered (here exactly, summed over the communities);
#   - {care} elderly care centres and stations in the {communities} communities;
#   - {kg} integrated nursery-and-kindergarten institutions;
#   - {outlets:,} commercial outlets inside the circles (33% brand chains: not modelled);
#   - over 200 pocket parks;
#   - at least one calligraphy room in every community, at least three calligraphy demonstration
#     bases in every circle;
#   - health huts, convenience service stations, morning/night/neighbourhood markets; embedded
#     (mixed) residence as a policy goal;
#   - the pilots Xinda Jiayuan (0.23 km2, over 10,000 residents, two health stations, several
#     kindergartens and schools, large supermarkets) and Changqing community (names published;
#     their positions here are assumed).
# GENERAL GEOGRAPHY (not figures of the source articles): Haibowan district in the north on the east bank of
#   the Yellow River, Wuda district on the west bank, Hainan district in the south; hills to the
#   east; the river dammed into Wuhai Lake; a rail line along the east bank.
# NORMS (GB 50180-2018 as cited in docs/sources.md#gb-50180-2018-walking-levels and model/catalogue.toml; not Wuhai data):
#   15-minute circle 50-100k residents (middle school, community health service centre, service
#   centre), 10-minute circle 15-25k (primary school), 5-minute circle 5-12k (health station).
# ASSUMED (everything else):
#   - the grid and its geometry: river banks and lake, {bridges} bridges and a dam road, the rail line
#     and its {crossings} crossings, the hills, walled industrial sites (all positions invented);
#   - the split of circles over districts: {districts};
#     circle sizes {circ_min:,}-{circ_max:,} residents;
#   - community names (invented, except the two pilots), sizes ({com_min:,}-{com_max:,} residents, drawn),
#     areas (rectangles cut from each circle's block, density varied +-25%) and 1-cell streets
#     between them; two circles have an outlying mining settlement of {settlement:,} residents 1-2 km
#     from their centre (gaps on purpose);
#   - population structure and walking speeds: the defaults of parts/inner_mongolia.toml, kept as
#     they are (ages: Inner Mongolia's 2020 census, published, the region's table used for Wuhai;
#     groups han 0.90 / mongol 0.06 / hui 0.04, assumed); {relocation} relocation estates (more
#     minority residents) and {mining} old mining compounds (fewer) have their own shares;
#   - every facility position (k-means siting over the homes or streets, jittered) and every
#     count below that is not marked published.
#
# FACILITIES ({n_fac:,}):
#   elderly_care    {n[elderly_care]:5}  published: 1 per community + a second centre in the {care_extra} largest
#   kindergarten    {n[kindergarten]:5}  published: 1 per circle + a second in the {kg_extra} largest circles
#                          (a lower bound: see the kindergarten section)
#   nursery         {n[nursery]:5}  published: the nursery classes of the same integrated institutions
#   primary_school  {n[primary_school]:5}  norm: about 1 per {primary_per:,} residents of a circle
#   middle_school   {n[middle_school]:5}  norm: 1 per circle + 1 in circles over {big_circle:,}
#   health_station  {n[health_station]:5}  norm: 1 per community (health hut) + a second in the {hs_big} of {big_com:,}+
#   health_centre   {n[health_centre]:5}  norm: 1 per circle + 1 in circles over {big_circle:,}
#   service_centre  {n[service_centre]:5}  assumption: 1 per circle
#   culture_room    {n[culture_room]:5}  published: {communities} calligraphy rooms + {demo} demonstration bases
#                          (capacity {demo_cap}, assumed)
#   market          {n[market]:5}  assumption: {n[market]} of the published {outlets:,} outlets are markets or
#                          supermarkets
#   convenience     {n[convenience]:5}  published: the other outlets (shops, kiosks, convenience service stations)
#   park            {n[park]:5}  published "over 200" pocket parks ({riverside} on the riverside promenades)
# Outlets, markets and pocket parks are shared out over the circles in proportion to residents.

name = "wuhai_city"
description = "Wuhai: {communities} communities in {circles} life circles, {residents:,} residents, {outlets:,} outlets"
extends = "parts/inner_mongolia.toml"
seed = 1   # assumption: any fixed seed
"""


def render_wuhai() -> str:
    """Return the full text of wuhai_city.toml."""
    city, circles = build_wuhai()
    n = {t: city.count(t) for t in city.by_type}
    sizes = [c.residents for c in city.communities]
    districts = []
    for d in ("Haibowan", "Wuda", "Hainan"):
        these = [c for c in circles if c.name.startswith(d)]
        districts.append(f"{d} {len(these)} circles ({sum(c.residents for c in these):,} residents)")
    L: list[str] = []
    w = L.append
    w(
        WUHAI_HEADER.format(
            communities=WUHAI_COMMUNITIES,
            circles=WUHAI_CIRCLES,
            residents=WUHAI_RESIDENTS,
            width=W_WIDTH,
            height=W_HEIGHT,
            km_w=W_WIDTH * CELL_M / 1000,
            km_h=W_HEIGHT * CELL_M / 1000,
            seed=WUHAI_SEED,
            n_fac=len(city.facilities),
            care=WUHAI_ELDERLY_CARE,
            kg=WUHAI_KINDERGARTENS,
            outlets=WUHAI_OUTLETS,
            bridges=len(W_BRIDGES),
            crossings=len(W_RAIL_CROSSINGS),
            districts=", ".join(districts),
            circ_min=min(c.residents for c in circles),
            circ_max=max(c.residents for c in circles),
            com_min=min(sizes),
            com_max=max(sizes),
            relocation=WUHAI_RELOCATION_ESTATES,
            mining=WUHAI_MINING_COMPOUNDS,
            n=n,
            care_extra=WUHAI_ELDERLY_CARE - WUHAI_COMMUNITIES,
            kg_extra=WUHAI_KINDERGARTENS - WUHAI_CIRCLES,
            primary_per=WUHAI_PRIMARY_PER,
            big_circle=WUHAI_BIG_CIRCLE,
            hs_big=n["health_station"] - WUHAI_COMMUNITIES,
            big_com=WUHAI_BIG_COMMUNITY,
            demo=WUHAI_DEMO_BASES_PER_CIRCLE * WUHAI_CIRCLES,
            demo_cap=DEMO_BASE_CAPACITY,
            riverside=WUHAI_RIVERSIDE_PARKS,
            settlement=WUHAI_SETTLEMENT_RESIDENTS,
        )
    )
    w("communities = [")
    for circ in circles:
        w("")
        w(
            f"  # --- {circ.name}: {circ.residents:,} residents in {len(circ.communities)} communities "
            f"(block {fmt_rect(circ.main)}); {circ.note}"
        )
        for c in circ.communities:
            w(community_line(c, 2))
    w("]")
    w("")
    headers = {
        "elderly_care": [
            f"--- elderly care: {n['elderly_care']} (published: {WUHAI_ELDERLY_CARE} in the "
            f"{WUHAI_COMMUNITIES} communities)"
        ],
        "health_station": [
            f"--- health stations (health huts): {n['health_station']} "
            "(GB 50180-2018: one per 5-minute circle of 5,000-12,000)"
        ],
        "culture_room": [
            f"--- culture rooms: {WUHAI_COMMUNITIES} community calligraphy rooms + "
            f"{WUHAI_DEMO_BASES_PER_CIRCLE * WUHAI_CIRCLES} demonstration bases (published: >= 1 per",
            f"    community, >= {WUHAI_DEMO_BASES_PER_CIRCLE} per circle); bases have a larger capacity (assumption)",
        ],
        "health_centre": [
            f"--- community health service centres: {n['health_centre']} "
            "(GB 50180-2018: one per 15-minute circle; two in the largest circles)"
        ],
        "service_centre": [
            f"--- community service centres: {n['service_centre']} "
            "(assumption: one per circle, its 'service response' hub)"
        ],
        "kindergarten": [
            f"--- nursery and kindergarten: {n['kindergarten']} (published: {WUHAI_KINDERGARTENS} "
            "integrated institutions). Whether",
            "    ordinary kindergartens are among them is not said (Xinda Jiayuan alone has 'several'), so this",
            "    is probably a lower bound and kindergarten gaps here are overstated (assumption)",
        ],
        "nursery": [
            f"--- nurseries (托育, ages 0-2): {n['nursery']}, the nursery classes of the integrated institutions,",
            "    on the kindergartens' sites (published: the institutions are integrated nursery-and-kindergarten",
            "    ones, 托幼一体化); capacities are the catalogue's (assumption)",
        ],
        "primary_school": [
            f"--- primary schools: {n['primary_school']} (norm; Wuhai's school numbers are not "
            "published); one of Haibowan 2's is inside Xinda Jiayuan"
        ],
        "middle_school": [f"--- middle schools: {n['middle_school']} (norm; not published)"],
        "park": [f"--- pocket parks: {n['park']} (published: over 200); riverside ones named, the rest unnamed"],
        "market": [
            f"--- markets and supermarkets: {n['market']} (assumption: part of the published "
            f"{WUHAI_OUTLETS:,} outlets);",
            "    two of Haibowan 2's are inside Xinda Jiayuan (its published 'large supermarkets')",
        ],
        "convenience": [
            f"--- convenience outlets: {n['convenience']:,} = {WUHAI_OUTLETS:,} - {n['market']} markets "
            "(published total);",
            "    about 60% along the streets between communities, 40% inside them (assumption)",
        ],
    }
    order = [
        "elderly_care",
        "health_station",
        "culture_room",
        "health_centre",
        "service_centre",
        "kindergarten",
        "nursery",
        "primary_school",
        "middle_school",
        "park",
        "market",
        "convenience",
    ]
    L.extend(facility_block(city, order, headers))
    w("")
    w("[grid]")
    w(f"width = {W_WIDTH}       # assumption: {W_WIDTH * CELL_M / 1000:.0f} km west-east")
    w(f"height = {W_HEIGHT}      # assumption: {W_HEIGHT * CELL_M / 1000:.0f} km north-south (y grows southwards)")
    w(f"cell_m = {CELL_M}    # assumption: one cell holds an apartment block")
    w("# all ASSUMPTION: positions invented after the general geography named in the header")
    L.extend(blocked_lines(city.ground.blocked))
    return "\n".join(L) + "\n"


# =========================================================================== Qingshan

QINGSHAN_SEED = 77  # assumption: any fixed seed (77 communities and villages)

# --------------------------------------------------------------------------- published (docs/sources.md#qingshan-baotou)
Q_RESIDENTS = 535_100
Q_MINORITY_SHARE = 0.0766  # 41,000 of 535,100 from minorities, 44 ethnic groups
Q_SUBDISTRICTS, Q_TOWNS = 8, 2
Q_COMMUNITIES, Q_VILLAGES = 56, 21
Q_PARKS, Q_LAKES, Q_SQUARES, Q_GARDENS = 14, 14, 19, 20

# --------------------------------------------------------------------------- assumptions
# group shares: the minority share is published, its split is not (Mongol, Hui, Manchu and Daur
# are the minorities of the region; "other" stands for the other 39 groups together)
Q_GROUPS = {"han": 0.9234, "mongol": 0.0420, "hui": 0.0170, "manchu": 0.0120, "daur": 0.0016, "other": 0.0040}
Q_VILLAGE_RESIDENTS = 30_100  # the 21 villages together (assumption: suburban villages of 700-2,600)
Q_VILLAGE_SIZES = (700, 2_600)
Q_COMMUNITY_SIZES = (5_000, 14_000)
Q_VILLAGE_PER_CELL = 20  # village residents per 50 m cell (about 8,000/km2 in the built-up part)
Q_OUTLETS_PER_RESIDENT = WUHAI_OUTLETS / WUHAI_RESIDENTS  # Wuhai's published outlet density, applied here
Q_MARKETS = round(WUHAI_MARKETS * Q_RESIDENTS / WUHAI_RESIDENTS)  # the same share of markets as in Wuhai
Q_TOWN_MARKETS = 2  # a periodic market and a supermarket in each town centre
Q_VILLAGE_RESIDENTS_PER_SHOP = 350
Q_KINDERGARTEN_PER = 6_000  # residents per kindergarten (GB 50180-2018: one per 5-minute circle)
Q_PRIMARY_PER = 15_000  # residents per primary school (one per 10-minute circle of 15-25k)
Q_MIDDLE_PER = 30_000  # residents per middle school (one per 15-minute circle of 50-100k, two here)
Q_BIG_SUBDISTRICT = 60_000  # a second health centre above this
Q_BIG_COMMUNITY = 12_000  # a second health station above this (the 5-minute circle's upper size)
PARK_CAPACITY, SQUARE_CAPACITY, GARDEN_CAPACITY = 3_000, 1_500, 150
CARE_CENTRE_CAPACITY = 80  # a subdistrict elderly care centre, twice a station
CULTURE_STATION_CAPACITY = 60  # a subdistrict culture station

Q_WIDTH, Q_HEIGHT = 200, 160  # 10 km x 8 km
Q_RAIL_Y = 40
Q_RAIL_CROSSINGS = (14, 40, 66, 92, 118, 144, 168, 190)
Q_CHANNEL_X = 176
Q_CHANNEL_BRIDGES = (22, 52, 75, 100, 125, 148)
Q_COLUMNS = [(12, 38), (54, 38), (96, 38), (138, 36)]  # x, width of the subdistrict columns
Q_ROWS = [(46, 50), (106, 48)]  # y, height of the two rows
Q_BELT_LAKES = [
    ((22, 98, 10, 5), "central green belt"),
    ((86, 98, 10, 5), "central green belt"),
    ((148, 98, 10, 5), "central green belt"),
    ((30, 155, 8, 3), "south avenue"),
    ((100, 155, 8, 3), "south avenue"),
    ((160, 155, 8, 3), "south avenue"),
]
Q_SUBDISTRICTS_DATA = [  # invented names; residents assumed (sum 505,000 = 535,100 - villages)
    ("Gangcheng", 66_500),
    ("Qingyuan", 61_000),
    ("Fuxing", 70_500),
    ("Wanshou", 58_000),
    ("Youyi", 64_500),
    ("Hexing", 59_500),
    ("Beiyuan", 68_000),
    ("Xinguang", 57_000),
]
# villages: (town, x0, y0) of their rectangle's corner; sizes follow residents. North town: the west
# part of the belt between the foothills and the rail line, and the west edge; east town: the east
# part of the belt and beyond the flood channel.
Q_VILLAGE_SITES = (
    [("north" if i < 10 else "east", 4 + 13 * i, 12 + (7 * i) % 15) for i in range(13)]
    + [("east", 184, 50 + 22 * i) for i in range(5)]
    + [("north", 1, 60 + 35 * i) for i in range(3)]
)
Q_TOWN_CENTRES = {"north": 5, "east": 15}  # index of the village that is the town centre
Q_NAMES = """Gangtie Yejin Kuangshan Xingfu Minzhu Wenming Heping Youyi Tuanjie Jianshe Fuqiang Ziyou
Kexue Qingnian Gongren Chuangye Xinghuo Dongfang Hongxing Chunguang Yangguang Lanyuan Jingyuan Hengda Jinxiu Huafu
Chengxin Ruiyuan Fuyuan Hongtai Longyuan Anle Kangju Yihe Hexing Changqing Meiyuan Liyuan Taoyuan Xinyuan
Jiayuan Junyuan Boyuan Yayuan Zhiyuan Dexin Renhe Shangde Baishun Kaixuan Xiangsheng Jixiang Wanfu Hongfu
Tianyi Shengli""".split()
Q_VILLAGE_NAMES = """Wangjiaying Zhaojiaying Liujiawan Gaojiagou Zhangjiahao Majiapu Hejiaying Sunjiaqu Yangjiazi
Luojiatan Xujiaying Tianjiagou Hujiaying Shijiawan Baijiahao Kongjiaying Tangjiapu Fengjiaqu Cuijiagou Zhoujiatan
Weijiaying""".split()


def qingshan_blocked() -> list[tuple[Rect, str]]:
    """Qingshan's fixed obstacles: foothills to the north, the rail line, a flood channel (lakes come later)."""
    blocked: list[tuple[Rect, str]] = [
        ((0, 0, Q_WIDTH, 3), "foothills of the Daqing (Yin) mountains along the north edge"),
        ((20, 3, 30, 3), ""),
        ((90, 3, 40, 4), ""),
        ((150, 3, 26, 2), ""),
    ]
    rail = line_rects(Q_RAIL_Y, 0, Q_WIDTH, Q_RAIL_CROSSINGS, vertical=False)
    blocked += [
        (
            r,
            f"rail line between the villages and the city; crossings at x = {', '.join(map(str, Q_RAIL_CROSSINGS))}"
            if i == 0
            else "",
        )
        for i, r in enumerate(rail)
    ]
    chan = line_rects(Q_CHANNEL_X, 3, Q_HEIGHT, Q_CHANNEL_BRIDGES, vertical=True)
    blocked += [
        (
            (x, y, 2, h),
            "a dry flood channel (sand river) from the mountains, 100 m wide; bridges at y = "
            f"{', '.join(map(str, Q_CHANNEL_BRIDGES))}"
            if i == 0
            else "",
        )
        for i, (x, y, _, h) in enumerate(chan)
    ]
    return blocked


def build_qingshan() -> tuple[City, list[Circle], list[Circle]]:
    """Lay out Qingshan's 8 subdistricts and 2 towns and place every facility."""
    rng = random.Random(QINGSHAN_SEED)
    blocked = qingshan_blocked()
    # subdistrict boxes; in each, one of eight slots is a park with a lake
    subs = []
    boxes = [(x, y, w, h) for y, h in Q_ROWS for x, w in Q_COLUMNS]
    for (name, res), box in zip(Q_SUBDISTRICTS_DATA, boxes, strict=True):
        subs.append(Circle(f"{name} subdistrict", res, [box]))
    if sum(s.residents for s in subs) + Q_VILLAGE_RESIDENTS != Q_RESIDENTS:
        raise SystemExit("Qingshan: subdistricts and villages do not sum to the published residents")
    n_per_sub = Q_COMMUNITIES // Q_SUBDISTRICTS
    plans = []
    for s in subs:
        sizes = split_residents(rng, s.residents, n_per_sub, *Q_COMMUNITY_SIZES)
        park_at = rng.randrange(n_per_sub + 1)
        weights = [sz * rng.uniform(*DENSITY_JITTER) for sz in sizes]
        weights.insert(park_at, 0.7 * sum(sizes) / n_per_sub)  # the park slot: about 0.7 of a community
        slots = subdivide(s.main, weights, ROWS_FOR[n_per_sub + 1])
        park_slot = slots.pop(park_at)
        plans.append((sizes, slots, park_slot))
    lakes = []
    for s, (_, _, slot) in zip(subs, plans, strict=True):
        x, y, w, h = slot
        lw, lh = min(12, w - 4), min(8, h - 4)
        lakes.append(((x + (w - lw) // 2, y + (h - lh) // 2 + 1, lw, lh), f"{s.name.split()[0]} park"))
    lakes += Q_BELT_LAKES
    first = f"artificial lakes ({Q_LAKES}, published), in parks: "
    blocked += [(r, f"artificial lake in {where}" if i else first + where) for i, (r, where) in enumerate(lakes)]
    city = City(Ground(Q_WIDTH, Q_HEIGHT, blocked), rng)

    names = list(Q_NAMES)
    rng.shuffle(names)
    for s, (sizes, slots, park_slot) in zip(subs, plans, strict=True):
        for area, size in zip(slots, sizes, strict=True):
            com = Community(names.pop(), area, size, s.name)
            city.add_community(com)
            s.communities.append(com)
        s.homes = [c for com in s.communities for c in city.ground.cells(com.area)]
        s.all_homes = s.homes
        s.streets = city.street_cells(s.boxes, exclude=[park_slot])
        s.note = f"park slot {fmt_rect(park_slot)}"

    towns = {t: Circle(f"{t.capitalize()} town", 0, []) for t in ("north", "east")}
    vnames = list(Q_VILLAGE_NAMES)
    rng.shuffle(vnames)
    vsizes = split_residents(rng, Q_VILLAGE_RESIDENTS, Q_VILLAGES, *Q_VILLAGE_SIZES)
    for i, ((town, x0, y0), size) in enumerate(zip(Q_VILLAGE_SITES, vsizes, strict=True)):
        cells = size / Q_VILLAGE_PER_CELL
        w = max(4, min(9, round((cells * 1.2) ** 0.5)))
        h = max(4, min(9, round(cells / w)))
        area = (x0, y0, w, h)
        note = "town centre" if Q_TOWN_CENTRES[town] == i else ""
        com = Community(f"{vnames.pop()} village", area, size, towns[town].name, note)
        city.add_community(com)
        towns[town].communities.append(com)
        towns[town].boxes.append(area)
        towns[town].residents += size
    for t in towns.values():
        t.all_homes = [c for com in t.communities for c in city.ground.cells(com.area)]
        t.streets = city.street_cells(t.boxes)

    place_qingshan_facilities(city, subs, list(towns.values()), [slot for _, _, slot in plans], lakes)
    outlets = round(Q_RESIDENTS * Q_OUTLETS_PER_RESIDENT)
    expected = {"park": Q_PARKS + Q_SQUARES + Q_GARDENS, "market": Q_MARKETS, "convenience": outlets - Q_MARKETS}
    check_common(city, Q_RESIDENTS, expected)
    if (len(city.communities), len(lakes)) != (Q_COMMUNITIES + Q_VILLAGES, Q_LAKES):
        raise SystemExit("Qingshan: community or lake count differs from the published figure")
    if abs(sum(Q_GROUPS.values()) - 1) > 1e-9 or abs(1 - Q_GROUPS["han"] - Q_MINORITY_SHARE) > 1e-9:
        raise SystemExit("Qingshan: group shares do not give the published minority share")
    return city, subs, list(towns.values())


def place_qingshan_facilities(
    city: City, subs: list[Circle], towns: list[Circle], park_slots: list[Rect], lakes: list[tuple[Rect, str]]
) -> None:
    """Place every facility of Qingshan."""
    rng = city.rng
    g = city.ground

    def beside(lake: Rect) -> Cell:
        """Return the shore cell north of the lake's middle (a park's main gate)."""
        x, y, w, _ = lake
        return g.nearest(x + w // 2, y - 1)

    # per community and village
    for circ in subs + towns:
        for c in circ.communities:
            village = c.name.endswith("village")
            label = "elderly mutual-aid station" if village else "elderly care station"
            city.add("elderly_care", city.jitter_in(shrink_to(c.area, 0.5)), f"{c.name} {label}")
            city.add(
                "health_station",
                city.jitter_in(shrink_to(c.area, 0.6)),
                f"{c.name} {'clinic' if village else 'health station'}",
            )
            if c.residents > Q_BIG_COMMUNITY:
                city.add("health_station", city.second("health_station", g.cells(c.area)), f"{c.name} health station 2")
            city.add("culture_room", city.jitter_in(shrink_to(c.area, 0.6)), f"{c.name} culture room")
            if not village:
                n_kg = max(1, round(c.residents / Q_KINDERGARTEN_PER))
                for k, cell in enumerate(city.sites(g.cells(c.area), n_kg), 1):
                    city.add("kindergarten", cell, f"{c.name} kindergarten {k}")

    # per subdistrict
    for s in subs:
        cx, cy = centre(s.main)
        hub = g.nearest(cx, cy, lambda x, y, street=frozenset(s.streets): (x, y) in street)
        city.add("park", hub, f"{s.name} square", SQUARE_CAPACITY)
        city.add(
            "service_centre",
            g.nearest(hub[0] + rng.randint(-3, 3), hub[1] + rng.randint(-3, 3)),
            f"{s.name} service centre",
        )
        if s.residents > Q_BIG_SUBDISTRICT:  # two centres, each serving half of the subdistrict
            for k, cell in enumerate(city.sites(s.homes, 2), 1):
                city.add("health_centre", cell, f"{s.name} community health service centre {k}")
        else:  # one, at the subdistrict's centre
            city.add(
                "health_centre",
                g.nearest(hub[0] + rng.randint(-4, 4), hub[1] + rng.randint(-4, 4)),
                f"{s.name} community health service centre",
            )
        city.add("elderly_care", city.sites(s.homes, 1)[0], f"{s.name} elderly care centre", CARE_CENTRE_CAPACITY)
        city.add(
            "culture_room", city.sites(s.homes + s.streets, 1)[0], f"{s.name} culture station", CULTURE_STATION_CAPACITY
        )
        for k, cell in enumerate(city.sites(s.homes, round(s.residents / Q_PRIMARY_PER)), 1):
            city.add("primary_school", cell, f"{s.name} primary school {k}")
        for k, cell in enumerate(city.sites(s.homes, round(s.residents / Q_MIDDLE_PER)), 1):
            city.add("middle_school", cell, f"{s.name} middle school {k}")

    # towns: their centre village holds the town's services; the east town has no middle school
    for t in towns:
        hub_village = next(c for c in t.communities if c.note == "town centre")
        around = grow(hub_village.area, STREET_MARGIN_CELLS)
        city.add("health_centre", city.jitter_in(around), f"{t.name} health centre")
        city.add("service_centre", city.jitter_in(around), f"{t.name} service centre")
        city.add("primary_school", city.jitter_in(around), f"{t.name} central primary school")
        city.add("kindergarten", city.jitter_in(around), f"{t.name} central kindergarten")
        city.add("park", city.jitter_in(around), f"{t.name} square", SQUARE_CAPACITY)
        if t.name.startswith("North"):
            city.add("middle_school", city.jitter_in(around), f"{t.name} middle school")

    # the 14 parks with their lakes, the remaining squares, the gardens
    for k, (lake, where) in enumerate(lakes):
        in_slot = k < len(park_slots)
        label = f"{where.split()[0]} lake park" if in_slot else f"{where} lake park {k - len(park_slots) + 1}"
        city.add("park", beside(lake), label, PARK_CAPACITY)
    urban_homes = [c for s in subs for c in s.homes]
    urban_streets = [c for s in subs for c in s.streets]
    for k, cell in enumerate(city.sites(urban_streets, Q_SQUARES - Q_SUBDISTRICTS - Q_TOWNS, city.by_type["park"]), 1):
        city.add("park", cell, f"square {k}", SQUARE_CAPACITY)
    for k, cell in enumerate(city.sites(urban_homes, Q_GARDENS, city.by_type["park"]), 1):
        city.add("park", cell, f"garden {k}", GARDEN_CAPACITY)

    # markets and convenience outlets: villages first, then the subdistricts by residents
    outlets = round(Q_RESIDENTS * Q_OUTLETS_PER_RESIDENT)
    for t in towns:
        hub_village = next(c for c in t.communities if c.note == "town centre")
        for _ in range(Q_TOWN_MARKETS):
            city.add("market", city.jitter_in(grow(hub_village.area, STREET_MARGIN_CELLS)))
        for c in t.communities:
            near = [cell for cell in t.streets if inside(grow(c.area, STREET_MARGIN_CELLS), *cell)]
            one = Circle(c.name, c.residents, [c.area], all_homes=g.cells(c.area), streets=near)
            place_shops(city, one, max(1, round(c.residents / Q_VILLAGE_RESIDENTS_PER_SHOP)))
    village_shops = city.count("convenience")
    weights = [s.residents for s in subs]
    markets = allocate(Q_MARKETS - Q_TOWN_MARKETS * len(towns), weights)
    shops = allocate(outlets - Q_MARKETS - village_shops, weights)
    for s, n_markets, n_shops in zip(subs, markets, shops, strict=True):
        for cell in city.sites(s.streets, n_markets):
            city.add("market", cell)
        place_shops(city, s, n_shops)


QINGSHAN_HEADER = """\
# Baotou, Qingshan district (青山区): {communities} communities and {villages} villages, {residents:,} residents
# of many ethnic groups, its parks, lakes, squares and gardens, and the daily facilities of the life
# circles, on a {width} x {height} grid of 50 m cells ({km_w:.0f} km x {km_h:.0f} km).
#
# GENERATED by scenarios/generators/generate_city.py (deterministic: fixed seed {seed}): change the script
# and rerun it (`python scenarios/generators/generate_city.py`) rather than editing this file by hand.
# The [population] and [grid] tables come at the END of this file: TOML needs the top-level arrays
# `communities` and `facilities` (one inline table a line, to keep {n_fac:,} facilities compact)
# before the first [table].
#
# PUBLISHED (docs/sources.md#qingshan-baotou):
#   - {residents:,} residents of 44 ethnic groups, 41,000 of them ({minority_share:.2%}) from minorities;
#   - {subdistricts} subdistricts, {towns} towns, {communities} communities, {villages} villages;
#   - {parks} parks, {lakes} artificial lakes, {squares} squares, {gardens} gardens
#     (a "15-minute leisure and fitness circle");
#   - 56 community ethnic-affairs groups and 56 "pomegranate" volunteer stations (not modelled as
#     facilities: no catalogue type fits; assumed housed in the community service rooms).
# GENERAL GEOGRAPHY (not figures of the source articles): the district lies at the foot of the Daqing (Yin)
#   mountains, with villages on its edges; dry sand-river channels run down from the mountains.
# NORMS (GB 50180-2018 as cited in docs/sources.md#gb-50180-2018-walking-levels and model/catalogue.toml): 15-minute circle
#   50-100k residents, 10-minute 15-25k, 5-minute 5-12k; each subdistrict ({sub_min:,}-{sub_max:,}) is
#   taken as one 15-minute circle.
# ASSUMED (everything else):
#   - the grid and its geometry: foothills, a rail line with {crossings} crossings between the northern
#     villages and the city, a flood channel with {bridges} bridges in the east, the lakes' sizes and
#     positions;
#   - the layout: {subdistricts} subdistricts of {per_sub} communities each, in 4 x 2 blocks with a central green
#     belt; in each block one slot is a lake park; villages on the north, east and west edges
#     ({north} of the north town, {east} of the east town); all names invented;
#   - residents: subdistricts {sub_min:,}-{sub_max:,} (sum {sub_sum:,}), communities {com_min:,}-{com_max:,} (drawn),
#     villages {vil_min:,}-{vil_max:,} (drawn, sum {vil_sum:,});
#   - groups: the published {minority_share:.2%} minority share, split (an assumption) as
#     {minority} ("other": the remaining 39 groups
#     together); the same shares in every community (embedded residence, mixing 1.0 as in
#     parts/inner_mongolia.toml); ages (Inner Mongolia's 2020 census, the region's table used
#     for Qingshan) and walking speeds from parts/inner_mongolia.toml; no nursery is placed (the
#     reply gives no nurseries, and 0-2-year-olds' nursery visits are then not simulated);
#   - every facility position, and every count below other than the parks, squares and gardens.
#
# FACILITIES ({n_fac:,}):
#   park            {n[park]:5}  published: {parks} parks (capacity {park_cap}, each at its lake) + {squares} squares
#                          (park type, capacity {square_cap}) + {gardens} gardens (park type, capacity {garden_cap});
#                          the capacities are assumed
#   elderly_care    {n[elderly_care]:5}  1 per community and village + 1 centre per subdistrict (capacity {care_cap})
#   kindergarten    {n[kindergarten]:5}  about 1 per {kg_per:,} residents of a community + 1 per town centre
#   primary_school  {n[primary_school]:5}  about 1 per {primary_per:,} residents of a subdistrict + 1 per town centre
#   middle_school   {n[middle_school]:5}  about 1 per {middle_per:,} residents of a subdistrict + 1 in the north town
#   health_station  {n[health_station]:5}  1 per community (2 above {big_com:,}) and 1 clinic per village
#   health_centre   {n[health_centre]:5}  1 per subdistrict (2 above {big_sub:,}) + 1 per town
#   service_centre  {n[service_centre]:5}  1 per subdistrict and town
#   culture_room    {n[culture_room]:5}  1 per community and village + 1 culture station per subdistrict
#                          (capacity {culture_cap})
#   market          {n[market]:5}  Wuhai's share of markets among outlets; {town_markets} in each town centre
#   convenience     {n[convenience]:5}  the other outlets: {outlets:,} in all = Wuhai's published density
#                          ({w_outlets:,} / {w_residents:,} residents) applied to Qingshan; 1 per {per_shop} villagers
# Outlets and markets of the city are shared out over the subdistricts in proportion to residents.
# Gaps on purpose: villages reach few schools, markets and health centres; the east town has no
# middle school.

name = "qingshan_city"
description = "Baotou's Qingshan district: {communities} communities and {villages} villages, {residents:,} residents"
extends = "parts/inner_mongolia.toml"
seed = 1   # assumption: any fixed seed
"""


def render_qingshan() -> str:
    """Return the full text of qingshan_city.toml."""
    city, subs, towns = build_qingshan()
    n = {t: city.count(t) for t in city.by_type}
    urban = [c.residents for s in subs for c in s.communities]
    villages = [c.residents for t in towns for c in t.communities]
    subs_res = [s.residents for s in subs]
    L: list[str] = []
    w = L.append
    w(
        QINGSHAN_HEADER.format(
            communities=Q_COMMUNITIES,
            villages=Q_VILLAGES,
            residents=Q_RESIDENTS,
            width=Q_WIDTH,
            height=Q_HEIGHT,
            km_w=Q_WIDTH * CELL_M / 1000,
            km_h=Q_HEIGHT * CELL_M / 1000,
            seed=QINGSHAN_SEED,
            n_fac=len(city.facilities),
            minority_share=Q_MINORITY_SHARE,
            subdistricts=Q_SUBDISTRICTS,
            towns=Q_TOWNS,
            parks=Q_PARKS,
            lakes=Q_LAKES,
            squares=Q_SQUARES,
            gardens=Q_GARDENS,
            sub_min=min(subs_res),
            sub_max=max(subs_res),
            sub_sum=sum(subs_res),
            crossings=len(Q_RAIL_CROSSINGS),
            bridges=len(Q_CHANNEL_BRIDGES),
            per_sub=Q_COMMUNITIES // Q_SUBDISTRICTS,
            north=sum(1 for s in Q_VILLAGE_SITES if s[0] == "north"),
            east=sum(1 for s in Q_VILLAGE_SITES if s[0] == "east"),
            com_min=min(urban),
            com_max=max(urban),
            vil_min=min(villages),
            vil_max=max(villages),
            vil_sum=sum(villages),
            minority=", ".join(f"{k} {v:.4f}" for k, v in Q_GROUPS.items() if k != "han"),
            n=n,
            park_cap=PARK_CAPACITY,
            square_cap=SQUARE_CAPACITY,
            garden_cap=GARDEN_CAPACITY,
            care_cap=CARE_CENTRE_CAPACITY,
            kg_per=Q_KINDERGARTEN_PER,
            primary_per=Q_PRIMARY_PER,
            middle_per=Q_MIDDLE_PER,
            big_com=Q_BIG_COMMUNITY,
            big_sub=Q_BIG_SUBDISTRICT,
            culture_cap=CULTURE_STATION_CAPACITY,
            town_markets=Q_TOWN_MARKETS,
            outlets=n["market"] + n["convenience"],
            w_outlets=WUHAI_OUTLETS,
            w_residents=WUHAI_RESIDENTS,
            per_shop=Q_VILLAGE_RESIDENTS_PER_SHOP,
        )
    )
    w("communities = [")
    for circ in subs + towns:
        w("")
        if circ in subs:
            w(
                f"  # --- {circ.name} (invented name): {circ.residents:,} residents in {len(circ.communities)} "
                f"communities, block {fmt_rect(circ.main)}, {circ.note}"
            )
        else:
            w(f"  # --- {circ.name} (invented name): {circ.residents:,} residents in {len(circ.communities)} villages")
        for c in circ.communities:
            w(community_line(c, 4))
    w("]")
    w("")
    headers = {
        "park": [
            f"--- park type, {n['park']}: subdistrict squares, town squares, the {Q_PARKS} lake parks, "
            "the other squares, the gardens"
        ],
        "elderly_care": [
            f"--- elderly care: {n['elderly_care']} (stations, village mutual-aid stations, subdistrict centres)"
        ],
        "health_station": [f"--- health stations and village clinics: {n['health_station']}"],
        "culture_room": [f"--- culture rooms and subdistrict culture stations: {n['culture_room']}"],
        "kindergarten": [f"--- kindergartens: {n['kindergarten']}"],
        "primary_school": [f"--- primary schools: {n['primary_school']}"],
        "middle_school": [f"--- middle schools: {n['middle_school']}"],
        "health_centre": [f"--- community and town health centres: {n['health_centre']}"],
        "service_centre": [f"--- subdistrict and town service centres: {n['service_centre']}"],
        "market": [f"--- markets and supermarkets: {n['market']}"],
        "convenience": [
            f"--- convenience outlets: {n['convenience']:,}; in villages first, then about 60% along the streets"
        ],
    }
    order = [
        "park",
        "elderly_care",
        "health_station",
        "culture_room",
        "kindergarten",
        "primary_school",
        "middle_school",
        "health_centre",
        "service_centre",
        "market",
        "convenience",
    ]
    L.extend(facility_block(city, order, headers))
    w("")
    w("[population]")
    w(
        f"# han {Q_GROUPS['han']:.4f} = 1 - {Q_MINORITY_SHARE} (published minority share); "
        "the minority split is an ASSUMPTION"
    )
    w(f"groups = {fmt_shares(Q_GROUPS, 4)}")
    w("")
    w("[grid]")
    w(f"width = {Q_WIDTH}       # assumption: {Q_WIDTH * CELL_M / 1000:.0f} km west-east")
    w(f"height = {Q_HEIGHT}      # assumption: {Q_HEIGHT * CELL_M / 1000:.0f} km north-south (y grows southwards)")
    w(f"cell_m = {CELL_M}    # assumption: one cell holds an apartment block")
    w("# all ASSUMPTION except the number of lakes: positions invented after the general geography in the header")
    L.extend(blocked_lines(city.ground.blocked))
    return "\n".join(L) + "\n"


# =========================================================================== main

OUTPUTS: dict[str, tuple[Path, Callable[[], str]]] = {
    "wuhai": (HERE / "wuhai_city.toml", render_wuhai),
    "qingshan": (HERE / "qingshan_city.toml", render_qingshan),
}


def main(argv: list[str]) -> int:
    """Write (or with --check, compare) the city scenario files named in argv, or all."""
    check = "--check" in argv
    which = [a for a in argv if not a.startswith("--")] or list(OUTPUTS)
    unknown = [a for a in which if a not in OUTPUTS]
    if unknown:
        print(f"unknown city {unknown[0]!r}: choose from {', '.join(OUTPUTS)}", file=sys.stderr)
        return 2
    status = 0
    for key in which:
        out, render = OUTPUTS[key]
        text = render()
        if check:
            current = out.read_text(encoding="utf-8") if out.exists() else ""
            if current != text:
                print(f"{out.name} is out of date: run scenarios/generators/generate_city.py", file=sys.stderr)
                status = 1
            else:
                print(f"{out.name} is up to date")
        else:
            out.write_text(text, encoding="utf-8")
            print(f"wrote {out} ({len(text.encode('utf-8')):,} bytes)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
