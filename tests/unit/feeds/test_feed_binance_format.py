"""The Binance formats: what is accepted, what is rejected and why, and round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghostcandle.domain.candles import Candle
from ghostcandle.feeds.binance_format import (
    BadMessageError,
    DepthUpdate,
    KlineUpdate,
    ServerShutdown,
    candle_from_rest_row,
    kline_payload,
    parse_message,
    rest_row,
)

RAW = (
    '{"e":"kline","E":1631637132163,"s":"BTCUSDT","k":{"t":1631637000000,"T":1631637299999,'
    '"s":"BTCUSDT","i":"5m","f":1,"L":2,"o":"46692.06000000","c":"46672.98000000",'
    '"h":"46720.00000000","l":"46658.01000000","v":"53.38997000","n":2196,"x":false,'
    '"q":"0","V":"0","Q":"0","B":"0"}}'
)


def test_a_real_binance_kline_message_parses():
    msg = parse_message(RAW)
    assert isinstance(msg, KlineUpdate)
    assert msg.closed is False
    assert msg.candle == Candle(
        "BTC/USDT", "5m", 1631637000000, 46692.06, 46720.0, 46658.01, 46672.98, 53.38997
    )
    wrapped = json.dumps({"stream": "btcusdt@kline_5m", "data": json.loads(RAW)})
    assert parse_message(wrapped) == msg


def _kline(**changes: object) -> str:
    obj = json.loads(RAW)
    obj["k"].update(changes)
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_shape"),
        (json.dumps({"e": "kline", "E": 1, "s": "BTCUSDT"}), "missing_field"),
        (_kline(o=None), "bad_field"),
        (_kline(c="NaN"), "non_finite"),
        (_kline(h="1.0"), "inconsistent_ohlc"),
        (_kline(l="0"), "non_positive"),
        (_kline(t=1631637000001), "misaligned_time"),
        (_kline(i="7m"), "bad_interval"),
        (_kline(x="true"), "missing_field"),
        ('{"e":"kline","pad":"' + "x" * 300_000 + '"}', "too_large"),
        (json.dumps({"e": "trade"}), "unknown_event"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(raw: str, reason: str):
    with pytest.raises(BadMessageError) as info:
        parse_message(raw)
    assert info.value.reason == reason


def test_depth_and_server_shutdown_frames():
    depth = {"lastUpdateId": 7, "bids": [["100.5", "2"]], "asks": [["100.6", "1.5"]]}
    msg = parse_message(json.dumps({"stream": "ethusdt@depth20@100ms", "data": depth}))
    assert msg == DepthUpdate("ETH/USDT", 7, ((100.5, 2.0),), ((100.6, 1.5),))
    assert parse_message('{"e":"serverShutdown","E":5}') == ServerShutdown(5)


prices = st.decimals(min_value="0.01", max_value="900000", places=2).map(float)


@given(prices, prices, prices, prices, st.decimals(min_value="0", max_value="1e6", places=8))
def test_stream_and_rest_formats_round_trip(a: float, b: float, c: float, d: float, vol):
    lo, o, cl, hi = sorted([a, b, c, d])
    candle = Candle("ETH/USDT", "1m", 1_700_000_040_000, o, hi, lo, cl, float(vol))
    payload = {
        "stream": "ethusdt@kline_1m",
        "data": kline_payload(candle, closed=True, event_time=1),
    }
    msg = parse_message(json.dumps(payload))
    assert isinstance(msg, KlineUpdate)
    assert msg.closed
    assert msg.candle == candle
    assert candle_from_rest_row("ETH/USDT", "1m", rest_row(candle)) == candle
