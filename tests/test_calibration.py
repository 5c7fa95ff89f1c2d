"""``lifecircle calibrate``: known values recovered, figures and likelihood by hand, bad input refused.

- recovery: observations made in this test by the model itself (LifeCircleModel run directly, the
  occupancy counted minute by minute from the visit log here, not by the calibration code) at a
  known market visiting probability; the calibration of the small scenario (two communities,
  two markets) finds it within its 95%
  interval, which is narrower than the range searched; ``--resume`` then runs nothing (a runner
  that fails every run is put in its place) and writes the same bytes;
- the figures (occupancy by clock hour, share using) on hand-worked visit logs;
- the synthetic likelihood against scipy.stats.norm, the profile interval of an exactly known
  Gaussian case (θ̂ ± 1.96 σ/slope, to the profile's bin);
- bad calibration files and bad observation CSVs: exit 2, the file, line and column named, the
  closest facility, column, figure or key suggested, no traceback, nothing written.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from model.batch.calibration import figures, likelihood
from model.batch.calibration.observations import Observation
from model.cli import main
from model.model import LifeCircleModel
from model.scenario import load_scenario
from tests.conftest import write_small

PNG = b"\x89PNG\r\n\x1a\n"
MARKET = "facility_types.market.daily_prob"
TRUE = 0.35  # the catalogue gives 0.3: the observations are made at another value
LOW, HIGH = 0.1, 0.6
OBSERVED_SEEDS = (101, 102, 103, 104)  # none of the calibration's seeds (1-3)


# --------------------------------------------------------------------------- recovery, end to end


def _occupancy_by_brute_force(model, facility: int, hour: int) -> float:
    """People present at ``facility`` in clock hour ``hour``, minute by minute over the simulated minutes."""
    log = model.visit_log.columns()
    start, end = model.clock.sim.day_start_min, model.clock.sim.day_end_min
    total, minutes = 0, 0
    for day in range(model.days):
        for clock in range(60 * hour, 60 * hour + 60):
            if not start <= clock < end:
                continue
            run_minute = 1440 * day + clock - start
            minutes += 1
            here = (log["facility"] == facility) & (log["arrive_min"] <= run_minute) & (log["leave_min"] > run_minute)
            total += int(here.sum())
    return total / minutes


SECOND_MARKET = '\n[[facilities]]\ntype = "market"\nat = [15, 4]\n'


@pytest.fixture(scope="module")
def small_two_markets(tmp_path_factory):
    """The small scenario (2 x 400 residents, 5-minute ticks) with a market in each community: a
    run takes a fraction of the demo's (3,000 residents, 1-minute ticks), and 39 are made."""
    extra = SECOND_MARKET + "[simulation]\ntick_min = 5\n"
    return write_small(tmp_path_factory.mktemp("calibration"), extra=extra)


@pytest.fixture(scope="module")
def observed(small_two_markets):
    """The small scenario's market figures at market.daily_prob = 0.35, mean of four observed days (seeds 101-104)."""
    scenario = load_scenario(small_two_markets, overrides={MARKET: TRUE}, overrides_file="test")
    visits, occupancy = [], []
    for seed in OBSERVED_SEEDS:
        model = LifeCircleModel(scenario, seed=seed, days=1, engine="fast")
        model.run()
        markets = model.city.facilities.query("type == 'market'")["id"].tolist()
        visits.append(model.facility_totals()["visits"][markets[0]])
        occupancy.append(_occupancy_by_brute_force(model, markets[1], 8))
    return markets, float(np.mean(visits)), float(np.mean(occupancy))


@pytest.fixture(scope="module")
def calibrated(observed, small_two_markets):
    markets, visits, occupancy = observed
    folder = small_two_markets.parent
    (folder / "obs.csv").write_text(
        "# made by the model at market.daily_prob = 0.35 (tests/test_calibration.py)\n"
        "figure,facility,hour,value\n"
        f"visits_per_day,{markets[0]},,{visits!r}\n"
        f"occupancy,{markets[1]},8,{occupancy!r}\n",
        encoding="utf-8",
    )
    (folder / "calib.toml").write_text(
        'name = "market"\nscenario = "small.toml"\nobservations = "obs.csv"\nreplicates = 3\n'
        f'[parameters]\n"{MARKET}" = {{ min = {LOW}, max = {HIGH} }}\n'
        "[method]\nbudget = 12\nbatch = 6\nseed = 4\n",
        encoding="utf-8",
    )
    out = folder / "out"
    assert main(["calibrate", str(folder / "calib.toml"), "--workers", "1", "--out", str(out), "--quiet"]) == 0
    return folder, out


def test_the_known_value_lies_in_a_narrow_interval(calibrated):
    _, out = calibrated
    table = pd.read_csv(out / "calibration.csv")
    row = table.set_index("parameter").loc[MARKET]
    assert row["ci95_low"] <= TRUE <= row["ci95_high"], row
    assert row["ci95_low"] <= row["best"] <= row["ci95_high"]
    assert row["ci95_high"] - row["ci95_low"] < 0.5 * (HIGH - LOW), row  # the observations narrow the range
    assert row["points"] == 12


def test_the_outputs_describe_the_fit(calibrated, observed):
    _, out = calibrated
    _, visits, occupancy = observed
    fit = pd.read_csv(out / "fit.csv")
    assert fit["figure"].tolist() == ["visits_per_day", "occupancy"]
    assert fit["observed"].tolist() == [visits, occupancy]
    assert (fit["ci95_low"] <= fit["simulated_mean"]).all() and (fit["simulated_mean"] <= fit["ci95_high"]).all()
    # the residual is the observed less the simulated mean over the likelihood's spread
    assert (np.sign(fit["residual"]) == np.sign(fit["observed"] - fit["simulated_mean"])).all()
    trials = pd.read_csv(out / "trials.csv")
    # 12 points in two rounds of 6, then the best values run over the seeds for fit.csv
    assert len(trials) == 13 and (trials["status"] == "done").all()
    assert trials["round"].tolist() == [1] * 6 + [2] * 6 + [3]
    assert trials[MARKET].between(LOW, HIGH).all()
    best = pd.read_csv(out / "calibration.csv")["best"].item()
    assert trials[MARKET].iloc[-1] == best and (fit["trial"] == 12).all()
    assert len(list((out / "runs").glob("*.json"))) == 13 * 3
    for name in ("observed_vs_simulated.png", f"profile_{MARKET}.png"):
        assert (out / "plots" / name).read_bytes()[:8] == PNG
    record = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    assert record["counts"] == {"points": 12, "failed": 0, "runs": 39}
    assert record["seeds"] == [1, 2, 3] and record["method"]["sampler"] == "tpe"
    assert "optuna" in record["versions"] and record["code_sha256"]


def _no_run(spec):
    raise AssertionError(f"run {spec.run_id} was run again")


def test_resume_runs_nothing_and_writes_the_same_bytes(calibrated, monkeypatch):
    folder, out = calibrated
    before = {n: (out / n).read_bytes() for n in ("calibration.csv", "fit.csv", "trials.csv")}
    monkeypatch.setattr("model.batch.calibration.search.run_calibration_point", _no_run)
    assert (
        main(["calibrate", str(folder / "calib.toml"), "--workers", "1", "--out", str(out), "--resume", "--quiet"]) == 0
    )
    assert {n: (out / n).read_bytes() for n in before} == before
    assert len(list((out / "runs").glob("*.json"))) == 13 * 3


def test_an_earlier_calibration_is_not_overwritten(calibrated, capsys):
    folder, out = calibrated
    assert main(["calibrate", str(folder / "calib.toml"), "--workers", "1", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


# --------------------------------------------------------------------------- figures by hand


def test_hourly_occupancy_by_hand():
    # the day 06:00-08:00 (hours 6 and 7), two days; run minute 0 is 06:00 of day 0, 1440 of day 1
    facility = np.array([0, 1, 0])
    arrive = np.array([30, 1440 + 60, 1440 + 0])  # 06:30 day 0; 07:00 day 1; 06:00 day 1
    leave = np.array([90, 1440 + 120, 1440 + 15])  # 07:30; 08:00; 06:15
    hours, table = figures.hourly_occupancy(facility, arrive, leave, 2, days=2, day_start_min=360, day_end_min=480)
    assert hours == [6, 7]
    # facility 0, hour 6: 30 + 15 person-minutes over 2 x 60 minutes; hour 7: 30 over 120
    # facility 1, hour 7: 60 over 120
    np.testing.assert_allclose(table, [[45 / 120, 30 / 120], [0.0, 60 / 120]])


def test_an_hour_the_day_covers_in_part_counts_its_simulated_minutes():
    # the day 06:30-07:45: hour 6 has 30 simulated minutes, hour 7 has 45
    assert figures.day_hours(390, 465) == [6, 7]
    hours, table = figures.hourly_occupancy(
        np.array([0]), np.array([0]), np.array([40]), 1, days=1, day_start_min=390, day_end_min=465
    )
    np.testing.assert_allclose(table, [[30 / 30, 10 / 45]])


def test_share_using_by_hand():
    # two days; resident 1 goes twice on day 0 (counted once), resident 2 on both days; 10 users
    resident = np.array([1, 1, 2, 2, 3])
    arrive = np.array([10, 50, 20, 1440 + 5, 1440 + 7])
    of_type = np.array([True, True, True, True, False])
    assert figures.share_using(resident, arrive, of_type, users=10, days=2) == pytest.approx((2 + 1) / 10 / 2)
    assert math.isnan(figures.share_using(resident, arrive, of_type, users=0, days=2))


# --------------------------------------------------------------------------- likelihood by hand


def test_log_likelihood_is_a_sum_of_normal_log_densities():
    values = np.array([[10.0, 12.0, 14.0], [1.0, 1.5, 2.0]])
    observed, sd = np.array([13.0, 0.5]), np.array([0.0, 0.3])
    v = values.var(axis=1, ddof=1) * (1 + 1 / 3) + sd**2
    expected = stats.norm.logpdf(observed, values.mean(axis=1), np.sqrt(v)).sum()
    assert likelihood.log_likelihood(values, observed, sd) == pytest.approx(expected, rel=1e-12)
    assert math.isnan(likelihood.log_likelihood(np.array([[1.0, np.nan]]), np.array([1.0]), np.array([0.0])))


def test_the_variance_floor_keeps_a_constant_figure_finite():
    values = np.array([[5.0, 5.0, 5.0]])
    expected = stats.norm.logpdf(6.0, 5.0, likelihood.MIN_RELATIVE_SD * 6.0)
    assert likelihood.log_likelihood(values, np.array([6.0]), np.array([0.0])) == pytest.approx(expected)


def test_the_profile_interval_of_a_known_gaussian_case():
    # one figure, mean 100 θ exactly, seed spread σ = 2 at every point: θ̂ = observed / 100 and the
    # profile interval θ̂ ± 1.96 √v / 100 with v = σ² e^(ln 1 - ψ(1)) (1 + 1/3) (three seeds, k = 2)
    sigma, observed = 2.0, 42.0
    points = np.linspace(0.1, 0.9, 9)[:, None]
    values = [100 * p[0] + np.array([-sigma, 0.0, sigma]) for p in points]
    found = likelihood.estimate(
        points, [v[None, :] for v in values], np.array([observed]), np.array([0.0]), [(0.0, 1.0)], [False], seed=1
    )
    v = sigma**2 * math.exp(-float(special.digamma(1.0))) * (1 + 1 / 3)
    half = stats.norm.ppf(0.975) * math.sqrt(v) / 100
    bin_width = 1.0 / likelihood.PROFILE_BINS
    assert found.best[0] == pytest.approx(observed / 100, abs=bin_width)
    assert found.low[0] == pytest.approx(observed / 100 - half, abs=bin_width)
    assert found.high[0] == pytest.approx(observed / 100 + half, abs=bin_width)
    assert found.low[0] <= observed / 100 - half + 1e-12 and found.high[0] >= observed / 100 + half - 1e-12


def test_a_figure_observed_twice_does_not_inform_twice():
    # the same noisy figure given twice (its copies move together over the seeds): the interval stays
    # near that of one observation (half-width ratio 1 with full correlation, √½ = 0.71 if taken as
    # independent); the shrinkage of the correlation, λ = 2 / (9 points x 2), leaves ρ = 0.89, so
    # the ratio is √((1 + ρ) / 2) = 0.97
    rng = np.random.default_rng(5)
    points = np.linspace(0.1, 0.9, 9)[:, None]
    one = [100 * p[0] + rng.normal(0.0, 2.0, 3)[None, :] for p in points]
    twice = [np.vstack([v, v]) for v in one]
    args = ([(0.0, 1.0)], [False])
    single = likelihood.estimate(points, one, np.array([42.0]), np.array([0.0]), *args, seed=1)
    double = likelihood.estimate(points, twice, np.array([42.0, 42.0]), np.array([0.0, 0.0]), *args, seed=1)
    np.testing.assert_allclose(double.correlation, [[1.0, 1 - 2 / 18], [1 - 2 / 18, 1.0]])
    ratio = (double.high[0] - double.low[0]) / (single.high[0] - single.low[0])
    bin_width = 1.0 / likelihood.PROFILE_BINS
    expected = math.sqrt((1 + (1 - 2 / 18)) / 2)
    assert ratio == pytest.approx(expected, abs=2 * bin_width / (single.high[0] - single.low[0]))
    assert ratio > 0.9


def test_an_integer_parameter_gets_whole_numbers():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    loglik = -0.5 * (x - 3.0) ** 2  # within 1.92 of the best: 2, 3, 4
    low, high, centres, profile = likelihood.profile_interval(x, loglik, 1, 5, whole=True)
    assert (low, high) == (2.0, 4.0)
    np.testing.assert_array_equal(centres, x)


def test_observation_names_match_the_run_records():
    def make(figure, key="", facility=None, kind="", hour=None):
        return Observation(2, figure, key, facility, kind, hour, 1.0, 0.0)

    assert make("summary", key="usage.park.visits").name == "usage.park.visits"
    assert make("visits_per_day", facility=3).name == "visits_per_day.3"
    assert make("occupancy", facility=3, hour=8).name == "occupancy.facility.3.8"
    assert make("occupancy", kind="park", hour=19).name == "occupancy.type.park.19"
    assert make("share_using", kind="elderly_care").name == "share_using.elderly_care"


# --------------------------------------------------------------------------- bad input

GOOD_TOML = (
    'name = "bad"\nscenario = "small.toml"\nobservations = "obs.csv"\nreplicates = 2\n'
    '[parameters]\n"facility_types.park.daily_prob" = { min = 0.05, max = 0.3 }\n'
)
GOOD_CSV = "figure,key,facility,type,hour,value,sd\nvisits_per_day,,0,,,20,\n"


def _calibrate(tmp_path, monkeypatch, capsys, toml: str = GOOD_TOML, csv: str = GOOD_CSV) -> str:
    write_small(tmp_path, residents=60)
    (tmp_path / "calib.toml").write_text(toml, encoding="utf-8")
    (tmp_path / "obs.csv").write_text(csv, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["calibrate", "calib.toml", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written: no results/bad
    return err


BAD_TOML = {
    "unknown_key": ("replcates = 3\n" + GOOD_TOML, ["calib.toml: replcates: unknown key", "'replicates'"]),
    "min_above_max": (
        GOOD_TOML.replace("min = 0.05, max = 0.3", "min = 0.3, max = 0.05"),
        ['parameters."facility_types.park.daily_prob"', "min (0.3) must be below max (0.05)"],
    ),
    "not_a_key": (GOOD_TOML.replace("park.daily_prob", "park.daily_prb"), ["park.daily_prb", "not a scenario key"]),
    "int_key_fraction": (
        GOOD_TOML + '"facility_types.park.capacity" = { min = 20.5, max = 40 }\n',
        ["facility_types.park.capacity", "whole numbers"],
    ),
    "one_replicate": (GOOD_TOML.replace("replicates = 2", "replicates = 1"), ["replicates", "from 2"]),
    "budget_too_small": (GOOD_TOML + "[method]\nbudget = 4\n", ["method.budget", "at least 6"]),
    "no_observations_file": (
        GOOD_TOML.replace('"obs.csv"', '"observed.csv"'),
        ["observations", "no file observed.csv"],
    ),
    "out_of_schema_value": (
        GOOD_TOML.replace("min = 0.05, max = 0.3", "min = 0.05, max = 1.5"),
        ["facility_types.park.daily_prob", "1.5"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_TOML))
def test_bad_calibration_file(case, tmp_path, monkeypatch, capsys):
    toml, words = BAD_TOML[case]
    err = _calibrate(tmp_path, monkeypatch, capsys, toml=toml)
    for word in words:
        assert word in err, (word, err)


BAD_CSV = {
    "missing_column": ("figure,facility\nvisits_per_day,0\n", ["obs.csv:1: value: missing column"]),
    "unknown_column": ("figure,facility,valeu\nvisits_per_day,0,3\n", ["obs.csv:1: valeu: unknown column", "'value'"]),
    "negative_count": (GOOD_CSV + "visits_per_day,,1,,,-3,\n", ["obs.csv:3: value:", "cannot be negative"]),
    "not_a_number": (GOOD_CSV + "visits_per_day,,1,,,many,\n", ["obs.csv:3: value: must be a number, not 'many'"]),
    "unknown_facility_id": (
        GOOD_CSV + "visits_per_day,,7,,,3,\n",
        ["obs.csv:3: facility: no facility 7", "closest: 3"],
    ),
    "hour_outside_the_day": (GOOD_CSV + "occupancy,,,park,23,3,\n", ["obs.csv:3: hour: hour 23 is outside", "6 to 21"]),
    "unknown_figure": (GOOD_CSV + "occupency,,,park,8,3,\n", ["obs.csv:3: figure:", "'occupancy'"]),
    "unknown_summary_key": (
        GOOD_CSV + "summary,usage.park.visit,,,,3,\n",
        ["obs.csv:3: key:", "did you mean 'usage.park.visits'"],
    ),
    "unknown_type": (GOOD_CSV + "share_using,,,parc,,0.2,\n", ["obs.csv:3: type:", "'park'"]),
    "a_share_above_one": (GOOD_CSV + "share_using,,,park,,1.2,\n", ["obs.csv:3: value: a share is at most 1"]),
    "a_column_the_figure_does_not_take": (
        GOOD_CSV + "visits_per_day,,1,,8,3,\n",
        ["obs.csv:3: hour: visits_per_day takes no hour"],
    ),
    "negative_sd": (
        GOOD_CSV + "visits_per_day,,1,,,3,-1\n",
        ["obs.csv:3: sd: a standard deviation cannot be negative"],
    ),
    "the_same_figure_twice": (GOOD_CSV + "visits_per_day,,0,,,21,\n", ["obs.csv:3: figure: the same figure as line 2"]),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_bad_observations(case, tmp_path, monkeypatch, capsys):
    csv, words = BAD_CSV[case]
    err = _calibrate(tmp_path, monkeypatch, capsys, csv=csv)
    for word in words:
        assert word in err, (word, err)


def test_every_bad_row_is_reported_at_once(tmp_path, monkeypatch, capsys):
    rows = "".join(text.split("\n", 2)[2] for case, (text, _) in BAD_CSV.items() if text.startswith(GOOD_CSV))
    err = _calibrate(tmp_path, monkeypatch, capsys, csv=GOOD_CSV + rows)
    assert len(err.splitlines()) >= 10
    assert all(line.startswith("obs.csv:") for line in err.splitlines())


def test_a_facility_by_name_and_a_misspelt_name(tmp_path, monkeypatch, capsys):
    err = _calibrate(tmp_path, monkeypatch, capsys, csv=GOOD_CSV + "visits_per_day,,park 9,,,3,\n")
    assert "obs.csv:3: facility: no facility named 'park 9'" in err and "did you mean 'park " in err


def test_the_same_file_twice_gives_the_same_bytes(tmp_path, monkeypatch):
    """Two fresh calibrations (QMC sampler, small scenario) into two folders: the same tables, the same runs."""
    write_small(tmp_path, residents=60)
    (tmp_path / "obs.csv").write_text("figure,type,value\nshare_using,park,0.2\n", encoding="utf-8")
    (tmp_path / "calib.toml").write_text(
        GOOD_TOML + '[method]\nsampler = "qmc"\nbudget = 6\nbatch = 3\nseed = 7\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    for out in ("a", "b"):
        assert main(["calibrate", "calib.toml", "--workers", "1", "--out", out, "--quiet"]) == 0
    for name in ("calibration.csv", "fit.csv", "trials.csv", "plots/observed_vs_simulated.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "a" / "runs").iterdir()) == sorted(
        p.name for p in (tmp_path / "b" / "runs").iterdir()
    )
    trials = pd.read_csv(tmp_path / "a" / "trials.csv")
    assert len(trials) == 7 and trials["facility_types.park.daily_prob"].nunique() == 7  # QMC: no point twice


def test_the_figures_of_a_run_of_several_days_are_known_to_the_check(tmp_path):
    from model.batch.calibration.observations import scenario_facts

    small = write_small(tmp_path, residents=60)
    one, two = scenario_facts(small, days=1), scenario_facts(small, days=2)
    assert "dynamics.park.change.unmet" in two.summary_keys and "dynamics.park.change.unmet" not in one.summary_keys
    assert one.types == two.types and one.hours == tuple(range(6, 22))
