"""CSV tables written in chunks of rows (model/report/files.py, issue 19): the values, exactly, whatever the chunk.

Read back with Python's own csv module and compared with the table written: floats at full
precision (shortest round trip), missing values empty, text quoted only when a value needs it,
and the same bytes for every chunk size.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from model.report import files


def table(texts: list[str]) -> pd.DataFrame:
    n = len(texts)
    rng = np.random.default_rng(5)
    floats = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, size=n)
    floats[:3] = [0.1 + 0.2, np.nan, 1 / 3]
    places = pd.array([k if k % 3 else None for k in range(n)], dtype="Int64")
    return pd.DataFrame(
        {"id": np.arange(n), "value": floats, "place": places, "name": texts, "flag": np.arange(n) % 2 == 0}
    )


def read_back(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def same_values(frame: pd.DataFrame, rows: list[dict]) -> None:
    assert len(rows) == len(frame)
    for row, (_, want) in zip(rows, frame.iterrows(), strict=True):
        assert int(row["id"]) == want["id"]
        if np.isnan(want["value"]):
            assert row["value"] == ""
        else:
            assert float(row["value"]) == want["value"]  # exact: the shortest text that reads back the same
        assert row["place"] == ("" if pd.isna(want["place"]) else str(want["place"]))
        assert row["name"] == want["name"]
        assert row["flag"] == str(want["flag"]).lower()


@pytest.mark.parametrize("chunk", [1, 3, 7, 1_000_000])
def test_values_read_back_exactly_whatever_the_chunk(tmp_path, monkeypatch, chunk):
    frame = table([f"community {k}" for k in range(17)])
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", chunk)
    files.write_csv(tmp_path / "t.csv", frame)
    same_values(frame, read_back(tmp_path / "t.csv"))
    assert '"' not in (tmp_path / "t.csv").read_text(encoding="utf-8")  # nothing needed quotes


def test_a_comma_in_the_last_chunk_quotes_the_text_of_every_chunk(tmp_path, monkeypatch):
    frame = table([f"community {k}" for k in range(16)] + ['Binhe, "east"\nside'])
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", 4)
    files.write_csv(tmp_path / "t.csv", frame)
    text = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert '"community 0"' in text  # quoted in the first chunk too: one rule for the whole file
    same_values(frame, read_back(tmp_path / "t.csv"))


def test_the_bytes_do_not_depend_on_the_chunk(tmp_path, monkeypatch):
    frame = table([f"c{k}" if k != 9 else "a,b" for k in range(20)])
    written = []
    for chunk in (2, 5, 1_000_000):
        monkeypatch.setattr(files, "CSV_CHUNK_ROWS", chunk)
        files.write_csv(tmp_path / f"{chunk}.csv", frame)
        written.append((tmp_path / f"{chunk}.csv").read_bytes())
    assert written[0] == written[1] == written[2]


def test_an_empty_table_is_its_header(tmp_path):
    files.write_csv(tmp_path / "t.csv", table(["a", "b", "c"]).iloc[:0])
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == "id,value,place,name,flag\n"
