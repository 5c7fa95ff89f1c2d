"""Shared test helpers: small scenarios written to temporary files."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

SMALL = """
name = "small"
seed = 3

[grid]
width = 20
height = 12
cell_m = 50.0
blocked = [[9, 0, 1, 5], [9, 6, 1, 6]]

[population]
groups = {{ a = 0.5, b = 0.3, c = 0.2 }}
ages = {{ "0-5" = 0.1, "6-17" = 0.15, "18-59" = 0.5, "60-100" = 0.25 }}
mixing = {mixing}

[walking]
m_per_min = {{ "0-11" = 55.0, "12-59" = 78.0, "60-100" = 60.0 }}

[[communities]]
name = "West"
area = [1, 1, 7, 10]
residents = {residents}

[[communities]]
name = "East"
area = [11, 2, 8, 8]
residents = {residents}
groups = {{ a = 0.2, b = 0.8 }}

[[facilities]]
type = "park"
at = [3, 3]

[[facilities]]
type = "park"
at = [15, 9]

[[facilities]]
type = "elderly_care"
at = [12, 5]

[[facilities]]
type = "market"
at = [5, 8]
"""


def read_exact_csv(path, **kwargs) -> pd.DataFrame:
    """A CSV file read back with every float exactly as written (pandas 2 needs "round_trip" asked
    for; pandas 3 reads exactly by default and deprecates the argument)."""
    if int(pd.__version__.split(".")[0]) < 3:
        kwargs.setdefault("float_precision", "round_trip")
    return pd.read_csv(path, **kwargs)


def write_small(tmp_path: Path, mixing: float = 1.0, residents: int = 400, extra: str = "") -> Path:
    """A small two-community scenario with a wall that has a gap at row 5."""
    path = tmp_path / "small.toml"
    path.write_text(textwrap.dedent(SMALL.format(mixing=mixing, residents=residents)) + extra, encoding="utf-8")
    return path


# A market and elderly care too small for their users: residents are turned away every day
BUSY = """
[[facilities]]
type = "market"
at = [15, 4]
capacity = 3

[facility_types.market]
daily_prob = 0.9
patience_min = 3
tries = 2
capacity = 3

[facility_types.elderly_care]
capacity = 2
patience_min = 3
"""


def write_busy_small(tmp_path: Path, residents: int = 300) -> Path:
    """The small scenario with a market and elderly care too small for their users (days that learn)."""
    return write_small(tmp_path, residents=residents, extra=BUSY)


CELL_M = 50.0  # cell side of the tiny scenarios


def write_tiny(
    tmp_path: Path,
    *,
    width: int,
    height: int,
    communities: str,
    facilities: str,
    types: str,
    blocked: str = "[]",
    groups: str = "{ a = 1.0 }",
    ages: str = '{ "30-30" = 1.0 }',
    speeds: str = '{ "0-100" = 60.0 }',
    simulation: str = 'day_start = "07:00"\nday_end = "10:00"',
    name: str = "tiny",
) -> Path:
    """A tiny scenario file; every section is given as TOML text."""
    text = f"""
name = "{name}"
seed = 11

[grid]
width = {width}
height = {height}
cell_m = {CELL_M}
blocked = {blocked}

[population]
groups = {groups}
ages = {ages}
mixing = 1.0

[walking]
m_per_min = {speeds}

[simulation]
{simulation}

{communities}

{facilities}

{types}
"""
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def community(x: int, y: int, residents: int, w: int = 1, h: int = 1, name: str = "home") -> str:
    return f'[[communities]]\nname = "{name}"\narea = [{x}, {y}, {w}, {h}]\nresidents = {residents}\n'


def facility(ftype: str, x: int, y: int, capacity: int | None = None) -> str:
    cap = f"capacity = {capacity}\n" if capacity is not None else ""
    return f'[[facilities]]\ntype = "{ftype}"\nat = [{x}, {y}]\n{cap}'


def ftype(name: str, **fields) -> str:
    """A [facility_types.<name>] override table."""
    lines = [f"[facility_types.{name}]"]
    for key, value in fields.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, float) and math.isinf(value):
            lines.append(f"{key} = inf")
        elif isinstance(value, (list, tuple)):
            inner = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value)
            lines.append(f"{key} = [{inner}]")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def visits_of(model) -> dict[str, np.ndarray]:
    return model.visit_log.columns()


def chebyshev(model, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = model.city.width
    return np.maximum(np.abs(a % w - b % w), np.abs(a // w - b // w))


@pytest.fixture
def small_scenario(tmp_path):
    """Path of the small scenario."""
    return write_small(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """Compile the numba kernels once, in this process, before any test starts subprocesses.

    The kernels are cached on disk (``cache=True``); several processes compiling the same kernel
    at the same moment race on writing that cache, so the cache is filled here first.
    """
    import numpy as np

    from model.city.candidates import facility_reach
    from model.city.grid import build_city
    from model.city.surface import GridSurface
    from model.model import LifeCircleModel
    from model.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "demo.toml")
    city = build_city(scenario)
    facility_reach(GridSurface(city), city, np.array([0]), 100.0)
    model = LifeCircleModel(scenario, seed=0, days=1, engine="fast")
    for _ in range(200):
        model.step()
