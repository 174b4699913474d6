"""``ghostcandle evaluate-cob``: the cob model's mid direction against imbalance and persistence."""

from __future__ import annotations

import argparse
from typing import Any

import torch

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.engine.evaluation.cob_direction import EPOCHS, evaluate_cob
from ghostcandle.store.depth import DepthStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "evaluate-cob",
        help="train the cob model on the first 70%% of each stored depth capture and score its "
        "mid direction at 1/5/10 s on the rest, beside the imbalance rule and persistence",
        description="Load the stored per-second books (ingest-depth or live), split every "
        "capture at 70%% of its time, train one cob model per horizon on the first part and "
        "score direction accuracy over non-zero mid moves on the second, with Wilson intervals.",
    )
    p.add_argument("--symbol", action="append", help="symbol (repeatable; default: every one)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help="training epochs (%(default)s)")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    torch.set_num_threads(1)  # the small net gains nothing from more on a shared CPU
    with open_db(args, read_only=True) as db:
        result = evaluate_cob(DepthStore(db), args.symbol, epochs=args.epochs)
    if args.json:
        emit_json(result)
        return 0
    for c in result["captures"]:
        print(
            f"{c['symbol']}: {c['seconds']} s, {c['train']} training and {c['test']} test decisions"
        )
    print("| horizon | method | moves | called | accuracy | 95% CI | p vs 50% |")
    print("| --- | --- | ---: | ---: | ---: | --- | ---: |")
    for r in result["rows"]:
        acc = "-" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        ci = "-" if r["ci95"] is None else f"{r['ci95'][0]:.3f}..{r['ci95'][1]:.3f}"
        p = "-" if r["p_vs_half"] is None else f"{r['p_vs_half']:.2g}"
        print(
            f"| {r['horizon_s']} s | {r['method']} | {r['moves']} | {r['called']} | {acc} | "
            f"{ci} | {p} |"
        )
    return 0
