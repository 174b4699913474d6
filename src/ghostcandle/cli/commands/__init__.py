"""Subcommands: each module defines ``register(subparsers)``.

``COMMANDS`` lists them in help order.
"""

COMMANDS: tuple[str, ...] = (
    "ingest",
    "ingest_depth",
    "candles",
    "info",
    "demo",
    "backfill",
    "exchange_sim",
    "live",
    "status",
    "serve",
    "replay",
    "evaluate",
    "evaluate_cob",
    "train",
    "samples",
    "backtest",
    "paper",
    "indicators",
    "pivots",
    "audit",
)
