"""The live sessions of one serving process, side by side, keyed by session id.

A ``LiveSlot`` holds what one live session owns beside the shared bus, store and structure
engine: the ``LoopSession`` (the one writer of its weights and checkpoints), its paper trader,
the checkpoint it started from and the page's bus subscriptions. ``LiveSlots`` keeps them in
start order (the newest last: what a caller naming no session means), refuses a second slot for
a session id that is live and more than ``MAX_LIVE_SESSIONS`` live at once, and keeps the
newest ``KEPT_ENDED`` ended ones so the page can still show why one stopped or failed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ghostcandle.domain.errors import DataMissingError, IllegalTransitionError
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.trading.paper import PaperTrader
from ghostcandle.engine.training.start_checkpoint import StartCheckpoint
from ghostcandle.messaging.bus import Subscription

#: Live sessions running at once (each predicts every second of its symbols, some train): more
#: would make a 2-core server late on every one of them.
MAX_LIVE_SESSIONS = 4
#: Ended (stopped or failed) sessions kept for the page beside the live ones.
KEPT_ENDED = 4


@dataclass(eq=False)
class LiveSlot:
    """One live session and what it owns: its paper trader and the page's subscriptions."""

    session: LoopSession
    #: the checkpoint it started from (None: fresh weights)
    start_checkpoint: StartCheckpoint | None = None
    paper: PaperTrader | None = None
    subs: list[Subscription] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        """Return the session's id (its slot's key)."""
        return self.session.config.session_id

    @property
    def live(self) -> bool:
        """Tell whether the session is not ended (starting, running or stopping)."""
        return not self.session.state.terminal

    def describe(self) -> dict[str, object]:
        """Return what a list of sessions shows of this one."""
        cfg = self.session.config
        return {
            "session_id": cfg.session_id,
            "model": cfg.model,
            "mode": cfg.mode,
            "symbols": list(cfg.symbols),
            "timeframes": list(self.session.timeframes),
            "state": self.session.state.value,
            "running": self.session.running,
        }


class LiveSlots:
    """The live sessions in start order (newest last).

    Its own lock guards only the dict and is never held while calling out, so the bus thread
    may read slots while the runtime starts or stops a session (which may wait on the bus).
    """

    def __init__(self, cap: int = MAX_LIVE_SESSIONS) -> None:
        self.cap = cap
        self._slots: dict[str, LiveSlot] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._slots)

    def all(self) -> list[LiveSlot]:
        """Return every slot kept, oldest first."""
        with self._lock:
            return list(self._slots.values())

    def live(self) -> list[LiveSlot]:
        """Return the slots whose session has not ended, oldest first."""
        return [s for s in self.all() if s.live]

    def newest(self) -> LiveSlot | None:
        """Return the slot started last (None before any)."""
        with self._lock:
            return next(reversed(self._slots.values()), None)

    def get(self, session_id: str | None) -> LiveSlot | None:
        """Return the slot of ``session_id`` (None: the newest, None if there is none).

        Raise ``DataMissingError`` (404) for an id no slot holds.
        """
        if session_id is None:
            return self.newest()
        with self._lock:
            slot = self._slots.get(session_id)
            known = ", ".join(self._slots) or "none was started"
        if slot is None:
            raise DataMissingError(
                f"no live session {session_id!r} in this server: pick one of {known}"
            )
        return slot

    def check_room(self, session_id: str) -> None:
        """Refuse (``IllegalTransitionError``, 409) a start of ``session_id`` while it is live,
        or while ``cap`` sessions are live."""
        with self._lock:
            same = self._slots.get(session_id)
        if same is not None and same.live:
            raise IllegalTransitionError(
                f"live session {session_id} already runs (it is {same.session.state}): "
                "stop it first, or start another model, symbol or timeframes"
            )
        live = self.live()
        if len(live) >= self.cap:
            names = ", ".join(s.session_id for s in live)
            raise IllegalTransitionError(
                f"{len(live)} live sessions already run ({names}), the most at once: stop one first"
            )

    def put(self, slot: LiveSlot) -> None:
        """Keep ``slot`` as the newest (replacing an ended one of its id); forget the oldest
        ended slots beyond ``KEPT_ENDED``."""
        with self._lock:
            self._slots.pop(slot.session_id, None)
            self._slots[slot.session_id] = slot
            ended = [s for s in self._slots.values() if not s.live and s is not slot]
            for old in ended[: max(0, len(ended) - KEPT_ENDED)]:
                del self._slots[old.session_id]
