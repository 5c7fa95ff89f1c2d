"""The contact network: who met whom at facilities, as a networkx graph.

Two residents are in contact when, summed over the run, they were present at the same facility
at the same minutes for at least ``contact_min`` minutes (scenario [simulation] setting, default
10). Pairs are found per facility from the visit log (an interval overlap join), which grows with
the square of visitors per facility; above ``max_residents`` residents the network is built on a
uniform random sample of residents drawn from the model's generator, and the graph says so in
its attributes.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from model.simulation.clock import MINUTES_PER_DAY

DEFAULT_MAX_RESIDENTS = 5_000


def contact_graph(
    visits: dict[str, np.ndarray],
    group_names: tuple[str, ...],
    group_of: np.ndarray,
    age: np.ndarray,
    contact_min: int,
    rng: np.random.Generator,
    max_residents: int = DEFAULT_MAX_RESIDENTS,
) -> nx.Graph:
    """Build the contact network (nodes: residents, with "group" and "age"; edges: "minutes" together).

    Graph attributes: "contact_min", "residents" (all), "sampled" (bool), "sample_size".
    """
    n = group_of.size
    sampled = n > max_residents
    nodes = np.sort(rng.choice(n, size=max_residents, replace=False)) if sampled else np.arange(n)
    keep = np.isin(visits["resident"], nodes)
    v = pd.DataFrame({k: visits[k][keep] for k in ("resident", "facility", "arrive_min", "leave_min")})
    v["day"] = v["arrive_min"] // MINUTES_PER_DAY  # visits on different days never overlap
    pairs = []
    for _, at in v.groupby(["facility", "day"], sort=True):
        m = at.merge(at, on=["facility", "day"], suffixes=("_a", "_b"))
        m = m[m["resident_a"] < m["resident_b"]]
        overlap = np.minimum(m["leave_min_a"], m["leave_min_b"]) - np.maximum(m["arrive_min_a"], m["arrive_min_b"])
        m = m.assign(minutes=overlap)[overlap > 0]
        pairs.append(m[["resident_a", "resident_b", "minutes"]])
    g = nx.Graph(contact_min=contact_min, residents=n, sampled=sampled, sample_size=int(nodes.size))
    for r in nodes:
        g.add_node(int(r), group=group_names[group_of[r]], age=int(age[r]))
    if pairs:
        together = pd.concat(pairs).groupby(["resident_a", "resident_b"], sort=True)["minutes"].sum()
        together = together[together >= contact_min]
        g.add_weighted_edges_from(((int(a), int(b), int(w)) for (a, b), w in together.items()), weight="minutes")
    return g


def group_assortativity(g: nx.Graph) -> float:
    """Networkx attribute_assortativity_coefficient on "group" (NaN with no edges or one group).

    Computed as networkx does it, Newman's r = (tr e - sum(e @ e)) / (1 - sum(e @ e)) on the
    normalised mixing matrix e (Newman 2003, Phys. Rev. E 67, 026126, Eq. 2; sum(e @ e), the sum of
    all elements of the matrix product, is his ||e^2|| = sum_g a_g b_g), but with the groups
    in sorted order: networkx orders them as a set of strings, whose order changes with Python's
    hash seed and with it the last digits of the sums, which would break byte-identical summaries.
    """
    if g.number_of_edges() == 0:
        return float("nan")
    groups = sorted({group for _, group in g.nodes(data="group")})
    e = nx.attribute_mixing_matrix(g, "group", mapping={name: i for i, name in enumerate(groups)})
    e = e / e.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        square = (e @ e).sum()
        return float((e.trace() - square) / (1 - square))
