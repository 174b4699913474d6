"""``ghostcandle train --symbols A,B --ray [ADDRESS] --workers N``: one model, many symbols.

A fit (no ``--walk-forward``) on the union of the symbols' decisions, trained across ``N``
Ray Train workers with torch DDP (``distributed.train``), written as one named checkpoint and
one recorded run; printed beside the same union fitted in this process (samples/s, wall time,
final losses, skill against the strongest baseline on the validation split).
"""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.output import emit_json, table
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.cli.ray_options import ray_address, symbols_of
from ghostcandle.cli.train_offline import request_of
from ghostcandle.cli.train_ray import replace_symbol
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.store.db import resolve_db_path


def run_ray_fit(args: argparse.Namespace) -> int:
    """Train across workers, write the checkpoint and the run, print both fits."""
    if not args.ray:
        raise UserInputError(
            "training one model on --symbols runs across workers: add --ray (or train one "
            "--symbol at a time without it)"
        )
    symbols = symbols_of(args)
    req = request_of(replace_symbol(args, symbols[0]))
    path = resolve_db_path(args.db)
    if not path.exists():
        raise UserInputError(f"database {path} does not exist: ingest candles first or pass --db")
    from ghostcandle.distributed.train import train_on_ray

    workers = 1 if args.workers is None else args.workers
    with progress_bar("train on ray", enabled=wants_progress(args.json)) as bar:
        result = train_on_ray(
            path, req, symbols, ray_address(args), workers, clock=LiveClock(),
            on_stage=lambda s: bar.update(0, detail=s),
        )  # fmt: skip
    if args.json:
        emit_json(result.to_json())
        return 0
    s = result.summary
    print(
        f"{req.model} on {', '.join(result.symbols)} across {s['ddp']['workers']} worker(s): "
        f"{s['ddp']['train_samples']} decisions trained, {s['ddp']['val_samples']} validated"
    )
    print(_table(s))
    print(
        f"checkpoint {result.name} (best epoch {s['ddp']['best_epoch']}): "
        f"{result.checkpoint.path}\nrun: {result.run_id} (ghostcandle train show "
        f"{result.run_id}); start from it: --checkpoint {result.name}"
    )
    return 0


def _table(summary: dict[str, Any]) -> str:
    rows = []
    for label, key in (("ddp", "ddp"), ("one process", "single_process")):
        f = summary.get(key)
        if f is None:
            continue
        skill = f["skill"]["close_skill_vs_strongest"]
        rows.append(
            [f"{label} ({f['workers']})" if key == "ddp" else label, f["samples_per_s"],
             f["wall_s"], round(f["final_train_loss"], 6), round(f["final_val_loss"], 6),
             "-" if skill is None else round(skill, 4)]
        )  # fmt: skip
    return table(
        ["fit", "samples/s", "wall_s", "train_loss", "val_loss", "close skill vs strongest"],
        rows,
    )
