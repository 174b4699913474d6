"""A database the learning views can show: recorded runs, samples (one quarantined), sessions.

Built by the real commands and stores: an annotation training of ``cnn``, a replay of
``excursion_mlp`` that learns on every candle (its run, its samples, its predictions beside the
baselines), a replay of ``persistence`` that does not, then one stored candle changed under the
samples so the integrity check quarantines the ones that read it.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from ghostcandle.cli.main import main
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS, format_time
from ghostcandle.engine.training.annotation_training import train_on_annotations
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.samples import SampleStore

from .conftest import START, seed_database

LEARNING, BASELINE = "lb-learn", "lb-base"
BEGIN = START + 2 * 24 * HOUR_MS


@dataclass(frozen=True)
class LearningDb:
    """What was built: the annotation run's id and each replay's printed summary."""

    annotation_run: str
    replays: dict[str, dict[str, object]]
    quarantined: int


def _replay(db: Path, session: str, model: str, mode: str) -> dict[str, object]:
    args = [
        "replay", "--db", str(db), "--symbol", "ETH/USDT", "--from", format_time(BEGIN),
        "--to", format_time(BEGIN + HOUR_MS), "--model", model, "--mode", mode,
        "--timeframes", "1m", "--window", "1m=10", "--session", session, "--json",
    ]  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(args) == 0
    summary: dict[str, object] = json.loads(out.getvalue())
    return summary


def build_learning_db(path: Path, data_dir: Path) -> LearningDb:
    """Fill a fresh database at ``path`` (test cases under ``data_dir``)."""
    seed_database(path)
    clock = LiveClock()
    with Database(path) as db:
        store = AnnotationStore(db, CandleStore(db), data_dir, clock)
        for e, x, d in ((300, 330, "LONG"), (400, 420, "SHORT"), (500, 540, "LONG")):
            store.create(
                "ETH/USDT", "1m", START + e * MINUTE_MS, START + x * MINUTE_MS, direction=d
            )
        trained = train_on_annotations(db, store, "cnn", 3, store.list(), clock=clock)
    assert trained.run_id is not None
    replays = {
        LEARNING: _replay(path, LEARNING, "excursion_mlp", "every_candle"),
        BASELINE: _replay(path, BASELINE, "persistence", "none"),
    }
    with Database(path) as db:
        # a vendor correction under stored samples: the store itself never overwrites a
        # complete candle, so it is changed as a repaired file would change it
        db.con.execute(
            "UPDATE candles SET close = close * 1.01, high = high * 1.01 WHERE symbol = ? "
            "AND timeframe = '1m' AND open_time = ?",
            ["ETH/USDT", BEGIN + 20 * MINUTE_MS],
        )
        samples = SampleStore(db)
        verified = samples.verify(samples.ids(), now=clock.now_ms())
    return LearningDb(trained.run_id, replays, len(verified.quarantined))
