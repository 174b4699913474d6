"""``ghostcandle backtest``: replay the loop over stored candles with a simulated broker."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.backtest_ray import run_backtests
from ghostcandle.cli.context import add_common, model_config_json, open_db
from ghostcandle.cli.device_option import add_device_option
from ghostcandle.cli.heap import keep_freed_heap
from ghostcandle.cli.output import emit_json, table
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.cli.ray_options import add_ray_options, symbols_of
from ghostcandle.domain.broker import DEFAULT_EQUITY, DEFAULT_FEE_BPS, FILLS, HOLDS, BrokerConfig
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import check_timeframe, format_time, parse_time
from ghostcandle.domain.training_modes import TrainingMode, mode_names
from ghostcandle.engine.trading.backtest import TRAIN_MODES, BacktestRequest, BacktestResult


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "backtest",
        help="backtest a model (or your annotations) over stored candles",
        description=(
            "Replay the loop over the stored candles of one series closing in (FROM, TO], trade "
            "the model's actions through a simulated broker, and report the figures beside "
            "buy-and-hold. Without --train predictions are batched (same result as candle by "
            "candle); with --train the model learns during the backtest, candle by candle."
        ),
    )
    p.add_argument("--model", help="model family: transformer, cnn, persistence, drift, ...")
    p.add_argument(
        "--annotations",
        action="store_true",
        help="backtest your annotations of the series instead of a model",
    )
    p.add_argument("--symbol", help="the series' symbol (or --symbols A,B,... for several)")
    p.add_argument("--timeframe", required=True)
    p.add_argument("--from", dest="start", required=True, help="epoch ms or ISO time")
    p.add_argument("--to", dest="end", required=True, help="epoch ms or ISO time")
    p.add_argument("--fee-bps", type=float, default=DEFAULT_FEE_BPS, help="fee per fill, bps")
    p.add_argument("--slippage-bps", type=float, default=0.0)
    p.add_argument("--equity", type=float, default=DEFAULT_EQUITY, help="initial equity")
    p.add_argument("--fraction", type=float, default=1.0, help="share of equity per position")
    p.add_argument("--min-confidence", type=float, default=0.0)
    p.add_argument("--fill", choices=FILLS, default="next_open")
    p.add_argument("--long-only", action="store_true", help="SELL goes flat instead of short")
    p.add_argument(
        "--hold",
        choices=HOLDS,
        default="flat",
        help="what HOLD does: flat closes the position (default), keep leaves it open",
    )
    p.add_argument("--train", default="none", choices=mode_names(TRAIN_MODES))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-config", default="{}", help="model settings as JSON")
    p.add_argument(
        "--checkpoint",
        default="fresh",
        metavar="fresh|annotations|NAME",
        help="start from fresh seeded weights, the model's latest checkpoint of training on "
        "annotations (the workspace's training panel), or the checkpoint NAME of "
        "`ghostcandle train --name NAME`; the checkpoint's model config is used",
    )
    p.add_argument(
        "--candle-by-candle",
        action="store_true",
        help="run the loop candle by candle even without training (slower, same result)",
    )
    p.add_argument("--curves", action="store_true", help="with --json, add the equity curves")
    add_ray_options(p)
    add_common(p)
    add_device_option(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the backtest and print its figures."""
    from ghostcandle.engine.trading.annotation_strategy import backtest_annotations
    from ghostcandle.engine.trading.backtest import BacktestService

    if bool(args.model) == bool(args.annotations):
        raise UserInputError("give either --model M or --annotations (one of them)")
    several = bool(args.ray or args.symbols)
    if several and args.annotations:
        raise UserInputError("--ray and --symbols backtest a model: drop --annotations")
    symbol = symbols_of(args)[0]
    tf = check_timeframe(args.timeframe)
    start, end = parse_time(args.start), parse_time(args.end)
    broker = BrokerConfig(
        initial_equity=args.equity,
        fee_bps=args.fee_bps,
        slippage_bps=args.slippage_bps,
        position_fraction=args.fraction,
        min_confidence=args.min_confidence,
        fill=args.fill,
        allow_short=not args.long_only,
        hold=args.hold,
    )
    extra = model_config_json(args.model_config)
    if several:
        return run_backtests(args, _request(args, symbol, tf, start, end, broker, extra), _report)
    # a one-shot process: keep the freed batches' pages for the next batches (cli/heap.py)
    keep_freed_heap()
    # a backtest only reads, unless the loop runs (it records its session and predictions)
    writes = bool(args.model) and (args.train != TrainingMode.NONE or args.candle_by_candle)
    with open_db(args, read_only=not writes) as db:
        if args.annotations:
            result = backtest_annotations(db, symbol, tf, start, end, broker)
        else:
            req = _request(args, symbol, tf, start, end, broker, extra)
            with progress_bar("backtest", enabled=wants_progress(args.json)) as bar:
                result = BacktestService(db).run(req, progress=bar if bar.drawn else None)
    if args.json:
        emit_json(result.to_json(curves=args.curves))
    else:
        print(_report(result))
    return 0


def _request(
    args: argparse.Namespace,
    symbol: str,
    tf: str,
    start: int,
    end: int,
    broker: BrokerConfig,
    extra: dict[str, Any],
) -> BacktestRequest:
    return BacktestRequest(
        model=args.model,
        symbol=symbol,
        timeframe=tf,
        start=start,
        end=end,
        model_config=extra,
        train=TrainingMode(args.train),
        seed=args.seed,
        broker=broker,
        batched=not args.candle_by_candle,
        start_from=args.checkpoint,
    )


def _report(r: BacktestResult) -> str:
    names = (
        "trades",
        "win_rate",
        "pnl",
        "return_pct",
        "max_drawdown_pct",
        "sharpe",
        "profit_factor",
        "exposure_pct",
        "fees",
    )
    mine, bh = r.performance.to_json(), r.buy_and_hold.to_json()
    rows = [[n, _cell(mine[n]), _cell(bh[n])] for n in names]
    head = (
        f"{r.strategy} on {r.symbol} {r.timeframe}, {format_time(r.start)} .. "
        f"{format_time(r.end)}: {r.candles} candles, {r.signals} signals ({r.engine}, "
        f"{r.candles_per_s:.0f} candles/s)"
    )
    return head + "\n" + table(["figure", "strategy", "buy_and_hold"], rows)


def _cell(v: Any) -> Any:
    return "n/a" if v is None else (round(v, 6) if isinstance(v, float) else v)
