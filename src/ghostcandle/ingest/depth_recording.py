"""Read raw Binance WebSocket recordings: ``<receive_ns> <combined-stream JSON>`` per line.

Streams used: ``<sym>@depth@100ms`` (diffs), ``<sym>@trade``; ``<sym>@bookTicker`` carries no
event time to place it on the second grid, so it only checks the rebuilt book: where a ticker
and a diff end at the same update id, their best bid and ask must agree (counted). A bare
REST depth answer (``{"lastUpdateId": ..., "bids": ..., "asks": ...}``, as hftbacktest's
collector writes it) belongs to the file's symbol (from its name, or the only symbol seen).
Lines that cannot be used are counted by reason and skipped; they never stop the run.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.order_book import DiffUpdate
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.ingest.depth_capture import WARMUP_MS, SymbolCapture


class BadLineError(ValueError):
    """A line that cannot be used; the message is its reason."""


def open_text(path: Path) -> Iterator[str]:
    """Yield the lines of a plain or gzip text file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        yield from fh


def first_receive_ns(path: Path) -> int:
    """Return the receive time of the file's first line (files are read in this order)."""
    for line in open_text(path):
        head = line.split(" ", 1)[0]
        if head.isdigit():
            return int(head)
        break
    raise UserInputError(
        f"{path}: not a <receive_ns> <JSON> recording: give a raw Binance WebSocket recording"
    )


def _levels(raw: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list):
        raise BadLineError("bad_levels")
    try:
        out = tuple((float(p), float(q)) for p, q in raw)
    except (TypeError, ValueError):
        raise BadLineError("bad_levels") from None
    if not all(math.isfinite(p) and math.isfinite(q) and p > 0 and q >= 0 for p, q in out):
        raise BadLineError("bad_levels")
    return out


def _int(raw: Any) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise BadLineError("bad_field")
    return raw


class RecordingReader:
    """Feed recordings line by line into one ``SymbolCapture`` per symbol."""

    def __init__(self, *, levels: int = 20, warmup_ms: int = WARMUP_MS) -> None:
        self.levels = levels
        self.warmup_ms = warmup_ms
        self.captures: dict[str, SymbolCapture] = {}
        self.lines = 0
        self.bad: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()

    def read(self, path: Path, symbol: str | None) -> None:
        """Read one recording; ``symbol`` is the file's (for bare REST snapshot lines)."""
        for line in open_text(path):
            self.lines += 1
            try:
                self.line(line, symbol)
            except BadLineError as exc:
                self.bad[str(exc)] += 1

    def line(self, line: str, file_symbol: str | None) -> None:
        """Use one recorded line."""
        _, _, text = line.partition(" ")
        try:
            obj = json.loads(text)
        except ValueError:
            raise BadLineError("bad_json") from None
        if not isinstance(obj, dict):
            raise BadLineError("bad_shape")
        if "lastUpdateId" in obj:
            self._rest(obj, file_symbol)
            return
        data = obj.get("data")
        if not isinstance(data, dict):
            raise BadLineError("bad_shape")
        stream = str(obj.get("stream", ""))
        raw_symbol = data.get("s")
        if not isinstance(raw_symbol, str):
            raise BadLineError("missing_symbol")
        cap = self._capture(raw_symbol)
        event = data.get("e")
        try:
            if event == "depthUpdate":
                cap.diff(
                    DiffUpdate(
                        _int(data["E"]), _int(data["U"]), _int(data["u"]),
                        _levels(data["b"]), _levels(data["a"]),
                    )
                )  # fmt: skip
            elif event == "trade":
                qty, maker = float(data["q"]), data["m"]
                if not (math.isfinite(qty) and qty > 0 and isinstance(maker, bool)):
                    raise BadLineError("bad_trade")
                cap.trade(_int(data["T"]), qty, maker)
            elif stream.endswith("@bookTicker"):
                cap.book_ticker(_int(data["u"]), float(data["b"]), float(data["a"]))
            else:
                self.ignored[stream.partition("@")[2] or str(event)] += 1
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, BadLineError):
                raise
            raise BadLineError("missing_field") from None

    def _capture(self, raw_symbol: str) -> SymbolCapture:
        cap = self.captures.get(raw_symbol)
        if cap is None:
            try:
                symbol = normalise_symbol(raw_symbol)
            except UserInputError:
                raise BadLineError("bad_symbol") from None
            cap = SymbolCapture(symbol, levels=self.levels, warmup_ms=self.warmup_ms)
            self.captures[raw_symbol] = cap
        return cap

    def _rest(self, obj: dict[str, Any], file_symbol: str | None) -> None:
        if file_symbol is not None:
            cap = self._capture(file_symbol.replace("/", ""))
        elif len(self.captures) == 1:
            cap = next(iter(self.captures.values()))
        else:
            raise BadLineError("rest_snapshot_of_unknown_symbol")
        bids, asks = _levels(obj.get("bids")), _levels(obj.get("asks"))
        cap.rest_snapshot(_int(obj["lastUpdateId"]), bids, asks)
