"""``serve --ray``: two symbol groups as Ray actors on the exchange simulator; one is killed.

A real ``ghostcandle serve`` process joins the package's local Ray, and places ETH/USDT and
BTC/USDT each in a ``LiveGroupActor`` with its own DuckDB file, both streaming from the real
exchange simulator on 127.0.0.1. Both sessions predict and trade on paper; then the ETH/USDT
actor's process is killed (SIGKILL): Ray constructs it again, it resumes the same session from
its own file and checkpoint, and afterwards its file holds every prediction committed before
the kill, each once, contiguous candles and a clean session audit; BTC/USDT is not touched.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.engine.evaluation.session_audit import audit_session
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.store.db import Database

KILLED, KEPT = "ETH-USDT", "BTC-USDT"
HEADERS = {"X-Ghostcandle": "1"}
#: generous bounds for a loaded 2-core machine; the test takes far less when they are not hit
UP_S, RESTART_S = 120.0, 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], Any], timeout_s: float) -> Any:
    """Return the first truthy ``check()`` within ``timeout_s``, or fail saying ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s")


def _actors(client: httpx.Client) -> dict[str, dict[str, Any]]:
    body = client.get("/api/cluster").json()
    assert body["enabled"] is True
    return {a["group"]: a for a in body["actors"]}


def _committed(client: httpx.Client, group: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/cluster/{group}/predictions", params={"limit": 5000})
    assert r.status_code == 200, r.text
    return list(r.json()["predictions"])


@pytest.fixture(scope="module")
def served(local_ray: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The simulator and ``serve --ray`` joined to the local Ray; yields url, db path, log."""
    tmp = tmp_path_factory.mktemp("actors")
    start = LiveClock().now_ms() - 2 * HOUR_MS
    market = synthetic_market(("ETH/USDT", "BTC/USDT"), ("1s", "1m"), start_ms=start, seed=5)
    address = local_ray.get_runtime_context().gcs_address
    db = tmp / "ws.duckdb"
    port = _free_port()
    with ExchangeSimulator(market, SimulatorConfig(seed=5)) as sim:
        cmd = [sys.executable, "-m", "ghostcandle.cli.main", "serve", "--db", str(db)]
        cmd += ["--port", str(port), "--ray", address, "--exchange-url", sim.rest_url]
        cmd += ["--synthetic", "--intervals", "1s,1m", "--symbols", "ETH/USDT,BTC/USDT"]
        log = tmp / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:

            def answers() -> bool:
                assert proc.poll() is None, log.read_text()[-3000:]
                try:
                    return httpx.get(f"{url}/api/status", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            _wait("serve answering", answers, UP_S)
            yield {"url": url, "db": db, "log": log, "proc": proc}
        finally:
            proc.terminate()
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_killed_actor_resumes_its_session_and_loses_nothing(served: dict[str, Any]) -> None:
    with httpx.Client(base_url=served["url"], timeout=130, headers=HEADERS) as client:

        def both_up() -> bool:
            acts = _actors(client)
            return all(a.get("ready") and a.get("feed_connected") for a in acts.values())

        _wait("both actors connected to the simulator", both_up, UP_S)
        for group, mode in ((KILLED, "every_candle"), (KEPT, "none")):
            r = client.post(f"/api/cluster/{group}/start", json={"mode": mode})
            assert r.status_code == 202, r.text
        # a second start of a running group is refused, changing nothing
        again = client.post(f"/api/cluster/{KILLED}/start", json={"mode": "none"})
        assert again.status_code == 409, again.text
        _wait("predictions in both groups", lambda: all(
            len(_committed(client, g)) >= 20 for g in (KILLED, KEPT)
        ), UP_S)  # fmt: skip

        def trained() -> dict[str, dict[str, Any]] | None:
            acts = _actors(client)
            return acts if (acts[KILLED]["session"] or {}).get("checkpoint_step") else None

        # killed once a checkpoint of its own training is committed: the restart must load it
        before = _wait("a committed checkpoint of the learning session", trained, UP_S)
        victim, kept = before[KILLED], before[KEPT]
        step_before = victim["session"]["checkpoint_step"]
        assert victim["node_id"]
        assert victim["state"] == "running"
        sid = victim["session"]["session_id"]
        ids_before = {p["prediction_id"] for p in _committed(client, KILLED)}
        kept_before = len(_committed(client, KEPT))

        os.kill(victim["pid"], signal.SIGKILL)
        killed_at = time.monotonic()

        def resumed() -> dict[str, Any] | None:
            a = _actors(client).get(KILLED, {})
            ok = a.get("restarts") == 1 and a.get("pid") != victim["pid"]
            return a if ok and a.get("state") == "running" else None

        after = _wait("the killed actor running its session again", resumed, RESTART_S)
        restart_s = time.monotonic() - killed_at
        assert after["session"]["session_id"] == sid
        assert after["session"]["checkpoint_step"] >= step_before  # loaded, not fresh weights
        last_before = max(p["decision_time"] for p in _committed(client, KILLED) if
                          p["prediction_id"] in ids_before)  # fmt: skip
        _wait("new predictions after the restart", lambda: any(
            p["decision_time"] > last_before for p in _committed(client, KILLED)
        ), RESTART_S)  # fmt: skip
        now = _actors(client)
        assert now[KEPT]["pid"] == kept["pid"]
        assert now[KEPT]["restarts"] == 0
        assert len(_committed(client, KEPT)) > kept_before  # it kept predicting meanwhile
        ledger = client.get(f"/api/cluster/{KILLED}/ledger").json()
        assert ledger["session_id"] == sid
        assert ledger["paper"] is not None
        candles = client.get(
            f"/api/cluster/{KEPT}/candles", params={"symbol": "BTC/USDT", "timeframe": "1s"}
        ).json()["candles"]
        assert candles
        assert all(b["time"] - a["time"] == 1000 for a, b in itertools.pairwise(candles))
        for group in (KILLED, KEPT):
            r = client.post(f"/api/cluster/{group}/stop")
            assert r.status_code == 200, r.text
        folder = Path(client.get("/api/cluster").json()["folder"])
    served["proc"].terminate()  # the actors close their files
    served["proc"].wait(90)

    with Database(folder / f"{KILLED}.duckdb", read_only=True) as db:
        con = db.con
        sessions = con.execute("SELECT DISTINCT session_id FROM predictions").fetchall()
        assert sessions == [(sid,)]
        n, ids, keys = con.execute(
            "SELECT count(*), count(DISTINCT prediction_id), "
            "count(DISTINCT (model, timeframe, decision_time)) FROM predictions"
        ).fetchone() or (0, 0, 0)
        assert n == ids == keys > len(ids_before)
        stored = {r[0] for r in con.execute("SELECT prediction_id FROM predictions").fetchall()}
        assert ids_before <= stored  # nothing committed before the kill was lost
        print(
            f"kill -> running again {restart_s:.1f} s; predictions committed before the kill "
            f"{len(ids_before)}, stored at the end {n}, lost {len(ids_before - stored)}, "
            f"duplicated {n - keys}; checkpoint step at the kill {step_before}"
        )
        for tf, step in (("1s", 1000), ("1m", 60_000)):
            first, last, rows = con.execute(
                "SELECT min(open_time), max(open_time), count(*) FROM candles "
                "WHERE symbol = 'ETH/USDT' AND timeframe = ?",
                [tf],
            ).fetchone() or (0, 0, 0)
            assert rows == (last - first) // step + 1  # contiguous across the kill
        progress = con.execute(
            "SELECT progress_time FROM loop_sessions WHERE session_id = ?", [sid]
        ).fetchone()
        assert progress is not None
        late = con.execute(
            "SELECT count(*) FROM predictions WHERE status = 'pending' AND target_time <= ?",
            [progress[0]],
        ).fetchone()
        assert late == (0,)  # what the dead process left pending was resolved after it
        trades = con.execute(
            "SELECT count(*), count(DISTINCT (symbol, entry_time, exit_time)) FROM paper_trades"
        ).fetchone()
        assert trades is not None
        assert trades[0] == trades[1]
        audit = audit_session(db, sid)
        assert audit.ok, f"breaches {audit.counts}, e.g. {audit.examples}"


def test_an_unreachable_ray_address_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "none.duckdb"
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "serve", "--db", str(db)]
    cmd += ["--ray", "10.255.255.1:6379", "--exchange-url", "http://127.0.0.1:9"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "--ray 10.255.255.1:6379" in lines[0]
    assert out.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_serve_without_ray_does_not_import_it() -> None:
    code = (
        "import sys\n"
        "from ghostcandle.cli.main import build_parser\n"
        "from ghostcandle.cli.commands.serve import build_config\n"
        "import ghostcandle.web.app\n"
        "args = build_parser().parse_args(['serve', '--exchange-url', 'http://127.0.0.1:9'])\n"
        "assert build_config(args).cluster is None\n"
        "print('ray' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
