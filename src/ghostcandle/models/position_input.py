"""The position an agent holds going into a decision, as a model input.

An agent (``dqn``) reads ``inputs.extras["position"]``: ``(B,)`` of -1 (short), 0 (flat) or 1
(long). Whoever trades its signals says what it holds: the batched backtest asks once per
possible position and takes the answer for the position its broker holds; a loop session asks
the broker attached to it (a paper account, a backtest's), and flat when none is.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ghostcandle.models.base import Model, ModelInputs

#: the positions an agent may hold going into a decision: short, flat, long
POSITIONS = (-1, 0, 1)
POSITION = "position"


def reads_position(model: Model) -> bool:
    """Tell whether ``model`` reads the position it holds."""
    return bool(getattr(model, "reads_position", False))


def with_position(inputs: ModelInputs, held: int) -> ModelInputs:
    """Return ``inputs`` with every sample holding ``held`` (-1, 0, 1) going into it."""
    if held not in POSITIONS:
        raise ValueError(f"position {held!r} is not one of -1, 0, 1")
    position = np.full(inputs.batch_size, float(held))
    return replace(inputs, extras={**inputs.extras, POSITION: position})
