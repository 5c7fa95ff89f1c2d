"""``lifecircle optimize`` end to end: the proposed site is the best one by brute force over every cell."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.sparse import csgraph

from model.model import LifeCircleModel
from model.scenario import load_scenario
from tests.conftest import write_small


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def covered_by_brute_force(model, ftype: str, extra_cell: int | None, limit: float) -> int:
    """Users of the type within ``limit`` minutes at their own pace of an existing facility or the extra
    cell: shortest paths by scipy's Dijkstra on the walking graph, resident by resident."""
    city, res = model.city, model.built.residents
    ft = model.scenario.types[ftype]
    users = (res.age >= ft.ages.lo) & (res.age <= ft.ages.hi)
    sources = list(city.facilities.loc[city.facilities["type"] == ftype, "cell"])
    if extra_cell is not None:
        sources.append(extra_cell)
    dist = csgraph.dijkstra(city.graph, directed=False, indices=sources, min_only=True)
    return int((users & (dist[res.cell] / res.m_per_min <= limit)).sum())


def test_one_new_site_covers_what_the_best_cell_covers(tmp_path):
    small = write_small(tmp_path, residents=120)
    done = cli("optimize", str(small), "--type", "elderly_care", "--add", "1", "--out", "new.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    model = LifeCircleModel(load_scenario(small))
    before = covered_by_brute_force(model, "elderly_care", None, 5.0)
    best = max(
        covered_by_brute_force(model, "elderly_care", c, 5.0) for c in np.flatnonzero(model.city.walkable.reshape(-1))
    )
    printed = [int(m.replace(",", "")) for m in re.findall(r"covered (?:before|after):\s+([\d,]+)", done.stdout)]
    assert printed == [before, best] and best > before
    new = load_scenario(tmp_path / "new.toml")
    added = [f for f in new.facilities if f.name.startswith("elderly_care proposed")]
    assert len(added) == 1
    cell = added[0].y * model.city.width + added[0].x
    assert covered_by_brute_force(model, "elderly_care", cell, 5.0) == best
    assert "extends" in (tmp_path / "new.toml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "parkk", "--add", "1"], "did you mean 'park'"),
        (["--type", "park", "--add", "0"], "must be positive"),
        (["--type", "park", "--remove", "9"], "more than the 2 facilities"),
        (
            ["--type", "park", "--add", "1", "--candidates", "bad.csv"],
            "bad.csv:2: x, y: cell (99, 1) is outside the grid",
        ),
        (["--type", "park", "--add", "1", "--weight", "group:zz"], "--weight"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    small = write_small(tmp_path, residents=30)
    (tmp_path / "bad.csv").write_text("x,y\n99,1\n9,1\n", encoding="utf-8")
    before = set(tmp_path.iterdir())
    done = cli("optimize", str(small), *args, "--out", "new.toml", cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert set(tmp_path.iterdir()) == before
