"""Analysis-ready batch outputs (issue 21 item 5), on a cheap fake run function (no model runs).

- ``metrics`` limits what results.csv and summary.csv store: the listed figures and their
  ``static.``/``diff.`` twins; ``store = "all"`` (or no list) stores every scalar; the run records
  keep every scalar, so a resumed batch with more metrics listed runs nothing again;
- runs, results and summary as Parquet: the column types (scenario string, int, float, bool
  and time parameters, seed int64, metric string, value float64, run_id string) and the values
  equal to the CSV's, row by row; the same bytes for the same batch;
- batch.json: the command, its folder, start, end and wall time, workers or scheduler, and
  every invocation in ``history`` (an interrupted one without an end, then the resume).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from model.batch import runner
from model.batch.batch import run_batch
from model.batch.experiment import load_experiment
from model.cli import main
from tests.conftest import read_exact_csv, write_small

MIX = "population.mixing"
CAP = "facility_types.park.capacity"
LEARN = "simulation.learning"
START = "simulation.day_start"
VISITS, MEAN_MIN, UNMET = "usage.park.visits", "access.park.mean_min", "usage.park.unmet_share"

HEAD = f"""
name = "out"
scenarios = ["small.toml"]
seeds = [1, 2, 3]

[parameters]
"{MIX}" = [0.0, 0.5]
"{CAP}" = [2, 40]
"{LEARN}" = [true, false]
"{START}" = ["07:00", "08:00"]
"""
RUNS = 2 * 2 * 2 * 2 * 3


def fake_run(spec) -> dict:
    """A run record computed from the parameters and seed: every scalar a real run gives, in few names.

    ``usage.park.visits`` has a static twin and their difference; ``usage.park.unmet_share`` is
    undefined (None) at mixing 0.
    """
    p = spec.parameters
    visits = 10.0 * spec.seed + p.get(CAP, 0) + (5.0 if p.get(LEARN) else 0.0)
    static = 30.0 + p.get(CAP, 0)
    metrics = {
        MEAN_MIN: 3.0 + p.get(MIX, 0.0) / 3,
        VISITS: visits,
        f"static.{VISITS}": static,
        f"diff.{VISITS}": visits - static,
        UNMET: None if p.get(MIX) == 0.0 else 0.1 * spec.seed,
        "usage.market.visits": 7.0 * spec.seed,
        f"static.{MEAN_MIN}": 2.5,
        f"diff.{MEAN_MIN}": 0.5 + p.get(MIX, 0.0) / 3,
    }
    return {"run_id": spec.run_id, "status": "done", "error": "", "metrics": metrics, "wall_s": 0.25}


def never_run(spec) -> dict:
    raise AssertionError(f"run {spec.run_id} ran again")


def interrupted_run(spec) -> dict:
    """The third run is interrupted (as by Ctrl-C): the batch stops before its tables."""
    if spec.index == 2:
        raise KeyboardInterrupt
    return fake_run(spec)


def experiment(folder: Path) -> Path:
    """The experiment with no metric listed."""
    return with_metrics(folder, [])


def with_metrics(folder: Path, metrics: list[str], store: str | None = None) -> Path:
    lines = (f"metrics = {json.dumps(metrics)}\n" if metrics else "") + (f'store = "{store}"\n' if store else "")
    text = HEAD.replace("\n[parameters]", "\n" + lines + "\n[parameters]")
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "small.toml").exists():
        write_small(folder, residents=60)
    path = folder / "out.toml"
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path: Path) -> pd.DataFrame:
    return read_exact_csv(path, keep_default_na=False, na_values=[""])


def metrics_of(out: Path, table: str = "results.csv") -> list[str]:
    return list(dict.fromkeys(read_csv(out / table)["metric"]))


# --------------------------------------------------------------------------- what results.csv stores


def test_listed_metrics_and_their_twins_only(listed):
    counts, out = listed
    assert counts == {"runs": RUNS, "done": RUNS, "failed": 0}
    # charts against the numbers and true/false swept, none against the day's start (a time)
    charts = sorted(p.name for p in (out / "plots").iterdir())
    assert charts == sorted(f"{m}_vs_{p}.png" for m in (VISITS, UNMET) for p in (MIX, CAP, LEARN))
    # in the order of the records; UNMET has no twins, VISITS both; MEAN_MIN and market are not listed
    assert metrics_of(out) == [VISITS, f"static.{VISITS}", f"diff.{VISITS}", UNMET]
    assert metrics_of(out, "summary.csv") == metrics_of(out)
    results = read_csv(out / "results.csv")
    assert len(results) == RUNS * 4
    # the record of every run keeps every scalar
    for path in (out / "runs").glob("*.json"):
        assert len(json.loads(path.read_text(encoding="utf-8"))["metrics"]) == 8
    assert len(list((out / "runs").glob("*.json"))) == RUNS


@pytest.mark.parametrize("store", ["all", None])
def test_every_scalar_when_asked_or_when_nothing_is_listed(tmp_path, store):
    path = with_metrics(tmp_path, [VISITS], "all") if store else experiment(tmp_path)
    out = tmp_path / "out"
    run_batch(load_experiment(path), out, run=fake_run, quiet=True)
    assert metrics_of(out) == list(fake_run(_one_spec(path))["metrics"])
    assert len(read_csv(out / "results.csv")) == RUNS * 8


def _one_spec(path: Path):
    from model.batch.design import build_runs

    return build_runs(load_experiment(path))[0][0]


def test_a_resumed_batch_with_more_metrics_runs_nothing_again(tmp_path):
    out = tmp_path / "out"
    run_batch(load_experiment(with_metrics(tmp_path, [VISITS])), out, run=fake_run, quiet=True)
    assert metrics_of(out) == [VISITS, f"static.{VISITS}", f"diff.{VISITS}"]
    records = {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}
    counts = run_batch(load_experiment(with_metrics(tmp_path, [VISITS, MEAN_MIN])), out, run=never_run, quiet=True)
    assert counts == {"runs": RUNS, "done": RUNS, "failed": 0}  # never_run would have failed a run
    assert {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")} == records
    assert metrics_of(out) == [
        MEAN_MIN,
        VISITS,
        f"static.{VISITS}",
        f"diff.{VISITS}",
        f"static.{MEAN_MIN}",
        f"diff.{MEAN_MIN}",
    ]
    # the same table as a batch run at once with both metrics
    whole = tmp_path / "whole"
    run_batch(load_experiment(tmp_path / "out.toml"), whole, run=fake_run, quiet=True)
    assert (out / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    history = json.loads((out / "batch.json").read_text(encoding="utf-8"))["history"]
    assert [h["ran"] for h in history] == [RUNS, 0]


# --------------------------------------------------------------------------- Parquet


@pytest.fixture(scope="module")
def listed(tmp_path_factory) -> tuple[dict, Path]:
    """The batch listing VISITS and UNMET: its counts and folder (read by the Parquet tests too)."""
    folder = tmp_path_factory.mktemp("parquet")
    out = folder / "out"
    return run_batch(load_experiment(with_metrics(folder, [VISITS, UNMET])), out, run=fake_run, quiet=True), out


@pytest.fixture(scope="module")
def batch(listed) -> Path:
    return listed[1]


PARAMETER_TYPES = {MIX: pa.float64(), CAP: pa.int64(), LEARN: pa.bool_(), START: pa.string()}


def test_parquet_column_types(batch):
    results = pq.read_schema(batch / "results.parquet")
    assert results.names == ["run_id", "scenario", "seed", MIX, CAP, LEARN, START, "metric", "value"]
    expected = {"run_id": pa.string(), "scenario": pa.string(), "seed": pa.int64(), "metric": pa.string()}
    expected.update(PARAMETER_TYPES, value=pa.float64())
    assert {f.name: f.type for f in results} == expected
    summary = pq.read_schema(batch / "summary.parquet")
    assert summary.names == ["scenario", MIX, CAP, LEARN, START, "metric", "n", "mean", "std", "ci95_low", "ci95_high"]
    assert {f.name: f.type for f in summary} == {
        "scenario": pa.string(),
        **PARAMETER_TYPES,
        "metric": pa.string(),
        "n": pa.int64(),
        **dict.fromkeys(["mean", "std", "ci95_low", "ci95_high"], pa.float64()),
    }
    runs = pq.read_schema(batch / "runs.parquet")
    assert runs.names == list(read_csv(batch / "runs.csv").columns)
    assert runs.field("seed").type == pa.int64() and runs.field("wall_s").type == pa.float64()
    assert runs.field(CAP).type == pa.int64() and runs.field(LEARN).type == pa.bool_()
    assert all(runs.field(n).type == pa.string() for n in ("run_id", "status", "error", "code_sha256"))


@pytest.mark.parametrize("name", ["runs", "results", "summary"])
def test_parquet_values_are_the_csv_values(batch, name):
    csv = read_csv(batch / f"{name}.csv")
    table = pq.read_table(batch / f"{name}.parquet")
    assert table.num_rows == len(csv) > 0
    rows = table.to_pylist()
    nulls = 0
    for (_, expected), got in zip(csv.iterrows(), rows, strict=True):
        assert list(got) == list(csv.columns)
        for column, value in expected.items():
            if isinstance(value, float) and math.isnan(value):  # empty in the CSV: null, or empty text
                assert got[column] is None or got[column] == "", (column, got)
                nulls += got[column] is None
            elif column == LEARN:
                assert got[column] is (value in (True, "True")), (column, value, got[column])
            else:
                assert got[column] == value and type(got[column]) is type(value), (column, value, got[column])
    if name != "runs":
        assert nulls > 0  # the undefined unmet share (results) and the spread of one value are null


def test_parquet_values_by_hand(batch):
    """One row of each table against values computed here from fake_run."""
    results = pq.read_table(batch / "results.parquet").to_pylist()
    row = next(r for r in results if r["seed"] == 3 and r[CAP] == 40 and r[LEARN] and r["metric"] == VISITS)
    assert row["value"] == 10.0 * 3 + 40 + 5.0
    summary = pq.read_table(batch / "summary.parquet").to_pylist()
    rows = [r for r in summary if r[CAP] == 2 and not r[LEARN] and r["metric"] == VISITS and r[MIX] == 0.5]
    assert len(rows) == 2  # the two day starts
    assert {r[START] for r in rows} == {"07:00", "08:00"}
    for r in rows:
        assert r["n"] == 3 and r["mean"] == (10 + 20 + 30) / 3 + 2 and r["std"] == 10.0
    unmet = [r for r in summary if r["metric"] == UNMET and r[MIX] == 0.0]
    assert unmet and all(r["n"] == 0 and r["mean"] is None for r in unmet)


def test_parameters_a_case_leaves_out_are_nulls_of_their_type(tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    write_small(folder, residents=60)
    path = folder / "cases.toml"
    body = f'name = "cases"\nscenarios = ["small.toml"]\nseeds = [1, 2]\n[[cases]]\n"{MIX}" = 0.5\n'
    body += (
        f'[[cases]]\n"{CAP}" = 40\n"{LEARN}" = true\n[[cases]]\n"population.groups" = {{ a = 0.5, b = 0.3, c = 0.2 }}\n'
    )
    path.write_text(body, encoding="utf-8")
    run_batch(load_experiment(path), tmp_path / "out", run=fake_run, quiet=True)
    runs = pq.read_table(tmp_path / "out" / "runs.parquet")
    assert runs.schema.field(CAP).type == pa.int64() and runs.schema.field(LEARN).type == pa.bool_()
    assert runs.schema.field(MIX).type == pa.float64()
    assert runs.schema.field("population.groups").type == pa.string()  # a table of shares, as JSON
    assert runs.column(CAP).to_pylist() == [None, None, 40, 40, None, None]
    assert runs.column(LEARN).to_pylist() == [None, None, True, True, None, None]
    assert runs.column(MIX).to_pylist() == [0.5, 0.5, None, None, None, None]
    groups = runs.column("population.groups").to_pylist()
    assert groups[:4] == [None] * 4 and [json.loads(g) for g in groups[4:]] == [{"a": 0.5, "b": 0.3, "c": 0.2}] * 2
    results = pq.read_table(tmp_path / "out" / "results.parquet")
    assert results.schema.field(CAP).type == pa.int64()
    assert results.num_rows == 6 * 8
    # a table-valued parameter is JSON text in the CSVs too, one group of summary.csv per case
    summary = read_csv(tmp_path / "out" / "summary.csv")
    shares = summary["population.groups"].dropna()
    assert set(shares) == {'{"a": 0.5, "b": 0.3, "c": 0.2}'}
    assert len(summary[summary["metric"] == VISITS]) == 3 and (summary["n"] == 2).any()


def test_the_same_batch_writes_the_same_parquet_bytes(batch, tmp_path):
    again = tmp_path / "again"
    run_batch(load_experiment(batch.parent / "out.toml"), again, run=fake_run, quiet=True)
    for name in ("runs", "results", "summary"):
        if name != "runs":  # runs.parquet holds each run's wall time
            assert (again / f"{name}.parquet").read_bytes() == (batch / f"{name}.parquet").read_bytes(), name


# --------------------------------------------------------------------------- batch.json


def test_batch_json_of_the_command(tmp_path, monkeypatch):
    path = with_metrics(tmp_path, [VISITS])
    monkeypatch.setattr(runner, "run_one", fake_run)
    monkeypatch.chdir(tmp_path)
    argv = ["batch", "out.toml", "--workers", "1", "--out", "o", "--quiet"]
    before = datetime.now().astimezone().replace(microsecond=0)
    assert main(argv) == 0
    after = datetime.now().astimezone()
    record = json.loads((tmp_path / "o" / "batch.json").read_text(encoding="utf-8"))
    assert record["command"] == ["lifecircle", *argv]
    assert record["cwd"] == str(tmp_path)
    start, end = datetime.fromisoformat(record["start"]), datetime.fromisoformat(record["end"])
    assert before <= start <= end <= after
    assert 0 < record["wall_s"] <= (after - before).total_seconds() + 1
    assert record["workers"] == 1 and record["scheduler"] is None
    assert record["counts"] == {"runs": RUNS, "done": RUNS, "failed": 0}
    assert record["finished"] == record["end"]
    assert {"versions", "machine", "code_sha256", "version", "experiment", "experiment_file"} <= set(record)
    assert record["store"] == "listed"
    (entry,) = record["history"]
    assert entry["ran"] == RUNS and entry["done"] == RUNS and entry["failed"] == 0
    assert entry["start"] == record["start"] and entry["end"] == record["end"]
    assert entry["command"] == record["command"]
    assert path.exists()


def test_history_keeps_every_invocation_an_interrupted_one_included(tmp_path):
    path = with_metrics(tmp_path, [VISITS])
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(load_experiment(path), out, run=interrupted_run, quiet=True, command=["lifecircle", "first"])
    assert not (out / "batch.json").exists()  # no tables nor batch.json after an interrupted batch
    run_batch(load_experiment(path), out, run=fake_run, quiet=True, command=["lifecircle", "second"], scheduler=None)
    run_batch(load_experiment(path), out, run=never_run, quiet=True, command=["lifecircle", "third"], workers=3)
    record = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    history = record["history"]
    assert [h["command"] for h in history] == [
        ["lifecircle", "first"],
        ["lifecircle", "second"],
        ["lifecircle", "third"],
    ]
    first, second, third = history
    assert first["end"] is None and first["ran"] is None  # killed: it never ended
    assert second["ran"] == RUNS - 2 and second["done"] == RUNS and second["failed"] == 0
    assert third["ran"] == 0 and third["workers"] == 3
    assert [h["start"] for h in history] == sorted(h["start"] for h in history)
    assert record["command"] == ["lifecircle", "third"] and record["workers"] == 3


def test_history_after_overwrite_starts_again(tmp_path, monkeypatch):
    with_metrics(tmp_path, [VISITS])
    monkeypatch.setattr(runner, "run_one", fake_run)
    monkeypatch.chdir(tmp_path)
    assert main(["batch", "out.toml", "--workers", "1", "--out", "o", "--quiet"]) == 0
    assert main(["batch", "out.toml", "--workers", "1", "--out", "o", "--quiet", "--resume"]) == 0
    assert len(json.loads((tmp_path / "o" / "batch.json").read_text(encoding="utf-8"))["history"]) == 2
    assert main(["batch", "out.toml", "--workers", "1", "--out", "o", "--quiet", "--overwrite"]) == 0
    (entry,) = json.loads((tmp_path / "o" / "batch.json").read_text(encoding="utf-8"))["history"]
    assert entry["ran"] == RUNS and "--overwrite" in entry["command"]


def test_a_batch_json_of_an_earlier_version_opens_the_history(tmp_path):
    path = with_metrics(tmp_path, [VISITS])
    out = tmp_path / "out"
    run_batch(load_experiment(path), out, run=fake_run, quiet=True)
    old = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    for key in ("history", "command", "cwd", "start", "end", "wall_s", "workers", "scheduler", "store"):
        del old[key]
    (out / "batch.json").write_text(json.dumps(old), encoding="utf-8")
    (out / "history.jsonl").unlink()
    run_batch(load_experiment(path), out, run=never_run, quiet=True)
    history = json.loads((out / "batch.json").read_text(encoding="utf-8"))["history"]
    assert history[0] == {"start": None, "end": old["finished"], "ran": None, "done": RUNS, "failed": 0}
    assert history[1]["ran"] == 0 and len(history) == 2
