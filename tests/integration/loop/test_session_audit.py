"""``audit session``: a clean training replay passes; each kind of tampering is named, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.evaluation.session_audit import audit_session, version_step
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from .conftest import START, fill, small_config

SESSION = "audited"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database holding a finished every_candle replay (pivots on) of 90 minutes."""
    path = tmp_path_factory.mktemp("audit") / "trained.duckdb"
    with Database(path) as db:
        fill(db)
        cfg = small_config(SESSION, mode="every_candle", flush_every=7)
        run_replay(db, ReplayRequest(cfg, START, START + 90 * MINUTE_MS))
    return path


def _copy(trained: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy.duckdb"
    out.write_bytes(trained.read_bytes())
    return out


def _cli(db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["audit", "session", "--db", str(db), "--session", SESSION, *extra])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_version_names_their_step() -> None:
    assert version_step("cnn-b18dc410-51") == 51
    assert version_step("persistence-0a1b2c3d-0") == 0
    assert version_step("odd") is None


def test_clean_replay_with_pivot_labels_passes(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Database(trained, read_only=True) as db:
        steps = SessionStore(db).steps(SESSION)
        with db.cursor() as cur:
            pivots = {
                str(r[0])
                for r in cur.execute(
                    "SELECT frame_id FROM training_samples WHERE source = 'pivot'"
                ).fetchall()
            }
    # confirmed pivots' frames train in the candle batches that follow their confirmation
    assert {s.reason for s in steps if s.status == "ok"} == {"candle"}
    assert pivots
    assert pivots <= {f for s in steps if s.status == "ok" for f in s.frame_ids}
    status, said = _cli(trained, capsys)
    assert status == 0, said
    assert said.strip().endswith("ok")
    status, said = _cli(trained, capsys, "--json")
    report = json.loads(said)
    assert (status, report["ok"], report["breaches"]) == (0, True, {})
    assert report["good_steps"] == sum(s.status == "ok" for s in steps) > 20


@pytest.mark.parametrize(
    ("tamper", "kinds"),
    [
        # a step the weights hold but the ledger lost (a checkpoint newer than the ledger)
        (
            "DELETE FROM training_steps WHERE status = 'ok' AND step = 5",
            {"unrecorded_step", "progress_mismatch"},
        ),
        # a step applied twice (a checkpoint older than the ledger)
        (
            "INSERT INTO training_steps SELECT * FROM training_steps WHERE step = 7",
            {"repeated_step", "progress_mismatch"},
        ),
        # a step submitted later than predictions made by weights that hold it
        (
            "UPDATE training_steps SET at_time = at_time + 3600000 WHERE step = 9",
            {"step_after_decision"},
        ),
        # a step trained on a frame before its target candle had closed
        (
            "UPDATE training_steps SET at_time = at_time - 120000 WHERE step = 11",
            {"label_after_step"},
        ),
    ],
)
def test_tampering_is_named(
    tamper: str,
    kinds: set[str],
    trained: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db_path = _copy(trained, tmp_path)
    with Database(db_path) as db:
        db.con.execute(tamper + f" AND session_id = '{SESSION}'")
        audit = audit_session(db, SESSION)
    assert {k for k, n in audit.counts.items() if n} == kinds
    status, said = _cli(db_path, capsys)
    assert status == 1
    for kind in kinds:
        assert f"BREACH {kind}: " in said


def test_unknown_session_is_one_line_exit_2(
    trained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    status = main(["audit", "session", "--db", str(trained), "--session", "nope"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert "no session 'nope'" in err
