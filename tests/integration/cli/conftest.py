"""A small real database for refusal tests: two days of real ETH/USDT 1m candles, ingested."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from ghostcandle.cli.main import main

#: rows of the real file kept (about two days of 1m candles, rolled up to 1h and 1d)
ROWS = 3_000


@pytest.fixture(scope="module")
def eth_template(tmp_path_factory: pytest.TempPathFactory, eth_1m_2024: Path) -> Path:
    """Return a database holding the first ROWS real 1m candles of ETH/USDT (built once)."""
    d = tmp_path_factory.mktemp("eth")
    src = d / "ETHUSDT-1m-head.csv.gz"
    with gzip.open(eth_1m_2024, "rt") as fh, gzip.open(src, "wt") as out:
        for _, line in zip(range(ROWS + 1), fh, strict=False):
            out.write(line)
    path = d / "template.duckdb"
    assert main(["ingest", "--db", str(path), "--json", str(src)]) == 0
    return path


@pytest.fixture
def eth_db(tmp_path: Path, eth_template: Path) -> Path:
    """Return a private copy of the template database."""
    path = tmp_path / "g.duckdb"
    shutil.copyfile(eth_template, path)
    return path


def snapshot(path: Path) -> tuple[object, ...]:
    """Return what a refused command must leave as it was: the file and its checkpoints."""
    ckpt = path.with_suffix(".checkpoints")
    files = (
        sorted((str(p.relative_to(ckpt)), p.stat().st_size) for p in ckpt.rglob("*"))
        if ckpt.exists()
        else []
    )
    st = path.stat() if path.exists() else None
    return (None if st is None else (st.st_mtime_ns, st.st_size), tuple(files))
