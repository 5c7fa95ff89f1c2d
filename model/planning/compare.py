"""Placement options side by side: the same seed on every scenario, and what changed for whom.

``compare`` runs each scenario, writes each run's own results folder, and gathers:

- ``comparison.csv``: one row per figure of summary.json (dotted path), one column per scenario
  (its name), then ``diff_<name>``: each scenario minus the first;
- ``groups.csv``: coverage within each type's own level by age band and by group, per scenario;
- ``communities.csv``: the share of each community's residents whose life circle is complete;
- ``sites_<type>.csv``: for each type whose facilities differ, every site in every scenario with
  its visits, crowding, turned-away visits and the unmet demand of its catchment, marked kept,
  new or closed against the first scenario (model/planning/sites.py);
- ``comparison.md``: the report a planner reads (headline table, what changed and for whom, maps);
- ``maps/``: for each type whose facilities differ, the access maps side by side and the minutes
  gained or lost per home cell; ``who_gained.png``, the change of coverage by age band and group.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from model.measures.access import needs_by_type, users_pace
from model.measures.static import twins
from model.measures.summary import flatten
from model.report import lang


def coverage_by_group(model) -> pd.DataFrame:
    """Share of each type's users within the type's level, by age band and by group.

    Columns: type, by ("age" or "group"), value (the band or group), users, within_level: the
    figures of summary.json (``access.<type>.by_age`` and ``by_group``) for the parts with users.
    """
    rows = []
    for t, a in model.summary()["access"].items():
        for by, key in (("age", "by_age"), ("group", "by_group")):
            for value, part in a[key].items():
                if part["users"]:
                    rows.append((t, by, value, int(part["users"]), float(part["within_level"])))
    return pd.DataFrame(rows, columns=["type", "by", "value", "users", "within_level"])


def community_completeness(model) -> pd.DataFrame:
    """Per community: residents and the share whose life circle is complete (every needed type within its level)."""
    built, scenario = model.built, model.spec
    res = built.residents
    needs = needs_by_type(res.age, model.types)
    complete = np.ones(len(res), dtype=bool)
    for t, minutes in built.minutes.items():
        complete &= ~needs[t] | (minutes <= scenario.types[t].level_min)
    frame = pd.DataFrame({"community": np.asarray(res.community_names, dtype=object)[res.community], "ok": complete})
    out = frame.groupby("community", sort=False)["ok"].agg(residents="size", complete="mean").reset_index()
    return out


def comparison_table(summaries: dict[str, dict]) -> pd.DataFrame:
    """comparison.csv: figures by dotted path, a column per scenario, then each one's difference from the first.

    The figures are summary.json's, its static baseline's (``static.<path>``) among them, and
    then ``diff.<path>``: the agent model's figure minus its static twin (docs/static.md).
    """
    flats = {}
    for name, s in summaries.items():
        flat = flatten(s)
        flats[name] = flat | {f"diff.{path}": diff for path, (_, _, diff) in twins(flat).items()}
    names = list(flats)
    keys = list(dict.fromkeys(k for flat in flats.values() for k in flat))
    frame = pd.DataFrame({"metric": keys})
    for name in names:
        frame[name] = [flats[name].get(k) for k in keys]
    first = names[0]
    for name in names[1:]:
        frame[f"diff_{name}"] = [_diff(flats[name].get(k), flats[first].get(k)) for k in keys]
    return frame


def _diff(a, b):
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return None
    if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
        return None
    return a - b


def placements(scenario) -> dict[str, set[tuple[int, int]]]:
    """Where each type's facilities stand: type -> set of cells (x, y)."""
    out: dict[str, set] = {}
    for f in scenario.facilities:
        out.setdefault(f.type, set()).add((f.x, f.y))
    return out


def changed_types(models: list) -> list[str]:
    """Types whose facilities stand elsewhere in some scenario than in the first (in catalogue order)."""
    first = placements(models[0].spec)
    changed = set()
    for m in models[1:]:
        other = placements(m.spec)
        changed |= {t for t in set(first) | set(other) if first.get(t, set()) != other.get(t, set())}
    order = list(dict.fromkeys(t for m in models for t in m.spec.types))
    return [t for t in order if t in changed]


def type_field(model, ftype: str) -> np.ndarray:
    """Metres from every node of the run's surface to the nearest facility of ``ftype`` (inf where it has none)."""
    field = model.built.fields_m.get(ftype)
    return np.full(model.surface.n_nodes, np.inf) if field is None else field


def home_minutes(model, ftype: str, pace: float) -> np.ndarray:
    """Minutes from every cell to the nearest facility of ``ftype`` at ``pace`` (inf where none), as (height, width).

    On streets: minutes from every node of the run's surface, (n_nodes,).
    """
    city = model.city
    field = model.built.fields_m.get(ftype)
    if model.spec.streets is not None:
        return type_field(model, ftype) / pace
    if field is None:
        return np.full((city.height, city.width), np.inf)
    return (field / pace).reshape(city.height, city.width)


def shared_pace(models: list, ftype: str) -> float:
    """The pace both maps of a type are drawn at: the median own pace of its users in the first scenario."""
    for m in models:
        if ftype in m.built.minutes:
            needs = needs_by_type(m.built.residents.age, m.types)[ftype]
            return users_pace(m.built.residents.m_per_min, needs)
    return float("nan")


def home_cells(model) -> np.ndarray:
    """Bool (height, width): cells where some resident lives."""
    city = model.city
    mask = np.zeros(city.height * city.width, dtype=bool)
    mask[model.built.residents.node] = True
    return mask.reshape(city.height, city.width)


def _by_band_and_group(groups: pd.DataFrame, names: list[str], types: list[str], changed: bool) -> list[str]:
    """Headline rows: users within the type's level by age band and by group, per scenario and change."""
    first = names[0]
    lines = [
        "",
        "Users within each type's own level, by age band and by group"
        + (" (the types whose facilities differ; every type is in groups.csv):" if changed else ":"),
        "",
        "| type | age band or group | users | "
        + " | ".join(names)
        + "".join(f" | {n} - {first}" for n in names[1:])
        + " |",
        "|---" * (3 + 2 * len(names) - 1) + "|",
    ]
    wide = groups.pivot_table(index=["type", "by", "value"], columns="scenario", values="within_level", sort=False)
    users = groups[groups["scenario"] == first].set_index(["type", "by", "value"])["users"]
    for (t, by, value), row in wide.iterrows():
        if t not in types:
            continue
        cells = [_pct(row.get(n)) for n in names]
        cells += [_pp(row.get(n), row.get(first)) for n in names[1:]]
        label = f"ages {value}" if by == "age" else value
        lines.append(f"| {t} | {label} | {users.get((t, by, value), 0):,} | " + " | ".join(cells) + " |")
    return lines


def _pct(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.1%}"


def _pp(value, base) -> str:
    if value is None or base is None or pd.isna(value) or pd.isna(base):
        return "-"
    return f"{100 * (value - base):+.1f} pp"


def _site_lines(sites: pd.DataFrame, names: list[str]) -> list[str]:
    """What the simulation met at the kept, new and closed sites of a type (model/planning/sites.py)."""
    from model.planning.sites import site_summary

    lines = [
        "",
        "At the sites (sites_<type>.csv has every site; unmet visits are those of the users living nearest each site):",
        "",
        "| scenario | sites | count | places | visits | turned away | unmet visits | highest peak / places |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, row in site_summary(sites).iterrows():
        if row["status"] == "closed":
            cells = ["-"] * 4
        else:
            cells = [
                f"{row['visits']:,.0f}",
                f"{row['turned_away']:,.0f}",
                f"{row['unmet_visits']:,.0f}",
                f"{row['max_peak_ratio']:.2f}",
            ]
        lines.append(
            f"| {row['scenario']} | {row['status']} | {row['sites']} | {row['capacity']:,.0f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def write_report(
    path: Path,
    models: list,
    table: pd.DataFrame,
    groups: pd.DataFrame,
    completeness: dict,
    maps: dict,
    sites: dict | None = None,
) -> None:
    """comparison.md: what a planner reads without the CSV.

    Its sections, in order: the headline table, coverage by age band and group, what changed and
    for whom (per changed type: the range of changes, the sites, the maps), the worst-served
    communities.
    """
    names = [m.spec.name for m in models]
    lines = [f"# Comparison: {' vs '.join(names)}", ""]
    lines.append(
        f"Every scenario run with seed {models[0].seed} for {models[0].days} day(s); differences are each "
        f"scenario minus **{names[0]}**. Coverage is the share of a type's users within the type's own level "
        "(5, 10 or 15 minutes) at their own walking pace. Every figure is in comparison.csv."
    )
    types = list(dict.fromkeys(t for m in models for t in m.built.minutes))
    lines += _headline_lines(models, table, names, types)
    changed = changed_types(models)
    lines += _by_band_and_group(groups, names, changed or types, bool(changed))
    lines += ["", "## What changed, and for whom", ""]
    if not changed:
        lines.append("No facility type stands anywhere else in these scenarios.")
    for t in changed:
        lines += _changed_type_lines(t, groups, names, (sites or {}).get(t), maps.get(t, []))
    if "who_gained" in maps:
        lines += [f"![who gained coverage]({maps['who_gained'].as_posix()})", ""]
    lines += _worst_served_lines(completeness, names)
    lines += _static_lines(models, table, names, types)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _headline_lines(models: list, table: pd.DataFrame, names: list[str], types: list[str]) -> list[str]:
    """The headline table: completeness, coverage, unmet visits, crowding, exposure by group."""
    lines = ["", "## Headline", "", "| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    indexed, metrics = table.set_index("metric")[names], set(table["metric"])

    def row(label, key, fmt="{:.1%}"):
        if key not in metrics:
            return
        cells = [
            "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v) for v in indexed.loc[key]
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("life circle complete (every needed type within its level)", "life_circle_complete")
    for t in types:
        level = models[0].spec.types[t].level_min
        row(f"{t}: users within its level ({level:g} min)", f"access.{t}.within_level")
    for t in types:
        row(f"{t}: unmet share of wanted visits", f"usage.{t}.unmet_share")
        row(f"{t}: peak occupancy / capacity", f"usage.{t}.peak_occupancy_ratio", "{:.2f}")
    for g in list(models[0].built.residents.group_names):
        row(f"exposure of {g} to others, residential blocks", f"mixing.residential.blocks.exposure.{g}", "{:.3f}")
        row(f"exposure of {g} to others, at facilities", f"mixing.activity.exposure.{g}", "{:.3f}")
    return lines


def _static_lines(models: list, table: pd.DataFrame, names: list[str], types: list[str]) -> list[str]:
    """The agent model beside the static baseline: agent, static and agent - static per scenario (docs/static.md)."""
    lines = ["", "## The agent model beside the static baseline", ""]
    lines.append(
        "The static baseline is the same city without time: every wanted visit at its expected first choice, "
        "capacity ignored (docs/static.md). What differs is what simulating time adds: queues, turn-aways, "
        "the timing of co-presence and the randomness of one run. Each scenario: agent / static / agent - static."
    )
    head = "| figure | " + " | ".join(f"{n}: agent | static | diff" for n in names) + " |"
    lines += ["", head, "|---" * (1 + 3 * len(names)) + "|"]
    indexed, metrics = table.set_index("metric")[names], set(table["metric"])

    def cell(value, fmt, sign=""):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return format(value, sign + fmt)

    def row(label, path, fmt):
        if path not in metrics or f"static.{path}" not in metrics:
            return
        cells = []
        for n in names:
            agent, static, diff = (indexed.loc[key, n] for key in (path, f"static.{path}", f"diff.{path}"))
            cells += [cell(agent, fmt), cell(static, fmt), cell(diff, fmt, "+")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for t in types:
        row(f"{t}: visits per day", f"usage.{t}.visits", ",.1f")
        row(f"{t}: unmet share of wanted visits", f"usage.{t}.unmet_share", ".1%")
        row(f"{t}: mean walk (min)", f"usage.{t}.mean_walk_min", ".1f")
    for g in list(models[0].built.residents.group_names):
        row(f"activity exposure of {g} to others", f"mixing.activity.exposure.{g}", ".3f")
        row(f"relative exposure of {g}", f"mixing.activity.relative_exposure.{g}", ".3f")
        row(f"experienced isolation of {g}", f"mixing.activity.experienced_isolation.{g}", ".3f")
    row("dissimilarity of person-minutes at facilities", "mixing.activity.multigroup_dissimilarity", ".3f")
    row("15-minute usage of everyday trips", "usage.fifteen_minute_usage", ".1%")
    lines.append("")
    return lines


def _changed_type_lines(t: str, groups: pd.DataFrame, names: list[str], sites, images: list) -> list[str]:
    """For a type whose facilities moved: who gained most and least, what the sites met, the maps."""
    per = groups[groups["type"] == t]
    lines = [f"**{t}** (facilities moved, added or removed):"]
    for name in names[1:]:
        a = per[per["scenario"] == names[0]].set_index(["by", "value"])["within_level"]
        b = per[per["scenario"] == name].set_index(["by", "value"])["within_level"]
        delta = (b - a).dropna().sort_values()
        if delta.empty:
            continue
        best, worst = delta.index[-1], delta.index[0]
        lines.append(
            f"- {name}: users within the level change by {100 * delta.min():+.1f} to "
            f"{100 * delta.max():+.1f} percentage points across age bands and groups; most gained: "
            f"{best[0]} {best[1]} ({100 * delta.iloc[-1]:+.1f} pp); least: {worst[0]} {worst[1]} "
            f"({100 * delta.iloc[0]:+.1f} pp)."
        )
    if sites is not None:
        lines += _site_lines(sites, names)
    for image in images:
        lines.append(f"\n![{t}: {image.stem}]({image.as_posix()})")
    lines.append("")
    return lines


def _worst_served_lines(completeness: dict, names: list[str]) -> list[str]:
    """The five communities of the first scenario with the lowest completeness, in every scenario."""
    lines = ["## Worst-served communities", ""]
    lines.append(
        "Share of each community's residents whose life circle is complete (lowest five of the first scenario):"
    )
    lines += ["", "| community | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    base = completeness[names[0]].sort_values("complete").head(5)
    for community in base["community"]:
        cells = []
        for name in names:
            part = completeness[name]
            value = part.loc[part["community"] == community, "complete"]
            cells.append(f"{value.iloc[0]:.1%}" if len(value) else "-")
        lines.append(f"| {community} | " + " | ".join(cells) + " |")
    return lines


def _type_maps(models: list, t: str, out: Path, maps_dir: Path, sites: pd.DataFrame | None = None) -> list[Path]:
    """The side-by-side access maps of type ``t`` and the minutes gained or lost; paths relative to ``out``.

    ``sites``: the type's site table (model/planning/sites.py), whose new, moved and closed sites the maps mark.
    """
    from model.report.drawing import compare as charts

    pace = shared_pace(models, t)
    if models[0].spec.streets is not None:
        return _street_type_maps(models, t, pace, out, maps_dir, sites)
    minutes = [home_minutes(m, t, pace) for m in models]
    side = maps_dir / f"{t}_side_by_side.png"
    charts.plot_side_by_side(side, models, minutes, t, pace, sites)
    drawn = [side.relative_to(out)]
    homes = home_cells(models[0])
    for model, mins in zip(models[1:], minutes[1:], strict=True):
        diff = maps_dir / f"{t}_minutes_{model.spec.name}_minus_{models[0].spec.name}.png"
        charts.plot_difference(diff, models[0], model, minutes[0], mins, homes, t, sites)
        drawn.append(diff.relative_to(out))
    return drawn


def _street_type_maps(models: list, t: str, pace: float, out: Path, maps_dir: Path, sites=None) -> list[Path]:
    """:func:`_type_maps` on streets: the bands along the ways side by side, the change at every home."""
    from model.report.drawing import streets as charts

    side = maps_dir / f"{t}_side_by_side.png"
    charts.plot_street_side_by_side(side, models, [type_field(m, t) for m in models], t, pace, sites)
    drawn = [side.relative_to(out)]
    before = home_minutes(models[0], t, pace)
    for model in models[1:]:
        diff = maps_dir / f"{t}_minutes_{model.spec.name}_minus_{models[0].spec.name}.png"
        charts.plot_street_difference(diff, models[0], model, before, home_minutes(model, t, pace), t, sites)
        drawn.append(diff.relative_to(out))
    return drawn


def compare(
    scenarios: list, out: Path, seed: int | None = None, days: int = 1, quiet: bool = False, geojson: bool = False
) -> str:
    """Run every scenario with one seed; write each run's folder and the comparison; return the headline text."""
    import sys

    from model.model import LifeCircleModel
    from model.planning.sites import site_table
    from model.report import folders, results
    from model.report.drawing import compare as charts

    seed = scenarios[0].seed if seed is None else seed
    out.mkdir(parents=True, exist_ok=True)
    models, summaries, groups, completeness = [], {}, [], {}
    for scenario in scenarios:
        if not quiet:
            print(f"running {scenario.name} (seed {seed}, {days} day(s)) ...", file=sys.stderr, flush=True)
        model = LifeCircleModel(scenario, seed=seed, days=days)
        model.run()
        folder = out / scenario.name
        folder.mkdir(exist_ok=True)
        folders.write_scenario(scenario, folder)
        summaries[scenario.name] = results.write_results(model, folder, {}, geojson=geojson)
        groups.append(coverage_by_group(model).assign(scenario=scenario.name))
        completeness[scenario.name] = community_completeness(model)
        models.append(model)
    table = comparison_table(summaries)
    table.to_csv(out / "comparison.csv", index=False, lineterminator="\n", encoding=lang.csv_encoding())
    group_table = pd.concat(groups, ignore_index=True)
    group_table.to_csv(out / "groups.csv", index=False, lineterminator="\n", encoding=lang.csv_encoding())
    pd.concat([c.assign(scenario=n) for n, c in completeness.items()]).to_csv(
        out / "communities.csv", index=False, lineterminator="\n", encoding=lang.csv_encoding()
    )
    maps_dir = out / "maps"
    maps_dir.mkdir(exist_ok=True)
    changed = changed_types(models)
    sites = {}
    for t in changed:
        sites[t] = site_table(models, t)
        sites[t].to_csv(out / f"sites_{t}.csv", index=False, lineterminator="\n", encoding=lang.csv_encoding())
    maps = {t: _type_maps(models, t, out, maps_dir, sites[t]) for t in changed}
    if changed:
        who = maps_dir / "who_gained.png"
        charts.plot_who_gained(who, group_table, [m.spec.name for m in models], changed)
        maps["who_gained"] = who.relative_to(out)
    write_report(out / "comparison.md", models, table, group_table, completeness, maps, sites)
    names = [m.spec.name for m in models]
    lines = [f"compared {', '.join(names)} (seed {seed}); facilities differ for: {', '.join(changed) or 'none'}"]
    indexed = table.set_index("metric")
    if "life_circle_complete" in indexed.index:
        values = ", ".join(f"{n} {indexed.loc['life_circle_complete', n]:.1%}" for n in names)
        lines.append(f"life circle complete: {values}")
    return "\n".join(lines) + "\n"
