"""``lifecircle batch`` end to end, on a tiny two-community scenario (60 or 200 residents, 0.1-1 s a run).

- a 2 x 2 grid x 3 seeds on a local pool of 2 workers: runs.csv, results.csv (one row per run x
  figure, equal to the flattened summary.json of ``lifecircle run`` at the same parameter values),
  summary.csv (n, mean, std and Student's t interval recomputed here) and the charts;
- results.csv and summary.csv byte-identical with 1 worker, 2 workers and a Dask cluster
  (a LocalCluster bound to 127.0.0.1, no dashboard);
- kill -9 in the middle of a batch, then ``--resume``: whole records, only the missing runs run,
  results.csv byte-identical to that of an uninterrupted batch; a second batch into the same
  folder without ``--resume`` or ``--overwrite`` is refused (exit 2);
- a run that fails is recorded as failed with its error and the others go on (in-process, on a
  pool of 2, and the command's exit status 1);
- Morris and Sobol' designs: number of runs, integer parameters rounded, the index columns, and a
  parameter that cannot change a figure (park capacity -> walking access) gets mu_star exactly 0;
- bad experiment files: exit 2, the file and key named, no traceback, nothing written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from scipy import stats

from model.batch import runner, tables
from model.batch.batch import run_batch
from model.batch.design import build_runs
from model.batch.experiment import load_experiment
from model.cli import main
from model.measures.summary import flatten
from model.scenario import load_scenario
from tests.conftest import read_exact_csv, write_small

RESIDENTS = 60
MIX = "population.mixing"
CAP = "facility_types.park.capacity"
IDENTITY = ("scenario", "seed", "residents", "engine", "days")  # summary.json keys that are not figures
PNG = b"\x89PNG\r\n\x1a\n"

GRID = f"""
name = "grid"
scenarios = ["small.toml"]
seeds = [1, 2, 3]
metrics = ["usage.park.visits", "access.park.mean_min"]
store = "all"  # every scalar in results.csv, compared with summary.json below

[parameters]
"{MIX}" = [0.0, 1.0]
"{CAP}" = [2, 40]
"""

# 3 points x 4 seeds: long enough to be killed in the middle (after 3 of 12); no metrics, so no charts
LONG = f"""
name = "long"
scenarios = ["small.toml"]
seeds = [1, 2, 3, 4]

[parameters]
"{MIX}" = [0.0, 0.5, 1.0]
"""

FAILING = f"""
name = "failing"
scenarios = ["small.toml"]
seeds = [1, 2, 3]

[parameters]
"{MIX}" = [0.0, 1.0]
"""

MORRIS = f"""
name = "morris"
scenarios = ["small.toml"]
seeds = [1, 2]
metrics = ["access.park.mean_min", "usage.park.turned_away"]

[sensitivity]
method = "morris"
trajectories = 4
allow_small = true  # below the minimum (10): a test of the design, not of the indices

[sensitivity.parameters]
"{CAP}" = {{ min = 2, max = 40 }}
"{MIX}" = {{ min = 0.0, max = 1.0 }}
"""

SOBOL = f"""
name = "sobol"
scenarios = ["small.toml"]
seeds = [1]
metrics = ["usage.park.turned_away", "usage.park.visits"]

[sensitivity]
method = "sobol"
samples = 4
allow_small = true  # below the minimum (4,096 for 2 parameters): a test of the design, not of the indices

[sensitivity.parameters]
"{CAP}" = {{ min = 2, max = 40 }}
"{MIX}" = {{ min = 0.0, max = 1.0 }}
"""


# ---------------------------------------------------------------------------------------------
# helpers


def batch_cli(experiment: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``lifecircle batch EXPERIMENT ARGS`` as a subprocess, in the experiment's folder by default."""
    return subprocess.run(
        [sys.executable, "-m", "model.cli", "batch", str(experiment), *args],
        cwd=cwd or experiment.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def read_csv(path: Path) -> pd.DataFrame:
    """A table as written (floats read back exactly)."""
    return read_exact_csv(path, keep_default_na=False, na_values=[""])


def experiment_in(folder: Path, text: str, name: str = "experiment.toml", residents: int = RESIDENTS) -> Path:
    """The small scenario and an experiment file next to it."""
    folder.mkdir(parents=True, exist_ok=True)
    write_small(folder, residents=residents)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def record_files(folder: Path) -> dict[str, int]:
    """The whole records in ``folder`` by name, with their modification times."""
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}


def listening_addresses(process: psutil.Process) -> list[tuple[str, int]]:
    """The TCP addresses this process and its children listen on."""
    out = []
    for proc in [process, *process.children(recursive=True)]:
        try:
            connections = proc.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        out += [tuple(c.laddr) for c in connections if c.status == psutil.CONN_LISTEN]
    return out


_RUN_ONE = runner.run_one  # the real one, also when a test replaces runner.run_one


def failing_run(spec):
    """run_one, except that the run with seed 2 and mixing 0.0 is given a scenario file that does not exist.

    Module level, so that pool workers can import it as ``tests.test_batch_tool.failing_run``.
    """
    if spec.seed == 2 and spec.parameters.get(MIX) == 0.0:
        spec = dataclasses.replace(spec, scenario_file="/nonexistent/small.toml")
    return _RUN_ONE(spec)


def dying_run(spec):
    """run_one, except that the worker running seed 2 with mixing 0.0 dies on the spot (as if killed)."""
    if spec.seed == 2 and spec.parameters.get(MIX) == 0.0:
        os._exit(1)
    return _RUN_ONE(spec)


def dying_once(spec):
    """run_one, except that the first worker to run seed 2 with mixing 0.0 dies on the spot.

    A marker file (named by LIFECIRCLE_TEST_DIE_ONCE, set before the cluster's workers start)
    records that it died, so that the run succeeds when it runs again elsewhere.
    """
    marker = Path(os.environ["LIFECIRCLE_TEST_DIE_ONCE"])
    if spec.seed == 2 and spec.parameters.get(MIX) == 0.0 and not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return _RUN_ONE(spec)


# ---------------------------------------------------------------------------------------------
# 1. the local pool, end to end


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    return experiment_in(tmp_path_factory.mktemp("grid"), GRID, "grid.toml")


@pytest.fixture(scope="module")
def grid_w2(grid) -> tuple[subprocess.CompletedProcess, Path]:
    """The grid on a pool of 2 workers, into the default folder results/<name>."""
    proc = batch_cli(grid, "--workers", "2")
    return proc, grid.parent / "results" / "grid"


def test_local_pool_writes_every_table(grid_w2):
    proc, out = grid_w2
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "12 of 12 runs done, 0 failed" in proc.stdout
    # progress: one plain line per run when stderr is not a terminal
    assert sum(line.startswith("run ") for line in proc.stderr.splitlines()) == 12

    runs = read_csv(out / "runs.csv")
    assert len(runs) == 12
    assert list(runs.columns[:5]) == ["run_id", "scenario", "seed", MIX, CAP]
    assert set(runs["status"]) == {"done"}
    assert runs["error"].isna().all()
    assert runs["run_id"].is_unique
    combos = set(zip(runs[MIX], runs[CAP], runs["seed"], strict=True))
    assert combos == {(m, c, s) for m in (0.0, 1.0) for c in (2, 40) for s in (1, 2, 3)}
    for column in tables.PROVENANCE:
        assert runs[column].str.fullmatch("[0-9a-f]{64}").all()
    assert sorted(p.stem for p in (out / "runs").glob("*.json")) == sorted(runs["run_id"])

    results = read_csv(out / "results.csv")
    one = json.loads((out / "runs" / f"{runs['run_id'][0]}.json").read_text(encoding="utf-8"))
    n_metrics = len(one["metrics"])
    assert n_metrics > 20
    assert len(results) == 12 * n_metrics
    assert (results.groupby("run_id").size() == n_metrics).all()
    assert list(results.columns) == ["run_id", "scenario", "seed", MIX, CAP, "metric", "value"]

    batch = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert batch["counts"] == {"runs": 12, "done": 12, "failed": 0}
    assert (out / "experiment.toml").read_text(encoding="utf-8") == GRID


def test_summary_is_the_mean_and_t_interval_of_the_results(grid_w2):
    _, out = grid_w2
    results = read_csv(out / "results.csv")
    summary = read_csv(out / "summary.csv")
    assert list(summary.columns) == ["scenario", MIX, CAP, "metric", "n", "mean", "std", "ci95_low", "ci95_high"]
    assert len(summary) == 4 * results["metric"].nunique()
    spread = 0
    for metric in ("usage.park.visits", "access.park.mean_min"):
        mine = results[results["metric"] == metric]
        for (mixing, capacity), part in mine.groupby([MIX, CAP]):
            values = part["value"].dropna().to_numpy()
            n = values.size
            assert n == 3
            mean, std = values.mean(), values.std(ddof=1)
            half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
            row = summary[(summary["metric"] == metric) & (summary[MIX] == mixing) & (summary[CAP] == capacity)]
            assert len(row) == 1
            row = row.iloc[0]
            assert row["n"] == n
            assert row["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-12)
            assert row["std"] == pytest.approx(std, rel=1e-12, abs=1e-12)
            assert row["ci95_low"] == pytest.approx(mean - half, rel=1e-12, abs=1e-12)
            assert row["ci95_high"] == pytest.approx(mean + half, rel=1e-12, abs=1e-12)
            spread += std > 0
    assert spread >= 4  # the seeds do differ: the intervals are not all of width 0


def test_charts_of_every_listed_metric_and_swept_parameter(grid_w2):
    _, out = grid_w2
    for metric in ("usage.park.visits", "access.park.mean_min"):
        for parameter in (MIX, CAP):
            path = out / "plots" / f"{metric}_vs_{parameter}.png"
            assert path.is_file(), sorted(p.name for p in (out / "plots").iterdir())
            data = path.read_bytes()
            assert data.startswith(PNG)
            assert len(data) > 10_000


def test_results_equal_the_summary_of_lifecircle_run(grid_w2, tmp_path):
    """The grid point mixing 0.0, park capacity 40, seed 2 against a scenario file with those values."""
    _, out = grid_w2
    folder = tmp_path / "variant"
    folder.mkdir()
    variant = write_small(folder, mixing=0.0, residents=RESIDENTS, extra="\n[facility_types.park]\ncapacity = 40\n")
    assert load_scenario(variant).types["park"].capacity == 40
    assert (
        load_scenario(variant).types["park"].capacity
        != load_scenario(out.parents[1] / "small.toml").types["park"].capacity
    )  # the grid point is not the scenario's own value: the override is what is compared
    assert main(["run", str(variant), "--seed", "2", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    summary = flatten(json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8")))
    expected = {k: v for k, v in summary.items() if k not in IDENTITY and not isinstance(v, str)}
    for key, value in list(expected.items()):  # agent - static beside every figure with a static twin
        twin = summary.get(f"static.{key}", "none")
        if twin != "none" and not key.startswith("static.") and not isinstance(value, bool):
            expected[f"diff.{key}"] = None if value is None or twin is None else value - twin

    runs = read_csv(out / "runs.csv")
    run_id = runs.loc[(runs[MIX] == 0.0) & (runs[CAP] == 40) & (runs["seed"] == 2), "run_id"].item()
    results = read_csv(out / "results.csv")
    mine = results[results["run_id"] == run_id]
    got = dict(zip(mine["metric"], mine["value"], strict=True))
    assert set(got) == set(expected)
    undefined = 0
    for metric, value in expected.items():
        if value is None:
            assert math.isnan(got[metric]), metric
            undefined += 1
        else:
            assert got[metric] == float(value), metric
    assert undefined < len(expected)


# ---------------------------------------------------------------------------------------------
# 2 and 8. the same tables with 1 worker, 2 workers and Dask; the cluster binds 127.0.0.1


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """One LocalCluster of 2 worker processes for the module's Dask tests (its start and its workers'
    imports are paid once); (cluster, marker file of ``dying_once``), the marker named in the
    workers' environment before they start."""
    from distributed import LocalCluster

    marker = tmp_path_factory.mktemp("dask") / "died"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LIFECIRCLE_TEST_DIE_ONCE", str(marker))
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster:
            yield cluster, marker


def test_same_tables_with_one_worker_two_workers_and_dask(grid, grid_w2, dask_cluster, capsys, monkeypatch):
    """1 worker and Dask in this process (``main``): the command line itself is run as a subprocess in grid_w2."""
    proc2, out2 = grid_w2
    assert proc2.returncode == 0, proc2.stderr
    monkeypatch.chdir(grid.parent)
    capsys.readouterr()
    assert main(["batch", str(grid), "--workers", "1", "--out", "w1", "--quiet"]) == 0
    err1 = capsys.readouterr().err
    cluster, _ = dask_cluster
    # the cluster of the fixture, fresh: this is the first batch to run on it
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    workers = list(cluster.scheduler_info["workers"])
    assert len(workers) == 2
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)
    # dashboard_address=None does not turn the dashboard off in this version of distributed: it must
    # at least listen on 127.0.0.1 only, like every socket of the scheduler (here) and the workers
    assert not cluster.dashboard_link or cluster.dashboard_link.startswith("http://127.0.0.1:")
    listening = listening_addresses(psutil.Process())
    assert len(listening) >= 3  # the scheduler and two workers at least
    assert {ip for ip, _ in listening} == {"127.0.0.1"}, listening
    assert main(["batch", str(grid), "--scheduler", cluster.scheduler_address, "--out", "dask", "--quiet"]) == 0
    errd = capsys.readouterr().err
    # the 12 runs were computed by the cluster's workers
    assert cluster.scheduler.task_prefixes["run_one"].state_counts["memory"] == 12
    assert err1 == "" and errd == ""  # --quiet
    out1, outd = grid.parent / "w1", grid.parent / "dask"
    for name in ("results.csv", "summary.csv"):
        reference = (out2 / name).read_bytes()
        assert (out1 / name).read_bytes() == reference, name
        assert (outd / name).read_bytes() == reference, name
    runs = {out: read_csv(out / "runs.csv").drop(columns="wall_s") for out in (out1, out2, outd)}
    pd.testing.assert_frame_equal(runs[out1], runs[out2])
    pd.testing.assert_frame_equal(runs[outd], runs[out2])


def test_a_dask_worker_that_dies_mid_run_is_replaced_and_the_batch_completes(failing, dask_cluster, tmp_path):
    cluster, marker = dask_cluster
    assert not marker.exists()
    counts = run_batch(
        load_experiment(failing), tmp_path / "out", scheduler=cluster.scheduler_address, run=dying_once, quiet=True
    )
    assert marker.read_text() == "died"  # a worker did die, mid-run
    assert counts == {"runs": 6, "done": 6, "failed": 0}  # and its run was run again elsewhere
    reference = tmp_path / "reference"
    run_batch(load_experiment(failing), reference, workers=1, quiet=True)
    assert (tmp_path / "out" / "results.csv").read_bytes() == (reference / "results.csv").read_bytes()


# ---------------------------------------------------------------------------------------------
# 3. kill -9 and resume


def test_kill_minus_nine_then_resume(tmp_path, capsys):
    experiment = experiment_in(tmp_path / "exp", LONG)
    total = 12
    out = tmp_path / "killed"
    records = out / "runs"
    with open(tmp_path / "first.err", "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "model.cli", "batch", str(experiment), "--workers", "1", "--out", str(out)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            # no deadline: however slowly a loaded machine runs the batch, it ends by itself
            while proc.poll() is None and len(list(records.glob("*.json"))) < 3:
                time.sleep(0.005)
            assert proc.poll() is None, "the batch ended before it could be killed"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = record_files(records)
    assert 3 <= len(before) < total
    for name in before:  # whole JSON, each a finished run
        record = json.loads((records / name).read_text(encoding="utf-8"))
        assert record["status"] == "done"
        assert record["run_id"] == name.removesuffix(".json")
        assert len(record["metrics"]) > 20
    for table in ("runs.csv", "results.csv", "summary.csv", "batch.json"):
        assert not (out / table).exists(), table  # the tables are written after the last run

    # neither --resume nor --overwrite: refused, nothing touched
    assert main(["batch", str(experiment), "--workers", "1", "--out", str(out)]) == 2
    refused = capsys.readouterr().err
    assert refused.startswith(f"lifecircle: --out: {out} already holds a batch") and "--resume" in refused
    assert record_files(records) == before

    # resumed in this process: the killed batch above is the command line run as a subprocess
    assert main(["batch", str(experiment), "--workers", "1", "--out", str(out), "--resume"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("run ")]
    assert len(lines) == total - len(before)  # only the missing runs ran
    assert lines[0].startswith(f"run {len(before) + 1}/{total} ")
    after = record_files(records)
    assert len(after) == total
    assert {name: after[name] for name in before} == before  # the runs done before were not run again
    ran = {line.split()[2] for line in lines}
    assert ran == {name.removesuffix(".json") for name in after} - {name.removesuffix(".json") for name in before}

    reference = tmp_path / "uninterrupted"
    counts = run_batch(load_experiment(experiment), reference, workers=1, quiet=True)
    assert counts == {"runs": total, "done": total, "failed": 0}
    for name in ("results.csv", "summary.csv"):
        resumed_table, whole = (out / name).read_bytes(), (reference / name).read_bytes()
        same_rows = sorted(resumed_table.splitlines()) == sorted(whole.splitlines())
        assert resumed_table == whole, f"{name} differs from the uninterrupted one (same rows, reordered: {same_rows})"
    assert len(read_csv(out / "runs.csv")) == total


# ---------------------------------------------------------------------------------------------
# 4. a run that fails


@pytest.fixture(scope="module")
def failing(tmp_path_factory) -> Path:
    return experiment_in(tmp_path_factory.mktemp("failing"), FAILING)


def check_one_failed(out: Path) -> None:
    """Seed 2 at mixing 0.0 failed with its error; the other 5 runs are done and summarised."""
    runs = read_csv(out / "runs.csv")
    assert len(runs) == 6
    bad = (runs["seed"] == 2) & (runs[MIX] == 0.0)
    assert runs.loc[bad, "status"].tolist() == ["failed"]
    error = runs.loc[bad, "error"].item()
    assert isinstance(error, str) and "nonexistent" in error
    assert set(runs.loc[~bad, "status"]) == {"done"}
    assert runs.loc[~bad, "error"].isna().all()
    failed_id = runs.loc[bad, "run_id"].item()
    record = json.loads((out / "runs" / f"{failed_id}.json").read_text(encoding="utf-8"))
    assert record["status"] == "failed" and record["metrics"] == {}

    results = read_csv(out / "results.csv")
    assert failed_id not in set(results["run_id"])
    assert results["run_id"].nunique() == 5
    n_metrics = len(results) // 5
    assert len(results) == 5 * n_metrics

    summary = read_csv(out / "summary.csv")
    visits = summary[summary["metric"] == "usage.park.visits"].set_index(MIX)["n"]
    assert visits.to_dict() == {0.0: 2, 1.0: 3}
    for mixing, part in results.groupby(MIX):  # every figure: n counts the defined values of the runs done
        counts = part.groupby("metric")["value"].count()
        mine = summary[summary[MIX] == mixing].set_index("metric")["n"]
        assert mine.sort_index().to_dict() == counts.sort_index().to_dict()
        assert counts.max() == (2 if mixing == 0.0 else 3)


@pytest.fixture(scope="module")
def failing_in_process(failing, tmp_path_factory) -> tuple[dict, Path]:
    """The failing batch in this process (1 worker): its counts and folder, read by two tests."""
    out = tmp_path_factory.mktemp("failing-one") / "out"
    return run_batch(load_experiment(failing), out, workers=1, run=failing_run, quiet=True), out


def test_failing_run_in_process(failing_in_process):
    counts, out = failing_in_process
    assert counts == {"runs": 6, "done": 5, "failed": 1}
    check_one_failed(out)


def test_failing_run_on_a_pool_of_two(failing, failing_in_process, tmp_path):
    counts = run_batch(load_experiment(failing), tmp_path / "out", workers=2, run=failing_run, quiet=True)
    assert counts == {"runs": 6, "done": 5, "failed": 1}
    check_one_failed(tmp_path / "out")
    _, reference = failing_in_process  # the same batch in one process
    assert (tmp_path / "out" / "results.csv").read_bytes() == (reference / "results.csv").read_bytes()


def test_a_worker_that_dies_fails_only_its_own_run(failing, tmp_path):
    """A dead worker breaks the whole local pool: the runs in flight with it are run again alone,
    so only the run that killed its worker is recorded as failed."""
    counts = run_batch(load_experiment(failing), tmp_path / "out", workers=2, run=dying_run, quiet=True)
    assert counts == {"runs": 6, "done": 5, "failed": 1}
    runs = read_csv(tmp_path / "out" / "runs.csv")
    dead = runs[runs["status"] == "failed"]
    assert list(dead["seed"]) == [2] and list(dead[MIX]) == [0.0]
    assert list(dead["error"]) == ["worker process died"]


def test_failing_run_exits_with_status_one(failing, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "run_one", failing_run)
    out = tmp_path / "out"
    assert main(["batch", str(failing), "--workers", "1", "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "5 of 6 runs done, 1 failed" in captured.out
    assert "1 run(s) failed" in captured.err
    check_one_failed(out)


# ---------------------------------------------------------------------------------------------
# 5 and 6. sensitivity designs


@pytest.fixture(scope="module")
def busy(tmp_path_factory) -> Path:
    """200 residents: park capacities of 2 turn people away (the parks here are not open spaces)."""
    folder = tmp_path_factory.mktemp("busy")
    write_small(folder, residents=200, extra="\n[facility_types.park]\nopen_space = false\n")
    return folder


@pytest.fixture(scope="module")
def morris(busy) -> tuple[Path, Path]:
    experiment = busy / "morris.toml"
    experiment.write_text(MORRIS, encoding="utf-8")
    out = busy / "morris-out"
    assert main(["batch", str(experiment), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    return experiment, out


def test_morris_design(morris):
    experiment, out = morris
    runs = read_csv(out / "runs.csv")
    spec, points, design, members = build_runs(load_experiment(experiment))
    assert design.shape == (4 * (2 + 1), 2)  # trajectories x (parameters + 1) points
    assert sum(len(ids) for ids in members.values()) == 4 * (2 + 1) * 2  # ... x seeds
    # points that repeat after rounding run once: one run per distinct (point, seed)
    distinct = {(p[CAP], p[MIX]) for p in points}
    assert len(runs) == len(spec) == len(distinct) * 2
    assert set(runs["status"]) == {"done"}
    assert runs[CAP].dtype.kind == "i"  # the integer key is rounded at every design point
    assert set(runs[CAP]) == {int(round(v)) for v in design[:, 0]}
    assert set(runs[CAP]) <= set(range(2, 41))
    assert runs[MIX].between(0.0, 1.0).all()
    sensitivity = read_csv(out / "sensitivity.csv")
    assert list(sensitivity.columns[:5]) == ["parameter", "metric", "mu_star", "mu_star_conf", "sigma"]
    columns = ["parameter", "metric", "mu_star", "mu_star_conf", "sigma", "mu", "scenario"]
    assert list(sensitivity.columns[: len(columns)]) == columns  # then the design's size, seed noise, flag
    assert len(sensitivity) == 2 * 2
    for metric in ("access.park.mean_min", "usage.park.turned_away"):
        chart = out / "plots" / f"morris_small_{metric}.png"
        assert chart.read_bytes().startswith(PNG)


def test_morris_every_design_point_gets_its_seed_mean(morris):
    """The analysis is fed the seed means at all 12 design points (some points of the design repeat)."""
    experiment, out = morris
    _, points, _, members = build_runs(load_experiment(experiment))
    results = read_csv(out / "results.csv")
    ids = [members[("small", p)] for p in range(len(points))]
    means = tables.point_means(results, ids, ["usage.park.turned_away"])["usage.park.turned_away"]
    assert len(means) == len(points) == 12
    assert np.isfinite(means).all(), f"design points without a value: {np.flatnonzero(~np.isfinite(means))}"
    # a point's value is the mean of its own seeds' runs, computed here from results.csv
    values = results[results["metric"] == "usage.park.turned_away"].set_index("run_id")["value"]
    assert means[0] == pytest.approx(values.loc[ids[0]].mean(), rel=1e-12)


def test_morris_indices(morris):
    _, out = morris
    sensitivity = read_csv(out / "sensitivity.csv").set_index(["parameter", "metric"])
    # walking access is fixed before anyone moves: a park's capacity cannot change it
    assert sensitivity.loc[(CAP, "access.park.mean_min"), "mu_star"] == 0.0
    assert sensitivity.loc[(CAP, "access.park.mean_min"), "sigma"] == 0.0
    # at 200 residents a capacity of 2 turns people away, a capacity of 40 far fewer
    assert sensitivity.loc[(CAP, "usage.park.turned_away"), "mu_star"] > 0.0
    assert np.isfinite(sensitivity["mu_star_conf"]).all()


def test_sobol(busy):
    experiment = busy / "sobol.toml"
    experiment.write_text(SOBOL, encoding="utf-8")
    out = busy / "sobol-out"
    assert main(["batch", str(experiment), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    runs = read_csv(out / "runs.csv")
    assert len(runs) == 4 * (2 + 2) * 1  # samples x (parameters + 2) x seeds, no second-order indices
    assert set(runs["status"]) == {"done"}
    assert runs[CAP].dtype.kind == "i"
    sensitivity = read_csv(out / "sensitivity.csv")
    columns = ["parameter", "metric", "S1", "S1_conf", "ST", "ST_conf", "scenario"]
    assert list(sensitivity.columns[: len(columns)]) == columns  # then the design's size, seed noise, flag
    assert len(sensitivity) == 2 * 2
    assert np.isfinite(sensitivity[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    turned = sensitivity[sensitivity["metric"] == "usage.park.turned_away"].set_index("parameter")
    assert turned.loc[CAP, "ST"] > turned.loc[MIX, "ST"]  # capacity, not mixing, decides who is turned away
    for metric in ("usage.park.turned_away", "usage.park.visits"):
        assert (out / "plots" / f"sobol_small_{metric}.png").read_bytes().startswith(PNG)


# ---------------------------------------------------------------------------------------------
# 7. bad experiment files

HEAD = 'name = "bad"\nscenarios = ["small.toml"]\n'
BAD = {
    "unknown_key": (HEAD + "seeds = [1]\nseeed = [2]\n", ["seeed", "did you mean 'seeds'"]),
    "missing_scenario": (
        'name = "bad"\nscenarios = ["wuhai_life_circel"]\nseeds = [1]\n',
        ["scenarios[0]", "'wuhai_life_circle'"],
    ),
    "empty_seeds": (HEAD + "seeds = []\n", ["seeds:"]),
    "min_above_max": (
        HEAD + f'seeds = [1]\n[sensitivity]\nmethod = "morris"\n[sensitivity.parameters]\n'
        f'"{MIX}" = {{ min = 0.8, max = 0.2 }}\n',
        [f'sensitivity.parameters."{MIX}"', "min (0.8) must be below max (0.2)"],
    ),
    "invalid_value": (HEAD + f'seeds = [1]\n[parameters]\n"{MIX}" = [0.5, 1.5]\n', [MIX, "1.5"]),
    "not_a_scenario_key": (HEAD + 'seeds = [1]\n[parameters]\n"population.mixng" = [0.5]\n', ["population.mixng"]),
    "unknown_metric": (HEAD + 'seeds = [1]\nmetrics = ["usage.park.visit"]\n', ["metrics[0]", "usage.park.visits"]),
    "grid_and_sensitivity": (
        HEAD + f'seeds = [1]\n[parameters]\n"{MIX}" = [0.5]\n[sensitivity]\nmethod = "morris"\n'
        f'[sensitivity.parameters]\n"{MIX}" = {{ min = 0.0, max = 1.0 }}\n',
        ["sensitivity:", "[parameters]"],
    ),
    "toml_syntax": (HEAD + "seeds = [1,, 2]\n", ["TOML syntax error", "line 3"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_experiment_file(case, tmp_path, monkeypatch, capsys):
    text, words = BAD[case]
    experiment = experiment_in(tmp_path, text, f"{case}.toml")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["batch", str(experiment), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines
    assert all(line.startswith(f"{case}.toml:") for line in lines), err  # every problem names the file
    for word in words:
        assert word in err, (word, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written: no results/bad
    assert not (tmp_path / "results").exists()


def test_bad_experiment_file_from_the_command_line(tmp_path):
    text, _ = BAD["invalid_value"]
    experiment = experiment_in(tmp_path, text, "bad.toml")
    proc = batch_cli(experiment, "--out", "out")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith('bad.toml: parameters."population.mixing"[1]:')
    assert "1.5" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
