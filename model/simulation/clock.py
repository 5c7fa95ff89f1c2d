"""Simulated time: ticks, days and clock minutes.

Tick ``k`` of the run is tick ``k % T`` of day ``k // T`` (``T`` ticks a day); it covers the
minutes ``day_start + (k % T) * tick_min`` onwards. "Run minutes" (visits.csv) count clock
minutes from the start of the run: ``day * 1440 + (minute of day - day_start)``.

Only conversions live here; what a resident may do at a given time (opening hours, whether a
trip still fits, when to give up or leave) is in the rulebook, model/simulation/rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from model.scenario import Simulation

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = 5


@dataclass(frozen=True)
class Clock:
    """Conversions between ticks, days and minutes for one scenario's [simulation] settings."""

    sim: Simulation

    @property
    def tick_min(self) -> int:
        """Minutes per tick."""
        return self.sim.tick_min

    @cached_property  # asked millions of times a run by the per-agent engine; the settings are frozen
    def ticks_per_day(self) -> int:
        """Ticks in one simulated day."""
        return (self.sim.day_end_min - self.sim.day_start_min) // self.sim.tick_min

    def day(self, tick):
        """Day of a tick (0 = first)."""
        return tick // self.ticks_per_day

    def tick_of_day(self, tick):
        """Tick within its day (0 = day start)."""
        return tick % self.ticks_per_day

    def minute_of_day(self, tick):
        """Clock minute (after midnight) at the start of a tick."""
        return self.sim.day_start_min + self.tick_of_day(tick) * self.sim.tick_min

    def run_minute(self, tick):
        """Clock minutes from the start of the run to the start of a tick."""
        return self.day(tick) * MINUTES_PER_DAY + self.tick_of_day(tick) * self.sim.tick_min

    def is_weekend(self, day: int) -> bool:
        """Whether a day is a Saturday or Sunday."""
        return (self.sim.first_weekday + day) % 7 >= WEEKDAYS

    def is_last_tick_of_day(self, tick) -> bool:
        """Whether the tick is the last of its day."""
        return self.tick_of_day(tick) == self.ticks_per_day - 1

    def first_tick(self, tick):
        """The first tick of the tick's day."""
        return self.day(tick) * self.ticks_per_day

    def last_tick(self, tick):
        """The last tick of the tick's day."""
        return self.first_tick(tick) + self.ticks_per_day - 1

    def tick_at(self, day, minute):
        """The first tick of ``day`` starting at or after clock ``minute`` (clipped to the day)."""
        i = np.ceil((np.asarray(minute) - self.sim.day_start_min) / self.sim.tick_min).astype(np.int64)
        i = np.clip(i, 0, self.ticks_per_day - 1)
        return day * self.ticks_per_day + i if i.ndim else int(day * self.ticks_per_day + i)
