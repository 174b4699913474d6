"""Infer symbol and timeframe from Binance-style file names.

>>> infer_from_name("ETHUSDT-1m-2021-01.csv")
('ETH/USDT', '1m')
>>> infer_from_name("binance_BTCUSDT_1d_2017-08-17_2021-03-31.csv.gz")
('BTC/USDT', '1d')
>>> infer_from_name("prices.csv")
(None, None)
"""

from __future__ import annotations

import re
from pathlib import Path

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import TIMEFRAMES

_TF = "|".join(sorted(TIMEFRAMES, key=len, reverse=True))
_PATTERN = re.compile(rf"(?:^|[_\-])([A-Z0-9]{{4,20}})[_\-]({_TF})(?:[_\-.]|$)")


def infer_from_name(path: str | Path) -> tuple[str | None, str | None]:
    """Return ``(symbol, timeframe)`` found in the file name, or ``(None, None)``."""
    name = Path(path).name
    m = _PATTERN.search(name)
    if not m:
        return None, None
    try:
        return normalise_symbol(m.group(1)), m.group(2)
    except UserInputError:
        return None, m.group(2)
