"""What runs of the same place share: the grid, the walking fields and the candidate table.

A batch runs one scenario over many seeds and behaviour parameters. Residents differ from run
to run (they are drawn with each run's seed), but the walking grid, the distance field of every
facility type and the candidate table of destination choice depend only on the place: the grid,
the facilities' positions and types, the home cells and the reach limit. A :class:`CityCache`
keeps them for the runs of one process, keyed by exactly what they are computed from, so a
cached object is the object a fresh computation would give.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from model.city.candidates import Reach, facility_reach, type_fields
from model.city.grid import City, build_city
from model.city.streets import StreetCity, build_street_city
from model.city.surface import WalkingSurface
from model.scenario import Scenario


def _key(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.tobytes() if isinstance(part, np.ndarray) else repr(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


class CityCache:
    """Built cities, walking fields and candidate tables of the places seen, least recently used out.

    Args:
        max_places: How many of each to keep (a city-scale candidate table takes about 300 MB).
    """

    def __init__(self, max_places: int = 2):
        """Start empty."""
        self.max_places = max_places
        self._store: dict[str, OrderedDict] = {"city": OrderedDict(), "fields": OrderedDict(), "reach": OrderedDict()}
        self.hits = 0
        self.misses = 0

    def _get(self, kind: str, key: str, make):
        store = self._store[kind]
        if key in store:
            store.move_to_end(key)
            self.hits += 1
            return store[key]
        self.misses += 1
        value = store[key] = make()
        if len(store) > self.max_places:
            store.popitem(last=False)
        return value

    @staticmethod
    def _geometry(scenario: Scenario) -> tuple:
        """What walking distances depend on: the grid, and where facilities of which type stand."""
        streets = None if scenario.streets is None else (scenario.streets.crs, scenario.streets.digest)
        return (
            scenario.grid,
            streets,
            tuple((f.type, f.x, f.y) for f in scenario.facilities),
            tuple(scenario.types_present),
        )

    def city(self, scenario: Scenario) -> City | StreetCity:
        """The built city of the scenario, grid or streets (its facility table includes capacities)."""
        key = _key(self._geometry(scenario), tuple((f.capacity, f.name, f.osm_id) for f in scenario.facilities))
        build = build_city if scenario.streets is None else build_street_city
        return self._get("city", key, lambda: build(scenario))

    def fields(self, scenario: Scenario, surface: WalkingSurface, city: City) -> dict[str, np.ndarray]:
        """:func:`model.city.candidates.type_fields` of the scenario's city on its surface."""
        return self._get("fields", _key(self._geometry(scenario)), lambda: type_fields(surface, city))

    def reach(
        self, scenario: Scenario, surface: WalkingSurface, city: City, origins: np.ndarray, limit_m: float
    ) -> Reach:
        """:func:`model.city.candidates.facility_reach` from these origin nodes within ``limit_m``."""
        origins = np.unique(np.asarray(origins, dtype=np.int64))
        key = _key(self._geometry(scenario), origins, float(limit_m))
        return self._get("reach", key, lambda: facility_reach(surface, city, origins, limit_m))
