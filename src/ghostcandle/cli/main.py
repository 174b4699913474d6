"""Entry point: ``ghostcandle <command> [options]``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ghostcandle import __version__
from ghostcandle.cli.commands import COMMANDS
from ghostcandle.cli.device_option import apply_device
from ghostcandle.domain.errors import GhostcandleError


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="ghostcandle",
        description="Event-driven inference -> resolution -> training loop for market models.",
    )
    parser.add_argument("--version", action="version", version=f"ghostcandle {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ghostcandle.cli.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        # client libraries log every request at INFO: keep the operator's log readable
        for noisy in ("httpx", "httpcore", "websockets", "uvicorn.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        apply_device(args)
        status: int = args.handler(args)
    except GhostcandleError as exc:
        # one line, always: a message quoting a library's error may carry its line breaks
        sys.stderr.write(f"ghostcandle {args.command}: error: {' '.join(str(exc).split())}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
