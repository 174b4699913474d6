"""Versioned schema migrations, discovered from the ``mNNNN_<name>`` modules of this package.

Each module defines ``VERSION`` (int, unique), ``NAME`` (str) and ``STATEMENTS`` (SQL strings).
Version blocks by area keep parallel work from colliding: 1-9 candles, 10-19 market structure,
20-29 the loop, 30-39 feeds, 40-49 backtest and paper trading, 50-59 workspace, 60-69
offline training, 70-79 training samples (70 the samples; outcomes and priorities from 71).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    name: str
    statements: tuple[str, ...]


def all_migrations() -> list[Migration]:
    """Return every migration of this package, sorted by version (versions must be unique)."""
    found: dict[int, Migration] = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("m"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        m = Migration(int(mod.VERSION), str(mod.NAME), tuple(mod.STATEMENTS))
        if m.version in found:
            raise RuntimeError(f"two migrations share version {m.version}: {info.name}")
        found[m.version] = m
    return [found[v] for v in sorted(found)]
