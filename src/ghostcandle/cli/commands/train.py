"""``ghostcandle train --model M --annotations``: batch-train a model, as the training panel does.

The source flag says what to train on; each source is one function below. ``--annotations``
trains on the saved test cases (the annotations in the database) through the same engine code
as the workspace's training panel, and writes the same checkpoint (``annotations-<model>``),
so ``start_from: annotations`` and ``backtest --checkpoint annotations`` start from it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.engine.training.annotation_training import (
    NO_CASES,
    AnnotationTrainingResult,
    EpochReport,
    check_request,
    select_annotations,
    train_on_annotations,
)
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore

#: The source flags, each with what it trains on (the message when none is given lists them).
SOURCES = {"--annotations": "the saved test cases"}


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="batch-train a model on your annotations (the training panel's job)",
        description=(
            "Train a fresh learning model for N epochs and checkpoint it. --annotations: on "
            "every saved test case (or those of --ids), written where the training panel "
            "writes (annotations-<model>), so live and backtest can start from it."
        ),
    )
    p.add_argument("--model", required=True, help="a learning model: transformer, cnn, ...")
    p.add_argument(
        "--annotations", action="store_true", help="train on the annotations in the database"
    )
    p.add_argument("--ids", help="comma list of annotation ids (default: all annotations)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the batch (default 10)")
    add_common(p)
    p.set_defaults(handler=run)


def _cli_field(name: str) -> str:
    return f"--{name}"


def run(args: argparse.Namespace) -> int:
    """Train on the chosen source and print the epochs and the checkpoint."""
    if not args.annotations:
        given = "; ".join(f"{flag} ({what})" for flag, what in SOURCES.items())
        raise UserInputError(f"say what to train on: pass {given}")
    return _train_on_annotations(args)


def _train_on_annotations(args: argparse.Namespace) -> int:
    check_request(args.model, args.epochs, field=_cli_field)
    ids = [i.strip() for i in args.ids.split(",") if i.strip()] if args.ids is not None else None
    if ids is not None and not ids:
        raise UserInputError("--ids is empty: give annotation ids separated by commas")
    clock = LiveClock()
    # the database is only read: the checkpoint is a file beside it
    with open_db(args, read_only=True) as db:
        store = AnnotationStore(db, CandleStore(db), Path(db.path).parent / "test_cases", clock)
        anns = select_annotations(store, ids)
        if not anns:
            raise DataMissingError(NO_CASES)
        with progress_bar(
            f"train {args.model}", enabled=wants_progress(args.json), total=args.epochs
        ) as bar:

            def on_epoch(e: EpochReport) -> None:
                bar.update(e.epoch, detail=f"loss {e.loss:.4f}  accuracy {e.accuracy:.3f}")

            result = train_on_annotations(
                db, store, args.model, args.epochs, anns, clock=clock, on_epoch=on_epoch
            )
    if args.json:
        emit_json(result.to_json())
    else:
        print(_report(result))
    return 0


def _report(r: AnnotationTrainingResult) -> str:
    rows = [
        [e.epoch, round(e.loss, 6), round(e.accuracy, 4), round(e.duration_s, 3)] for e in r.epochs
    ]
    where = r.checkpoint.path if r.checkpoint is not None else "NOT saved"
    return (
        f"{r.model} on {r.samples} annotation(s), timeframes {', '.join(r.timeframes)}: "
        f"{len(r.epochs)} epochs in {r.total_s:.1f}s\n"
        + table(["epoch", "loss", "accuracy", "duration_s"], rows)
        + f"\ncheckpoint: {where}"
    )
