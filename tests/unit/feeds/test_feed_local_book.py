"""``LiveBooks``: the live side of the local-book protocol, one diff and snapshot at a time."""

from __future__ import annotations

from ghostcandle.domain.order_book import DiffUpdate
from ghostcandle.feeds.binance_format import DepthUpdate
from ghostcandle.feeds.local_book import LiveBooks

SYM = "ETH/USDT"


def _diff(first: int, last: int, bid: float = 99.0, qty: float = 1.0) -> DiffUpdate:
    return DiffUpdate(0, first, last, ((bid, qty),), ())


def _snap(last_id: int) -> DepthUpdate:
    return DepthUpdate(SYM, last_id, ((100.0, 2.0),), ((101.0, 3.0),))


def test_diffs_wait_for_the_snapshot_then_the_stale_ones_are_dropped():
    books = LiveBooks([SYM])
    assert books.diff(SYM, _diff(5, 7)) is True  # the first diff asks for the snapshot
    assert books.diff(SYM, _diff(8, 9, bid=98.0)) is False  # already asked
    assert books.tops() == []  # nothing is offered before the book is synced
    assert books.snapshot(SYM, _snap(8)) is False
    c = books.counters()
    assert (c["book_dropped"], c["book_replayed"], c["book_synced"]) == (1, 1, 1)
    ((top, known),) = books.tops()
    assert top.last_update_id == 9
    assert top.bids == ((100.0, 2.0), (98.0, 1.0))
    assert known == 3
    assert books.tops() == []  # unchanged since: not offered again


def test_a_snapshot_older_than_the_stream_is_fetched_again():
    books = LiveBooks([SYM])
    books.diff(SYM, _diff(20, 21))
    assert books.snapshot(SYM, _snap(10)) is True
    c = books.counters()
    assert (c["book_snapshots_behind"], c["book_gaps"], c["book_synced"]) == (1, 0, 0)
    assert books.snapshot(SYM, _snap(20)) is False
    assert books.counters()["book_synced"] == 1


def test_a_gap_clears_the_book_and_resynchronises_from_the_diff_after_it():
    books = LiveBooks([SYM])
    books.diff(SYM, _diff(1, 1))
    books.snapshot(SYM, _snap(1))
    assert books.diff(SYM, _diff(2, 3)) is False
    assert books.diff(SYM, _diff(6, 7)) is True  # 4..5 lost
    assert books.synced() == []
    assert books.tops() == []
    assert books.snapshot(SYM, _snap(6)) is False
    c = books.counters()
    assert (c["book_gaps"], c["book_resyncs"], c["book_snapshots"]) == (1, 1, 2)
    assert books.synced() == [SYM]


def test_a_gap_among_the_buffered_diffs_is_a_gap_and_a_new_snapshot():
    books = LiveBooks([SYM])
    books.diff(SYM, _diff(3, 4))
    books.diff(SYM, _diff(9, 9))
    assert books.snapshot(SYM, _snap(3)) is True
    assert books.counters()["book_gaps"] == 1


def test_a_reconnection_resynchronises_every_book_and_a_failed_fetch_can_be_asked_again():
    books = LiveBooks([SYM, "BTC/USDT"])
    books.diff(SYM, _diff(1, 1))
    books.snapshot(SYM, _snap(1))
    books.reconnected()
    c = books.counters()
    assert (c["book_resyncs"], c["book_synced"]) == (1, 0)
    assert books.diff(SYM, _diff(50, 51)) is True
    books.snapshot_failed(SYM, retrying=False)
    assert books.diff(SYM, _diff(52, 52)) is True
    assert books.diff("XRP/USDT", _diff(1, 1)) is False
    assert books.counters()["book_other_symbol"] == 1


def test_a_depth_update_message_parses_strictly():
    import json

    import pytest

    from ghostcandle.feeds.binance_format import BadMessageError, DepthDiff, parse_message

    data = {"e": "depthUpdate", "E": 5, "s": "ETHUSDT", "U": 10, "u": 12,
            "b": [["100.5", "0"]], "a": [["101", "2.5"]]}  # fmt: skip
    msg = parse_message(json.dumps({"stream": "ethusdt@depth@100ms", "data": data}))
    assert msg == DepthDiff(SYM, DiffUpdate(5, 10, 12, ((100.5, 0.0),), ((101.0, 2.5),)))
    for bad, reason in (
        ({**data, "u": 9}, "bad_depth"),
        ({**data, "b": [["NaN", "1"]]}, "non_finite"),
        ({**data, "a": [["-1", "1"]]}, "non_positive"),
        ({k: v for k, v in data.items() if k != "U"}, "missing_field"),
    ):
        with pytest.raises(BadMessageError) as err:
            parse_message(json.dumps(bad))
        assert err.value.reason == reason
