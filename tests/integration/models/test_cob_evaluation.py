"""The cob evaluation on a small real slice: splits, counts and a baseline recomputed by hand."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghostcandle.engine.evaluation.cob_direction import (
    HORIZONS,
    TRAIN_FRACTION,
    _decisions,
    _inputs,
    evaluate_cob,
    load_captures,
)
from ghostcandle.ingest.depth_service import ingest_depth_files
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthStore

FILE = "binance-spot_ETHUSDT_ws-raw-depth100ms-trade_2024-08-08_2024-08-08.txt.gz"


@pytest.fixture
def eth_depth(shared_data: Path, db: Database) -> DepthStore:
    """Return a depth store holding the real ETH/USDT capture of 2024-08-08 (~345 s)."""
    store = DepthStore(db)
    ingest_depth_files(store, [shared_data / FILE])
    return store


def test_training_labels_never_reach_into_the_test_part(eth_depth: DepthStore) -> None:
    (capture,) = load_captures(eth_depth, ["ETH/USDT"])
    train, test = _decisions(capture, 40)
    split = capture.times[0] + TRAIN_FRACTION * (capture.times[-1] - capture.times[0])
    assert len(train) > 100
    assert len(test) > 50
    assert capture.times[train].max() + 1000 * max(HORIZONS) <= split
    assert capture.times[test].min() >= split
    assert test.max() + max(HORIZONS) < len(capture.times)


def test_inputs_read_no_book_after_the_decision(eth_depth: DepthStore) -> None:
    (capture,) = load_captures(eth_depth, ["ETH/USDT"])
    i = np.array([100])
    before, _ = _inputs(capture, i, 30, 10)
    later = capture.books.copy()
    later[101:] *= 1.5  # change every book after the decision
    cand = capture.candles.copy()
    cand[101:] *= 1.5
    after, _ = _inputs(replace(capture, books=later, candles=cand), i, 30, 10)
    assert np.array_equal(before.extras["depth"], after.extras["depth"])
    assert np.array_equal(before.windows["1s"], after.windows["1s"])


def test_table_counts_and_the_imbalance_rule_match_a_hand_count(eth_depth: DepthStore) -> None:
    result = evaluate_cob(eth_depth, ["ETH/USDT"], epochs=1)
    rows = {(r["method"], r["horizon_s"]): r for r in result["rows"]}
    assert {m for m, _ in rows} == {"cob", "imbalance L1", "imbalance L5", "persistence"}
    (cap,) = result["captures"]
    # by hand from the stored rows: every second of the capture, the test part at the end
    snaps = {s.time: s for s in eth_depth.read("ETH/USDT")}
    times = np.arange(cap["from"], cap["to"] + 1, 1000)
    mid = np.array([(snaps[t].bids[0][0] + snaps[t].asks[0][0]) / 2 for t in times])
    imb = np.array([snaps[t].bids[0][1] - snaps[t].asks[0][1] for t in times])
    test = np.arange(len(times) - cap["test"] - max(HORIZONS), len(times) - max(HORIZONS))
    for h in HORIZONS:
        move = np.sign(mid[test + h] - mid[test])
        moved = move != 0
        assert {r["moves"] for (_, hh), r in rows.items() if hh == h} == {int(moved.sum())}
        right = int((np.sign(imb[test]) == move)[moved].sum())
        assert rows[("imbalance L1", h)]["accuracy"] == pytest.approx(right / moved.sum())
        lo, hi = rows[("cob", h)]["ci95"]
        assert lo <= rows[("cob", h)]["accuracy"] <= hi


def test_cli_without_depth_says_how_to_get_it(tmp_path: Path) -> None:
    Database(tmp_path / "empty.duckdb").close()
    got = subprocess.run(
        [
            sys.executable,
            "-m",
            "ghostcandle.cli.main",
            "evaluate-cob",
            "--db",
            str(tmp_path / "empty.duckdb"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert got.returncode == 2
    assert len(got.stderr.strip().splitlines()) == 1
    assert "ingest-depth" in got.stderr
