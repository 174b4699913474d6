"""A long ledger read for evaluation within a small DuckDB memory bound (``store.ledger_frames``).

A replay's summary reads its whole ledger (a 200,000-candle replay makes ~1M predictions). As one
query joining every outcome and sorting every row, DuckDB ran out of memory at a 128MB bound;
read a range of decision times at a time, it reads at 64MB (here 500,000 predictions: the old
query ran out at 64MB from 300,000 on), and the process's peak RSS grows by less than three
times the frame (the pandas ranges, concatenated and sorted, grew ~4.5). A session evaluated a
timeframe at a time (as a replay's summary is) gives its whole evaluation, figure for figure.
The ledgers are built in bulk (``INSERT ... SELECT`` from ``range``): prediction ``i`` is model
``i % 5`` at second ``i // 5``; every seventh second's predictions are 1m (target a minute
later, so their targets come after later ranges' 1s ones); one in 50 has no outcome (pending),
one in 50 more expired; a resolved one's actual close is its reference close + 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.engine.evaluation.report import COLUMNS, evaluate
from ghostcandle.engine.evaluation.session_evaluation import evaluate_stored
from ghostcandle.store import ledger_frames
from ghostcandle.store.db import MEMORY_ENV, Database
from ghostcandle.store.ledger_frames import CHUNK_ROWS, ORDER
from ghostcandle.store.predictions import PredictionLedger

MODELS = ("excursion_mlp", "persistence", "drift", "ewma", "linear")
BIG = 500_000


def fill(db: Database, n: int, sid: str, one_m_every: int = 7) -> None:
    """Insert ``n`` predictions of session ``sid`` and their outcomes (see the module doc).

    Every ``one_m_every``-th second's predictions are 1m (every 60th: one 1m candle after the
    other, as a broker can trade them).
    """
    second = "(i // 5)"
    one_m = f"{second} % {int(one_m_every)} = 0"
    with db.transaction() as con:
        con.execute(
            f"""INSERT INTO prediction_rows SELECT
              md5($sid || i::VARCHAR)[:24], $sid, $models[i % 5 + 1], 'v1', 'MEM/USDT',
              CASE WHEN {one_m} THEN '1m' ELSE '1s' END, md5({second}::VARCHAR)[:24],
              1000 * {second}, 1000 * {second},
              1000 * {second} + CASE WHEN {one_m} THEN 60000 ELSE 1000 END,
              1000 * {second} + 180000, 100.0 + (i % 97) / 10, 100.0, 101.0, 99.0, 100.5, 10.0,
              ['BUY', 'SELL', 'HOLD'][i % 3 + 1], 0.2, 0.7, 0.1, 0.7, 1000 * {second}
            FROM range($n) t(i)""",
            {"n": n, "sid": sid, "models": list(MODELS)},
        )
        con.execute(
            f"""INSERT INTO prediction_outcomes SELECT
              md5($sid || i::VARCHAR)[:24], $sid, 1000 * {second},
              CASE WHEN i % 50 = 1 THEN 'expired' ELSE 'resolved' END,
              100.0, 101.0, 99.0, 101.0 + (i % 97) / 10, 11.0, 0.001, 0.1, i % 2 = 0, 0.001,
              1000 * {second} + 1000
            FROM range($n) t(i) WHERE i % 50 <> 0""",
            {"n": n, "sid": sid},
        )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "big.duckdb"
    with Database(path) as db:
        fill(db, BIG, "big")
    return path


@pytest.fixture(scope="module")
def ranged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of a few ranges (``CHUNK_ROWS`` each) and another session's predictions."""
    path = tmp_path_factory.mktemp("ledger") / "ranged.duckdb"
    with Database(path) as db:
        fill(db, 3 * CHUNK_ROWS + 1234, "s1")
        fill(db, 2000, "other")
    return path


def test_a_long_ledger_reads_within_64mb(big: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "64MB")
    with Database(big) as db:
        df = PredictionLedger(db).frame("big", columns=COLUMNS)
    i = np.arange(BIG)
    resolved = i[i % 50 > 1]
    assert len(df) == len(resolved)
    assert list(df.columns) == list(COLUMNS)
    assert (df["status"] == "resolved").all()
    # every row joined its own outcome
    assert ((df["actual_close"] - df["ref_close"]).round(9) == 1.0).all()
    assert df["model"].value_counts().to_dict() == {
        m: int((resolved % 5 == k).sum()) for k, m in enumerate(MODELS)
    }


@pytest.mark.parametrize("statuses", [("resolved",), ("pending", "expired")])
def test_ranges_read_the_rows_and_order_of_the_view(
    ranged: Path, statuses: tuple[str, ...]
) -> None:
    with Database(ranged) as db:
        df = PredictionLedger(db).frame("s1", statuses=statuses)
        # the reference is the old one-query read: it sorts all ~150,000 rows at once, which
        # is what the ranged read avoids, and can run out at the default bound (it did in CI)
        db.con.execute("SET memory_limit = '1GB'")
        view = db.con.execute(
            "SELECT * FROM predictions WHERE session_id = 's1' AND status IN "
            f"(SELECT unnest($st)) ORDER BY {', '.join(ORDER)}",
            {"st": list(statuses)},
        ).df()
    assert len(view) > 0
    pd.testing.assert_frame_equal(df, view)


def _kb(field: str) -> int:
    """Return a ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``: the peak RSS) in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def test_a_long_ledger_is_read_holding_its_frame_about_once(
    ranged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Peak RSS growth of the read (Linux's VmHWM, reset first) below three frames' size.

    Read as pandas ranges, concatenated and sorted, it grew ~5 frames (the ranges, their
    concatenation, the sorted copy, and DuckDB's buffers and the C heap holding on).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the RSS now
    except OSError:
        pytest.skip("needs Linux's /proc/self/clear_refs")
    monkeypatch.setenv(MEMORY_ENV, "64MB")
    with Database(ranged) as db:
        with db.cursor() as cur:  # DuckDB's cache filled, as a replay's loop leaves it
            cur.execute("SELECT sum(ref_close), sum(actual_close) FROM predictions").fetchall()
        before = _kb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")
        df = PredictionLedger(db).frame("s1", columns=COLUMNS)
        grown = (_kb("VmHWM") - before) * 1024
    frame = int(df.memory_usage(deep=True).sum())
    assert grown < 3 * frame, (grown, frame)


def test_a_session_evaluated_a_timeframe_at_a_time_is_its_whole_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small ranges: the 1m targets of a range come after the next ranges' 1s ones
    monkeypatch.setattr(ledger_frames, "CHUNK_ROWS", 2_000)
    with Database(tmp_path / "tf.duckdb") as db:
        fill(db, 12_000, "s1", one_m_every=60)
        fill(db, 500, "other", one_m_every=60)
        ledger = PredictionLedger(db)
        whole = evaluate(ledger.frame("s1", columns=COLUMNS), threshold=0.002)
        by_timeframe = evaluate_stored(ledger, "s1", 0.002)
    assert {tf for figures in whole.values() for tf in figures} == {"1s", "1m"}
    assert json.dumps(by_timeframe) == json.dumps(whole)  # every figure, in the same order


@pytest.mark.parametrize("frame_rows", [0, 10**9], ids=["by-columns", "as-a-frame"])
def test_an_evaluation_leaves_duckdb_holding_no_more_cache_than_it_keeps(
    tmp_path: Path, frame_rows: int
) -> None:
    """Each range read is trimmed from DuckDB's cache (it is not read again): an evaluation
    ends holding at most ``cache_keep`` (without the trims, 8 MB of blocks here)."""
    with Database(tmp_path / "trim.duckdb") as db:
        fill(db, 150_000, "s1", one_m_every=60)
        db.con.execute("CHECKPOINT")
        db.cache_keep = 2 << 20
        evaluate_stored(PredictionLedger(db), "s1", 0.002, frame_rows=frame_rows)
        assert db.memory()["bytes"] <= db.cache_keep


@pytest.mark.parametrize("frame_rows", [0, 10**9], ids=["by-columns", "as-a-frame"])
def test_an_evaluation_leaves_duckdb_holding_no_more_than_it_held_before(
    tmp_path: Path, frame_rows: int
) -> None:
    """Below ``cache_keep``, what DuckDB held when the evaluation began is its bound: a replay's
    summary leaves the process as it found it (with ``cache_keep`` alone, ~8 MB of blocks here
    stay, up to the 24 MB keep)."""
    with Database(tmp_path / "held.duckdb") as db:
        fill(db, 150_000, "s1", one_m_every=60)
        db.con.execute("CHECKPOINT")
        db.trim_cache(1 << 20)
        before = db.memory()["bytes"]
        assert before <= 1 << 20 < db.cache_keep
        evaluate_stored(PredictionLedger(db), "s1", 0.002, frame_rows=frame_rows)
        assert db.memory()["bytes"] <= before
        # the bound is this thread's and the block's: trims elsewhere keep ``cache_keep``
        with db.cache_bounded() as bound:
            assert bound <= before
        # the read filled the cache again: the ids (150,000 md5 strings, ~3.6 MB) cannot all be
        # among the 1 MB held (ref_close, 97 values, compressed to less, could be: CI, once)
        db.con.execute("SELECT max(prediction_id) FROM prediction_rows").fetchall()
        assert db.memory()["bytes"] > before
        db.trim_cache()
        assert before < db.memory()["bytes"] <= db.cache_keep
