"""A learning session records every example it trains as a sample, verified before training.

Real session, real bus, real trainer and a real DuckDB file: the samples, their pending and
validated outcomes, and a quarantine after the candles under a stored sample were changed.
"""

from __future__ import annotations

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import Pivot, PivotEvent, candle_topic, pivot_topic
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, small_config


def _run(session: LoopSession, clock: ReplayClock, bus: MessageBus, a: int, b: int) -> None:
    for ev in replay_events(session.candles, [SYM], ["1m", "1h"], a, b):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)


def _samples(db: Database) -> list[tuple[str, str, str, int]]:
    with db.cursor() as cur:
        rows = cur.execute(
            "SELECT sample_id, source, status, decision_time FROM training_samples "
            "ORDER BY decision_time"
        ).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def _outcomes(db: Database) -> dict[str, str]:
    with db.cursor() as cur:
        rows = cur.execute("SELECT sample_id, status FROM outcomes").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def test_every_trained_example_is_a_sample_with_an_outcome(market: Database, ckpt_dir: str) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = small_config("keep", mode="every_candle", flush_every=1)
    s = LoopSession(market, cfg, bus, clock, checkpoint_dir=ckpt_dir).start()
    _run(s, clock, bus, START, START + 40 * MINUTE_MS)
    s.stop()
    samples = _samples(market)
    steps = SessionStore(market).steps("keep")
    assert steps
    assert all(st.status == "ok" for st in steps)
    # every frame a step trained on is a recorded candle sample, and nothing else was recorded
    trained = {f for st in steps for f in st.frame_ids}
    with market.cursor() as cur:
        frames = {
            str(r[0]) for r in cur.execute("SELECT frame_id FROM training_samples").fetchall()
        }
    assert trained == frames
    assert {src for _, src, _, _ in samples} == {"candle"}
    assert all(status == "ok" for _, _, status, _ in samples)
    # each sample has an outcome; those whose horizon closed before the end are validated
    outcomes = _outcomes(market)
    assert set(outcomes) == {sid for sid, _, _, _ in samples}
    assert "validated" in outcomes.values()
    status = s.status()["samples"]
    assert status["recorded"] >= len(samples)
    assert status["trained"] == status["recorded"]
    assert status["outcomes_validated"] == sum(v == "validated" for v in outcomes.values())


def _pivot(pivot_open: int, confirmed_at: int, kind: str) -> PivotEvent:
    p = Pivot(SYM, "1m", pivot_open, 3000.0, f"L1{kind}", 1, 1.0, confirmed_at)
    return PivotEvent(SYM, "1m", p)


def test_a_changed_candle_quarantines_its_sample_and_training_goes_on(
    market: Database, ckpt_dir: str
) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = small_config("tamper", mode="pivots_only", flush_every=1)
    s = LoopSession(market, cfg, bus, clock, checkpoint_dir=ckpt_dir).start()
    _run(s, clock, bus, START, START + 20 * MINUTE_MS)
    changed_open, kept_open = START + 14 * MINUTE_MS, START + 10 * MINUTE_MS
    with market.transaction() as con:  # a candle changes after a frame ending with it
        con.execute(
            "UPDATE candles SET close = close * 1.01 WHERE symbol = ? AND timeframe = '1m' "
            "AND open_time = ?",
            [SYM, changed_open],
        )
    bus.publish(pivot_topic(SYM, "1m"), _pivot(changed_open, clock.now_ms(), "L"))
    bus.publish(pivot_topic(SYM, "1m"), _pivot(kept_open, clock.now_ms(), "H"))
    s.stop()
    stored = {t: status for _, src, status, t in _samples(market) if src == "pivot"}
    assert stored == {changed_open + MINUTE_MS: "quarantined", kept_open + MINUTE_MS: "ok"}
    steps = SessionStore(market).steps("tamper")
    assert [st.status for st in steps] == ["ok"]  # only the intact one trained; it went on
    assert s.status()["samples"]["quarantined"] >= 1  # counted each time it is handed over
    with market.cursor() as cur:
        reason = cur.execute(
            "SELECT reason FROM training_samples WHERE status = 'quarantined'"
        ).fetchone()
    assert reason is not None
    assert "hash" in str(reason[0])
