"""Timeframes, symbols, file-name inference and gap finding."""

from __future__ import annotations

import pytest

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.gaps import find_gaps
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import TIMEFRAMES, align_down, duration_ms, parse_time
from ghostcandle.ingest.naming import infer_from_name


def test_binance_timeframe_names() -> None:
    assert list(TIMEFRAMES) == ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "1d"]
    assert duration_ms("4h") == 4 * 3_600_000
    with pytest.raises(UserInputError, match="unknown timeframe '7m'"):
        duration_ms("7m")


def test_align_down_is_idempotent_and_below() -> None:
    for tf in TIMEFRAMES:
        for t in (0, 1, 1_722_003_371_234, 1_722_038_400_000):
            a = align_down(t, tf)
            assert a <= t < a + duration_ms(tf)
            assert align_down(a, tf) == a


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ETHUSDT-1m-2021-01.csv", ("ETH/USDT", "1m")),
        ("BTCUSDT-1s-2024-08-01.zip.csv", ("BTC/USDT", "1s")),
        ("data/ETHBTC-4h-2022-02.csv.gz", ("ETH/BTC", "4h")),
        ("binance_ETHUSDT_15m_2024.csv", ("ETH/USDT", "15m")),
        ("candles.csv", (None, None)),
    ],
)
def test_infer_series_from_binance_file_names(name: str, expected: tuple[str, str]) -> None:
    assert infer_from_name(name) == expected


def test_symbols() -> None:
    assert normalise_symbol("eth-usdt") == "ETH/USDT"
    with pytest.raises(UserInputError, match="BASE/QUOTE"):
        normalise_symbol("???")


def test_parse_time_rejects_garbage() -> None:
    assert parse_time("2024-01-01T00:01:00Z") == 1_704_067_260_000
    with pytest.raises(UserInputError, match="cannot read time"):
        parse_time("yesterday")


def test_gaps_report_every_missing_candle() -> None:
    t = [0, 60_000, 180_000, 600_000]
    gaps = find_gaps(t, "1m")
    assert [(g.start, g.end, g.missing) for g in gaps] == [
        (120_000, 120_000, 1),
        (240_000, 540_000, 6),
    ]
    assert find_gaps([0, 60_000], "1m") == []
