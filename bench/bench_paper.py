"""Paper trading's cost in live mode: the loop with and without a ``PaperTrader`` attached.

A live session (threaded bus, simulated clock) is fed the same stored 1m candles bare (the
baseline, measured in the same run) and trading on paper, alternately; the fastest run of each
is reported. The live panel's ``PaperStore.summary`` (run on the bus thread at each closed
candle) is timed on its own. Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.trading.paper import PaperTrader
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
CANDLES = 500
WARMUP = 100
#: bare and paper runs alternate; the fastest of each is reported (the machine is shared)
ROUNDS = 2


def _run(db: Database, session_id: str, *, paper: bool) -> float:
    """Feed the candles after the warm-up through a live session; return seconds per candle."""
    start, end = T0 + WARMUP * M, T0 + CANDLES * M
    clock = ReplayClock(start)
    bus = MessageBus(threaded=True, name=session_id)
    config = SessionConfig(
        session_id=session_id,
        model="transformer",
        model_config={"timeframes": ["1m"], "windows": {"1m": 30}, "seed": 0},
        symbols=(SYMBOL,),
        timeframes=("1m",),
        baselines=("persistence",),
    )
    session = LoopSession(db, config, bus, clock, kind="live")
    session.predict_until = end
    session.start()
    trader = PaperTrader(session, PaperStore(db)) if paper else None
    events = list(replay_events(session.candles, (SYMBOL,), ("1m",), start, end))
    t0 = time.perf_counter()
    for event in events:
        clock.advance_to(event.time)
        bus.publish(candle_topic(SYMBOL, "1m"), event)
        bus.drain(timeout=30)
    elapsed = time.perf_counter() - t0
    if trader is not None:
        trader.close()
    session.stop()
    bus.close()
    return elapsed / len(events)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-paper-"))
    with Database(tmp / "bench.duckdb") as db:
        CandleStore(db).write(
            SYMBOL,
            "1m",
            synthetic_candles(CANDLES, "1m", start_ms=T0, seed=4),
            provenance=CandleSource.FILE,
        )
        bare_runs, paper_runs = [], []
        for r in range(ROUNDS):
            bare_runs.append(_run(db, f"bench-bare-{r}", paper=False))
            paper_runs.append(_run(db, f"bench-paper-{r}", paper=True))
        bare, traded = min(bare_runs), min(paper_runs)
        store = PaperStore(db)
        t_sum = []
        for _ in range(50):
            t0 = time.perf_counter()
            summary = store.summary(f"bench-paper-{ROUNDS - 1}", recent=5)
            t_sum.append(time.perf_counter() - t0)
        assert summary is not None
    print(
        json.dumps(
            {
                "bench": "paper",
                "candles": CANDLES - WARMUP,
                "per_candle_ms_bare": round(bare * 1000, 3),
                "per_candle_ms_paper": round(traded * 1000, 3),
                "paper_vs_bare": round(traded / bare, 3),
                "summary_ms_median": round(statistics.median(t_sum) * 1000, 3),
                "paper_trades": summary["trades"],
            }
        )
    )


if __name__ == "__main__":
    main()
