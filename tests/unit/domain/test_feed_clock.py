"""``FeedClock``: the later of the wall clock and the newest delivered close, never backwards."""

from __future__ import annotations

from ghostcandle.domain.clock import FeedClock, ReplayClock


def test_it_follows_the_feed_when_the_feed_runs_ahead_and_the_wall_otherwise() -> None:
    wall = ReplayClock(1_000)
    clock = FeedClock(wall)
    assert clock.now_ms() == 1_000
    clock.observe(5_000)  # a sped-up simulator's candle closed ahead of the wall clock
    assert clock.now_ms() == 5_000
    clock.observe(4_000)  # an older candle (another series, a late one) changes nothing
    assert clock.now_ms() == 5_000
    wall.advance_to(7_000)  # the wall clock passes the feed (real speed): it leads again
    assert clock.now_ms() == 7_000


def test_it_never_goes_backwards_with_the_wall_clock() -> None:
    class Stepping:
        def __init__(self) -> None:
            self.times = [3_000, 2_000]  # the system clock set back between two reads

        def now_ms(self) -> int:
            return self.times.pop(0)

    clock = FeedClock(Stepping())
    assert [clock.now_ms(), clock.now_ms()] == [3_000, 3_000]
