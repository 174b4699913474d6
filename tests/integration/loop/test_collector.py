"""A live session freezes what exists when it starts out of the cyclic collector; a stop thaws.

A full collection walks every tracked object (~210,000 with torch and DuckDB loaded) holding the
GIL: frozen, the objects alive at a live start are not walked, so no live tick waits on them.
"""

from __future__ import annotations

import gc

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging import collector
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

from .conftest import START, small_config


def _walked(obj: object) -> bool:
    """Tell whether the collector's passes see ``obj`` (a frozen object is in none)."""
    return any(o is obj for o in gc.get_objects())


def test_a_live_session_freezes_what_exists_at_start_and_its_stop_thaws_it(
    market: Database, ckpt_dir: str
) -> None:
    collector.release()  # nothing frozen before
    before = [object()]  # a container the collector tracks, made before the start
    live = small_config("frozen-live", flush_every=1, synchronous_training=False)
    s = LoopSession(market, live, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt_dir)
    s.start()
    try:
        assert collector.frozen() > 10_000
        assert not _walked(before)
        after = [object()]
        assert _walked(after)  # what is made while it runs is collected as before
    finally:
        s.stop()
    assert collector.frozen() == 0
    assert _walked(before)


def test_a_replay_session_leaves_the_collector_as_it_is(market: Database, ckpt_dir: str) -> None:
    collector.release()
    replay = small_config("frozen-replay")  # synchronous, flushed every 50 events
    s = LoopSession(market, replay, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt_dir)
    s.start()
    try:
        assert collector.frozen() == 0
    finally:
        s.stop()
