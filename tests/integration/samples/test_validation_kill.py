"""kill -9 during outcome validation: the rerun resumes, and nothing is validated twice.

A child process validates thousands of pending outcomes in batches of 40, one transaction
each, and is SIGKILLed after a seeded number of committed batches. The database then holds
whole batches only (a multiple of 40 rows, all written by the killed validator). A second run
validates exactly the rest: the first run's rows keep their validator id (none re-validated),
and every figure equals that of a run that was never killed.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.outcomes import OutcomeConfig
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import SYMBOL, T0, M

BATCH = 40
COPIES = 4  # samples per decision time (e.g. several models deciding at the same close)
CANDLES = 2 * 1440
NOW = T0 + CANDLES * M
CHILD = """
import sys
from ghostcandle.domain.outcomes import OutcomeConfig
from ghostcandle.engine.samples.outcomes import OutcomeValidator
from ghostcandle.store.db import Database

with Database(sys.argv[1]) as db:
    v = OutcomeValidator(db, config=OutcomeConfig(horizons={"1m": 5}), batch_size=int(sys.argv[3]),
                         on_batch=lambda r: print("batch", r.validated, flush=True))
    print("id", v.validator_id, flush=True)
    print("done", v.run_due(int(sys.argv[2])).validated, flush=True)
"""


def _seed(path: Path) -> int:
    with Database(path) as db:
        df = synthetic_candles(CANDLES, "1m", start_ms=T0, seed=5)
        CandleStore(db).write(SYMBOL, "1m", df, provenance=CandleSource.FILE, source="test")
        v = OutcomeValidator(db, config=OutcomeConfig(horizons={"1m": 5}), clock=ReplayClock(T0))
        actions = [None, Action.BUY, Action.SELL, Action.HOLD]
        reqs = [
            OutcomeRequest(f"s{i:05d}-{c}", SYMBOL, "1m", T0 + (i + 1) * M, action_taken=actions[c])
            for i in range(25, CANDLES - 10)
            for c in range(COPIES)
        ]
        return v.enqueue(reqs)


def _child(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(NOW), str(BATCH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _table(path: Path) -> pd.DataFrame:
    with Database(path, read_only=True) as db, db.cursor() as cur:
        df: pd.DataFrame = cur.execute("SELECT * FROM outcomes ORDER BY sample_id").df()
    return df


def test_kill_during_validation_resumes_without_validating_twice(tmp_path: Path) -> None:
    path = tmp_path / "kill.duckdb"
    total = _seed(path)
    assert total > 10_000
    reference = tmp_path / "reference.duckdb"
    shutil.copy(path, reference)
    kill_after = random.Random(20240726).randint(3, total // BATCH // 3)

    proc = _child(path)
    assert proc.stdout is not None
    first_id = proc.stdout.readline().split()[1]
    for _ in range(kill_after):
        assert proc.stdout.readline().startswith("batch"), proc.stderr.read() if proc.stderr else ""
    assert proc.poll() is None  # still validating when killed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    killed = _table(path)
    done = killed[killed["status"] == "validated"]
    assert len(done) >= kill_after * BATCH  # every batch it reported was committed
    assert len(done) % BATCH == 0  # and only whole batches
    assert set(done["validator_id"]) == {first_id}
    assert (killed["status"] != "expired").all()

    rerun = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(NOW), str(BATCH)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    lines = rerun.stdout.split("\n")
    second_id = lines[0].split()[1]
    assert lines[-2] == f"done {total - len(done)}"

    final = _table(path)
    assert (final["status"] == "validated").all()
    by_id = final["validator_id"].value_counts().to_dict()
    assert by_id == {first_id: len(done), second_id: total - len(done)}
    # the first run's rows are untouched by the second
    kept = final.set_index("sample_id").loc[done["sample_id"]]
    assert (kept["validated_at"].to_numpy() == done["validated_at"].to_numpy()).all()

    # and the figures are those of a run never killed
    with Database(reference) as db:
        v = OutcomeValidator(db, config=OutcomeConfig(horizons={"1m": 5}), batch_size=5000)
        assert v.run_due(NOW).validated == total
    clean = _table(reference)
    cols = ["sample_id", "forward_return", "mfe", "mae", "best_action", "taken_profit",
            "profitability", "is_profitable"]  # fmt: skip
    pd.testing.assert_frame_equal(final[cols], clean[cols])
