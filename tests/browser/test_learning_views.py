"""The Learning tab in a real browser: training runs with curves, data quality, leaderboard."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server, start_server, stop_server
from ..integration.web.learning_db import LEARNING, LearningDb, build_learning_db
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, LearningDb]]:
    """Serve a database with recorded runs, samples (some quarantined) and two replays."""
    tmp = tmp_path_factory.mktemp("learning-ui")
    made = build_learning_db(tmp / "ws.duckdb", tmp / "test_cases")
    proc, srv = start_server(tmp)
    yield srv, made
    stop_server(proc)


@pytest.fixture
def page(browser_context: BrowserContext, built: tuple[Server, LearningDb]) -> Iterator[Page]:
    """Open the workspace."""
    with opened_page(browser_context, built[0].url + "/?symbol=ETH/USDT&timeframe=1m") as p:
        yield p


def test_training_runs_show_their_curves(
    page: Page, built: tuple[Server, LearningDb], shot: Callable[..., Any]
) -> None:
    _, made = built
    page.click(".tab[data-tab='learning']")
    expect(page.locator("#panel-learning")).to_be_visible()
    table = page.locator("#runs-table tbody tr")
    expect(table.first).to_be_visible()
    listed = set(table.evaluate_all("rs => rs.map(r => r.dataset.run)"))
    assert {made.annotation_run, LEARNING} <= listed
    for run_id, step in ((made.annotation_run, "annotation-run"), (LEARNING, "session-run")):
        page.click(f"#runs-table tr[data-run='{run_id}']")
        expect(page.locator("#run-detail")).to_have_attribute("data-run", run_id)
        stored = httpx.get(f"{built[0].url}/api/training-runs/{run_id}").json()
        assert stored["train_curve"]  # both runs trained: a curve is drawn
        # each recorded curve drawn with all its points, none made up where none is stored
        for series, key in (("training loss", "train_curve"), ("validation loss", "val_curve")):
            line = page.locator(f"#run-detail polyline[data-series='{series}']")
            expect(line).to_have_count(1 if stored[key] else 0)
            if stored[key]:
                assert len((line.get_attribute("points") or "").split()) == len(stored[key])
        expect(page.locator("#run-detail")).to_contain_text(stored["convergence"])
        expect(page.locator("#run-detail")).to_contain_text(stored["model"])
        shot(page, step)


def test_data_quality_shows_sources_completeness_and_quarantine(
    page: Page, built: tuple[Server, LearningDb], shot: Callable[..., Any]
) -> None:
    _, made = built
    page.click(".tab[data-tab='learning']")
    page.click(".subtab[data-view='quality']")
    expect(page.locator("#learn-quality")).to_have_attribute("data-loaded", "1")
    sources = page.locator("#quality-sources")
    expect(sources).to_contain_text("candle")
    expect(page.locator("#quality-histogram .bin")).to_have_count(10)
    rows = page.locator("#quality-quarantined tbody tr")
    expect(rows).to_have_count(min(made.quarantined, 20))
    expect(rows.first).to_contain_text("integrity")
    shot(page, "data-quality")


def test_leaderboard_ranks_every_model_of_every_session(
    page: Page, built: tuple[Server, LearningDb], shot: Callable[..., Any]
) -> None:
    _, made = built
    page.click(".tab[data-tab='learning']")
    page.click(".subtab[data-view='leaderboard']")
    expect(page.locator("#learn-leaderboard")).to_have_attribute("data-loaded", "1")
    rows = page.locator("#leaderboard tbody tr")
    expect(rows.first).to_be_visible()
    sessions = set(rows.evaluate_all("rs => rs.map(r => r.dataset.session)"))
    assert sessions == set(made.replays)
    mlp = page.locator("#leaderboard tr[data-model='excursion_mlp']")
    expect(mlp).to_contain_text(f"{made.replays[LEARNING]['train_steps']} steps")
    shot(page, "leaderboard")
    page.check("#lb-learning-only")
    expect(rows).to_have_count(1)
    shot(page, "leaderboard-learning-only")
