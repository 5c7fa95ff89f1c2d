"""``lifecircle optimize``: propose where K new facilities of a type go, or which K could close."""

from __future__ import annotations

import argparse
import difflib
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from model.cli.common import BadArgument, check_geojson, print_warnings, seed_type, writable_file, writable_folder
from model.scenario import PLAUSIBLE_LEVEL, load_scenario

OBJECTIVES = ("coverage", "pmedian", "capacitated")


def add_parser(sub) -> None:
    """The ``optimize`` subcommand's arguments."""
    opt = sub.add_parser("optimize", help="propose sites for K new facilities of a type (or K to close)")
    opt.add_argument("scenario", help="scenario file or bundled name")
    opt.add_argument("--type", required=True, dest="ftype", help="facility type, e.g. elderly_care")
    how = opt.add_mutually_exclusive_group(required=True)
    how.add_argument("--add", type=int, metavar="K", help="choose K new sites")
    how.add_argument("--remove", type=int, metavar="K", help="choose K existing sites to close with the least loss")
    opt.add_argument("--minutes", type=float, help="coverage standard M (default: the type's level)")
    opt.add_argument("--weight", default="users", help="whose coverage counts: users, elders or group:NAME")
    opt.add_argument(
        "--candidates",
        type=Path,
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
    opt.add_argument("--seed", type=seed_type, help="seed of the residents (default: the scenario's)")
    opt.add_argument(
        "--out", type=Path, help="the new scenario file (default: <scenario>_<type>_<objective>.toml here)"
    )
    opt.set_defaults(func=cmd_optimize)


def cmd_optimize(args: argparse.Namespace) -> int:
    """Check the request, build the matrices, solve, write the new scenario, print before and after."""
    scenario = load_scenario(args.scenario)
    k, out, folder = _check_request(args, scenario)
    # the request is checked: only now the model and the solvers (seconds of imports)
    from model.model import LifeCircleModel
    from model.planning.location import SolverOptions
    from model.planning.optimize import user_weights

    print_warnings(scenario)
    limit = args.minutes or scenario.types[args.ftype].level_min
    model = LifeCircleModel(scenario, seed=args.seed)
    weight = user_weights(model, args.ftype, args.weight)
    _check_users(weight, model, args)
    options = SolverOptions(method="exact" if args.exact else "auto")
    t0 = time.perf_counter()
    choose = _remove if args.remove is not None else _add
    inst, sol, text = choose(args, scenario, model, weight, k, limit, out, options)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:  # checked before the work; a file system can still refuse
        raise BadArgument(f"--out: cannot write to {out}: {exc.strerror or exc}") from None
    seconds = time.perf_counter() - t0
    _print_result(args, inst, sol, limit, seconds, out)
    _follow_up(args, scenario, model, out, folder)
    return 0


def _check_request(args: argparse.Namespace, scenario) -> tuple[int, Path, Path]:
    """K, the new scenario file and its folder, or the first problem of the request as a BadArgument."""
    _check_type(args.ftype, scenario, removing=args.remove is not None)
    k = args.add if args.add is not None else args.remove
    if k <= 0:
        raise BadArgument(f"--{'add' if args.add is not None else 'remove'}: K must be positive, not {k}")
    _check_weight(args.weight, scenario)
    if args.minutes is not None and not (args.minutes > 0 and math.isfinite(args.minutes)):
        raise BadArgument(f"--minutes must be positive (a finite number of minutes), not {args.minutes}")
    if args.minutes is not None and (why := PLAUSIBLE_LEVEL.outside(args.minutes)):  # a warning: it does not stop
        print(f"warning: --minutes: {why}", file=sys.stderr)
    out = args.out or Path.cwd() / f"{scenario.name}_{args.ftype}_{'remove' if args.remove else args.objective}.toml"
    writable_file(out)
    if out.exists():
        raise BadArgument(f"--out: {out} exists; choose another file")
    folder = out.with_suffix("")
    if args.geojson:
        check_geojson([scenario])  # the new scenario's grid is this one's
    if args.simulate or args.geojson:
        writable_folder(folder, "--out (the folder for --simulate and --geojson)")
        if folder.exists():
            raise BadArgument(f"--out: {folder} (the folder for --simulate and --geojson) exists; choose another file")
    return k, out, folder


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
    """Which K existing facilities of the type to close: the instance, the solution, the scenario without them."""
    from model.planning import location
    from model.planning.optimize import HORIZON_MIN, build_instance
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
    closed = set(sites["id"].to_numpy()[sol.sites].tolist())
    kept = tuple(f for i, f in enumerate(scenario.facilities) if i not in closed)
    how = f"lifecircle optimize --remove {k} --type {args.ftype} --objective {objective}: closed " + ", ".join(
        scenario.facilities[i].name for i in sorted(closed)
    )
    text = scenario_toml(replace(scenario, facilities=kept, name=f"{scenario.name}_without_{k}_{args.ftype}"))
    return inst, sol, f"# {how}\n" + text


def _add(args, scenario, model, weight, k: int, limit: float, out: Path, options):
    """Where K new facilities of the type go: the instance, the solution, a scenario extending the input."""
    from model.planning import location
    from model.planning.optimize import HORIZON_MIN, build_instance, candidates_of
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
    how = (
        f"lifecircle optimize --add {k} --type {args.ftype} --objective {args.objective} --minutes {limit:g} "
        f"--weight {args.weight}: {sol.solver} ({sol.status}), seed {model.seed}"
    )
    added = [(args.ftype, x, y, f"{args.ftype} proposed {i}") for i, (x, y) in enumerate(chosen, start=1)]
    return inst, sol, extend_toml(scenario.path, out, f"{scenario.name}_{args.ftype}_{args.objective}", added, how)


def _print_result(args, inst, sol, limit: float, seconds: float, out: Path) -> None:
    """The coverage (or weighted minutes) before and after, the bound, the time and the file."""
    total = float(inst.weight.sum())
    print(f"{args.ftype}, {args.weight} ({total:,.0f} of them), standard {limit:g} min, {sol.solver}: {sol.status}")
    if sol.sense == "max":
        print(f"  covered before: {sol.baseline:,.0f} ({sol.baseline / max(total, 1):.1%})")
        print(f"  covered after:  {sol.objective:,.0f} ({sol.objective / max(total, 1):.1%})")
    else:
        print(f"  weighted minutes before: {sol.baseline:,.1f}; after: {sol.objective:,.1f}")
    if sol.bound is not None:
        print(f"  bound on the optimum: {sol.bound:,.1f}")
    print(f"  solved in {seconds:.1f} s; new scenario written to {out}")


def _follow_up(args, scenario, model, out: Path, folder: Path) -> None:
    """With --simulate, both scenarios through ``compare``; else with --geojson, the new scenario's geo/."""
    from model.model import LifeCircleModel

    if not (args.simulate or args.geojson):
        return
    proposed = load_scenario(out)
    if args.geojson:  # the notes of the scenarios whose geo/ is written: both with --simulate
        for note in check_geojson([scenario, proposed] if args.simulate else [proposed]):
            print(note, file=sys.stderr)
    if args.simulate:
        from model.planning.compare import compare

        report = compare([scenario, proposed], folder, seed=model.seed, quiet=True, geojson=args.geojson)
        print(report, end="")
        print(f"simulated both: {folder}/comparison.md")
    elif args.geojson:
        from model.report.geo import write_model_geojson

        write_model_geojson(folder, LifeCircleModel(proposed, seed=model.seed))
        print(f"geography of the new scenario: {folder}/geo/")
