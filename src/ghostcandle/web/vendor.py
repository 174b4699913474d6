"""Find the locally installed lightweight-charts (``npm ci``); nothing comes from a CDN."""

from __future__ import annotations

import os
from pathlib import Path

VENDOR_ENV = "GHOSTCANDLE_VENDOR_DIR"
_REL = Path("node_modules") / "lightweight-charts" / "dist"
CHART_MODULE = "lightweight-charts.standalone.production.mjs"


def vendor_dir() -> Path | None:
    """Return the folder holding lightweight-charts' dist files, or None if not installed.

    Looks at ``$GHOSTCANDLE_VENDOR_DIR``, then ``node_modules`` of the current directory and
    of the source checkout.
    """
    candidates = []
    if os.environ.get(VENDOR_ENV):
        candidates.append(Path(os.environ[VENDOR_ENV]))
    candidates.append(Path.cwd() / _REL)
    candidates.append(Path(__file__).resolve().parents[3] / _REL)
    for c in candidates:
        if (c / CHART_MODULE).is_file():
            return c
    return None
