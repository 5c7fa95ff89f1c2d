"""Stage 3, the simulation: residents living their days, tick by tick.

- ``context``: the run context, what the engines and the measures read of a run (clock, types,
  city, residents, candidates, random generator, visit log), built by the model;
- ``clock``: ticks, days and clock minutes;
- ``rules``: the rulebook, every behaviour rule defined once (needs, opening hours, whether a
  trip fits, give-up and leave ticks, plan order, ranking ties), called by both engines;
- ``agents``: the agents engine, one Mesa agent per resident and facility (``Resident.step()``
  is the readable specification);
- ``fast``: the fast engine, the same rules on arrays (with ``events``, its event buckets);
- ``choice``: destination choice for many departures at once (numba);
- ``engines``: the interface both engines implement, and the registry of engines by name;
- ``visits``: the visit log.
"""
