"""Bad input to the command line: exit 2, one stderr line saying what and what to do, no change.

Times out of range, a truncated gzip, a DuckDB file that is not ours, a file that is no DuckDB
database at all, and a UTF-8 BOM (accepted).
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ghostcandle.cli.main import main
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import snapshot


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI; assert exit 2 and one stderr line without a traceback; return the line."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def _stored(path: Path) -> int:
    with Database(path, read_only=True) as db:
        return sum(s.rows for s in CandleStore(db).series())


C = ("candles", "--symbol", "ETH/USDT", "--timeframe", "1m")
B = ("backtest", "--model", "drift", "--symbol", "ETH/USDT", "--timeframe", "1m")
R = ("replay", "--model", "drift", "--symbol", "ETH/USDT")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([*C, "--end", "99999999999999999"], "after 9999-12-31"),
        ([*C, "--end", "1969-12-31T23:59"], "before 1970"),
        ([*C, "--end", "-60000"], "before 1970"),
        ([*C, "--count", "99999999999"], "--count 99999999999"),
        ([*C, "--count", "999999", "--end", "1970-01-02"], "before 1970"),
        ([*B, "--from", "2024-07-27", "--to", "9999999999999999"], "after 9999-12-31"),
        ([*B, "--from", "1960-01-01", "--to", "2024-07-27"], "before 1970"),
        ([*R, "--from", "99999999999999999999", "--to", "2024-07-27"], "after 9999-12-31"),
        (["backfill", "--symbol", "ETH/USDT", "--timeframe", "1m", "--since", "1900-01-01",
          "--rest-url", "http://127.0.0.1:9"], "before 1970"),
    ],
)  # fmt: skip
def test_times_out_of_range_are_refused(
    capsys: pytest.CaptureFixture[str], eth_db: Path, argv: list[str], says: str
) -> None:
    before = snapshot(eth_db), _stored(eth_db)
    err = refused(capsys, [*argv, "--db", str(eth_db)])
    assert says in err
    assert (snapshot(eth_db), _stored(eth_db)) == before


def test_a_truncated_gzip_is_one_line_and_stores_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_db: Path, eth_1m_2024: Path
) -> None:
    cut = tmp_path / "ETHUSDT-1m-2024-08-cut.csv.gz"
    cut.write_bytes(eth_1m_2024.read_bytes()[:50_000])  # the header reads; the stream ends early
    before = snapshot(eth_db), _stored(eth_db)
    err = refused(capsys, ["ingest", "--db", str(eth_db), str(cut)])
    assert cut.name in err
    assert "truncated" in err.lower()
    assert (snapshot(eth_db), _stored(eth_db)) == before


def test_a_bom_before_the_header_or_the_first_row_is_read_like_none(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    df = pd.read_csv(eth_1m_2024, nrows=500)
    text = df.to_csv(index=False)
    headerless = df.to_csv(index=False, header=False)  # Binance's kline layout, first columns
    plain = tmp_path / "ETHUSDT-1m-plain.csv"
    plain.write_text(text, encoding="utf-8")
    bom, bom_rows = tmp_path / "ETHUSDT-1m-bom.csv.gz", tmp_path / "ETHUSDT-1m-bom-rows.csv"
    with gzip.open(bom, "wt", encoding="utf-8-sig") as fh:
        fh.write(text)
    bom_rows.write_text(headerless, encoding="utf-8-sig")
    with gzip.open(bom) as fh:
        assert fh.read(3) == bom_rows.read_bytes()[:3] == b"\xef\xbb\xbf"
    stored = []
    for i, path in enumerate((plain, bom, bom_rows)):
        db = tmp_path / f"{i}.duckdb"
        assert main(["ingest", "--db", str(db), "--json", str(path)]) == 0, capsys.readouterr()
        capsys.readouterr()
        with Database(db, read_only=True) as d:
            stored.append(CandleStore(d).read("ETH/USDT", "1m"))
    assert len(stored[0]) == 500
    pd.testing.assert_frame_equal(stored[0], stored[1])
    pd.testing.assert_frame_equal(stored[0], stored[2])


READ_ONLY = [
    ["info"],
    ["candles", "--symbol", "ETH/USDT", "--timeframe", "1m"],
    ["evaluate"],
    ["samples", "stats"],
    ["status"],
    ["train", "list"],
    ["train", "show", "some-run"],
]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("argv", READ_ONLY, ids="-".join)
def test_read_only_commands_refuse_a_duckdb_file_without_our_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE prices (t BIGINT, p DOUBLE)")
    con.execute("INSERT INTO prices VALUES (1, 2.0)")
    con.close()
    before = _digest(path)
    err = refused(capsys, [*argv, "--db", str(path)])
    assert "no ghostcandle tables" in err
    assert "another process" not in err
    assert _digest(path) == before


@pytest.mark.parametrize("argv", [["info"], ["ingest", "x.csv"]], ids=lambda a: a[0])
def test_a_file_that_is_no_duckdb_database_is_named_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database\n")
    err = refused(capsys, [*argv, "--db", str(path)])
    assert "not a DuckDB database" in err
    assert "another process" not in err
    assert path.read_text() == "not a database\n"


def test_duckdb_memory_is_bounded_and_a_bad_bound_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, eth_db: Path
) -> None:
    def limit() -> str:
        with Database(eth_db, read_only=True) as db:
            row = db.con.execute("SELECT current_setting('memory_limit')").fetchone()
        return str(row[0] if row else "")

    monkeypatch.delenv("GHOSTCANDLE_DB_MEMORY", raising=False)
    assert limit() == "91.5 MiB"  # 96MB: not DuckDB's 80% of the machine
    monkeypatch.setenv("GHOSTCANDLE_DB_MEMORY", "1GiB")
    assert limit() == "1.0 GiB"
    before = _digest(eth_db)
    monkeypatch.setenv("GHOSTCANDLE_DB_MEMORY", "lots")
    err = refused(capsys, [*C, "--db", str(eth_db)])
    assert "GHOSTCANDLE_DB_MEMORY" in err
    assert "96MB" in err
    assert _digest(eth_db) == before
