"""Replay runs the real loop: predictions at every due candle, resolved, frames re-materialised."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.frames import frame_hash
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore

from .conftest import END, START, SYM, small_config


def _all_frames(db: Database) -> list[str]:
    return [str(r[0]) for r in db.con.execute("SELECT frame_id FROM frames").fetchall()]


def test_replay_predicts_every_due_candle_and_frames_rematerialise(
    market: Database, ckpt_dir: str
) -> None:
    seen: list[tuple[str, int, int]] = []  # (callback, n, predictions pending then)

    def called(name: str) -> Callable[[int], None]:
        return lambda n: seen.append(
            (name, n, PredictionLedger(market).counts("r-none")["pending"])
        )

    summary = run_replay(
        market,
        ReplayRequest(small_config("r-none"), START, END),
        checkpoint_dir=ckpt_dir,
        on_event=called("event"),
        on_summary=called("summary"),
    )
    # an event at a time, then the summary's phase once, after the loop's last writes
    assert [s[:2] for s in seen] == [
        *(("event", n) for n in range(1, summary["events"] + 1)),
        ("summary", summary["events"]),
    ]
    assert seen[-1][2] == 0  # the last predictions' outcomes stored before it
    assert max(s[2] for s in seen) > 0
    # 1m candles closing in (START, END - 1m] and the 1h candle closing at START + 1h are due;
    # five models (cnn, persistence, drift, vol_range, majority) each predict every one of them
    due_1m = (END - MINUTE_MS - START) // MINUTE_MS
    assert summary["predictions"] == 5 * (due_1m + 1)
    assert summary["resolved"] == summary["predictions"]
    assert summary["expired"] == 0
    assert summary["pending"] == 0
    assert summary["train_steps"] == 0
    ledger = PredictionLedger(market)
    df = ledger.frame("r-none")
    assert set(df["model"]) == {"cnn", "persistence", "drift", "vol_range", "majority"}
    # every target is the candle after the decision, never an earlier one
    assert (df["target_open_time"] == df["decision_time"]).all()
    assert (df["resolved_at"] >= df["target_time"]).all()
    frames = FrameStore(market)
    ids = _all_frames(market)
    assert len(ids) == summary["predictions"]
    for fid in ids:
        ref = frames.get(fid)
        windows = frames.get_inference_data(ref)
        assert frame_hash(windows) == ref.input_hash
        # no look-ahead: every window ends at or before the decision
        assert all(w.spec.known_at <= ref.decision_time for w in windows)
    # evaluation reports models beside the baselines, with the skill ratio against persistence
    ev = summary["evaluation"]
    assert ev["persistence"]["1m"]["skill_ratio"] == pytest.approx(1.0)
    assert ev["cnn"]["1m"]["n"] == due_1m
    assert 0 < ev["cnn"]["1m"]["skill_ratio"] < 10
    row = SessionStore(market).require("r-none")
    assert row.status == "finished"
    assert row.summary is not None


def test_mode_none_never_changes_weights_and_replay_is_deterministic(
    market: Database, ckpt_dir: str
) -> None:
    a = run_replay(
        market, ReplayRequest(small_config("det-a"), START, END), checkpoint_dir=ckpt_dir
    )
    b = run_replay(
        market, ReplayRequest(small_config("det-b"), START, END), checkpoint_dir=ckpt_dir
    )
    assert a["evaluation"] == b["evaluation"]
    ledger = PredictionLedger(market)
    cols = ["model", "model_version", "decision_time", "pred_close", "pred_high", "action"]
    fa, fb = ledger.frame("det-a")[cols], ledger.frame("det-b")[cols]
    assert fa.sort_values(cols).values.tolist() == fb.sort_values(cols).values.tolist()
    # weights never changed: every cnn prediction carries the untrained version
    fresh = create_model("cnn", timeframes=["1m", "1h"], windows={"1m": 20, "1h": 6}, seed=1)
    assert set(fa[fa["model"] == "cnn"]["model_version"]) == {fresh.version}


def test_every_candle_trains_on_resolved_frames(market: Database, ckpt_dir: str) -> None:
    cfg = small_config("r-every", mode="every_candle", checkpoint_every=20)
    summary = run_replay(
        market,
        ReplayRequest(cfg, START, START + 40 * MINUTE_MS, pivots=False),
        checkpoint_dir=ckpt_dir,
    )
    assert summary["train_steps"] >= 30
    steps = SessionStore(market).steps("r-every")
    assert sum(s.status == "ok" for s in steps) == summary["train_steps"]
    # a step points at frames of this session's learning model, by reference
    frames = FrameStore(market)
    ref = frames.get(steps[-1].frame_ids[0])
    assert ref.model == "cnn"
    # the weights moved: later predictions carry newer versions
    versions = set(
        PredictionLedger(market).frame("r-every").query("model == 'cnn'")["model_version"]
    )
    assert len(versions) > 10
    # and the last good state was checkpointed, loadable with weights_only=True
    row = SessionStore(market).require("r-every")
    assert row.checkpoint_path is not None
    assert row.checkpoint_step == summary["train_steps"]
    # named relative to the checkpoint directory of the database it belongs to
    state = torch.load(Path(ckpt_dir) / row.checkpoint_path, weights_only=True)
    assert state["step"] == summary["train_steps"]


def test_missing_timeframe_is_named(market: Database, ckpt_dir: str) -> None:
    cfg = small_config("r-1s")
    cfg = type(cfg)(
        **{
            **cfg.__dict__,
            "model_config": {"timeframes": ["1s", "1m"], "windows": {"1s": 10, "1m": 5}},
        }
    )
    with pytest.raises(
        DataMissingError, match=r"ETH/USDT has no 1s candles \(stored: 1d, 1h, 1m\)"
    ):
        run_replay(market, ReplayRequest(cfg, START, END), checkpoint_dir=ckpt_dir)


def test_gap_expires_predictions(market: Database, ckpt_dir: str) -> None:
    # delete ten 1m candles in the middle: their predictions can never resolve
    gap_start = START + 30 * MINUTE_MS
    market.con.execute(
        "DELETE FROM candles WHERE symbol = ? AND timeframe = '1m' AND open_time BETWEEN ? AND ?",
        [SYM, gap_start, gap_start + 9 * MINUTE_MS],
    )
    summary = run_replay(
        market,
        ReplayRequest(small_config("r-gap"), START, START + 60 * MINUTE_MS),
        checkpoint_dir=ckpt_dir,
    )
    assert summary["pending"] == 0
    assert summary["expired"] == 5  # the prediction made just before the gap, by 5 models
    assert summary["skipped_missing"] > 0  # windows across the gap are refused, not guessed
    assert summary["resolved"] + summary["expired"] == summary["predictions"]
