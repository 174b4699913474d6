"""``ghostcandle serve``: the trader's workspace (web UI + HTTP API) on 127.0.0.1:8050."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from ghostcandle.cli.context import add_common
from ghostcandle.store.db import resolve_db_path
from ghostcandle.web.config import DEFAULT_HOST, DEFAULT_PORT, WebConfig, is_loopback, with_token

log = logging.getLogger(__name__)
TOKEN_ENV = "GHOSTCANDLE_TOKEN"


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="serve the trader's workspace (chart, annotations, training, live, backtest)",
        description="Serve the web workspace and the HTTP API (OpenAPI schema at /docs).",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"bind address (default {DEFAULT_HOST})")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument(
        "--data-dir",
        help="where test cases (annotation_<id>.json) are written "
        "(default: test_cases/ beside the database)",
    )
    p.add_argument(
        "--token",
        help=f"access token for state-changing requests (default: ${TOKEN_ENV}; "
        "generated when binding beyond loopback)",
    )
    add_common(p)
    p.set_defaults(handler=run)


def build_config(args: argparse.Namespace) -> WebConfig:
    """Turn the arguments into a server config (a token is generated if one is needed)."""
    from ghostcandle.domain.errors import UserInputError

    if not 0 <= args.port <= 65535:
        raise UserInputError(f"--port {args.port} is not a TCP port: use 1-65535 (0: any free)")
    db_path = resolve_db_path(args.db)
    data_dir = Path(args.data_dir) if args.data_dir else db_path.parent / "test_cases"
    token = args.token or os.environ.get(TOKEN_ENV) or None
    return with_token(
        WebConfig(db_path=db_path, data_dir=data_dir, host=args.host, port=args.port, token=token)
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import uvicorn

    from ghostcandle.web.app import create_app

    config = build_config(args)
    url = f"http://{config.host}:{config.port}/"
    if not is_loopback(config.host):
        bar = "!" * 78
        log.warning(bar)
        log.warning("ghostcandle serve is bound to %s: anyone who can reach it sees it.", args.host)
        log.warning("State-changing requests need the token (header X-Ghostcandle-Token).")
        log.warning("Open the workspace as %s#token=%s", url, config.token)
        log.warning(bar)
    elif config.token:
        print(f"workspace: {url}#token={config.token}", flush=True)
    else:
        print(f"workspace: {url}  (API docs: {url}docs)", flush=True)
    uvicorn.run(
        create_app(config), host=config.host, port=config.port, log_level="warning", workers=1
    )
    return 0
