"""Training sources: where a training step's samples came from (the list is defined here only).

A step's source is stored with its record (``training_steps.reason``) and logged by the trainer;
values are those strings.

>>> TrainingSource.PIVOT == "pivot"
True
"""

from __future__ import annotations

from enum import StrEnum


class TrainingSource(StrEnum):
    """What a training step learned from."""

    #: resolved predictions labelled by their price move (``every_candle`` mode)
    CANDLE = "candle"
    #: frames decided at a confirmed pivot (``every_candle`` and ``pivots_only`` modes)
    PIVOT = "pivot"
    #: a label the trader gave for the current candle (``manual`` mode)
    MANUAL = "manual"
    #: the trader's annotated trades (the training panel, ``train --annotations``)
    ANNOTATIONS = "annotations"
    #: decision points over stored candles (``ghostcandle train``)
    OFFLINE = "offline"
    #: a step submitted without saying where it came from
    ONLINE = "online"
