"""Debian's Chromium driven by Playwright, against one real ``ghostcandle serve`` per module.

Screenshots of each step go to ``test-artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..integration.web.conftest import (  # speak_as_the_page: every module's httpx requests
    Server,
    speak_as_the_page,  # noqa: F401
    start_server,
    stop_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a seeded database on 127.0.0.1 for the whole module."""
    proc, srv = start_server(tmp_path_factory.mktemp("serve"))
    yield srv
    stop_server(proc)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Start Chromium with a fresh profile (``make test`` installs it)."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make browser-deps` (part of make test)")
    from playwright.sync_api import expect, sync_playwright

    # a live start (model, baselines, history) takes seconds alone and far more on a loaded
    # machine: assertions wait up to 20 s instead of Playwright's 5 (a pass is not slower)
    expect.set_options(timeout=20_000)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 820},
        )
        yield ctx
        ctx.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Iterator[object]:
    """Return ``shot(page, step)``, saving ``test-artifacts/<test>-<n>-<step>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    count = [0]

    def take(page: object, step: str) -> Path:
        count[0] += 1
        path = ARTIFACTS / f"{name}-{count[0]:02d}-{step}.png"
        page.screenshot(path=str(path))  # type: ignore[attr-defined]
        return path

    yield take
    shutil.rmtree(ARTIFACTS / ".tmp", ignore_errors=True)


@contextmanager
def opened_page(context: BrowserContext, url: str, *, timeout_ms: int = 15_000) -> Iterator[Page]:
    """Open ``url`` and wait until the chart has its candles; close it after, failing the test
    if the page raised any error meanwhile."""
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(url)
    p.wait_for_selector("body[data-ready='1']", timeout=timeout_ms)
    yield p
    p.close()
    assert errors == [], f"the page raised: {errors}"
