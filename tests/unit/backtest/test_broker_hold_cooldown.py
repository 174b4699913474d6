"""What HOLD means (flat by default, or keep), low confidence, and the cooldown between changes."""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig
from ghostcandle.domain.candles import Candle, candles_from_frame
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles

M = 60_000


def _c(i: int, o: float, c: float) -> Candle:
    return Candle("X", "1m", i * M, o, max(o, c) + 1, min(o, c) - 1, c, 1.0)


def _run(
    config: BrokerConfig, candles: list[Candle], signals: dict[int, tuple[Action, float]]
) -> Broker:
    b = Broker(config)
    for i, c in enumerate(candles):
        b.on_candle(c)
        if i in signals:
            b.on_signal("X", c.close_time, *signals[i])
    b.finish()
    return b


CANDLES = [_c(0, 100, 100), _c(1, 101, 105), _c(2, 106, 108), _c(3, 110, 120)]


def test_hold_closes_the_position_by_default() -> None:
    assert BrokerConfig().hold == "flat"
    b = _run(BrokerConfig(fee_bps=0), CANDLES, {0: (Action.BUY, 1.0), 1: (Action.HOLD, 1.0)})
    (t,) = b.trades
    # entered at the open of candle 1, left at the open of candle 2 (the HOLD's fill)
    assert (t.entry_time, t.entry_price, t.exit_time, t.exit_price) == (M, 101.0, 2 * M, 106.0)
    assert t.exit_reason == "signal"
    assert [p.exposed for p in b.equity_curve] == [False, True, False, False]


def test_hold_keep_leaves_the_position_open() -> None:
    cfg = BrokerConfig(fee_bps=0, hold="keep")
    b = _run(cfg, CANDLES, {0: (Action.BUY, 1.0), 1: (Action.HOLD, 1.0)})
    (t,) = b.trades
    assert (t.exit_time, t.exit_reason) == (4 * M, "end")
    assert [p.exposed for p in b.equity_curve] == [False, True, True, True]


@pytest.mark.parametrize(("hold", "exit_time"), [("flat", 2 * M), ("keep", 4 * M)])
def test_a_signal_below_min_confidence_counts_as_hold(hold: str, exit_time: int) -> None:
    cfg = BrokerConfig(fee_bps=0, min_confidence=0.5, hold=hold)  # type: ignore[arg-type]
    # a confident BUY, then an unsure SELL: flat mode leaves, keep mode stays long
    b = _run(cfg, CANDLES, {0: (Action.BUY, 0.9), 1: (Action.SELL, 0.45)})
    (t,) = b.trades
    assert (t.side, t.exit_time) == ("LONG", exit_time)


def test_cooldown_refuses_changes_until_enough_candles_passed() -> None:
    candles = [_c(i, 100 + i, 100 + i) for i in range(8)]
    sell = (Action.SELL, 1.0)
    signals = {0: (Action.BUY, 1.0), 1: sell, 2: sell, 3: sell, 4: sell}
    b = _run(BrokerConfig(fee_bps=0, cooldown=3), candles, signals)
    long, short = b.trades
    # long filled at 1M; the SELLs decided at 2M and 3M would fill 1 and 2 candles later:
    # refused; the one decided at 4M fills 3 candles after the entry
    assert (long.side, long.entry_time, long.exit_time) == ("LONG", M, 4 * M)
    assert (short.side, short.entry_time) == ("SHORT", 4 * M)
    # without a cooldown the first SELL turns the position at once
    b0 = _run(BrokerConfig(fee_bps=0), candles, signals)
    assert b0.trades[0].exit_time == 2 * M


def test_cooldown_also_holds_a_flat_account_flat() -> None:
    candles = [_c(i, 100.0, 100.0) for i in range(8)]
    signals = {0: (Action.BUY, 1.0), 1: (Action.HOLD, 1.0), 2: (Action.BUY, 1.0)}
    b = _run(BrokerConfig(fee_bps=0, cooldown=2), candles, signals)
    # the HOLD at 2M comes one candle after the entry: refused, the position stays; the BUY at
    # 3M asks for what is held already
    (t,) = b.trades
    assert (t.entry_time, t.exit_reason) == (M, "end")
    signals = {0: (Action.BUY, 1.0), 2: (Action.HOLD, 1.0), 3: (Action.BUY, 1.0)}
    b = _run(BrokerConfig(fee_bps=0, cooldown=2), candles, signals)
    # flat at 3M (two candles after the entry); the BUY at 4M would re-enter after one: refused
    (t,) = b.trades
    assert (t.entry_time, t.exit_time) == (M, 3 * M)
    assert not b.positions


def _flip_flop(cfg: BrokerConfig, n: int = 400) -> Broker:
    candles = candles_from_frame("X", "1m", synthetic_candles(n, "1m", start_ms=0, seed=3))
    acts = [Action.BUY if i % 2 == 0 else Action.SELL for i in range(n)]
    return _run(cfg, candles, {i: (a, 1.0) for i, a in enumerate(acts)})


def test_cooldown_caps_the_turnover_of_a_signal_that_flips_every_candle() -> None:
    free, cooled = _flip_flop(BrokerConfig()), _flip_flop(BrokerConfig(cooldown=10))
    assert len(free.trades) >= 390
    # at most one change every 10 candles
    assert len(cooled.trades) <= 400 // 10 + 1
    changes = sorted({t.entry_time for t in cooled.trades} | {t.exit_time for t in cooled.trades})
    assert min(np.diff(changes[:-1])) >= 10 * M
    fees = sum(t.fees for t in cooled.trades)
    assert fees < sum(t.fees for t in free.trades) / 5


def _feed(b: Broker, candles: list[Candle], start: int, sigs: dict[int, Action]) -> None:
    for i, c in enumerate(candles, start=start):
        b.on_candle(c)
        if i in sigs:
            b.on_signal("X", c.close_time, sigs[i])


def test_the_cooldown_survives_a_restore() -> None:
    candles = [_c(i, 100 + i, 100 + i) for i in range(8)]
    cfg = BrokerConfig(fee_bps=0, cooldown=3)
    sigs = {0: Action.BUY, 1: Action.SELL, 2: Action.SELL, 3: Action.SELL, 4: Action.SELL}
    whole, part, resumed = Broker(cfg), Broker(cfg), Broker(cfg)
    _feed(whole, candles, 0, sigs)
    _feed(part, candles[:3], 0, sigs)
    assert part.state().changed == (("X", M),)
    # a restart after candle 2: the entry at 1M still holds the SELL at 3M back
    resumed.restore(part.state(), {"X": candles[2]})
    _feed(resumed, candles[3:], 3, sigs)
    assert part.trades + resumed.trades == whole.trades
    assert whole.trades[0].exit_time == 4 * M


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"hold": "sometimes"}, "hold"), ({"cooldown": -1}, "cooldown"), ({"cooldown": 1.5}, "cool")],
)
def test_bad_hold_or_cooldown_is_refused_in_one_line(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(UserInputError, match=word) as info:
        BrokerConfig(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
