"""The worked notebook (experiments/notebooks/experiment_to_figure.ipynb), executed on a small case.

The notebook's first code cell holds its parameters (tagged "parameters", as papermill reads
them); the test replaces it with a small case (the tests' small two-community scenario in
5-minute ticks, whose elderly-care centre the grid and the screen vary; tiny designs with
``allow_small``; one worker; the bundled synthetic check's calibration of the market's and the
park's daily probabilities, on the small scenario, with a budget of 12 points, the least for two
parameters) and runs every cell with nbclient in the notebook's own folder, as a reader would.
Its tables are then checked against what they must be, recomputed here from the batch's
run-level Parquet table.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import tomli_w
from nbclient import NotebookClient

from model.batch.calibration.figures import run_figures
from model.measures.summary import flatten
from model.model import LifeCircleModel
from model.scenario import load_scenario
from tests.conftest import write_small

NOTEBOOK = Path(__file__).resolve().parents[1] / "experiments" / "notebooks" / "experiment_to_figure.ipynb"
CAPACITY = "facility_types.elderly_care.capacity"


def small_parameters(out: Path, scenario: Path, calibration: Path) -> str:
    return "\n".join(
        [
            f"SCENARIO = {str(scenario)!r}",
            "CAPACITIES = [10, 40]",
            'PRECISION = {"target_halfwidth": 0.5, "min": 2, "max": 3}',
            "TRAJECTORIES = 2",
            "SEEDS_PER_POINT = 2",
            "ALLOW_SMALL = True",
            f"CALIBRATION = Path({str(calibration)!r})",
            "CALIBRATION_BUDGET = 12",
            # one worker: the runs in the command's own process (a pool's two workers would each
            # import the model again for a few one-second runs; tests/test_batch_pool.py tests the pool)
            "WORKERS = 1",
            f"OUT = Path({str(out)!r})",
            "from pathlib import Path",
        ]
    )


def small_calibration(folder: Path, scenario: Path) -> Path:
    """The bundled synthetic check (experiments/calibration/demo.toml: the market's and the park's
    daily probabilities, observations made by the model at 0.35 and 0.1) on the small scenario:
    its observations made here as experiments/calibration/make_observations.py makes the demo's."""
    bundled = tomllib.loads((NOTEBOOK.parents[1] / "calibration" / "demo.toml").read_text(encoding="utf-8"))
    true = {"facility_types.market.daily_prob": 0.35, "facility_types.park.daily_prob": 0.1}
    model = LifeCircleModel(load_scenario(scenario, overrides=true, overrides_file="test"), seed=2027, engine="fast")
    model.run()
    figures = run_figures(model, flatten(model.summary()))
    market, park = (int(model.city.facilities.query(f"type == '{t}'")["id"].iloc[0]) for t in ("market", "park"))
    (folder / "observations.csv").write_text(
        "figure,key,facility,type,hour,value,sd\n"
        f"visits_per_day,,{market},,,{figures[f'visits_per_day.{market}']!r},\n"
        f"visits_per_day,,{park},,,{figures[f'visits_per_day.{park}']!r},\n"
        f"occupancy,,,park,8,{figures['occupancy.type.park.8']!r},2\n",
        encoding="utf-8",
    )
    calibration = {**bundled, "scenario": str(scenario), "observations": "observations.csv"}
    path = folder / "calibration.toml"
    path.write_text(tomli_w.dumps(calibration), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebook")
    inputs = tmp_path_factory.mktemp("notebook_inputs")
    # 2 x 200 residents in 5-minute ticks: a run of a second or less (the demo's took 2 s, and 100 were made)
    scenario = write_small(inputs, residents=200, extra="[simulation]\ntick_min = 5\n")
    calibration = small_calibration(inputs, scenario)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "the notebook has one parameters cell"
    tagged[0].source = "from pathlib import Path\n" + small_parameters(out, scenario, calibration)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    return notebook, out


def test_the_committed_notebook_holds_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_every_cell_runs_and_the_figure_is_written(executed):
    notebook, out = executed
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    png = (out / "figure.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert (out / "figure.pdf").read_bytes()[:5] == b"%PDF-"


def test_the_grid_tables_are_the_means_of_the_runs(executed):
    _, out = executed
    results = pd.read_parquet(out / "grid" / "results.parquet")
    summary = pd.read_parquet(out / "grid" / "summary.parquet")
    assert str(summary[CAPACITY].dtype) == "int64"
    for (capacity, metric), values in results.groupby([CAPACITY, "metric"])["value"]:
        row = summary[(summary[CAPACITY] == capacity) & (summary["metric"] == metric)].iloc[0]
        assert row["n"] == values.count()
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-12)
    # the seeds each capacity got are 1..n, n between the file's min and max
    replicates = pd.read_csv(out / "grid" / "replicates.csv")
    for capacity, part in results.groupby(CAPACITY):
        seeds = sorted(part["seed"].unique())
        assert seeds == list(range(1, len(seeds) + 1)) and 2 <= len(seeds) <= 3
        assert set(replicates.loc[replicates[CAPACITY] == capacity, "seeds"]) == {len(seeds)}


def test_the_screen_and_the_calibration_are_read_from_their_files(executed):
    _, out = executed
    screen = tomllib.loads((out / "screen.toml").read_text(encoding="utf-8"))
    sensitivity = pd.read_csv(out / "screen" / "sensitivity.csv")
    assert list(sensitivity["parameter"]) == list(screen["sensitivity"]["parameters"])
    assert set(sensitivity["N"]) == {2} and set(sensitivity["seeds_per_point"]) == {2}
    calibration = pd.read_csv(out / "calibration" / "calibration.csv")
    assert np.all(calibration["ci95_low"] <= calibration["best"])
    assert np.all(calibration["best"] <= calibration["ci95_high"])
    assert np.all((calibration["min"] <= calibration["ci95_low"]) & (calibration["ci95_high"] <= calibration["max"]))
