"""Group assortativity of the contact network: Newman's r (docs/metrics.md, "Contacts").

r = (Tr e − ‖e²‖) / (1 − ‖e²‖), ‖e²‖ the sum of all elements of e·e, i.e. Σ_g a_g b_g (Newman 2003,
Phys. Rev. E 67, 026126, Eq. 2). Checked on graphs worked by hand, where the two misreadings of
‖e²‖ (the sum of the squared elements of e, the trace of e·e) give other values, and against
networkx's attribute_assortativity_coefficient on seeded random graphs.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from model.measures.contacts import group_assortativity


def graph(groups: dict[str, str], edges: list[tuple[str, str]]) -> nx.Graph:
    g = nx.Graph()
    for node, group in groups.items():
        g.add_node(node, group=group)
    g.add_edges_from(edges)
    return g


def misread(e: np.ndarray) -> tuple[float, float]:
    """r with ‖e²‖ read as the sum of squared elements, and as the trace of e·e (both wrong)."""
    squares, trace = (e**2).sum(), np.trace(e @ e)
    return (np.trace(e) - squares) / (1 - squares), (np.trace(e) - trace) / (1 - trace)


def test_two_groups_by_hand():
    # x1-x2 and x1-y1, each counted both ways: e = [[2, 1], [1, 0]] / 4; a = b = (0.75, 0.25);
    # Tr e = 0.5, ‖e²‖ = 0.75² + 0.25² = 0.625: r = (0.5 - 0.625) / (1 - 0.625) = -1/3
    g = graph({"x1": "x", "x2": "x", "y1": "y"}, [("x1", "x2"), ("x1", "y1")])
    assert group_assortativity(g) == pytest.approx(-1 / 3, abs=1e-15)
    e = np.array([[2, 1], [1, 0]]) / 4
    assert misread(e)[0] == pytest.approx(0.2) and misread(e)[0] != pytest.approx(-1 / 3)


def test_three_groups_by_hand():
    # the cycle x1-x2-z1-y1-x1: edge ends x-x 2, x-y 1+1, x-z 1+1, y-z 1+1 of 8:
    # e = [[2, 1, 1], [1, 0, 1], [1, 1, 0]] / 8; a = b = (0.5, 0.25, 0.25);
    # Tr e = 0.25, ‖e²‖ = 0.25 + 0.0625 + 0.0625 = 0.375: r = (0.25 - 0.375) / (1 - 0.375) = -0.2
    g = graph({"x1": "x", "x2": "x", "y1": "y", "z1": "z"}, [("x1", "x2"), ("x2", "z1"), ("z1", "y1"), ("y1", "x1")])
    assert group_assortativity(g) == pytest.approx(-0.2, abs=1e-15)
    e = np.array([[2, 1, 1], [1, 0, 1], [1, 1, 0]]) / 8
    assert (e @ e).sum() == pytest.approx(0.375) and (e**2).sum() == pytest.approx(10 / 64)
    assert all(value != pytest.approx(-0.2) for value in misread(e))


def test_perfect_mixing_within_groups_and_between():
    # edges only within groups: e diagonal, r = 1; edges only between two equal groups: r = -1
    within = graph({"a1": "a", "a2": "a", "b1": "b", "b2": "b"}, [("a1", "a2"), ("b1", "b2")])
    between = graph({"a1": "a", "a2": "a", "b1": "b", "b2": "b"}, [("a1", "b1"), ("a2", "b2")])
    assert group_assortativity(within) == pytest.approx(1.0, abs=1e-15)
    assert group_assortativity(between) == pytest.approx(-1.0, abs=1e-15)


def test_null_without_edges_or_with_one_group():
    assert math.isnan(group_assortativity(graph({"a": "x", "b": "y"}, [])))
    assert math.isnan(group_assortativity(graph({"a": "x", "b": "x"}, [("a", "b")])))


@pytest.mark.parametrize("seed", range(5))
def test_equals_networkx_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(40, 0.12, seed=seed)
    names = ("han", "mongol", "hui")
    for node in g.nodes:
        g.nodes[node]["group"] = names[int(rng.choice(3, p=(0.6, 0.25, 0.15)))]
    assert g.number_of_edges() > 0
    expected = nx.attribute_assortativity_coefficient(g, "group")
    assert group_assortativity(g) == pytest.approx(expected, abs=1e-12)
