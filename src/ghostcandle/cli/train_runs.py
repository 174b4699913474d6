"""``ghostcandle train list | show RUN | replay-step ID``: recorded training runs and steps.

``list`` prints every recorded run (annotation trainings, offline fits, sessions' online
training), newest first, with its steps, last losses, convergence and value; ``show RUN`` one
run with its curves, the validated outcomes of its samples and its last steps; ``replay-step
ID`` recomputes a recorded step from the stored references and proves its after-hash: exit 0
with a one-line proof, 1 when a hash differs (the line says where), 2 for an unknown id.
"""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import format_time
from ghostcandle.engine.offline.step_batches import DECISIONS, decisions_source
from ghostcandle.engine.training.replay_step import ReplayMismatchError, replay_step
from ghostcandle.engine.training.run_view import run_detail
from ghostcandle.store.db import Database, resolve_db_path
from ghostcandle.store.training_runs import RunRow, TrainingRunStore


def add_run_commands(p: argparse.ArgumentParser) -> None:
    """Add ``list``, ``show`` and ``replay-step`` under ``train``."""
    sub = p.add_subparsers(
        dest="train_command",
        metavar="{list,show,replay-step}",
        help="recorded runs and steps (without one: train a model, see the flags below)",
    )
    ls = sub.add_parser("list", help="list recorded training runs, newest first")
    ls.add_argument("--kind", choices=("annotations", "offline", "session"), help="only these")
    add_common(ls)
    ls.set_defaults(handler=run_list)
    show = sub.add_parser("show", help="show one run: curves, convergence, value, last steps")
    show.add_argument("run", help="a run id from `ghostcandle train list`")
    add_common(show)
    show.set_defaults(handler=run_show)
    rs = sub.add_parser(
        "replay-step", help="recompute a recorded step and prove its weights-after hash"
    )
    rs.add_argument("step", help="a step id <run>:<step> from `ghostcandle train show RUN`")
    rs.add_argument(
        "--store-gradients",
        action="store_true",
        help="write the step's gradients to <db>.gradients/<step>.pt (small models)",
    )
    add_common(rs)
    rs.set_defaults(handler=run_replay_step)


def _open(args: argparse.Namespace) -> Database:
    path = resolve_db_path(args.db)
    if not path.exists():
        raise UserInputError(f"database {path} does not exist: pass --db")
    # refuse a DuckDB file that is not ours before opening it to write (which would migrate it)
    open_db(args, read_only=True).close()
    return open_db(args)


def run_list(args: argparse.Namespace) -> int:
    """Print the recorded training runs."""
    with _open(args) as db:
        runs = TrainingRunStore(db).list(kind=args.kind)
    if args.json:
        emit_json([r.to_json(curves=False) for r in runs])
        return 0
    if not runs:
        print("no training runs recorded: train with ghostcandle train, or run a session")
        return 0
    rows = [
        [r.run_id, r.kind, r.model, r.status, format_time(r.started_at), r.steps,
         _num(r.train_curve[-1][1] if r.train_curve else None),
         _num(r.val_curve[-1][1] if r.val_curve else None), r.convergence,
         _num(r.value_per_1k)]
        for r in runs
    ]  # fmt: skip
    headers = ["run", "kind", "model", "status", "started", "steps", "train_loss",
               "val_loss", "convergence", "value/1k"]  # fmt: skip
    print(table(headers, rows))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one run: its row, curves, sample value and newest steps."""
    with _open(args) as db:
        out = run_detail(db, args.run)
        run = TrainingRunStore(db).require(args.run)
    if args.json:
        emit_json(out)
        return 0
    print(_describe(run, out))
    return 0


def _describe(run: RunRow, out: dict[str, Any]) -> str:
    s = out["samples"]
    prof = s["mean_profitability"]
    lines = [
        f"run {run.run_id} ({run.kind}, {run.model}): {run.status}, {run.steps} steps from "
        f"step {run.start_step}, started {format_time(run.started_at)}",
        f"convergence {run.convergence}; value {_num(run.value_per_1k)} loss per 1k steps; "
        f"samples {s['samples']}, {s['validated']} validated, mean profitability "
        f"{_num(prof)}",
        f"train curve ({len(run.train_curve)} points): {_curve(run.train_curve)}",
        f"val curve ({len(run.val_curve)} points): {_curve(run.val_curve)}",
    ]
    rows = [
        [st["step_id"], st["source"], st["samples"], _num(st["losses"].get("loss")),
         _num(max(st["grad_norms"].values(), default=None)), st["hash_after"]]
        for st in out["last_steps"]
    ]  # fmt: skip
    if rows:
        lines.append(table(["step", "source", "samples", "loss", "max grad", "hash_after"], rows))
    return "\n".join(lines)


def _curve(points: Any) -> str:
    shown = list(points)[-6:]
    return ", ".join(f"{s}: {v:.4g}" for s, v in shown) or "none"


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.5g}"


def run_replay_step(args: argparse.Namespace) -> int:
    """Recompute a recorded step; print the one-line proof (0) or the difference (1)."""
    with _open(args) as db:
        try:
            proof = replay_step(
                db,
                args.step,
                sources={DECISIONS: decisions_source},
                store_gradients=args.store_gradients,
            )
        except ReplayMismatchError as exc:
            if args.json:
                emit_json({"step_id": args.step, "reproduced": False, "error": str(exc)})
            else:
                print(f"NOT reproduced: {exc}")
            return 1
    if args.json:
        emit_json(proof.to_json())
    else:
        print(proof.line())
    return 0
