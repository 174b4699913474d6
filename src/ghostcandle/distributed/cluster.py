"""Connect to Ray: a local instance on this machine, ``auto``, or a cluster's address.

An address that does not answer is refused in one line within seconds: ``ray.init`` itself would
wait for minutes. A Ray already initialised by the calling program (a test, a notebook) is used
as it is and left running.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ghostcandle.domain.errors import OperationalError, UserInputError

#: seconds to wait for a cluster's address to accept a connection
PROBE_TIMEOUT_S = 3.0


def parse_address(address: str) -> tuple[str, int]:
    """Return ``(host, port)`` of ``host:port`` or ``ray://host:port``; refuse anything else.

    >>> parse_address("10.0.0.5:6379")
    ('10.0.0.5', 6379)
    >>> parse_address("ray://head:10001")
    ('head', 10001)
    """
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise UserInputError(
            f"--ray {address!r}: give auto, a cluster address HOST:PORT (or ray://HOST:PORT), "
            "or no value for a local Ray"
        )
    return host, int(port)


def check_reachable(address: str | None) -> None:
    """Refuse, in one line, a cluster address (not local, not ``auto``) that does not answer."""
    if address is not None and address != "auto":
        _probe(address)


def _probe(address: str) -> None:
    host, port = parse_address(address)
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise UserInputError(
            f"--ray {address}: no Ray cluster answers there ({exc.strerror or exc}): start one "
            "with `ray start --head`, check the address, or give --ray without a value for a "
            "local Ray"
        ) from None
    if address.startswith("ray://"):
        return  # a Ray Client server, not the head's GCS: ray.init says itself if it is not one
    # something accepts connections there (a proxy, another service): ask it for its Ray
    # cluster id once, which a Ray head answers at once (``ray.init`` would retry for a minute)
    try:
        from ray._raylet import GcsClient  # type: ignore[attr-defined]  # not public
    except ImportError:
        return
    try:
        with _quiet_stderr():  # Ray's C++ client logs each failed attempt on stderr
            GcsClient(address=f"{host}:{port}")
    except Exception as exc:  # whatever Ray raises, what answers is not Ray
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise UserInputError(
            f"--ray {address}: what answers there is not a Ray cluster ({first}): check the "
            "address (`ray status` on the head prints it), or give --ray without a value for "
            "a local Ray"
        ) from None


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send what is written to file descriptor 2 (C++ logs too) to /dev/null for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def ray_cluster(address: str | None) -> Iterator[None]:
    """Connect to Ray for the block; ``None`` starts a local Ray with this machine's CPUs."""
    try:
        import ray
    except ImportError:
        raise OperationalError(
            "--ray needs Ray installed: pip install 'ghostcandle[ray]'"
        ) from None
    if address is not None and address != "auto":
        _probe(address)
    if ray.is_initialized():
        yield
        return
    try:
        if address is None:
            ray.init(
                num_cpus=os.cpu_count() or 1,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
        else:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserInputError(
            f"--ray {address}: cannot join a Ray cluster ({first}): start one with "
            "`ray start --head` or give --ray without a value for a local Ray"
        ) from None
    try:
        yield
    finally:
        ray.shutdown()
