"""From the live loop to the page: closed and forming candles, ghost candles, signals, metrics.

The runtime calls ``on_candle`` on its bus thread once a live session has handled a closed
candle (its predictions are made, resolved and written). The bridge pushes the candle once
(whichever session heard it first), then looks up, by their deterministic ids, the session
model's prediction that this candle resolved and the one it just made, and pushes them with the
session's id: the page draws the selected session's new one as a ghost candle where the next
candle will be, and keeps the resolved one beside the real candle. Signals are kept per session.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psutil  # type: ignore[import-untyped]

from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.engine.loop.predictor import prediction_id
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.runtime import Runtime
from ghostcandle.feeds.forming import FormingCandle
from ghostcandle.store.paper import PaperStore
from ghostcandle.store.predictions import PredictionRecord

Publish = Callable[[str, dict[str, Any]], None]
SIGNALS_KEPT = 50
#: Closed paper trades the live panel lists.
PAPER_TRADES_SHOWN = 5
#: At most this many forming-candle pushes per second per series (the page redraws each one).
FORMING_PER_S = 4.0


def prediction_json(p: PredictionRecord) -> dict[str, Any]:
    """Return what the page needs of one prediction (ghost candle and table row)."""
    return {
        "id": p.prediction_id,
        "session_id": p.session_id,
        "model": p.model,
        "timeframe": p.timeframe,
        "time": p.decision_time,
        "target_time": p.target_open_time,
        "open": p.pred_open,
        "high": p.pred_high,
        "low": p.pred_low,
        "close": p.pred_close,
        "predicted": p.pred_close,
        "actual": p.actual_close,
        "error": None if p.price_error is None else 100.0 * p.price_error,
        "action": p.action,
        "confidence": p.confidence,
        "price": p.ref_close,
        "status": p.status,
    }


def gpu_load() -> float | None:
    """Return the GPU's utilisation in percent where torch sees one, else None."""
    try:
        import torch

        if torch.cuda.is_available():
            return float(torch.cuda.utilization())
    except Exception:  # no driver or no NVML: no GPU figure, not an error
        return None
    return None


class LiveBridge:
    """Push live-session updates to the page and remember the latest signals."""

    def __init__(self, runtime: Runtime, publish: Publish) -> None:
        self.runtime = runtime
        self.publish = publish
        self.paper = PaperStore(runtime.db)
        # per session id, per timeframe: an hour's signals are not pushed out by the seconds'
        self.signals: dict[str, dict[str, deque[dict[str, Any]]]] = {}
        self.latest: dict[str, dict[str, Any]] = {}
        self._forming_at: dict[tuple[str, str], float] = {}
        # per series, the open time of the newest closed candle pushed (sessions share candles)
        self._candle_sent: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        runtime.on_candle = self.on_candle
        runtime.on_forming = self.on_forming
        # a new session's signals start empty, whether it started or failed to
        runtime.on_session = lambda s: self.reset(s.config.session_id)
        psutil.cpu_percent(interval=None)  # the first reading is meaningless; prime it

    def reset(self, session_id: str) -> None:
        """Forget the signals of a previous run of ``session_id``; drop those of sessions the
        runtime no longer keeps."""
        kept = {s["session_id"] for s in self.runtime.sessions()}
        with self._lock:
            for sid in [*self.signals, *self.latest]:
                if sid == session_id or sid not in kept:
                    self.signals.pop(sid, None)
                    self.latest.pop(sid, None)

    def on_forming(self, c: FormingCandle) -> None:
        """Push a forming candle, at most ``FORMING_PER_S`` times a second per series."""
        key = (c.symbol, c.timeframe)
        now = time.monotonic()
        if now - self._forming_at.get(key, 0.0) < 1.0 / FORMING_PER_S:
            return
        self._forming_at[key] = now
        self.publish(
            "forming",
            {
                "symbol": c.symbol,
                "timeframe": c.timeframe,
                "time": c.open_time,
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
                "volume": c.volume,
            },
        )

    def on_candle(self, session: LoopSession, event: CandleCompletionEvent) -> None:
        """Push the closed candle (once for all sessions), the prediction it resolved and the one
        ``session`` just made."""
        c = event.candle
        key = (event.symbol, event.timeframe)
        if self._candle_sent.get(key, -1) < c.open_time:
            self._candle_sent[key] = c.open_time
            self._publish_candle(event)
        if event.timeframe not in session.timeframes:
            return
        sid, model = session.config.session_id, session.config.model
        ids = (
            prediction_id(sid, model, event.symbol, event.timeframe, c.open_time),
            prediction_id(sid, model, event.symbol, event.timeframe, event.time),
        )
        finest = event.timeframe == session.timeframes[0]
        signalled = False
        for pid in ids:
            rec = session.ledger.get(pid)
            if rec is None:
                continue
            data = prediction_json(rec)
            self.publish("prediction", data)
            if pid == ids[1]:
                signalled = self._signal(sid, data, latest=finest)
        # the finest timeframe's close pushes the panel; a coarser one's only with a signal
        if finest or signalled:
            self.publish("live", self.status(sid))

    def _publish_candle(self, event: CandleCompletionEvent) -> None:
        c = event.candle
        self.publish(
            "candle",
            {
                "symbol": event.symbol,
                "timeframe": event.timeframe,
                "time": c.open_time,
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
                "volume": c.volume,
            },
        )

    def _signal(self, session_id: str, p: dict[str, Any], *, latest: bool) -> bool:
        """Keep a new prediction's signal (``latest``: of the timeframe paper trades); return
        whether it was a BUY or SELL."""
        with self._lock:
            if latest:
                self.latest[session_id] = p
            if p["action"] not in ("BUY", "SELL"):
                return False
            by_tf = self.signals.setdefault(session_id, {})
            kept = by_tf.setdefault(p["timeframe"], deque(maxlen=SIGNALS_KEPT))
            kept.appendleft(p)
            return True

    def status(self, session_id: str | None = None) -> dict[str, Any]:
        """Return the live panel's state of ``session_id`` (None: the newest session): session
        state, latest signal, signals, metrics, feed, and ``sessions``: every session kept.

        ``state`` is the live session's (None before any was started); ``state_reason`` says why
        it failed (None unless ``failed``; ``reason`` is the live feature's, see ``features``).
        Raise ``DataMissingError`` for an id the runtime does not keep.
        """
        slot = self.runtime.slot(session_id)
        session = None if slot is None else slot.session
        feed = self.runtime.feed_status()
        base: dict[str, Any] = {
            "sessions": self.runtime.sessions(),
            "state": None if session is None else session.state.value,
            "state_reason": None if session is None else session.reason,
            "running": bool(session is not None and session.running),
            "feed": feed,
            "cpu_percent": psutil.cpu_percent(interval=None),
            "gpu_percent": gpu_load(),
        }
        if slot is None or session is None:
            return base
        metrics = session.metrics.to_json()
        sid = session.config.session_id
        with self._lock:
            latest = self.latest.get(sid)
            # newest first; the newest SIGNALS_KEPT of each timeframe
            signals = sorted(
                (s for kept in self.signals.get(sid, {}).values() for s in kept),
                key=lambda s: (-s["time"], s["timeframe"]),
            )
        start = slot.start_checkpoint
        return {
            **base,
            "session_id": session.config.session_id,
            "model": session.config.model,
            "mode": session.config.mode,
            "start_from": "fresh" if start is None else start.start_from,
            "checkpoint": None if start is None else start.describe(),
            # the account outlives the session: a stopped session still shows its figures
            "paper": self.paper.summary(session.config.session_id, recent=PAPER_TRADES_SHOWN),
            "symbol": session.config.symbols[0],
            "timeframes": list(session.timeframes),
            "model_version": None if session.trainer is None else session.trainer.snapshot.version,
            "latest_signal": latest,
            "signals": signals,
            "metrics": {
                "predictions_per_s": metrics["predictions_per_s"],
                "training_batches_per_min": metrics["training_batches_per_min"],
                "predictions": metrics["predictions"],
                "resolved": metrics["resolved"],
                "train_steps": metrics["train_steps"],
                "train_failed": metrics["train_failed"],
                # batches pushed out before they were trained: training is behind the candles
                "batches_superseded": session.training_backlog["superseded"],
                "accuracy": metrics["accuracy"],
            },
        }
