"""``--ray [ADDRESS]`` and ``--symbols A,B,...``: what the commands that run on Ray share."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol

#: what a bare ``--ray`` stands for: a Ray started on this machine
LOCAL = "local"


def add_ray_options(group: Any) -> None:
    """Add ``--ray`` and ``--symbols`` to a parser or an argument group."""
    group.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run the work as Ray tasks, per symbol and fold/range: no value = a local Ray "
        "with this machine's CPUs, auto = the running cluster, or HOST:PORT",
    )
    group.add_argument(
        "--symbols",
        metavar="A,B,...",
        help="several symbols, one run each (in parallel with --ray), recorded together",
    )


def ray_address(args: argparse.Namespace) -> str | None:
    """Return the address ``ray_cluster`` takes: ``None`` for a local Ray."""
    return None if args.ray == LOCAL else str(args.ray)


def symbols_of(args: argparse.Namespace) -> list[str]:
    """Return ``--symbols`` (or the one ``--symbol``), normalised, each once; refuse both."""
    if args.symbols and args.symbol:
        raise UserInputError("give --symbol S or --symbols A,B,... (one of them)")
    text = args.symbols or args.symbol or ""
    names = list(dict.fromkeys(normalise_symbol(s.strip()) for s in text.split(",") if s.strip()))
    if not names:
        raise UserInputError("name the symbols: --symbol S, or --symbols BTC/USDT,ETH/USDT")
    return names
