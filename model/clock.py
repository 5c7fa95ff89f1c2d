"""Simulated time: ticks, days, minutes, and the timing rules every engine shares.

Tick ``k`` of the run is tick ``k % T`` of day ``k // T`` (``T`` ticks a day); it covers the
minutes ``day_start + (k % T) * tick_min`` onwards. "Run minutes" (visits.csv) count clock
minutes from the start of the run: ``day * 1440 + (minute of day - day_start)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.scenario import FacilityType, Simulation

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = 5
# walking minutes are rounded up to whole ticks; this tolerance keeps 5.000000000001 at 5
_ROUNDING = 1e-9


@dataclass(frozen=True)
class Clock:
    """Conversions between ticks, days and minutes for one scenario's [simulation] settings.

    The timing rules take a facility type, or any object with the same attributes holding arrays
    (one value per resident), so the agents engine and the fast engine share them.
    """

    sim: Simulation

    @property
    def tick_min(self) -> int:
        """Minutes per tick."""
        return self.sim.tick_min

    @property
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

    def last_tick(self, tick):
        """The last tick of the tick's day."""
        return self.day(tick) * self.ticks_per_day + self.ticks_per_day - 1

    def tick_at(self, day, minute):
        """The first tick of ``day`` starting at or after clock ``minute`` (clipped to the day)."""
        i = np.ceil((np.asarray(minute) - self.sim.day_start_min) / self.sim.tick_min).astype(np.int64)
        i = np.clip(i, 0, self.ticks_per_day - 1)
        return day * self.ticks_per_day + i if i.ndim else int(day * self.ticks_per_day + i)

    def walk_ticks(self, minutes):
        """Whole ticks a walk of ``minutes`` takes (rounded up)."""
        ticks = np.ceil(np.asarray(minutes) / self.sim.tick_min - _ROUNDING)
        return ticks.astype(np.int64) if np.ndim(ticks) else int(max(ticks, 0))

    def minutes_to_ticks(self, minutes):
        """Whole ticks covering a duration (rounded up); works on numbers and arrays."""
        ticks = np.ceil(np.asarray(minutes) / self.sim.tick_min - _ROUNDING).astype(np.int64)
        return ticks if ticks.ndim else int(ticks)

    def close_tick(self, tick, ftype: FacilityType):
        """The first tick of the tick's day at which the facility is closed."""
        day_start_tick = self.day(tick) * self.ticks_per_day
        return day_start_tick + self.minutes_to_ticks(ftype.close_min - self.sim.day_start_min)

    def trip_fits(self, start, there_min, back_min, ftype: FacilityType):
        """Whether a trip starting in tick ``start`` fits.

        It must arrive before closing, and the whole visit and the walk home must end by the
        day's last tick.
        """
        reachable = np.isfinite(there_min) & np.isfinite(back_min)
        there_min = np.where(reachable, there_min, 0.0)  # unreachable: never fits (and no inf to round)
        back_min = np.where(reachable, back_min, 0.0)
        arrive = start + self.walk_ticks(there_min)
        back = arrive + self.minutes_to_ticks(ftype.visit_min) + self.walk_ticks(back_min)
        fits = reachable & (arrive < self.close_tick(start, ftype)) & (back <= self.last_tick(start))
        return fits if fits.ndim else bool(fits)

    def give_up_tick(self, arrive, ftype: FacilityType, back_min):
        """The tick at which a resident who arrived in ``arrive`` and still waits gives up.

        That is after its patience, at closing time, or when only the walk home and one tick of
        visit would still fit in the day, whichever comes first.
        """
        latest = self.last_tick(arrive) - self.walk_ticks(back_min) - 1
        patience = arrive + self.minutes_to_ticks(ftype.patience_min)
        return np.minimum(np.minimum(patience, self.close_tick(arrive, ftype)), latest)

    def leave_tick(self, admit, ftype: FacilityType, back_min):
        """The tick a visitor admitted in ``admit`` leaves.

        That is after the visit's duration, at closing time, or in time to walk home by the
        day's last tick, whichever comes first (never before ``admit + 1``).
        """
        end = np.minimum(admit + self.minutes_to_ticks(ftype.visit_min), self.close_tick(admit, ftype))
        end = np.minimum(end, self.last_tick(admit) - self.walk_ticks(back_min))
        return np.maximum(end, admit + 1)
