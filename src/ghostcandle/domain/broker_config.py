"""How the simulated broker fills, charges and sizes orders: ``BrokerConfig``, checked on build.

>>> BrokerConfig().round_trip_cost  # 10 bps per fill, no slippage: 0.2% in and out
0.002
>>> BrokerConfig(hold="flat").to_json()["hold"], BrokerConfig(cooldown=3).cooldown
('flat', 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ghostcandle.domain.errors import UserInputError

Fill = Literal["next_open", "close"]
Hold = Literal["flat", "keep"]
FILLS: tuple[str, ...] = get_args(Fill)
HOLDS: tuple[str, ...] = get_args(Hold)
DEFAULT_EQUITY = 10_000.0
DEFAULT_FEE_BPS = 10.0
DEFAULT_SLIPPAGE_BPS = 0.0


@dataclass(frozen=True, kw_only=True)
class BrokerConfig:
    """How orders are filled, charged and sized; checked on construction."""

    initial_equity: float = DEFAULT_EQUITY
    fee_bps: float = DEFAULT_FEE_BPS
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS
    position_fraction: float = 1.0
    min_confidence: float = 0.0
    fill: Fill = "next_open"
    allow_short: bool = True
    close_at_end: bool = True
    #: what HOLD means: ``flat`` (close the position) or ``keep`` (leave it as it is)
    hold: Hold = "flat"
    #: fewest candles between two position changes of a symbol (0: no limit)
    cooldown: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial_equity) and self.initial_equity > 0):
            raise UserInputError(
                f"initial equity {self.initial_equity!r} must be a positive amount, e.g. 10000"
            )
        if not (math.isfinite(self.fee_bps) and 0 <= self.fee_bps < 10_000):
            raise UserInputError(
                f"fee {self.fee_bps!r} bps is not usable: give a fee in basis points >= 0, "
                "e.g. 10 for 0.1%"
            )
        if not (math.isfinite(self.slippage_bps) and 0 <= self.slippage_bps < 10_000):
            raise UserInputError(
                f"slippage {self.slippage_bps!r} bps is not usable: give basis points >= 0"
            )
        if not (math.isfinite(self.position_fraction) and 0 < self.position_fraction <= 1):
            raise UserInputError(
                f"position fraction {self.position_fraction!r} must be in (0, 1], e.g. 0.5"
            )
        if not (math.isfinite(self.min_confidence) and 0 <= self.min_confidence <= 1):
            raise UserInputError(
                f"minimum confidence {self.min_confidence!r} must be in [0, 1], e.g. 0.4"
            )
        if self.fill not in FILLS:
            raise UserInputError(f"unknown fill {self.fill!r}: use one of {', '.join(FILLS)}")
        if self.hold not in HOLDS:
            raise UserInputError(
                f"unknown hold {self.hold!r}: use flat (HOLD closes the position) or keep"
            )
        if isinstance(self.cooldown, bool) or not isinstance(self.cooldown, int):
            raise UserInputError(f"cooldown {self.cooldown!r} must be a whole number of candles")
        if self.cooldown < 0:
            raise UserInputError(f"cooldown {self.cooldown} must be >= 0 candles, e.g. 5")

    @property
    def round_trip_cost(self) -> float:
        """Return the cost of entering and leaving a position, as a fraction of its notional.

        Two fills, each paying the fee and losing the slippage: ``2 x (fee + slippage) bps``.
        """
        return 2.0 * (self.fee_bps + self.slippage_bps) / 10_000.0

    def to_json(self) -> dict[str, Any]:
        """Return the trading rules as plain JSON values (``close_at_end`` belongs to a run)."""
        return {
            "initial_equity": self.initial_equity,
            "fee_bps": self.fee_bps,
            "slippage_bps": self.slippage_bps,
            "position_fraction": self.position_fraction,
            "min_confidence": self.min_confidence,
            "fill": self.fill,
            "allow_short": self.allow_short,
            "hold": self.hold,
            "cooldown": self.cooldown,
        }
