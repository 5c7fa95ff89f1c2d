"""The results folder of a finished run: every table, map, chart and the run record.

The command line builds and runs a model, then hands it here; everything written comes from the
measures (model/measures) and the drawing module (model/report/drawing.py).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import networkx as nx
import pandas as pd

from model.city.access import distance_field
from model.measures import segregation
from model.measures.access import coverage_table, needs_by_type
from model.measures.contacts import contact_graph, group_assortativity
from model.measures.summary import block_cells, summarise
from model.report import drawing, files
from model.scenario import Scenario


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


def write_results(model, out: Path, timings: dict[str, float], contacts: bool = False) -> dict:
    """Write every output of a finished run into ``out``; return the summary.

    summary.json, residents.csv, facilities.csv, coverage.csv, timeseries.csv (and visits.csv
    when the model streamed it there) are deterministic; run.json holds times and versions.
    """
    t0 = time.perf_counter()
    built, scenario = model.built, model.scenario
    summary = summarise(model)
    if contacts:
        graph = contact_graph(
            model.visit_log.columns(),
            built.residents.group_names,
            built.residents.group,
            built.residents.age,
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
    files.write_json(out / "summary.json", summary)
    table = files.residents_table(built.residents, built.minutes)
    blocks = segregation.block_keys(built.residents.x, built.residents.y, block_cells(model))
    table["block"] = pd.Series(blocks[:, 0]).astype(str) + ":" + pd.Series(blocks[:, 1]).astype(str)
    unmet = model.unmet_counts()
    for i, t in enumerate(model.city.types):
        table[f"unmet_{t}"] = unmet[:, i]
    files.write_csv(out / "residents.csv", table)
    facilities = files.facilities_table(built.city).copy()
    for key, values in model.facility_totals().items():
        facilities[key] = values
    files.write_csv(out / "facilities.csv", facilities)
    series = model.datacollector.get_model_vars_dataframe()
    series.index.name = "step"
    series.to_csv(out / "timeseries.csv", lineterminator="\n")
    maps = out / "maps"
    maps.mkdir(exist_ok=True)
    jobs = [
        (drawing.plot_access_map, (maps / f"access_{t}.png", built.city, scenario, t, field))
        for t, field in built.fields_m.items()
    ]
    if len(scenario.communities) <= drawing.GUIDANCE_MAX_COMMUNITIES:
        jobs += [
            (drawing.plot_guidance_map, (maps / f"guidance_{i}.png", built.city, scenario, i, _gate_field(model, i)))
            for i in range(len(scenario.communities))
        ]
    drawing.draw_all(jobs)
    needs = needs_by_type(built.residents.age, model.types)
    coverage = coverage_table(built.residents, scenario, built.minutes, needs)
    files.write_csv(out / "coverage.csv", coverage)
    drawing.plot_coverage(out / "coverage.png", coverage, scenario)
    drawing.plot_occupancy(out / "occupancy.png", series, model)
    drawing.plot_exposure(out / "exposure.png", summary["mixing"], scenario.name)
    timings["outputs_s"] = time.perf_counter() - t0
    files.write_json(
        out / "run.json",
        {
            "scenario": scenario.name,
            "scenario_file": str(scenario.path),
            "seed": model.seed,
            "engine": model.engine_name,
            "days": model.days,
            "ticks": model.current_tick + 1,
            "command": sys.argv,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_s": timings,
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
        },
    )
    return summary


def _gate_field(model, index: int):
    """Metres from every cell to the nearest walkable cell of community ``index`` (its gate map)."""
    city = model.city
    x, y, w, h = model.scenario.communities[index].area
    ys, xs = city.walkable[y : y + h, x : x + w].nonzero()
    return distance_field(city, (ys + y) * city.width + (xs + x))
