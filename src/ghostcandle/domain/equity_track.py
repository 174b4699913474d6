"""A broker that keeps only the equity its figures need: 8 bytes a candle, not a curve of points.

``Broker`` keeps an ``EquityPoint`` per candle (~120 bytes with its int and float), and
``performance.summarise`` makes lists of the equities and returns beside it: a long replay's
series is a million candles, ~200MB. ``TrackedBroker`` marks the same equity into an
``EquityTrack`` (the equities as an ``array('d')``, the last point's time and exposure, and how
many points were exposed), and ``summarise_track`` gives the very figures ``summarise`` gives
of the same walk, with the same float operations, in passes over the track: the evaluation's
trading value (``engine.evaluation.trading_value``) needs the figures, not the curve.

>>> from ghostcandle.domain.candles import Candle
>>> b = TrackedBroker()
>>> for t, c in enumerate([100.0, 110.0, 99.0]):
...     b.on_candle(Candle("X/USDT", "1d", t * 86_400_000, c, c, c, c, 1.0))
>>> len(b.track), b.track.last_equity
(3, 10000.0)
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence

from ghostcandle.domain.broker import Broker, BrokerConfig, Trade
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.performance import (
    Performance,
    hold,
    holding,
    max_drawdown_pct,
    performance_of,
)


class EquityTrack:
    """The equity of each marked time, in order; of the points only the last one's time."""

    def __init__(self) -> None:
        self.equities = array("d")
        self.last_time = 0
        self.last_exposed = False
        self._exposed_before = 0  # exposed points before the last

    def __len__(self) -> int:
        return len(self.equities)

    @property
    def last_equity(self) -> float:
        """Return the last point's equity (the track must not be empty)."""
        return self.equities[-1]

    @property
    def exposed(self) -> int:
        """Return how many points were marked exposed."""
        return self._exposed_before + (self.last_exposed if self.equities else 0)

    def append(self, time: int, equity: float, exposed: bool) -> None:
        """Add a point after the last."""
        if self.equities:
            self._exposed_before += self.last_exposed
        self.equities.append(equity)
        self.last_time, self.last_exposed = time, exposed

    def replace_last(self, equity: float, exposed: bool) -> None:
        """Mark the last point again (same time)."""
        self.equities[-1] = equity
        self.last_exposed = exposed


class TrackedBroker(Broker):
    """A ``Broker`` whose equity goes to ``track`` (its ``equity_curve`` stays empty)."""

    def __init__(self, config: BrokerConfig | None = None) -> None:
        super().__init__(config)
        self.track = EquityTrack()

    def finish(self) -> None:
        """As ``Broker.finish``: the last time is marked again after the positions close."""
        super().finish()  # its curve is empty: it marks nothing
        if self.config.close_at_end and self.track:
            self._mark(self.track.last_time)

    def _mark(self, time: int, *, candle: bool = False) -> None:
        # as Broker._mark, into the track
        exposed = bool(self.positions)
        track = self.track
        if track and track.last_time == time:
            held = track.last_exposed or exposed if candle else track.last_exposed
            track.replace_last(self.equity(), held)
        else:
            track.append(time, self.equity(), exposed)


def _returns(initial_equity: float, equities: Iterable[float]) -> Iterator[float]:
    prev = initial_equity
    for e in equities:
        yield e / prev - 1.0 if prev != 0 else 0.0
        prev = e


def sharpe_of_track(initial_equity: float, track: EquityTrack, per_year: float) -> float:
    """Return ``performance.sharpe_ratio`` of the track's equities, the returns made twice."""
    n = len(track)
    if n < 2:
        return 0.0
    mean = math.fsum(_returns(initial_equity, track.equities)) / n
    var = math.fsum((r - mean) ** 2 for r in _returns(initial_equity, track.equities)) / (n - 1)
    if not var > 0:
        return 0.0
    return mean / math.sqrt(var) * math.sqrt(per_year)


def summarise_track(
    trades: Sequence[Trade], track: EquityTrack, initial_equity: float, per_year: float
) -> Performance:
    """Return ``performance.summarise`` of ``trades`` and the curve ``track`` was marked as."""
    n = len(track)
    return performance_of(
        trades,
        initial_equity,
        final=track.last_equity if n else initial_equity,
        drawdown_pct=max_drawdown_pct(initial_equity, track.equities),
        sharpe=sharpe_of_track(initial_equity, track, per_year),
        exposure_pct=100.0 * track.exposed / n if n else 0.0,
    )


def tracked_buy_and_hold(
    candles: Iterable[Candle], config: BrokerConfig
) -> tuple[list[Trade], EquityTrack]:
    """Return ``performance.buy_and_hold`` of ``candles``, its curve as a track."""
    broker = TrackedBroker(holding(config))
    hold(broker, candles)
    return broker.trades, broker.track
