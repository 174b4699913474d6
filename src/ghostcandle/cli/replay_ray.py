"""``ghostcandle replay --symbols A,B [--ray [ADDRESS]]``: one replay session per symbol.

Each symbol is the session ``replay --symbol S`` runs; with ``--ray`` each is a Ray task on a
database of its own, merged into this one in one transaction (``distributed.replay``), without
it they run one after another here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ghostcandle.cli.context import open_db
from ghostcandle.cli.eval_table import evaluation_table
from ghostcandle.cli.output import emit_json
from ghostcandle.cli.ray_options import ray_address
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.store.db import resolve_db_path


def run_replays(
    args: argparse.Namespace,
    config_of: Callable[[argparse.Namespace, int, int], SessionConfig],
    start: int,
    end: int,
) -> int:
    """Replay every symbol as its own session (on Ray with ``--ray``) and print them."""
    names = [*(args.symbol or []), *(args.symbols or "").split(",")]
    symbols = list(dict.fromkeys(normalise_symbol(s) for s in names if s.strip()))
    if not symbols:
        raise UserInputError("name the symbols: --symbols BTC/USDT,ETH/USDT")
    if args.session or args.checkpoint != "fresh" or args.speed != "max":
        raise UserInputError(
            "--ray and --symbols replay each symbol as its own fresh session as fast as "
            "possible: drop --session, --checkpoint and --speed"
        )
    requests = [
        ReplayRequest(
            config_of(argparse.Namespace(**{**vars(args), "symbol": [s]}), start, end),
            start,
            end,
            pivots=not args.no_pivots,
        )
        for s in symbols
    ]
    summaries: list[dict[str, Any]]
    if args.ray:
        from ghostcandle.distributed.replay import replays_on_ray

        summaries = replays_on_ray(resolve_db_path(args.db), requests, ray_address(args))
    else:
        with open_db(args) as db:
            summaries = [run_replay(db, r) for r in requests]
    if args.json:
        emit_json({"ray": args.ray, "replays": summaries})
        return 0
    for s in summaries:
        print(
            f"session {s['session_id']}: {s['events']} candles, {s['predictions']} predictions "
            f"({s['resolved']} resolved, {s['expired']} expired, {s['pending']} pending), "
            f"{s['train_steps']} training steps"
        )
        print(evaluation_table(s["evaluation"]) + "\n")
    return 0
