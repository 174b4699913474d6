"""Trading symbols in the ``BASE/QUOTE`` form (``ETH/USDT``).

>>> normalise_symbol("ethusdt")
'ETH/USDT'
>>> normalise_symbol("BTC/USDT")
'BTC/USDT'
>>> exchange_symbol("ETH/USDT")
'ETHUSDT'
"""

from __future__ import annotations

import re

from ghostcandle.domain.errors import UserInputError

DEFAULT_SYMBOLS: tuple[str, ...] = ("ETH/USDT", "BTC/USDT")

_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB", "TRY")
_PAIR = re.compile(r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,10}$")


def normalise_symbol(text: str) -> str:
    """Return ``text`` as ``BASE/QUOTE``; accept ``ETHUSDT``, ``eth/usdt`` or ``ETH-USDT``."""
    s = text.strip().upper().replace("-", "/").replace("_", "/")
    if "/" not in s:
        for quote in _QUOTES:
            if s.endswith(quote) and len(s) > len(quote) + 1:
                s = f"{s[: -len(quote)]}/{quote}"
                break
    if not _PAIR.match(s):
        raise UserInputError(f"cannot read symbol {text!r}: write it as BASE/QUOTE, e.g. ETH/USDT")
    return s


def exchange_symbol(symbol: str) -> str:
    """Return the exchange's spelling of ``symbol`` (``ETH/USDT`` -> ``ETHUSDT``)."""
    return normalise_symbol(symbol).replace("/", "")
