"""Live sessions on Ray: one ``LiveGroupActor`` per symbol group, restarted by Ray if it dies.

``serve --ray`` opens a ``LiveCluster`` for its lifetime: it connects to Ray (``cluster``),
creates one actor per group (``max_restarts=-1``: a dead actor is constructed again and resumes
from its own files, see ``live_actor``) and answers the workspace's questions by asking the
actors. An actor that is being restarted does not answer: the cluster view says so instead of
waiting for it. Ray is imported only inside these methods.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostcandle.distributed.cluster import ray_cluster
from ghostcandle.distributed.live_actor import (
    LiveGroupActor,
    actors_folder,
    group_exchange,
    group_id,
    request_json,
)
from ghostcandle.distributed.tasks import task_error
from ghostcandle.domain.errors import DataMissingError, TemporaryError, UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.engine.runtime import ExchangeConfig, LiveRequest

log = logging.getLogger(__name__)

#: seconds the cluster view waits for an actor's status before calling it unresponsive
STATUS_TIMEOUT_S = 3.0
#: seconds a start or stop may take (a start loads the model and checks the history)
CALL_TIMEOUT_S = 120.0
#: the CPUs an actor reserves: a live group predicts once a second per timeframe (training, when
#: it learns, takes more), so a 2-core machine holds four groups
ACTOR_CPUS = 0.5


@dataclass(frozen=True)
class LiveClusterConfig:
    """Where Ray is (``None``: a local Ray), the symbol groups and their exchange."""

    address: str | None
    groups: tuple[tuple[str, ...], ...]
    exchange: ExchangeConfig


def parse_groups(text: str | None, symbols: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Return the groups of ``--groups "A,B;C"`` (one group per symbol of ``symbols`` if None).

    >>> parse_groups("eth/usdt, btc/usdt; SOL/USDT", [])
    (('ETH/USDT', 'BTC/USDT'), ('SOL/USDT',))
    >>> parse_groups(None, ["ETH/USDT", "BTC/USDT"])
    (('ETH/USDT',), ('BTC/USDT',))
    """
    if text is None:
        return tuple((s,) for s in symbols)
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for part in text.split(";"):
        group = tuple(normalise_symbol(s.strip()) for s in part.split(",") if s.strip())
        if not group:
            continue
        twice = [s for s in group if s in seen]
        if twice or len(set(group)) != len(group):
            raise UserInputError(
                f"--groups {text!r}: {(twice or list(group))[0]} is in two groups; give each "
                "symbol once, e.g. --groups 'ETH/USDT;BTC/USDT'"
            )
        seen.update(group)
        groups.append(group)
    if not groups:
        raise UserInputError(
            f"--groups {text!r}: name at least one symbol, e.g. --groups 'ETH/USDT;BTC/USDT'"
        )
    return tuple(groups)


class LiveCluster:
    """The actors of one ``serve --ray``: created on ``open``, stopped on ``close``."""

    def __init__(self, config: LiveClusterConfig, db_path: Path) -> None:
        self.config = config
        self.folder = actors_folder(db_path)
        self._stack = ExitStack()
        self.actors: dict[str, Any] = {}
        self.symbols: dict[str, tuple[str, ...]] = {}

    def open(self) -> LiveCluster:
        """Connect to Ray and create one actor per group (they come up in the background)."""
        import ray

        # Ray's driver replaces the SIGTERM handler with an exit: keep the server's, which shuts
        # down in order (closing the actors, so their sessions flush and their files are let go)
        terminate = signal.getsignal(signal.SIGTERM)
        self._stack.enter_context(ray_cluster(self.config.address))
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, terminate)
        remote = ray.remote(LiveGroupActor)
        try:
            for symbols in self.config.groups:
                gid = group_id(symbols)
                self.actors[gid] = remote.options(
                    name=f"ghostcandle-live-{gid}",
                    max_restarts=-1,
                    max_task_retries=0,  # a start or stop is not repeated on its own
                    max_concurrency=4,  # status answers while a start waits for the feed
                    num_cpus=ACTOR_CPUS,
                    scheduling_strategy="SPREAD",
                ).remote(gid, str(self.folder), group_exchange(self.config.exchange, symbols))
                self.symbols[gid] = symbols
        except BaseException:
            self.close()
            raise
        return self

    def _actor(self, group: str) -> Any:
        actor = self.actors.get(group)
        if actor is None:
            raise DataMissingError(
                f"no live group {group!r}: the groups are {', '.join(self.actors)} "
                "(GET /api/cluster)"
            )
        return actor

    def _call(self, group: str, method: str, *args: Any, timeout_s: float = CALL_TIMEOUT_S) -> Any:
        """Call ``method`` of the group's actor; its errors come back as our own, one line."""
        import ray

        ref = getattr(self._actor(group), method).remote(*args)
        try:
            return ray.get(ref, timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            ray.cancel(ref)
            raise TemporaryError(
                f"group {group} did not answer within {timeout_s:.0f} s (restarting or busy): "
                "try again"
            ) from None
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            raise TemporaryError(
                f"group {group}: its actor is being restarted; try again in a few seconds"
            ) from None
        except ray.exceptions.RayError as exc:
            raise task_error(f"group {group}", exc) from None

    # -- what the workspace asks ----------------------------------------------------------------
    def status(self) -> list[dict[str, Any]]:
        """Return every actor's status; one that does not answer is listed as unresponsive."""
        import ray

        refs = {g: a.status.remote() for g, a in self.actors.items()}
        out = []
        for group, ref in refs.items():
            try:
                out.append(ray.get(ref, timeout=STATUS_TIMEOUT_S))
            except ray.exceptions.RayError as exc:
                if isinstance(exc, ray.exceptions.GetTimeoutError):
                    ray.cancel(ref)
                    why = "starting, restarting or busy"
                else:
                    why = (str(exc).strip().splitlines() or [""])[0][:200]
                out.append(
                    {
                        "group": group,
                        "symbols": list(self.symbols[group]),
                        "state": "unresponsive",
                        "error": f"{type(exc).__name__}: {why}",
                    }
                )
        return out

    def start(self, group: str, req: LiveRequest) -> dict[str, Any]:
        """Start a live session in the group's actor; return the actor's status."""
        symbols = self.symbols.get(group, ())
        self._actor(group)
        if req.symbol not in symbols:
            raise UserInputError(
                f"field 'symbol': {req.symbol} is not in group {group} ({', '.join(symbols)})"
            )
        result: dict[str, Any] = self._call(group, "start_session", request_json(req))
        return result

    def stop(self, group: str) -> dict[str, Any]:
        """Stop the group's live session; return the actor's status."""
        result: dict[str, Any] = self._call(group, "stop_session")
        return result

    def predictions(self, group: str, limit: int) -> list[dict[str, Any]]:
        """Return the group's newest committed predictions."""
        result: list[dict[str, Any]] = self._call(group, "predictions", limit, timeout_s=30)
        return result

    def ledger(self, group: str) -> dict[str, Any]:
        """Return the group's paper account and prediction counts."""
        result: dict[str, Any] = self._call(group, "ledger", timeout_s=30)
        return result

    def candles(self, group: str, symbol: str, timeframe: str, limit: int) -> list[dict[str, Any]]:
        """Return the newest closed candles of one of the group's series."""
        if symbol not in self.symbols.get(group, (symbol,)):
            raise UserInputError(
                f"field 'symbol': {symbol} is not in group {group} "
                f"({', '.join(self.symbols[group])})"
            )
        result: list[dict[str, Any]] = self._call(
            group, "candles", symbol, timeframe, limit, timeout_s=30
        )
        return result

    def close(self) -> None:
        """Close every actor (its session stops, to resume on the next start) and disconnect."""
        import ray

        refs = [a.close.remote() for a in self.actors.values()]
        for group, ref in zip(self.actors, refs, strict=True):
            try:
                ray.get(ref, timeout=CALL_TIMEOUT_S)
            except ray.exceptions.RayError as exc:
                log.warning("group %s did not close cleanly: %s", group, exc)
        for actor in self.actors.values():
            ray.kill(actor, no_restart=True)
        self.actors.clear()
        self._stack.close()
