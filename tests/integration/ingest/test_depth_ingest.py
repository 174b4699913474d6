"""`ingest-depth` on the real Binance recordings and on planted bad input (real DuckDB files)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.order_book import book_problem
from ghostcandle.ingest.depth_service import ingest_depth_files
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthStore

BTC = "binance-spot_BTCUSDT_ws-raw-depth100ms-trade_2024-08-0{}_2024-08-0{}.txt.gz"
T0 = 1_723_161_255_000


def recording(shared: Path, symbol: str = "BTC", days: tuple[int, ...] = (8, 9)) -> list[Path]:
    """Return the real recordings of ``symbol`` for the given August 2024 days."""
    name = BTC.replace("BTC", symbol)
    return [shared / name.format(d, d) for d in days]


def test_real_capture_rebuilds_a_book_that_agrees_with_the_exchange(
    shared_data: Path, db: Database
) -> None:
    files = recording(shared_data)
    report = ingest_depth_files(DepthStore(db), list(reversed(files)))  # order does not matter
    c = report.symbols["BTC/USDT"]
    # the book rebuilt from the REST snapshot and diffs has the exchange's touch wherever a
    # bookTicker names the same update id: a wrong book would disagree here
    assert c["touch_checked"] > 1000
    assert c["touch_mismatch"] == 0
    assert c["gaps"] == 0
    assert c["rest_snapshots"] == 1
    assert report.bad_lines == {}
    snaps = DepthStore(db).read("BTC/USDT")
    times = [s.time for s in snaps]
    assert len(snaps) == c["snapshots_kept"] > 600  # two files: one continuous ~650 s capture
    assert times == list(range(times[0], times[-1] + 1000, 1000))  # every second, in order
    for s in snaps:
        assert len(s.bids) == len(s.asks) == 20
        assert book_problem(s.bids, s.asks) is None
        assert s.known_levels is not None
        assert s.known_levels > 40
        assert s.flow is not None
    assert sum(s.flow[2] for s in snaps if s.flow) > 10_000  # trades summed per second


def test_trade_flow_sums_the_trades_of_each_second(shared_data: Path, db: Database) -> None:
    path = recording(shared_data, days=(8,))[0]
    ingest_depth_files(DepthStore(db), [path])
    buy: dict[int, float] = {}
    sell: dict[int, float] = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            data = json.loads(line.split(" ", 1)[1]).get("data", {})
            if data.get("e") == "trade":
                end = (data["T"] // 1000 + 1) * 1000
                side = sell if data["m"] else buy
                side[end] = side.get(end, 0.0) + float(data["q"])
    for s in DepthStore(db).read("BTC/USDT"):
        assert s.flow is not None
        assert s.flow[0] == pytest.approx(buy.get(s.time, 0.0))
        assert s.flow[1] == pytest.approx(sell.get(s.time, 0.0))


def test_a_capture_without_rest_snapshot_waits_for_the_warm_up(
    shared_data: Path, db: Database
) -> None:
    path = recording(shared_data, days=(9,))[0]  # diffs only: no REST snapshot in this file
    report = ingest_depth_files(DepthStore(db), [path], warmup_ms=200_000)
    c = report.symbols["BTC/USDT"]
    assert c["rest_snapshots"] == 0
    assert c["touch_checked"] == 0
    assert c["snapshots_rejected"]["warmup"] >= 199
    snaps = DepthStore(db).read("BTC/USDT")
    assert snaps
    assert len(snaps) == c["snapshots_kept"]
    first_diff = 1_723_161_601_273
    assert snaps[0].time - first_diff >= 200_000


def _line(obj: object, ns: int = 1) -> str:
    return f"{ns} {json.dumps(obj)}\n"


def _diff(first: int, last: int, t: int, bids: list, asks: list) -> str:  # type: ignore[type-arg]
    data = {"e": "depthUpdate", "E": t, "s": "ETHUSDT", "U": first, "u": last}
    return _line({"stream": "ethusdt@depth@100ms", "data": {**data, "b": bids, "a": asks}})


def _levels(start: float, step: float, n: int = 20) -> list[list[str]]:
    return [[f"{start + i * step:.2f}", "1.0"] for i in range(n)]


def test_gaps_resync_and_bad_books_are_counted_never_fatal(tmp_path: Path, db: Database) -> None:
    rest = {"lastUpdateId": 100, "bids": _levels(99.0, -0.01), "asks": _levels(100.0, 0.01)}
    lines = [
        _line(rest),
        _diff(95, 100, T0 + 100, [], []),  # stale: ends at the snapshot
        _diff(101, 101, T0 + 200, [["98.985", "2"]], []),
        _diff(102, 102, T0 + 1200, [["100.50", "1"]], []),  # bid above the best ask: crossed
        _diff(103, 103, T0 + 2200, [["100.50", "0"]], []),
        "not json at all\n",
        _diff(110, 110, T0 + 3200, [], []),  # 104..109 lost: a gap
        _diff(111, 111, T0 + 4200, [], []),
    ]
    path = tmp_path / "binance-spot_ETHUSDT_ws-raw-depth100ms-trade_test.txt"
    path.write_text("".join(lines))
    report = ingest_depth_files(DepthStore(db), [path], warmup_ms=0)
    c = report.symbols["ETH/USDT"]
    assert c["stale"] == 1
    assert c["gaps"] == 1
    assert c["resyncs"] == 2
    assert report.bad_lines == {"bad_json": 1}
    # second 1000 kept, 2000 crossed, 3000 kept; after the gap the book knows no level: warm-up
    assert c["snapshots_rejected"] == {"crossed": 1, "warmup": 1}
    kept = DepthStore(db).read("ETH/USDT")
    assert [s.time - T0 for s in kept] == [1000, 3000]
    assert kept[0].bids[0] == (99.0, 1.0)
    assert (98.985, 2.0) in kept[0].bids


def test_book_summaries_become_per_second_rows(tmp_path: Path, db: Database) -> None:
    path = tmp_path / "binance_BTCUSDT_book-summary-top100_x.csv"
    path.write_text(
        "best_bid,best_ask,mid_price,spread,bid_volume,ask_volume,imbalance,timestamp\n"
        "100.0,100.01,100.005,0.01,3.0,1.0,0.5,2026-06-15 05:45:31.053108\n"
        "100.0,100.01,100.005,0.01,2.0,2.0,0.0,2026-06-15 05:45:31.553108\n"
        "100.02,100.01,100.015,-0.01,2.0,2.0,0.0,2026-06-15 05:45:37.0\n"
        "100.0,100.01,100.005,0.01,x,2.0,0.0,2026-06-15 05:45:38.0\n"
    )
    report = ingest_depth_files(DepthStore(db), [path])
    assert report.summary_rows == 4
    assert dict(report.summary_rejected) == {"crossed": 1, "unreadable": 1}
    rows = DepthStore(db).read("BTC/USDT")
    assert len(rows) == 1  # two rows in one second: the later one is the second's
    assert rows[0].time % 1000 == 0
    assert rows[0].touch == (100.0, 100.01)
    assert rows[0].totals == (2.0, 2.0, 100)
    assert rows[0].bids == ()


def test_nothing_is_written_when_a_file_cannot_be_read(
    shared_data: Path, tmp_path: Path, db: Database
) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    with pytest.raises(UserInputError, match=r"notes\.txt"):
        ingest_depth_files(DepthStore(db), [*recording(shared_data, days=(8,)), bad])
    assert DepthStore(db).count() == 0


def test_cli_reports_and_refuses_bad_paths_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "binance-spot_ETHUSDT_ws-raw-depth100ms-trade_x.txt"
    rest = {"lastUpdateId": 1, "bids": _levels(99.0, -0.01), "asks": _levels(100.0, 0.01)}
    path.write_text(_line(rest) + _diff(2, 2, T0, [], []) + _diff(3, 3, T0 + 1500, [], []))
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "ingest-depth"]
    db = str(tmp_path / "x.duckdb")
    ok = subprocess.run(
        [*cmd, str(path), "--db", db, "--json"], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert (
        json.loads(ok.stdout)["symbols"]["ETH/USDT"]["snapshots_kept"] == 2
    )  # seconds T0 and T0 + 1000
    bad = subprocess.run(
        [*cmd, str(tmp_path / "nope.gz"), "--db", db], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "nope.gz" in bad.stderr
