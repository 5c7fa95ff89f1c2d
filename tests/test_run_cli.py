"""`lifecircle run` end to end on the bundled default scenario."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.in_process import lifecircle

FILES = ("summary.json", "residents.csv", "facilities.csv")


def run_cli(*args, cwd=None, python=()):
    return subprocess.run(
        [sys.executable, *python, "-m", "model.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


FORK_WARNING_SHOWN = ("-W", "default:This process:DeprecationWarning")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    # from another working directory, with no scenario argument: the bundled default; with
    # Python's warning that forking a multi-threaded process may deadlock shown (issue 19)
    proc = run_cli("run", "--out", str(out), cwd=tmp_path_factory.getbasetemp(), python=FORK_WARNING_SHOWN)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_run_writes_the_promised_files(demo_run):
    out, proc = demo_run
    for name in (*FILES, "run.json", "coverage.png"):
        assert (out / name).is_file(), name
    maps = sorted(p.name for p in (out / "maps").glob("access_*.png"))
    facilities = pd.read_csv(out / "facilities.csv")
    assert maps == sorted(f"access_{t}.png" for t in facilities["type"].unique())
    assert str(out) in proc.stdout
    assert "life circle complete" in proc.stdout


def test_every_picture_is_drawn_and_no_process_forked(demo_run):
    out, proc = demo_run
    for name in ("coverage.png", "occupancy.png", "exposure.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
    assert list((out / "maps").glob("guidance_*.png")), "demo has few communities: guidance maps"
    assert "fork()" not in proc.stderr, proc.stderr


def test_tables_have_the_contract_columns(demo_run):
    out, _ = demo_run
    res = pd.read_csv(out / "residents.csv")
    fac = pd.read_csv(out / "facilities.csv")
    types = list(dict.fromkeys(fac["type"]))
    assert list(res.columns[:7]) == ["id", "community", "group", "age", "x", "y", "m_per_min"]
    assert {f"min_{t}" for t in types} <= set(res.columns)
    assert list(fac.columns[:6]) == ["id", "type", "name", "x", "y", "capacity"]
    scenario = tomllib.loads((ROOT / "scenarios" / "demo.toml").read_text())
    assert len(res) == sum(c["residents"] for c in scenario["communities"])
    assert len(fac) == len(scenario["facilities"])


def test_summary_recomputes_from_the_tables(demo_run):
    """Every access figure of summary.json, recomputed from residents.csv and the catalogue."""
    out, _ = demo_run
    summary = json.loads((out / "summary.json").read_text())
    res = pd.read_csv(out / "residents.csv")
    catalogue = tomllib.loads((ROOT / "model" / "catalogue.toml").read_text())
    assert summary["scenario"] == "demo" and summary["residents"] == len(res)
    complete = np.ones(len(res), dtype=bool)
    for t, a in summary["access"].items():
        lo, hi = catalogue[t]["ages"]
        users = res[(res["age"] >= lo) & (res["age"] <= hi)]
        mins = users[f"min_{t}"]
        reach = mins.dropna()
        assert a["users"] == len(users)
        assert a["unreachable"] == mins.isna().sum()
        assert a["mean_min"] == pytest.approx(reach.mean(), abs=1e-5)
        assert a["max_min"] == pytest.approx(reach.max(), abs=1e-5)
        assert a["p90_min"] == pytest.approx(np.percentile(reach, 90), abs=1e-5)
        for k in (5, 10, 15):
            assert a[f"within_{k}"] == pytest.approx((mins <= k + 1e-6).mean(), abs=1e-9)
        needs = (res["age"] >= lo) & (res["age"] <= hi)
        complete &= ~needs | (res[f"min_{t}"] <= catalogue[t]["level_min"] + 1e-6)
    assert summary["life_circle_complete"] == pytest.approx(complete.mean())


def test_same_seed_gives_identical_files(demo_run, tmp_path):
    out, _ = demo_run
    again = tmp_path / "again"
    # in this process (by main): still another process than demo_run's, with its own hash seed
    assert lifecircle("run", "demo", "--out", again, cwd=tmp_path).returncode == 0
    for name in FILES:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name


def test_other_seed_changes_residents(demo_run, tmp_path):
    out, _ = demo_run
    other = tmp_path / "other"
    assert lifecircle("run", "--seed", "99", "--out", other, cwd=tmp_path).returncode == 0
    assert json.loads((other / "summary.json").read_text())["seed"] == 99
    assert (out / "residents.csv").read_bytes() != (other / "residents.csv").read_bytes()


@pytest.mark.parametrize("seed", ["-1", "abc", "1.5"])
def test_bad_seed_is_a_clean_error(tmp_path, seed):
    proc = lifecircle("run", "--seed", seed, "--out", tmp_path / "x", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--seed" in proc.stderr
    assert not (tmp_path / "x").exists()


def _numbers(text: str) -> list[float]:
    """The numbers of a printed row (thousands separators, % and signs as printed; '-' is None)."""
    out = []
    for token in text.split():
        if token == "-":
            out.append(None)
            continue
        value = float(token.rstrip("%").replace(",", ""))
        out.append(value / 100 if token.endswith("%") else value)
    return out


def test_terminal_table_shows_agent_static_and_difference(demo_run):
    """Below the dynamics: per type and per group, agent / static / agent - static, each matching
    summary.json (to the printed digits) and the difference matching agent - static."""
    out, proc = demo_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "beside the static baseline" in line)
    names = {t for t, u in summary["usage"].items() if isinstance(u, dict)} | set(
        summary["mixing"]["activity"]["exposure"]
    )
    rows = {}
    for line in lines[start + 1 :]:
        tokens = line.split()
        if tokens and tokens[0] in names:
            rows[tokens[0]] = _numbers(" ".join(tokens[1:]))
    assert set(rows) == names
    figures = {"visits": 0.051, "unmet_share": 0.00051, "mean_walk_min": 0.051, "fifteen_minute_usage": 0.00051}
    for t, use in summary["usage"].items():
        if not isinstance(use, dict):
            continue
        for k, (key, tol) in enumerate(figures.items()):
            agent, static, diff = rows[t][3 * k : 3 * k + 3]
            if use[key] is None or summary["static"]["usage"][t][key] is None:
                continue
            assert agent == pytest.approx(use[key], abs=tol), (t, key)
            assert static == pytest.approx(summary["static"]["usage"][t][key], abs=tol), (t, key)
            assert diff == pytest.approx(use[key] - summary["static"]["usage"][t][key], abs=tol), (t, key)
            assert diff == pytest.approx(agent - static, abs=3 * tol), (t, key)
    act, base = summary["mixing"]["activity"], summary["static"]["mixing"]["activity"]
    for g in act["exposure"]:
        for k, key in enumerate(("exposure", "relative_exposure", "experienced_isolation")):
            agent, static, diff = rows[g][3 * k : 3 * k + 3]
            assert agent == pytest.approx(act[key][g], abs=5.1e-4)
            assert static == pytest.approx(base[key][g], abs=5.1e-4)
            assert diff == pytest.approx(act[key][g] - base[key][g], abs=5.1e-4)
    line = next(line for line in lines[start:] if "dissimilarity of person-minutes" in line)
    agent, static, diff = _numbers(line.split(":")[1].replace("/", " "))
    assert diff == pytest.approx(act["multigroup_dissimilarity"] - base["multigroup_dissimilarity"], abs=5.1e-4)
    assert diff == pytest.approx(agent - static, abs=1.1e-3)
