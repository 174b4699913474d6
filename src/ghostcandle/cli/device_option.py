"""``--device cpu|cuda|auto``: where the torch families run (``models.device``).

Commands that build models add the option; ``cli.main`` applies it before the command runs, so
a machine without CUDA refuses ``--device cuda`` in one line (exit 2) before any work.
"""

from __future__ import annotations

import argparse

#: The names ``--device`` takes (``models.device.resolve_device`` reads them; torch is not
#: imported for the parser).
DEVICES: tuple[str, ...] = ("cpu", "cuda", "auto")


def add_device_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--device`` to a command's parser."""
    p.add_argument(
        "--device",
        default="cpu",
        metavar="|".join(DEVICES),
        help="where the torch models run: cpu (default), cuda (a GPU; refused where there is "
        "none) or auto (cuda where there is one)",
    )


def apply_device(args: argparse.Namespace) -> None:
    """Put the torch families on the device ``--device`` names, if the command has it."""
    name = getattr(args, "device", None)
    if name is not None:
        from ghostcandle.models.device import use_device

        use_device(name)
