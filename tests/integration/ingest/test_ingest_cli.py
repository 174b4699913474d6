"""`ghostcandle ingest` on the real data and on planted bad input, through the real CLI."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ghostcandle.cli.main import main
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

REQUIRED_KEYS = {"rows_read", "accepted", "rejected", "duplicates", "gaps"}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def ingest_json(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> dict:
    code, out, err = run_cli(capsys, "ingest", "--db", str(db), "--json", *args)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= REQUIRED_KEYS
    return data


def count(db: Path, tf: str = "1m") -> int:
    with Database(db, read_only=True) as d:
        row = d.con.execute("SELECT count(*) FROM candles WHERE timeframe = ?", [tf]).fetchone()
        assert row is not None
        return int(row[0])


def test_real_file_gives_the_documented_counts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    db = tmp_path / "g.duckdb"
    data = ingest_json(capsys, db, str(eth_1m_2024))  # symbol and timeframe from the name
    # SOURCES.md: 43,208 rows, no gaps, no duplicates, no invalid rows
    assert data["rows_read"] == 43_208
    assert data["accepted"] == 43_208
    assert data["rejected"] == {}
    assert (data["duplicates"], data["gaps"]) == (0, 0)
    assert count(db) == 43_208
    again = ingest_json(capsys, db, str(eth_1m_2024))
    assert (again["accepted"], again["duplicates"]) == (0, 43_208)
    assert count(db) == 43_208
    hours = pd.read_csv(eth_1m_2024)["open_time"] // 3_600_000
    assert data["rolled_up"]["1h"] == hours.nunique() - 1  # the last hour has not ended in the file


def test_planted_bad_rows_are_rejected_by_reason_and_the_rest_kept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    df = pd.read_csv(eth_1m_2024, nrows=1000)
    bad = df.copy()
    bad.loc[10, "close"] = float("nan")
    bad.loc[20, "volume"] = float("inf")
    bad.loc[30, "high"] = bad.loc[30, ["open", "close"]].max() - 1
    bad.loc[40, "low"] = bad.loc[40, ["open", "close"]].min() + 1
    bad.loc[50, "volume"] = -1.0
    bad.loc[60, "open_time"] += 30_000
    lines = bad.to_csv(index=False).splitlines()
    fields = lines[71].split(",")  # line 0 is the header
    fields[1] = "oops"  # an unparseable open price
    lines[71] = ",".join(fields)
    text = "\n".join(lines) + "\n"
    path = tmp_path / "ETHUSDT-1m-planted.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    db = tmp_path / "p.duckdb"
    data = ingest_json(capsys, db, str(path))
    assert data["rows_read"] == 1000
    assert data["rejected"] == {
        "non_finite": 3,
        "high_below_open_close": 1,
        "low_above_open_close": 1,
        "negative_volume": 1,
        "misaligned_open_time": 1,
    }
    assert data["accepted"] == 993
    assert data["gaps"] == 7  # every rejected row leaves a hole, reported and not filled
    with Database(db, read_only=True) as d:
        stored = CandleStore(d).read("ETH/USDT", "1m")
    keep = df.drop(index=[10, 20, 30, 40, 50, 60, 70]).reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, keep[list(stored.columns)])


def test_binance_headerless_microsecond_and_parquet_files_agree(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    df = pd.read_csv(eth_1m_2024, nrows=300)
    binance = df.assign(
        close_time=df["open_time"] + 59_999,
        quote_volume=1.0,
        trades=7,
        taker_buy_base=0.5,
        taker_buy_quote=0.5,
        ignore=0,
    )
    ms_path = tmp_path / "ETHUSDT-1m-2024-07.csv"
    binance.to_csv(ms_path, index=False, header=False)
    us = binance.assign(
        open_time=binance["open_time"] * 1000, close_time=binance["close_time"] * 1000
    )
    us_path = tmp_path / "ETHUSDT-1m-2024-07-us.csv"
    us.to_csv(us_path, index=False, header=False)
    pq_path = tmp_path / "eth.parquet"
    pq.write_table(pa.Table.from_pandas(df.iloc[:, :6]), pq_path)
    dbs = []
    for i, (path, extra) in enumerate(
        [(ms_path, []), (us_path, []), (pq_path, ["--symbol", "ETH/USDT", "--timeframe", "1m"])]
    ):
        db = tmp_path / f"f{i}.duckdb"
        data = ingest_json(capsys, db, str(path), *extra)
        assert (data["rows_read"], data["accepted"]) == (300, 300), path
        dbs.append(db)
    frames = []
    for db in dbs:
        with Database(db, read_only=True) as d:
            frames.append(CandleStore(d).read("ETH/USDT", "1m"))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])
    pd.testing.assert_frame_equal(frames[0], df.iloc[:, :6])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"time,price\n1,2\n", "missing column(s) open_time, open, high, low, close, volume"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe", "not a readable CSV"),
        (b"open_time,open,high,low,close,volume\n", "no data rows"),
        (b"1722003360000,1,2\n", "expected at least 6 columns"),
    ],
)
def test_an_unreadable_file_fails_in_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    eth_1m_2024: Path,
    content: bytes,
    message: str,
) -> None:
    db = tmp_path / "u.duckdb"
    ingest_json(capsys, db, str(eth_1m_2024))
    before = count(db)
    good_copy = tmp_path / "ETHUSDT-1m-copy.csv.gz"
    shutil.copy(eth_1m_2024, good_copy)
    broken = tmp_path / "ETHUSDT-1m-broken.csv"
    broken.write_bytes(content)
    new_series = tmp_path / "BTCUSDT-1m-new.csv"
    pd.read_csv(eth_1m_2024, nrows=50).to_csv(new_series, index=False)
    code, out, err = run_cli(capsys, "ingest", "--db", str(db), str(new_series), str(broken))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert str(broken) in lines[0]
    assert message in lines[0]
    assert out == ""
    assert count(db) == before
    with Database(db, read_only=True) as d:
        assert CandleStore(d).last_open_time("BTC/USDT", "1m") is None


def test_series_must_be_named_when_the_file_name_does_not_say(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("open_time,open,high,low,close,volume\n1722003360000,1,2,0.5,1.5,3\n")
    code, _, err = run_cli(capsys, "ingest", "--db", str(tmp_path / "x.duckdb"), str(path))
    assert code == 2
    assert "pass --symbol and --timeframe" in err


def test_info_and_candles_commands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> None:
    db = tmp_path / "i.duckdb"
    ingest_json(capsys, db, str(eth_1m_2024))
    code, out, _ = run_cli(capsys, "info", "--db", str(db), "--json")
    assert code == 0
    info = json.loads(out)
    by_tf = {s["timeframe"]: s for s in info["series"]}
    assert by_tf["1m"]["rows"] == 43_208
    assert by_tf["1m"]["gaps"] == 0
    assert set(by_tf) == {"1m", "1h", "1d"}
    code, out, _ = run_cli(
        capsys,
        "candles",
        "--db",
        str(db),
        "--symbol",
        "ETH/USDT",
        "--timeframe",
        "1m",
        "--end",
        "2024-08-01T00:00",
        "--count",
        "5",
        "--json",
    )
    assert code == 0
    got = json.loads(out)
    assert [c["open_time"] for c in got["candles"]] == [
        1_722_470_160_000 + 60_000 * i for i in range(5)
    ]
    df = pd.read_csv(eth_1m_2024).set_index("open_time")
    assert [c["close"] for c in got["candles"]] == df.loc[
        [c["open_time"] for c in got["candles"]], "close"
    ].tolist()
    code, _, err = run_cli(
        capsys,
        "candles",
        "--db",
        str(db),
        "--symbol",
        "ETH/USDT",
        "--timeframe",
        "1m",
        "--end",
        "2024-07-26T14:17",
        "--count",
        "5",
    )
    assert code == 2
    assert "3 1m candle(s) of ETH/USDT are not stored" in err


def test_the_installed_command_exits_non_zero_on_bad_input(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("ghostcandle")
    proc = subprocess.run(
        [
            str(exe),
            "ingest",
            "--db",
            str(tmp_path / "s.duckdb"),
            str(tmp_path / "nope-1m.csv"),
            "--symbol",
            "ETH/USDT",
            "--timeframe",
            "1m",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("no such file: check the path")
