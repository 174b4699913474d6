"""Sessions scoring the same baselines on the same windows share each baseline's forecast.

Two sessions of one process on one bus (a CNN and a transformer, the default baselines): the
second takes each baseline's forecast the first made at the same decision, and every baseline
row of both is what the baseline computes from the frame's windows read back from the store.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.engine.loop.forecast_memo import MEMO, Answer, ForecastMemo
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.models.base import predict_asked
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore

from .conftest import START, SYM, small_config

FIELDS = ("pred_open", "pred_high", "pred_low", "pred_close", "pred_volume", "action",
          "p_hold", "p_buy", "p_sell", "confidence")  # fmt: skip


def test_a_memo_answers_once_per_key_and_keeps_the_newest() -> None:
    memo = ForecastMemo(size=2)
    made: list[str] = []

    def maker(name: str) -> Callable[[], Answer]:
        def make() -> Answer:
            made.append(name)
            return ((1.0, 2.0, 0.5, 1.5, 3.0), Action.BUY, (0.2, 0.5, 0.3), 0.5)

        return make

    a, b, c = ("v", "h1", "1m"), ("v", "h2", "1m"), ("v", "h3", "1m")
    memo.answer(a, maker("a"))
    memo.answer(a, maker("a again"))
    memo.answer(b, maker("b"))
    memo.answer(c, maker("c"))  # a, the oldest, goes
    memo.answer(a, maker("a third"))
    assert made == ["a", "b", "c", "a third"]
    assert (memo.hits, memo.misses, len(memo)) == (1, 4, 2)
    with pytest.raises(ValueError, match="at least one"):
        ForecastMemo(size=0)


def test_two_sessions_share_their_baselines_forecasts_and_each_is_the_baselines(
    market: Database, ckpt_dir: str
) -> None:
    bus, clock = MessageBus(), ReplayClock(START)
    sessions = [
        LoopSession(
            market, small_config(f"memo-{model}", model=model), bus, clock, checkpoint_dir=ckpt_dir
        ).start()
        for model in ("cnn", "transformer")
    ]
    try:
        MEMO.clear()
        hits = MEMO.hits
        for ev in replay_events(sessions[0].candles, [SYM], ["1m", "1h"], START, START + HOUR_MS):
            clock.advance_to(ev.time)
            bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)
        for s in sessions:
            s.flush()
        rows = []
        for s in sessions:
            got = s.ledger.recent(s.config.session_id, limit=10_000)
            rows.append({(r.model, r.timeframe, r.decision_time): r for r in got})
        baselines = [k for k in rows[0] if k[0] not in ("cnn", "transformer")]
        assert len(baselines) >= 4 * 60
        # the second session took every baseline forecast the first made
        assert MEMO.hits - hits >= len(baselines)
        frames = FrameStore(market)
        predictors = {p.name: p.snapshot() for p in sessions[0].predictors}
        for k in baselines:
            first, second = rows[0][k], rows[1][k]
            assert [getattr(first, f) for f in FIELDS] == [getattr(second, f) for f in FIELDS]
        for k in baselines[::17]:  # recomputed from the stored windows, without the memo
            row = rows[0][k]
            ref = frames.get(row.frame_id)
            windows = frames.get_inference_data(ref)
            model = predictors[row.model]
            inputs, params = prepare_inputs(
                [{w.spec.timeframe: w.values for w in windows}], model.windows
            )
            (o, h, lo, c, v), action, p, conf = predict_asked(
                model, inputs, (row.timeframe,)
            ).first(params[0], row.timeframe)
            assert [o, h, lo, c, v, action.name, *p, conf] == [getattr(row, f) for f in FIELDS]
    finally:
        for s in sessions:
            s.stop()
