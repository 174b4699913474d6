"""One symbol group's feed and live session in a Ray actor, on a DuckDB file of its own.

``LiveGroupActor`` holds the ordinary serving composition (``engine.runtime.Runtime``: the
exchange feed of its symbols, market structure, at most one live session trading on paper) over
``<group>.duckdb`` in the actors' folder beside the main database; its checkpoints go beside that
file as for any database. What it must remember across a crash is on disk: the database (candles,
ledger, session progress and the checkpoint it names, paper account) and ``<group>.live.json``,
the live request of the session it runs, written before the session starts and removed when it
is stopped. Ray restarts an actor whose process died (``max_restarts=-1``) by constructing it
again with the same arguments: it reopens its file, reconnects the feed (which fetches the candles
it missed over REST) and, if the request file is there, starts the same session again, which
resumes from its committed progress, checkpoint and paper account (same session id).

The class is plain Python: ``live_cluster`` makes it a Ray actor, so importing this module does
not import Ray (only ``status`` asks Ray which node runs it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import (
    GhostcandleError,
    IllegalTransitionError,
    OperationalError,
)
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.runtime import ExchangeConfig, LiveRequest, Runtime
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

log = logging.getLogger(__name__)

#: how long a (re)started actor waits for its feed's history before it resumes its session
FEED_WAIT_S = 60.0


def group_id(symbols: Sequence[str]) -> str:
    """Return the name of a symbol group in URLs and file names.

    >>> group_id(["ETH/USDT", "BTC/USDT"])
    'ETH-USDT+BTC-USDT'
    """
    return "+".join(re.sub(r"[^A-Za-z0-9_.-]", "-", s) for s in symbols)


def actors_folder(db_path: Path) -> Path:
    """Return the folder of the actors' databases beside the main one (``<db>.actors``)."""
    return db_path.with_name(db_path.name + ".actors")


def request_json(req: LiveRequest) -> dict[str, Any]:
    """Return ``req`` as JSON (what the request file holds)."""
    out = asdict(req)
    out["mode"] = str(req.mode)
    out["model_config"] = dict(req.model_config)
    out["timeframes"] = list(req.timeframes)
    return out


def request_of(data: dict[str, Any]) -> LiveRequest:
    """Return the live request stored as ``data`` (``request_json``)."""
    return LiveRequest(
        symbol=str(data["symbol"]),
        mode=TrainingMode(data.get("mode", "none")),
        model=str(data.get("model", "")),
        model_config=dict(data.get("model_config") or {}),
        start_from=str(data.get("start_from", "fresh")),
        timeframes=tuple(data.get("timeframes") or ()),
    )


class LiveGroupActor:
    """The feed and live session of one symbol group (see the module doc)."""

    def __init__(self, group: str, folder: str, exchange: ExchangeConfig) -> None:
        self.group = group
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db_path = self.folder / f"{group}.duckdb"
        self._request_file = self.folder / f"{group}.live.json"
        self.starts = self._count_start()
        self.exchange = exchange
        self.db = Database(self.db_path)
        self.runtime = Runtime(self.db, LiveClock(), exchange=exchange)
        self.error = ""
        self.ready = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._come_up, name=f"actor-{group}", daemon=True).start()

    def _count_start(self) -> int:
        """Count this construction in ``<group>.starts``; return how many there were."""
        path = self.folder / f"{self.group}.starts"
        n = int(path.read_text() or 0) + 1 if path.exists() else 1
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(n))
        os.replace(tmp, path)
        return n

    def _come_up(self) -> None:
        """Connect the feed; resume the session the request file names, if any."""
        try:
            self.runtime.start_feed(wait_s=FEED_WAIT_S)
            if self._request_file.exists():
                req = request_of(json.loads(self._request_file.read_text()))
                with self._lock:
                    self.runtime.start_live(req)
                log.info("actor %s resumed its live session on %s", self.group, req.symbol)
        except Exception as exc:  # shown in status(); the actor stays up to be asked why
            self.error = str(exc) if isinstance(exc, GhostcandleError) else f"{exc!r}"
            log.exception("actor %s did not come up", self.group)
        finally:
            self.ready.set()

    # -- sessions -------------------------------------------------------------------------------
    def start_session(self, data: dict[str, Any]) -> dict[str, Any]:
        """Start the live session ``data`` asks for (``request_json``); return ``status()``.

        The request file is written first: a process that dies once the session started
        resumes it. A start that is refused removes it again (unless a session still runs).
        """
        self._wait_ready()
        req = request_of(data)
        with self._lock:
            session = self.runtime.session
            if session is not None and not session.state.terminal:
                raise IllegalTransitionError(
                    f"group {self.group} already runs {session.config.session_id} "
                    f"({session.state}): stop it first"
                )
            had = self._request_file.exists()
            self._write_request(req)
            try:
                self.runtime.start_live(req)
            except BaseException:
                running = self.runtime.session is not None and self.runtime.session.running
                if not had and not running:
                    self._request_file.unlink(missing_ok=True)
                raise
        return self.status()

    def stop_session(self) -> dict[str, Any]:
        """Stop the live session (flushed, checkpointed); return ``status()``."""
        self._wait_ready()
        with self._lock:
            self.runtime.stop_live()
            self._request_file.unlink(missing_ok=True)
        return self.status()

    def _write_request(self, req: LiveRequest) -> None:
        tmp = self._request_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(request_json(req)))
        os.replace(tmp, self._request_file)

    def _wait_ready(self) -> None:
        if not self.ready.wait(FEED_WAIT_S + 30):
            raise OperationalError(f"group {self.group}: its feed is still connecting; try again")

    # -- reads ----------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Return where this actor runs and what its feed and session are doing."""
        import ray

        session = self.runtime.session
        st = None if session is None else session.status()
        feed = self.runtime.feed_status()
        with self.db.cursor() as cur:
            last = cur.execute(
                "SELECT symbol, timeframe, max(open_time) FROM candles GROUP BY 1, 2 ORDER BY 1, 2"
            ).fetchall()
        return {
            "group": self.group,
            "symbols": list(self.exchange.symbols),
            "node_id": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "starts": self.starts,
            "restarts": self.starts - 1,
            "ready": self.ready.is_set(),
            "error": self.error,
            "db": str(self.db_path),
            "state": "idle" if st is None else st["state"],
            "resuming": self._request_file.exists(),
            "session": None if st is None else _session_summary(st),
            "feed_connected": bool(feed and feed.get("connected")),
            "last_candles": [{"symbol": s, "timeframe": tf, "open_time": t} for s, tf, t in last],
        }

    def predictions(self, limit: int = 50) -> list[dict[str, Any]]:
        """Return the newest committed predictions of this group's database, newest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT prediction_id, session_id, model, symbol, timeframe, decision_time, "
                "target_time, action, confidence, status FROM predictions "
                "ORDER BY decision_time DESC, prediction_id LIMIT ?",
                [limit],
            ).fetchall()
            names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in rows]

    def ledger(self) -> dict[str, Any]:
        """Return the live session's paper account and prediction counts (None before one)."""
        session = self.runtime.session
        if session is None:
            return {"group": self.group, "session_id": None, "paper": None, "predictions": {}}
        sid = session.config.session_id
        with self.db.cursor() as cur:
            counts = dict(
                cur.execute(
                    "SELECT status, count(*) FROM predictions WHERE session_id = ? GROUP BY 1",
                    [sid],
                ).fetchall()
            )
        return {
            "group": self.group,
            "session_id": sid,
            "paper": PaperStore(self.db).summary(sid),
            "predictions": counts,
        }

    def candles(self, symbol: str, timeframe: str, limit: int = 200) -> list[dict[str, Any]]:
        """Return the newest ``limit`` closed candles of a series, oldest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT open_time, open, high, low, close, volume FROM candles "
                "WHERE symbol = ? AND timeframe = ? ORDER BY open_time DESC LIMIT ?",
                [symbol, timeframe, limit],
            ).fetchall()
        keys = ("time", "open", "high", "low", "close", "volume")
        return [dict(zip(keys, r, strict=True)) for r in reversed(rows)]

    def close(self) -> None:
        """Stop the session (kept to resume: a graceful close is not a stop) and the feed."""
        self.ready.wait(FEED_WAIT_S + 30)
        with self._lock:
            self.runtime.close()
            self.db.close()


def _session_summary(st: dict[str, Any]) -> dict[str, Any]:
    """Return the few fields of a session's status the cluster view shows."""
    keys = ("session_id", "state", "reason", "model", "mode", "timeframes", "events")
    out = {k: st.get(k) for k in keys}
    out["progress_time"] = st.get("progress_time")
    out["train_steps"] = st.get("train_steps")
    out["predictions"] = st.get("predictions")
    # the committed checkpoint: what a restart loads (after one, the one it loaded)
    ckpt = st.get("checkpoint")
    out["checkpoint_step"] = None if ckpt is None else ckpt.get("step")
    return out


def group_exchange(exchange: ExchangeConfig, symbols: Sequence[str]) -> ExchangeConfig:
    """Return the feed settings of one group: ``exchange`` streaming ``symbols`` only."""
    return replace(exchange, symbols=tuple(symbols))
