"""The limits a scenario must keep: of the data (ages, shares, the Earth) and of this implementation."""

from __future__ import annotations

MAX_AGE = 100  # ages are whole years 0..100; walking speeds must cover every one of them
SHARE_TOLERANCE = 1e-6  # shares must sum to 1 within this
# Limits of this implementation (memory on a 24 GB machine), reported as bad input rather than
# failing later: 50 million cells (a 350 km square at 50 m cells) and 20 million residents.
MAX_CELLS = 50_000_000
MAX_RESIDENTS = 20_000_000
# Limit of this implementation: a resident tries at most 10 facilities of a type in one trip (the
# engine allocates residents x tries arrays); the catalogue uses 1 or 2.
MAX_TRIES = 10
MAX_NAME_BYTES = 200  # file systems allow 255 bytes per folder name; the time stamp needs the rest
# [grid] origin: WGS84 longitude and latitude in degrees; latitudes are kept off the poles, where
# a local transverse Mercator grid of cells (model/report/geo.py) stops making sense
MAX_LON = 180.0
MAX_LAT = 85.0
# The most minutes a remembered turn-away adds to a facility in destination choice
# ([simulation] learning_penalty_min): a whole day. Any penalty above the cut-off already ranks
# the facility after every other one within reach; larger numbers are typing errors.
MAX_LEARNING_PENALTY_MIN = 24 * 60
# Input files. ASSUMPTION: no candidates or observed-data CSV needs more than 64 MiB, and no
# scenario, experiment, calibration or catalogue TOML file more than 8 MiB (the largest bundled
# one, wuhai_city.toml, has 400 kB; Python's tomllib parses 0.6 to 2 MB/s, so 8 MiB take seconds
# and 64 MiB a minute or two); a larger file is a mistake (a data dump, a device) and is refused
# before it is read.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TOML_BYTES = 8 * 1024 * 1024
# TOML integers are 64-bit signed (toml.io/en/v1.0.0#integer); Python's tomllib reads longer
# ones, which a float or a numpy array cannot hold: each is a problem at its key.
TOML_INT_MIN, TOML_INT_MAX = -(2**63), 2**63 - 1
# ASSUMPTION: no file nests arrays and tables more than 20 deep (a scenario needs 5: facility_types.
# park.depart = [["06:00", "06:45"]]); deeper data is a mistake that recursive code cannot hold.
MAX_NESTING = 20
