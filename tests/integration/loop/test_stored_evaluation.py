"""A stored session's evaluation read a few columns at a time is ``evaluate`` of its whole frame.

``evaluate_stored`` (a replay's summary, ``ghostcandle evaluate``, the web API) no longer hands
``report.evaluate`` a frame of the ledger: ``stored_evaluation`` reads each model's columns in
ranges of decision times. On a real replay's ledger (a CNN session and its baselines, two
symbols, 1m and 1h, in a DuckDB file), with some predictions made pending (outcome deleted) or
expired after it, and ranges of a few hundred rows, both give the same JSON, float for float.
Again on one symbol whose every model predicted every target (the grid's keys are each
model's own, a series is every row), with the ranges read out of the frame's order (the
rows put in order after reading them).
"""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pytest

from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.engine.evaluation.report import COLUMNS, evaluate
from ghostcandle.engine.evaluation.session_evaluation import evaluate_stored
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.store import ledger_frames
from ghostcandle.store.db import Database
from ghostcandle.store.ledger_columns import GroupColumns, resolved_names, snapshot
from ghostcandle.store.predictions import PredictionLedger

from .conftest import START, SYM, fill, small_config

OTHER = "BTC/USDT"


def test_the_stored_evaluation_is_the_frames_evaluation(
    market: Database, ckpt_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(market, symbol=OTHER, seed=7)
    config = dataclasses.replace(small_config("stored"), symbols=(SYM, OTHER))
    run_replay(market, ReplayRequest(config, START, START + 4 * HOUR_MS), checkpoint_dir=ckpt_dir)
    with market.transaction() as con:  # a few pending (no outcome) and expired ones
        con.execute(
            "DELETE FROM prediction_outcomes WHERE hash(prediction_id) % 23 = 0 "
            "AND session_id = 'stored'"
        )
        con.execute(
            "UPDATE prediction_outcomes SET status = 'expired' "
            "WHERE hash(prediction_id) % 29 = 0 AND session_id = 'stored'"
        )
    ledger = PredictionLedger(market)
    counts = ledger.counts("stored")
    assert counts["pending"] > 0
    assert counts["expired"] > 0
    monkeypatch.setattr(ledger_frames, "CHUNK_ROWS", 300)  # several ranges per model
    with snapshot(market) as con:  # read a range at a time
        assert all(g.in_ranges for g in _groups(market, con, "stored", "1m"))
    whole = evaluate(ledger.frame("stored", columns=COLUMNS), threshold=config.threshold)
    stored = evaluate_stored(ledger, "stored", config.threshold, frame_rows=0)
    assert {"cnn", "persistence"} <= set(whole)
    assert set(whole["cnn"]) == {"1m", "1h"}
    assert set(whole["cnn"]["1m"]["trading"]) == {SYM, OTHER}
    assert json.dumps(stored) == json.dumps(whole)  # every figure, in the same order
    # a small ledger is evaluated as one frame, with the same figures
    assert json.dumps(evaluate_stored(ledger, "stored", config.threshold)) == json.dumps(whole)


def test_one_series_read_out_of_order_is_the_frames_evaluation(
    market: Database, ckpt_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = small_config("one")
    run_replay(market, ReplayRequest(config, START, START + 4 * HOUR_MS), checkpoint_dir=ckpt_dir)
    with market.transaction() as con:  # the first decisions' targets ordered after the others'
        con.execute(
            "UPDATE prediction_rows SET target_time = target_time + $later "
            "WHERE session_id = 'one' AND decision_time < $half",
            {"later": DAY_MS, "half": START + 2 * HOUR_MS},
        )
    ledger = PredictionLedger(market)
    monkeypatch.setattr(ledger_frames, "CHUNK_ROWS", 60)  # ~4 ranges of each model's 1m
    with snapshot(market) as con:
        groups = _groups(market, con, "one", "1m")
        assert len(groups) > 1
        assert not any(g.in_ranges for g in groups)
        keys = [g.read(("target_open_time",))["target_open_time"] for g in groups]
    assert all(k.tolist() == keys[0].tolist() for k in keys)  # every target, by every model
    whole = evaluate(ledger.frame("one", columns=COLUMNS), threshold=config.threshold)
    stored = evaluate_stored(ledger, "one", config.threshold, frame_rows=0)
    assert set(whole["cnn"]["1m"]["trading"]) == {SYM}
    assert json.dumps(stored) == json.dumps(whole)


def test_a_ledger_written_meanwhile_is_read_as_it_was_when_the_evaluation_began(
    market: Database, ckpt_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live session resolves and writes while its evaluation reads column after column."""
    config = small_config("live")
    run_replay(market, ReplayRequest(config, START, START + 4 * HOUR_MS), checkpoint_dir=ckpt_dir)
    with market.transaction() as con:  # some still pending when the evaluation begins
        con.execute(
            "CREATE TEMP TABLE gone AS SELECT * FROM prediction_outcomes "
            "WHERE session_id = 'live' AND hash(prediction_id) % 7 = 0"
        )
        con.execute(
            "DELETE FROM prediction_outcomes WHERE session_id = 'live' "
            "AND hash(prediction_id) % 7 = 0"
        )
    monkeypatch.setattr(ledger_frames, "CHUNK_ROWS", 100)  # several ranges a read
    with snapshot(market) as con:
        groups = _groups(market, con, "live", "1m")
        n = [g.n for g in groups]
        with market.transaction() as w:  # they resolve meanwhile, committed
            w.execute("INSERT INTO prediction_outcomes SELECT * FROM gone")
        after = [len(g.read(("actual_close", "ref_close"))["actual_close"]) for g in groups]
    assert after == n
    with snapshot(market) as con:  # a new evaluation sees them
        assert sum(g.n for g in _groups(market, con, "live", "1m")) > sum(n)


def _groups(
    db: Database, con: duckdb.DuckDBPyConnection, session_id: str, timeframe: str
) -> list[GroupColumns]:
    models, symbols, actions = resolved_names(db, con, session_id, timeframe)
    return [GroupColumns(db, con, session_id, timeframe, m, symbols, actions) for m in models]
