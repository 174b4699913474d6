"""A live-like session records its online steps; one of them replays in another process.

Real session (bus, policy, batch builder, trainer, flushes with checkpoints) on a real DuckDB
file; ``ghostcandle train replay-step`` runs as a subprocess and must reproduce the recorded
weights-after hash of the session's last step.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore
from ghostcandle.store.step_records import StepRecordStore
from ghostcandle.store.training_runs import TrainingRunStore

from .conftest import START, SYM, small_config


def test_a_sessions_online_step_replays_exactly(market: Database, ckpt_dir: str) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = small_config("rec", mode="every_candle", flush_every=1, checkpoint_every=5)
    s = LoopSession(market, cfg, bus, clock, checkpoint_dir=ckpt_dir).start()
    for ev in replay_events(s.candles, [SYM], ["1m", "1h"], START, START + 25 * MINUTE_MS):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)
    s.stop()
    steps = [st for st in SessionStore(market).steps("rec") if st.status == "ok"]
    records = StepRecordStore(market).for_run("rec")
    assert len(records) == len(steps) >= 10  # every applied step is recorded, once
    assert [list(r.sample_ids) for r in records] == [list(st.frame_ids) for st in steps]
    run = TrainingRunStore(market).require("rec")
    assert run.kind == "session"
    path = Path(market.path)
    market.close()  # the replay opens the file itself, in a fresh interpreter
    last = records[-1].step_id
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "train", "replay-step", last,
           "--db", str(path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert records[-1].hash_after[:12] in done.stdout
