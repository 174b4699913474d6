"""``ghostcandle backtest --symbols A,B [--ray [ADDRESS]]``: one backtest per symbol.

With ``--ray`` each symbol's backtest is a Ray task (``distributed.backtest``); without it the
symbols run one after another in this process. Each result is the one ``--symbol`` gives.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace

from ghostcandle.cli.context import open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.cli.ray_options import ray_address, symbols_of
from ghostcandle.domain.performance import BacktestResult
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.store.db import resolve_db_path


def run_backtests(
    args: argparse.Namespace,
    base: BacktestRequest,
    report: Callable[[BacktestResult], str],
) -> int:
    """Backtest ``base`` on every symbol (on Ray with ``--ray``) and print the results."""
    requests = [replace(base, symbol=s) for s in symbols_of(args)]
    if args.ray:
        from ghostcandle.distributed.backtest import backtests_on_ray

        results = backtests_on_ray(resolve_db_path(args.db), requests, ray_address(args))
    else:
        # as with --symbol: only the loop (training, candle by candle) records a session
        writes = base.train != TrainingMode.NONE or not base.batched
        with open_db(args, read_only=not writes) as db:
            svc = BacktestService(db)
            for req in requests:
                svc.check(req)  # every symbol before the first runs
            results = [svc.run(req) for req in requests]
    if args.json:
        emit_json({"ray": args.ray, "backtests": [r.to_json(curves=args.curves) for r in results]})
    else:
        print("\n\n".join(report(r) for r in results))
    return 0
