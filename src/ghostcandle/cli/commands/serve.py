"""``ghostcandle serve``: the trader's workspace (web UI + HTTP API) on 127.0.0.1:8050."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from ghostcandle.cli.context import add_common
from ghostcandle.cli.heap import compact_heap
from ghostcandle.cli.ray_options import LOCAL
from ghostcandle.distributed.live_cluster import LiveClusterConfig, parse_groups
from ghostcandle.domain.training_modes import mode_names
from ghostcandle.engine.runtime import ExchangeConfig, LiveRequest
from ghostcandle.feeds.config import DEPTH_MODES
from ghostcandle.store.db import Database, resolve_db_path
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
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to this host name (repeatable; default: only "
        "localhost, 127.0.0.1, [::1] and --host; other names are refused against DNS rebinding)",
    )
    g = p.add_argument_group("live feed (off unless --exchange-url is given)")
    g.add_argument(
        "--exchange-url",
        help="REST base URL of a Binance-compatible exchange (https://api.binance.com, or the "
        "URL `ghostcandle exchange-sim` prints)",
    )
    g.add_argument(
        "--ws-url",
        help="WebSocket base URL (default: the --exchange-url host with ws:// or wss://)",
    )
    g.add_argument(
        "--synthetic",
        action="store_true",
        help="the exchange is the simulator: label its market SYNTHETIC in the workspace",
    )
    g.add_argument("--symbols", default="ETH/USDT", help="comma-separated (default ETH/USDT)")
    g.add_argument("--intervals", default="1s,1m,1h,1d", help="streamed intervals")
    g.add_argument(
        "--depth",
        choices=("off", *DEPTH_MODES),
        default="off",
        help="record the order book too: 'depth20' (partial book stream) or 'diff' (a local "
        "book from diffs and REST snapshots; see `ghostcandle live --depth`); default off",
    )
    g.add_argument(
        "--live-mode",
        choices=mode_names(),
        help="start live inference at once in this training mode (default: start from the page)",
    )
    g.add_argument(
        "--warm-start",
        action="store_true",
        help="with --live-mode: first train the live model offline on the history the feed "
        "loaded (progress in the log), then start live from that checkpoint",
    )
    r = p.add_argument_group("live groups on Ray (off unless --ray is given)")
    r.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        metavar="ADDRESS",
        help="run each symbol group's feed and live session in a Ray actor with its own "
        "database (<db>.actors/); no value = a local Ray, auto = the running cluster, or "
        "HOST:PORT; needs --exchange-url",
    )
    r.add_argument(
        "--groups",
        metavar="'A,B;C'",
        help="with --ray: the symbol groups, ';' between groups (default: one per --symbols)",
    )
    add_common(p)
    p.set_defaults(handler=run)


def exchange_config(args: argparse.Namespace) -> ExchangeConfig | None:
    """Return the live feed's settings from the options, or None without --exchange-url."""
    from ghostcandle.domain.errors import UserInputError
    from ghostcandle.domain.symbols import normalise_symbol
    from ghostcandle.domain.timeframes import check_timeframe

    url = getattr(args, "exchange_url", None)
    if not url:
        if getattr(args, "live_mode", None):
            raise UserInputError("--live-mode needs a feed: give --exchange-url too")
        return None
    if not url.startswith(("http://", "https://")):
        raise UserInputError(f"--exchange-url {url}: give an http:// or https:// base URL")
    ws_url = args.ws_url or "ws" + url[len("http") :]
    symbols = tuple(normalise_symbol(s) for s in args.symbols.split(",") if s.strip())
    intervals = tuple(check_timeframe(i.strip()) for i in args.intervals.split(",") if i.strip())
    if not symbols or not intervals:
        raise UserInputError("give at least one --symbols and one --intervals value")
    return ExchangeConfig(
        rest_url=url.rstrip("/"),
        ws_url=ws_url.rstrip("/"),
        name="simulator" if args.synthetic else "binance",
        synthetic=bool(args.synthetic),
        symbols=symbols,
        intervals=intervals,
        depth=getattr(args, "depth", "off"),
    )


def build_config(args: argparse.Namespace) -> WebConfig:
    """Turn the arguments into a server config (a token is generated if one is needed)."""
    from ghostcandle.domain.errors import UserInputError

    if not 0 <= args.port <= 65535:
        raise UserInputError(f"--port {args.port} is not a TCP port: use 1-65535 (0: any free)")
    db_path = resolve_db_path(args.db)
    data_dir = Path(args.data_dir) if args.data_dir else db_path.parent / "test_cases"
    token = args.token or os.environ.get(TOKEN_ENV) or None
    exchange = exchange_config(args)
    live = None
    if exchange is not None and getattr(args, "live_mode", None):
        live = LiveRequest(symbol=exchange.symbols[0], mode=args.live_mode)
    warm = bool(getattr(args, "warm_start", False))
    if warm and live is None:
        raise UserInputError("--warm-start trains the live model: give --live-mode too")
    cluster = cluster_config(args, exchange)
    if cluster is not None:
        exchange = None  # the actors run the feeds
    return with_token(
        WebConfig(
            db_path=db_path,
            data_dir=data_dir,
            host=args.host,
            port=args.port,
            token=token,
            exchange=exchange,
            live=live,
            warm_start=warm,
            allowed_hosts=tuple(_host_names(args.allowed_host)),
            cluster=cluster,
        )
    )


def cluster_config(
    args: argparse.Namespace, exchange: ExchangeConfig | None
) -> LiveClusterConfig | None:
    """Return the live groups on Ray of ``--ray``/``--groups``, or None without ``--ray``."""
    from dataclasses import replace

    from ghostcandle.domain.errors import UserInputError

    ray = getattr(args, "ray", None)
    groups_text = getattr(args, "groups", None)
    if ray is None:
        if groups_text is not None:
            raise UserInputError("--groups places symbol groups on Ray actors: give --ray too")
        return None
    if exchange is None:
        raise UserInputError("--ray runs each group's feed in an actor: give --exchange-url too")
    if getattr(args, "live_mode", None):
        raise UserInputError(
            "--live-mode does not apply with --ray: start each group's session from the "
            "workspace or POST /api/cluster/GROUP/start"
        )
    groups = parse_groups(groups_text, exchange.symbols)
    symbols = tuple(s for g in groups for s in g)
    return LiveClusterConfig(
        address=None if ray == LOCAL else str(ray),
        groups=groups,
        exchange=replace(exchange, symbols=symbols),
    )


def _host_names(values: list[str]) -> list[str]:
    """Return the --allowed-host names, refusing one that is not a bare host name."""
    from ghostcandle.domain.errors import UserInputError

    names = []
    for raw in values:
        name = raw.strip()
        if not name or any(c in name for c in "/ @?#") or len(name) > 253:
            raise UserInputError(
                f"--allowed-host {raw[:80]!r}: give a host name or address without scheme, "
                "port or path (e.g. --allowed-host ghostcandle.lan)"
            )
        names.append(name)
    return names


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    import uvicorn

    compact_heap()  # before the server's threads: a long run's C heap stays compact

    from ghostcandle.web.app import create_app

    config = build_config(args)
    if config.cluster is not None:  # before anything is written: an address that is not there
        from ghostcandle.distributed.cluster import check_reachable

        check_reachable(config.cluster.address)
    # the app opens the database in the server's startup, where a failure is the server's
    # traceback: open it once here first, so a database another process holds is one line
    Database(config.db_path).close()
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
    if config.exchange is not None:
        print(f"feed:      {config.exchange.label()}", flush=True)
    if config.cluster is not None:
        names = "; ".join(", ".join(g) for g in config.cluster.groups)
        where = config.cluster.address or "a local Ray"
        print(f"ray:       live groups {names} as actors on {where}", flush=True)
        print(f"feed:      {config.cluster.exchange.label()}", flush=True)
    if config.live is not None:
        first = ", after training on the feed's history (see the log)" if config.warm_start else ""
        print(f"live:      {config.live.mode} mode on {config.live.symbol}{first}", flush=True)
    uvicorn.run(
        create_app(config), host=config.host, port=config.port, log_level="warning", workers=1
    )
    return 0
