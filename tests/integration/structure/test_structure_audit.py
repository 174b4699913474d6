"""The look-ahead audit and the structure CLI on the real ETH/USDT 1m data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.cli.main import main
from ghostcandle.engine.structure.engine import StructureResult, compute_structure
from ghostcandle.engine.structure.lookahead_audit import audit_lookahead
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.pivots import PivotStore

SYM = "ETH/USDT"


@pytest.fixture(scope="module")
def real_db(eth_1m_2024: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("structure") / "real.duckdb"
    assert main(["ingest", str(eth_1m_2024), "--db", str(path), "--json"]) == 0
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_audit_cli_finds_no_lookahead_on_real_data(
    real_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["audit", "lookahead", "--symbol", SYM, "--timeframe", "1m", "--cuts", "8"]
    rc = main([*args, "--db", str(real_db), "--json"])
    report = _json(capsys)
    assert rc == 0
    assert report["cuts"] == 8
    assert report["candles"] == 43208
    assert report["mismatch_count"] == 0
    assert report["mismatches"] == []
    # every indicator value up to each cut, plus the pivots and moves known there
    assert report["values_compared"] > 8 * 13 * 1000


def test_audit_cli_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "empty.duckdb"
    Database(db_path).close()
    rc = main(["audit", "lookahead", "--symbol", SYM, "--timeframe", "1h", "--db", str(db_path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no 1h candles of ETH/USDT are stored" in err
    assert "ingest" in err


def _leaky_indicator(symbol: str, tf: str, candles: pd.DataFrame) -> StructureResult:
    """A 'feature' that peeks: the SMA column is shifted to use the next candle's close."""
    res = compute_structure(symbol, tf, candles)
    ind = res.indicators.copy()
    close = candles["close"].to_numpy()
    ind[:-1, 0] = (ind[:-1, 0] + close[1:]) / 2
    return StructureResult(res.open_time, ind, res.pivots, res.rapid_moves)


def _leaky_pivots(symbol: str, tf: str, candles: pd.DataFrame) -> StructureResult:
    """Pivots that claim to be known at their own candle's close (before confirmation)."""
    res = compute_structure(symbol, tf, candles)
    d = 60_000
    early = [
        type(p)(*[getattr(p, f) for f in p.__slots__[:-1]], p.pivot_time + d) for p in res.pivots
    ]
    return StructureResult(res.open_time, res.indicators, early, res.rapid_moves)


def test_audit_catches_a_leaky_indicator_and_leaky_pivots(eth_1m_2024: Path) -> None:
    df = pd.read_csv(eth_1m_2024).iloc[:5000]
    clean = audit_lookahead(SYM, "1m", df, cuts=5)
    assert clean.ok
    assert clean.values_compared > 0
    leak = audit_lookahead(SYM, "1m", df, cuts=5, compute=_leaky_indicator)
    assert not leak.ok
    assert {m.what for m in leak.mismatches} == {"indicator"}
    assert all(m.key.startswith("sma_10@") for m in leak.mismatches)
    leak = audit_lookahead(SYM, "1m", df, cuts=5, compute=_leaky_pivots)
    assert not leak.ok
    assert {m.what for m in leak.mismatches} == {"pivot"}


def test_pivots_and_indicators_cli_store_and_print_the_batch_result(
    real_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    base = ["--symbol", SYM, "--timeframe", "1h", "--db", str(real_db), "--json"]
    assert main(["pivots", *base, "--level", "2"]) == 0
    out = _json(capsys)
    with Database(real_db, read_only=True) as db:
        candles = CandleStore(db).read(SYM, "1h")
        stored = PivotStore(db).read(SYM, "1h", level=2)
    full = compute_structure(SYM, "1h", candles)
    want = sorted(
        (p for p in full.pivots if p.level == 2), key=lambda p: (p.pivot_time, p.pivot_type)
    )
    assert [(r["pivot_time"], r["pivot_type"], r["confirmed_at"]) for r in out["pivots"]] == [
        (p.pivot_time, p.pivot_type, p.confirmed_at) for p in want
    ]
    assert sorted(stored, key=lambda p: (p.pivot_time, p.pivot_type)) == want
    assert out["count"] == len(want) > 0

    t0 = int(candles["open_time"].iloc[100])
    assert main(["indicators", *base, "--from", str(t0), "--to", str(t0 + 3_600_000)]) == 0
    rows = _json(capsys)["rows"]
    assert [r["open_time"] for r in rows] == [t0, t0 + 3_600_000]
    np.testing.assert_allclose(
        [rows[0][c] for c in ("sma_20", "rsi_14")],
        full.indicators[100, [1, 5]],
        rtol=1e-12,
    )
