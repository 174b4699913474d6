"""A session's predictions: its models over one window cache, once per closed candle.

The learning model predicts through the trainer's last published snapshot, the baselines
through fixed (fitted) copies. A candle is predicted once: the newest decision per symbol and
timeframe is remembered (and taken back from the ledger on restart), so a candle the feed sends
again is not predicted twice. A model whose window lacks a candle skips that decision (counted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.loop.baseline_fit import fitted_baseline
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.predictor import (
    DecisionInputs,
    PredictionMade,
    Predictor,
    decision_inputs,
)
from ghostcandle.engine.loop.window_cache import WindowCache, close_cache, open_cache
from ghostcandle.models.base import Model
from ghostcandle.models.depth_input import depth_window
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore, MissingCandlesError
from ghostcandle.store.depth import DepthStore, MissingDepthError

log = logging.getLogger(__name__)


class SessionPredictors:
    """Decide which closed candles are predicted, and predict them with every model."""

    def __init__(self, config: SessionConfig, timeframes: tuple[str, ...]) -> None:
        self.config = config
        #: the timeframes predicted (finest first)
        self.timeframes = timeframes
        #: the learning model first, then the baselines
        self.predictors: list[Predictor] = []
        self.cache: WindowCache | None = None
        #: the window length per timeframe the cache tracks for this session
        self._needed: dict[str, int] = {}
        #: newest decision time per (symbol, timeframe)
        self.decided: dict[tuple[str, str], int] = {}
        self.skipped_missing = 0
        #: predict only candles that close by this time (a replay's end); None = no limit
        self.predict_until: int | None = None

    def open(
        self,
        learner: Model,
        snapshot: Callable[[], Model],
        candles: CandleStore,
        now: int,
        *,
        shared_by: object | None = None,
    ) -> None:
        """Set up the predictors (baselines fitted on candles closed by ``now``) and the cache.

        ``learner`` is the learning model's shape, ``snapshot`` its published weights;
        ``shared_by`` (the session's bus) shares the window cache with the other sessions it
        hands events to (``window_cache.open_cache``; ``close`` ends this one's use). Raise a
        one-line ``DataMissingError`` naming every series the store lacks, or saying how to get
        the order book when the model reads it and none of a symbol's is stored. A session
        whose model reads the book also scores the ``imbalance`` baseline.
        """
        cfg = self.config
        depth = DepthStore(candles.db)
        baselines = cfg.baselines
        if depth_window(learner):
            depth.require(cfg.symbols, f"the {cfg.model} model")
            baselines = (*baselines, *(() if "imbalance" in baselines else ("imbalance",)))
        self.predictors = [Predictor(cfg.session_id, snapshot, grace_ms=cfg.grace, depth=depth)]
        for name in (b for b in baselines if b != cfg.model):
            base = create_model(
                name,
                timeframes=list(learner.timeframes),
                windows={tf: min(cfg.baseline_window, n) for tf, n in learner.windows.items()},
            )
            base = fitted_baseline(base, candles, cfg.symbols, now, cfg.threshold)
            if depth_window(base):
                depth.require(cfg.symbols, f"the {name} baseline")
            self.predictors.append(
                Predictor(cfg.session_id, _fixed(base), grace_ms=cfg.grace, depth=depth)
            )
        needed: dict[str, int] = {}
        for p in self.predictors:
            for tf, n in p.windows.items():
                needed[tf] = max(needed.get(tf, 0), n)
        self.cache = open_cache(candles, cfg.symbols, needed, now, shared_by=shared_by)
        self._needed = needed
        self._warm(now)

    def close(self) -> None:
        """Let go of the window cache (a shared one keeps what other sessions track)."""
        cache, self.cache = self.cache, None
        if cache is not None:
            close_cache(cache, self.config.symbols, self._needed)

    def _warm(self, now: int) -> None:
        """Run the learning model once on a symbol's newest windows and drop what it predicts.

        Its first prediction sets its inference up (a traced forward, ~0.1 s:
        ``models.traced``); done here, no live candle waits for it. Nothing is recorded or
        remembered; where no series has a whole window yet, the first candle does it.
        """
        assert self.cache is not None
        tf = self.timeframes[0]
        for symbol in self.config.symbols:
            last = self.cache.last_open_time(symbol, tf)
            if last is None:
                continue
            try:
                self.predictors[0].predict(self.cache, symbol, tf, last + duration_ms(tf), now)
                return
            except (MissingCandlesError, MissingDepthError):
                continue

    def resume(self, decided: Mapping[tuple[str, str], int]) -> None:
        """Take back the newest decisions already recorded (a restart predicts none again)."""
        self.decided = dict(decided)

    def learn(self, event: CandleCompletionEvent) -> None:
        """Add the closed candle to the window cache."""
        assert self.cache is not None, "start() the session first"
        self.cache.on_candle(event.candle)

    def due(self, event: CandleCompletionEvent) -> bool:
        """Tell whether the candle just closed is to be predicted from (once, in range)."""
        return (
            event.timeframe in self.timeframes
            and event.symbol in self.config.symbols
            and event.time > self.decided.get((event.symbol, event.timeframe), -1)
            and (
                self.predict_until is None
                or event.time + duration_ms(event.timeframe) <= self.predict_until
            )
        )

    def predict(self, event: CandleCompletionEvent, now: int) -> list[PredictionMade]:
        """Predict the next candle with every model; return what was made.

        Models reading the same windows (the baselines) are given the same inputs, taken once.
        """
        cache = self.cache
        assert cache is not None, "start() the session first"
        symbol, tf, t = event.symbol, event.timeframe, event.time
        self.decided[(symbol, tf)] = t
        made = []
        taken: dict[tuple[tuple[str, int], ...], DecisionInputs | Exception] = {}
        for p in self.predictors:
            try:
                seen = taken.get(p.window_key)
                if seen is None:
                    try:
                        seen = decision_inputs(cache, symbol, tf, t, p.windows)
                    except MissingCandlesError as exc:
                        seen = exc
                    taken[p.window_key] = seen
                if isinstance(seen, Exception):
                    raise seen
                made.append(p.predict(cache, symbol, tf, t, now, seen))
            except (MissingCandlesError, MissingDepthError) as exc:
                self.skipped_missing += 1
                log.debug("no prediction of %s at %s: %s", p.name, t, exc)
        return made


def _fixed(model: Model) -> Callable[[], Model]:
    """Return a snapshot function for a model that never changes (a baseline)."""
    return lambda: model
