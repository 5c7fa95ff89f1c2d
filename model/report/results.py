"""The results folder of a finished run: every table, map, chart and the run record.

The command line builds and runs a model, then hands it here; everything written comes from the
measures (model/measures) and the drawing module (model/report/drawing.py).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata, resources
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from model.city.access import distance_field
from model.city.streets import StreetCity
from model.measures.access import coverage_table, needs_by_type, users_pace
from model.measures.contacts import contact_graph, group_assortativity
from model.measures.static import static_facilities
from model.measures.summary import place_minutes, supply_access_columns
from model.report import drawing, files, folders, lang
from model.scenario import Scenario


def provenance(scenario: Scenario) -> dict:
    """What a run was made from: the scenario files (with extends) and the catalogue, by sha256."""
    catalogue = resources.files("model").joinpath("catalogue.toml")
    return {
        "scenario_files": [
            {"path": str(path), "sha256": _sha256(folders.readable(path).read_bytes())} for path in scenario.files
        ],
        "catalogue": {"path": str(catalogue), "sha256": _sha256(catalogue.read_bytes())},
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_version() -> dict:
    """The package version and, when it runs from a git checkout, the commit and whether the tree was dirty."""
    out: dict = {"lifecircle": _version("lifecircle")}
    root = Path(__file__).resolve().parents[2]
    if (root / ".git").exists() and shutil.which("git"):
        try:
            commit = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            changes = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            out["git"] = {"commit": commit, "dirty": bool(changes.strip())}
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def dependency_versions() -> dict[str, str]:
    """Python and every runtime dependency of lifecircle (its requirements without extras)."""
    out = {"python": platform.python_version()}
    try:
        requirements = metadata.requires("lifecircle") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
        out[name] = _version(name)
    return out


def write_results(model, out: Path, timings: dict[str, float], contacts: bool = False, geojson: bool = False) -> dict:
    """Write every output of a finished run into ``out``; return the summary.

    summary.json, residents.csv, facilities.csv, coverage.csv, timeseries.csv (and visits.csv
    when the model streamed it there, with turned_away.csv beside it) are deterministic; run.json
    holds times and versions.
    """
    t0 = time.perf_counter()
    built, scenario = model.built, model.spec
    summary = dict(model.summary())
    # the pictures first, drawn on a thread of their own while the tables below are written
    maps = out / "maps"
    maps.mkdir(exist_ok=True)
    needs = needs_by_type(built.residents.age, model.types)
    paces = {t: users_pace(built.residents.m_per_min, needs[t]) for t in built.fields_m}
    coverage = coverage_table(built.residents, scenario, built.minutes, needs)
    series = timeseries(model)
    pictures = drawing.draw_in_background([], maps=_map_jobs(model, maps, paces, summary["access"], needs))
    try:  # on any exception (Ctrl-C too) no picture is drawn into the folder after this returns
        pictures.add(drawing.plot_coverage, out / "coverage.png", coverage, scenario)
        pictures.add(drawing.plot_occupancy, out / "occupancy.png", series, model)
        pictures.add(drawing.plot_exposure, out / "exposure.png", summary["mixing"], scenario.name)
        _write_tables(model, out, summary, contacts, geojson, coverage, series)
    except BaseException:
        pictures.abandon()
        raise
    pictures.finish()  # every picture drawn before run.json, and before the command renames the folder
    timings["outputs_s"] = time.perf_counter() - t0
    files.write_json(
        out / "run.json",
        {
            "scenario": scenario.name,
            "scenario_file": str(scenario.path),
            **provenance(scenario),
            "seed": model.seed,
            "engine": model.engine_name,
            "days": model.days,
            "ticks": model.current_tick + 1,
            "command": sys.argv,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_s": timings,
            "version": code_version(),
            "versions": dependency_versions(),
            "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()},
        },
    )
    return summary


def _write_tables(model, out: Path, summary: dict, contacts: bool, geojson: bool, coverage, series) -> None:
    """summary.json and the CSV files, and contacts.graphml and geo/ (GeoJSON or GeoPackage) when asked for.

    ``summary`` gains the contacts block with ``contacts``.
    """
    built, scenario = model.built, model.spec
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
    # residents.csv's columns gathered as they are (views where they can be), then one frame that
    # does not copy them: inserting some 60 columns of 532,100 rows into a frame one by one copied
    # each (the peak of a city run's memory)
    columns = dict(files.residents_table(built.residents, built.minutes, built.city).items())
    blocks = built.surface.unit_squares(scenario.simulation.block_m)[built.residents.node]
    columns["block"] = pd.Series(blocks[:, 0]).astype(str) + ":" + pd.Series(blocks[:, 1]).astype(str)
    unmet = model.unmet_counts()
    for i, t in enumerate(model.city.types):
        columns[f"unmet_{t}"] = unmet[:, i]
    place_min = place_minutes(model.context)
    for k, t in enumerate(model.context.enrolment.types):
        name, placed = model.city.types[t], model.context.enrolment.facility[:, k]
        enrolled = pd.array(placed, dtype="Int64")
        enrolled[placed < 0] = pd.NA  # empty: no place, or none sought
        columns[f"enrolled_{name}"] = enrolled
        columns[f"applied_{name}"] = model.context.enrolment.applied[:, k].astype(np.int64)
        columns[f"place_min_{name}"] = place_min[name]  # own walking minutes to the place; empty without one
    if built.residents.household is not None:  # households and escorts (docs/metrics.md)
        for key, values in model.escort_totals().items():
            columns[key] = values
    for t, access in supply_access_columns(model.context).items():
        columns[f"sfca_{t}"] = access  # 2SFCA places per user within reach; empty for non-users
    files.write_csv(out / "residents.csv", pd.DataFrame(columns, copy=False))
    facilities = files.facilities_table(built.city).copy()
    for key, values in model.facility_totals().items():
        facilities[key] = values
    for key, values in static_facilities(model.context).items():
        facilities[key] = values.to_numpy()  # the static baseline's expected use (docs/static.md)
    files.write_csv(out / "facilities.csv", facilities)
    series.to_csv(out / "timeseries.csv", index=False, lineterminator="\n", encoding=lang.csv_encoding())
    if model.visit_log.streamed:  # --log-visits: the turn-away log beside visits.csv
        turned = files.turned_away_table(model.turn_aways(), model.city.types, model.context.facility_type, model.clock)
        files.write_csv(out / "turned_away.csv", turned)
    if geojson:
        from model.report.geo import write_model_geojson

        write_model_geojson(out, model, facilities)
    files.write_csv(out / "coverage.csv", coverage)


def _map_jobs(model, maps: Path, paces: dict, access: dict, needs: dict) -> list:
    """The maps to draw: each type's access map, and each community's guidance map (a few communities only)."""
    built, scenario = model.built, model.spec
    on_streets = isinstance(built.city, StreetCity)
    access_map = drawing.plot_street_access_map if on_streets else drawing.plot_access_map
    jobs = [
        (access_map, (maps / f"access_{t}.png", built.city, scenario, t, field, paces[t], access[t]))
        for t, field in built.fields_m.items()
        if needs[t].any()
    ]
    if len(scenario.communities) > drawing.GUIDANCE_MAX_COMMUNITIES:
        return jobs
    for i, com in enumerate(scenario.communities):
        if on_streets:
            gates = street_gates(built.city, i)
            field = built.surface.distance_field(gates)
            jobs.append(
                (drawing.plot_street_guidance_map, (maps / f"guidance_{i}.png", built.city, scenario, i, field, gates))
            )
        else:
            gates = com.gate_cells(built.city.walkable)
            field = distance_field(built.city, [y * built.city.width + x for x, y in gates])
            jobs.append(
                (drawing.plot_guidance_map, (maps / f"guidance_{i}.png", built.city, scenario, i, field, gates))
            )
    return jobs


def street_gates(city: StreetCity, community: int):
    """The nodes a street community's guidance map starts from: its gates, or its homes when it has none."""
    gates = city.gates[community]
    if gates.size:
        return gates
    return city.homes.loc[city.homes["community"] == community, "node"].to_numpy()


def timeseries(model) -> pd.DataFrame:
    """timeseries.csv: one row per tick simulated (day, clock minute, states, occupancy, co-presence).

    The DataCollector also holds the state before the first tick (the record of step 0) and the
    end-of-run summary columns; neither belongs to the per-tick table.
    """
    frame = model.datacollector.get_model_vars_dataframe()
    return frame[list(model.tick_reporters)].iloc[1:].reset_index(drop=True)
