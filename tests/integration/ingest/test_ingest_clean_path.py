"""A clean file goes to the store as read: its gaps, stored rows filling them, corrupt gzip.

A file whose rows are all valid and in order skips the row-by-row validation, and its gaps are
taken from its own open times when nothing was stored in its range before; otherwise from the
store, where earlier rows may fill them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import format_time
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

HOLES = [10, 11, 12, 50, 299]  # row numbers left out of the holed file


def _ingest(capsys: pytest.CaptureFixture[str], db: Path, path: Path) -> dict:
    code = main(["ingest", "--db", str(db), "--json", "--no-rollup", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return dict(json.loads(out))


def _files(tmp_path: Path, eth_1m_2024: Path) -> tuple[pd.DataFrame, Path, Path]:
    rows = pd.read_csv(eth_1m_2024, nrows=400)
    holed, filler = tmp_path / "ETHUSDT-1m-holed.csv.gz", tmp_path / "ETHUSDT-1m-filler.csv"
    rows.drop(index=HOLES).to_csv(holed, index=False)
    rows.iloc[HOLES].to_csv(filler, index=False)
    return rows, holed, filler


def test_a_clean_file_reports_its_own_gaps_and_stores_every_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    rows, holed, _ = _files(tmp_path, eth_1m_2024)
    report = _ingest(capsys, tmp_path / "g.duckdb", holed)
    kept = rows.drop(index=HOLES).reset_index(drop=True)
    assert (report["rows_read"], report["accepted"]) == (len(kept), len(kept))
    assert (report["rejected"], report["duplicates"]) == ({}, 0)
    runs = [h for h in HOLES if h - 1 not in HOLES]  # each run of left-out rows is one gap
    assert report["gaps"] == len(runs)
    assert report["missing_candles"] == len(HOLES)
    starts = [format_time(int(rows["open_time"].iloc[h])) for h in runs]
    assert [g["from"] for g in report["gap_ranges"]] == starts
    with Database(tmp_path / "g.duckdb", read_only=True) as d:
        stored = CandleStore(d).read("ETH/USDT", "1m")
    pd.testing.assert_frame_equal(stored, kept[list(stored.columns)])


def test_rows_stored_before_fill_the_clean_files_holes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    rows, holed, filler = _files(tmp_path, eth_1m_2024)
    db = tmp_path / "f.duckdb"
    assert _ingest(capsys, db, filler)["accepted"] == len(HOLES)
    report = _ingest(capsys, db, holed)
    assert report["accepted"] == len(rows) - len(HOLES)
    assert (report["gaps"], report["missing_candles"]) == (0, 0)
    with Database(db, read_only=True) as d:
        stored = CandleStore(d).read("ETH/USDT", "1m")
    pd.testing.assert_frame_equal(stored, rows[list(stored.columns)])


def test_a_corrupt_gzip_stream_is_one_line_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    data = bytearray(eth_1m_2024.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # the header still reads; the stream breaks later
    bad = tmp_path / "ETHUSDT-1m-corrupt.csv.gz"
    bad.write_bytes(bytes(data))
    with gzip.open(bad, "rt") as fh:
        assert fh.readline().startswith("open_time")
    db = tmp_path / "c.duckdb"
    code = main(["ingest", "--db", str(db), "--json", str(bad)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert bad.name in lines[0]
    assert "not a readable CSV file" in lines[0]
    with Database(db, read_only=True) as d:
        assert CandleStore(d).last_open_time("ETH/USDT", "1m") is None
