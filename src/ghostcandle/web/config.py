"""The web server's settings: where it binds, which database it owns, and its access token."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from ghostcandle.distributed.live_cluster import LiveClusterConfig
from ghostcandle.engine.runtime import ExchangeConfig, LiveRequest

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    """Settings of one workspace server.

    ``data_dir`` receives the annotations' test cases (``annotation_<id>.json``).
    ``token`` guards state-changing requests; it is required whenever ``host`` is not loopback.
    ``exchange`` connects the live feed (Binance or the exchange simulator); ``live`` starts
    live inference as soon as the server is up (the demo), from a model first trained offline
    on the feed's history if ``warm_start``.
    """

    db_path: Path
    data_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    exchange: ExchangeConfig | None = None
    live: LiveRequest | None = None
    #: train the live model on the feed's history before ``live`` starts (the demo)
    warm_start: bool = False
    #: host names served besides the loopback names and ``host`` (``--allowed-host``)
    allowed_hosts: tuple[str, ...] = ()
    #: ``--ray``: each symbol group's feed and live session runs in a Ray actor (``exchange``
    #: is then None: this process runs no feed of its own)
    cluster: LiveClusterConfig | None = None

    @property
    def needs_token(self) -> bool:
        """Tell whether state-changing requests must carry the token."""
        return self.token is not None or not is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_token(config: WebConfig) -> WebConfig:
    """Return ``config`` with a fresh random token if it needs one and has none."""
    if config.needs_token and config.token is None:
        return replace(config, token=secrets.token_urlsafe(24))
    return config
