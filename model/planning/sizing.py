"""``lifecircle optimize --size TYPE --share S``: how many places, and where, so that S of the wanted visits are served.

Answered through the simulation (the agent model with its capacities, queues and turn-aways), not
the static model, in two steps (docs/planning.md, "Sizing"):

1. **Reach.** A base run of the scenario gives each user's wanted visits of the type (its
   visits plus its unmet visits). Wanted visits of users with no site of the type within the
   cut-off (``simulation.cutoff_min``, at the user's own pace) cannot be served whatever the
   places. While their share exceeds 1 - S, one more site is added with the maximal covering
   model (model/planning/location, ``coverage``) with the cut-off as its standard and each
   user's wanted visits as its weight: K = 1, 2, ... new sites, each K solved afresh, until the
   reach allows S. A share that every candidate together cannot reach is refused.
2. **Places.** The sites (the scenario's and the new ones) run once with no limit of places
   (each site as many places as the type has users): each site's peak of visitors present at
   once is its demand, and the share served is the most any number of places can serve (the
   rest does not fit in the day, or gives up for the walk); below S the request is refused.
   Then the total T of places is bisected: T places are shared among the sites in proportion to
   their demand (largest remainders, at least one place per site: :func:`allocate`), the
   scenario runs with them, and T is kept if served / wanted >= S. The bisection starts with
   the sum of the demands (where nobody is turned away: the unlimited run's share, not
   simulated again) as a total that serves S and one place per site less one as a total that
   does not, and ends when the two are one place apart: the answer serves S, and the same rule
   with one place fewer does not.

Every run is one day with the same seed (common random numbers: the runs differ only by the
places), without replicates; served / wanted is assumed to grow with the places, which the
bisection needs and which one seed does not guarantee (a place more can reorder a queue). The
runs share the built city (:class:`model.city.cache.CityCache`), since only capacities change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from model.scenario import FacilitySite, Scenario

SIZING_DAYS = 1  # one simulated day per run: the day plan repeats; more days cost time, not a different rule


@dataclass
class Step:
    """One simulation of the sizing: what it tried and what it served."""

    what: str  # "base", "unlimited" or "bisection"
    places: int  # total places of the type's sites
    served: int
    wanted: int

    @property
    def share(self) -> float:
        """The share served: served / wanted (1 when nothing was wanted)."""
        return self.served / self.wanted if self.wanted else 1.0


@dataclass
class Sizing:
    """The answer of ``--size``: the sites, their places before and after, and every run made.

    Attributes:
        scenario: The new scenario: the input with the new sites and the places of the answer.
        sites: Per site of the type (the input's, then the new ones), its FacilitySite after.
        before: Per site, its places in the input (0 for a new site).
        added: How many sites step 1 added.
        steps: Every simulation run, in order.
        seconds: Wall time of the sizing.
    """

    scenario: Scenario
    sites: list[FacilitySite]
    before: list[int]
    added: int
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def share(self) -> float:
        """The simulated share served with the answer's places (its bisection run)."""
        return next(s.share for s in reversed(self.steps) if s.what == "bisection" and s.places == self.total)

    @property
    def total(self) -> int:
        """Places of the answer, over every site."""
        return int(sum(s.capacity for s in self.sites))


class Unreachable(Exception):  # noqa: N818 - a result, not an error of the program: the CLI turns it into exit 2
    """The share cannot be reached: ``best`` is the most that can be served, ``why`` says what limits it."""

    def __init__(self, best: float, why: str):
        """Keep the best reachable share and the reason."""
        super().__init__(why)
        self.best, self.why = best, why


def allocate(total: int, demand: np.ndarray) -> np.ndarray:
    """``total`` places shared in proportion to ``demand``, at least one per site (largest remainders).

    Each site first gets one place; the remaining ``total - n`` are shared in proportion to
    ``demand`` (equally when every demand is 0): each site gets the whole part of its share, and
    the places left go one each to the largest remainders (ties to the lower index). Hamilton's
    method of apportionment.
    """
    d = np.asarray(demand, dtype=float)
    n = d.size
    if total < n:
        raise ValueError(f"total {total} is less than one place per site ({n})")
    rest = total - n
    weight = d if d.sum() > 0 else np.ones(n)
    exact = rest * weight / weight.sum()
    whole = np.floor(exact).astype(np.int64)
    left = rest - int(whole.sum())
    order = np.lexsort((np.arange(n), -(exact - whole)))
    whole[order[:left]] += 1
    return whole + 1


def served_and_wanted(model, ftype: str) -> tuple[int, int, np.ndarray]:
    """A finished run's served and wanted visits (served + unmet) of the type, and each resident's wanted visits."""
    log = model.visit_log.columns()
    k_log = list(model.visit_log.type_names).index(ftype)
    n = len(model.built.residents)
    visits = np.bincount(log["resident"][log["type"] == k_log], minlength=n)
    unmet = model.unmet_counts()[:, list(model.city.types).index(ftype)]
    wanted = visits + unmet
    return int(visits.sum()), int(wanted.sum()), wanted


def run_once(scenario: Scenario, seed: int, cache, ftype: str):
    """One day of ``scenario``: the finished model, and its served and wanted visits of ``ftype``."""
    from model.model import LifeCircleModel

    model = LifeCircleModel(scenario, seed=seed, days=SIZING_DAYS, city_cache=cache)
    model.run()
    served, wanted, per_resident = served_and_wanted(model, ftype)
    return model, served, wanted, per_resident


def _with_places(scenario: Scenario, index: list[int], places: np.ndarray) -> Scenario:
    """``scenario`` with the facilities at ``index`` given ``places``."""
    facilities = list(scenario.facilities)
    for i, p in zip(index, places, strict=True):
        facilities[i] = replace(facilities[i], capacity=int(p))
    return replace(scenario, facilities=tuple(facilities))


def size(scenario: Scenario, ftype: str, share: float, seed: int, add_sites, progress=None) -> Sizing:
    """How many places, and where, so that ``share`` of the wanted visits of ``ftype`` are served (module docstring).

    Args:
        scenario: The input scenario.
        ftype: A facility type with places (not an open space, not an enrolment type).
        share: S, in (0, 1].
        seed: The seed of every run.
        add_sites: ``add_sites(model, wanted_per_resident, k)`` -> (new FacilitySites, unreachable
            weight): the K new sites of the covering model and the wanted visits still beyond
            the cut-off with them (the CLI builds it from the candidates).
        progress: Called with each :class:`Step` as it is run (None: quiet).

    Raises:
        Unreachable: When no number of sites or places serves ``share``.
    """
    from model.city.cache import CityCache

    t0 = time.perf_counter()
    cache = CityCache(max_places=2)
    steps: list[Step] = []

    def note(step: Step) -> None:
        steps.append(step)
        if progress is not None:
            progress(step)

    index = [i for i, f in enumerate(scenario.facilities) if f.type == ftype]
    before = [scenario.facilities[i].capacity for i in index]
    model, served, wanted, per_resident = run_once(scenario, seed, cache, ftype)
    note(Step("base", int(sum(before)), served, wanted))
    # step 1: the reach
    res = model.built.residents
    field_m = model.built.fields_m.get(ftype)
    far = np.ones(len(res), dtype=bool) if field_m is None else field_m[res.node] / res.m_per_min > _cutoff(model)
    beyond = int(per_resident[far].sum())
    added: list[FacilitySite] = []
    k = 0
    while wanted and beyond > (1 - share) * wanted + 1e-9:
        k += 1
        added, beyond, left = add_sites(model, per_resident, k)
        if left > (1 - share) * wanted + 1e-9:
            raise Unreachable(
                1 - left / wanted,
                f"{left:,} of the {wanted:,} wanted visits come from users with no candidate site within the "
                f"{_cutoff(model):g}-minute cut-off",
            )
    grown = replace(scenario, facilities=tuple(scenario.facilities) + tuple(added))
    index += list(range(len(scenario.facilities), len(grown.facilities)))
    before += [0] * len(added)
    # step 2: the places
    users = max(int(len(res)), 1)
    model, served, wanted, _ = run_once(_with_places(grown, index, np.full(len(index), users)), seed, cache, ftype)
    note(Step("unlimited", users * len(index), served, wanted))
    if wanted == 0:
        raise Unreachable(float("nan"), f"nobody wanted a visit of {ftype} in the simulated day")
    best = served / wanted
    if best < share:
        raise Unreachable(
            best,
            f"even with no limit of places the simulation serves {best:.1%} of the {wanted:,} wanted visits "
            "(the rest do not fit in the day, or are beyond the cut-off)",
        )
    demand = np.maximum(np.asarray(model.facility_totals()["peak_occupancy"])[np.asarray(index)], 1)
    # lo: one place per site less one, not allowed, so taken as failing; hi: the peaks of the unlimited
    # run, where nobody is turned away (simulated, not assumed; doubled in the rare case it falls short)
    lo, hi = len(index) - 1, int(demand.sum())
    while True:
        served, wanted = _try(grown, index, allocate(hi, demand), seed, cache, ftype, note)
        if served / wanted >= share:
            break
        if hi >= users * len(index):
            raise Unreachable(served / wanted, "places shared by the peaks of the run with no limit fall short")
        lo, hi = hi, min(2 * hi, users * len(index))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        served, wanted = _try(grown, index, allocate(mid, demand), seed, cache, ftype, note)
        if served / wanted >= share:
            hi = mid
        else:
            lo = mid
    final = _with_places(grown, index, allocate(hi, demand))
    sites = [final.facilities[i] for i in index]
    return Sizing(final, sites, before, len(added), steps, time.perf_counter() - t0)


def _try(grown, index, places, seed, cache, ftype, note) -> tuple[int, int]:
    """One bisection run with ``places`` at the sites ``index``: served and wanted visits."""
    _, served, wanted, _ = run_once(_with_places(grown, index, places), seed, cache, ftype)
    note(Step("bisection", int(places.sum()), served, wanted))
    return served, max(wanted, 1)


def _cutoff(model) -> float:
    return float(model.spec.simulation.cutoff_min)


def covering_sites(model, ftype: str, found, options=None):
    """The ``add_sites`` of :func:`size`: K new sites by the maximal covering model, the cut-off its standard.

    Args:
        model: The base run's model (its residents and walking surface).
        ftype: The facility type.
        found: The candidates (``model.planning.optimize.Candidates``).
        options: The solver options (None: the defaults).

    Returns:
        ``add_sites(model, wanted, k)`` -> (the K new FacilitySites, the wanted visits beyond the
        cut-off with them, the wanted visits with no existing or candidate site within it).
    """
    from model.planning import location
    from model.planning.optimize import build_instance

    cutoff = _cutoff(model)
    capacity = int(model.spec.types[ftype].capacity)
    built = {}

    def add_sites(model, wanted: np.ndarray, k: int):
        if "inst" not in built:  # the users' weights are the base run's wanted visits: the same at every K
            built["inst"] = build_instance(
                model, ftype, wanted.astype(float), found.nodes, cutoff, connector_m=found.connector_m
            )
        inst = built["inst"]
        if k > found.size:
            raise Unreachable(float("nan"), f"more new sites needed than the {found.size:,} candidates")
        sol = location.coverage(inst.minutes, inst.weight, k, cutoff, existing=inst.existing, options=options)
        d = sol.details
        sites = [
            FacilitySite(ftype, *found.at[int(j)], capacity, f"{ftype} proposed {i}")
            for i, j in enumerate(sol.sites, start=1)
        ]
        return sites, int(round(d["total_weight"] - sol.objective)), int(round(d["unreachable"]))

    return add_sites
