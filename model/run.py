"""One run of a scenario, from file to results folder: the pipeline the command line drives."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from model import metrics, outputs
from model.access import access_minutes, access_summary, type_fields
from model.city import City, build_city
from model.contacts import contact_graph, group_assortativity
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
        return {
            t: (age >= self.scenario.types[t].ages.lo) & (age <= self.scenario.types[t].ages.hi) for t in self.minutes
        }

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


def block_keys(residents: Residents, block_cells: int) -> np.ndarray:
    """Residential block (bx, by) = (x // block_cells, y // block_cells) of every resident, as (n, 2)."""
    return np.stack([residents.x // block_cells, residents.y // block_cells], axis=1)


def block_cells_of(scenario: Scenario) -> int:
    """Cells per block side: ``simulation.block_m`` over ``cell_m``, rounded, at least 1."""
    return max(1, round(scenario.simulation.block_m / scenario.grid.cell_m))


def summarise(model) -> dict:
    """summary.json of a finished run: access, usage and mixing (definitions in ../shared/METRICS.md)."""
    static = model.static
    res = static.residents
    summary = static.summary()
    summary["engine"] = model.engine_name
    summary["days"] = model.days
    visits = model.visit_log.columns()
    totals = model.facility_totals()
    fac = model.city.facilities
    summary["usage"] = metrics.facility_usage(
        visit_type=visits["type"],
        walk_min=visits["walk_min"],
        facility_type=fac["type"].map(model.type_index).to_numpy(),
        turned_away=totals["turned_away"],
        peak_occupancy=totals["peak_occupancy"],
        capacity=fac["capacity"].to_numpy(),
        unmet=model.unmet_counts().sum(axis=0),
        type_names=model.city.types,
        days=model.days,
    )
    bc = block_cells_of(model.scenario)
    groups = res.group_names
    _, by_block = metrics.count_table(block_keys(res, bc), res.group, len(groups))
    _, by_community = metrics.count_table(res.community, res.group, len(groups))
    summary["mixing"] = {
        "block_cells": bc,
        "residential": {
            "blocks": metrics.residential_mixing(by_block, groups),
            "communities": metrics.residential_mixing(by_community, groups),
        },
        "activity": metrics.activity_mixing(
            visits["resident"],
            visits["facility"],
            visits["arrive_min"],
            visits["leave_min"],
            res.group,
            groups,
            len(res),
            model.days,
        ),
    }
    return summary


def write_results(model, out: Path, timings: dict[str, float], contacts: bool = False) -> dict:
    """Write every output of a finished run into ``out``; return the summary.

    summary.json, residents.csv, facilities.csv, coverage.csv, timeseries.csv (and visits.csv
    when the model streamed it there) are deterministic; run.json holds times and versions.
    """
    t0 = time.perf_counter()
    static, scenario = model.static, model.scenario
    summary = summarise(model)
    if contacts:
        graph = contact_graph(
            model.visit_log.columns(),
            static.residents.group_names,
            static.residents.group,
            static.residents.age,
            scenario.simulation.contact_min,
            model.rng,
        )
        nx.write_graphml(graph, out / "contacts.graphml")
        summary["contacts"] = {
            "contact_min": scenario.simulation.contact_min,
            "residents": graph.graph["residents"],
            "sampled": graph.graph["sampled"],
            "nodes": graph.number_of_nodes(),
            "edges": graph.number_of_edges(),
            "group_assortativity": group_assortativity(graph),
        }
    outputs.write_json(out / "summary.json", summary)
    table = outputs.residents_table(static.residents, static.minutes)
    blocks = block_keys(static.residents, block_cells_of(scenario))
    table["block"] = pd.Series(blocks[:, 0]).astype(str) + ":" + pd.Series(blocks[:, 1]).astype(str)
    unmet = model.unmet_counts()
    for i, t in enumerate(model.city.types):
        table[f"unmet_{t}"] = unmet[:, i]
    outputs.write_csv(out / "residents.csv", table)
    facilities = outputs.facilities_table(static.city).copy()
    for key, values in model.facility_totals().items():
        facilities[key] = values
    outputs.write_csv(out / "facilities.csv", facilities)
    series = model.datacollector.get_model_vars_dataframe()
    series.index.name = "step"
    series.to_csv(out / "timeseries.csv", lineterminator="\n")
    maps = out / "maps"
    maps.mkdir(exist_ok=True)
    jobs = [
        (outputs.plot_access_map, (maps / f"access_{t}.png", static.city, scenario, t, field))
        for t, field in static.fields_m.items()
    ]
    if len(scenario.communities) <= outputs.GUIDANCE_MAX_COMMUNITIES:
        jobs += [
            (outputs.plot_guidance_map, (maps / f"guidance_{i}.png", static.city, scenario, i))
            for i in range(len(scenario.communities))
        ]
    outputs.draw_all(jobs)
    coverage = outputs.coverage_table(static.residents, scenario, static.minutes, static.needs())
    outputs.write_csv(out / "coverage.csv", coverage)
    outputs.plot_coverage(out / "coverage.png", coverage, scenario)
    outputs.plot_occupancy(out / "occupancy.png", series, model)
    outputs.plot_exposure(out / "exposure.png", summary["mixing"], scenario.name)
    timings["outputs_s"] = time.perf_counter() - t0
    outputs.write_json(
        out / "run.json",
        {
            "scenario": scenario.name,
            "scenario_file": str(scenario.path),
            "seed": model.seed,
            "engine": model.engine_name,
            "days": model.days,
            "ticks": model.tick,
            "command": sys.argv,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_s": timings,
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
        },
    )
    return summary
