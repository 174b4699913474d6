"""A live session's waiting batches are bounded: the oldest gives way, its pivots move on."""

from __future__ import annotations

import pytest

from ghostcandle.domain.frames import FrameRef, WindowSpec
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.loop.batch_backlog import BatchBacklog, WaitingBatch
from ghostcandle.engine.training.policy import TrainingSample

CANDLE, PIVOT = TrainingSource.CANDLE, TrainingSource.PIVOT


def _sample(n: int, reason: TrainingSource = CANDLE, tf: str = "1m") -> TrainingSample:
    ref = FrameRef(f"f{n}", "cnn", "cnn-0", "ETH/USDT", n * 60_000, (WindowSpec("1m", n, 20),))
    return TrainingSample(ref, tf, 1, reason)


def _batch(now: int, *samples: TrainingSample) -> WaitingBatch:
    return WaitingBatch(tuple(samples), CANDLE, now)


def _ids(b: WaitingBatch) -> list[str]:
    return [s.frame.frame_id for s in b.samples]


def test_the_oldest_batch_gives_way_and_only_the_first_put_starts_a_drainer() -> None:
    log = BatchBacklog(limit=3)
    starts = [log.put(_batch(t, _sample(t))) for t in range(10)]
    assert starts == [True] + [False] * 9  # one drainer runs until the backlog is empty
    assert len(log) == 3
    assert log.status() == {"waiting": 3, "limit": 3, "superseded": 7, "batches": 10}
    taken = [log.take() for _ in range(4)]
    assert [b.now for b in taken if b is not None] == [7, 8, 9]  # the newest, oldest first
    assert taken[3] is None
    # the drainer that saw it empty has stopped: the next put must start another
    assert log.put(_batch(10, _sample(10)))


def test_a_superseded_batchs_pivots_move_into_the_next_one_waiting() -> None:
    log = BatchBacklog(limit=2)
    log.put(_batch(1, _sample(1), _sample(2, PIVOT), _sample(3, PIVOT, tf="1h")))
    log.put(_batch(2, _sample(4), _sample(3, PIVOT, tf="1h")))  # holds one of them already
    log.put(_batch(3, _sample(5)))  # pushes the first out
    first = log.take()
    assert first is not None
    assert first.now == 2
    # the pivot it lacked comes first, the one it held is not doubled, the candle sample is gone
    assert [(s.frame.frame_id, s.timeframe) for s in first.samples] == [
        ("f2", "1m"),
        ("f4", "1m"),
        ("f3", "1h"),
    ]
    second = log.take()
    assert second is not None
    assert _ids(second) == ["f5"]


def test_with_room_for_one_the_new_batch_carries_the_pivots() -> None:
    log = BatchBacklog(limit=1)
    log.put(_batch(1, _sample(1, PIVOT)))
    log.put(_batch(2, _sample(2)))
    only = log.take()
    assert only is not None
    assert _ids(only) == ["f1", "f2"]
    assert only.now == 2
    assert log.status()["superseded"] == 1


def test_clear_drops_what_waits_and_a_zero_limit_is_refused() -> None:
    log = BatchBacklog()
    for t in range(3):
        log.put(_batch(t, _sample(t)))
    assert log.clear() == 3
    assert log.take() is None
    with pytest.raises(ValueError, match="limit >= 1"):
        BatchBacklog(limit=0)
