"""Days that learn: a week of the Wuhai life circle with residents who remember turn-aways, and without.

    python -m experiments.learning_week [--seeds 3] [--days 7] [--penalty-min 10] [--out results/learning_week]

The bundled ``wuhai_life_circle`` (or ``--scenario``) runs ``--days`` days from a Monday (``simulation.first_weekday
= 0``: five weekdays and a weekend for a week) on the fast engine, once with ``[simulation]
learning`` on (a facility that turned a resident away counts as ``--penalty-min`` minutes
farther per remembered turn-away, docs/behaviour.md "Days that learn") and once with it off,
for seeds 1..N: the same seed builds the same residents and draws the same first day in both, so
the two runs of a seed differ only by what was learned.

For each type with turn-aways it prints, from summary.json's ``dynamics.<type>.by_day``
(docs/metrics.md, "Day by day"), the displaced share, the person-minutes waited and the peak
queue on day 1 and on day D, learning on and off: the mean over seeds with Student's t 95%
interval, the change from day 1 to day D, and the difference learning on less off on day D
(both paired by seed). Day D of a week is a Sunday, when the weekday-only types rest: the
change from day 1 mixes learning with the weekend, the difference on less off does not. It writes under ``--out``:
``learning_week.json`` (every run's by_day lists), ``learning_week.csv`` (one row per type,
figure, learning and day: mean and interval) and ``learning_week.png`` (each figure by day,
learning on against off, with the intervals).

Bad input (``--days 0``, ``--seeds 1``, a penalty out of range) is reported with the argument or
key and exit 2, before anything is run or written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from model.cli.common import EXIT_BAD_INPUT, MAX_REPLICATES, days_type, whole_number

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "wuhai_life_circle"
FIGURES = ("displaced_share", "wait_person_min", "peak_queue")
"""The figures compared (docs/metrics.md, "Dynamics")."""
LABELS = {"displaced_share": "displaced share", "wait_person_min": "person-min waited", "peak_queue": "peak queue"}


def interval(values) -> tuple[float, float, float]:
    """Mean and Student's t 95% interval of the values (NaN left out; NaN when fewer than two)."""
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    if a.size < 2:
        return (float(a.mean()) if a.size else float("nan"), float("nan"), float("nan"))
    half = stats.t.ppf(0.975, a.size - 1) * a.std(ddof=1) / np.sqrt(a.size)
    return float(a.mean()), float(a.mean() - half), float(a.mean() + half)


def scenarios(scenario: str, penalty_min: float) -> dict[bool, object]:
    """The scenario with learning on and off, from a Monday (ScenarioError if the penalty is out of range)."""
    from model.scenario import load_scenario

    base = {"simulation.first_weekday": 0, "simulation.learning_penalty_min": penalty_min}
    return {
        on: load_scenario(scenario, overrides={**base, "simulation.learning": on}, overrides_file="learning_week")
        for on in (True, False)
    }


def run_week(specs: dict, seeds: list[int], days: int) -> dict:
    """Every run's ``dynamics.<type>.by_day``: ``{learning: {seed: {type: by_day}}}``."""
    from model.city.cache import CityCache
    from model.model import LifeCircleModel

    cache = CityCache()
    out: dict = {True: {}, False: {}}
    for seed in seeds:
        for on, spec in specs.items():
            t0 = time.perf_counter()
            model = LifeCircleModel(spec, seed=seed, days=days, engine="fast", city_cache=cache)
            model.run()
            out[on][seed] = {t: d["by_day"] for t, d in model.summary()["dynamics"].items()}
            state = "on" if on else "off"
            print(f"  seed {seed}, learning {state}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return out


def busy_types(runs: dict) -> list[str]:
    """Types at which anybody was turned away in any run, in catalogue order."""
    first = next(iter(runs[True].values()))
    return [
        t
        for t in first
        if any(sum(by_type[t]["turned_away"]) for by_seed in runs.values() for by_type in by_seed.values())
    ]


def table(runs: dict, types: list[str], days: int) -> pd.DataFrame:
    """One row per type, figure, learning and day: mean and 95% interval over seeds."""
    rows = []
    for t in types:
        for figure in FIGURES:
            for on, by_seed in runs.items():
                values = np.array([by_seed[s][t][figure] for s in by_seed], dtype=float)  # seeds x days
                for d in range(days):
                    mean, lo, hi = interval(values[:, d])
                    rows.append((t, figure, on, d + 1, mean, lo, hi, values.shape[0]))
    return pd.DataFrame(rows, columns=["type", "figure", "learning", "day", "mean", "ci_low", "ci_high", "seeds"])


def change(runs: dict, on: bool, t: str, figure: str) -> tuple[float, float, float]:
    """Day D less day 1, per seed: mean and 95% interval."""
    by_seed = runs[on]
    values = np.array([by_seed[s][t][figure] for s in by_seed], dtype=float)
    return interval(values[:, -1] - values[:, 0])


def learning_effect(runs: dict, t: str, figure: str) -> tuple[float, float, float]:
    """Learning on less off on day D, per seed (the same residents and first day): mean and 95% interval."""
    on, off = (np.array([runs[x][s][t][figure][-1] for s in runs[x]], dtype=float) for x in (True, False))
    return interval(on - off)


def fmt_ci(m: tuple[float, float, float], figure: str) -> str:
    """The mean and its interval as "mean [low, high]", in the figure's unit."""
    spec = ".1%" if figure == "displaced_share" else ",.0f"
    if np.isnan(m[0]):
        return "-"
    if np.isnan(m[1]):
        return format(m[0], spec)
    return f"{m[0]:{spec}} [{m[1]:{spec}}, {m[2]:{spec}}]"


def print_table(runs: dict, frame: pd.DataFrame, types: list[str], days: int) -> None:
    """Markdown: per type and figure, day 1 and day D with learning on and off, and the change."""
    print(f"| type | figure | learning | day 1 | day {days} | day {days} - day 1 | day {days}: on - off |")
    print("|---|---|---|---:|---:|---:|---:|")
    for t in types:
        for figure in FIGURES:
            for on in (True, False):
                rows = frame[(frame["type"] == t) & (frame["figure"] == figure) & (frame["learning"] == on)]
                first, last = (tuple(rows[rows["day"] == d][["mean", "ci_low", "ci_high"]].iloc[0]) for d in (1, days))
                effect = fmt_ci(learning_effect(runs, t, figure), figure) if on else ""
                print(
                    f"| {t} | {LABELS[figure]} | {'on' if on else 'off'} | {fmt_ci(first, figure)} "
                    f"| {fmt_ci(last, figure)} | {fmt_ci(change(runs, on, t, figure), figure)} | {effect} |"
                )


def chart(frame: pd.DataFrame, types: list[str], days: int, scenario: str, path: Path) -> None:
    """Each figure by day (columns) for each type (rows), learning on against off, 95% intervals shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    ticks = list(range(1, days + 1))
    fig, axes = plt.subplots(len(types), len(FIGURES), figsize=(4 * len(FIGURES), 2.4 * len(types)), squeeze=False)
    for i, t in enumerate(types):
        for j, figure in enumerate(FIGURES):
            ax = axes[i, j]
            for on, colour, style in ((True, "tab:blue", "-"), (False, "tab:grey", "--")):
                rows = frame[(frame["type"] == t) & (frame["figure"] == figure) & (frame["learning"] == on)]
                label = f"learning {'on' if on else 'off'}"
                ax.plot(rows["day"], rows["mean"], style, marker="o", markersize=3, color=colour, label=label)
                ax.fill_between(rows["day"], rows["ci_low"], rows["ci_high"], color=colour, alpha=0.2, linewidth=0)
            ax.set_title(f"{t}: {LABELS[figure]}", fontsize=9)
            ax.set_xticks(ticks, [names[(d - 1) % 7] for d in ticks], fontsize=7)  # from a Monday
            ax.tick_params(axis="y", labelsize=7)
            if figure == "displaced_share":
                ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{scenario}: days that learn (mean over seeds, 95% interval)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))  # room for the title
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plain(value):
    """``value`` with NaN as None (JSON null), through dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the week with learning on and off over the seeds; print the table, write the files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=SCENARIO, help=f"scenario file or bundled name (default {SCENARIO})")
    parser.add_argument(
        "--seeds", type=whole_number(2, MAX_REPLICATES, "a number of seeds"), default=3, help="seeds 1..N"
    )
    parser.add_argument("--days", type=days_type, default=7, help="days from a Monday (default 7, a week)")
    parser.add_argument("--penalty-min", type=float, default=10.0, help="[simulation] learning_penalty_min")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "learning_week", help="folder written")
    args = parser.parse_args(argv)
    from model.scenario import ScenarioError

    try:
        specs = scenarios(args.scenario, args.penalty_min)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    seeds = list(range(1, args.seeds + 1))
    runs = run_week(specs, seeds, args.days)
    types = busy_types(runs)
    frame = table(runs, types, args.days)
    print(
        f"{args.scenario}, {args.days} days from a Monday, fast engine, seeds 1..{args.seeds}, "
        f"learning_penalty_min {args.penalty_min:g}: mean [95% interval] over seeds"
    )
    print_table(runs, frame, types, args.days)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "learning_week.csv", index=False)
    record = {
        "scenario": args.scenario,
        "days": args.days,
        "first_weekday": 0,
        "seeds": seeds,
        "learning_penalty_min": args.penalty_min,
        "engine": "fast",
        "by_day": {("on" if on else "off"): {str(s): r for s, r in by_seed.items()} for on, by_seed in runs.items()},
    }
    (args.out / "learning_week.json").write_text(json.dumps(_plain(record), indent=1, allow_nan=False))
    chart(frame, types, args.days, args.scenario, args.out / "learning_week.png")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
