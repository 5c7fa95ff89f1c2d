"""Placement options side by side: the same seeds on every scenario, and what changed for whom.

``compare`` runs each scenario on the seeds of ``--replicates`` (model/planning/replicates.py),
writes the first seed's results folder of each run, and gathers (docs/planning.md):

- ``comparison.csv``: one row per figure of summary.json (dotted path), one column per scenario
  (its name, the mean over seeds), then ``diff_<name>``: each scenario minus the first (the mean
  paired difference), ``replicates``, and per option the 95% interval of the difference and
  whether it is beyond seed noise;
- ``groups.csv``: coverage within each type's own level by age band and by group, per scenario,
  with the paired difference and the groups of few users flagged;
- ``communities.csv``: the share of each community's residents whose life circle is complete;
- ``communities_by_type.csv``: per community and type, coverage before and after and the
  residents who fall out of the type's level, of 15 minutes and of the cut-off;
- ``sites_<type>.csv``: for each type whose facilities differ, every site in every scenario with
  its visits, crowding, turned-away visits and the unmet demand of its catchment, marked kept,
  moved, new or closed against the first scenario (model/planning/sites.py);
- ``comparison.md``: the report a planner reads (model/planning/comparison.py), and the same as
  one self-contained ``report.html`` and a ``report.pdf`` (model/report/document.py);
- ``maps/``: for each type whose facilities differ, the access maps side by side and the minutes
  gained or lost per home cell; ``who_gained.png``, the change of coverage by age band and group;
- ``replicates/``: every seed's summary.json per scenario, and the per-seed rows of groups.csv
  and communities_by_type.csv.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from model.measures.access import needs_by_type, users_pace
from model.planning import replicates as replicates_mod
from model.report import lang

# What compare prints, in Chinese (--lang zh)
_ = lang.Phrases(
    {
        "compared {names} (seeds {seeds}); facilities differ for: {changed}": (
            "已比较 {names}（随机种子 {seeds}）；设施不同的类型：{changed}"
        ),
        "none": "无",
        "life circle complete: {values}": "生活圈完整：{values}",
    }
)


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
    scenarios: list,
    out: Path,
    seed: int | None = None,
    days: int = 1,
    quiet: bool = False,
    geojson: bool = False,
    replicates: int = 1,
) -> str:
    """Run every scenario on the same seeds; write each run's folder and the comparison; return the headline text.

    The first seed's runs write their full results folders (``<name>/``) and draw the maps; every
    seed's summary goes into ``replicates/<name>/summary_seed<seed>.json`` and its groups and
    communities into ``replicates/groups.csv`` and ``replicates/communities_by_type.csv``; only the
    first seed's models are kept in memory.
    """
    import sys

    from model.model import LifeCircleModel
    from model.report import files, folders, results

    seeds = replicates_mod.seeds_of(scenarios[0].seed if seed is None else seed, replicates)
    names = [s.name for s in scenarios]
    out.mkdir(parents=True, exist_ok=True)
    models, runs = [], {n: [] for n in names}
    groups, completeness, communities = [], [], []
    types: list[str] = []  # the types with facilities in some scenario, known after the first run of each
    for k, s in enumerate(seeds):
        access, done = {}, []
        for scenario in scenarios:
            if not quiet:
                print(f"running {scenario.name} (seed {s}, {days} day(s)) ...", file=sys.stderr, flush=True)
            model = LifeCircleModel(scenario, seed=s, days=days)
            model.run()
            if k == 0:
                folder = out / scenario.name
                folder.mkdir(exist_ok=True)
                folders.write_scenario(scenario, folder)
                summary = results.write_results(model, folder, {}, geojson=geojson)
                models.append(model)
            else:
                summary = dict(model.summary())
            kept = out / "replicates" / scenario.name
            kept.mkdir(parents=True, exist_ok=True)
            files.write_json(kept / f"summary_seed{s}.json", summary)
            runs[scenario.name].append(replicates_mod.figures(summary))
            groups.append(coverage_by_group(model).assign(scenario=scenario.name, seed=s))
            completeness.append(community_completeness(model).assign(scenario=scenario.name, seed=s))
            types += [t for t in model.built.minutes if t not in types]
            done.append(model)
        for model in done:
            access[model.spec.name] = replicates_mod.community_access(model, types)
        del done  # the first seed's runs stay in models; the others go
        for name in names:
            rows = replicates_mod.community_rows(access[name], access[names[0]])
            communities.append(rows.assign(scenario=name, seed=s))
    return _write_comparison(out, models, runs, groups, completeness, communities, seeds)


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", encoding=lang.csv_encoding())


def _write_comparison(
    out: Path, models: list, runs: dict, groups: list, completeness: list, communities: list, seeds: list[int]
) -> str:
    """The tables, maps, comparison.md and report.html / report.pdf of a comparison; the headline text."""
    from model.planning.comparison import write_report
    from model.planning.sites import site_table
    from model.report import document
    from model.report.drawing import compare as charts

    names = [m.spec.name for m in models]
    table = replicates_mod.comparison_table(runs)
    _csv(table, out / "comparison.csv")
    per_seed_groups = pd.concat(groups, ignore_index=True)
    _csv(per_seed_groups, out / "replicates" / "groups.csv")
    group_table = replicates_mod.group_table(per_seed_groups, names)
    _csv(group_table, out / "groups.csv")
    per_seed = pd.concat(completeness, ignore_index=True)
    mean = per_seed.groupby(["scenario", "community"], sort=False).agg(
        residents=("residents", "mean"), complete=("complete", "mean")
    )
    mean["residents"] = mean["residents"].round().astype(int)
    completeness_table = mean.reset_index()[["community", "residents", "complete", "scenario"]]
    _csv(completeness_table, out / "communities.csv")
    per_seed_communities = pd.concat(communities, ignore_index=True)
    _csv(per_seed_communities, out / "replicates" / "communities_by_type.csv")
    by_type = replicates_mod.communities_by_type(per_seed_communities, names)
    _csv(by_type, out / "communities_by_type.csv")
    maps_dir = out / "maps"
    maps_dir.mkdir(exist_ok=True)
    changed = changed_types(models)
    sites = {}
    for t in changed:
        sites[t] = site_table(models, t)
        _csv(sites[t], out / f"sites_{t}.csv")
    maps = {t: _type_maps(models, t, out, maps_dir, sites[t]) for t in changed}
    if changed:
        who = maps_dir / "who_gained.png"
        charts.plot_who_gained(who, group_table, names, changed)
        maps["who_gained"] = who.relative_to(out)
    text = write_report(
        out / "comparison.md", models, table, group_table, completeness_table, by_type, maps, sites, seeds, changed
    )
    document.write_documents(out, text)
    seeds_text = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    lines = [
        _(
            "compared {names} (seeds {seeds}); facilities differ for: {changed}",
            names=", ".join(names),
            seeds=seeds_text,
            changed=", ".join(changed) or _("none"),
        )
    ]
    indexed = table.set_index("metric")
    if "life_circle_complete" in indexed.index:
        values = ", ".join(f"{n} {indexed.loc['life_circle_complete', n]:.1%}" for n in names)
        lines.append(_("life circle complete: {values}", values=values))
    # the communities cut off: the report's lines before its title
    cut = [line for line in itertools.takewhile(lambda line: not line.startswith("# "), text.splitlines()) if line]
    lines += [line.replace("**", "") for line in cut]
    return "\n".join(lines) + "\n"
