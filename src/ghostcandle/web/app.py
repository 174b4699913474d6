"""The FastAPI app factory: the workspace page, its static files and the HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ghostcandle import __version__
from ghostcandle.distributed.live_cluster import LiveCluster
from ghostcandle.domain.clock import Clock
from ghostcandle.web import api_docs, errors, security
from ghostcandle.web.body_limit import BodyLimit
from ghostcandle.web.config import WebConfig
from ghostcandle.web.routers import annotations as annotations_routes
from ghostcandle.web.routers import (
    candles,
    checkpoints,
    cluster,
    depth,
    evaluation,
    events,
    learning,
    meta,
    panels,
    structure,
    test_cases,
    training_runs,
)
from ghostcandle.web.vendor import vendor_dir
from ghostcandle.web.workspace import Workspace

STATIC_DIR = Path(__file__).parent / "static"


def create_app(config: WebConfig, *, clock: Clock | None = None) -> FastAPI:
    """Build the app; the database is opened when it starts and closed when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ws = Workspace.open(config, clock)
        ws.hub.attach(asyncio.get_running_loop())
        app.state.workspace = ws
        app.state.cluster = None
        try:
            if config.cluster is not None:  # Ray is imported only then, only with --ray
                app.state.cluster = LiveCluster(config.cluster, config.db_path).open()
            ws.start_engine()
            yield
        finally:
            if app.state.cluster is not None:
                app.state.cluster.close()
            ws.close()

    app = FastAPI(
        title="ghostcandle workspace",
        version=__version__,
        description="Annotate trades, train on them, watch live predictions, backtest.",
        lifespan=lifespan,
        docs_url=None,  # served from the local npm packages instead (api_docs)
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(BodyLimit)
    security.install(app, config)  # outermost: a refused host or write reads no body
    for module in (
        meta,
        candles,
        structure,
        depth,
        annotations_routes,
        test_cases,
        panels,
        checkpoints,
        evaluation,
        training_runs,
        learning,
        cluster,
        events,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api_docs.install(app)
    vendor = vendor_dir()
    if vendor is not None:
        app.mount("/vendor", StaticFiles(directory=vendor), name="vendor")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    return app
