"""Every number of the catalogue and of the shared population file says where it comes from.

The catalogue (model/catalogue.toml) gives each type a ``[<type>.source]`` table: every field
that holds a number, a time or an age band must have an entry there, a citation or the word
"assumption". scenarios/parts/inner_mongolia.toml, which every bundled scenario extends for its
population and walking speeds, must say PUBLISHED or ASSUMPTION (or assumption) in the comment on
or above every value it sets.
"""

from __future__ import annotations

import re

import pytest

from model.scenario import load_catalogue
from tests.conftest import ROOT

# fields of a catalogue entry that are not numbers: no source needed
_NOT_NUMBERS = {"label", "weekdays_only", "open_space", "source"}
# words that name a source; a bare "assumption" (or "assumed") is enough
_CITES = re.compile(
    r"assum|CCTV|GB 50180|article|census|Ministry|Commission|State Council|Law|wiki\.openstreetmap|\[A\d\]", re.I
)


@pytest.mark.parametrize("type_id", list(load_catalogue()))
def test_every_number_of_a_catalogue_type_has_a_source(type_id):
    entry = load_catalogue()[type_id]
    source = entry.get("source", {})
    for field in entry:
        if field in _NOT_NUMBERS:
            continue
        assert field in source, f"{type_id}.{field} has no source"
        assert _CITES.search(source[field]), f"{type_id}.{field}: {source[field]!r} names no source"


def test_every_value_of_the_shared_population_file_says_published_or_assumed():
    lines = (ROOT / "scenarios" / "parts" / "inner_mongolia.toml").read_text(encoding="utf-8").splitlines()
    comment: list[str] = []
    checked = 0
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        if re.match(r"[a-z_]+\s*=", stripped):
            said = " ".join(comment) + " " + line.partition("#")[2]
            assert re.search(r"PUBLISHED|ASSUMPTION|assumption", said), f"no source for: {stripped[:60]}"
            checked += 1
        comment = [] if not stripped or stripped.startswith("[") or "=" in stripped else comment
    assert checked >= 8  # groups, ages, mixing, m_per_min, pace_cv, pace_limits, reduced_mobility, reduced_pace
