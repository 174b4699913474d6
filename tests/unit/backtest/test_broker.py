"""The simulated broker, checked by hand-computed cases and by an independent recomputation.

The recomputation (``_recompute_equity``, ``_expected_holdings``) is deliberately separate,
simple code: it rebuilds the equity curve from the trade list and the candles alone, and the
position held during each candle from the signals alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig, Trade
from ghostcandle.domain.candles import Candle, candles_from_frame
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles

M = 60_000


def _c(i: int, o: float, c: float, symbol: str = "X") -> Candle:
    return Candle(symbol, "1m", i * M, o, max(o, c) + 1, min(o, c) - 1, c, 1.0)


def _run(
    config: BrokerConfig,
    candles: list[Candle],
    signals: dict[int, tuple[Action, float]],
) -> Broker:
    """Hand candles over in order; after candle i closes, act on ``signals[i]``."""
    b = Broker(config)
    for i, c in enumerate(candles):
        b.on_candle(c)
        if i in signals:
            action, conf = signals[i]
            b.on_signal(c.symbol, c.close_time, action, conf)
    b.finish()
    return b


def test_long_trade_fills_at_next_open_with_fees_on_both_fills() -> None:
    candles = [_c(0, 100, 100), _c(1, 101, 105), _c(2, 106, 108), _c(3, 110, 120)]
    cfg = BrokerConfig(fee_bps=10, hold="keep")
    b = _run(cfg, candles, {0: (Action.BUY, 1.0), 1: (Action.HOLD, 1.0)})
    (t,) = b.trades
    size = 10_000 / 101
    assert (t.side, t.entry_time, t.entry_price) == ("LONG", 1 * M, 101.0)
    assert (t.exit_time, t.exit_price, t.exit_reason) == (4 * M, 120.0, "end")
    assert t.size == pytest.approx(size)
    assert t.entry_fee == pytest.approx(10.0)
    assert t.exit_fee == pytest.approx(size * 120 * 0.001)
    assert t.pnl == pytest.approx(size * 19 - 10.0 - size * 0.12)
    assert b.cash == pytest.approx(10_000 + t.pnl)
    assert [p.exposed for p in b.equity_curve] == [False, True, True, True]


def test_sell_reverses_a_long_into_a_short_at_the_same_open() -> None:
    candles = [_c(0, 100, 100), _c(1, 100, 110), _c(2, 110, 99), _c(3, 99, 90)]
    b = _run(BrokerConfig(fee_bps=0), candles, {0: (Action.BUY, 1.0), 1: (Action.SELL, 1.0)})
    long, short = b.trades
    assert (long.side, long.entry_price, long.exit_price, long.exit_time) == (
        "LONG",
        100.0,
        110.0,
        2 * M,
    )
    assert long.pnl == pytest.approx(1000.0)
    # the short is sized on the equity after the long closed: 11,000
    assert (short.side, short.entry_time, short.entry_price) == ("SHORT", 2 * M, 110.0)
    assert short.size == pytest.approx(100.0)
    assert short.pnl == pytest.approx(100.0 * (110 - 90))
    assert b.equity_curve[-1].equity == pytest.approx(13_000.0)


def test_without_shorting_sell_only_goes_flat() -> None:
    candles = [_c(0, 100, 100), _c(1, 100, 110), _c(2, 110, 99), _c(3, 99, 90)]
    cfg = BrokerConfig(fee_bps=0, allow_short=False)
    b = _run(cfg, candles, {0: (Action.BUY, 1.0), 1: (Action.SELL, 1.0), 2: (Action.SELL, 1.0)})
    assert [t.side for t in b.trades] == ["LONG"]
    assert b.equity_curve[-1].equity == pytest.approx(11_000.0)
    assert not b.positions


def test_actions_below_min_confidence_are_ignored() -> None:
    candles = [_c(0, 100, 100), _c(1, 100, 110), _c(2, 110, 120)]
    cfg = BrokerConfig(fee_bps=0, min_confidence=0.6)
    b = _run(cfg, candles, {0: (Action.BUY, 0.59)})
    assert b.trades == []
    assert b.equity_curve[-1].equity == 10_000.0
    b = _run(cfg, candles, {0: (Action.BUY, 0.6)})
    assert len(b.trades) == 1


def test_close_fill_trades_at_the_decision_candles_close() -> None:
    candles = [_c(0, 100, 100), _c(1, 100, 110), _c(2, 112, 120)]
    cfg = BrokerConfig(fee_bps=0, fill="close")
    b = _run(cfg, candles, {0: (Action.BUY, 1.0), 1: (Action.SELL, 1.0)})
    long, short = b.trades
    assert (long.entry_time, long.entry_price) == (1 * M, 100.0)
    assert (long.exit_time, long.exit_price) == (2 * M, 110.0)
    assert (short.entry_price, short.exit_price) == (110.0, 120.0)
    # opened at the close of candle 0: held during candles 1 and 2 only
    assert [p.exposed for p in b.equity_curve] == [False, True, True]


def test_slippage_moves_every_fill_against_the_trader() -> None:
    candles = [_c(0, 100, 100), _c(1, 100, 110), _c(2, 110, 120), _c(3, 120, 100)]
    cfg = BrokerConfig(fee_bps=0, slippage_bps=50)
    b = _run(cfg, candles, {0: (Action.BUY, 1.0), 1: (Action.SELL, 1.0)})
    long, short = b.trades
    assert long.entry_price == pytest.approx(100 * 1.005)
    assert long.exit_price == pytest.approx(110 * 0.995)
    assert short.entry_price == pytest.approx(110 * 0.995)
    assert short.exit_price == pytest.approx(100 * 1.005)


def test_position_fraction_keeps_the_rest_in_cash() -> None:
    candles = [_c(0, 100, 100), _c(1, 100, 200)]
    b = _run(BrokerConfig(fee_bps=0, position_fraction=0.25), candles, {0: (Action.BUY, 1.0)})
    assert b.trades[0].size == pytest.approx(25.0)
    assert b.equity_curve[-1].equity == pytest.approx(12_500.0)


def test_one_position_per_symbol_and_shared_equity() -> None:
    b = Broker(BrokerConfig(fee_bps=0, position_fraction=0.5))
    b.on_candle(_c(0, 100, 100, "A"))
    b.on_candle(_c(0, 10, 10, "B"))
    b.on_signal("A", M, Action.BUY)
    b.on_signal("B", M, Action.BUY)
    b.on_signal("B", M, Action.BUY)  # a repeated order does not add a second position
    b.on_candle(_c(1, 100, 150, "A"))
    b.on_candle(_c(1, 10, 5, "B"))
    assert set(b.positions) == {"A", "B"}
    assert b.positions["A"].size == pytest.approx(50.0)
    # B is sized at the fill with A already open (marked at A's last close, 100): 5,000
    assert b.positions["B"].size == pytest.approx(500.0)
    assert b.equity() == pytest.approx(10_000 + 50 * 50 - 500 * 5)


def test_out_of_order_input_is_refused() -> None:
    b = Broker()
    b.on_candle(_c(1, 100, 100))
    with pytest.raises(ValueError, match="time order"):
        b.on_candle(_c(1, 100, 100))
    with pytest.raises(ValueError, match="time order"):
        b.on_signal("X", M, Action.BUY)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"fee_bps": -1.0}, "fee"),
        ({"slippage_bps": float("nan")}, "slippage"),
        ({"position_fraction": 0.0}, "fraction"),
        ({"position_fraction": 1.5}, "fraction"),
        ({"min_confidence": 2.0}, "confidence"),
        ({"initial_equity": 0.0}, "equity"),
        ({"fill": "vwap"}, "fill"),
    ],
)
def test_bad_config_is_refused_in_one_line(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(UserInputError, match=word) as info:
        BrokerConfig(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


# -- independent recomputation -------------------------------------------------------------------


def _recompute_equity(trades: list[Trade], candles: list[Candle], initial: float) -> list[float]:
    """Equity at each close: realised PnL of trades exited by then plus open trades marked.

    Fills happen at a candle's open (so they count in that candle's close), except the final
    exit at the last close.
    """
    out = []
    for c in candles:
        e = initial
        for t in trades:
            sign = 1.0 if t.side == "LONG" else -1.0
            if t.exit_time <= c.open_time or (
                t.exit_reason == "end" and t.exit_time == c.close_time
            ):
                e += t.pnl
            elif t.entry_time <= c.open_time:
                e += sign * t.size * (c.close - t.entry_price) - t.entry_fee
        out.append(e)
    return out


def _expected_holdings(
    candles: list[Candle],
    signals: dict[int, tuple[Action, float]],
    min_conf: float,
    hold: str = "keep",
) -> list[int]:
    """Side held during each candle (+1/-1/0) when signals fill at the next candle's open."""
    held, out = 0, []
    wanted = 0
    for i in range(len(candles)):
        held = wanted
        out.append(held)
        if i in signals:
            action, conf = signals[i]
            if conf >= min_conf and action != Action.HOLD:
                wanted = 1 if action == Action.BUY else -1
            elif hold == "flat":
                wanted = 0
    return out


@pytest.mark.parametrize("hold", ["keep", "flat"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equity_and_pnl_match_an_independent_recomputation(seed: int, hold: str) -> None:
    df = synthetic_candles(600, "1m", start_ms=0, seed=seed)
    candles = candles_from_frame("X", "1m", df)
    rng = np.random.default_rng(seed)
    acts = rng.choice([Action.HOLD, Action.BUY, Action.SELL], size=len(candles), p=[0.8, 0.1, 0.1])
    confs = rng.uniform(0.3, 1.0, size=len(candles))
    signals = {
        i: (Action(int(a)), float(p)) for i, (a, p) in enumerate(zip(acts, confs, strict=False))
    }
    cfg = BrokerConfig(
        fee_bps=7.5, slippage_bps=2.0, position_fraction=0.8, min_confidence=0.5, hold=hold
    )
    b = _run(cfg, candles, signals)
    assert len(b.trades) > 10

    expected = _recompute_equity(b.trades, candles, cfg.initial_equity)
    got = [p.equity for p in b.equity_curve]
    assert [p.time for p in b.equity_curve] == [c.close_time for c in candles]
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert got[-1] - cfg.initial_equity == pytest.approx(math.fsum(t.pnl for t in b.trades))

    by_open = {c.open_time: c for c in candles}
    slip, fee = 2.0 / 10_000, 7.5 / 10_000
    for t in b.trades:
        sign = 1.0 if t.side == "LONG" else -1.0
        assert t.entry_price == pytest.approx(by_open[t.entry_time].open * (1 + sign * slip))
        if t.exit_reason == "signal":
            assert t.exit_price == pytest.approx(by_open[t.exit_time].open * (1 - sign * slip))
        assert t.entry_fee == pytest.approx(t.size * t.entry_price * fee)
        assert t.exit_fee == pytest.approx(t.size * t.exit_price * fee)
        assert t.pnl == pytest.approx(sign * t.size * (t.exit_price - t.entry_price) - t.fees)
        # sized at 80% of the equity at the entry fill (marked at the previous close)
        before = expected[candles.index(by_open[t.entry_time]) - 1]
        prior_exit = [p for p in b.trades if p.exit_time == t.entry_time]
        if prior_exit:  # a reversal at this open: the closed trade's exit costs count too
            p = prior_exit[0]
            s = 1.0 if p.side == "LONG" else -1.0
            before += s * p.size * (p.exit_price - by_open[t.entry_time - M].close) - p.exit_fee
        assert t.size * t.entry_price == pytest.approx(0.8 * before, rel=1e-9)

    holdings = _expected_holdings(candles, signals, cfg.min_confidence, hold)
    held_from_trades = []
    for c in candles:
        side = 0
        for t in b.trades:
            if t.entry_time <= c.open_time < t.exit_time or (
                t.exit_reason == "end" and t.entry_time <= c.open_time
            ):
                side = 1 if t.side == "LONG" else -1
        held_from_trades.append(side)
    assert held_from_trades == holdings
    assert [p.exposed for p in b.equity_curve] == [h != 0 for h in holdings]


def test_a_restored_broker_carries_on_exactly() -> None:
    candles = candles_from_frame("X", "1m", synthetic_candles(300, "1m", start_ms=0, seed=5))
    rng = np.random.default_rng(5)
    acts = rng.choice([Action.HOLD, Action.BUY, Action.SELL], size=300, p=[0.6, 0.2, 0.2])
    cfg = BrokerConfig(fee_bps=5.0, slippage_bps=1.0, position_fraction=0.9)

    def feed(b: Broker, part: list[Candle], offset: int) -> None:
        for i, c in enumerate(part, start=offset):
            b.on_candle(c)
            b.on_signal("X", c.close_time, Action(int(acts[i])))

    whole = Broker(cfg)
    feed(whole, candles, 0)
    first = Broker(cfg)
    feed(first, candles[:150], 0)
    assert first.positions or first.pending("X") is not None  # something to carry over
    second = Broker(cfg)
    second.restore(first.state(), {"X": candles[149]})
    feed(second, candles[150:], 150)
    assert first.trades + second.trades == whole.trades
    assert second.equity_curve == whole.equity_curve[150:]
    with pytest.raises(ValueError, match="fresh broker"):
        second.restore(first.state(), {})
