"""``ghostcandle train --walk-forward ... --symbols A,B [--ray [ADDRESS]]``: several symbols.

With ``--ray`` every (symbol, fold) is one Ray task (``distributed.walk_forward``) and the
records are written together once all succeeded; without it the symbols run one after another,
each as ``--symbol`` would.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from functools import partial

from ghostcandle.cli.context import open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.cli.ray_options import ray_address, symbols_of
from ghostcandle.cli.train_offline import _checked, _walk_forward_report, request_of
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.walk_forward import PlannedFold, WalkForwardSpec, parse_walk_forward
from ghostcandle.store.db import resolve_db_path


def wants_several(args: argparse.Namespace) -> bool:
    """Tell whether the arguments ask for ``--ray`` or ``--symbols``."""
    return bool(args.ray or args.symbols)


def run_walk_forwards(args: argparse.Namespace) -> int:
    """Run the walk-forward of every symbol (on Ray with ``--ray``) and print them."""
    if not args.walk_forward:
        raise UserInputError("--ray and --symbols apply to --walk-forward: add it")
    symbols = symbols_of(args)
    base = request_of(replace_symbol(args, symbols[0]))
    requests = [replace(base, symbol=s) for s in symbols]
    spec = parse_walk_forward(args.walk_forward)
    t0 = time.perf_counter()
    if args.ray:
        from ghostcandle.distributed.walk_forward import walk_forward_on_ray

        path = resolve_db_path(args.db)
        with progress_bar("walk-forward on ray", enabled=wants_progress(args.json)) as bar:
            done = [0]

            def on_fold(label: str) -> None:
                done[0] += 1
                bar.update(done[0], detail=f"{label} done")

            runs = walk_forward_on_ray(path, requests, spec, ray_address(args), on_fold=on_fold)
        out = [(r.symbol, r.result, r.record) for r in runs]
    else:
        plans = [_checked(args, partial(_plan, req=r, spec=spec)) for r in requests]
        out = []
        with open_db(args) as db:
            svc = OfflineTrainingService(db, LiveClock())
            for req, planned in zip(requests, plans, strict=True):
                result, record = svc.walk_forward(req, spec, planned=planned)
                out.append((req.symbol, result, record))
    wall = time.perf_counter() - t0
    if args.json:
        emit_json(
            {
                "ray": args.ray,
                "duration_s": round(wall, 3),
                "symbols": [
                    {"symbol": s, "run_id": rec.run_id, **res.to_json()} for s, res, rec in out
                ],
            }
        )
        return 0
    for s, res, rec in out:
        print(f"{s} (run {rec.run_id}): " + _walk_forward_report(res, base.model) + "\n")
    where = f"on ray ({args.ray})" if args.ray else "one after another"
    print(f"{len(out)} walk-forwards {where} in {wall:.1f}s")
    return 0


def _plan(
    svc: OfflineTrainingService, *, req: OfflineRequest, spec: WalkForwardSpec
) -> tuple[DecisionDataset, list[PlannedFold]]:
    return svc.plan_walk_forward(req, spec)


def replace_symbol(args: argparse.Namespace, symbol: str) -> argparse.Namespace:
    """Return the arguments with ``--symbol`` set to ``symbol``."""
    return argparse.Namespace(**{**vars(args), "symbol": symbol, "symbols": None})
