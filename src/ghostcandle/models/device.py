"""Where the torch families run: ``cpu`` (the default), ``cuda`` where a GPU is, or ``auto``.

``--device`` of the commands that build models (offline training, replay, backtest, the
benches) sets the device for the whole process with ``use_device`` before any model is built;
every torch family (``TorchModel``) then builds its net there and moves each batch there.
Weights are initialised on the CPU, with the config's seed, and moved after, so a model starts
from the same weights on every device. Its ``state_dict`` is always on the CPU (checkpoints
load anywhere), and ``load_state_dict`` copies onto the model's device. Families outside
``TorchModel`` (the DQN agent, the baselines) run on the CPU whatever the device.
"""

from __future__ import annotations

import torch

from ghostcandle.domain.errors import UserInputError

_current = torch.device("cpu")


def resolve_device(name: str) -> torch.device:
    """Return the torch device ``name`` means; refuse, in one line, one that is not there.

    ``cuda`` (or ``cuda:N``) needs a GPU that torch can use; ``auto`` is ``cuda`` where there
    is one, else ``cpu``.
    """
    text = str(name).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UserInputError(
                f"--device {text}: CUDA is not available here (no GPU, or torch built for the "
                "CPU): use --device cpu"
            )
        try:
            device = torch.device(text)
        except RuntimeError:
            raise UserInputError(
                f"--device {text}: not a device name: use cuda or cuda:0"
            ) from None
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserInputError(
                f"--device {text}: only {torch.cuda.device_count()} GPU(s) here: use cuda:0"
            )
        return device
    raise UserInputError(f"--device {name!r} is not a device: use cpu, cuda or auto")


def use_device(name: str) -> torch.device:
    """Make ``name`` the device every torch family built from now on runs on; return it."""
    global _current
    _current = resolve_device(name)
    return _current


def current_device() -> torch.device:
    """Return the device torch families are built on (``cpu`` unless ``use_device`` said)."""
    return _current
