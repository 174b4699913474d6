"""After a restart (even kill -9) a session resumes: checkpoint, progress, pending predictions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS, format_time
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PredictionLedger

from .conftest import START, SYM, fill, small_config


def test_restart_resolves_pending_from_candles_stored_meanwhile(
    market: Database, ckpt_dir: str
) -> None:
    cfg = small_config("live-1", flush_every=1)
    clock = ReplayClock(START)
    bus = MessageBus()
    session = LoopSession(market, cfg, bus, clock, checkpoint_dir=ckpt_dir).start()
    crash_at = START + 30 * MINUTE_MS
    for ev in replay_events(session.candles, [SYM], ["1m", "1h"], START, crash_at):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)
    # the process dies here, once the writer has committed what live hands it per event: no
    # stop(), nothing flushed beyond that
    assert session.wait_written(timeout_s=30)
    for sub in session._subs:
        sub.cancel()
    ledger = PredictionLedger(market)
    pending = ledger.pending("live-1")
    assert {p.target_time for p in pending} == {crash_at + MINUTE_MS}
    assert len(pending) == 5
    # five minutes later the process comes back; the candles of those minutes are in the store
    clock2 = ReplayClock(crash_at + 5 * MINUTE_MS)
    again = LoopSession(market, cfg, MessageBus(), clock2, checkpoint_dir=ckpt_dir).start()
    assert again.events == session.events
    assert ledger.pending("live-1") == []
    target = CandleStore(market).read(SYM, "1m", crash_at, crash_at)
    for p in pending:
        done = ledger.get(p.prediction_id)
        assert done is not None
        assert done.status == "resolved"
        assert done.actual_close == float(target["close"].iloc[0])
    again.stop()
    # the "crashed" session's threads are still alive in this process: release them (without
    # stop(), which would flush its stale records over the resumed session's)
    session._training.stop(finish=False)
    session._writes.close()


def test_kill_9_mid_training_loses_no_prediction(tmp_path: Path) -> None:
    path = tmp_path / "k9.duckdb"
    with Database(path) as db:
        fill(db)
    end = START + 3 * HOUR_MS
    cmd = [
        sys.executable, "-m", "ghostcandle.cli.main", "replay", "--db", str(path),
        "--symbol", SYM, "--from", format_time(START), "--to", format_time(end),
        "--model", "cnn", "--mode", "every_candle", "--timeframes", "1m,1h",
        "--window", "1m=20", "--window", "1h=6", "--seed", "1", "--session", "k9",
        "--checkpoint-every", "5", "--flush-every", "5", "--no-pivots", "--json",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ckdir = checkpoint_dir_for(path) / "k9"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(ckdir.glob("k9-*.json"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the replay ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = len(list(ckdir.glob("k9-*.json")))
    assert killed_at >= 2
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 < summary["events"] < summary["events_total"]  # it resumed, not restarted
    due_1m = (end - MINUTE_MS - START) // MINUTE_MS
    due_1h = 2
    assert summary["predictions"] == 5 * (due_1m + due_1h)
    assert summary["pending"] == 0
    assert summary["resolved"] + summary["expired"] == summary["predictions"]
    with Database(path, read_only=True) as db:
        n, distinct = db.con.execute(
            "SELECT count(*), count(DISTINCT (model, timeframe, decision_time)) FROM predictions"
        ).fetchone() or (0, 0)
        assert n == distinct == summary["predictions"]
    store = CheckpointStore(checkpoint_dir_for(path), ReplayClock(0))
    latest = store.latest("k9")
    assert latest is not None
    state = torch.load(latest.path, weights_only=True)
    assert state["step"] == latest.step > 0
