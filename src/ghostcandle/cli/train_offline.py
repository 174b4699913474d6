"""``ghostcandle train`` on stored candles: a fit to a named checkpoint, a walk-forward, the list.

The handlers of the offline source of ``cli/commands/train.py``: they turn the arguments into
an ``OfflineRequest``, draw the progress (a Rich bar on a terminal only) and print the result.
Every check runs before anything is written (``engine.offline.service``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ghostcandle.cli.context import model_config_json, open_db
from ghostcandle.cli.device_option import add_device_option
from ghostcandle.cli.eval_table import evaluation_table
from ghostcandle.cli.output import emit_json, table
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.cli.ray_options import add_ray_options
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import format_time, parse_time
from ghostcandle.engine.offline.service import OfflineFit, OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import EpochResult, FitSettings
from ghostcandle.engine.offline.walk_forward import (
    FoldResult,
    PlannedFold,
    WalkForwardResult,
    parse_walk_forward,
)
from ghostcandle.engine.samples.replay import ReplayMode, ReplaySettings
from ghostcandle.store.db import resolve_db_path
from ghostcandle.store.offline_runs import OfflineRunRecord, OfflineRunStore

T = TypeVar("T")


def add_offline_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of the offline source (stored candles) to ``train``."""
    g = p.add_argument_group("offline: train on stored candles (--symbol ... --from ... --to)")
    g.add_argument("--symbol", help="train on this symbol's stored candles, e.g. ETH/USDT")
    g.add_argument("--timeframes", help="comma list, finest (predicted) first, e.g. 1m,1h")
    g.add_argument("--from", dest="start", help="first decision time: epoch ms or ISO time")
    g.add_argument("--to", dest="end", help="end of the range (exclusive): epoch ms or ISO")
    g.add_argument("--name", help="checkpoint name (default: <model>-<SYMBOL>-<from>-<to>)")
    g.add_argument("--replace", action="store_true", help="overwrite a checkpoint of that name")
    g.add_argument(
        "--walk-forward",
        help="train=30d,test=7d[,step=7d]: fixed folds, each fitted then scored on its test",
    )
    g.add_argument("--batch-size", type=int, default=256, help="decisions per step (256)")
    g.add_argument("--patience", type=int, default=3, help="epochs without a better val loss")
    g.add_argument(
        "--val-fraction", type=float, default=0.2, help="latest share validated on (0.2)"
    )
    g.add_argument("--seed", type=int, default=0, help="model init and shuffling seed")
    g.add_argument("--model-config", default="{}", help="model settings as JSON")
    g.add_argument("--list", action="store_true", help="list the recorded offline runs")
    add_ray_options(g)
    add_device_option(g)
    g.add_argument(
        "--workers",
        type=int,
        help="with --ray and no --walk-forward: train one model on the symbols across N "
        "Ray Train workers (torch DDP; default 1)",
    )
    r = p.add_argument_group(
        "replay: how each epoch draws its decisions (offline; see README, Outcomes and replay)"
    )
    r.add_argument(
        "--replay",
        choices=[m.value for m in ReplayMode],
        default=ReplayMode.UNIFORM.value,
        help="uniform (default), profitable (priority^alpha, importance-weighted), top setups",
    )
    r.add_argument(
        "--min-profitability", type=float, default=0.7, help="top: least profitability (0.7)"
    )
    r.add_argument(
        "--max-samples", type=int, help="top: at most this many; else decisions per epoch"
    )
    r.add_argument("--alpha", type=float, default=0.6, help="profitable: priority exponent")
    r.add_argument(
        "--beta", type=float, default=0.4, help="profitable: first importance exponent (-> 1)"
    )
    r.add_argument(
        "--horizon", type=int, help="outcome horizon in candles of the predicted timeframe"
    )


def wants_offline(args: argparse.Namespace) -> bool:
    """Tell whether the arguments ask for the offline source."""
    return bool(
        args.symbol or args.symbols or args.ray or args.walk_forward or args.start or args.end
        or args.timeframes
    )  # fmt: skip


def request_of(args: argparse.Namespace) -> OfflineRequest:
    """Build the request from the arguments; raise one line for a missing or bad option."""
    missing = [
        f for f, v in (("--symbol", args.symbol), ("--timeframes", args.timeframes),
                       ("--from", args.start), ("--to", args.end)) if not v
    ]  # fmt: skip
    if missing:
        raise UserInputError(f"training on stored candles needs {', '.join(missing)} as well")
    extra = model_config_json(args.model_config)
    settings = FitSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        val_fraction=args.val_fraction,
        seed=args.seed,
        replay=replay_of(args),
    ).check()
    return OfflineRequest(
        model=args.model,
        symbol=args.symbol,
        timeframes=[t.strip() for t in args.timeframes.split(",") if t.strip()],
        start=parse_time(args.start),
        end=parse_time(args.end),
        model_config=extra,
        settings=settings,
        name=args.name,
        replace=args.replace,
    )


def replay_of(args: argparse.Namespace) -> ReplaySettings | None:
    """Return the replay the arguments ask for (None: plain uniform, every decision once)."""
    mode = ReplayMode(args.replay)
    if mode is ReplayMode.UNIFORM and args.max_samples is None:
        return None
    return ReplaySettings(
        mode=mode,
        alpha=args.alpha,
        beta=args.beta,
        min_profitability=args.min_profitability,
        max_samples=args.max_samples,
        horizon=args.horizon,
    ).check()


def _checked(args: argparse.Namespace, check: Callable[[OfflineTrainingService], T]) -> T:
    """Run every check of a request on the database opened read-only: nothing is written."""
    path = resolve_db_path(args.db)
    if not path.exists():
        # opening would create an empty database: say what to do instead, write nothing
        raise UserInputError(f"database {path} does not exist: ingest candles first or pass --db")
    with open_db(args, read_only=True) as db:
        return check(OfflineTrainingService(db, LiveClock()))


def run_offline(args: argparse.Namespace) -> int:
    """Fit (or walk forward) on stored candles and print the result."""
    if args.workers is not None and (not args.ray or args.walk_forward):
        raise UserInputError(
            "--workers N trains one model across Ray workers: add --ray, drop --walk-forward"
        )
    if (args.ray or args.symbols) and not args.walk_forward:
        from ghostcandle.cli.train_ray_fit import run_ray_fit

        return run_ray_fit(args)
    if args.ray or args.symbols:
        from ghostcandle.cli.train_ray import run_walk_forwards

        return run_walk_forwards(args)
    req = request_of(args)
    if args.walk_forward:
        return _walk_forward(args, req)
    prepared = _checked(args, lambda svc: svc.prepare(req))
    with open_db(args) as db:
        svc = OfflineTrainingService(db, LiveClock())
        with progress_bar(
            f"train {req.model}", enabled=wants_progress(args.json), total=req.settings.epochs
        ) as bar:

            def on_epoch(e: EpochResult) -> None:
                best = " *" if e.best else ""
                bar.update(e.epoch, detail=f"train {e.train_loss:.4f}  val {e.val_loss:.4f}{best}")

            result = svc.train(req, prepared=prepared, on_epoch=on_epoch)
            bar.update(req.settings.epochs)
    if args.json:
        emit_json(result.to_json())
    else:
        print(_fit_report(result))
    return 0


def _fit_report(r: OfflineFit) -> str:
    f, rec = r.fit, r.record
    rows = [
        [e.epoch, round(e.train_loss, 6), round(e.val_loss, 6), "*" if e.best else "",
         round(e.duration_s, 2)]
        for e in f.epochs
    ]  # fmt: skip
    stop = f"stopped early after {len(f.epochs)}" if f.stopped_early else f"{len(f.epochs)}"
    return (
        f"{rec.model} on {rec.symbol} {', '.join(rec.timeframes)}, "
        f"{format_time(rec.range_start)} .. {format_time(rec.range_end)}: {f.train_samples} "
        f"decisions trained, {f.val_samples} validated (from {format_time(f.split_time)}); "
        f"{stop} epochs, {f.samples_per_s:.0f} samples/s\n"
        + _replay_line(f.replay)
        + table(["epoch", "train_loss", "val_loss", "best", "duration_s"], rows)
        + f"\ncheckpoint {rec.name} (best epoch {f.best_epoch}): {r.checkpoint.path}\n"
        f"start from it: --checkpoint {rec.name} (replay, backtest) or start_from "
        f'"{rec.name}" (web)'
    )


def _replay_line(replay: dict[str, Any] | None) -> str:
    if not replay:
        return ""
    if replay.get("kind") == "dqn_episodes":
        per = replay["per"]
        return (
            f"dqn episodes: {replay['acted_steps']} steps acted, {replay['steps']} training "
            f"steps of {replay['batch_size']} ({replay['failed_steps']} discarded), epsilon "
            f"{replay['epsilon_start']} -> {replay['epsilon_end']}, prioritised replay of "
            f"{replay['experiences']} experiences (alpha {per['alpha']}, beta {per['beta']} -> 1, "
            f"profit mix {per['mix']}), mean reward {replay['mean_train_reward']}\n"
        )
    if "eligible" not in replay:
        return f"replay {replay['mode']}: {replay['max_samples']} decisions per epoch\n"
    return (
        f"replay {replay['mode']}: {replay['eligible']} of {replay['train_candidates']} "
        f"decisions eligible (outcomes over {replay['horizon']} candles known by "
        f"{format_time(replay['as_of'])}), mean profitability {replay['mean_profitability']}, "
        f"{replay['rapid_moves']} rapid moves\n"
    )


def _walk_forward(args: argparse.Namespace, req: OfflineRequest) -> int:
    spec = parse_walk_forward(args.walk_forward)
    data, planned = _checked(args, lambda svc: svc.plan_walk_forward(req, spec))
    with open_db(args) as db:
        svc = OfflineTrainingService(db, LiveClock())
        total = len(planned) * req.settings.epochs
        with progress_bar(
            f"walk-forward {req.model}", enabled=wants_progress(args.json), total=total
        ) as bar:

            def on_folds(folds: Sequence[PlannedFold]) -> None:
                if not args.json:
                    print(_folds_table(folds), flush=True)

            def on_epoch(fold: int, e: EpochResult) -> None:
                done = (fold - 1) * req.settings.epochs + e.epoch
                bar.update(done, detail=f"fold {fold}/{len(planned)} val {e.val_loss:.4f}")

            def on_fold(f: FoldResult) -> None:
                bar.update(f.planned.fold.index * req.settings.epochs)

            result, record = svc.walk_forward(
                req,
                spec,
                on_folds=on_folds,
                on_epoch=on_epoch,
                on_fold=on_fold,
                planned=(data, planned),
            )
    if args.json:
        emit_json({"run_id": record.run_id, **result.to_json()})
    else:
        print(_walk_forward_report(result, req.model))
    return 0


def _folds_table(folds: Sequence[PlannedFold]) -> str:
    rows = [
        [p.fold.index, f"{format_time(p.fold.train_start)} .. {format_time(p.fold.train_end)}",
         f"{format_time(p.fold.test_start)} .. {format_time(p.fold.test_end)}",
         len(p.split.train), len(p.split.val), len(p.test)]
        for p in folds
    ]  # fmt: skip
    return "folds (fixed before training):\n" + table(
        ["fold", "train", "test", "train_n", "val_n", "test_n"], rows
    )


def _walk_forward_report(r: WalkForwardResult, model: str) -> str:
    rows = []
    for f in r.folds:
        fig = f.evaluation.get(model, {}).get(f.ledger["timeframe"].iloc[0], {})
        close = fig.get("skill", {}).get("close", {})
        rows.append(
            [
                f.planned.fold.index,
                len(f.planned.test),
                f.fit.best_epoch,
                round(f.fit.best_val_loss, 5),
                _round(fig.get("mae_close")),
                _ratio(close.get("vs_persistence")),
                _ratio(close.get("vs_strongest")),
                _round((fig.get("directional") or {}).get("accuracy")),
                _round(fig.get("action_accuracy")),
            ]
        )
    head = ["fold", "test_n", "best_epoch", "val_loss", "mae_close", "close/pers", "close/best",
            "dir_acc", "action_acc"]  # fmt: skip
    return (
        f"walk-forward of {model}: {len(r.folds)} folds in {r.duration_s:.1f}s\n"
        + table(head, rows)
        + "\n\naggregate over every fold's test window:\n"
        + evaluation_table(r.aggregate)
    )


def _round(v: Any) -> Any:
    return "-" if v is None else round(float(v), 4)


def _ratio(c: dict[str, Any] | None) -> Any:
    return "-" if not c or c.get("skill") is None else round(float(c["skill"]), 4)


def list_runs(args: argparse.Namespace) -> int:
    """Print the recorded offline runs."""
    path = resolve_db_path(args.db)
    if not path.exists():
        raise UserInputError(f"database {path} does not exist: pass --db")
    with open_db(args, read_only=True) as db:
        runs = OfflineRunStore(db).list()
    if args.json:
        emit_json([r.to_json() for r in runs])
        return 0
    print(_runs_table(runs) if runs else "no offline runs recorded: run ghostcandle train first")
    return 0


def _runs_table(runs: Sequence[OfflineRunRecord]) -> str:
    rows = [
        [r.run_id, r.kind, r.name or "", r.model, r.symbol, ",".join(r.timeframes),
         f"{format_time(r.range_start)} .. {format_time(r.range_end)}", r.epochs_run,
         r.best_epoch if r.best_epoch is not None else "",
         round(r.val_losses[r.best_epoch - 1], 5) if r.best_epoch else "", r.checkpoint or ""]
        for r in runs
    ]  # fmt: skip
    return table(
        ["run", "kind", "name", "model", "symbol", "tfs", "range", "epochs", "best", "val_loss",
         "checkpoint"],
        rows,
    )  # fmt: skip
