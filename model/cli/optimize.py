"""``lifecircle optimize``: propose where K new facilities of a type go, which K could close, or how many places.

``--add`` and ``--remove`` solve a location model (model/planning/location) and print, before
writing anything, who gains and who loses by community (``NEW_communities.csv`` beside the new
scenario); ``--size TYPE --share S`` sizes the type's places through the simulation
(model/planning/sizing.py). docs/planning.md describes every line printed.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np

from model.cli.common import (
    MAX_MINUTES,
    MAX_SEED,
    BadArgument,
    add_language_options,
    check_geojson,
    finite_number,
    input_file,
    print_warnings,
    results_folder,
    scenario_name,
    seed_type,
    staged,
    use_language,
    whole_number,
    writable_file,
)
from model.report.lang import Phrases
from model.scenario import PLAUSIBLE_LEVEL, load_scenario
from model.scenario.limits import MAX_CELLS

OBJECTIVES = ("coverage", "pmedian", "capacitated")
# A result is "proven optimal" when its gap to the bound is at most this share of its value: the
# relative gap under which HiGHS calls a MIP optimal (SolverOptions.mip_rel_gap).
OPTIMAL_GAP = 1e-7

_ = Phrases(
    {
        "{ftype}, {weight} ({total} of them), standard {limit} min, {solver}: {quality}": (
            "{ftype}，{weight}（共 {total} 人），标准 {limit} 分钟，{solver}：{quality}"
        ),
        "proven optimal (gap to the bound 0 within {tol:g} of the value)": (
            "已证明最优（与界的差距在数值的 {tol:g} 以内为 0）"
        ),
        "within {gap} ({share}) of the bound {bound}": "与界 {bound} 相差 {gap}（{share}）以内",
        "no bound": "无界",
        "  covered before: {n} ({share})": "  之前覆盖：{n}（{share}）",
        "  covered after:  {n} ({share})": "  之后覆盖：{n}（{share}）",
        "  minutes per user before: {before}; after: {after} ({users} users)": (
            "  人均步行分钟 之前：{before}；之后：{after}（{users} 人）"
        ),
        "  weighted minutes before: {before}; after: {after} (the totals over the users)": (
            "  合计步行分钟 之前：{before}；之后：{after}（所有使用者之和）"
        ),
        "  new site {i}: {place}": "  新设施点 {i}：{place}",
        "  solved in {seconds} s": "  求解用时 {seconds} 秒",
        "new scenario written to {out}": "新方案已写入 {out}",
        "who gains and who loses, by community: {path}": "按社区的得失：{path}",
        "CUT OFF: {community} loses every {ftype} within the {cutoff}-min cut-off ({n} users)": (
            "断开：{community} 失去 {cutoff} 分钟内所有 {ftype}（{n} 人）"
        ),
        "Closing {k} of the {n} {ftype} sites: {names}": "关闭 {n} 个 {ftype} 中的 {k} 个：{names}",
        "  {lose_level} users lose their {level}-min level; {lose_cutoff} lose every {ftype} within the "
        "{cutoff}-min cut-off": (
            "  {lose_level} 人失去 {level} 分钟标准；{lose_cutoff} 人失去 {cutoff} 分钟内所有 {ftype}"
        ),
        "community": "社区",
        "users": "人数",
        "within {m} min": "{m} 分钟内",
        "mean min": "平均分钟",
        "lose level": "失去标准",
        "lose cut-off": "失去可达",
        "Sizing {ftype} so that {share} of wanted visits are served (simulated, seed {seed}, {days} day per run)": (
            "为 {ftype} 定规模，使 {share} 的需求访问得到服务（模拟，种子 {seed}，每次 {days} 天）"
        ),
        "  run {i} ({what}): {places} places, served {served} of {wanted} wanted visits ({share})": (
            "  第 {i} 次（{what}）：{places} 个位置，服务 {served} / {wanted} 次需求访问（{share}）"
        ),
        "  {n} new sites for the reach (the cut-off, {cutoff} min)": "  为可达性新增 {n} 个设施点（{cutoff} 分钟）",
        "  answer: {total} places (before {before}), served {share} of wanted visits; "
        "{runs} simulations in {seconds} s": (
            "  结果：{total} 个位置（之前 {before}），服务 {share} 的需求访问；{runs} 次模拟，用时 {seconds} 秒"
        ),
        "  {name} ({place}): {before} -> {after} places": "  {name}（{place}）：{before} -> {after} 个位置",
    }
)


# K of --add and --remove: at least 1; at most a site per cell of the largest grid (the candidates
# and the type's sites, counted once the scenario is read, are the real bound)
_sites = whole_number(1, MAX_CELLS, "a number of sites")


def add_parser(sub) -> None:
    """The ``optimize`` subcommand's arguments."""
    opt = sub.add_parser("optimize", help="propose sites for K new facilities of a type (or K to close)")
    opt.add_argument("scenario", type=scenario_name, help="scenario file or bundled name")
    opt.add_argument("--type", dest="ftype", help="facility type, e.g. elderly_care (with --add and --remove)")
    how = opt.add_mutually_exclusive_group(required=True)
    how.add_argument("--add", type=_sites, metavar="K", help="choose K new sites (at most the candidates)")
    how.add_argument(
        "--remove",
        type=_sites,
        metavar="K",
        help="choose K existing sites to close with the least loss (at most the type's sites)",
    )
    how.add_argument(
        "--size",
        metavar="TYPE",
        help="how many places of TYPE, and where, so that --share S of the wanted visits are served (simulated)",
    )
    opt.add_argument(
        "--share",
        type=finite_number(0, 1, above=True, words="a share"),
        metavar="S",
        help="with --size: the share of wanted visits served, in (0, 1]",
    )
    opt.add_argument(
        "--minutes",
        type=finite_number(0, MAX_MINUTES, above=True, words="minutes"),
        help=f"coverage standard M, more than 0 and at most {MAX_MINUTES:,} (default: the type's level)",
    )
    opt.add_argument("--weight", default="users", help="whose coverage counts: users, elders or group:NAME")
    opt.add_argument(
        "--candidates",
        type=input_file,
        help="CSV with columns x, y (cells) on a grid; x_m, y_m or lon, lat on streets "
        "(default: every walkable cell, or every street node of the network's main part)",
    )
    opt.add_argument(
        "--objective", choices=OBJECTIVES, default="coverage", help="coverage (default), pmedian, capacitated"
    )
    opt.add_argument("--exact", action="store_true", help="solve the mixed-integer program whatever its size")
    opt.add_argument(
        "--simulate", action="store_true", help="also run both scenarios and compare crowding and unmet visits"
    )
    opt.add_argument(
        "--geojson",
        action="store_true",
        help="write the new scenario's geo/*.geojson into the folder named after --out (each run's with --simulate;"
        " geo/<scenario>.gpkg for a grid without [grid] origin)",
    )
    opt.add_argument(
        "--seed", type=seed_type, help=f"seed of the residents, 0 to {MAX_SEED:,} (default: the scenario's)"
    )
    opt.add_argument(
        "--out", type=Path, help="the new scenario file (default: <scenario>_<type>_<objective>.toml here)"
    )
    opt.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a scenario (its table and folder) that optimize wrote at --out before, once the new are complete",
    )
    add_language_options(opt)
    opt.set_defaults(func=cmd_optimize)


def cmd_optimize(args: argparse.Namespace) -> int:
    """Check the request, build the matrices, solve, print what changes for whom, then write the new scenario."""
    scenario = load_scenario(args.scenario)
    _check_how(args)
    use_language(args)
    k, out, folder = _check_request(args, scenario)
    # the request is checked: only now the model and the solvers (seconds of imports)
    from model.model import LifeCircleModel
    from model.planning.location import SolverOptions
    from model.planning.optimize import user_weights

    print_warnings(scenario)
    options = SolverOptions(method="exact" if args.exact else "auto")
    model = LifeCircleModel(scenario, seed=args.seed)
    if args.size is not None:
        text = _size(args, scenario, model, options, out)
        _write_all(args, scenario, model, out, folder, text)
        return 0
    limit = args.minutes or scenario.types[args.ftype].level_min
    weight = user_weights(model, args.ftype, args.weight)
    _check_users(weight, model, args)
    t0 = time.perf_counter()
    choose = _remove if args.remove is not None else _add
    inst, sol, text, walks, sites = choose(args, scenario, model, weight, k, limit, out, options)
    seconds = time.perf_counter() - t0
    table = _changes(args, model, walks, limit, sites)  # printed first, before anything is written
    _print_result(args, inst, sol, limit, seconds, sites)
    _write_all(args, scenario, model, out, folder, text, table)
    return 0


def _write_all(args, scenario, model, out: Path, folder: Path, text: str, table=None) -> None:
    """The new scenario, its table by community and its folder: each hidden beside its place, all renamed at the end.

    Ctrl-C or an error on the way leaves none of them (docs/outputs.md); the proposal simulated
    with --simulate is read from its work file but recorded where it will be.
    """
    kind = "comparison" if args.simulate else "GeoJSON export" if args.geojson else None
    with (
        staged(out, None) as work,
        staged(_table_path(out), None) if table is not None else nullcontext() as work_table,
        staged(folder, kind) if kind else nullcontext() as work_folder,
    ):
        _write(work, text, out)
        print(_("new scenario written to {out}", out=out))
        if table is not None:
            _write_table(work_table, table, _table_path(out))
            print(_("who gains and who loses, by community: {path}", path=_table_path(out)))
        if kind:
            _follow_up(args, scenario, model, _written_at(load_scenario(work), out), work_folder, folder)


def _written_at(new, out: Path):
    """The new scenario read from its work file, as read from ``out`` (where run.json and scenario.toml point)."""
    final = new.path.with_name(out.name)
    return replace(new, path=final, files=(final, *new.files[1:]))


def _write(path: Path, text: str, out: Path) -> None:
    """Write the new scenario file at ``path`` (``out``'s work file)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:  # checked before the work; a file system can still refuse
        raise BadArgument(f"--out: cannot write to {out}: {exc.strerror or exc}") from None


def _table_path(out: Path) -> Path:
    """The by-community table written beside the new scenario: ``<NEW>_communities.csv``."""
    return out.with_name(f"{out.stem}_communities.csv")


def _write_table(path: Path, table, shown: Path) -> None:
    """The by-community table as CSV (with a byte-order mark under ``--excel``) at ``path``, ``shown``'s work file."""
    from model.report import lang

    try:
        table.to_csv(path, index=False, encoding=lang.csv_encoding(), lineterminator="\n")
    except OSError as exc:
        raise BadArgument(f"--out: cannot write to {shown}: {exc.strerror or exc}") from None


def _check_how(args: argparse.Namespace) -> None:
    """``--type`` with --add and --remove; ``--size TYPE --share S`` (a --type must be the same TYPE)."""
    if args.size is None:
        if args.ftype is None:
            raise BadArgument(f"--type: give the facility type to {'add' if args.add is not None else 'remove'}")
        if args.share is not None:
            raise BadArgument("--share goes with --size TYPE, not with --add or --remove")
        return
    if args.ftype is not None and args.ftype != args.size:
        raise BadArgument(f"--type {args.ftype} contradicts --size {args.size}: --size names the type (drop --type)")
    args.ftype = args.size
    if args.share is None:
        raise BadArgument("--size: give --share S, the share of wanted visits to serve, in (0, 1]")
    for flag, value, default in (
        ("--weight", args.weight, "users"),
        ("--objective", args.objective, "coverage"),
        ("--minutes", args.minutes, None),
    ):
        if value != default:
            raise BadArgument(
                f"{flag} does not go with --size: sizing weighs wanted visits and adds sites by coverage "
                "within the cut-off"
            )


def _check_request(args: argparse.Namespace, scenario) -> tuple[int, Path, Path]:
    """K, the new scenario file and its folder, or the first problem of the request as a BadArgument."""
    from model.report import folders

    _check_type(args.ftype, scenario, removing=args.remove is not None)
    if args.size is not None:
        _check_sized(args.ftype, scenario)
        k = 0
    else:
        k = args.add if args.add is not None else args.remove
    _check_weight(args.weight, scenario)
    if args.minutes is not None and (why := PLAUSIBLE_LEVEL.outside(args.minutes)):  # a warning: it does not stop
        print(f"warning: --minutes: {why}", file=sys.stderr)
    what = "size" if args.size is not None else "remove" if args.remove else args.objective
    out = args.out or Path.cwd() / f"{scenario.name}_{args.ftype}_{what}.toml"
    writable_file(out)
    reason = folders.file_refusal(out, args.overwrite, "# lifecircle optimize")  # docs/outputs.md
    if reason:
        raise BadArgument(f"--out: {reason}")
    if args.size is None and _table_path(out).exists() and not (args.overwrite and out.is_file()):
        # replaced only with the scenario file it was written with
        todo = "add --overwrite to replace it" if not args.overwrite else "choose another file"
        raise BadArgument(f"--out: {_table_path(out)} (the table by community beside it) exists; {todo}")
    folder = out.with_suffix("")
    if args.geojson:
        check_geojson([scenario])  # the new scenario's grid is this one's
    if args.simulate or args.geojson:
        results_folder(folder, args.overwrite, "--out (the folder for --simulate and --geojson)")
    return k, out, folder


def _check_sized(ftype: str, scenario) -> None:
    """A type whose places the simulation limits (not an open space, not an enrolment type), or a BadArgument."""
    t = scenario.types[ftype]
    if t.open_space:
        raise BadArgument(
            f"--size: {ftype} is an open space: it admits everyone who comes, its capacity is a reference figure only"
        )
    if getattr(t, "enrolment", "none") not in ("none", None):
        raise BadArgument(
            f"--size: {ftype} holds places for the whole run (enrolment {t.enrolment!r}): its demand is the "
            "children without a place (summary.json enrolment), not visits turned away"
        )


def _check_type(ftype: str, scenario, removing: bool) -> None:
    """A facility type of the scenario (with a facility to close, for --remove), or a BadArgument."""
    if ftype not in scenario.types:
        close = difflib.get_close_matches(ftype, list(scenario.types), n=1)
        raise BadArgument(
            f"--type: unknown facility type {ftype!r}" + (f" (did you mean '{close[0]}'?)" if close else "")
        )
    if removing and ftype not in scenario.types_present:
        raise BadArgument(
            f"--type: {scenario.name} has no facility of type {ftype!r} to remove; "
            f"the types it has facilities of: {', '.join(scenario.types_present)}"
        )


def _check_users(weight: np.ndarray, model, args: argparse.Namespace) -> None:
    """A BadArgument when no resident counts for the request: nobody needs the type, or nobody weighted."""
    from model.measures.access import types_needed

    if weight.sum() > 0:
        return
    scenario = model.spec
    ages = scenario.types[args.ftype].ages
    whom = "" if args.weight == "users" else f" among {args.weight.removeprefix('group:')}"
    raise BadArgument(
        f"--type: no resident of {scenario.name} needs {args.ftype!r} (ages {ages.lo}-{ages.hi}){whom}; "
        f"the types its residents need: {', '.join(types_needed(model.population.age, scenario.types))}"
    )


def _check_weight(weight: str, scenario) -> None:
    """``users``, ``elders`` or ``group:NAME`` with a group of the scenario, or a BadArgument."""
    if weight in ("users", "elders"):
        return
    if not (weight.startswith("group:") and weight.split(":", 1)[1] in scenario.groups):
        raise BadArgument(f"--weight: users, elders or group:NAME with NAME one of {', '.join(scenario.groups)}")


def _remove(args, scenario, model, weight, k: int, limit: float, out: Path, options):
    """Which K existing facilities of the type to close.

    Returns the instance, the solution, the text of the scenario without them, each user's walks
    before and after, and the closed sites as (name, place).
    """
    from model.planning import location
    from model.planning.optimize import HORIZON_MIN, build_instance, place_of, walks_before_after
    from model.scenario import scenario_toml

    city = model.city
    sites = city.facilities[city.facilities["type"] == args.ftype]
    if k > len(sites):
        raise BadArgument(f"--remove: {k} is more than the {len(sites)} facilities of {args.ftype}")
    objective = "coverage" if args.objective != "pmedian" else "pmedian"
    inst = build_instance(
        model, args.ftype, weight, sites["node"].to_numpy(), HORIZON_MIN, by_cell=objective == "pmedian"
    )
    sol = location.remove(inst.minutes, inst.weight, k, objective=objective, limit_min=limit, options=options)
    open_after = np.ones(len(sites), dtype=bool)
    open_after[sol.sites] = False
    walks = walks_before_after(
        model, args.ftype, weight, sites["node"].to_numpy(), np.ones(len(sites), bool), open_after,
        _horizon(model, limit),
    )  # fmt: skip
    closed_rows = sites.iloc[np.sort(sol.sites)]
    named = [
        (str(f.name), place_of(model, _coord(f.x), _coord(f.y), int(f.node)))
        for f in closed_rows.itertuples(index=False)
    ]
    closed = set(closed_rows["id"].to_numpy().tolist())
    kept = tuple(f for i, f in enumerate(scenario.facilities) if i not in closed)
    listed = "; ".join(f"{n} ({p})" for n, p in named)
    how = f"lifecircle optimize --remove {k} --type {args.ftype} --objective {objective}: closed {listed}"
    description = _described(scenario) + (f"Closed by lifecircle optimize --remove {k} --type {args.ftype}: {listed}.")
    resolved = replace(
        scenario, facilities=kept, name=f"{scenario.name}_without_{k}_{args.ftype}", description=description
    )
    return inst, sol, f"# {how}\n" + scenario_toml(resolved, relative_to=out.parent), walks, named


def _add(args, scenario, model, weight, k: int, limit: float, out: Path, options):
    """Where K new facilities of the type go.

    Returns the instance, the solution, the text of a scenario extending the input, each user's
    walks before and after, and the new sites as (name, place).
    """
    from model.planning import location
    from model.planning.optimize import HORIZON_MIN, build_instance, candidates_of, place_of, walks_before_after
    from model.scenario import extend_toml

    found = candidates_of(model, args.candidates)
    candidates = found.nodes
    if k > found.size:
        what = "candidate cells" if model.spec.streets is None else "candidate sites"
        raise BadArgument(f"--add: {k} is more than the {found.size:,} {what}")
    median = args.objective == "pmedian"
    horizon = max(limit, HORIZON_MIN) if median else limit
    inst = build_instance(model, args.ftype, weight, candidates, horizon, by_cell=median, connector_m=found.connector_m)
    arguments = {"existing": inst.existing}
    if not median:
        arguments["limit_min"] = limit
    if args.objective == "capacitated":
        arguments["capacity"] = scenario.types[args.ftype].capacity
    sol = location.solve(args.objective, inst.minutes, inst.weight, k, options=options, **arguments)
    chosen = [found.at[int(i)] for i in sol.sites]
    names = [f"{args.ftype} proposed {i}" for i in range(1, len(chosen) + 1)]
    named = [
        (n, place_of(model, x, y, int(candidates[j]))) for n, (x, y), j in zip(names, chosen, sol.sites, strict=True)
    ]
    city = model.city
    existing = city.facilities.loc[city.facilities["type"] == args.ftype, "node"].to_numpy()
    nodes = np.r_[existing, candidates[sol.sites]].astype(np.int64)
    connector = None
    if found.connector_m is not None:
        connector = np.r_[np.zeros(existing.size), np.asarray(found.connector_m, dtype=float)[sol.sites]]
    before = np.r_[np.ones(existing.size, bool), np.zeros(len(chosen), bool)]
    walks = walks_before_after(
        model, args.ftype, weight, nodes, before, np.ones(nodes.size, bool), _horizon(model, limit), connector
    )
    how = (
        f"lifecircle optimize --add {k} --type {args.ftype} --objective {args.objective} --minutes {limit:g} "
        f"--weight {args.weight}: {sol.solver} ({sol.status}), seed {model.seed}\n"
        + "\n".join(f"{n}: {p}" for n, p in named)
    )
    added = [(args.ftype, x, y, n) for n, (x, y) in zip(names, chosen, strict=True)]
    text = extend_toml(scenario.path, out, f"{scenario.name}_{args.ftype}_{args.objective}", added, how)
    return inst, sol, text, walks, named


def _described(scenario) -> str:
    """The scenario's description, ended by a full stop and a space, to which a sentence is added."""
    text = scenario.description.strip()
    return "" if not text else text + (" " if text.endswith((".", "。")) else ". ")


def _coord(v):
    """A facility coordinate as written: a whole cell on the grid, metres on streets."""
    return int(v) if float(v).is_integer() else float(v)


def _horizon(model, limit: float) -> float:
    """The longest walk the by-community table searches: the level, 15 minutes and the cut-off all fit."""
    from model.planning.optimize import LIFE_CIRCLE_MIN

    return max(float(limit), LIFE_CIRCLE_MIN, float(model.spec.simulation.cutoff_min))


def _changes(args, model, walks, limit: float, sites):
    """Print who loses (first: a community cut off, then the losers) and the table by community; return the table."""
    from model.planning.optimize import losses_by_community

    cutoff = float(model.spec.simulation.cutoff_min)
    table = losses_by_community(model, walks, limit, cutoff)
    for row in table.itertuples(index=False):
        if row.users > 0 and row.within_cutoff_before > 0 and row.within_cutoff_after == 0:
            print(
                _(
                    "CUT OFF: {community} loses every {ftype} within the {cutoff}-min cut-off ({n} users)",
                    community=row.community,
                    ftype=args.ftype,
                    cutoff=f"{cutoff:g}",
                    n=f"{row.users:,.0f}",
                )
            )
    if args.remove is not None:
        n = int((model.city.facilities["type"] == args.ftype).sum())
        names = ", ".join(f"{name} ({place})" for name, place in sites)
        print(_("Closing {k} of the {n} {ftype} sites: {names}", k=args.remove, n=n, ftype=args.ftype, names=names))
        print(
            _(
                "  {lose_level} users lose their {level}-min level; {lose_cutoff} lose every {ftype} within the "
                "{cutoff}-min cut-off",
                lose_level=f"{table['lose_level'].sum():,.0f}",
                level=f"{limit:g}",
                lose_cutoff=f"{table['lose_cutoff'].sum():,.0f}",
                ftype=args.ftype,
                cutoff=f"{cutoff:g}",
            )
        )
    order = table.assign(_hurt=table["mean_min_after"] - table["mean_min_before"])
    if args.remove is not None:  # the most hurt first
        order = order.sort_values(["lose_cutoff", "lose_level", "_hurt"], ascending=False, kind="stable")
    else:  # the most helped first
        order = order.sort_values("_hurt", kind="stable")
    _print_table(order, limit, cutoff)
    return table


def _print_table(table, limit: float, cutoff: float) -> None:
    """The table by community, shares of each community's users before -> after."""
    head = [
        _("community"), _("users"), _("within {m} min", m=f"{limit:g}"), _("within {m} min", m="15"),
        _("within {m} min", m=f"{cutoff:g}"), _("mean min"), _("lose level"), _("lose cut-off"),
    ]  # fmt: skip
    rows = []
    for r in table.itertuples(index=False):
        u = max(r.users, 1e-12)
        rows.append(
            [
                str(r.community),
                f"{r.users:,.0f}",
                f"{r.within_level_before / u:.1%} -> {r.within_level_after / u:.1%}",
                f"{r.within_15_before / u:.1%} -> {r.within_15_after / u:.1%}",
                f"{r.within_cutoff_before / u:.1%} -> {r.within_cutoff_after / u:.1%}",
                f"{r.mean_min_before:.1f} -> {r.mean_min_after:.1f}" if r.users > 0 else "-",
                f"{r.lose_level:,.0f}",
                f"{r.lose_cutoff:,.0f}",
            ]
        )
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    for line in [head, *rows]:
        print(
            "  "
            + "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )


def quality(sol) -> str:
    """The solution's quality in words: "proven optimal" when its gap to the bound is 0 (OPTIMAL_GAP), else the gap."""
    if sol.bound is None:
        return _("no bound")
    if sol.gap <= OPTIMAL_GAP * max(1.0, abs(sol.objective)):
        return _("proven optimal (gap to the bound 0 within {tol:g} of the value)", tol=OPTIMAL_GAP)
    share = sol.gap / max(abs(sol.bound), 1e-12)
    return _(
        "within {gap} ({share}) of the bound {bound}",
        gap=f"{sol.gap:,.1f}",
        share=f"{share:.2%}",
        bound=f"{sol.bound:,.1f}",
    )


def _print_result(args, inst, sol, limit: float, seconds: float, sites) -> None:
    """The coverage (or minutes per user) before and after, the quality against the bound, the time, the new sites."""
    total = float(inst.weight.sum())
    print(
        _(
            "{ftype}, {weight} ({total} of them), standard {limit} min, {solver}: {quality}",
            ftype=args.ftype,
            weight=args.weight,
            total=f"{total:,.0f}",
            limit=f"{limit:g}",
            solver=sol.solver,
            quality=quality(sol),
        )
    )
    if sol.sense == "max":
        print(
            _("  covered before: {n} ({share})", n=f"{sol.baseline:,.0f}", share=f"{sol.baseline / max(total, 1):.1%}")
        )
        print(
            _(
                "  covered after:  {n} ({share})",
                n=f"{sol.objective:,.0f}",
                share=f"{sol.objective / max(total, 1):.1%}",
            )
        )
    else:
        users = sol.details.get("reached_weight") or 0.0
        print(
            _(
                "  minutes per user before: {before}; after: {after} ({users} users)",
                before=f"{sol.baseline / max(users, 1e-12):.2f}",
                after=f"{sol.objective / max(users, 1e-12):.2f}",
                users=f"{users:,.0f}",
            )
        )
        print(
            _(
                "  weighted minutes before: {before}; after: {after} (the totals over the users)",
                before=f"{sol.baseline:,.1f}",
                after=f"{sol.objective:,.1f}",
            )
        )
    if args.add is not None:
        for i, (_name, place) in enumerate(sites, start=1):
            print(_("  new site {i}: {place}", i=i, place=place))
    print(_("  solved in {seconds} s", seconds=f"{seconds:.1f}"))


def _size(args, scenario, model, options, out: Path) -> str:
    """``--size TYPE --share S``: size the type's places through the simulation; print it; the new scenario's text."""
    from model.planning.optimize import candidates_of, place_of
    from model.planning.sizing import SIZING_DAYS, Unreachable, covering_sites, size
    from model.scenario import scenario_toml

    ftype, share = args.ftype, args.share
    print(
        _(
            "Sizing {ftype} so that {share} of wanted visits are served (simulated, seed {seed}, {days} day per run)",
            ftype=ftype,
            share=f"{share:.1%}",
            seed=model.seed,
            days=SIZING_DAYS,
        )
    )
    found = candidates_of(model, args.candidates)
    count = iter(range(1, 10_000))

    def progress(step) -> None:
        print(
            _(
                "  run {i} ({what}): {places} places, served {served} of {wanted} wanted visits ({share})",
                i=next(count),
                what=step.what,
                places="no limit of" if step.what == "unlimited" else f"{step.places:,}",
                served=f"{step.served:,}",
                wanted=f"{step.wanted:,}",
                share=f"{step.share:.1%}",
            ),
            flush=True,
        )

    try:
        result = size(scenario, ftype, share, model.seed, covering_sites(model, ftype, found, options), progress)
    except Unreachable as exc:
        best = "" if exc.best != exc.best else f" (at most {exc.best:.1%})"
        raise BadArgument(f"--share {share:g} cannot be reached{best}: {exc.why}; nothing written") from None
    if result.added:
        print(
            _(
                "  {n} new sites for the reach (the cut-off, {cutoff} min)",
                n=result.added,
                cutoff=f"{scenario.simulation.cutoff_min:g}",
            )
        )
    city = model.city
    rows = []
    for site, before in zip(result.sites, result.before, strict=True):
        match = city.facilities[city.facilities["name"] == site.name]
        node = int(match["node"].iloc[0]) if len(match) else _node_of(model, site)
        place = place_of(model, site.x, site.y, node)
        rows.append(f"{site.name}: {before} -> {site.capacity}")
        print(
            _(
                "  {name} ({place}): {before} -> {after} places",
                name=site.name,
                place=place,
                before=before,
                after=site.capacity,
            )
        )
    print(
        _(
            "  answer: {total} places (before {before}), served {share} of wanted visits; "
            "{runs} simulations in {seconds} s",
            total=f"{result.total:,}",
            before=f"{sum(result.before):,}",
            share=f"{result.share:.1%}",
            runs=len(result.steps),
            seconds=f"{result.seconds:.1f}",
        )
    )
    how = (
        f"lifecircle optimize --size {ftype} --share {share:g}: {result.total} places at {len(result.sites)} sites "
        f"({result.added} new), {result.share:.2%} of wanted visits served in the simulation, seed {model.seed}, "
        f"{len(result.steps)} one-day runs"
    )
    description = _described(scenario) + (
        f"Sized by lifecircle optimize --size {ftype} --share {share:g}: " + "; ".join(rows) + "."
    )
    sized = replace(result.scenario, name=f"{scenario.name}_{ftype}_sized", description=description)
    return f"# {how}\n" + scenario_toml(sized, relative_to=out.parent)


def _node_of(model, site) -> int:
    """The node a new grid site stands on (its cell); on streets the nearest street node of the main part."""
    city = model.city
    if not hasattr(city, "n_street"):
        return int(site.y) * city.width + int(site.x)
    main = model.surface.main_component.copy()
    main[city.n_street :] = False
    nodes, _m = model.surface.snap(np.array([float(site.x)]), np.array([float(site.y)]), among=main)
    return int(nodes[0])


def _follow_up(args, scenario, model, proposed, work: Path, folder: Path) -> None:
    """With --simulate, both scenarios through ``compare``; else with --geojson, the new scenario's geo/.

    Written into ``work``, the work folder of ``folder``.
    """
    from model.model import LifeCircleModel

    if args.geojson:  # the notes of the scenarios whose geo/ is written: both with --simulate
        for note in check_geojson([scenario, proposed] if args.simulate else [proposed]):
            print(note, file=sys.stderr)
    if args.simulate:
        from model.planning.compare import compare

        report = compare([scenario, proposed], work, seed=model.seed, quiet=True, geojson=args.geojson)
        print(report, end="")
        print(f"simulated both: {folder}/comparison.md")
    elif args.geojson:
        from model.report.geo import write_model_geojson

        write_model_geojson(work, LifeCircleModel(proposed, seed=model.seed))
        print(f"geography of the new scenario: {folder}/geo/")
