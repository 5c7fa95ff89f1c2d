"""Enrolment: who holds a place at a nursery, a kindergarten or a school, decided once per run.

Types whose catalogue entry sets ``enrolment`` (``"catchment"`` or ``"admission"``, not
``"none"``) are not a lottery redrawn every morning: before the first tick, after the residents
are built, every child of the type's ages applies for a place with probability ``apply_share``,
and the applicants are placed once for the whole run:

* **catchment** (schools: entry without examination to a school near home, Compulsory
  Education Law of the PRC, art. 12): applicants are taken in order of their walking distance
  (metres) to their nearest facility of the type within their cut-off, nearest first, ties by the
  lower resident id; each takes the nearest facility of the type with a free place within its
  cut-off. The model's stand-in for the catchment lines (划片) a county draws: a child near a
  school is not displaced from it by a child from farther away;
* **admission** (kindergartens, nurseries): applicants are taken in a random order drawn from
  the run's generator (a lottery, as the computer lotteries of public kindergartens), each to the
  nearest facility of the type with a free place within its cut-off.

"Nearest" is the shortest walking distance, ties by the lower facility id; "within its cut-off"
is :func:`model.simulation.rules.within_cutoff` on the child's own walking minutes, over the
candidate table (``context.reach``): no leg beyond the cut-off. A facility's places are
:func:`model.simulation.rules.places` (its capacity). An applicant with no facility with a free
place within its cut-off is **without a place**. The engines then plan visits of the type only
for enrolled children (:func:`model.simulation.rules.plans`), each to its own facility
(:func:`model.simulation.rules.enrolled_destination`); since no facility has more enrolled
children than places, none is ever turned away. docs/behaviour.md ("Enrolment") states the rule
with its sources; docs/metrics.md ("Enrolment") the figures of summary.json.

Random draws, from the run's one generator and only for the types with enrolment, in type
order: one uniform number per child of the type's ages (by resident id) for applying, then, for
an admission type, one permutation of its applicants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from model.city.candidates import Reach
from model.simulation import rules
from model.simulation.events import segments
from model.simulation.rules import TypeTable

CATCHMENT = 1  # position of "catchment" in model.scenario.fields.ENROLMENT_KINDS
ADMISSION = 2  # position of "admission"


@dataclass(frozen=True, eq=False)
class Enrolment:
    """The places held for the whole run, one column per type with enrolment.

    Attributes:
        types: The type indices with enrolment, in type order (column ``k`` is type ``types[k]``).
        column: Per type index, its column, or -1 for a type without enrolment.
        applied: Whether each resident (rows) sought a place of each column's type.
        facility: The facility id each resident is enrolled at, -1 for none.
        metres: The walking distance from home to that facility (NaN for none).
    """

    types: np.ndarray
    column: np.ndarray
    applied: np.ndarray
    facility: np.ndarray
    metres: np.ndarray

    def holds(self, n_types: int) -> np.ndarray:
        """Whether each resident (rows) holds a place of each type index (columns): ``rules.plans``' input."""
        return self._by_type(self.facility >= 0, n_types)

    def applicants(self, n_types: int) -> np.ndarray:
        """Whether each resident (rows) sought a place of each type index (columns)."""
        return self._by_type(self.applied, n_types)

    def _by_type(self, values: np.ndarray, n_types: int) -> np.ndarray:
        out = np.zeros((values.shape[0], n_types), dtype=bool)
        out[:, self.types] = values
        return out


def no_enrolment(n_residents: int, n_types: int) -> Enrolment:
    """The enrolment of a run without types with enrolment."""
    return Enrolment(
        types=np.zeros(0, dtype=np.int64),
        column=np.full(n_types, -1, dtype=np.int64),
        applied=np.zeros((n_residents, 0), dtype=bool),
        facility=np.zeros((n_residents, 0), dtype=np.int64),
        metres=np.zeros((n_residents, 0)),
    )


def enrol(
    table: TypeTable,
    age: np.ndarray,
    m_per_min: np.ndarray,
    reach: Reach,
    origin_of: np.ndarray,
    facility_type: np.ndarray,
    capacity: np.ndarray,
    cutoff_min: float,
    rng: np.random.Generator,
) -> Enrolment:
    """Place the applicants of every type with enrolment (module docstring), drawing from ``rng``.

    Args:
        table: The types present.
        age: Every resident's age.
        m_per_min: Every resident's own pace.
        reach: The candidate table (walking metres from home nodes to facilities).
        origin_of: Every resident's row in ``reach``.
        facility_type: Every facility's type index.
        capacity: Every facility's capacity.
        cutoff_min: The residents' cut-off, own walking minutes.
        rng: The run's generator.
    """
    n = age.size
    out = no_enrolment(n, len(table))
    types = np.flatnonzero(table.enrols)
    if not types.size:
        return out
    column = out.column.copy()
    column[types] = np.arange(types.size)
    applied = np.zeros((n, types.size), dtype=bool)
    placed = np.full((n, types.size), -1, dtype=np.int64)
    metres = np.full((n, types.size), np.nan)
    free = rules.places(capacity, facility_type, table).astype(np.int64)
    of_age = rules.needs(age, table)
    for k, t in enumerate(types):
        children = np.flatnonzero(of_age[:, t])
        applicants = children[rng.random(children.size) < table.apply_share[t]]
        applied[applicants, k] = True
        indptr, facility, cand_m = candidates(reach, origin_of, applicants, int(t), m_per_min, cutoff_min)
        if table.enrolment[t] == CATCHMENT:
            order = catchment_order(applicants, indptr, cand_m)
        else:
            order = rng.permutation(applicants.size)
        at = allocate(order, indptr, facility, cand_m, free)
        ok = at >= 0
        placed[applicants[ok], k] = facility[at[ok]]
        metres[applicants[ok], k] = cand_m[at[ok]]
    return Enrolment(types=types, column=column, applied=applied, facility=placed, metres=metres)


def candidates(
    reach: Reach, origin_of: np.ndarray, residents: np.ndarray, t: int, m_per_min: np.ndarray, cutoff_min: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The facilities of type ``t`` within each resident's cut-off, as a table by resident (CSR).

    Returns:
        ``(indptr, facility, metres)``: resident ``residents[i]``'s candidates are
        ``indptr[i]:indptr[i + 1]`` (in the candidate table's order).
    """
    group = origin_of[residents] * reach.n_types + t
    lo, count = reach.indptr[group], reach.indptr[group + 1] - reach.indptr[group]
    owner, offset = segments(count)
    entry = lo[owner] + offset
    metres = reach.metres[entry]
    keep = rules.within_cutoff(metres / m_per_min[residents[owner]], cutoff_min)
    kept = np.bincount(owner[keep], minlength=residents.size)
    indptr = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
    return indptr, reach.facility[entry[keep]].astype(np.int64), metres[keep]


def catchment_order(residents: np.ndarray, indptr: np.ndarray, metres: np.ndarray) -> np.ndarray:
    """Positions of ``residents`` in catchment order: nearest candidate first (metres), ties by resident id.

    A resident with no candidate comes last (it cannot be placed anywhere).
    """
    nearest = np.full(residents.size, np.inf)
    has = indptr[1:] > indptr[:-1]
    if has.any():
        nearest[has] = np.minimum.reduceat(metres, indptr[:-1][has])
    return np.lexsort((residents, nearest))


@numba.njit(cache=True)
def allocate(order, indptr, facility, metres, free):
    """Each applicant in ``order`` takes its nearest candidate with a free place (ties: lower facility id).

    Args:
        order: Applicant positions, in the order they are placed.
        indptr: Candidates by applicant (CSR offsets).
        facility: Candidate facility ids.
        metres: Candidate walking distances.
        free: Free places per facility id; decremented as places are taken.

    Returns:
        Per applicant position, the candidate entry it took (an index into ``facility``), -1 for none.
    """
    out = np.full(indptr.size - 1, -1, dtype=np.int64)
    for i in order:
        best = -1
        for j in range(indptr[i], indptr[i + 1]):
            f = facility[j]
            if free[f] <= 0:
                continue
            if best < 0 or metres[j] < metres[best] or (metres[j] == metres[best] and f < facility[best]):
                best = j
        if best >= 0:
            out[i] = best
            free[facility[best]] -= 1
    return out
