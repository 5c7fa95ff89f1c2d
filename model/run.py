"""One run of a scenario, from file to results folder: the pipeline the command line drives."""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from model import outputs
from model.access import access_minutes, access_summary, type_fields
from model.city import City, build_city
from model.population import Residents, build_residents
from model.scenario import Scenario


@dataclass(eq=False)
class StaticResult:
    """City, residents and walking access of one scenario and seed."""

    scenario: Scenario
    seed: int
    city: City
    residents: Residents
    fields_m: dict[str, np.ndarray]
    minutes: dict[str, np.ndarray]

    def needs(self) -> dict[str, np.ndarray]:
        """Per type present: which residents need it (age within the type's band)."""
        age = self.residents.age
        return {t: (age >= self.scenario.types[t].ages.lo) & (age <= self.scenario.types[t].ages.hi) for t in self.minutes}

    def summary(self) -> dict:
        """The summary.json content of the static part (scenario, seed, residents, access)."""
        levels = {t: self.scenario.types[t].level_min for t in self.minutes}
        access, complete = access_summary(self.minutes, self.needs(), levels)
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "residents": len(self.residents),
            "access": access,
            "life_circle_complete": complete,
        }


def build_static(scenario: Scenario, rng: np.random.Generator, seed: int) -> StaticResult:
    """Build the city and residents and compute every resident's walking access."""
    city = build_city(scenario)
    residents = build_residents(scenario, city, rng)
    fields = type_fields(city)
    minutes = access_minutes(fields, residents.cell, residents.m_per_min)
    return StaticResult(scenario, seed, city, residents, fields, minutes)


def default_out_dir(scenario: Scenario, root: Path) -> Path:
    """A new folder under ``root`` named after the scenario and the time."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / f"{scenario.name}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = root / f"{scenario.name}-{stamp}-{n}"
    return out


def _versions() -> dict[str, str]:
    names = ("lifecircle", "mesa", "numpy", "scipy", "pandas", "networkx", "matplotlib")
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_static(result: StaticResult, out: Path, timings: dict[str, float]) -> dict:
    """Write summary.json, run.json, residents.csv, facilities.csv and the PNG maps; return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = result.summary()
    outputs.write_json(out / "summary.json", summary)
    outputs.write_csv(out / "residents.csv", outputs.residents_table(result.residents, result.minutes))
    outputs.write_csv(out / "facilities.csv", outputs.facilities_table(result.city))
    maps = out / "maps"
    maps.mkdir(exist_ok=True)
    for t, field in result.fields_m.items():
        outputs.plot_access_map(maps / f"access_{t}.png", result.city, result.scenario, t, field)
    coverage = outputs.coverage_table(result.residents, result.scenario, result.minutes)
    outputs.write_csv(out / "coverage.csv", coverage)
    outputs.plot_coverage(out / "coverage.png", coverage, result.scenario)
    timings["outputs_s"] = time.perf_counter() - t0
    outputs.write_json(
        out / "run.json",
        {
            "scenario": result.scenario.name,
            "scenario_file": str(result.scenario.path),
            "seed": result.seed,
            "command": sys.argv,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wall_s": timings,
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "processor": platform.machine()},
        },
    )
    return summary
