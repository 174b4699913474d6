"""Annotations: trades a trader marked on the chart, and the test cases materialised from them.

An annotation is stored with a frame reference (DESIGN.md §3) to the candles that were closed
when the trade was entered. Its test case (the seeds' JSON format) is always rebuilt from that
reference and the candle store; the JSON file is a copy for humans and tools, never the source.
Each annotation is also an ``annotation`` training sample (``store.samples``), recorded in the
same transaction and replaced when the annotation is moved, relabelled or deleted.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.timeframes import (
    DEFAULT_TIMEFRAMES,
    check_timeframe,
    close_time,
    duration_ms,
    format_time,
    is_aligned,
)
from ghostcandle.store.annotation_frames import (
    MARKET_STATE_LENGTH,
    CandleFetcher,
    annotation_frame,
    completeness,
)
from ghostcandle.store.annotation_records import (
    ANNOTATION_COLUMNS,
    INSERT_ANNOTATION,
    Annotation,
    Direction,
    annotation_from_row,
    annotation_row,
    annotation_sample,
    check_annotation_id,
    check_notes,
    infer_direction,
    trade_pnl_pct,
)
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.samples import SampleStore

__all__ = [
    "Annotation",
    "AnnotationStore",
    "Direction",
    "annotation_sample",
    "check_annotation_id",
    "infer_direction",
    "trade_pnl_pct",
]


class AnnotationStore:
    """Create, read, update and delete annotations; write their test cases under ``data_dir``."""

    def __init__(
        self,
        db: Database,
        candles: CandleStore,
        data_dir: str | Path,
        clock: Clock,
        *,
        fetch: CandleFetcher | None = None,
    ) -> None:
        """``fetch`` gets missing candles from the exchange (none: roll-ups only)."""
        self.fetch = fetch
        self.db = db
        self.candles = candles
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.samples = SampleStore(db, candles)

    # -- writes ---------------------------------------------------------------------------
    def create(
        self,
        symbol: str,
        timeframe: str,
        entry_time: int,
        exit_time: int,
        *,
        direction: Direction | None = None,
        notes: str = "",
    ) -> Annotation:
        """Mark a trade from the entry candle to the exit candle and write its test case."""
        ann = self._build(
            uuid.uuid4().hex[:12], symbol, timeframe, entry_time, exit_time, direction, notes
        )
        self._insert_all([ann])
        self.write_test_case(ann)
        return ann

    def preview(self, symbol: str, timeframe: str, entry_time: int, exit_time: int) -> Annotation:
        """Return the trade as saving it would (missing candles filled first), unsaved."""
        return self._build("0" * 12, symbol, timeframe, entry_time, exit_time, None, "")

    def update(
        self,
        annotation_id: str,
        *,
        entry_time: int | None = None,
        exit_time: int | None = None,
        direction: Direction | None = None,
        notes: str | None = None,
    ) -> Annotation:
        """Change an annotation; the frame and the test case are rebuilt from the store."""
        old = self.get(annotation_id)
        moved = entry_time is not None or exit_time is not None
        if moved:
            new = self._build(
                old.annotation_id,
                old.symbol,
                old.timeframe,
                old.entry_time if entry_time is None else entry_time,
                old.exit_time if exit_time is None else exit_time,
                direction,
                old.notes if notes is None else notes,
                created_at=old.created_at,
            )
        else:
            new = replace(
                old,
                direction=old.direction if direction is None else direction,
                notes=old.notes if notes is None else check_notes(notes),
                updated_at=self.clock.now_ms(),
            )
        sample = annotation_sample(new)
        with self.db.transaction() as con:
            con.execute("DELETE FROM annotations WHERE annotation_id = ?", [annotation_id])
            con.execute(INSERT_ANNOTATION, annotation_row(new))
            self.samples.forget_origin_in(con, sample.origin, keep=sample.sample_id)
            self.samples.record_in(con, [sample], now=new.updated_at)
        self.write_test_case(new)
        return new

    def delete(self, annotation_id: str) -> None:
        """Delete an annotation and its test case file."""
        self.get(annotation_id)
        with self.db.transaction() as con:
            con.execute("DELETE FROM annotations WHERE annotation_id = ?", [annotation_id])
            self.samples.forget_origin_in(con, f"annotation:{annotation_id}")
        self.test_case_path(annotation_id).unlink(missing_ok=True)

    def import_test_cases(self, cases: Sequence[Mapping[str, Any]]) -> list[Annotation]:
        """Create annotations from test-case JSON; all are checked before any is written.

        A case needs ``symbol``, ``timestamp`` (entry decision time) and
        ``expected_outcome.holding_period_seconds``; ``annotation.timeframe`` (default ``1m``)
        names the candles. Prices are re-read from the store and must match the case's prices.
        """
        built = [self._from_case(i, c) for i, c in enumerate(cases)]
        self._insert_all(built)
        for ann in built:
            self.write_test_case(ann)
        return built

    # -- reads ----------------------------------------------------------------------------
    def get(self, annotation_id: str) -> Annotation:
        """Return one annotation, or raise ``DataMissingError`` naming the id."""
        check_annotation_id(annotation_id)
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {ANNOTATION_COLUMNS} FROM annotations WHERE annotation_id = ?",
                [annotation_id],
            ).fetchone()
        if row is None:
            raise DataMissingError(
                f"annotation {annotation_id} does not exist: list annotations to see their ids"
            )
        return annotation_from_row(row)

    def list(self, symbol: str | None = None) -> list[Annotation]:
        """Return the annotations (of ``symbol`` if given), oldest entry first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {ANNOTATION_COLUMNS} FROM annotations WHERE $s IS NULL OR symbol = $s "
                "ORDER BY entry_time, annotation_id",
                {"s": symbol},
            ).fetchall()
        return [annotation_from_row(r) for r in rows]

    # -- test cases -----------------------------------------------------------------------
    def test_case_path(self, annotation_id: str) -> Path:
        """Return where the test case of ``annotation_id`` is written."""
        return self.data_dir / f"annotation_{check_annotation_id(annotation_id)}.json"

    def test_case(self, ann: Annotation) -> dict[str, Any]:
        """Materialise the test case of ``ann`` from its frame reference."""
        windows = self.candles.materialise(ann.frame)
        by_tf = {w.spec.timeframe: w for w in windows}
        state: dict[str, dict[str, list[Any]]] = {}
        for tf in DEFAULT_TIMEFRAMES:
            w = by_tf.get(tf)
            times = [] if w is None else [format_time(int(t)) for t in w.open_time]
            cols = np.empty((0, 5)) if w is None else w.values
            state[f"ohlcv_{tf}"] = {
                "timestamps": times,
                **{name: cols[:, i].tolist() for i, name in enumerate(VALUE_COLUMNS)},
            }
        return {
            "test_case_id": f"annotation_{ann.annotation_id}",
            "symbol": ann.symbol,
            "timestamp": format_time(ann.decision_time),
            "action": "BUY" if ann.direction == "LONG" else "SELL",
            "market_state": state,
            "expected_outcome": {
                "direction": ann.direction,
                "profit_loss_pct": ann.profit_loss_pct,
                "entry_price": ann.entry_price,
                "exit_price": ann.exit_price,
                "holding_period_seconds": ann.holding_period_seconds,
            },
            "annotation": {
                "annotation_id": ann.annotation_id,
                "timeframe": ann.timeframe,
                "entry_time": format_time(ann.entry_time),
                "exit_time": format_time(ann.exit_time),
                "notes": ann.notes,
            },
            "frame": ann.frame.to_json(),
            "completeness": {
                "candles": completeness(ann.frame),
                "wanted": MARKET_STATE_LENGTH,
                "complete": ann.complete,
            },
        }

    def write_test_case(self, ann: Annotation) -> Path:
        """Write the test case of ``ann`` atomically (temp file, fsync, rename)."""
        path = self.test_case_path(ann.annotation_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.test_case(ann), indent=1)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tc-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    # -- internals ------------------------------------------------------------------------
    def _build(
        self,
        annotation_id: str,
        symbol: str,
        timeframe: str,
        entry_time: int,
        exit_time: int,
        direction: Direction | None,
        notes: str,
        *,
        created_at: int | None = None,
    ) -> Annotation:
        check_timeframe(timeframe)
        for name, t in (("entry_time", entry_time), ("exit_time", exit_time)):
            if not is_aligned(t, timeframe):
                raise UserInputError(
                    f"{name} {format_time(t)} is not the open time of a {timeframe} candle: "
                    "click a candle of the chart's timeframe"
                )
        if exit_time <= entry_time:
            raise UserInputError(
                "the exit candle must come after the entry candle: click the entry first"
            )
        entry_price = self._close_of(symbol, timeframe, entry_time)
        exit_price = self._close_of(symbol, timeframe, exit_time)
        decision = close_time(entry_time, timeframe)
        frame = annotation_frame(self.candles, symbol, decision, self.fetch)
        now = self.clock.now_ms()
        return Annotation(
            annotation_id=annotation_id,
            symbol=symbol,
            timeframe=timeframe,
            entry_time=entry_time,
            exit_time=exit_time,
            entry_price=entry_price,
            exit_price=exit_price,
            direction=direction or infer_direction(entry_price, exit_price),
            notes=check_notes(notes),
            frame=frame,
            created_at=now if created_at is None else created_at,
            updated_at=now,
        )

    def _close_of(self, symbol: str, timeframe: str, open_time: int) -> float:
        df = self.candles.read(symbol, timeframe, open_time, open_time)
        if len(df) == 0:
            raise DataMissingError(
                f"no {timeframe} candle of {symbol} opens at {format_time(open_time)}: "
                "pick a candle shown on the chart"
            )
        return float(df["close"].iloc[0])

    def _insert_all(self, anns: Sequence[Annotation]) -> None:
        with self.db.transaction() as con:
            for ann in anns:
                con.execute(INSERT_ANNOTATION, annotation_row(ann))
            self.samples.record_in(
                con, [annotation_sample(a) for a in anns], now=self.clock.now_ms()
            )

    def _from_case(self, index: int, case: Mapping[str, Any]) -> Annotation:
        from ghostcandle.domain.symbols import normalise_symbol
        from ghostcandle.domain.timeframes import parse_time

        where = f"test case #{index + 1}"
        try:
            symbol = normalise_symbol(str(case["symbol"]))
            decision = parse_time(str(case["timestamp"]))
            outcome = case["expected_outcome"]
            holding = float(outcome["holding_period_seconds"])
            meta = case.get("annotation") or {}
            tf = check_timeframe(str(meta.get("timeframe", "1m")))
            direction = outcome.get("direction")
            notes = str(meta.get("notes", ""))
        except KeyError as exc:
            raise UserInputError(f"{where}: field {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError, AttributeError, UserInputError) as exc:
            raise UserInputError(f"{where}: {exc}") from None
        if direction not in (None, "LONG", "SHORT"):
            raise UserInputError(f"{where}: direction must be LONG or SHORT, got {direction!r}")
        d = duration_ms(tf)
        entry = decision - d
        exit_ = entry + round(holding * 1000)
        try:
            ann = self._build(uuid.uuid4().hex[:12], symbol, tf, entry, exit_, direction, notes)
        except (UserInputError, DataMissingError) as exc:
            raise UserInputError(f"{where}: {exc}") from None
        for key, got in (("entry_price", ann.entry_price), ("exit_price", ann.exit_price)):
            want = outcome.get(key)
            if want is not None and not np.isclose(float(want), got, rtol=1e-9):
                raise UserInputError(
                    f"{where}: {key} {want} does not match the stored candle close {got}: "
                    "import test cases made from the same market data"
                )
        return ann
