"""Stage 2, the city: what a scenario builds before anyone moves.

- ``grid``: the walkable grid, its graph of 8-neighbour steps, the facility table (:class:`City`);
- ``residents``: who lives where, with an age, a group and a walking speed;
- ``access``: walking-time fields to the nearest facility of each type, and walking paths;
- ``gridsearch``: bounded shortest-path searches from many sources at once (numba);
- ``candidates``: the candidate table, every facility within reach of every home cell;
- ``build``: all of the above for one scenario and seed (:class:`BuiltCity`).
"""
