"""The results folder before any work: its name, the files of an earlier run in it, scenario.toml.

Kept apart from :mod:`model.report.results` (which draws and writes the run's outputs, and so
imports matplotlib, pandas and the measures) so that a command checks its folder, and refuses a
bad one, before it pays for those imports.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from model.scenario import Scenario, scenario_toml


def default_out_dir(scenario: Scenario, root: Path) -> Path:
    """A new folder under ``root`` named after the scenario and the time."""
    return new_folder(root, scenario.name)


def new_folder(root: Path, stem: str) -> Path:
    """A folder ``root/<stem>-<time>`` that does not exist yet (a number appended if needed)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = root / f"{stem}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = root / f"{stem}-{stamp}-{n}"
    return out


# Every file a run may write (maps/ holds access_<type>.png and guidance_<n>.png besides).
RUN_FILES = (
    "summary.json",
    "run.json",
    "scenario.toml",
    "residents.csv",
    "facilities.csv",
    "visits.csv",
    "timeseries.csv",
    "coverage.csv",
    "contacts.graphml",
    "coverage.png",
    "occupancy.png",
    "exposure.png",
)
MAP_PATTERNS = ("access_*.png", "guidance_*.png")


def run_files_in(folder: Path) -> list[Path]:
    """The files of an earlier run in ``folder`` (none if it holds no run or does not exist)."""
    if not folder.is_dir():
        return []
    found = [folder / name for name in RUN_FILES if (folder / name).is_file()]
    maps = folder / "maps"
    if maps.is_dir():
        found += sorted(p for pattern in MAP_PATTERNS for p in maps.glob(pattern))
    geo = folder / "geo"
    if geo.is_dir():
        found += sorted([*geo.glob("*.geojson"), *geo.glob("*.gpkg")])
    return found


def write_scenario(scenario: Scenario, out: Path) -> None:
    """scenario.toml: the resolved scenario (no ``extends``, every catalogue entry written out).

    ``lifecircle run <out>/scenario.toml --seed <seed>`` reproduces the run's deterministic files.
    """
    (out / "scenario.toml").write_text(scenario_toml(scenario), encoding="utf-8")
