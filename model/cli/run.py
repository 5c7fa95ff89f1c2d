"""``lifecircle run``: build a scenario, simulate its days, write the results folder, print the tables."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from model.cli.common import (
    MAX_DAYS,
    MAX_SEED,
    add_language_options,
    check_geojson,
    days_type,
    fmt,
    print_warnings,
    results_folder,
    scenario_name,
    seed_type,
    staged,
    use_language,
)
from model.report.lang import Phrases, pad
from model.scenario import load_scenario


def add_parser(sub) -> None:
    """The ``run`` subcommand's arguments."""
    run = sub.add_parser("run", help="run a scenario and write a results folder")
    run.add_argument(
        "scenario",
        nargs="?",
        type=scenario_name,
        help="scenario file or bundled name (default: demo; `lifecircle scenarios` lists them)",
    )
    run.add_argument("--seed", type=seed_type, help=f"random seed, 0 to {MAX_SEED:,} (default: the scenario's seed)")
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario>-<time> in this folder)")
    run.add_argument(
        "--overwrite", action="store_true", help="replace the run already in --out (only once the new one is complete)"
    )
    run.add_argument(
        "--days", type=days_type, default=1, help=f"days of daily life to simulate, 1 to {MAX_DAYS} (default 1)"
    )
    run.add_argument(
        "--engine",
        choices=("fast", "agents"),
        default="fast",
        help="fast: vectorised; agents: one Mesa agent per resident, the readable reference",
    )
    run.add_argument("--log-visits", action="store_true", help="write visits.csv, one row per completed visit")
    run.add_argument(
        "--contacts",
        action="store_true",
        help="write contacts.graphml, the network of who met whom, and its group assortativity",
    )
    run.add_argument(
        "--geojson",
        action="store_true",
        help="write geo/*.geojson (WGS84): facilities, communities, blocked land, bands; a grid without"
        " [grid] origin gets geo/<scenario>.gpkg in local metres instead",
    )
    add_language_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    """Build the scenario, simulate the days, write the results folder (whole, or nothing: docs/outputs.md)."""
    from model.report import folders

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    use_language(args)
    if args.out is not None:
        results_folder(args.out, args.overwrite)
    scenario = load_scenario(args.scenario)
    timings["load_s"] = time.perf_counter() - t0
    out = args.out or results_folder(folders.default_out_dir(scenario, Path.cwd() / "results"), False)
    notes = check_geojson([scenario]) if args.geojson else []
    # the scenario and the folder are checked: only now the model, its measures and matplotlib
    # (about 2 s of imports a bad file need not wait for)
    from model.model import LifeCircleModel
    from model.report import drawing, results
    from model.report.files import VisitsCsv

    drawing.start_drawing_process()  # imports while the model builds and runs, then draws the maps

    print_warnings(scenario)
    for note in notes:
        print(note, file=sys.stderr)
    show = not args.quiet and sys.stderr.isatty()  # stage lines, like the progress bar, only on a terminal

    def stage(text: str) -> None:
        if show:
            print(text, file=sys.stderr, flush=True)

    with staged(out, "run") as work:  # a hidden folder beside out, renamed to it when every file is written
        folders.write_scenario(scenario, work)
        residents = sum(c.residents for c in scenario.communities)
        stage(f"{scenario.name}: building the city, {residents:,} residents and their walking access ...")
        t1 = time.perf_counter()
        model = LifeCircleModel(
            scenario,
            seed=args.seed,
            days=args.days,
            engine=args.engine,
            visit_sink=VisitsCsv(work / "visits.csv", scenario.simulation.day_start_min, scenario.households.on)
            if args.log_visits
            else None,
        )
        timings["build_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        _simulate(model, f"{scenario.name} ({args.engine})", args.quiet)
        timings["simulate_s"] = time.perf_counter() - t2
        stage("writing tables, maps and charts ...")
        summary = results.write_results(model, work, timings, contacts=args.contacts, geojson=args.geojson)
    timings["total_s"] = time.perf_counter() - t0
    print_access(summary, sys.stdout, {t: ft.level_min for t, ft in scenario.types.items()})
    print_enrolment(summary, sys.stdout)
    print_usage(summary, sys.stdout, scenario.simulation.reference_m_per_min)
    print_dynamics(summary, sys.stdout)
    print_households(summary, sys.stdout)
    print_static(summary, sys.stdout)
    print(_("results written to {out}", out=out))
    return 0


def _simulate(model, desc: str, quiet: bool) -> None:
    """Run the model with a progress bar on stderr (none with ``quiet``, or off a terminal)."""
    from tqdm import tqdm

    with tqdm(
        total=model.total_ticks, unit="tick", desc=desc, disable=quiet or None, file=sys.stderr, leave=False
    ) as bar:
        model.run(progress=lambda done: bar.update(done - bar.n))


def print_households(summary: dict, out) -> None:
    """The households table: how many, their mean size, and carers' escort minutes and given-up visits by age band."""
    h = summary.get("households")
    if h is None:
        return
    print(f"  households: {h['households']:,}, {h['mean_size']:.2f} residents each on average", file=out)
    if not h["escort"]:
        return
    print(f"  escorts (children who stayed home for want of a carer: {h['no_escort_per_day']:.1f} a day):", file=out)
    print(f"    {'carers aged':<12}{'carers':>8}{'escort min/day':>16}{'own visits given up/day':>25}", file=out)
    for band, row in h["carers"].items():
        if row["carers"] == 0 and row["given_up"] == 0:
            continue
        mins = row["escort_min_per_day"]
        mins_text = f"{mins:.1f}" if mins == mins else "-"
        print(f"    {band:<12}{row['carers']:>8,}{mins_text:>16}{row['given_up_per_day']:>25.1f}", file=out)


# The headings of the printed tables in Chinese (--lang zh); the columns stay English, aligned for a terminal.
_ = Phrases(
    {
        "{scenario}: {residents} residents (seed {seed})": "{scenario}：{residents} 位居民（随机种子 {seed}）",
        "  walking access of each type's users (minutes at their own pace; shares of users; <=level m: walk"
        " within GB 50180-2018's distance for the level):": "  各类设施使用者的步行可达性（按本人步速计的分钟；"
        "占使用者的比例；<=level m：在 GB 50180-2018 该层级距离以内）：",
        "  life circle complete (every needed type within its level): {share}": (
            "  生活圈完整（所需各类设施均在其层级以内）：{share}"
        ),
        "results written to {out}": "结果已写入 {out}",
        "facility type": "设施类型",
        "level min": "层级分钟",
        "<=level": "层级内",
        "level m": "层级米",
        "<=level m": "层级米内",
        "users": "使用者",
        "mean min": "平均分钟",
        "p90 min": "p90分钟",
        "<={k} min": "<={k}分钟",
        "unreachable": "不可达",
        "places/user": "人均位置",
        "none %": "无 %",
        "gini min": "基尼系数",
        "lowest <=level: group": "层级内最低：群体",
        "age band": "年龄段",
        "  daily life over {days} day(s), {engine} engine:": "  {days} 天的日常生活，{engine} 引擎：",
        "visits/day": "每日访问",
        "turned away/day": "每日被拒次数",
        "people turned away/day": "每日被拒人数",
        "unmet % wanted": "未满足 %",
        "mean walk min": "平均步行分钟",
        "15-min usage %": "15分钟使用率 %",
        "own walk <=15 min %": "本人步行<=15分钟 %",
        "peak/capacity": "峰值/容量",
        "peak per 1000 m2": "峰值每千平方米",
    }
)


def print_access(summary: dict, out, levels: dict[str, float] | None = None) -> None:
    """The access tables: coverage within each type's own level first, then the bands; places per user and equity.

    Coverage within the level is shown twice: in minutes at the resident's own pace (``<=level``) and
    in metres against the standard's distance for the level (``<=level m``, GB 50180-2018's 300, 500
    or 1,000 m; docs/metrics.md, "Walking access").
    """
    from model.measures.access import BANDS_MIN

    access = summary["access"]
    levels = levels or {}
    print(
        _(
            "{scenario}: {residents} residents (seed {seed})",
            scenario=summary["scenario"],
            residents=f"{summary['residents']:,}",
            seed=summary["seed"],
        ),
        file=out,
    )
    print(
        _(
            "  walking access of each type's users (minutes at their own pace; shares of users; <=level m: walk"
            " within GB 50180-2018's distance for the level):"
        ),
        file=out,
    )
    bands = "".join(pad(_("<={k} min", k=k), 9) for k in BANDS_MIN)
    print(
        f"  {pad(_('facility type'), 16, '<')}{pad(_('level min'), 10)}{pad(_('<=level'), 9)}{pad(_('level m'), 9)}"
        f"{pad(_('<=level m'), 11)}{pad(_('users'), 9)}{pad(_('mean min'), 10)}{pad(_('p90 min'), 9)}{bands}"
        f"{pad(_('unreachable'), 13)}",
        file=out,
    )
    for t, a in access.items():
        shares = "".join(fmt(a[f"within_{k}"], ">9.0%") for k in BANDS_MIN)
        print(
            f"  {t:<16}{fmt(levels.get(t), '>10g')}{fmt(a['within_level'], '>9.0%')}"
            f"{fmt(a.get('level_m'), '>9,.0f')}{fmt(a.get('within_level_m'), '>11.0%')}{a['users']:>9,}"
            f"{fmt(a['mean_min'], '>10.1f')}{fmt(a['p90_min'], '>9.1f')}{shares}{a['unreachable']:>13,}",
            file=out,
        )
    complete = summary["life_circle_complete"]
    if complete is not None:
        print(
            _("  life circle complete (every needed type within its level): {share}", share=f"{complete:.1%}"), file=out
        )
    print(
        "  places per user within the catchment (2SFCA, Luo & Wang 2003), inequality of walks, the worst served:",
        file=out,
    )
    print(
        f"  {pad(_('facility type'), 16, '<')}{pad(_('places/user'), 12)}{'p10':>8}{pad(_('none %'), 8)}"
        f"{pad(_('gini min'), 10)}  {pad(_('lowest <=level: group'), 28, '<')}{_('age band')}",
        file=out,
    )
    for t, a in access.items():
        print(
            f"  {t:<16}{fmt(a['sfca_mean'], '>12.3f')}{fmt(a['sfca_p10'], '>8.3f')}{fmt(a['sfca_zero'], '>8.0%')}"
            f"{fmt(a['gini_min'], '>10.2f')}  {_worst(a['by_group']):<28}{_worst(a['by_age'])}",
            file=out,
        )


def _worst(parts: dict) -> str:
    """The part (group, age band) with the lowest share of users within the level, as "name 52%"."""
    shares = {name: p["within_level"] for name, p in parts.items() if p["within_level"] is not None}
    if not shares:
        return "-"
    name = min(shares, key=shares.get)
    return f"{name} {shares[name]:.0%}"


def print_enrolment(summary: dict, out) -> None:
    """The enrolment table (docs/metrics.md, "Enrolment"): places held once per run, types with enrolment."""
    enrolment = summary.get("enrolment", {})
    if not enrolment:
        return
    print(
        "  enrolment, once per run (children of the ages who sought a place; without = no place within the"
        " cut-off; beyond level = placed farther than the type's level):",
        file=out,
    )
    print(
        f"  {'facility type':<16}{'children':>10}{'applicants':>12}{'placed':>10}{'without place':>15}"
        f"{'without %':>11}{'beyond level':>14}{'beyond %':>10}{'mean walk min':>15}",
        file=out,
    )
    for t, e in enrolment.items():
        print(
            f"  {t:<16}{e['children']:>10,}{e['applicants']:>12,}{e['placed']:>10,}{e['without_place']:>15,}"
            f"{fmt(_number(e['without_place_share']), '>11.1%')}{e['beyond_level']:>14,}"
            f"{fmt(_number(e['beyond_level_share']), '>10.1%')}{fmt(_number(e['mean_walk_min']), '>15.1f')}",
            file=out,
        )


def print_usage(summary: dict, out, reference_m_per_min: float | None = None) -> None:
    """The usage table (per day and shares, with units in the headers) and mixing by group at matched scales."""
    from model.measures.usage import EVERYDAY_TYPES

    usage = summary["usage"]
    types = {t: u for t, u in usage.items() if isinstance(u, dict)}
    print(_("  daily life over {days} day(s), {engine} engine:", days=f"{summary['days']:,}", engine=summary["engine"]),
          file=out)  # fmt: skip
    print(
        f"  {pad(_('facility type'), 16, '<')}{pad(_('visits/day'), 12)}{pad(_('turned away/day'), 17)}"
        f"{pad(_('people turned away/day'), 24)}{pad(_('unmet % wanted'), 16)}{pad(_('mean walk min'), 15)}"
        f"{pad(_('15-min usage %'), 16)}{pad(_('own walk <=15 min %'), 21)}{pad(_('peak/capacity'), 15)}"
        f"{pad(_('peak per 1000 m2'), 18)}",
        file=out,
    )
    for t, u in types.items():
        print(
            f"  {t:<16}{u['visits']:>12,.1f}{u['turned_away']:>17,.1f}{u['turned_away_people']:>24,.1f}"
            f"{fmt(u['unmet_share'], '>16.1%')}"
            f"{fmt(u['mean_walk_min'], '>15.1f')}{fmt(u['fifteen_minute_usage'], '>16.0%')}"
            f"{fmt(u['own_pace_within_15'], '>21.0%')}{fmt(u['peak_occupancy_ratio'], '>15.2f')}"
            f"{fmt(u.get('peak_people_per_1000m2'), '>18.1f')}",
            file=out,
        )
    if "fifteen_minute_usage" in usage:
        pace = f" at {reference_m_per_min:g} m/min" if reference_m_per_min else " at the reference pace"
        print(
            f"  15-minute usage of everyday trips (Abbiasov et al. 2024: destination within 15 min of home{pace}):"
            f" {fmt(usage['fifteen_minute_usage'], '.1%')};\n    unmet: {fmt(usage['unmet_share'], '.1%')} of wanted"
            f" ({', '.join(t for t in types if t in EVERYDAY_TYPES)})",
            file=out,
        )
    act = summary["mixing"]["activity"]
    res = summary["mixing"]["residential"]
    # with two groups experienced isolation is one number for both (docs/metrics.md, "Experienced
    # isolation and relative exposure"): printed once below the table, not as a column
    two = len(act["exposure"]) == 2
    isolation = "" if two else f"{'experienced isolation':>23}"
    print(
        "  exposure to other groups (share of company; relative = over 1 - the group's share, 1 = as mixed as chance):",
        file=out,
    )
    print(
        f"    {'group':<12}{'blocks':>8}{'15-min walk':>13}{'activity':>10}{'relative: walk':>16}{'activity':>10}"
        f"{isolation}{'had company':>13}",
        file=out,
    )
    for g, e in act["exposure"].items():
        walk = res["catchment"]
        isolation = "" if two else fmt(act["experienced_isolation"].get(g), ">23.3f")
        print(
            f"    {g:<12}{fmt(res['blocks']['exposure'].get(g), '>8.3f')}{fmt(walk['exposure'].get(g), '>13.3f')}"
            f"{fmt(e, '>10.3f')}{fmt(walk['relative_exposure'].get(g), '>16.3f')}"
            f"{fmt(act['relative_exposure'].get(g), '>10.3f')}{isolation}"
            f"{fmt(act['coverage_by_group'].get(g), '>13.0%')}",
            file=out,
        )
    if two:
        first = next(iter(act["experienced_isolation"].values()))
        print(f"  experienced isolation (one figure for both of two groups): {fmt(first, '.3f')}", file=out)
    print(
        f"  multigroup dissimilarity: homes on blocks {fmt(res['blocks']['multigroup_dissimilarity'], '.3f')},"
        f" person-minutes at facilities {fmt(act['multigroup_dissimilarity'], '.3f')}"
        f" (residents who had company: {fmt(act['coverage'], '.0%')})",
        file=out,
    )


def print_dynamics(summary: dict, out) -> None:
    """The dynamics table (docs/metrics.md, "Dynamics"): displacement, queues and unmet demand, types with any."""
    dyn = summary.get("dynamics", {})
    busy = {
        t: d for t, d in dyn.items() if d["displaced_share"] or d["wait_person_min"] or d["peak_queue"] or d["unmet"]
    }
    if not busy:
        print("  displaced visits, queues, unmet demand: none", file=out)
        return
    many_days = summary["days"] > 1
    print(
        "  displaced visits (served at a later choice after a turn-away; extra = one-way minutes over the"
        " nearest), queues, unmet:",
        file=out,
    )
    print(
        f"  {'facility type':<16}{'displaced %':>12}{'extra min':>11}{'waited person-min/day':>23}"
        f"{'peak queue':>12}{'at':>10}{'unmet/day':>11}",
        file=out,
    )
    for t, d in busy.items():
        at = "-"
        if d["peak_queue_minute"] is not None:
            hh, mm = divmod(d["peak_queue_minute"], 60)
            at = (f"d{d['peak_queue_day']} " if many_days else "") + f"{hh:02d}:{mm:02d}"
        print(
            f"  {t:<16}{fmt(_number(d['displaced_share']), '>12.1%')}"
            f"{fmt(_number(d['displaced_extra_min']), '>11.1f')}"
            f"{d['wait_person_min']:>23,.0f}{d['peak_queue']:>12,}{at:>10}{d['unmet']:>11,.1f}",
            file=out,
        )
    if many_days:
        print_day_change(busy, summary["days"], out)


def print_day_change(busy: dict, days: int, out) -> None:
    """The busy types' dynamics on the first day and on the last (``by_day``), as "first -> last"."""
    print(f"  from day 1 to day {days} (days that learn: [simulation] learning):", file=out)
    print(
        f"  {'facility type':<16}{'displaced %':>18}{'waited person-min':>22}{'peak queue':>14}{'unmet':>16}"
        f"{'turned away':>18}",
        file=out,
    )

    def change(values, spec):
        return f"{fmt(_number(values[0]), spec)} -> {fmt(_number(values[-1]), spec)}"

    for t, d in busy.items():
        by_day = d["by_day"]
        print(
            f"  {t:<16}{change(by_day['displaced_share'], '.1%'):>18}{change(by_day['wait_person_min'], ',.0f'):>22}"
            f"{change(by_day['peak_queue'], ','):>14}{change(by_day['unmet'], ','):>16}"
            f"{change(by_day['turned_away'], ','):>18}",
            file=out,
        )


def print_static(summary: dict, out) -> None:
    """The agent model beside the static baseline (docs/static.md): agent, static and agent - static.

    Per type the usage figures with a static twin, per group the activity-mixing figures, then
    the overall ones (``measures.static.twins``); nothing without a ``static`` block.
    """
    from model.measures.static import twins
    from model.measures.summary import flatten

    if "static" not in summary:
        return
    pairs = twins(flatten(summary))
    print(
        "  the agent model beside the static baseline (the same city without time: expected first choices,"
        " no capacity; docs/static.md), each as agent / static / agent - static:",
        file=out,
    )
    usage = {"visits": ("visits/day", ",.1f"), "unmet_share": ("unmet % wanted", ".1%"),
             "mean_walk_min": ("mean walk min", ".1f"), "fifteen_minute_usage": ("15-min usage %", ".1%")}  # fmt: skip
    types = [t for t, u in summary["usage"].items() if isinstance(u, dict)]
    _twin_table(out, "facility type", types, lambda t, k: f"usage.{t}.{k}", usage, pairs)
    mixing = {"exposure": ("activity exposure", ".3f"), "relative_exposure": ("relative exposure", ".3f"),
              "experienced_isolation": ("experienced isolation", ".3f")}  # fmt: skip
    groups = list(summary["mixing"]["activity"]["exposure"])
    _twin_table(out, "group", groups, lambda g, k: f"mixing.activity.{k}.{g}", mixing, pairs)
    overall = {"mixing.activity.multigroup_dissimilarity": ("dissimilarity of person-minutes", ".3f"),
               "mixing.activity.coverage": ("residents who had company", ".1%"),
               "usage.fifteen_minute_usage": ("15-minute usage of everyday trips", ".1%"),
               "usage.unmet_share": ("unmet share of everyday trips", ".1%")}  # fmt: skip
    for path, (label, spec) in overall.items():
        if path in pairs:
            agent, static, diff = pairs[path]
            print(f"    {label + ':':<36}{fmt(agent, spec)} / {fmt(static, spec)} / {fmt(diff, '+' + spec)}", file=out)


def _twin_table(out, head: str, rows: list[str], path_of, figures: dict, pairs: dict) -> None:
    """One table of twins: a row per type or group, three columns (agent, static, diff) per figure."""
    width = 11
    print(f"  {'':<16}" + "".join(f"{label:>{3 * width}}" for label, _ in figures.values()), file=out)
    print(f"  {head:<16}" + f"{'agent':>{width}}{'static':>{width}}{'diff':>{width}}" * len(figures), file=out)
    for row in rows:
        cells = []
        for key, (_, spec) in figures.items():
            agent, static, diff = pairs.get(path_of(row, key), (None, None, None))
            cells.append(f"{fmt(agent, f'>{width}{spec}')}{fmt(static, f'>{width}{spec}')}")
            cells.append(fmt(diff, f">+{width}{spec}"))
        print(f"  {row:<16}" + "".join(cells), file=out)


def _number(value):
    """None for a missing or undefined (NaN) figure, else the figure (the summary in memory keeps NaN)."""
    return None if value is None or value != value else value
