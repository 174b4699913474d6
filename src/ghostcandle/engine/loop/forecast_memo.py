"""The forecasts of fixed models, kept a moment for every session that asks the same.

Sessions of one process that score the same baselines on the same symbols (a transformer and a
CNN compared side by side) ask each baseline the same question at every decision: the same
rule (its family and fitted constants: its ``version``) on the same windows (the frame's input
hash: symbol, timeframe, span and every value) for the same timeframe. A baseline is a fixed
function of those, so the first session's answer is every session's, bit for bit; the others
take it instead of computing it again. Only models that never learn and read nothing beyond
their windows are kept (no order book, no held position). The newest ``size`` answers are
held, shared by every thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from ghostcandle.models.base import SampleForecast as Answer

Key = tuple[str, str, str]


class ForecastMemo:
    """The newest ``size`` forecasts of fixed models, by (version, input hash, timeframe)."""

    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise ValueError(f"size={size}: keep at least one forecast")
        self.size = size
        self._held: OrderedDict[Key, Answer] = OrderedDict()
        self._lock = threading.Lock()
        #: answers taken from the memo, and made
        self.hits = 0
        self.misses = 0

    def answer(self, key: Key, make: Callable[[], Answer]) -> Answer:
        """Return the answer held for ``key``, else ``make()``'s (then held)."""
        with self._lock:
            held = self._held.get(key)
            if held is not None:
                self.hits += 1
                return held
        made = make()
        with self._lock:
            self.misses += 1
            self._held[key] = made
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return made

    def clear(self) -> None:
        """Drop every answer held (the next asks make theirs)."""
        with self._lock:
            self._held.clear()

    def __len__(self) -> int:
        return len(self._held)


#: the process's memo, shared by every session
MEMO = ForecastMemo()
