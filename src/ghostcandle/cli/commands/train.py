"""``ghostcandle train``: batch-train a model on annotations or, offline, on stored candles.

The source flag says what to train on; each source is one function below. ``--annotations``
trains on the saved test cases (the annotations in the database) through the same engine code
as the workspace's training panel, and writes the same checkpoint (``annotations-<model>``),
so ``start_from: annotations`` and ``backtest --checkpoint annotations`` start from it.
``--symbol S --timeframes ... --from --to`` trains on the stored candles of a range (frames by
reference, a validation split later in time, early stopping) and writes the named checkpoint
``--name`` that ``--checkpoint NAME`` and ``start_from: NAME`` start from; with
``--walk-forward train=30d,test=7d`` it scores fixed folds instead (``cli/train_offline.py``);
``--replay profitable|top`` draws each epoch's decisions by their validated outcomes.
``--list`` lists the recorded offline runs (with their folds' settings); ``train list``,
``train show RUN`` and ``train replay-step ID`` (``cli/train_runs.py``) list every recorded
training run (annotations, offline fits, sessions), show one with its curves, and recompute a
recorded step.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.cli.train_offline import (
    add_offline_arguments,
    list_runs,
    run_offline,
    wants_offline,
)
from ghostcandle.cli.train_runs import add_run_commands
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
from ghostcandle.store.db import resolve_db_path

#: The source flags, each with what it trains on (the message when none is given lists them).
SOURCES = {
    "--annotations": "the saved test cases",
    "--symbol S --timeframes TFS --from T1 --to T2": "stored candles, offline",
}


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="train a model on your annotations or on stored candles (offline, walk-forward)",
        description=(
            "Train a fresh learning model and checkpoint it. --annotations: on every saved "
            "test case (or those of --ids), written where the training panel writes "
            "(annotations-<model>). --symbol/--timeframes/--from/--to: on the stored candles "
            "of a range, stopping early on a later validation split, written as the named "
            "checkpoint --name; with --walk-forward, fixed folds scored beside the baselines."
        ),
    )
    p.add_argument("--model", help="a learning model: transformer, cnn, ...")
    p.add_argument(
        "--annotations", action="store_true", help="train on the annotations in the database"
    )
    p.add_argument("--ids", help="comma list of annotation ids (default: all annotations)")
    p.add_argument("--epochs", type=int, default=10, help="passes over the data (default 10)")
    add_offline_arguments(p)
    add_common(p)
    p.set_defaults(handler=run)
    add_run_commands(p)


def _cli_field(name: str) -> str:
    return f"--{name}"


def run(args: argparse.Namespace) -> int:
    """Train on the chosen source and print the epochs and the checkpoint."""
    if args.list:
        return list_runs(args)
    offline = wants_offline(args)
    given = "; ".join(f"{flag} ({what})" for flag, what in SOURCES.items())
    if not args.annotations and not offline:
        raise UserInputError(f"say what to train on: pass {given}")
    if args.annotations and offline:
        raise UserInputError(f"train on one source at a time: pass {given}")
    if not args.model:
        raise UserInputError("--model is required: a learning model such as transformer or cnn")
    if args.annotations and (args.replay != "uniform" or args.max_samples is not None):
        raise UserInputError(
            "--replay and --max-samples apply to training on stored candles (--symbol ...): "
            "annotations have no measured outcomes to weigh them by"
        )
    return run_offline(args) if offline else _train_on_annotations(args)


def _train_on_annotations(args: argparse.Namespace) -> int:
    check_request(args.model, args.epochs, field=_cli_field)
    ids = [i.strip() for i in args.ids.split(",") if i.strip()] if args.ids is not None else None
    if ids is not None and not ids:
        raise UserInputError("--ids is empty: give annotation ids separated by commas")
    clock = LiveClock()
    # the checkpoint is a file beside the database; the run and its steps are recorded in it
    path = resolve_db_path(args.db)
    if not path.exists():
        raise UserInputError(f"database {path} does not exist: ingest data first or pass --db")
    with open_db(args) as db:
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
        + (f"\nrun: {r.run_id} (ghostcandle train show {r.run_id})" if r.run_id else "")
    )
