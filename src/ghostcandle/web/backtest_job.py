"""Backtest the chart's visible range in the background through ``engine.backtest``.

One job at a time; progress, then the result (PnL, trades, win rate, the equity curve beside
buy-and-hold's, the settings it ran with) are pushed to the page as ``backtest`` events. The
request is checked before the job starts, so a bad one is answered at once with the reason and
runs nothing.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from ghostcandle.domain.errors import ConflictError, GhostcandleError
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestResult, BacktestService
from ghostcandle.store.db import Database
from ghostcandle.web.job_state import JobState

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], None]
#: Push progress at most this often (seconds): the page needs no more.
PROGRESS_EVERY_S = 0.2


def settings_json(request: Mapping[str, Any]) -> dict[str, Any]:
    """Return the settings a run was made with, as the panel compares them."""
    broker = request.get("broker", {})
    return {
        "fee_bps": broker.get("fee_bps"),
        "slippage_bps": broker.get("slippage_bps"),
        "min_confidence": broker.get("min_confidence"),
        "long_only": broker.get("allow_short") is False,
        "hold": broker.get("hold"),
        "train": request.get("train"),
        "start_from": request.get("start_from"),
    }


def result_json(r: BacktestResult) -> dict[str, Any]:
    """Return what the backtest panel shows of a result."""
    p = r.performance
    return {
        "model": r.strategy.removeprefix("model:"),
        "symbol": r.symbol,
        "timeframe": r.timeframe,
        "start": r.start,
        "end": r.end,
        "candles": r.candles,
        "signals": r.signals,
        "pnl": p.pnl,
        "pnl_pct": p.return_pct,
        "win_rate": p.win_rate if p.trades else None,
        "max_drawdown_pct": p.max_drawdown_pct,
        "fees": p.fees,
        "buy_and_hold_pct": r.buy_and_hold.return_pct,
        "elapsed_s": r.elapsed_s,
        "checkpoint": (r.request or {}).get("checkpoint"),
        "engine": r.engine,
        "settings": settings_json(r.request or {}),
        "trades": [
            {
                "side": t.side,
                "size": t.size,
                "entry_time": t.entry_time,
                "entry_price": t.entry_price,
                "exit_time": t.exit_time,
                "exit_price": t.exit_price,
                "fees": t.fees,
                "pnl": t.pnl,
                "pnl_pct": t.return_pct,
                "exit_reason": t.exit_reason,
            }
            for t in r.trades
        ],
        "equity": [{"time": e.time, "value": e.equity} for e in r.equity_curve],
        "buy_and_hold_equity": [{"time": e.time, "value": e.equity} for e in r.buy_and_hold_curve],
    }


class BacktestJobs:
    """Run at most one backtest at a time and report it through ``publish``."""

    def __init__(self, db: Database, publish: Publish) -> None:
        self.service = BacktestService(db)
        self.publish = publish
        self.state: dict[str, Any] = {"status": JobState.IDLE}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # every state carries an increasing seq: the page drops one older than what it shows
        self._seq = itertools.count(1)

    def start(self, req: BacktestRequest) -> dict[str, Any]:
        """Check ``req`` (raising the reason if it cannot run) and start it; return its state."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise ConflictError("a backtest is running: wait for its result")
            self.service.check(req)
            self.state = {"status": JobState.RUNNING, "progress": 0.0, "seq": next(self._seq)}
            self._thread = threading.Thread(
                target=self._run, args=(req,), name="backtest", daemon=True
            )
            self._thread.start()
            return dict(self.state)

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for the running backtest (tests, shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _emit(self, state: dict[str, Any]) -> None:
        self.state = {**state, "seq": next(self._seq)}
        self.publish(dict(self.state))

    def _run(self, req: BacktestRequest) -> None:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                self._emit({"status": JobState.RUNNING, "progress": done / max(total, 1)})

        try:
            result = self.service.run(req, progress)
            self._emit(
                {"status": JobState.COMPLETED, "progress": 1.0, "result": result_json(result)}
            )
        except GhostcandleError as exc:
            self._emit({"status": JobState.FAILED, "reason": str(exc)})
        except Exception as exc:  # reported to the trader, not lost in a thread
            log.exception("backtest failed")
            self._emit({"status": JobState.FAILED, "reason": f"{type(exc).__name__}: {exc}"})
