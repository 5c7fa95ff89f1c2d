"""comparison.md: the report of ``lifecircle compare``, what a planner reads without the CSV files.

Its parts, in order (docs/planning.md):

1. communities cut off, when a closure leaves a community's users of a type with none within a
   reach they had (the type's level, 15 minutes, the cut-off): the first lines of the report;
2. the title and the method (seeds, replicates, intervals, what "beyond noise" means);
3. the sites closed, moved and new, by name;
4. the headline table: each figure per scenario and each option's change with its interval;
5. who loses: per community and changed type, coverage before and after and the residents who
   fall out of the type's level, of 15 minutes and of the cut-off;
6. users within each type's level by age band and group, groups with few users flagged;
7. what changed and for whom (most gained and lost, among groups with enough users), the sites,
   the maps;
8. the worst-served communities, and the agent model beside its static baseline.

Differences are each option minus the first scenario (the base), the mean of the paired
differences over seeds (model/planning/replicates.py); ``◆`` marks one beyond seed noise.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from model.planning.replicates import CIRCLE_MIN, FEW_USERS
from model.planning.sites import site_label
from model.report import lang

_ = lang.Phrases(
    {
        "No facility type stands anywhere else in these scenarios.": "这些方案中没有任何设施类型的位置不同。",
        "life circle complete (every needed type within its level)": "生活圈完整（所需各类设施均在其层级以内）",
        "{option} has no {types} at all: its life circle completeness counts only the types present, "
        "so it does not fall with them; their users are in the rows below and in who loses.": (
            "{option} 完全没有 {types}：其生活圈完整度只计入存在的类型，因此不会随之下降；"
            "这些类型的使用者见下方各行及“谁受损失”。"
        ),
        "{t}: users within its level ({m} min)": "{t}：在其层级（{m} 分钟）以内的使用者",
        "{t}: users within {m} min": "{t}：{m} 分钟以内的使用者",
        "{t}: mean walk of its users (min)": "{t}：使用者平均步行（分钟）",
        "{t}: users with none within reach": "{t}：可达范围内没有设施的使用者",
        "{t}: unmet share of wanted visits": "{t}：需求访问中未满足的比例",
        "{t}: peak occupancy / capacity": "{t}：峰值在场人数 / 容量",
        "exposure of {g} to others, residential blocks": "{g} 对其他群体的接触度，居住街区",
        "exposure of {g} to others, at facilities": "{g} 对其他群体的接触度，在设施中",
        "Per community, the users of each changed type: the share within the type's level and within "
        "{m} minutes and their mean walk, in the base and the option, and how many of them fall out "
        "of the level, of 15 minutes and of the cut-off (within it in the base, beyond it in the option; mean "
        "over seeds, 95% interval in brackets). A community whose users were already beyond the level loses "
        "nothing there when its site closes: the other columns show what it loses. Every community and type "
        "is in communities_by_type.csv.": (
            "按社区列出各变化类型的使用者：在基准方案和备选方案中位于该类型层级以内与 {m} 分钟以内的比例及平均步行，"
            "以及其中有多少人跌出层级、15 分钟和截止距离（基准中在内、方案中在外；随机种子均值，括号内为 95% 区间）。"
            "使用者原本已在层级之外的社区，其设施关闭时在该项上不会再有损失：其余各列显示其损失。"
            "所有社区与类型见 communities_by_type.csv。"
        ),
        "The types whose facilities differ; every type is in groups.csv. ": (
            "设施位置不同的类型；所有类型见 groups.csv。"
        ),
        "({few}: fewer than {n} users, mean over seeds: not ranked below.)": (
            "（{few}：使用者少于 {n} 人，随机种子均值：下文不参与排序。）"
        ),
        "At the sites, first seed (sites_<type>.csv has every site; unmet visits are those of the users "
        "living nearest each site):": "各设施点，第一个随机种子（所有设施点见 sites_<type>.csv；未满足访问为居住在"
        "各设施点最近处的使用者的访问）：",
        "**{t}** (facilities moved, added or removed):": "**{t}**（设施迁移、新增或关闭）：",
        "- {option}: no age band or group has {n} users or more with a change to rank; "
        "the table above has every one.": (
            "- {option}：没有使用者达到 {n} 人且有变化可排序的年龄段或群体；上表列出全部。"
        ),
        "- {option}: users within the level change by {low} to {high} percentage points across age bands "
        "and groups of at least {n} users; most gained: {best}; least: {worst}.": (
            "- {option}：在使用者至少 {n} 人的年龄段与群体中，层级以内的使用者比例变化 {low} 至 {high} 个百分点；"
            "增益最多：{best}；最少：{worst}。"
        ),
        "Share of each community's residents whose life circle is complete (lowest five of the first scenario). "
        "Completeness counts each type's level only: residents already beyond it lose nothing there when their "
        "site closes, so the last columns give the users of the changed types who lose them within {m} "
        "minutes (summed over the types; mean over seeds).": (
            "各社区居民中生活圈完整的比例（第一个方案中最低的五个）。完整度只计各类型的层级："
            "原本已在层级之外的居民在设施关闭时不会在该项上有损失，因此最后几列给出变化类型的使用者中"
            "失去 {m} 分钟以内设施的人数（各类型相加；随机种子均值）。"
        ),
        "its level ({minutes} min)": "其层级（{minutes} 分钟）",
        "{minutes} minutes": "{minutes} 分钟",
        "the cut-off ({minutes} min)": "截止距离（{minutes} 分钟）",
        "the cut-off": "截止距离",
        "in {option}, the {users} {ftype} users of {community} have none within {reach} ({had} had one in {base})": (
            "在 {option} 中，{community} 的 {users} 名 {ftype} 使用者在 {reach} 以内已无设施"
            "（在 {base} 中有 {had} 的人有）"
        ),
        "; {n} of them lose {words}": "；其中 {n} 人失去 {words} 以内的设施",
        "; closed: {sites}.": "；关闭：{sites}。",
        "seed {seed}": "随机种子 {seed}",
        "seeds {first} to {last} ({n} replicates)": "随机种子 {first} 至 {last}（{n} 次重复）",
        "Every scenario ran on {seeds} for {days} day(s); the same seed gives the same residents in every "
        "scenario that shares the population settings. Differences are each option minus **{base}**, seed by seed": (
            "每个方案均以{seeds}运行 {days} 天；在人口设置相同的方案中，同一随机种子给出相同的居民。"
            "差值为各方案减 **{base}**，逐个随机种子配对计算"
        ),
        "; with one seed there is no interval and no difference is marked: seed-to-seed noise can be as "
        "large as a difference (run with --replicates 5 or more).": (
            "；只有一个随机种子时没有区间，也不标记任何差值：不同随机种子之间的噪声可能与差值一样大"
            "（请使用 --replicates 5 或更多）。"
        ),
        "; a figure is the mean over the {n} seeds, a difference the mean of the {n} paired differences "
        "with its 95% interval (Student's t with {dof} degrees of freedom, in brackets). "
        "{mark} marks a difference beyond seed noise: its interval excludes 0.": (
            "；数值为 {n} 个随机种子的均值，差值为 {n} 个配对差值的均值及其 95% 区间"
            "（自由度为 {dof} 的 t 分布，见括号）。{mark} 表示超出随机种子噪声的差值：其区间不含 0。"
        ),
        " Coverage is the share of a type's users within the type's own level (5, 10 or 15 minutes) at their "
        "own walking pace. Groups of fewer than {few} users are flagged and not ranked. "
        "Every figure is in comparison.csv.": (
            "覆盖率为某类设施的使用者中、按本人步速在该类型层级（5、10 或 15 分钟）以内的比例。"
            "使用者少于 {few} 人的群体会被标记且不参与排序。所有数值见 comparison.csv。"
        ),
        "Comparison": "方案比较",
        "CUT OFF": "断供",
        "Method": "方法",
        "Sites closed, moved and new": "关闭、迁移与新增的设施",
        "Headline": "主要指标",
        "Who loses, by community": "谁受损失：按社区",
        "Users within each type's own level, by age band and by group": "各类设施服务水平内的使用者：按年龄段与人群",
        "What changed, and for whom": "变化了什么，对谁",
        "Worst-served communities": "服务最差的社区",
        "The agent model beside the static baseline": "主体模型与静态基线对照",
        "figure": "指标",
        "type": "设施类型",
        "community": "社区",
        "users": "使用者",
        "age band or group": "年龄段或人群",
        "scenario": "方案",
        "sites": "设施",
        "count": "数量",
        "places": "容量",
        "visits": "到访",
        "turned away": "被拒",
        "unmet visits": "未满足到访",
        "highest peak / places": "最高峰值/容量",
        "within level": "服务水平内",
        "within 15 min": "15分钟内",
        "mean walk (min)": "平均步行（分钟）",
        "lose the level": "失去服务水平",
        "lose 15 min": "失去15分钟可达",
        "lose the cut-off": "失去截止距离内可达",
        "{option} - {base} (95% interval)": "{option} − {base}（95%区间）",
        "{option}: users who lose a changed type within 15 min": "{option}：失去15分钟内某变化设施的使用者",
        "closed": "关闭",
        "moved": "迁移",
        "new": "新增",
        "kept": "保留",
        "few users": "使用者过少",
        "ages {value}": "{value}岁",
        "beyond noise": "超出噪声",
        "within noise": "在噪声内",
        "agent": "主体模型",
        "static": "静态",
        "diff": "差值",
    }
)

BEYOND = "◆"  # marks a difference whose 95% interval excludes 0


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def _value(value, fmt: str) -> str:
    return "-" if _missing(value) else format(value, fmt)


def _change(mean, low, high, fmt: str, beyond=None) -> str:
    """A difference, its 95% interval when there is one, and the mark when it is beyond noise.

    ``fmt`` "pp" writes shares as percentage points; any other is a format spec for the number.
    """
    if _missing(mean):
        return "-"

    def one(v, sign="+"):
        return f"{100 * v:{sign}.1f}" if fmt == "pp" else format(v, sign + fmt)

    text = one(mean) + (" pp" if fmt == "pp" else "")
    if not _missing(low) and not _missing(high):
        text += f" ({one(low)} to {one(high)})"
    if beyond is True:
        text += f" {BEYOND}"
    return text


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _head(cells) -> list[str]:
    return [_row(cells), "|---" * len(cells) + "|"]


def write_report(
    path: Path,
    models: list,
    table: pd.DataFrame,
    groups: pd.DataFrame,
    completeness: pd.DataFrame,
    communities: pd.DataFrame,
    maps: dict,
    sites: dict,
    seeds: list[int],
    changed: list[str],
) -> str:
    """Write comparison.md (module docstring) and return its text.

    Args:
        path: comparison.md.
        models: The runs of the first seed, the base first (for names, levels and groups).
        table: comparison.csv (model/planning/replicates.py comparison_table).
        groups: groups.csv.
        completeness: communities.csv.
        communities: communities_by_type.csv.
        maps: Per changed type its pictures, and ``who_gained``, relative to the folder of ``path``.
        sites: Per changed type, its sites_<type>.csv.
        seeds: The seeds every scenario ran with.
        changed: The types whose facilities differ between the scenarios.
    """
    names = [m.spec.name for m in models]
    types = list(dict.fromkeys(t for m in models for t in m.built.minutes))
    lines = _cut_off_lines(communities, names, models[0], sites)
    lines += [f"# {_('Comparison')}: {' vs '.join(names)}", ""]
    lines += _method_lines(models, names, seeds)
    lines += _sites_lines(sites, names[1:], changed)
    lines += _headline_lines(models, table, names, types, changed)
    lines += _who_loses_lines(communities, names, changed)
    lines += _by_band_and_group(groups, names, changed or types, bool(changed))
    lines += ["", f"## {_('What changed, and for whom')}", ""]
    if not changed:
        lines.append(_("No facility type stands anywhere else in these scenarios."))
    for t in changed:
        lines += _changed_type_lines(t, groups, names, sites.get(t), maps.get(t, []))
    if "who_gained" in maps:
        lines += [f"![who gained coverage]({maps['who_gained'].as_posix()})", ""]
    lines += _worst_served_lines(completeness, communities, names, changed)
    lines += _static_lines(models, table, names, types)
    text = "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def _reach_words(reach: str, level_min: float, cutoff_min: float) -> str:
    if reach == "level":
        return _("its level ({minutes} min)", minutes=f"{level_min:g}")
    if reach == "15 min":
        return _("{minutes} minutes", minutes=CIRCLE_MIN)
    return _("the cut-off ({minutes} min)", minutes=f"{cutoff_min:g}")


def _cut_off_lines(communities: pd.DataFrame, names: list[str], base_model, sites: dict) -> list[str]:
    """The first lines: every community a closure cuts off from a type (communities_by_type.csv cut_off)."""
    if communities.empty:
        return []
    cut = communities[communities["cut_off"] != ""]
    base = communities[communities["scenario"] == names[0]].set_index(["community", "type"])
    cutoff_min = float(base_model.spec.simulation.cutoff_min)
    lines = []
    for _i, row in cut.iterrows():
        column = {"level": "within_level", "15 min": "within_15", "cut-off": "within_cutoff"}[row["cut_off"]]
        had = base.loc[(row["community"], row["type"]), column]
        closed = _named_sites(sites.get(row["type"]), row["scenario"], "closed", row["type"])
        losses = (("lost_15", _("{minutes} minutes", minutes=CIRCLE_MIN)), ("lost_cutoff", _("the cut-off")))
        lines += [
            f"**{_('CUT OFF')}**: "
            + _(
                "in {option}, the {users} {ftype} users of {community} have none within {reach} "
                "({had} had one in {base})",
                option=row["scenario"],
                users=f"{row['users']:,.0f}",
                ftype=row["type"],
                community=row["community"],
                reach=_reach_words(row["cut_off"], row["level_min"], cutoff_min),
                had=f"{had:.1%}",
                base=names[0],
            )
            + "".join(
                _("; {n} of them lose {words}", n=f"{row[k]:,.0f}", words=words)
                for k, words in losses
                if row["cut_off"] == "level" and not _missing(row[k]) and row[k] > 0
            )
            + (_("; closed: {sites}.", sites=closed) if closed else "."),
            "",
        ]
    return lines


def _named_sites(sites, scenario: str, status: str, ftype: str) -> str:
    if sites is None:
        return ""
    part = sites[(sites["scenario"] == scenario) & (sites["status"] == status)]
    labels = []
    for _i, row in part.iterrows():
        label = site_label(ftype, row["name"], row["x"], row["y"])
        if status == "moved":
            label += f" (from ({row['from_x']:g}, {row['from_y']:g}) to ({row['x']:g}, {row['y']:g}))"
        labels.append(label)
    return ", ".join(labels)


def _method_lines(models: list, names: list[str], seeds: list[int]) -> list[str]:
    """The method in a paragraph: what was run, the seeds, how the intervals are computed."""
    n = len(seeds)
    if n == 1:
        seeds_text = _("seed {seed}", seed=seeds[0])
    else:
        seeds_text = _("seeds {first} to {last} ({n} replicates)", first=seeds[0], last=seeds[-1], n=n)
    text = _(
        "Every scenario ran on {seeds} for {days} day(s); the same seed gives the same residents in every "
        "scenario that shares the population settings. Differences are each option minus **{base}**, seed by seed",
        seeds=seeds_text,
        days=models[0].days,
        base=names[0],
    )
    if n == 1:
        text += _(
            "; with one seed there is no interval and no difference is marked: seed-to-seed noise can be as "
            "large as a difference (run with --replicates 5 or more)."
        )
    else:
        text += _(
            "; a figure is the mean over the {n} seeds, a difference the mean of the {n} paired differences "
            "with its 95% interval (Student's t with {dof} degrees of freedom, in brackets). "
            "{mark} marks a difference beyond seed noise: its interval excludes 0.",
            n=n,
            dof=n - 1,
            mark=BEYOND,
        )
    text += _(
        " Coverage is the share of a type's users within the type's own level (5, 10 or 15 minutes) at their "
        "own walking pace. Groups of fewer than {few} users are flagged and not ranked. "
        "Every figure is in comparison.csv.",
        few=FEW_USERS,
    )
    return [f"## {_('Method')}", "", text]


def _sites_lines(sites: dict, options: list[str], changed: list[str]) -> list[str]:
    """The sites closed, moved and new in each option, by name."""
    if not changed:
        return []
    lines = ["", f"## {_('Sites closed, moved and new')}", ""]
    for option in options:
        for t in changed:
            table = sites.get(t)
            if table is None:
                continue
            parts = []
            for status in ("closed", "moved", "new"):
                named = _named_sites(table, option, status, t)
                if named:
                    parts.append(f"{_(status)}: {named}")
            if parts:
                lines.append(f"- {option}, {t}: " + "; ".join(parts) + ".")
    return lines


def _headline_lines(
    models: list, table: pd.DataFrame, names: list[str], types: list[str], changed: list[str]
) -> list[str]:
    """The headline table: each figure per scenario, each option's change with its interval."""
    first = names[0]
    header = [_("figure"), *names, *(_("{option} - {base} (95% interval)", option=n, base=first) for n in names[1:])]
    lines = ["", f"## {_('Headline')}", "", *_head(header)]
    indexed = table.set_index("metric")
    notes: list[str] = []

    def row(label, key, fmt=".1%", change="pp"):
        if key not in indexed.index:
            return
        r = indexed.loc[key]
        cells = [_value(r[n], fmt) for n in names]
        for n in names[1:]:
            cells.append(_change(r[f"diff_{n}"], r[f"diff_{n}_lo"], r[f"diff_{n}_hi"], change, r[f"beyond_noise_{n}"]))
        lines.append(_row([label, *cells]))

    row(_("life circle complete (every needed type within its level)"), "life_circle_complete")
    for model in models[1:]:
        gone = [t for t in models[0].built.minutes if t not in model.built.minutes]
        if gone:
            notes.append(
                _(
                    "{option} has no {types} at all: its life circle completeness counts only the types present, "
                    "so it does not fall with them; their users are in the rows below and in who loses.",
                    option=model.spec.name,
                    types=", ".join(gone),
                )
            )
    for t in types:
        level = models[0].spec.types[t].level_min
        row(_("{t}: users within its level ({m} min)", t=t, m=f"{level:g}"), f"access.{t}.within_level")
        if t in changed:
            row(_("{t}: users within {m} min", t=t, m=CIRCLE_MIN), f"access.{t}.within_{CIRCLE_MIN}")
            row(_("{t}: mean walk of its users (min)", t=t), f"access.{t}.mean_min", ".1f", ".1f")
            row(_("{t}: users with none within reach", t=t), f"access.{t}.unreachable", ",.0f", ",.0f")
    for t in types:
        row(_("{t}: unmet share of wanted visits", t=t), f"usage.{t}.unmet_share")
        row(_("{t}: peak occupancy / capacity", t=t), f"usage.{t}.peak_occupancy_ratio", ".2f", ".2f")
    for g in list(models[0].built.residents.group_names):
        blocks, activity = f"mixing.residential.blocks.exposure.{g}", f"mixing.activity.exposure.{g}"
        row(_("exposure of {g} to others, residential blocks", g=g), blocks, ".3f", ".3f")
        row(_("exposure of {g} to others, at facilities", g=g), activity, ".3f", ".3f")
    return lines + (["", *notes] if notes else [])


def _who_loses_lines(communities: pd.DataFrame, names: list[str], changed: list[str]) -> list[str]:
    """Per community and changed type: coverage before and after, and the residents who fall out of each reach."""
    if not changed or communities.empty:
        return []
    lines = ["", f"## {_('Who loses, by community')}", ""]
    lines.append(
        _(
            "Per community, the users of each changed type: the share within the type's level and within "
            "{m} minutes and their mean walk, in the base and the option, and how many of them fall out "
            "of the level, of 15 minutes and of the cut-off (within it in the base, beyond it in the option; mean "
            "over seeds, 95% interval in brackets). A community whose users were already beyond the level loses "
            "nothing there when its site closes: the other columns show what it loses. Every community and type "
            "is in communities_by_type.csv.",
            m=CIRCLE_MIN,
        )
    )
    base = communities[communities["scenario"] == names[0]].set_index(["community", "type"])
    header = [
        _("community"),
        _("type"),
        _("users"),
        _("within level"),
        _("within 15 min"),
        _("mean walk (min)"),
        _("lose the level"),
        _("lose 15 min"),
        _("lose the cut-off"),
    ]
    for option in names[1:]:
        part = communities[(communities["scenario"] == option) & communities["type"].isin(changed)]
        part = part.sort_values(["lost_15", "lost_level", "diff_mean_min"], ascending=False, na_position="last")
        lines += ["", f"**{option}**:", "", *_head(header)]
        for _i, r in part.iterrows():
            b = base.loc[(r["community"], r["type"])]
            lines.append(
                _row(
                    [
                        r["community"],
                        r["type"],
                        f"{r['users']:,.0f}",
                        f"{_value(b['within_level'], '.1%')} → {_value(r['within_level'], '.1%')}",
                        f"{_value(b['within_15'], '.1%')} → {_value(r['within_15'], '.1%')}",
                        f"{_value(b['mean_min'], '.1f')} → {_value(r['mean_min'], '.1f')}",
                        *(_lost(r, k) for k in ("lost_level", "lost_15", "lost_cutoff")),
                    ]
                )
            )
    return lines


def _lost(row, key: str) -> str:
    if _missing(row[key]):
        return "-"
    text = f"{row[key]:,.0f}"
    if not _missing(row[f"{key}_lo"]):
        text += f" ({max(0.0, row[f'{key}_lo']):,.0f} to {row[f'{key}_hi']:,.0f})"
    return text


def _by_band_and_group(groups: pd.DataFrame, names: list[str], types: list[str], changed: bool) -> list[str]:
    """Users within the type's level by age band and by group, per scenario and change; few users flagged."""
    first = names[0]
    lines = [
        "",
        f"## {_("Users within each type's own level, by age band and by group")}",
        "",
        (_("The types whose facilities differ; every type is in groups.csv. ") if changed else "")
        + _("({few}: fewer than {n} users, mean over seeds: not ranked below.)", few=_("few users"), n=FEW_USERS),
        "",
        *_head(
            [
                _("type"),
                _("age band or group"),
                _("users"),
                *names,
                *(_("{option} - {base} (95% interval)", option=n, base=first) for n in names[1:]),
            ]
        ),
    ]
    rows = groups.set_index(["type", "by", "value", "scenario"])
    base = groups[groups["scenario"] == first]
    for _i, b in base.iterrows():
        if b["type"] not in types:
            continue
        key = (b["type"], b["by"], b["value"])
        cells = [_value(rows.loc[(*key, n), "within_level"] if (*key, n) in rows.index else None, ".1%") for n in names]
        for n in names[1:]:
            if (*key, n) not in rows.index:
                cells.append("-")
                continue
            r = rows.loc[(*key, n)]
            cells.append(_change(r["diff"], r["diff_lo"], r["diff_hi"], "pp", r["beyond_noise"]))
        label = _("ages {value}", value=b["value"]) if b["by"] == "age" else b["value"]
        users = f"{b['users']:,}" + (f" ({_('few users')})" if b["few_users"] else "")
        lines.append(_row([b["type"], label, users, *cells]))
    return lines


def _site_lines(sites: pd.DataFrame) -> list[str]:
    """What the simulation met at the kept, moved, new and closed sites of a type (model/planning/sites.py)."""
    from model.planning.sites import site_summary

    lines = [
        "",
        _(
            "At the sites, first seed (sites_<type>.csv has every site; unmet visits are those of the users "
            "living nearest each site):"
        ),
        "",
        *_head(
            [
                _("scenario"),
                _("sites"),
                _("count"),
                _("places"),
                _("visits"),
                _("turned away"),
                _("unmet visits"),
                _("highest peak / places"),
            ]
        ),
    ]
    for _i, row in site_summary(sites).iterrows():
        if row["status"] == "closed":
            cells = ["-"] * 4
        else:
            cells = [
                f"{row['visits']:,.0f}",
                f"{row['turned_away']:,.0f}",
                f"{row['unmet_visits']:,.0f}",
                f"{row['max_peak_ratio']:.2f}",
            ]
        lines.append(_row([row["scenario"], _(row["status"]), row["sites"], f"{row['capacity']:,.0f}", *cells]))
    return lines


def _changed_type_lines(t: str, groups: pd.DataFrame, names: list[str], sites, images: list) -> list[str]:
    """For a type whose facilities moved: who gained most and least (enough users only), the sites, the maps."""
    per = groups[(groups["type"] == t) & ~groups["few_users"].astype(bool)]
    lines = [_("**{t}** (facilities moved, added or removed):", t=t)]
    for name in names[1:]:
        mine = per[per["scenario"] == name].dropna(subset=["diff"]).sort_values("diff")
        if mine.empty:
            lines.append(
                _(
                    "- {option}: no age band or group has {n} users or more with a change to rank; "
                    "the table above has every one.",
                    option=name,
                    n=FEW_USERS,
                )
            )
            continue
        best, worst = mine.iloc[-1], mine.iloc[0]

        def who(r):
            noise = (
                _("beyond noise")
                if r["beyond_noise"] is True
                else _("within noise")
                if r["beyond_noise"] is False
                else ""
            )
            change = _change(r["diff"], r["diff_lo"], r["diff_hi"], "pp")
            return f"{r['by']} {r['value']} ({change}{', ' + noise if noise else ''})"

        lines.append(
            _(
                "- {option}: users within the level change by {low} to {high} percentage points across age bands "
                "and groups of at least {n} users; most gained: {best}; least: {worst}.",
                option=name,
                low=f"{100 * mine['diff'].min():+.1f}",
                high=f"{100 * mine['diff'].max():+.1f}",
                n=FEW_USERS,
                best=who(best),
                worst=who(worst),
            )
        )
    if sites is not None:
        lines += _site_lines(sites)
    for image in images:
        lines.append(f"\n![{t}: {image.stem}]({image.as_posix()})")
    lines.append("")
    return lines


def _worst_served_lines(
    completeness: pd.DataFrame, communities: pd.DataFrame, names: list[str], changed: list[str]
) -> list[str]:
    """The five communities of the first scenario with the lowest completeness, and their users who lose 15 minutes."""
    lines = [f"## {_('Worst-served communities')}", ""]
    lines.append(
        _(
            "Share of each community's residents whose life circle is complete (lowest five of the first scenario). "
            "Completeness counts each type's level only: residents already beyond it lose nothing there when their "
            "site closes, so the last columns give the users of the changed types who lose them within {m} "
            "minutes (summed over the types; mean over seeds).",
            m=CIRCLE_MIN,
        )
    )
    lost = [_("{option}: users who lose a changed type within 15 min", option=n) for n in names[1:]] if changed else []
    lines += ["", *_head([_("community"), *names, *lost])]
    base = completeness[completeness["scenario"] == names[0]].sort_values("complete").head(5)
    for community in base["community"]:
        cells = []
        for name in names:
            value = completeness.loc[
                (completeness["scenario"] == name) & (completeness["community"] == community), "complete"
            ]
            cells.append(f"{value.iloc[0]:.1%}" if len(value) else "-")
        for name in names[1:] if changed else []:
            part = communities[
                (communities["scenario"] == name)
                & (communities["community"] == community)
                & communities["type"].isin(changed)
            ]
            cells.append(f"{part['lost_15'].sum(min_count=1):,.0f}" if part["lost_15"].notna().any() else "-")
        lines.append(_row([community, *cells]))
    return lines


def _static_lines(models: list, table: pd.DataFrame, names: list[str], types: list[str]) -> list[str]:
    """The agent model beside the static baseline: agent, static and agent - static per scenario (docs/static.md)."""
    lines = ["", f"## {_('The agent model beside the static baseline')}", ""]
    lines.append(
        "The static baseline is the same city without time: every wanted visit at its expected first choice, "
        "capacity ignored (docs/static.md). What differs is what simulating time adds: queues, turn-aways, "
        "the timing of co-presence and the randomness of one run. Each scenario: agent / static / agent - static "
        "(means over the seeds)."
    )
    lines += ["", *_head([_("figure"), *(c for n in names for c in (f"{n}: {_('agent')}", _("static"), _("diff")))])]
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
