"""The feed commands end to end: exchange-sim, live, status (real processes, real sockets)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ghostcandle.cli.main import main
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthStore


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ghostcandle.cli.main", *args]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_live_stores_candles_and_depth_and_status_reports_it(make_sim, tmp_path: Path, capsys):
    sim = make_sim(speed=5.0)
    db_path = tmp_path / "live.duckdb"
    rc = main(
        [
            "live", "--rest-url", sim.rest_url, "--ws-url", sim.ws_url, "--db", str(db_path),
            "--symbols", "ETH/USDT,BTC/USDT", "--intervals", "1s,1m", "--duration", "3",
            "--history", "20", "--quiet",
        ]
    )  # fmt: skip
    assert rc == 0
    capsys.readouterr()
    assert main(["status", "--db", str(db_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "database"
    (feed,) = out["feeds"]
    assert feed["candles_stored"] > 0
    assert feed["connected"] is False  # stopped cleanly
    assert feed["messages_rejected"] == 0
    with Database(db_path) as db:
        snaps = DepthStore(db).read("ETH/USDT")
    assert len(snaps) >= 2
    times = [s.time for s in snaps]
    assert len(set(times)) == len(times)
    assert all(t % 1000 == 0 for t in times)
    for s in snaps:
        bids = [p for p, _ in s.bids]
        asks = [p for p, _ in s.asks]
        assert bids == sorted(bids, reverse=True)
        assert asks == sorted(asks)
        assert bids[0] < asks[0]
        assert len(bids) == len(asks) == 20


def test_live_says_in_one_line_when_the_exchange_is_unreachable(tmp_path: Path, capsys):
    url = f"http://127.0.0.1:{_closed_port()}"
    rc = main(["live", "--rest-url", url, "--db", str(tmp_path / "x.duckdb")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1
    assert "cannot reach" in err[0]
    assert "make demo" in err[0]


def test_status_reads_the_running_feed_while_it_holds_the_database(
    make_sim, tmp_path: Path, capsys
):
    sim = make_sim(speed=5.0)
    db_path = tmp_path / "held.duckdb"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _cli("live", "--rest-url", sim.rest_url, "--ws-url", sim.ws_url, "--db", str(db_path),
             "--intervals", "1s", "--duration", "30", "--history", "5", "--quiet", "--no-depth"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        side = Path(str(db_path) + ".feed-status.json")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if side.is_file() and json.loads(side.read_text())["candles_stored"] > 0:
                break
            time.sleep(0.2)
        assert main(["status", "--db", str(db_path), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["source"] == "status file of the running feed"
        assert out["feeds"][0]["connected"] is True
        assert out["feeds"][0]["candles_stored"] > 0
        proc.terminate()  # a plain kill stops the feed cleanly: the database says so
        assert proc.wait(timeout=30) == 130
        assert main(["status", "--db", str(db_path), "--json"]) == 0
        after = json.loads(capsys.readouterr().out)
        assert after["source"] == "database"
        assert after["feeds"][0]["connected"] is False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)


def test_exchange_sim_command_prints_its_urls_and_serves_them():
    proc = subprocess.Popen(
        _cli("exchange-sim", "--json", "--duration", "20", "--history-hours", "0.1"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["market"].startswith("SYNTHETIC")
        assert info["rest_url"].startswith("http://127.0.0.1:")
        t = httpx.get(info["rest_url"] + "/api/v3/time", timeout=5).json()["serverTime"]
        rows = httpx.get(
            info["rest_url"] + "/api/v3/klines",
            params={"symbol": "ETHUSDT", "interval": "1m", "limit": 3},
            timeout=5,
        ).json()
        assert len(rows) == 3
        assert rows[-1][0] <= t < rows[-1][6] + 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)
