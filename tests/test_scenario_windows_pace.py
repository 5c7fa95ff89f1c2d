"""Departure windows (``depart``: one window or several) and the pace within an age band (``[walking]``).

What a valid file gives, what a bad one is told (file, key path, message; exit 2 on the command
line), and that both survive ``extends``, overrides and the resolved scenario.toml.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from model.scenario import AgeBand, Pace, ScenarioError, load_scenario, override_kind, scenario_toml
from tests.conftest import write_small

PARK_WINDOWS = '[facility_types.park]\ndepart = [["06:00", "06:45"], ["18:30", "20:00"]]\n'


def problems(path, **kwargs):
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    return [(p.file, p.key, p.message) for p in info.value.problems]


def one_problem(path, key, fragment):
    got = problems(path)
    hits = [p for p in got if p[0] == "small.toml" and p[1] == key and fragment in p[2]]
    assert len(hits) == 1, got
    return hits[0][2]


# --------------------------------------------------------------------------- windows


def test_one_window_and_several(tmp_path):
    s = load_scenario(write_small(tmp_path, residents=50, extra=PARK_WINDOWS))
    assert s.types["park"].depart_windows == ((6 * 60, 6 * 60 + 45), (18 * 60 + 30, 20 * 60))
    assert s.types["market"].depart_windows == ((6 * 60 + 30, 9 * 60 + 30),)  # the catalogue's single window


@pytest.mark.parametrize(
    ("depart", "key", "fragment"),
    [
        (
            '[["18:30", "20:00"], ["06:00", "06:45"]]',
            "facility_types.park.depart",
            "windows must be in order of time and must not overlap: 18:30-20:00 is followed by 06:00-06:45",
        ),
        (
            '[["06:00", "07:00"], ["07:00", "08:00"]]',  # both include 07:00
            "facility_types.park.depart",
            "must not overlap: 06:00-07:00 is followed by 07:00-08:00",
        ),
        ('[["06:00", "06:45"], ["20:00", "18:30"]]', "facility_types.park.depart[1]", "must not end before it starts"),
        ('["08:00", "07:00"]', "facility_types.park.depart", "the window 08:00-07:00 must not end before it starts"),
        (
            '[["05:00", "05:30"], ["18:30", "20:00"]]',
            "facility_types.park.depart[0]",
            "departures 05:00-05:30 must fall within the opening hours 06:00-22:00",
        ),
        ('[["06:00", "06:45"], ["18:30"]]', "facility_types.park.depart", "or a list of windows"),
        ("[]", "facility_types.park.depart", "or a list of windows"),
        ('[["06:00", "25:00"]]', "facility_types.park.depart", "or a list of windows"),
    ],
)
def test_bad_windows_are_reported_with_file_and_key(tmp_path, depart, key, fragment):
    one_problem(write_small(tmp_path, extra=f"[facility_types.park]\ndepart = {depart}\n"), key, fragment)


def test_the_command_line_reports_bad_windows_and_exits_2(tmp_path):
    path = write_small(tmp_path, extra='[facility_types.park]\ndepart = [["18:30", "20:00"], ["06:00", "06:45"]]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "model.cli", "validate", str(path)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("small.toml: facility_types.park.depart: windows must be in order of time")


def test_a_variant_replaces_the_windows_whole(tmp_path):
    base = write_small(tmp_path, residents=50, extra=PARK_WINDOWS)
    variant = tmp_path / "v.toml"
    variant.write_text(
        f'name = "v"\nextends = "{base.name}"\n[facility_types.park]\ndepart = ["19:00", "20:00"]\n', encoding="utf-8"
    )
    assert load_scenario(variant).types["park"].depart_windows == ((19 * 60, 20 * 60),)


def test_windows_can_be_overridden_and_say_their_kind():
    assert override_kind("facility_types.park.depart") == "windows"
    s = load_scenario("demo", overrides={"facility_types.market.depart": [["06:30", "07:00"], ["17:00", "18:00"]]})
    assert s.types["market"].depart_windows == ((390, 420), (1020, 1080))
    bad = problems("demo", overrides={"facility_types.market.depart": [["17:00", "18:00"], ["06:30", "07:00"]]})
    assert [(f, k) for f, k, _ in bad] == [("overrides", "facility_types.market.depart")]


# --------------------------------------------------------------------------- pace within a band

PACE = """
[walking]
m_per_min = { "0-11" = 55.0, "12-59" = 78.0, "60-100" = 60.0 }
pace_cv = 0.2
pace_limits = [0.7, 1.3]
reduced_mobility = { "80-100" = 0.25, "70-79" = 0.1 }
reduced_pace = 0.4
"""


def with_walking(folder, text: str):
    """The small scenario with its [walking] table replaced by ``text``."""
    path = write_small(folder, residents=50)
    body = path.read_text(encoding="utf-8")
    start = body.index("[walking]")
    end = body.index("[[communities]]")
    path.write_text(body[:start] + text.strip() + "\n\n" + body[end:], encoding="utf-8")
    return path


def test_the_pace_keys_load_and_default_to_no_variation(tmp_path):
    s = load_scenario(with_walking(tmp_path, PACE))
    assert s.pace == Pace(0.2, (0.7, 1.3), {AgeBand(70, 79): 0.1, AgeBand(80, 100): 0.25}, 0.4)
    assert s.fastest_m_per_min == pytest.approx(78.0 * 1.3)
    plain = load_scenario(write_small(tmp_path, residents=50))  # the same file, without the pace keys
    assert plain.pace == Pace() and plain.pace.cv == 0 and not plain.pace.reduced_mobility
    assert plain.fastest_m_per_min == 78.0  # no variation: the fastest band


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ("pace_cv = 0.2", "pace_cv = -0.1", "walking.pace_cv", "between 0 and 1"),
        ("pace_cv = 0.2", "pace_cv = 1.5", "walking.pace_cv", "between 0 and 1"),
        ("pace_cv = 0.2", "pace_cv = inf", "walking.pace_cv", "between 0 and 1"),
        ("pace_cv = 0.2", 'pace_cv = "high"', "walking.pace_cv", "must be a number"),
        ("pace_limits = [0.7, 1.3]", "pace_limits = [1.1, 1.3]", "walking.pace_limits", "0 < lowest <= 1 <= highest"),
        ("pace_limits = [0.7, 1.3]", "pace_limits = [0.0, 1.3]", "walking.pace_limits", "0 < lowest <= 1 <= highest"),
        ("pace_limits = [0.7, 1.3]", "pace_limits = [0.7, 0.9]", "walking.pace_limits", "0 < lowest <= 1 <= highest"),
        ("pace_limits = [0.7, 1.3]", "pace_limits = [0.7]", "walking.pace_limits", "[lowest, highest]"),
        ('"80-100" = 0.25', '"80-100" = 1.25', "walking.reduced_mobility.80-100", "share between 0 and 1"),
        ('"70-79" = 0.1', '"70-85" = 0.1', "walking.reduced_mobility", 'bands "70-85" and "80-100" overlap'),
        ('"70-79" = 0.1', '"old" = 0.1', "walking.reduced_mobility.old", 'age band must be "lo-hi"'),
        ("reduced_pace = 0.4", "reduced_pace = 0.0", "walking.reduced_pace", "above 0 and at most 1"),
        ("reduced_pace = 0.4", "reduced_pace = 1.2", "walking.reduced_pace", "above 0 and at most 1"),
    ],
)
def test_bad_pace_keys_are_reported_with_file_and_key(tmp_path, old, new, key, fragment):
    assert PACE.count(old) == 1
    one_problem(with_walking(tmp_path, PACE.replace(old, new)), key, fragment)


def test_a_variant_replaces_the_reduced_mobility_table_whole(tmp_path):
    base = with_walking(tmp_path, PACE)
    variant = base.parent / "v.toml"
    variant.write_text(
        f'name = "v"\nextends = "{base.name}"\n[walking]\nreduced_mobility = {{ "90-100" = 0.5 }}\n', encoding="utf-8"
    )
    s = load_scenario(variant)
    assert s.pace.reduced_mobility == {AgeBand(90, 100): 0.5}  # not merged with the base's bands
    assert s.pace.cv == 0.2  # the rest of [walking] merges key by key


def test_pace_keys_can_be_overridden_and_say_their_kind():
    assert override_kind("walking.pace_cv") == "float"
    assert override_kind("walking.pace_limits") == "range"
    assert override_kind("walking.reduced_mobility") == "band_shares"
    assert override_kind("walking.reduced_mobility.80-100") == "float"
    s = load_scenario("demo", overrides={"walking.pace_cv": 0.05, "walking.reduced_mobility": {"85-100": 0.3}})
    assert s.pace.cv == 0.05 and s.pace.reduced_mobility == {AgeBand(85, 100): 0.3}


# --------------------------------------------------------------------------- written back


def test_the_resolved_scenario_keeps_windows_and_pace(tmp_path):
    s = load_scenario(with_walking(tmp_path, PACE + "\n" + PARK_WINDOWS))
    text = scenario_toml(s)
    assert 'depart = [\n    ["06:00", "06:45"],\n    ["18:30", "20:00"],\n]' in text
    assert 'depart = ["06:30", "09:30"]' in text  # a single window is written as before
    out = tmp_path / "resolved.toml"
    out.write_text(text, encoding="utf-8")
    again = load_scenario(out)
    assert again == s
    assert again.types["park"].depart_windows == s.types["park"].depart_windows
