"""Tests for the catalogue field table (model/scenario/fields.py): everything that knows a field of
a facility type is made from it, and it agrees with the catalogue and docs/scenarios.md.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from model.scenario import FIELDS, FacilityType, ScenarioError, load_catalogue, load_scenario, scenario_toml
from model.scenario import fields as fields_module
from model.scenario.fields import (
    OPTIONAL_TYPE_FIELDS,
    TYPE_FIELDS,
    docs_table,
    entry_problems,
    type_attributes,
    type_entry,
)
from model.scenario.schema import SCHEMA
from model.simulation.rules import TypeTable

ROOT = Path(__file__).resolve().parent.parent
DEMO = load_scenario("demo")


def test_facility_type_has_id_and_one_attribute_per_field_in_table_order():
    names = [f.name for f in dataclasses.fields(FacilityType)]
    assert names == ["id", *(f.attribute for f in FIELDS)]
    # the names other code reads, in the order scenario.toml and reprs give them (a new field may follow)
    assert names[:18] == [
        "id",
        "label",
        "level_min",
        "ages",
        "daily_prob",
        "weekdays_only",
        "depart_windows",
        "visit_min",
        "open_min",
        "close_min",
        "capacity",
        "beta_per_min",
        "patience_min",
        "tries",
        "catchment_min",
        "area_m2",
        "open_space",
        "source",
    ]
    by_name = {f.name: f for f in dataclasses.fields(FacilityType)}
    assert by_name["catchment_min"].default is None and by_name["open_space"].default is False
    assert by_name["source"].default_factory() == {} and not by_name["source"].compare
    assert "depart_windows: ``depart`` in the catalogue." in FacilityType.__doc__


def test_the_schema_of_a_facility_type_is_the_table():
    assert SCHEMA["facility_types"] == "types"
    assert TYPE_FIELDS == {f.name: f.kind for f in FIELDS}
    assert OPTIONAL_TYPE_FIELDS == (
        "catchment_min",
        "area_m2",
        "open_space",
        "source",
        "osm",
        "enrolment",
        "apply_share",
        "escort_below_age",
    )


def test_every_catalogue_entry_gives_every_required_field_and_only_fields_of_the_table():
    for tname, entry in load_catalogue().items():
        assert {f.name for f in FIELDS if f.required} <= set(entry) <= set(TYPE_FIELDS), tname


@pytest.mark.parametrize("tname", list(load_catalogue()))
def test_a_type_written_and_read_back_is_the_same(tname):
    t = DEMO.types[tname]
    written = type_entry(t)
    again = FacilityType(id=tname, **type_attributes(written))
    assert again == t and again.source == t.source
    assert entry_problems(written) == []


def test_optional_fields_are_written_only_when_they_differ_from_their_default():
    park = DEMO.types["park"]
    assert "catchment_min" not in type_entry(park) and type_entry(park)["open_space"] is True
    plain = dataclasses.replace(park, area_m2=None, open_space=False, osm=(), source={})
    assert set(type_entry(plain)) == {f.name for f in FIELDS if f.required}


def test_the_type_table_has_one_array_per_column_of_the_table():
    types = list(DEMO.types.values())
    table = TypeTable.from_types(types)
    columns = [col for f in FIELDS for col in f.columns]
    assert {c.name for c in columns} >= {  # the columns the rules read (a new field may add more)
        "age_lo",
        "age_hi",
        "daily_prob",
        "weekdays_only",
        "visit_min",
        "open_min",
        "close_min",
        "beta_per_min",
        "patience_min",
        "tries",
        "open_space",
    }
    for col in columns:
        array = getattr(table, col.name)
        assert array.dtype == np.dtype(col.dtype) and array.shape == (len(types),), col.name
    assert table.age_lo.tolist() == [t.ages.lo for t in types]
    assert table.close_min.tolist() == [t.close_min for t in types]
    assert table.open_space.tolist() == [t.open_space for t in types]


def test_range_problems_are_the_fields_checks_then_opening_hours_then_windows():
    entry = {**type_entry(DEMO.types["market"]), "tries": 0, "level_min": -1, "open": "22:00", "close": "06:00"}
    keys = [key for key, _ in entry_problems(entry)]
    assert keys == ["level_min", "tries", "close"]
    assert dict(entry_problems(entry))["tries"] == "must be positive, not 0"


def test_a_field_a_scenario_may_not_change_is_reported_when_changed(tmp_path, monkeypatch):
    fixed = dataclasses.replace(fields_module.FIELD_BY_NAME["label"], overridable=False)
    monkeypatch.setitem(fields_module.FIELD_BY_NAME, "label", fixed)
    text = scenario_toml(DEMO)  # repeats every catalogue label: that is no change
    same = tmp_path / "same.toml"
    same.write_text(text, encoding="utf-8")
    assert load_scenario(same) == DEMO
    path = tmp_path / "s.toml"
    path.write_text(text.replace('label = "Park or pocket park"', 'label = "A park"'), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [(p.key, p.message) for p in info.value.problems] == [
        ("facility_types.park.label", "is the catalogue's for every scenario: a scenario cannot change it")
    ]


def test_docs_give_the_table_of_fields():
    docs = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert docs_table() in docs, (
        "docs/scenarios.md's table of catalogue fields is not that of model/scenario/fields.py; replace it with "
        "the output of: python -c 'from model.scenario.fields import docs_table; print(docs_table())'"
    )
