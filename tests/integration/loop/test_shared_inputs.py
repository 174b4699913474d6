"""Models reading the same windows at a decision are given one set of inputs, taken once.

A session's baselines read the same windows: their windows, normalised inputs, parameters and
input hash are taken once per decision and handed to each (``decision_inputs``). What each
makes is field for field what it makes taking its inputs alone, and a decision whose candle is
not in the windows is still skipped by every model.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS
from ghostcandle.engine.loop.forecast_memo import MEMO
from ghostcandle.engine.loop.predictor import PredictionMade
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

from .conftest import START, SYM, small_config


def _fields(made: PredictionMade) -> tuple[dict[str, object], dict[str, object]]:
    return asdict(made.record), made.frame.to_json()


@pytest.mark.parametrize("baseline_window", [10, 30])
def test_models_on_the_same_windows_share_inputs_and_make_what_they_make_alone(
    market: Database, ckpt_dir: str, baseline_window: int
) -> None:
    # baselines read 10 candles (the learner 20 and 6: its own inputs), or 30 (cut to the
    # learner's: all five share)
    cfg = small_config("shared", baseline_window=baseline_window)
    s = LoopSession(market, cfg, MessageBus(), ReplayClock(START),
                    checkpoint_dir=ckpt_dir).start()  # fmt: skip
    try:
        predicting = s._predicting
        cache = predicting.cache
        assert cache is not None
        predictors = predicting.predictors
        keys = [p.window_key for p in predictors]
        assert len(predictors) >= 3
        assert len(set(keys[1:])) == 1
        assert (keys[0] == keys[1]) == (baseline_window == 30)
        events = list(replay_events(s.candles, [SYM], ["1m", "1h"], START, START + HOUR_MS))
        checked = 0
        for event in events:
            predicting.learn(event)
            if not predicting.due(event):
                continue
            made = predicting.predict(event, event.time)
            assert [m.record.model for m in made] == [p.name for p in predictors]
            # models of one key were handed one set of inputs (the same objects), others theirs
            for k, m in zip(keys, made, strict=True):
                first = made[keys.index(k)]
                assert m.frame.norm_params is first.frame.norm_params
            if keys[0] != keys[1]:
                assert made[0].frame.norm_params is not made[1].frame.norm_params
            MEMO.clear()  # each baseline's forecast made again, from its own inputs
            for p, m in zip(predictors, made, strict=True):
                alone = p.predict(cache, SYM, event.timeframe, event.time, event.time)
                assert _fields(alone) == _fields(m)
                checked += 1
        assert checked >= 60 * len(predictors)
    finally:
        s.stop()


def test_a_decision_whose_candle_is_not_in_the_windows_is_skipped_by_every_model(
    market: Database, ckpt_dir: str
) -> None:
    s = LoopSession(market, small_config("stale"), MessageBus(), ReplayClock(START),
                    checkpoint_dir=ckpt_dir).start()  # fmt: skip
    try:
        predicting = s._predicting
        event = next(replay_events(s.candles, [SYM], ["1m"], START, START + 2 * MINUTE_MS))
        # the candle closing at event.time is not learnt: every window ends a minute earlier
        before = predicting.skipped_missing
        assert predicting.predict(event, event.time) == []
        assert predicting.skipped_missing - before == len(predicting.predictors)
    finally:
        s.stop()
