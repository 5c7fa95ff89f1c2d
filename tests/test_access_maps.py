"""The access maps tell the truth: each is drawn at its users' median own pace, and the shares it
shows beside the bands are those of summary.json, recomputed here from residents.csv."""

from __future__ import annotations

import json
import re

import matplotlib.axes
import numpy as np
import pandas as pd
import pytest

from model.model import LifeCircleModel
from model.report import results
from model.scenario import load_scenario
from tests.conftest import write_small


def test_access_maps_show_the_users_pace_and_the_summary_shares(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # draw in this process, so that the texts can be seen
    texts: dict[str, list[str]] = {"title": [], "note": []}
    annotate, set_title = matplotlib.axes.Axes.annotate, matplotlib.axes.Axes.set_title

    def spy_annotate(self, text, *args, **kwargs):
        texts["note"].append(text)
        return annotate(self, text, *args, **kwargs)

    def spy_title(self, label, *args, **kwargs):
        texts["title"].append(label)
        return set_title(self, label, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "annotate", spy_annotate)
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", spy_title)
    model = LifeCircleModel(load_scenario(write_small(tmp_path, residents=200)), seed=5)
    model.run()
    out = tmp_path / "out"
    out.mkdir()
    results.write_results(model, out, {})

    summary = json.loads((out / "summary.json").read_text())
    residents = pd.read_csv(out / "residents.csv")
    scenario = model.spec
    maps = sorted(p.stem.removeprefix("access_") for p in (out / "maps").glob("access_*.png"))
    assert maps == sorted(t for t in summary["access"] if summary["access"][t]["users"] > 0)
    for ftype in maps:
        ages = scenario.types[ftype].ages
        users = residents[(residents["age"] >= ages.lo) & (residents["age"] <= ages.hi)]
        pace = float(np.median(users["m_per_min"]))
        title = next(t for t in texts["title"] if f"nearest {scenario.types[ftype].label.lower()}" in t)
        assert f"at {pace:.1f} m/min, the median pace of its users" in title
        note = next(n for n in texts["note"] if n.startswith(f"its {len(users):,} users"))
        shown = {int(k): v for k, v in re.findall(r"within (\d+) min: (\S+)", note)}
        assert sorted(shown) == [5, 10, 15]
        for k, text in shown.items():
            share = float((users[f"min_{ftype}"] <= k).mean())
            assert share == pytest.approx(summary["access"][ftype][f"within_{k}"], abs=1e-12)
            assert text == f"{share:.0%}"
