"""glibc's malloc arenas capped, its mmap threshold held (``cli/heap.py``).

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

from ghostcandle.cli.heap import (
    ARENAS,
    ENV,
    MMAP_ENV,
    MMAP_THRESHOLD,
    TRIM_ENV,
    cap_arenas,
    hold_mmap_threshold,
)

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


MMAP_SCRIPT = textwrap.dedent(
    """
    import ctypes, sys
    from ghostcandle.cli.heap import hold_mmap_threshold
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
                    "keepcost".split()]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    held = hold_mmap_threshold() if sys.argv[1] == "hold" else None
    libc.free(libc.malloc(1 << 20))  # a mapped 1 MiB block freed: glibc raises its threshold
    before = libc.mallinfo2().hblks
    block = libc.malloc(256 * 1024)  # a buffer past 128 KiB
    print(held, libc.mallinfo2().hblks - before)
    libc.free(block)
    """
)


def _mapped(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != MMAP_ENV} | (env or {})
    out = subprocess.run(
        [sys.executable, "-c", MMAP_SCRIPT, mode],
        capture_output=True, text=True, timeout=60, env=environ, check=True,
    ).stdout.split()  # fmt: skip
    return out[0], int(out[1])


def test_a_held_threshold_maps_blocks_after_a_large_free() -> None:
    held, mapped = _mapped("hold")
    assert held == str(MMAP_THRESHOLD)
    assert mapped == 1  # the 256 KiB buffer is mapped on its own: freed, it goes back
    # without it glibc raised its threshold past 256 KiB, and the block came from the arena
    assert _mapped("none") == ("None", 0)


def test_the_environment_threshold_wins() -> None:
    held, mapped = _mapped("hold", {MMAP_ENV: "131072"})
    assert held == "None"  # not ours to change
    assert mapped == 1  # glibc's own setting also holds the threshold


def test_a_threshold_below_a_page_is_refused() -> None:
    with pytest.raises(ValueError, match="a page"):
        hold_mmap_threshold(100)


def test_compact_heap_sets_both_in_a_fresh_process() -> None:
    code = "from ghostcandle.cli.heap import compact_heap; print(compact_heap())"
    environ = {k: v for k, v in os.environ.items() if k not in (ENV, MMAP_ENV)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=environ, check=True).stdout  # fmt: skip
    assert out.strip() == str({"arenas": ARENAS, "mmap_threshold": MMAP_THRESHOLD})


KEEP_SCRIPT = textwrap.dedent(
    """
    import ctypes, resource, sys
    from ghostcandle.cli.heap import keep_freed_heap
    kept = keep_freed_heap() if sys.argv[1] == "keep" else None
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    before = faults()
    for _ in range(40):
        # a batch's large buffers (as torch's CPU allocator makes them): made, written, dropped
        blocks = [libc.malloc(n) for n in (8 << 20, 12 << 20)]
        for p, n in zip(blocks, (8 << 20, 12 << 20)):
            libc.memset(p, 1, n)
        for p in blocks:
            libc.free(p)
    print(kept is not None and all(kept.values()), faults() - before)
    """
)


def _faults(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    drop = (MMAP_ENV, TRIM_ENV)
    environ = {k: v for k, v in os.environ.items() if k not in drop} | (env or {})
    out = subprocess.run(
        [sys.executable, "-c", KEEP_SCRIPT, mode],
        capture_output=True, text=True, timeout=60, env=environ, check=True,
    ).stdout.split()  # fmt: skip
    return out[0], int(out[1])


def test_a_kept_heap_reuses_the_pages_of_freed_large_blocks() -> None:
    kept, faults = _faults("keep")
    assert kept == "True"
    # 40 rounds of 20 MiB are 204,800 pages: kept, the first round's pages serve the others
    # (glibc's own rule gives some back before its threshold rises: ~10,000 here)
    assert faults < 5120 + 1000
    # glibc's defaults held (as serve holds them) map each block anew: a fault per page
    _, held = _faults("none", {MMAP_ENV: "131072", TRIM_ENV: "131072"})
    assert held > 40 * 5120 * 0.9


def test_the_environment_settings_win_over_a_kept_heap() -> None:
    kept, faults = _faults("keep", {MMAP_ENV: "131072", TRIM_ENV: "131072"})
    assert kept == "False"  # not ours to change
    assert faults > 40 * 5120 * 0.9
