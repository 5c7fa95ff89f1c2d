"""Maps: walking time to each facility type in 5/10/15-minute bands, and the guidance map of a gate.

Drawn north up (the grid's rows run north to south), every facility at its cell's centre with
its type's symbol (model/report/drawing/symbols.py), with a scale bar and a north arrow instead
of ticks, and the communities outlined and named (model/report/drawing/furniture.py). The colours
are ColorBrewer's YlGnBu bands, which readers with the common colour vision deficiencies tell
apart; blocked land is dark grey.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch, Rectangle

from model.city.grid import City
from model.measures.access import BANDS_MIN
from model.report.drawing import furniture
from model.report.drawing.furniture import in_sentence, type_handle, type_marks
from model.report.lang import Phrases
from model.scenario import Scenario

_ACCESS_TITLE = (
    "{scenario}: walking time to the nearest {label}\nat {pace:.1f} m/min, the median pace of its users (ages {ages})"
)
_ = Phrases(
    {
        "{lo}-{hi} min": "{lo}-{hi} 分钟",
        "over {k}": "超过 {k}",
        "within {k} min": "{k} 分钟内",
        "over {k} min": "超过 {k} 分钟",
        "unreachable": "不可达",
        "blocked (water, rail, walls)": "阻隔（水体、铁路、围墙）",
        "blocked": "阻隔",
        "community": "社区",
        "community (named)": "社区（注名）",
        "gate": "小区出入口",
        "its {users:,} users, at their own pace:": "其 {users:,} 位使用者，按各自步速：",
        "  within {k} min: {share}": "  {k} 分钟内：{share}",
        _ACCESS_TITLE: (
            "{scenario}：到最近的 {label} 的步行时间\n步速 {pace:.1f} 米/分钟，即其使用者步速的中位数（年龄 {ages}）"
        ),
        "{community}: what you reach on foot in 5, 10 and 15 minutes from its gates\n(adult at {speed:g} m/min)": (
            "{community}：从小区出入口步行 5、10、15 分钟可达的设施\n（成年人，步速 {speed:g} 米/分钟）"
        ),
    }
)

# Colours of the bands of BANDS_MIN and beyond (ColorBrewer YlGnBu, colour-blind safe).
BAND_COLOURS = ("#225ea8", "#41b6c4", "#c7e9b4", "#f0f0f0")
WAY_COLOUR = "#bdbdbd"  # a way beyond the last band, on the street maps of runs and of the page


def band_labels() -> list[str]:
    """Legend labels of the walking bands of ``BANDS_MIN`` and beyond: "0-5 min", ..., "over 15"."""
    edges = (0, *BANDS_MIN)
    spans = [_("{lo}-{hi} min", lo=lo, hi=hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [*spans, _("over {k}", k=BANDS_MIN[-1])]


BLOCKED_COLOUR = "#525252"
UNREACHABLE_COLOUR = "#ffffff"
GUIDANCE_AGE = 40  # the guidance map is drawn for an adult of this age (speed from [walking])
GUIDANCE_MAX_COMMUNITIES = 12  # guidance maps are drawn, and communities named, for at most this many communities
TYPE_MARKERS = "o s ^ v D P X h p < > *".split()  # the page's markers (live.py); the maps use symbols.py
MAP_AXES_IN = 6.5  # longest side of a map's axes, inches
MAP_MIN_WIDTH_IN = 7.5
_MARGIN_IN = {"left": 0.3, "right": 2.9, "top": 0.85, "bottom": 0.3}
ACCESS_SITE_SIZE = 110  # marker area of the one type of an access map, points squared


def band_index(minutes: np.ndarray) -> np.ndarray:
    """Each cell's walking band: its index in ``BAND_COLOURS``, or ``len(BAND_COLOURS)`` if unreachable."""
    band = np.searchsorted(np.array(BANDS_MIN), minutes, side="left")  # 0..3 (inf -> 3)
    return np.where(np.isfinite(minutes), band, len(BAND_COLOURS))


def band_image(city: City, minutes: np.ndarray) -> np.ndarray:
    """RGB image of the bands, unreachable cells white, blocked cells dark grey."""
    palette = np.array([to_rgb(c) for c in (*BAND_COLOURS, UNREACHABLE_COLOUR, BLOCKED_COLOUR)])
    band = np.where(city.walkable, band_index(minutes), len(BAND_COLOURS) + 1)
    return palette[band]


def band_handles(city: City, minutes: np.ndarray, blocked_label: str) -> list:
    """Legend entries of the bands, and of unreachable and blocked cells where there are any."""
    labels = [_("within {k} min", k=BANDS_MIN[0])]
    labels += [_("{lo}-{hi} min", lo=lo, hi=hi) for lo, hi in zip(BANDS_MIN[:-1], BANDS_MIN[1:], strict=True)]
    labels += [_("over {k} min", k=BANDS_MIN[-1])]
    handles = [Patch(color=colour, label=label) for colour, label in zip(BAND_COLOURS, labels, strict=True)]
    if (city.walkable & ~np.isfinite(minutes)).any():
        handles.append(Patch(facecolor=UNREACHABLE_COLOUR, edgecolor="grey", label=_("unreachable")))
    if not city.walkable.all():
        handles.append(Patch(color=BLOCKED_COLOUR, label=_(blocked_label)))
    return handles


def annotate_shares(ax, access: dict) -> None:
    """Beside a map, the share of a type's users within each band at their own pace (summary.json's access)."""
    shares = [_("its {users:,} users, at their own pace:", users=access["users"])]
    for k in BANDS_MIN:
        share = access.get(f"within_{k}")
        shares.append(_("  within {k} min: {share}", k=k, share="-" if share is None else f"{share:.0%}"))
    ax.annotate("\n".join(shares), xy=(1.03, 0.0), xycoords="axes fraction", fontsize=8, va="bottom", ha="left")


def _centre(city: City, cells):
    """Metres of the centres of cells given by x or y numbers."""
    return (np.asarray(cells, dtype=float) + 0.5) * city.cell_m


def draw_communities(ax, city: City, scenario: Scenario, names: bool) -> None:
    """Community outlines (named if ``names``, each name inside the map) and the map's limits, north up."""
    m = city.cell_m
    labels = []
    for com in scenario.communities:
        x, y, w, h = com.area
        # add_artist, not add_patch: the limits are set below, so the outlines need not widen the
        # data limits (add_patch's bookkeeping took a third of a map's time with 83 communities)
        outline = Rectangle((x * m, y * m), w * m, h * m, fill=False, ec="black", lw=0.8, ls="--")
        ax.add_artist(outline)
        if names:
            label = ax.text(x * m + m * 0.3, y * m + m * 0.3, com.name, fontsize=7, va="top", ha="left", zorder=7)
            label.set_path_effects(furniture.HALO)
            labels.append(label)
    ax.set_xlim(0, city.width * m)
    ax.set_ylim(city.height * m, 0)  # row 0 is the northern edge (docs/scenarios.md, [grid] origin)
    ax.set_aspect("equal")
    furniture.keep_inside(ax, labels)


def _map_figure(city: City):
    """A figure whose axes have the grid's aspect, with room for the legend on the right."""
    aspect = city.height / city.width
    w_in, h_in = (MAP_AXES_IN, MAP_AXES_IN * aspect) if aspect <= 1 else (MAP_AXES_IN / aspect, MAP_AXES_IN)
    m = dict(_MARGIN_IN)
    m["right"] = max(m["right"], MAP_MIN_WIDTH_IN - w_in - m["left"])  # room for a two-line title
    fig_w, fig_h = w_in + m["left"] + m["right"], h_in + m["top"] + m["bottom"]
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((m["left"] / fig_w, m["bottom"] / fig_h, w_in / fig_w, h_in / fig_h))
    return fig, ax


def band_map(ax, city: City, minutes: np.ndarray) -> None:
    """The bands of ``minutes`` (per cell) as an image in metres, north up."""
    extent = (0, city.width * city.cell_m, city.height * city.cell_m, 0)
    ax.imshow(band_image(city, minutes), interpolation="nearest", extent=extent)


def plot_access_map(
    path: Path,
    city: City,
    scenario: Scenario,
    ftype: str,
    field_m: np.ndarray,
    pace_m_per_min: float,
    access: dict,
) -> None:
    """The walking-time map of one facility type with 5/10/15-minute bands (Hohhot guidance-map style).

    Drawn at ``pace_m_per_min``, the median own pace of the type's users
    (``measures.access.users_pace``); beside the bands, the share of the users within each band at
    their own pace, from ``access`` (the type's entry of summary.json's "access" block).
    """
    minutes = (field_m / pace_m_per_min).reshape(city.height, city.width)
    fig, ax = _map_figure(city)
    band_map(ax, city, minutes)
    draw_communities(ax, city, scenario, names=len(scenario.communities) <= GUIDANCE_MAX_COMMUNITIES)
    fac = city.facilities[city.facilities["type"] == ftype]
    type_marks(ax, ftype, _centre(city, fac["x"]), _centre(city, fac["y"]), size=ACCESS_SITE_SIZE)
    furniture.furnish(ax)
    ft = scenario.types[ftype]
    ax.set_title(
        _(
            _ACCESS_TITLE,
            scenario=scenario.name,
            label=in_sentence(ft.label),
            pace=pace_m_per_min,
            ages=ft.ages,
        ),
        loc="left",
        fontsize=11,
    )
    handles = [
        *band_handles(city, minutes, "blocked (water, rail, walls)"),
        type_handle(ftype, ft.label, ms=10, count=len(fac)),
        Patch(fill=False, ls="--", ec="black", label=_("community")),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    annotate_shares(ax, access)
    furniture.save(fig, path)


def plot_guidance_map(
    path: Path, city: City, scenario: Scenario, community_index: int, field_m: np.ndarray, gates: list
) -> None:
    """The map posted at a residential gate (Hohhot's Huimin district).

    What one community reaches in 5, 10 and 15 minutes on foot from its gates (``gates``: cells
    (x, y); ``field_m``: metres from every cell to the nearest gate), for an adult of
    ``GUIDANCE_AGE``, every facility marked by its type's symbol and every community named.
    """
    com = scenario.communities[community_index]
    speed = scenario.speed_for(GUIDANCE_AGE)
    minutes = (field_m / speed).reshape(city.height, city.width)
    fig, ax = _map_figure(city)
    band_map(ax, city, minutes)
    draw_communities(ax, city, scenario, names=True)
    handles = band_handles(city, minutes, "blocked")
    for t in city.types:
        fac = city.facilities[city.facilities["type"] == t]
        type_marks(ax, t, _centre(city, fac["x"]), _centre(city, fac["y"]))
        handles.append(type_handle(t, scenario.types[t].label, count=len(fac)))
    gx, gy = zip(*gates, strict=True) if gates else ((), ())
    ax.scatter(_centre(city, gx), _centre(city, gy), marker="^", s=90, c="white", edgecolors="black", lw=1.2, zorder=6)
    handles.append(plt.Line2D([], [], marker="^", ls="", color="white", markeredgecolor="black", ms=9, label=_("gate")))
    handles.append(Patch(fill=False, ls="--", ec="black", label=_("community (named)")))
    furniture.furnish(ax)
    ax.set_title(
        _(
            "{community}: what you reach on foot in 5, 10 and 15 minutes from its gates\n(adult at {speed:g} m/min)",
            community=com.name,
            speed=speed,
        ),
        loc="left",
        fontsize=11,
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7.5, frameon=False)
    furniture.save(fig, path)
