"""Fuzzing the WebSocket message parser: whatever arrives, a message, None, or one BadMessageError.

The feed counts a bad frame and carries on, so the parser must never raise anything else: not
on random bytes, not on JSON of any shape, not on real message shapes with their fields replaced
by arbitrary JSON values (the likeliest corruption).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.feeds.binance_format import BadMessageError, Message, parse_message

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)

KLINE: dict[str, Any] = {
    "stream": "ethusdt@kline_1m",
    "data": {
        "e": "kline", "E": 1722000060001, "s": "ETHUSDT",
        "k": {"t": 1722000000000, "T": 1722000059999, "i": "1m", "o": "3000.1", "h": "3001",
              "l": "2999.5", "c": "3000.5", "v": "12.5", "x": True},
    },
}  # fmt: skip
DEPTH: dict[str, Any] = {
    "stream": "ethusdt@depth20@100ms",
    "data": {"lastUpdateId": 7, "bids": [["3000", "1.5"]], "asks": [["3000.5", "2"]]},
}
DIFF: dict[str, Any] = {
    "stream": "ethusdt@depth@100ms",
    "data": {"e": "depthUpdate", "E": 1722000000100, "s": "ETHUSDT", "U": 8, "u": 9,
             "b": [["3000", "1"]], "a": [["3000.5", "0"]]},
}  # fmt: skip
SHAPES = [KLINE, DEPTH, DIFF]


def _parse(raw: str | bytes) -> Message | None:
    try:
        return parse_message(raw)
    except BadMessageError:
        return None


def test_the_real_shapes_parse() -> None:  # the fuzzing below starts from messages that work
    assert all(parse_message(json.dumps(m)) is not None for m in SHAPES)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes(raw: bytes) -> None:
    _parse(raw)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(json_values)
def test_any_json_value(value: object) -> None:
    _parse(json.dumps(value))


def _replace(obj: Any, path: list[str], value: object) -> Any:
    if not path:
        return value
    if not isinstance(obj, dict) or path[0] not in obj:
        return obj
    return {**obj, path[0]: _replace(obj[path[0]], path[1:], value)}


def _paths(obj: Any, prefix: list[str]) -> list[list[str]]:
    if not isinstance(obj, dict):
        return [prefix]
    out = [prefix] if prefix else []
    for k, v in obj.items():
        out += _paths(v, [*prefix, k])
    return out


PATHS = [(i, p) for i, m in enumerate(SHAPES) for p in _paths(m, [])]


@settings(max_examples=600, derandomize=True, deadline=None)
@given(st.sampled_from(PATHS), json_values)
def test_a_real_message_with_one_field_replaced(
    where: tuple[int, list[str]], value: object
) -> None:
    i, path = where
    _parse(json.dumps(_replace(SHAPES[i], path, value)))
