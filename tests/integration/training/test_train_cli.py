"""``ghostcandle train --annotations``: the training panel's job from the command line.

A real database file holds stored candles and annotations made through the annotation store;
the CLI trains a real transformer on them (as a subprocess, like an operator runs it) and must
write the checkpoint the panel writes, one that ``start_from: annotations`` loads.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import load_annotation_checkpoint
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.web.training_job import TrainingJobs

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
#: (entry, exit) minutes after T0 and the direction of the annotated trades
TRADES = ((150, 170, "LONG"), (210, 240, "SHORT"), (300, 320, "LONG"), (360, 400, "SHORT"))


def _seed(path: Path, trades: tuple[tuple[int, int, str], ...] = TRADES) -> list[str]:
    """Store 600 1m candles and annotate ``trades``; return the annotation ids."""
    with Database(path) as db:
        CandleStore(db).write(
            SYMBOL,
            "1m",
            synthetic_candles(600, "1m", start_ms=T0, seed=5),
            provenance=CandleSource.FILE,
        )
        store = AnnotationStore(db, CandleStore(db), path.parent / "cases", ReplayClock(T0))
        return [
            store.create(SYMBOL, "1m", T0 + e * M, T0 + x * M, direction=d).annotation_id
            for e, x, d in trades
        ]


def _train(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "train", "--db", str(db_path), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def test_train_on_annotations_writes_the_panels_checkpoint(tmp_path: Path) -> None:
    db_path = tmp_path / "g.duckdb"
    _seed(db_path)
    run = _train(db_path, "--model", "transformer", "--annotations", "--epochs", "3", "--json")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1  # one JSON object and nothing else
    out: dict[str, Any] = json.loads(lines[0])
    assert "━" not in run.stderr  # never a progress bar off a terminal

    assert out["model"] == "transformer"
    assert out["source"] == "annotations"
    assert out["samples"] == len(TRADES)
    assert [e["epoch"] for e in out["epochs"]] == [1, 2, 3]
    for e in out["epochs"]:
        assert math.isfinite(e["loss"])
        assert 0.0 <= e["accuracy"] <= 1.0
        assert e["duration_s"] >= 0
    assert out["duration_s"] >= sum(e["duration_s"] for e in out["epochs"])
    assert out["checkpoint_key"] == "annotations-transformer"

    ckpt = out["checkpoint"]
    assert ckpt["key"] == "annotations-transformer"
    assert ckpt["step"] == 3
    assert Path(ckpt["path"]).is_file()
    assert Path(ckpt["path"]).parent.parent == checkpoint_dir_for(db_path)
    # what live and backtest load with start_from: annotations
    start = load_annotation_checkpoint(db_path, ReplayClock(0), "transformer")
    assert start.info.path == ckpt["path"]
    model = start.model()
    assert model.step == 3
    assert list(model.timeframes) == out["timeframes"]


def test_the_cli_and_the_panel_train_the_same_way(tmp_path: Path) -> None:
    db_path = tmp_path / "g.duckdb"
    ids = _seed(db_path)
    run = _train(
        db_path, "--model", "cnn", "--annotations", "--ids", ",".join(ids[:3]), "--epochs", "4",
        "--json",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    cli = json.loads(run.stdout)
    assert cli["samples"] == 3

    # the panel's job on the same annotations, in another database beside the same candles
    panel_path = tmp_path / "panel" / "g.duckdb"
    panel_path.parent.mkdir()
    panel_ids = _seed(panel_path)
    with Database(panel_path) as db:
        store = AnnotationStore(db, CandleStore(db), tmp_path / "cases", ReplayClock(T0))
        events: list[dict[str, Any]] = []
        jobs = TrainingJobs(db, store, ReplayClock(T0), events.append)
        jobs.start("cnn", 4, panel_ids[:3])
        jobs.wait(120)
        assert jobs.state["status"] == "completed", jobs.state
    panel = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in panel] == [1, 2, 3, 4]
    # same code, same seeded model, same batch: the same losses and accuracies
    assert [e["loss"] for e in cli["epochs"]] == pytest.approx([e["loss"] for e in panel])
    assert [e["accuracy"] for e in cli["epochs"]] == [e["accuracy"] for e in panel]


def test_human_output_lists_epochs_and_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "g.duckdb"
    _seed(db_path)
    code = main(["train", "--db", str(db_path), "--model", "cnn", "--annotations", "--epochs", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    found = CheckpointStore(checkpoint_dir_for(db_path), ReplayClock(0)).latest("annotations-cnn")
    assert found is not None
    assert f"checkpoint: {found.path}" in out
    assert "cnn on 4 annotation(s)" in out
    assert "━" not in out + err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--model", "transformer"], "say what to train on: pass --annotations"),
        (["--model", "lstm", "--annotations"], "--model: unknown model 'lstm'"),
        (["--model", "drift", "--annotations"], "--model: drift is a baseline and never learns"),
        (["--model", "cnn", "--annotations", "--epochs", "0"], "--epochs: 0 is not in 1..1000"),
        (["--model", "cnn", "--annotations", "--ids", "0123456789ab"], "annotation 0123456789ab"),
        (["--model", "cnn", "--annotations", "--ids", "../x"], "annotation id '../x' is not valid"),
        (["--model", "cnn", "--annotations", "--ids", ","], "--ids is empty"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    db_path = tmp_path / "g.duckdb"
    _seed(db_path)
    before = db_path.stat().st_mtime_ns, db_path.stat().st_size
    code = main(["train", "--db", str(db_path), *args])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("ghostcandle train: error: ")
    assert says in err
    assert not checkpoint_dir_for(db_path).exists()
    assert (db_path.stat().st_mtime_ns, db_path.stat().st_size) == before


def test_no_annotations_says_to_create_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "g.duckdb"
    _seed(db_path, trades=())
    code = main(["train", "--db", str(db_path), "--model", "cnn", "--annotations", "--json"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == "ghostcandle train: error: No test cases found — create annotations first\n"
    assert not checkpoint_dir_for(db_path).exists()


def test_a_missing_database_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "none.duckdb"
    code = main(["train", "--db", str(db_path), "--model", "cnn", "--annotations"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "does not exist" in err
    assert not db_path.exists()
