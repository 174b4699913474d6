"""Property-based fuzzing of every API operation against a real ``ghostcandle serve``.

Schemathesis turns the server's own OpenAPI schema into Hypothesis strategies: bodies, query
and path parameters the schema allows (positive) and ones it forbids (negative). Whatever it
sends, the server never answers 500, and a refused state-changing request changes nothing.
The run is derandomized and bounded (``EXAMPLES`` per operation and mode) so CI is stable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import DAYS, START, WRITE_HEADERS, Server, start_server, stop_server

#: Examples per operation and generation mode: more where a request can change state; ~35
#: operations x 2 modes stay under a minute on two cores.
EXAMPLES = {"read": 4, "write": 12}
#: The event stream never ends: it is read by the browser tests instead.
SKIPPED = {("GET", "/api/events")}
SAFE = {"GET", "HEAD", "OPTIONS"}
#: Steer three cases in four
_mostly = st.integers(0, 3).map(bool)
TIME_KEYS = {"entry_time", "exit_time", "start", "end", "before", "after", "time"}
#: Candle open times of the seeded market, and the edges of dates and of JSON's safe integers
_times = st.one_of(
    st.integers(0, DAYS * 1440).map(lambda m: START + m * 60_000),
    st.sampled_from([0, 253_402_300_740_000, 2**53 - 60_000, 2**53 - 1, 2**53]),
)


def _steer(case: Any, data: st.DataObject, known: dict[str, list[str]]) -> None:
    """Sometimes put a stored symbol or a registered model where the case names one.

    Random strings are refused at the first check; with real names the other fields (times,
    counts, options) reach the store and the engine, where a 500 would hide.
    """
    for part in (case.body, case.query):
        if not isinstance(part, dict):
            continue
        for key, choices in known.items():
            if key in part and data.draw(_mostly, label=f"steer {key}"):
                part[key] = data.draw(st.sampled_from(choices), label=key)
        for key in TIME_KEYS & part.keys():
            if data.draw(_mostly, label=f"steer {key}"):
                part[key] = data.draw(_times, label=key)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the fuzzer creates and deletes what it likes."""
    tmp = tmp_path_factory.mktemp("fuzz")
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)
    log = (tmp / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def _state(c: httpx.Client) -> dict[str, Any]:
    """Return what a state-changing request could change, as the API shows it."""
    live = c.get("/api/live-training/status").json()
    return {
        "annotations": c.get("/api/annotations").json(),
        "train": c.get("/api/train-model/status").json().get("status"),
        "backtest": c.get("/api/backtest/status").json().get("status"),
        "live": (live.get("state"), live.get("session_id")),
    }


def _unchanged(before: dict[str, Any], after: dict[str, Any], label: str) -> None:
    """Assert a refused request changed nothing: a job running before may have ended since."""
    for key in ("annotations", "live"):
        assert after[key] == before[key], f"{label}refused, yet {key} changed"
    for job in ("train", "backtest"):
        started = after[job] == "running" and before[job] != "running"
        assert not started, f"{label}refused, yet a {job} job started"


def _allowed_5xx(r: Any) -> bool:
    """Tell whether a 5xx is the documented one-line 503 of a part this server lacks."""
    if r.status_code != 503:
        return False
    detail = r.json().get("detail")
    return isinstance(detail, str) and "\n" not in detail


def test_no_request_gets_a_500_and_refusals_change_nothing(fuzzed: Server) -> None:
    schema = schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")
    outcomes: Counter[str] = Counter()
    with httpx.Client(base_url=fuzzed.url, timeout=30) as c:
        models = [m["name"] for m in c.get("/api/models").json()["models"]]
        known = {"symbol": ["ETH/USDT"], "model": models, "timeframe": ["1m", "1h"]}
        for result in schema.get_all_operations():
            op = result.ok()
            if (op.method.upper(), op.path) in SKIPPED:
                continue
            for mode in GenerationMode:

                @given(case=op.as_strategy(generation_mode=mode), data=st.data())
                @settings(
                    max_examples=EXAMPLES["read" if op.method.upper() in SAFE else "write"],
                    derandomize=True,
                    database=None,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                )
                def one(case: Any, data: st.DataObject) -> None:
                    _steer(case, data, known)
                    writes = case.method.upper() not in SAFE
                    before = _state(c) if writes else None
                    r = case.call(base_url=fuzzed.url, headers=WRITE_HEADERS, timeout=30)
                    outcomes[f"{r.status_code // 100}xx"] += 1
                    if r.status_code >= 500:
                        outcomes[f"{r.status_code} {case.method} {case.path}"] += 1
                    label = f"{case.method} {case.formatted_path} -> {r.status_code}: "
                    assert r.status_code < 500 or _allowed_5xx(r), label + r.text[:300]
                    if writes and 400 <= r.status_code < 500:
                        assert before is not None
                        _unchanged(before, _state(c), label)

                try:
                    one()
                except Unsatisfiable:  # nothing to get wrong: no parameters, no body
                    assert mode is GenerationMode.NEGATIVE, op.label
    print(dict(outcomes))  # shown with -s: the battery's counts
    assert outcomes["2xx"] > 0
    assert outcomes["4xx"] > 0
