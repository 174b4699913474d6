"""``ghostcandle replay``: run the loop over stored candles with a simulated clock."""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace
from typing import Any

from ghostcandle.cli.context import add_common, model_config_json, open_db
from ghostcandle.cli.device_option import add_device_option
from ghostcandle.cli.eval_table import evaluation_table
from ghostcandle.cli.output import emit_json
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.cli.ray_options import add_ray_options
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import check_timeframe, parse_time
from ghostcandle.domain.training_modes import mode_names
from ghostcandle.engine.loop.config import DEFAULT_BASELINES, SessionConfig
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.engine.training.start_checkpoint import StartCheckpoint, load_start_checkpoint
from ghostcandle.models.registry import baseline_names
from ghostcandle.store.db import Database


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "replay",
        help="run the predict -> resolve -> train loop over stored candles",
        description=(
            "Replay stored candles as live: predict the next candle at every close, resolve, "
            "train in MODE, and report models beside baselines. Run it again with the same "
            "--session to resume a replay that was stopped."
        ),
    )
    p.add_argument("--symbol", action="append", help="repeat for several (one session)")
    p.add_argument("--from", dest="start", required=True, help="epoch ms or ISO time")
    p.add_argument("--to", dest="end", required=True, help="epoch ms or ISO time")
    p.add_argument("--model", required=True, help="transformer, cnn, persistence, drift, ...")
    p.add_argument("--mode", default="none", choices=mode_names())
    p.add_argument("--speed", default="max", help="max (default) or a multiple of real time")
    p.add_argument(
        "--timeframes", help="comma list the model reads and predicts (default: the model's)"
    )
    p.add_argument("--window", action="append", default=[], help="TF=N window length, repeatable")
    p.add_argument("--model-config", default="{}", help="extra model settings as JSON")
    p.add_argument("--session", help="session id (default: derived from the arguments)")
    p.add_argument("--checkpoint-every", type=int, default=50, help="training steps")
    p.add_argument("--flush-every", type=int, default=500, help="events between ledger writes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--checkpoint",
        default="fresh",
        metavar="fresh|annotations|NAME",
        help="start a new session from the model's annotation-trained checkpoint or the "
        "checkpoint NAME of `ghostcandle train --name NAME` (its model config is used)",
    )
    p.add_argument("--no-pivots", action="store_true", help="do not compute market structure")
    p.add_argument(
        "--baselines",
        metavar="B1,B2",
        help=f"comma list of baselines scored beside the model (default: "
        f"{','.join(DEFAULT_BASELINES)})",
    )
    add_ray_options(p)
    add_common(p)
    add_device_option(p)
    p.set_defaults(handler=run)


def _baselines(text: str | None) -> tuple[str, ...]:
    """Return the baselines ``--baselines`` names (the default without it); refuse unknown ones."""
    if text is None:
        return DEFAULT_BASELINES
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    known = baseline_names(depth=True)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        what = f"unknown baseline {', '.join(unknown)}" if unknown else "no baseline named"
        raise UserInputError(
            f"--baselines {text!r}: {what}: give a comma list of {', '.join(known)}"
        )
    return names


def _config(args: argparse.Namespace, start: int, end: int) -> SessionConfig:
    extra = model_config_json(args.model_config)
    model_config: dict[str, Any] = {"seed": args.seed, **extra}
    if args.timeframes:
        model_config["timeframes"] = [
            check_timeframe(t.strip()) for t in args.timeframes.split(",")
        ]
    windows = {}
    for item in args.window:
        tf, _, n = item.partition("=")
        if not n.isdigit():
            raise UserInputError(f"--window {item!r}: write it as TF=N, e.g. 1m=120")
        windows[check_timeframe(tf)] = int(n)
    if windows:
        model_config["windows"] = windows
    symbols = tuple(normalise_symbol(s) for s in args.symbol)
    baselines = _baselines(args.baselines)
    session = args.session or (
        f"replay-{args.model}-{args.mode}-{'-'.join(s.replace('/', '') for s in symbols)}"
        f"-{start}-{end}"
    )
    if baselines != DEFAULT_BASELINES and not args.session:
        # other baselines are another session: running it must not resume the default one
        session += "-b" + hashlib.sha256(",".join(baselines).encode()).hexdigest()[:8]
    return SessionConfig(
        session_id=session,
        model=args.model,
        model_config=model_config,
        symbols=symbols,
        mode=args.mode,
        baselines=baselines,
        flush_every=args.flush_every,
        checkpoint_every=args.checkpoint_every,
        synchronous_training=True,
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> int:
    """Run the replay and print its summary."""
    start, end = parse_time(args.start), parse_time(args.end)
    if args.ray or args.symbols:
        from ghostcandle.cli.replay_ray import run_replays

        return run_replays(args, _config, start, end)
    if not args.symbol:
        raise UserInputError("name the symbols: --symbol S (repeat for one session of several)")
    speed = None if args.speed == "max" else float(args.speed)
    config = _config(args, start, end)
    with (
        open_db(args) as db,
        progress_bar("replay", enabled=wants_progress(args.json)) as bar,
    ):
        begin = _start_checkpoint(args, db, start)
        if begin is not None:
            config = replace(
                config,
                model_config=dict(begin.config),
                session_id=args.session or f"{config.session_id}-ckpt-{begin.info.sha256[:10]}",
            )
        # the number of events is known only to the session: the bar counts without a total
        summary = run_replay(
            db,
            ReplayRequest(
                config, start, end, speed=speed, pivots=not args.no_pivots, start_from=begin
            ),
            on_event=bar.update if bar.drawn else None,
            on_summary=lambda n: bar.update(n, n, detail="evaluating the session"),
        )
        bar.update(summary["events"], summary["events"])
    if args.json:
        emit_json(summary)
        return 0
    print(
        f"session {summary['session_id']}: {summary['events']} candles, "
        f"{summary['predictions']} predictions ({summary['resolved']} resolved, "
        f"{summary['expired']} expired, {summary['pending']} pending), "
        f"{summary['train_steps']} training steps, {summary['candles_per_s']} candles/s"
    )
    print(evaluation_table(summary["evaluation"]))
    return 0


def _start_checkpoint(args: argparse.Namespace, db: Database, start: int) -> StartCheckpoint | None:
    """Load the checkpoint ``--checkpoint`` names; refuse explicit settings that differ."""
    explicit = model_config_json(args.model_config)
    if args.timeframes or args.window:
        given = _config(args, start, start + 1).model_config
        explicit.update({k: given[k] for k in ("timeframes", "windows") if k in given})
    return load_start_checkpoint(
        db.path, ReplayClock(start), args.model, args.checkpoint, explicit or None
    )
