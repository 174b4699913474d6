"""What a live start asks for, and the session it becomes: model, config, timeframes, id.

``plan_live`` turns a ``LiveRequest`` into a ``LivePlan`` (the family, its model config, the
timeframes predicted and the session id) and refuses, in one line, what the feed cannot serve:
a timeframe it does not stream, or a window its stored history cannot fill soon.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.timeframes import MINUTE_MS, check_timeframe, duration_ms
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.loop.config import finest_first
from ghostcandle.engine.training.start_checkpoint import StartCheckpoint
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore

#: The live model when the trader names none: the family the walk-forward chose (README,
#: "Models: excursion_mlp"). It predicts a frame in milliseconds on a CPU and abstains (HOLD)
#: below ``min_confidence``, so its paper account stays flat until it is sure.
DEFAULT_LIVE_MODEL = "excursion_mlp"
#: Each family's live config when the trader gives none: 1s candles with 1m context, sized to
#: predict every second on a CPU; a family not listed gets ``LIVE_BASE_CONFIG``.
LIVE_BASE_CONFIG: Mapping[str, Any] = {"timeframes": ["1s", "1m"], "windows": {"1s": 60, "1m": 30}}
LIVE_CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "excursion_mlp": {
        "timeframes": ["1s", "1m"],
        "windows": {"1s": 120, "1m": 120},
        "min_confidence": 0.6,
    },
    "transformer": {**LIVE_BASE_CONFIG, "d_model": 32, "layers": 2},
}
DEFAULT_LIVE_CONFIG: Mapping[str, Any] = LIVE_CONFIGS[DEFAULT_LIVE_MODEL]
#: Window lengths of a timeframe the trader adds to a family's live config: two days of hours
#: and a month of days, so a feed's usual history (1000 candles) covers them.
LIVE_WINDOWS: Mapping[str, int] = {"1s": 120, "1m": 120, "1h": 48, "1d": 30}
#: A model's window may lack this much history at start: the stream fills it soon (a 1m window
#: two candles short); a longer wait (an hourly window of a 3-day feed) is refused at start.
LIVE_MAX_WARMUP_MS = 15 * MINUTE_MS
LIVE_MODES: tuple[TrainingMode, ...] = tuple(TrainingMode)


@dataclass(frozen=True, kw_only=True)
class LiveRequest:
    """What the trader asked for when starting live inference."""

    symbol: str
    mode: TrainingMode = TrainingMode.NONE
    model: str = ""
    model_config: Mapping[str, Any] = field(default_factory=dict)
    #: ``fresh`` seeded weights, ``annotations``: the model's latest annotation-trained
    #: checkpoint, or the name of an offline-trained one (its model config is then the one used)
    start_from: str = "fresh"
    #: the timeframes predicted (empty: the model's usual ones); a fresh model reads exactly
    #: these, a checkpoint's model predicts some of those it reads
    timeframes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LivePlan:
    """The session a live start becomes."""

    model: str
    model_config: dict[str, Any]
    #: the timeframes predicted, finest first (the first is the one paper trading follows)
    timeframes: tuple[str, ...]
    session_id: str


def live_config(model: str, timeframes: Sequence[str] = ()) -> dict[str, Any]:
    """Return the live config of ``model`` when the trader gives none (reading ``timeframes``).

    >>> live_config("excursion_mlp", ["1d", "1m"])["windows"]
    {'1m': 120, '1d': 30}
    """
    cfg = dict(LIVE_CONFIGS.get(model, LIVE_BASE_CONFIG))
    if timeframes:
        tfs = finest_first(timeframes)
        given = dict(cfg.get("windows", {}))
        cfg["timeframes"] = list(tfs)
        cfg["windows"] = {tf: int(given.get(tf, LIVE_WINDOWS.get(tf, 64))) for tf in tfs}
    return cfg


def session_id(
    model: str,
    symbol: str,
    start: StartCheckpoint | None = None,
    timeframes: Sequence[str] = (),
) -> str:
    """Return the id of the live session of ``model`` on ``symbol`` (stable over restarts).

    ``timeframes`` other than the model's usual ones make another session (and paper
    account): resuming one whose model reads other windows could not load its weights.
    """
    base = "live-" + re.sub(r"[^A-Za-z0-9_.-]", "", f"{model}-{symbol}")
    if timeframes:
        base += "-" + "-".join(timeframes)
    # a session started from a checkpoint has its own id (so its own checkpoints and paper
    # account): restarting it resumes its progress, another checkpoint starts another session
    if start is None:
        return base
    kind = "ann" if start.start_from == "annotations" else "ckpt"
    return f"{base}-{kind}-{start.info.sha256[:10]}"


def plan_live(
    req: LiveRequest, model: str, start: StartCheckpoint | None, streamed: Sequence[str]
) -> LivePlan:
    """Return the model config, timeframes and id of the session ``req`` asks for.

    ``start`` (a checkpoint) or ``req.model_config`` fix what the model reads: the timeframes
    asked for must be among them. Otherwise the family's live config reads exactly the
    timeframes asked for. Raise ``UserInputError`` for a timeframe the feed does not stream.
    """
    chosen = finest_first(check_timeframe(t) for t in req.timeframes) if req.timeframes else ()
    if start is not None or req.model_config:
        cfg = dict(start.config if start is not None else req.model_config)
        reads = finest_first(create_model(model, **cfg).timeframes)
        extra = [t for t in chosen if t not in reads]
        if extra:
            source = "this checkpoint" if start is not None else "this model config"
            raise UserInputError(
                f"field 'timeframes': {source} reads only {', '.join(reads)} candles, not "
                f"{', '.join(extra)}: pick among those, or start fresh weights to predict "
                f"{', '.join(extra)}"
            )
        predicted = chosen or reads
        differs = chosen and chosen != reads
    else:
        usual = finest_first(live_config(model)["timeframes"])
        cfg = live_config(model, chosen)
        predicted = finest_first(cfg["timeframes"])
        differs = chosen and chosen != usual
    missing = [t for t in finest_first(cfg.get("timeframes", predicted)) if t not in streamed]
    if missing:
        raise UserInputError(
            f"model {model} reads {', '.join(missing)} candles the feed does not stream: "
            f"the feed streams {', '.join(streamed)}"
        )
    sid = session_id(model, req.symbol, start, predicted if differs else ())
    return LivePlan(model, cfg, predicted, sid)


def check_history(candles: CandleStore, plan: LivePlan, symbol: str) -> None:
    """Refuse, in one line, a model whose windows the stored history cannot fill soon.

    A window short by less than ``LIVE_MAX_WARMUP_MS`` of candles is filled by the stream (the
    session predicts once it is); a longer wait would leave the session predicting nothing.
    """
    model = create_model(plan.model, **plan.model_config)
    short = []
    for tf, n in model.windows.items():
        # the window of the next close ends with the candles stored now and the ones to come
        last = candles.last_open_time(symbol, tf)
        have = 0 if last is None else len(candles.tail(symbol, tf, last, n))
        if (n - have) * duration_ms(tf) > LIVE_MAX_WARMUP_MS:
            short.append(f"{n} closed {tf} candles ({have} stored)")
    if short:
        raise DataMissingError(
            f"model {plan.model} reads {'; '.join(short)} of {symbol}: drop those timeframes, "
            "or load a longer history (the exchange simulator: exchange-sim --history-hours)"
        )
