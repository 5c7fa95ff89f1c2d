"""Write scenarios/wuhai_life_circle.toml: one Wuhai life circle, as committed-ready scenario data.

Run it from anywhere with the project's Python:

    /work/venv/bin/python scenarios/generators/generate.py            # rewrites wuhai_life_circle.toml
    /work/venv/bin/python scenarios/generators/generate.py --check    # exit 1 if the file is out of date

The script is deterministic: there is no randomness, every position below is written out or
follows a fixed pattern, so the same script always writes the same bytes. It uses only the
standard library. The TOML it writes is the data the model reads; this script only exists
because about a hundred facilities are easier to lay out and to keep consistent here (counts
derived from the published figures, positions checked against the blocked cells) than by hand.

Published figures are those of docs/sources.md ("Wuhai", with the articles they come from);
everything else is an assumption, and the written file says which is which next to every number.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "wuhai_life_circle.toml"

# --------------------------------------------------------------------------- published figures

RESIDENTS_COVERED = 532_100  # published: residents covered by Wuhai's life circles
CIRCLES = 14  # published: 83 communities grouped into 14 life circles
COMMUNITIES = 83  # published
ELDERLY_CARE = 88  # published: elderly care centres and stations in the 83 communities
NURSERY_KINDERGARTENS = 25  # published: integrated nursery-and-kindergarten institutions
OUTLETS = 7_623  # published: commercial outlets inside the circles
POCKET_PARKS = 200  # published: "over 200" pocket parks
DEMO_BASES_PER_CIRCLE = 3  # published: at least three calligraphy demonstration bases per circle

# --------------------------------------------------------------------------- the grid (assumption)

WIDTH, HEIGHT, CELL_M = 60, 50, 50.0  # 3.0 km x 2.5 km
RAIL_X = 41
CROSSINGS_Y = (11, 38)
BLOCKED = [
    # (rect, comment)
    ([0, 0, 4, 50], "the Yellow River along the west edge (only its near part is drawn)"),
    ([4, 0, 2, 20], "... wider in the north, where the bank bends east"),
    ([4, 36, 1, 14], "... and a little wider in the south"),
    ([RAIL_X, 0, 1, CROSSINGS_Y[0]], "rail line, north part; crossing (underpass) at y = 11"),
    (
        [RAIL_X, CROSSINGS_Y[0] + 1, 1, CROSSINGS_Y[1] - CROSSINGS_Y[0] - 1],
        "rail line, middle part; level crossing at y = 38",
    ),
    ([RAIL_X, CROSSINGS_Y[1] + 1, 1, HEIGHT - CROSSINGS_Y[1] - 1], "rail line, south part"),
    ([47, 20, 13, 14], "walled coal yard and plant east of the rail line"),
    ([28, 45, 12, 5], "walled depot in the south"),
]

# --------------------------------------------------------------------------- communities (assumption)

# name, area [x, y, w, h], residents, own group shares (None = the population's), comment.
# Names are invented. Residents sum to 40,000 (published: about 40,000 per circle).
COMMUNITY_LIST = [
    (
        "Binhe",
        [7, 2, 12, 11],
        6000,
        {"han": 0.93, "mongol": 0.04, "hui": 0.03},
        "old riverside compound of a former mine, renovated; few newcomers",
    ),
    ("Xinhua", [21, 3, 11, 10], 10500, None, "dense, like the pilot Xinda Jiayuan (published: 0.23 km2, 10,000+)"),
    ("Yingbin", [7, 16, 12, 12], 6500, None, "1990s work-unit housing"),
    ("Nanyuan", [22, 17, 15, 11], 7000, None, "mixed old and new blocks"),
    (
        "Xingfu",
        [14, 33, 16, 11],
        5500,
        {"han": 0.86, "mongol": 0.08, "hui": 0.06},
        "relocation apartments (shanty-town moves), allocated to mix groups",
    ),
    (
        "Gongyuan",
        [44, 3, 12, 12],
        4500,
        {"han": 0.88, "mongol": 0.07, "hui": 0.05},
        "workers' dormitories and public housing beyond the rail line",
    ),
]

# --------------------------------------------------------------------------- facilities (positions: assumption)

# One elderly care station, one health station and one culture (calligraphy) room per community,
# given as (x, y) per community in COMMUNITY_LIST order. Some sit at a community's edge, as
# existing buildings were converted, so not every home has one within 5 minutes.
PER_COMMUNITY = {
    "elderly_care": [(12, 7), (31, 4), (13, 22), (23, 19), (22, 33), (46, 13)],
    "health_station": [(15, 10), (26, 8), (9, 19), (32, 24), (17, 41), (50, 8)],
    "culture_room": [(10, 5), (24, 5), (16, 26), (35, 19), (27, 39), (53, 12)],
}
PER_COMMUNITY_LABEL = {
    "elderly_care": "elderly care station",
    "health_station": "health station (health hut)",
    "culture_room": "calligraphy room",
}

DEMO_BASES = [(20, 15), (10, 30), (38, 29)]

KINDERGARTENS = [(27, 11), (17, 30)]
PRIMARY_SCHOOLS = [(19, 11), (33, 30), (45, 17)]
MIDDLE_SCHOOLS = [(37, 13), (9, 38)]
HEALTH_CENTRES = [(20, 24)]
SERVICE_CENTRES = [(21, 15)]

# Markets: (x, y, name)
MARKETS = [
    (19, 7, "Binhe-Xinhua supermarket"),
    (33, 9, "Xinhua east fresh-food market"),
    (20, 22, "central fresh-food market"),
    (38, 24, "Nanyuan supermarket"),
    (12, 30, "Yingbin morning market"),
    (27, 31, "Xingfu neighbourhood market"),
    (6, 14, "riverside morning and night market"),
    (43, 11, "station-square market"),
]

# Pocket parks (x, y); the riverside ones are on the walkable bank.
PARKS = [
    (6, 4),
    (6, 24),
    (5, 32),
    (5, 44),  # riverside promenade
    (15, 3),
    (29, 11),
    (10, 26),
    (17, 17),  # inside or beside communities
    (35, 26),
    (24, 25),
    (20, 42),
    (28, 36),
    (53, 4),
    (38, 40),
    (13, 38),
]

# Convenience entries (x, y): ground-floor shops along the street frontages between communities,
# as in Wuhai's older districts, plus a few inside the large communities. The relocation estate
# (Xingfu) and the dormitories (Gongyuan) have shops on one edge only: a realistic gap, new estates
# wait for shops to open (assumption).
CONVENIENCE = [
    # central north-south street between Binhe/Yingbin and Xinhua/Nanyuan
    (20, 2),
    (20, 6),
    (19, 10),
    (20, 18),
    (19, 21),
    (20, 26),
    (19, 29),
    # central east-west street between the northern and the middle communities
    (8, 14),
    (12, 14),
    (16, 14),
    (24, 15),
    (28, 14),
    (32, 15),
    (36, 14),
    # southern street between Yingbin/Nanyuan and Xingfu
    (9, 29),
    (14, 30),
    (24, 29),
    (30, 29),
    (36, 30),
    # east side of Xinhua and Nanyuan, towards the rail line
    (32, 4),
    (33, 8),
    (32, 12),
    (37, 18),
    (38, 22),
    (37, 26),
    # riverside promenade and the north edge
    (6, 8),
    (6, 18),
    (15, 1),
    (33, 1),
    # inside the large communities
    (12, 7),
    (26, 6),
    (13, 20),
    (29, 22),
    (36, 9),
    # Xingfu relocation estate: north edge only
    (18, 32),
    (26, 32),
    # Gongyuan dormitories: west and south edge only
    (43, 7),
    (50, 15),
    # at the two rail crossings
    (40, 12),
    (42, 38),
]


def _check_cell(x: int, y: int, what: str) -> None:
    if not (0 <= x < WIDTH and 0 <= y < HEIGHT):
        raise SystemExit(f"{what}: ({x}, {y}) is outside the grid")
    for (bx, by, bw, bh), _ in BLOCKED:
        if bx <= x < bx + bw and by <= y < by + bh:
            raise SystemExit(f"{what}: ({x}, {y}) is blocked")


def _shares(d: dict[str, float]) -> str:
    return "{ " + ", ".join(f"{k} = {v:.2f}" for k, v in d.items()) + " }"


def render() -> str:
    """The full text of wuhai_life_circle.toml."""
    per_circle_residents = RESIDENTS_COVERED / CIRCLES
    per_circle_communities = COMMUNITIES / CIRCLES
    outlets_per_circle = OUTLETS / CIRCLES
    n_conv = len(CONVENIENCE)
    outlets_round = int(outlets_per_circle + 0.5)  # 544.5 -> 545
    outlets_per_conv = (outlets_round - len(MARKETS) * 5) / n_conv
    total_residents = sum(c[2] for c in COMMUNITY_LIST)
    L: list[str] = []
    w = L.append

    w(f"""# One Wuhai life circle (一刻钟社区生活圈): about 40,000 residents in six communities between the
# Yellow River and the rail line.
#
# GENERATED by scenarios/generators/generate.py (deterministic, no randomness): change the script and
# rerun it rather than editing this file by hand.
#
# PUBLISHED (docs/sources.md#wuhai):
#   - 83 communities in 14 life circles, about 40,000 residents each; 532,100 residents covered
#     ({RESIDENTS_COVERED:,} / {CIRCLES} = {per_circle_residents:,.0f} residents and {COMMUNITIES} / {CIRCLES} = {per_circle_communities:.1f} communities per circle);
#   - 88 elderly care centres and stations in the 83 communities (about one per community);
#   - 25 integrated nursery-and-kindergarten institutions ({NURSERY_KINDERGARTENS} / {CIRCLES} = {NURSERY_KINDERGARTENS / CIRCLES:.1f} per circle);
#   - 7,623 commercial outlets inside the circles ({OUTLETS:,} / {CIRCLES} = {outlets_per_circle:.1f} per circle),
#     33% brand chains;
#   - over 200 pocket parks ({POCKET_PARKS} / {CIRCLES} = {POCKET_PARKS / CIRCLES:.1f} per circle);
#   - at least one calligraphy room in every community and at least three calligraphy
#     demonstration bases in every circle;
#   - health huts (free blood pressure and sugar checks), convenience service stations, morning,
#     night and neighbourhood markets; embedded (mixed) residence as a policy goal;
#   - Xinda Jiayuan (pilot): 0.23 km2, over 10,000 residents.
# NORMS (GB 50180-2018, as cited in docs/sources.md#gb-50180-2018-walking-levels and model/catalogue.toml; not Wuhai data):
#   schools and health facilities sized for ~40,000 residents: a 10-minute circle of 15,000-25,000
#   has a primary school (so 2-3 here), a 15-minute circle of 50,000-100,000 has a middle school
#   and a community health service centre (so 1-2 and 1 here), a 5-minute circle of 5,000-12,000
#   has a health station (so one per community).
# ASSUMED: the grid, the river and rail geometry, the community names (invented), sizes and
#   resident numbers, the groups of three communities, every position, the split of the {outlets_round}
#   outlets into market and convenience entries and their capacities. The age structure (Inner
#   Mongolia's 2020 census: published, the region's table used for Wuhai) and the walking speeds
#   (assumptions) come from parts/inner_mongolia.toml, documented there.

name = "wuhai_life_circle"
description = "One Wuhai life circle: ~40,000 residents in 6 communities by the Yellow River"
extends = "parts/inner_mongolia.toml"
seed = 1   # assumption: any fixed seed

[grid]
width = {WIDTH}        # assumption: {WIDTH * CELL_M / 1000:.1f} km, wider than a 15-minute walk (~1.1 km for an adult)
height = {HEIGHT}       # assumption: {HEIGHT * CELL_M / 1000:.1f} km
cell_m = {CELL_M}     # assumption: one cell holds an apartment block
# all ASSUMPTION: layout invented. (The Yellow River does run along Wuhai, but that is general
# geography, not a figure of the source articles; the rail line and walled sites are invented.)
blocked = [""")
    for rect, comment in BLOCKED:
        w(f"    {str(rect) + ',':<18} # {comment}")
    w("]")
    w("")
    w("# ------------------------------------------------------------------ communities")
    w(
        f"# {len(COMMUNITY_LIST)} communities (published: 83 / 14 = {per_circle_communities:.1f} per circle) with "
        f"{total_residents:,} residents"
    )
    w("# (published: about 40,000 per circle). The split over communities, the areas and the names")
    w("# are ASSUMPTIONS. Communities without `groups` use the population shares of")
    w("# parts/inner_mongolia.toml; own shares are ASSUMPTIONS (more minority residents in the")
    w("# relocation estate and the dormitories, which mix newcomers in; fewer in the old compound).")
    for name, area, residents, groups, comment in COMMUNITY_LIST:
        x, y, wd, ht = area
        km2 = wd * ht * CELL_M * CELL_M / 1e6
        w("")
        w("[[communities]]")
        w(f'name = "{name}"   # invented name: {comment}')
        w(f"area = {area}   # assumption: {wd * CELL_M:.0f} m x {ht * CELL_M:.0f} m = {km2:.2f} km2")
        w(f"residents = {residents}   # assumption")
        if groups:
            w(f"groups = {_shares(groups)}   # assumption")

    def fac(
        ftype: str, x: int, y: int, name: str | None = None, capacity: int | None = None, cap_comment: str = ""
    ) -> None:
        _check_cell(x, y, f"{ftype} {name or ''}")
        w("")
        w("[[facilities]]")
        w(f'type = "{ftype}"')
        w(f"at = [{x}, {y}]")
        if capacity is not None:
            w(f"capacity = {capacity}   # {cap_comment}")
        if name:
            w(f'name = "{name}"')

    w("")
    w("# ------------------------------------------------------------------ facilities")
    w("# Every position is an ASSUMPTION. Counts are derived from the published figures or the")
    w("# GB 50180-2018 norms as stated in each section. Capacities are the catalogue defaults unless")
    w("# given.")

    names = [c[0] for c in COMMUNITY_LIST]
    w("")
    w(
        f"# --- elderly care: {len(PER_COMMUNITY['elderly_care'])}, one per community (published: 88 in 83 "
        f"communities = {ELDERLY_CARE / COMMUNITIES:.2f} per community)"
    )
    for ftype in ("elderly_care", "health_station", "culture_room"):
        if ftype == "health_station":
            w("")
            w(f"# --- health stations (health huts): {len(PER_COMMUNITY[ftype])}, one per community")
            w("#     (GB 50180-2018 norm: one per 5-minute circle of 5,000-12,000; health huts are published)")
        if ftype == "culture_room":
            w("")
            w(
                f"# --- culture rooms: {len(PER_COMMUNITY[ftype])} calligraphy rooms, one per community "
                "(published: at least one per community),"
            )
            w(f"#     plus {len(DEMO_BASES)} calligraphy demonstration bases (published: at least three per circle),")
            w("#     modelled as culture rooms with a larger capacity")
        for com, (x, y) in zip(names, PER_COMMUNITY[ftype]):
            fac(ftype, x, y, f"{com} {PER_COMMUNITY_LABEL[ftype]}")
        if ftype == "culture_room":
            for i, (x, y) in enumerate(DEMO_BASES, 1):
                fac(
                    "culture_room",
                    x,
                    y,
                    f"calligraphy demonstration base {i}",
                    60,
                    "assumption: a base holds classes, twice a community room",
                )

    w("")
    w(
        f"# --- nursery and kindergarten: {len(KINDERGARTENS)} integrated institutions (published: 25 / 14 circles "
        f"= {NURSERY_KINDERGARTENS / CIRCLES:.1f})."
    )
    w("#     Each is a kindergarten (ages 3-5) and a nursery (托育, ages 0-2) on the same site: published,")
    w("#     Wuhai's 25 institutions are integrated nursery-and-kindergarten ones (托幼一体化), built in")
    w("#     community service premises; their capacities are the catalogue's (assumptions). Whether")
    w("#     ordinary kindergartens exist beside them is not said (the pilot Xinda Jiayuan alone has")
    w("#     'several kindergartens'), so 2 per circle is probably a lower bound (assumption) and the")
    w("#     kindergarten gaps of this scenario may be overstated. GB 50180-2018 places a kindergarten")
    w("#     in every 5-minute circle.")
    for i, (x, y) in enumerate(KINDERGARTENS, 1):
        fac("kindergarten", x, y, f"integrated nursery and kindergarten {i}")
        fac("nursery", x, y, f"integrated nursery and kindergarten {i}, nursery classes")

    w("")
    w(
        f"# --- schools: {len(PRIMARY_SCHOOLS)} primary, {len(MIDDLE_SCHOOLS)} middle "
        "(GB 50180-2018 norms for ~40,000 residents, see the header;"
    )
    w("#     not Wuhai data; Wuhai's school numbers are not published)")
    for i, (x, y) in enumerate(PRIMARY_SCHOOLS, 1):
        fac("primary_school", x, y, f"primary school {i}")
    for i, (x, y) in enumerate(MIDDLE_SCHOOLS, 1):
        fac("middle_school", x, y, f"middle school {i}")

    w("")
    w(f"# --- community health service centre: {len(HEALTH_CENTRES)} (GB 50180-2018 norm: one per 15-minute circle)")
    for x, y in HEALTH_CENTRES:
        fac("health_centre", x, y, "community health service centre")

    w("")
    w(f"# --- community service centre: {len(SERVICE_CENTRES)} (assumption: one per circle, the circle's service hub;")
    w("#     published: 'service response' is one of the eight circles)")
    for x, y in SERVICE_CENTRES:
        fac("service_centre", x, y, "life circle service centre")

    w("")
    w(f"# --- commerce: the ~{outlets_round} outlets of a circle (published: 7,623 / 14) are AGGREGATED")
    w(f"#     (assumption) into {len(MARKETS)} market entries and {n_conv} convenience entries:")
    w("#     - each market entry stands for a fresh-food market or supermarket with about 4 shops")
    w(f"#       around it (5 outlets; {len(MARKETS) * 5} outlets in all); Wuhai's morning, night and")
    w("#       neighbourhood markets are published, their number per circle is not;")
    w("#     - each convenience entry stands for the remaining outlets of its street corner:")
    w(
        f"#       ({outlets_round} - {len(MARKETS) * 5}) / {n_conv} = {outlets_per_conv:.1f} outlets "
        "(shops, kiosks, convenience service stations, eateries);"
    )
    w("#     capacities are raised accordingly (assumption: about 5 people at once per outlet).")
    for x, y, name in MARKETS:
        fac("market", x, y, name, 200, "assumption: the market itself (150, catalogue default) plus 4 shops at ~12")
    for k, (x, y) in enumerate(CONVENIENCE, 1):
        fac("convenience", x, y, f"shops {k}", 65, f"assumption: ~{outlets_per_conv:.0f} outlets at ~5 people each")

    w("")
    w(f"# --- pocket parks: {len(PARKS)} (published: over 200 / 14 circles = {POCKET_PARKS / CIRCLES:.1f} per circle);")
    w("#     the first four are on the riverside promenade")
    for i, (x, y) in enumerate(PARKS, 1):
        fac("park", x, y, f"pocket park {i}")

    return "\n".join(L) + "\n"


def main(argv: list[str]) -> int:
    """Write wuhai_life_circle.toml, or with --check report whether it is up to date."""
    text = render()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.name} is out of date: run scenarios/generators/generate.py", file=sys.stderr)
            return 1
        print(f"{OUT.name} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
