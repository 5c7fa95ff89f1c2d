"""The built city of one scenario and seed: grid, residents and their walking access."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.city.access import access_minutes
from model.city.cache import CityCache
from model.city.candidates import type_fields
from model.city.grid import City, build_city
from model.city.households import form_households
from model.city.residents import Residents, build_residents
from model.city.streets import StreetCity, build_street_city
from model.city.surface import GridSurface, WalkingSurface
from model.scenario import Scenario


@dataclass(frozen=True, eq=False)
class BuiltCity:
    """City, residents and walking access of one scenario and seed.

    Attributes:
        scenario: The scenario it was built from.
        seed: The seed the residents were drawn with.
        city: Grid, walking graph and facilities (:class:`model.city.grid.City`), or the street
            network with its homes, facilities and gates (:class:`model.city.streets.StreetCity`).
        surface: The walking surface the residents walk (:class:`model.city.surface.GridSurface`
            of a grid city, the street city's own :class:`~model.city.surface.StreetSurface`):
            the stages after the city ask it for distances and walks.
        residents: Every resident's community, group, age, home and speed.
        fields_m: Per facility type present, metres from every node of the surface to the nearest facility.
        minutes: Per facility type present, every resident's walking minutes to the nearest.
    """

    scenario: Scenario
    seed: int
    city: City | StreetCity
    surface: WalkingSurface
    residents: Residents
    fields_m: dict[str, np.ndarray]
    minutes: dict[str, np.ndarray]


def build(scenario: Scenario, rng: np.random.Generator, seed: int, cache: CityCache | None = None) -> BuiltCity:
    """Build the city and residents and compute every resident's walking access.

    With a ``cache``, the grid and the walking fields come from it when the same place was built
    before; the residents are always drawn anew with ``rng``.
    """
    if scenario.streets is not None:
        city = cache.city(scenario) if cache else build_street_city(scenario)
        surface = city.surface
    else:
        city = cache.city(scenario) if cache else build_city(scenario)
        surface = GridSurface(city)
    residents = build_residents(scenario, city, rng)
    if scenario.households.on:
        residents = form_households(residents, scenario.households, rng)
    fields = cache.fields(scenario, surface, city) if cache else type_fields(surface, city)
    minutes = access_minutes(fields, residents.node, residents.m_per_min)
    return BuiltCity(scenario, seed, city, surface, residents, fields, minutes)
