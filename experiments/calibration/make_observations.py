"""Write experiments/calibration/observations.csv: figures of the demo made by the model itself (a synthetic check).

NOT real data. The demo is run for one day with seed 2027 (no seed of the calibration, which uses
1 to 3) at the stated values of ``TRUE`` below, and a few of its figures are written as if they
had been counted on site: a calibration (``lifecircle calibrate experiments/calibration/demo.toml``)
should find those values within its intervals. Run from the repository root:

    python -m experiments.calibration.make_observations
"""

from __future__ import annotations

from pathlib import Path

from model.batch.calibration.figures import run_figures
from model.measures.summary import flatten
from model.model import LifeCircleModel
from model.scenario import load_scenario

HERE = Path(__file__).parent
TRUE = {"facility_types.market.daily_prob": 0.35, "facility_types.park.daily_prob": 0.1}
SEED = 2027
# (figure, key, facility, type, hour, sd): the figures observed
WANTED = [
    ("visits_per_day", "", 8, "", "", ""),
    ("visits_per_day", "", 9, "", "", ""),
    ("occupancy", "", 13, "", 19, ""),
    ("occupancy", "", "", "park", 6, "2"),
    ("share_using", "", "", "elderly_care", "", "0.01"),
    ("summary", "usage.convenience.visits", "", "", "", ""),
]


def main() -> None:
    """Run the demo at the stated values and write the observations."""
    scenario = load_scenario("demo", overrides=TRUE, overrides_file="make_observations.py")
    model = LifeCircleModel(scenario, seed=SEED, days=1, engine="fast")
    model.run()
    flat = flatten(model.summary())
    figures = run_figures(model, flat)
    lines = [
        "# A SYNTHETIC CHECK, NOT REAL DATA: figures of the demo made by the model itself (seed 2027, one day)",
        "# at facility_types.market.daily_prob = 0.35 and facility_types.park.daily_prob = 0.1;",
        "# written by python -m experiments.calibration.make_observations",
        "figure,key,facility,type,hour,value,sd",
    ]
    for figure, key, facility, kind, hour, sd in WANTED:
        if figure == "summary":
            value = flat[key]
        elif figure == "visits_per_day":
            value = figures[f"visits_per_day.{facility}"]
        elif figure == "share_using":
            value = figures[f"share_using.{kind}"]
        elif facility != "":
            value = figures[f"occupancy.facility.{facility}.{hour}"]
        else:
            value = figures[f"occupancy.type.{kind}.{hour}"]
        lines.append(f"{figure},{key},{facility},{kind},{hour},{float(value)!r},{sd}")
    (HERE / "observations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
