"""Read candle files into canonical batches (see ``ghostcandle.domain.candles``).

Formats:

- Binance kline CSV: 12 columns (open time, OHLCV, close time, ...), with or without header;
- generic OHLCV CSV with the header ``open_time,open,high,low,close,volume`` (extra columns are
  ignored); both optionally gzipped;
- Parquet with the same columns (``open_time`` may also be a timestamp column).

Open times in microseconds (Binance's newer dumps) are recognised per value and turned into
milliseconds. A file that cannot be read raises ``UserInputError`` naming the file and the
problem; rows that can be read but hold bad values are left to validation.

Rows come back as an Arrow table of the canonical columns (no pandas on the way: building a
frame cost as much as validating it); a gzipped CSV is inflated by zlib-ng (about twice as fast
as zlib) on a thread of its own while Arrow parses it on its threads.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from zlib_ng import gzip_ng_threaded, zlib_ng

from ghostcandle.domain.candles import CANDLE_COLUMNS, VALUE_COLUMNS
from ghostcandle.domain.errors import UserInputError

#: Binance kline CSV columns, in file order.
BINANCE_KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
)
#: zlib-ng's error for a corrupt deflate stream (its stub types it as an instance)
_ZLIB_ERROR = cast("type[Exception]", zlib_ng.error)
_MICROS_THRESHOLD = 10**14  # epoch ms stays below this until year 5138; epoch us is above


@dataclass(frozen=True)
class ReadResult:
    """Rows read from one file, as a canonical (unvalidated, unsorted) batch.

    ``table`` holds ``CANDLE_COLUMNS``: ``open_time`` int64 epoch ms, the values float64 (NaN
    where a value could not be read), each in one chunk.
    """

    path: Path
    table: pa.Table
    rows_read: int
    format: str

    @property
    def candles(self) -> pd.DataFrame:
        """Return the rows as a canonical DataFrame, in file order."""
        return pd.DataFrame({c: self.table.column(c).to_numpy() for c in CANDLE_COLUMNS})


def read_candle_file(path: str | Path) -> ReadResult:
    """Read one candle file; raise ``UserInputError`` if it cannot be read at all."""
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"{p}: no such file: check the path")
    if p.stat().st_size == 0:
        raise UserInputError(f"{p}: the file is empty: nothing to ingest")
    name = p.name.lower()
    if name.endswith((".parquet", ".pq")):
        return _read_parquet(p)
    return _read_csv(p)


def _first_line(p: Path) -> str:
    """Return the first line; a UTF-8 byte order mark (spreadsheet exports) is dropped."""
    try:
        if p.name.lower().endswith(".gz"):
            with gzip.open(p, "rt", encoding="utf-8-sig", errors="strict") as fh:
                return fh.readline().strip()
        with p.open("r", encoding="utf-8-sig", errors="strict") as fh:
            return fh.readline().strip()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise UserInputError(
            f"{p}: not a readable CSV file ({type(exc).__name__}): check the file"
        ) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(p: Path) -> ReadResult:
    first = _first_line(p)
    if not first:
        raise UserInputError(f"{p}: the file is empty: nothing to ingest")
    fields = [f.strip().strip('"').lower() for f in first.split(",")]
    if _is_number(fields[0]):
        if len(fields) < 6:
            raise UserInputError(
                f"{p}: expected at least 6 columns (open_time,open,high,low,close,volume), "
                f"found {len(fields)}: check the file format"
            )
        names = list(BINANCE_KLINE_COLUMNS[: len(fields)]) + [
            f"extra_{i}" for i in range(len(BINANCE_KLINE_COLUMNS), len(fields))
        ]
        read_opts = pacsv.ReadOptions(column_names=names)
        fmt = "binance-kline-csv"
    else:
        missing = [c for c in CANDLE_COLUMNS if c not in fields]
        if missing:
            raise UserInputError(
                f"{p}: missing column(s) {', '.join(missing)}: the header must contain "
                "open_time,open,high,low,close,volume"
            )
        read_opts = pacsv.ReadOptions(column_names=fields, skip_rows=1)
        fmt = "ohlcv-csv"
    wanted = list(CANDLE_COLUMNS)
    typed = {"open_time": pa.int64(), **{c: pa.float64() for c in VALUE_COLUMNS}}
    convert = pacsv.ConvertOptions(include_columns=wanted, column_types=typed)
    try:
        if p.name.lower().endswith(".gz"):
            # inflated on a thread of its own while Arrow parses what came before
            with gzip_ng_threaded.open(p, "rb") as fh:  # type: ignore[no-untyped-call]
                table = pacsv.read_csv(fh, read_options=read_opts, convert_options=convert)
        else:
            table = pacsv.read_csv(p, read_options=read_opts, convert_options=convert)
        out = _from_arrow(table)
    except pa.ArrowInvalid:
        out = _frame_table(_read_csv_lenient(p, read_opts, wanted))
    except EOFError:  # zlib-ng: the gzip stream ends before its end marker
        raise _unreadable(p, "CSV", EOFError("truncated gzip stream")) from None
    except (OSError, _ZLIB_ERROR) as exc:  # a corrupt gzip stream, a read error
        raise _unreadable(p, "CSV", exc) from None
    return ReadResult(p, out, out.num_rows, fmt)


def _unreadable(p: Path, kind: str, exc: Exception) -> UserInputError:
    reason = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
    return UserInputError(
        f"{p}: not a readable {kind} file ({reason}): check the file (a cut-short download?)"
    )


def _read_csv_lenient(p: Path, read_opts: pacsv.ReadOptions, wanted: list[str]) -> pd.DataFrame:
    """Read every value as text and coerce: unparseable values become NaN (rejected later)."""
    try:
        table = pacsv.read_csv(
            p,
            read_options=read_opts,
            parse_options=pacsv.ParseOptions(invalid_row_handler=lambda _row: "skip"),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, column_types={c: pa.string() for c in wanted}
            ),
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(p, "CSV", exc) from None
    raw = table.to_pandas()
    t = pd.to_numeric(raw["open_time"], errors="coerce")
    bad_time = t.isna()
    df = pd.DataFrame({c: pd.to_numeric(raw[c], errors="coerce") for c in VALUE_COLUMNS})
    # A row whose time cannot be read keeps its place as a non-finite row so it is counted.
    df.loc[bad_time.to_numpy(), "open"] = np.nan
    df.insert(0, "open_time", _to_millis(t.fillna(0).to_numpy(dtype=np.int64)))
    return df


def _from_arrow(table: pa.Table) -> pa.Table:
    """Return the canonical columns of ``table``: open times in ms, values float64, one chunk."""
    t = table.column("open_time")
    if pa.types.is_timestamp(t.type):
        t = t.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    elif not pa.types.is_integer(t.type):
        t = t.cast(pa.int64())
    open_time = _to_millis(t.to_numpy(zero_copy_only=False).astype(np.int64))
    data = {"open_time": pa.array(open_time)}
    for c in VALUE_COLUMNS:
        col = table.column(c).cast(pa.float64())
        data[c] = pa.array(col.to_numpy(zero_copy_only=False))
    return pa.table(data)


def _frame_table(df: pd.DataFrame) -> pa.Table:
    """Return a canonical frame's columns as an Arrow table (NaN stays NaN, not null)."""
    return pa.table({c: pa.array(df[c].to_numpy()) for c in CANDLE_COLUMNS})


def _to_millis(t: np.ndarray) -> np.ndarray:
    micros = t >= _MICROS_THRESHOLD
    if micros.any():
        t = t.copy()
        # a value not a whole number of ms stays unaligned and is rejected by validation
        t[micros] = np.where(t[micros] % 1000 == 0, t[micros] // 1000, t[micros] // 1000 + 1)
    return t


def _read_parquet(p: Path) -> ReadResult:
    try:
        schema = pq.read_schema(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise _unreadable(p, "Parquet", exc) from None
    missing = [c for c in CANDLE_COLUMNS if c not in schema.names]
    if missing:
        raise UserInputError(
            f"{p}: missing column(s) {', '.join(missing)}: the file must contain "
            "open_time,open,high,low,close,volume"
        )
    try:
        table = pq.read_table(p, columns=list(CANDLE_COLUMNS))
    except (pa.ArrowInvalid, OSError) as exc:  # a footer that reads over damaged pages
        raise _unreadable(p, "Parquet", exc) from None
    if table.num_rows == 0:
        raise UserInputError(f"{p}: the file has no rows: nothing to ingest")
    try:
        out = _from_arrow(table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UserInputError(
            f"{p}: column types cannot be read as candles ({exc}): check the file"
        ) from None
    return ReadResult(p, out, out.num_rows, "parquet")
