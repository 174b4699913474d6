"""glibc's malloc arenas capped for a long-running command (``cli/heap.py``).

Each check runs in a fresh interpreter: an arena, once made, lives as long as the process, and
the cap holds only for arenas made after it. Eight threads each allocate through ``malloc``
(ctypes releases the GIL, so each runs in its own thread's arena); glibc's ``malloc_info``
lists the arenas (``<heap nr=...>``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ghostcandle.cli.heap import ENV, cap_arenas

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's arenas",
)

SCRIPT = textwrap.dedent(
    """
    import ctypes, os, re, sys, tempfile, threading
    from ghostcandle.cli.heap import cap_arenas
    set_cap = cap_arenas() if sys.argv[1] == "cap" else None
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    go = threading.Barrier(8)
    held = []
    def work():
        go.wait()  # all eight at once, so none finds another's arena free
        held.append(libc.malloc(4096))
        go.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    path = os.path.join(tempfile.mkdtemp(), "info.xml")
    fp = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    for p in held: libc.free(p)
    heaps = len(re.findall(r'<heap nr="\\d+"', open(path).read()))
    print(set_cap, heaps)
    """
)


def _arenas(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != ENV} | (env or {})
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        check=True,
    ).stdout.split()
    return out[0], int(out[1])


def test_capped_threads_share_two_arenas() -> None:
    capped, heaps = _arenas("cap")
    assert capped == "2"
    assert heaps <= 2
    # the same threads without the cap make more arenas (up to eight a core): the cap did it
    uncapped, free_heaps = _arenas("none")
    assert uncapped == "None"
    assert free_heaps > 2


def test_the_environment_setting_wins() -> None:
    capped, heaps = _arenas("cap", {ENV: "4"})
    assert capped == "None"  # not ours to change
    assert 2 < heaps <= 4


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cap_arenas(0)
