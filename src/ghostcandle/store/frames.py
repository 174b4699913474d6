"""The frame store: frame references of predictions, kept by reference, never as candle data.

A stored frame is a few hundred bytes: its windows as ``tf:end_open_time:length``, the
normalisation parameters and the input hash. ``get_inference_data`` re-reads the candles from the
candle store and checks they still hash to what the model saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import duckdb
import pyarrow as pa

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.window import Window, WindowSpec
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

_COLUMNS = (
    "frame_id",
    "model",
    "model_version",
    "symbol",
    "timeframe",
    "decision_time",
    "target_time",
    "windows",
    "norm_params",
    "input_hash",
)


def encode_windows(windows: Sequence[WindowSpec]) -> str:
    """Return the compact text form of window specs (``1m:1722000000000:600|1h:...``)."""
    return "|".join(f"{w.timeframe}:{w.end_open_time}:{w.length}" for w in windows)


def decode_windows(text: str) -> tuple[WindowSpec, ...]:
    """Parse ``encode_windows`` output."""
    out = []
    for part in text.split("|"):
        tf, end, length = part.split(":")
        out.append(WindowSpec(tf, int(end), int(length)))
    return tuple(out)


def encode_norm(params: Mapping[str, float]) -> str:
    """Return normalisation parameters as compact JSON; floats keep their exact repr."""
    return json.dumps(dict(params), separators=(",", ":"), sort_keys=True)


def frame_row(ref: FrameRef, timeframe: str) -> tuple[object, ...]:
    """Return the row a frame reference is stored as (same order as the table)."""
    return (
        ref.frame_id,
        ref.model,
        ref.model_version,
        ref.symbol,
        timeframe,
        ref.decision_time,
        ref.target_time,
        encode_windows(ref.windows),
        encode_norm(ref.norm_params),
        ref.input_hash,
    )


def stored_bytes(ref: FrameRef, timeframe: str) -> int:
    """Return the payload bytes one stored frame takes (text as UTF-8, integers as 8 bytes)."""
    total = 0
    for v in frame_row(ref, timeframe):
        total += 8 if isinstance(v, int) or v is None else len(str(v).encode())
    return total


def copy_bytes(windows: Sequence[Window]) -> int:
    """Return the bytes a copy of the frame's candle windows would take."""
    return sum(w.nbytes for w in windows)


class FrameStore:
    """Register frame references and re-materialise their input from the candle store."""

    def __init__(self, db: Database, candles: CandleStore | None = None) -> None:
        self.db = db
        self.candles = candles or CandleStore(db)

    def register_inference_frame(self, ref: FrameRef, timeframe: str) -> None:
        """Store one frame reference (idempotent: the same id is stored once)."""
        self.register_many([(ref, timeframe)])

    def register_many(self, items: Iterable[tuple[FrameRef, str]]) -> int:
        """Store frame references in one transaction; return how many were given."""
        rows = [frame_row(ref, tf) for ref, tf in items]
        if not rows:
            return 0
        with self.db.transaction() as con:
            self.register_in(con, rows)
        return len(rows)

    def register_in(
        self, con: duckdb.DuckDBPyConnection, rows: Sequence[tuple[object, ...]]
    ) -> None:
        """Insert ``frame_row`` rows inside an open transaction ``con`` (duplicates ignored).

        The table has no key (migration 24): a frame already stored, or given twice, is kept
        as first stored. A frame's id is a hash of its decision time among the rest, so the
        lookup of stored ones reads only the batch's decision-time range. The stored ids are
        read and left out here, and the rest appended as a relation from Arrow: no registered
        view and no anti-join, whose hash table leaves its buffers' nodes in DuckDB's eviction
        queues (~0.5 KB a write at a live tick's pace, held until a queue passes ~32k nodes).
        """
        if not rows:
            return
        first: dict[object, tuple[object, ...]] = {}
        for r in rows:
            first.setdefault(r[0], r)
        at = _COLUMNS.index("decision_time")
        times = [cast(int, r[at]) for r in first.values()]
        stored = {
            str(r[0])
            for r in con.execute(
                "SELECT frame_id FROM frames WHERE decision_time BETWEEN $lo AND $hi",
                {"lo": min(times), "hi": max(times)},
            ).fetchall()
        }
        new = [r for fid, r in first.items() if fid not in stored]
        if not new:
            return
        cols = list(zip(*new, strict=True))
        table = pa.table(
            {
                name: pa.array(
                    list(col),
                    type=pa.int64() if name in ("decision_time", "target_time") else pa.string(),
                )
                for name, col in zip(_COLUMNS, cols, strict=True)
            }
        )
        con.from_arrow(table).insert_into("frames")

    def get(self, frame_id: str) -> FrameRef:
        """Return the stored reference ``frame_id``; raise ``DataMissingError`` if unknown."""
        found = self.get_many([frame_id])
        if frame_id not in found:
            raise DataMissingError(f"frame {frame_id} is not stored: check the frame id")
        return found[frame_id]

    def get_many(self, frame_ids: Iterable[str]) -> dict[str, FrameRef]:
        """Return the stored references among ``frame_ids`` by id, in one read."""
        ids = list(dict.fromkeys(frame_ids))
        if not ids:
            return {}
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM frames WHERE frame_id IN (SELECT unnest($ids))",
                {"ids": ids},
            ).fetchall()
        out: dict[str, FrameRef] = {}
        for r in rows:
            out.setdefault(str(r[0]), _ref(r))
        return out

    def timeframe_of(self, frame_id: str) -> str:
        """Return the timeframe whose next candle the frame's prediction targets."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT timeframe FROM frames WHERE frame_id = ?", [frame_id]
            ).fetchone()
        if row is None:
            raise DataMissingError(f"frame {frame_id} is not stored: check the frame id")
        return str(row[0])

    def at_decision(self, symbol: str, timeframe: str, decision_time: int) -> list[FrameRef]:
        """Return every frame of ``symbol``/``timeframe`` decided at ``decision_time``."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM frames "
                "WHERE symbol = ? AND timeframe = ? AND decision_time = ? ORDER BY frame_id",
                [symbol, timeframe, decision_time],
            ).fetchall()
        return [_ref(r) for r in rows]

    def get_inference_data(self, ref: FrameRef) -> list[Window]:
        """Re-materialise the exact input of ``ref``; raise if it no longer hashes the same."""
        return self.candles.materialise(ref)

    def count(self) -> int:
        """Return how many frames are stored."""
        with self.db.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM frames").fetchone()
        return int(row[0]) if row else 0


def _ref(row: Sequence[Any]) -> FrameRef:
    return FrameRef(
        frame_id=str(row[0]),
        model=str(row[1]),
        model_version=str(row[2]),
        symbol=str(row[3]),
        decision_time=int(row[5]),
        windows=decode_windows(str(row[7])),
        norm_params={str(k): float(v) for k, v in json.loads(str(row[8])).items()},
        input_hash=str(row[9]),
        target_time=None if row[6] is None else int(row[6]),
    )
