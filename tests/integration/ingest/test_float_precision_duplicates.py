"""Binance's daily file over days rolled up from its 1m file: the same facts, not conflicts.

A rolled-up volume is a float sum of 1,440 values and differs from the exchange's daily figure
in the last bits; values that agree to 1e-9 relative are duplicates. A real difference (1e-6
relative) is still refused as ``conflicts_with_stored``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.timeframes import DAY_MS, parse_time
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

FIRST_DAY, DAYS = parse_time("2024-08-01"), 7


def _ingest(capsys: pytest.CaptureFixture[str], db: Path, path: Path) -> dict:
    assert main(["ingest", "--db", str(db), "--json", str(path)]) == 0
    return dict(json.loads(capsys.readouterr().out))


@pytest.fixture
def rolled_up_days(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eth_1m_2024: Path
) -> tuple[Path, pd.DataFrame]:
    """Ingest a week of real 1m candles (rolled up to 1d); return the db and Binance's days."""
    minutes = pd.read_csv(eth_1m_2024)
    t = minutes["open_time"]
    # one candle of the next day closes the last day of the week
    week = minutes[(t >= FIRST_DAY) & (t <= FIRST_DAY + DAYS * DAY_MS)]
    src = tmp_path / "ETHUSDT-1m-week.csv"
    week.to_csv(src, index=False)
    db = tmp_path / "g.duckdb"
    assert _ingest(capsys, db, src)["accepted"] == len(week)
    shared = eth_1m_2024.parent
    daily = pd.read_csv(shared / "binance_ETHUSDT_1d_2021-06-01_2026-02-28.csv.gz")
    d = daily["open_time"]
    days = daily[(d >= FIRST_DAY) & (d < FIRST_DAY + DAYS * DAY_MS)].reset_index(drop=True)
    assert len(days) == DAYS
    return db, days


def test_the_exchanges_daily_candles_are_duplicates_of_the_rolled_up_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rolled_up_days: tuple[Path, pd.DataFrame]
) -> None:
    db, days = rolled_up_days
    with Database(db, read_only=True) as d:
        stored = CandleStore(d).read("ETH/USDT", "1d")
    stored = stored[stored["open_time"].isin(days["open_time"])].reset_index(drop=True)
    assert len(stored) == DAYS
    ours, theirs = stored[list(VALUE_COLUMNS)].to_numpy(), days[list(VALUE_COLUMNS)].to_numpy()
    # the case in point: some rolled-up values are not bit-equal, yet all within float precision
    assert (ours != theirs).any()
    assert np.isclose(ours, theirs, rtol=1e-9, atol=0).all()

    src = tmp_path / "ETHUSDT-1d-week.csv"
    days.to_csv(src, index=False)
    report = _ingest(capsys, db, src)
    assert report["rejected"] == {}
    assert (report["duplicates"], report["accepted"]) == (DAYS, 0)
    with Database(db, read_only=True) as d:
        store = CandleStore(d)
        assert store.conflicts_count() == 0
        after = store.read("ETH/USDT", "1d")
    # the stored fact is kept as it was (first write wins)
    kept = after[after["open_time"].isin(days["open_time"])][list(VALUE_COLUMNS)].to_numpy()
    assert (kept == ours).all()


@pytest.mark.parametrize("column", VALUE_COLUMNS)
def test_a_real_difference_is_still_a_conflict(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    rolled_up_days: tuple[Path, pd.DataFrame],
    column: str,
) -> None:
    db, days = rolled_up_days
    changed = days.copy()
    changed.loc[3, column] *= 1 + 1e-6
    if column in ("open", "close"):  # keep the candle valid: inside its high..low
        changed.loc[3, "high"] = max(changed.loc[3, "high"], changed.loc[3, column])
        changed.loc[3, "low"] = min(changed.loc[3, "low"], changed.loc[3, column])
    src = tmp_path / "ETHUSDT-1d-changed.csv"
    changed.to_csv(src, index=False)
    report = _ingest(capsys, db, src)
    assert report["rejected"] == {"conflicts_with_stored": 1}
    assert report["duplicates"] == DAYS - 1
    with Database(db, read_only=True) as d:
        assert CandleStore(d).conflicts_count() == 1
