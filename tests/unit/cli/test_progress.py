"""The long commands' progress bar: drawn on a terminal, nothing with --json or off one."""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator

import pytest
from rich.console import Console

from ghostcandle.cli.commands.backfill import _page_progress
from ghostcandle.cli.progress import progress_bar, wants_progress


def _terminal(buf: io.StringIO) -> Console:
    return Console(file=buf, force_terminal=True, width=120, color_system=None)


@pytest.fixture
def tty() -> Iterator[io.TextIOWrapper]:
    """Yield a real terminal (the far end of a pseudo-terminal) opened as a text stream."""
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as stream:
        yield stream
    os.close(primary)


def test_a_terminal_gets_a_bar_with_counts_and_detail() -> None:
    buf = io.StringIO()
    with progress_bar("train cnn", enabled=True, total=10, console=_terminal(buf)) as bar:
        assert bar.drawn
        bar.update(3, detail="loss 0.5000  accuracy 0.750")
    text = buf.getvalue()
    assert "train cnn" in text
    assert "3/10" in text
    assert "loss 0.5000  accuracy 0.750" in text
    assert "━" in text


def test_a_service_callback_sets_done_and_total() -> None:
    buf = io.StringIO()
    with progress_bar("backtest", enabled=True, console=_terminal(buf)) as bar:
        bar(250, 1000)  # the engine's progress(done, total)
    assert "250/1000" in buf.getvalue()


def test_json_or_no_terminal_draws_nothing(tty: io.TextIOWrapper) -> None:
    assert wants_progress(False, tty)
    assert not wants_progress(True, tty)  # --json: stdout carries one JSON object only
    assert not wants_progress(False, io.StringIO())  # stdout piped or redirected
    for enabled, console in (
        (wants_progress(True, tty), _terminal(io.StringIO())),
        (True, Console(file=io.StringIO())),  # stderr is not a terminal
    ):
        with progress_bar("ingest", enabled=enabled, total=4, console=console) as bar:
            assert not bar.drawn
            bar.update(2, detail="x")
            bar(3, 4)
        assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_a_failed_command_leaves_no_bar_behind() -> None:
    buf = io.StringIO()

    def fail() -> None:
        with progress_bar("ingest", enabled=True, total=4, console=_terminal(buf)) as bar:
            bar.update(1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    # the last frame drawn (after the last line erase) holds no bar
    assert "ingest" in buf.getvalue()
    assert "ingest" not in buf.getvalue().rsplit("\x1b[2K", 1)[-1]


def test_log_lines_print_above_the_bar_not_through_it() -> None:
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    buf = io.StringIO()
    try:
        with progress_bar("backfill", enabled=True, total=2, console=_terminal(buf)):
            assert handler.stream is not sys.__stderr__
            logging.getLogger("ghostcandle.test").warning("stored 1000 candles")
        assert handler.stream is sys.stderr  # given back afterwards
    finally:
        root.removeHandler(handler)
    assert "stored 1000 candles" in buf.getvalue()


def test_backfill_counts_candles_covered_out_of_the_range() -> None:
    buf = io.StringIO()
    day = 86_400_000
    with progress_bar("backfill", enabled=True, console=_terminal(buf)) as bar:
        # 1m candles from 00:00 to the last closed one before 'now' = 24:00: 1,440 of them
        on_page = _page_progress(bar, "1m", 0, None, day)
        on_page(999 * 60_000)  # the newest stored so far opens at minute 999
    assert "1000/1440" in buf.getvalue()
