"""Results beyond noise: every option runs on the same seeds as the base, its differences paired by seed.

``compare --replicates N`` (default ``DEFAULT_REPLICATES`` of model/planning/__init__.py) runs
every scenario with the seeds ``s, s + 1, ..., s + N - 1`` (``s``: ``--seed`` or the first
scenario's seed; consecutive seeds, as ``replicates = N`` of an experiment file gives seeds 1..N,
docs/experiments.md). The same seed gives the same residents in every scenario that shares the
population settings, so each option's difference from the base is taken
seed by seed and the figure reported is the mean of the N paired differences with its 95%
interval (model/measures/intervals.py). A difference is *beyond seed noise* when its interval
excludes 0; with N = 1 there is no interval and nothing is marked.

The tables built here (docs/planning.md gives every column):

- :func:`comparison_table`: comparison.csv, a figure per row, the mean over seeds per scenario,
  the mean paired difference and its interval per option;
- :func:`group_table`: groups.csv, coverage within each type's level by age band and group, with
  the paired difference and the flag ``few_users`` (fewer than :data:`FEW_USERS` users);
- :func:`community_access` and :func:`communities_by_type`: communities_by_type.csv, per
  community and type the coverage before and after and the residents who fall out of the type's
  level, out of 15 minutes and out of the cut-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.measures.access import BANDS_MIN, mean_reachable, users_of, within
from model.measures.intervals import beyond_noise, mean_interval
from model.measures.static import twins
from model.measures.summary import flatten

# assumption: a share of fewer than 100 users moves by 1 pp with a single person, and by several
# pp from one seed to the next; such age bands and groups are flagged, not ranked as "most gained"
FEW_USERS = 100
# the life circle's widest walking level, GB 50180-2018 (model/measures/access.py BANDS_MIN)
CIRCLE_MIN = BANDS_MIN[-1]


def seeds_of(first: int, replicates: int) -> list[int]:
    """The seeds of a comparison: ``first``, ``first + 1``, ... (``replicates`` of them)."""
    return [first + k for k in range(replicates)]


def figures(summary: dict) -> dict:
    """One run's figures by dotted path: summary.json's, and ``diff.<path>``, agent minus static twin."""
    flat = flatten(summary)
    return flat | {f"diff.{path}": diff for path, (_, _, diff) in twins(flat).items()}


def _number(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and not (isinstance(value, float) and math.isnan(value))
    )


def _diff(a, b):
    return a - b if _number(a) and _number(b) else None


def _paired(key: str, a, b, several: bool):
    """The paired difference of figure ``key``; none for the seeds of several (they differ by design)."""
    return None if several and key == "seed" else _diff(b, a)


def _mean(values: list):
    """The mean of the numbers among ``values``; the value itself for one seed; else the first seed's value."""
    if len(values) == 1:
        return values[0]
    numbers = [float(v) for v in values if _number(v)]
    if numbers:
        return float(np.mean(numbers))
    return values[0]


def comparison_table(runs: dict[str, list[dict]]) -> pd.DataFrame:
    """comparison.csv from each scenario's figures on every seed (:func:`figures`, the seeds in order).

    Columns: ``metric``; per scenario (its name) the mean over seeds (the value itself with one
    seed); ``diff_<name>`` per option: the mean paired difference from the first scenario; then
    ``replicates`` (seeds) and per option ``diff_<name>_lo`` and ``diff_<name>_hi`` (the 95%
    interval of the mean paired difference; empty with one seed) and ``beyond_noise_<name>``
    (the interval excludes 0).
    """
    names = list(runs)
    first = names[0]
    keys = list(dict.fromkeys(k for flats in runs.values() for flat in flats for k in flat))
    frame = pd.DataFrame({"metric": keys})
    for name in names:
        frame[name] = [_mean([flat.get(k) for flat in runs[name]]) for k in keys]
    if len(runs[first]) > 1 and "seed" in keys:  # the seeds themselves: their range, not a mean
        seeds = [flat.get("seed") for flat in runs[first]]
        frame.loc[keys.index("seed"), names] = f"{min(seeds)}-{max(seeds)}"
    stats, several = {}, len(runs[first]) > 1
    for name in names[1:]:
        seeds = list(zip(runs[first], runs[name], strict=True))
        pairs = [[_paired(k, a.get(k), b.get(k), several) for a, b in seeds] for k in keys]
        stats[name] = [mean_interval([v for v in p if v is not None]) for p in pairs]
        # one seed: the difference itself (an integer stays one), as before replicates
        frame[f"diff_{name}"] = [
            p[0] if len(p) == 1 else (s[0] if s[3] else None) for p, s in zip(pairs, stats[name], strict=True)
        ]
    frame["replicates"] = len(runs[first])
    for name in names[1:]:
        frame[f"diff_{name}_lo"] = [s[1] for s in stats[name]]
        frame[f"diff_{name}_hi"] = [s[2] for s in stats[name]]
        frame[f"beyond_noise_{name}"] = [beyond_noise(s[1], s[2]) for s in stats[name]]
    return frame


def group_table(per_seed: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """groups.csv from :func:`model.planning.compare.coverage_by_group` on every seed (columns scenario, seed).

    Per scenario, type, age band or group: ``users`` (mean over seeds, rounded), ``within_level``
    (mean over seeds), ``replicates``, ``few_users`` (fewer than :data:`FEW_USERS` users), and for
    the options ``diff``, ``diff_lo``, ``diff_hi`` and ``beyond_noise``: the mean paired
    difference of ``within_level`` from the first scenario, its 95% interval and whether it
    excludes 0.
    """
    keys = ["type", "by", "value"]
    base = per_seed[per_seed["scenario"] == names[0]].set_index([*keys, "seed"])["within_level"]
    rows = []
    for (name, *key), part in per_seed.groupby(["scenario", *keys], sort=False):
        users = float(part["users"].mean())
        before = base.reindex([(*key, s) for s in part["seed"]]).to_numpy(dtype=float)
        paired = part["within_level"].to_numpy(dtype=float) - before
        mean, low, high, _ = mean_interval(paired) if name != names[0] else (np.nan,) * 4
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "users": int(round(users)),
                "within_level": float(part["within_level"].mean()),
                "scenario": name,
                "replicates": int(part["seed"].nunique()),
                "few_users": users < FEW_USERS,
                "diff": mean,
                "diff_lo": low,
                "diff_hi": high,
                "beyond_noise": beyond_noise(low, high) if name != names[0] else None,
            }
        )
    return pd.DataFrame(rows)


# the figures of communities_by_type.csv averaged over seeds, and those whose paired change is given an interval
_MEANS = ("users", "within_level", "within_15", "within_cutoff", "mean_min")
_PAIRED = ("within_level", "within_15", "mean_min")
_LOST = ("lost_level", "lost_15", "lost_cutoff")
# the reaches a community may be cut off from, widest last (the report names the widest)
REACHES = (("within_level", "level"), ("within_15", "15 min"), ("within_cutoff", "cut-off"))


@dataclass(frozen=True)
class CommunityAccess:
    """What one run leaves for the table of communities by type: every resident's walk to each type.

    Attributes:
        community: Every resident's community name.
        node: Every resident's home (node of the walking surface), to see whether two runs have the same residents.
        age: Every resident's age.
        needs: Per type, which residents use it.
        minutes: Per type, every resident's own walking minutes to the nearest facility (inf: none reachable).
        level_min: Per type, its level in minutes.
        cutoff_min: Minutes beyond which no facility is chosen (``[simulation] cutoff_min``).
    """

    community: np.ndarray
    node: np.ndarray
    age: np.ndarray
    needs: dict[str, np.ndarray]
    minutes: dict[str, np.ndarray]
    level_min: dict[str, float]
    cutoff_min: float

    def same_residents(self, other: CommunityAccess) -> bool:
        """Whether ``other`` has the same residents (same homes and ages, in the same order)."""
        return np.array_equal(self.node, other.node) and np.array_equal(self.age, other.age)


def community_access(model, types: list[str]) -> CommunityAccess:
    """The :class:`CommunityAccess` of a finished run for ``types`` (a type with no facility here: all at inf).

    ``types`` are those with facilities in some scenario of the comparison, so that a type an option
    closes entirely still has its users, every one of them beyond reach.
    """
    res, spec = model.built.residents, model.spec
    infinite = np.full(len(res), np.inf)
    needs = {t: users_of(res.age, spec.types[t]) for t in types if t in spec.types}
    needs = {t: users for t, users in needs.items() if users.any()}
    return CommunityAccess(
        community=np.asarray(res.community_names, dtype=object)[res.community],
        node=np.asarray(res.node),
        age=np.asarray(res.age),
        needs=needs,
        minutes={t: model.built.minutes.get(t, infinite) for t in needs},
        level_min={t: float(spec.types[t].level_min) for t in needs},
        cutoff_min=float(spec.simulation.cutoff_min),
    )


def _lost(before: np.ndarray, after: np.ndarray, limit: float) -> np.ndarray:
    return (before <= limit) & (after > limit)


def community_rows(run: CommunityAccess, base: CommunityAccess) -> pd.DataFrame:
    """Per community and type of one run: users, coverage, and the residents lost against ``base`` (same seed).

    The residents who fall out of a reach (``lost_level``, ``lost_15``, ``lost_cutoff``) are
    counted person by person when both runs have the same residents, else left empty.
    """
    same = run.same_residents(base)
    parts = []
    for t, users in run.needs.items():
        mins = run.minutes[t]
        frame = pd.DataFrame({"community": run.community[users], "minutes": mins[users]})
        if same and t in base.minutes:
            before = base.minutes[t][users]
            frame["lost_level"] = _lost(before, mins[users], run.level_min[t])
            frame["lost_15"] = _lost(before, mins[users], CIRCLE_MIN)
            frame["lost_cutoff"] = _lost(before, mins[users], run.cutoff_min)
        else:
            frame["lost_level"] = frame["lost_15"] = frame["lost_cutoff"] = np.nan
        for community, part in frame.groupby("community", sort=False):
            m = part["minutes"].to_numpy()
            parts.append(
                {
                    "community": community,
                    "type": t,
                    "level_min": run.level_min[t],
                    "users": len(part),
                    "within_level": within(m, run.level_min[t]),
                    "within_15": within(m, CIRCLE_MIN),
                    "within_cutoff": within(m, run.cutoff_min),
                    "mean_min": mean_reachable(m),
                    **{k: part[k].sum(min_count=1) for k in ("lost_level", "lost_15", "lost_cutoff")},
                }
            )
    frame = pd.DataFrame(parts)
    for k in ("within_level", "within_15", "within_cutoff", "mean_min", *_LOST):
        frame[k] = pd.to_numeric(frame[k], errors="coerce").astype(float)
    return frame


def communities_by_type(per_seed: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """communities_by_type.csv from :func:`community_rows` of every run (columns scenario, seed).

    Per scenario, community and type: the means over seeds of users, within_level, within_15,
    within_cutoff and mean_min; for the options the residents lost (mean over seeds and 95%
    interval), the paired change of within_level, within_15 and mean_min with its interval, and
    ``cut_off``: the widest reach (``level``, ``15 min``, ``cut-off``) within which some of the
    community's users had the type in the base on every seed and none have it in the option on
    any seed (empty: none).
    """
    keys = ["community", "type"]
    base = per_seed[per_seed["scenario"] == names[0]].set_index([*keys, "seed"])
    rows = []
    for (name, *key), part in per_seed.groupby(["scenario", *keys], sort=False):
        row = {"scenario": name, **dict(zip(keys, key, strict=True)), "level_min": part["level_min"].iloc[0]}
        row["replicates"] = int(part["seed"].nunique())
        row.update({k: float(part[k].mean()) for k in _MEANS})
        option = name != names[0]
        before = base.reindex([(*key, s) for s in part["seed"]])
        for k in _LOST:
            mean, low, high, _ = mean_interval(part[k]) if option else (np.nan,) * 4
            row.update({k: mean, f"{k}_lo": low, f"{k}_hi": high})
        for k in _PAIRED:
            paired = part[k].to_numpy(dtype=float) - before[k].to_numpy(dtype=float)
            mean, low, high, _ = mean_interval(paired) if option else (np.nan,) * 4
            row.update({f"diff_{k}": mean, f"diff_{k}_lo": low, f"diff_{k}_hi": high})
        cut = ""
        if option:
            for k, label in REACHES:
                had = before[k].to_numpy(dtype=float)
                if np.all(had > 0) and np.all(part[k].to_numpy(dtype=float) == 0):
                    cut = label
        row["cut_off"] = cut
        rows.append(row)
    return pd.DataFrame(rows)
