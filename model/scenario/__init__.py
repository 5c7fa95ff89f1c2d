"""Scenario files: load, extend, validate.

A scenario is a TOML file (see docs/scenarios.md). :func:`load_scenario` runs this stage's
pipeline:

1. read the file and, recursively, the file it ``extends`` (a path relative to it, or a bundled
   scenario by name) (:mod:`.files`);
2. check each file's keys and value shapes against the schema (:mod:`.schema`), and merge the
   files: tables key by key, ``[[communities]]`` and ``[[facilities]]`` appended, an entry with
   the same ``name`` as one in the base replacing it (:mod:`.files`);
3. check every value of the merged data, collecting *all* problems before reporting them
   (:mod:`.checks`, :mod:`.sites` for facility types, communities and facilities, and
   :mod:`.streets` for a street scenario's ``[streets]`` table and data files), and warn about
   values outside their plausible ranges (:mod:`.plausible`);
4. return a frozen :class:`Scenario` (:mod:`.spec`), with the files it was read from and its
   warnings (problems that do not stop a run).

``load_scenario(path, overrides={...})`` applies values given by dotted keys as one more layer on
top of step 2, as if a variant file that ``extends`` the scenario had set them (:mod:`.overrides`);
:func:`override_kind` gives the schema kind of such a key.

:func:`scenario_toml` (:mod:`.write`) writes a loaded scenario back as one standalone file;
:func:`extend_toml` writes a variant that ``extends`` a scenario and adds facilities to it.

Modules, each using only those above it:

* :mod:`.errors`: :class:`Problem` and :class:`ScenarioError`.
* :mod:`.limits`: the limits of the data and of this implementation.
* :mod:`.kinds`: the kinds of value (shapes and their words), times, age bands, departure windows.
* :mod:`.reading`: reading any input file totally: regular files within a size limit only, every
  failure of tomllib a problem, integers within 64 bits, nesting within a limit.
* :mod:`.fields`: the catalogue field table, :data:`FIELDS`: every field of a facility type
  declared once, with its kind, type, unit, range check, default, meaning and conversions.
* :mod:`.spec`: the frozen dataclasses of a valid scenario and every default
  (:class:`FacilityType` takes its fields from the field table).
* :mod:`.schema`: the keys a file may hold and the kind of each, the shape check, the kind of a
  dotted key.
* :mod:`.files`: reading TOML, merging with ``extends``, finding scenario files (the bundled ones
  with importlib.resources), the catalogue.
* :mod:`.overrides`: dotted-key overrides as a layer on top of the merged files.
* :mod:`.checker`: :class:`~.checker.Checker`, which collects problems with file and key path.
* :mod:`.plausible`: the plausible ranges of paces, cell size, minutes and capacities; values
  outside them are warnings (a slip of units?).
* :mod:`.sites`: the semantic checks of facility types, communities and facilities.
* :mod:`.streets`: the ``[streets]`` table of a street scenario and its CSV data files
  (docs/streets.md): the CRS, the network, homes, gates and the facilities file.
* :mod:`.checks`: the semantic checks of grid, population, walking and simulation, and
  :func:`load_scenario`.
* :mod:`.write`: the resolved scenario as TOML text, and a variant adding facilities.

Every problem names the file and the key path (``demo.toml: facilities[3].at: ...``), so the
command line can print them and exit 2; a problem in a street scenario's data file names the file,
the line and the column (``streets/homes.csv:7: floor_m2: ...``). Files are data: nothing in them is
executed.
"""

from .checks import load_scenario
from .errors import Problem, ScenarioError
from .fields import FIELDS, CatalogueField
from .files import DEFAULT_SCENARIO, SCENARIO_DIR, bundled_scenarios, load_catalogue, resolve_scenario_path
from .kinds import AgeBand, parse_band, parse_windows
from .limits import MAX_AGE, MAX_CELLS, MAX_RESIDENTS, MAX_TRIES
from .plausible import LEVEL as PLAUSIBLE_LEVEL
from .plausible import Plausible
from .schema import STREET_FILES, override_kind
from .spec import (
    COMPOSITIONS,
    Community,
    FacilitySite,
    FacilityType,
    Grid,
    Households,
    Pace,
    Scenario,
    Simulation,
    Streets,
)
from .write import extend_toml, scenario_toml

__all__ = [
    "DEFAULT_SCENARIO",
    "FIELDS",
    "MAX_AGE",
    "MAX_CELLS",
    "MAX_RESIDENTS",
    "MAX_TRIES",
    "PLAUSIBLE_LEVEL",
    "SCENARIO_DIR",
    "STREET_FILES",
    "AgeBand",
    "CatalogueField",
    "Community",
    "FacilitySite",
    "FacilityType",
    "Grid",
    "Pace",
    "Plausible",
    "Households",
    "COMPOSITIONS",
    "Problem",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "Streets",
    "bundled_scenarios",
    "extend_toml",
    "load_catalogue",
    "load_scenario",
    "override_kind",
    "parse_band",
    "parse_windows",
    "resolve_scenario_path",
    "scenario_toml",
]
