"""A window's hash: what is hashed, in which layout, the same for every call and byte order.

Stored frames keep these hashes (a sample is verified against them), so the bytes hashed are
pinned here by an independent computation, not by an earlier output.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ghostcandle.domain.window import hash_arrays


def _expected(label: str, *parts: tuple[str, tuple[int, ...], bytes]) -> str:
    h = hashlib.sha256(label.encode())
    for name, shape, data in parts:
        h.update(name.encode())
        h.update(str(shape).encode())
        h.update(data)
    return h.hexdigest()


def test_hash_is_label_then_each_arrays_dtype_name_shape_and_little_endian_bytes() -> None:
    times = np.arange(3, dtype=np.int64) * 60_000
    values = np.linspace(1.0, 2.0, 15).reshape(3, 5)
    want = _expected(
        "ETH/USDT|1m|120000|3",
        ("int64", (3,), times.astype("<i8").tobytes()),
        ("float64", (3, 5), values.astype("<f8").tobytes()),
    )
    assert hash_arrays("ETH/USDT|1m|120000|3", times, values) == want
    # the names come from a cache after the first call: the same hash, call after call
    assert hash_arrays("ETH/USDT|1m|120000|3", times, values) == want


def test_byte_order_and_layout_do_not_change_the_hash() -> None:
    values = np.linspace(-3.0, 7.0, 20).reshape(4, 5)
    big = values.astype(">f8")
    fortran = np.asfortranarray(values)
    h = hash_arrays("x", values)
    assert hash_arrays("x", big) == h
    assert hash_arrays("x", fortran) == h


def test_dtype_shape_and_label_each_change_the_hash() -> None:
    a = np.zeros(4, dtype=np.int64)
    h = hash_arrays("x", a)
    assert hash_arrays("x", a.view(np.float64)) != h  # same bytes, another dtype
    assert hash_arrays("x", a.reshape(2, 2)) != h  # same bytes, another shape
    assert hash_arrays("y", a) != h
    assert hash_arrays("x", a.astype(np.int32)) != hash_arrays("x", a.astype(np.uint32))
