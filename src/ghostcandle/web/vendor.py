"""Find the locally installed front-end packages (``npm ci``); nothing comes from a CDN.

lightweight-charts draws the chart; swagger-ui-dist and redoc render ``/docs`` and ``/redoc``.
"""

from __future__ import annotations

import os
from pathlib import Path

VENDOR_ENV = "GHOSTCANDLE_VENDOR_DIR"
_NODE = Path("node_modules")
_REL = _NODE / "lightweight-charts" / "dist"
CHART_MODULE = "lightweight-charts.standalone.production.mjs"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"


def _node_roots() -> list[Path]:
    """Return the folders holding ``node_modules``: the current directory and the checkout."""
    return [Path.cwd(), Path(__file__).resolve().parents[3]]


def _find(rel: Path, marker: str) -> Path | None:
    for root in _node_roots():
        if (root / rel / marker).is_file():
            return root / rel
    return None


def vendor_dir() -> Path | None:
    """Return the folder holding lightweight-charts' dist files, or None if not installed.

    Looks at ``$GHOSTCANDLE_VENDOR_DIR``, then ``node_modules`` of the current directory and
    of the source checkout.
    """
    if os.environ.get(VENDOR_ENV):
        env = Path(os.environ[VENDOR_ENV])
        if (env / CHART_MODULE).is_file():
            return env
    return _find(_REL, CHART_MODULE)


def swagger_dir() -> Path | None:
    """Return the folder of swagger-ui-dist (``/docs``), or None if not installed."""
    return _find(_NODE / "swagger-ui-dist", SWAGGER_JS)


def redoc_dir() -> Path | None:
    """Return the folder of redoc's bundles (``/redoc``), or None if not installed."""
    return _find(_NODE / "redoc" / "bundles", REDOC_JS)
