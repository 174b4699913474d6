"""Request and response bodies of the HTTP API (separate from the domain objects)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ghostcandle.domain.broker import (
    DEFAULT_FEE_BPS,
    DEFAULT_SLIPPAGE_BPS,
    BrokerConfig,
    Hold,
    Side,
)
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.web.input_bounds import MAX_TIME_MS, MIN_TIME_MS, TIME_RANGE, check_case, shown

Timeframe = Literal["1s", "1m", "1h", "1d"]
#: ``fresh``, ``annotations`` or the name of an offline-trained checkpoint (the router checks
#: that the name exists)
StartFrom = Annotated[
    str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
_START_FROM_DOC = (
    "fresh seeded weights, the model's latest annotation-trained checkpoint (annotations), or "
    "the checkpoint NAME of `ghostcandle train --name NAME`"
)
_EPOCH_MS = Field(
    ge=MIN_TIME_MS,
    le=MAX_TIME_MS,
    description=f"epoch milliseconds UTC (a candle's open time), {TIME_RANGE}",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _symbol(value: str) -> str:
    if len(value) > 40:
        raise ValueError(f"{shown(value)} is not a symbol: write it as BASE/QUOTE, e.g. ETH/USDT")
    try:
        return normalise_symbol(value)
    except UserInputError as exc:
        raise ValueError(str(exc)) from None


class CandleOut(BaseModel):
    """One candle; ``time`` is its open time in epoch ms."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandlesOut(BaseModel):
    """A page of candles, oldest first; ``has_more`` tells if older ones are stored."""

    symbol: str
    timeframe: str
    candles: list[CandleOut]
    has_more: bool


class ModelOut(BaseModel):
    """A registered model family; ``learns``: whether training can change it."""

    name: str
    learns: bool


class ModelsOut(BaseModel):
    """The model registry and the family live inference runs when the start names none."""

    models: list[ModelOut]
    default_live: str = Field(
        description="the model POST /api/live-training/start runs when its body names none"
    )
    available: bool = Field(description="whether training is part of this build")
    reason: str = Field(description="why training is not available (empty when it is)")


class AnnotationIn(_Strict):
    """Mark a trade: the open times of the entry and the exit candles."""

    symbol: str
    timeframe: Timeframe
    entry_time: int = _EPOCH_MS
    exit_time: int = _EPOCH_MS
    direction: Side | None = Field(
        default=None, description="default: LONG if the price rose, else SHORT"
    )
    notes: str = Field(default="", max_length=2000)

    _check_symbol = field_validator("symbol")(_symbol)


class AnnotationPatch(_Strict):
    """Change an annotation; omitted fields stay as they are."""

    entry_time: int | None = Field(default=None, ge=MIN_TIME_MS, le=MAX_TIME_MS)
    exit_time: int | None = Field(default=None, ge=MIN_TIME_MS, le=MAX_TIME_MS)
    direction: Side | None = None
    notes: str | None = Field(default=None, max_length=2000)


class AnnotationOut(BaseModel):
    """An annotation with its computed trade figures and its test case file."""

    annotation_id: str
    symbol: str
    timeframe: str
    entry_time: int
    exit_time: int
    entry_price: float
    exit_price: float
    direction: str
    profit_loss_pct: float
    holding_period_seconds: float
    notes: str
    decision_time: int
    frame_id: str
    completeness: dict[str, int] = Field(
        description="closed candles per timeframe in the test case (100 wanted of each)"
    )
    complete: bool = Field(description="whether every timeframe has its 100 candles")
    created_at: int
    updated_at: int
    test_case_file: str


class AnnotationPreviewIn(_Strict):
    """A trade being marked: its entry and exit candles' open times."""

    symbol: str
    timeframe: Timeframe
    entry_time: int = _EPOCH_MS
    exit_time: int = _EPOCH_MS

    _check_symbol = field_validator("symbol")(_symbol)


class AnnotationPreviewOut(BaseModel):
    """What saving the trade would store: its figures and how complete its test case is."""

    direction: str
    profit_loss_pct: float
    completeness: dict[str, int]
    complete: bool
    wanted: int = Field(description="closed candles wanted per timeframe")


class TestCasesIn(_Strict):
    """Test cases to import (the export format)."""

    test_cases: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)

    @field_validator("test_cases")
    @classmethod
    def _in_range(cls, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, case in enumerate(cases):
            check_case(i, case)
        return cases


class TrainIn(_Strict):
    """Train a model on annotations."""

    model: str = Field(min_length=1, max_length=100)
    epochs: int = Field(default=10, ge=1, le=1000)
    annotation_ids: list[str] | None = Field(
        default=None, description="train on these annotations only (default: all)"
    )


class LiveStartIn(_Strict):
    """Start live inference."""

    symbol: str = "ETH/USDT"
    model: str = Field(
        default="", max_length=100, description="empty: `default_live` of GET /api/models"
    )
    mode: TrainingMode = TrainingMode.NONE
    feed: Literal["simulator", "exchange"] = "simulator"
    start_from: StartFrom = Field(default="fresh", description=_START_FROM_DOC)
    timeframes: list[Timeframe] = Field(
        default_factory=list,
        max_length=4,
        description="the timeframes predicted, each with ghost candles and signals (empty: the "
        "model's usual 1s and 1m; a checkpoint's model predicts among those it reads)",
    )

    _check_symbol = field_validator("symbol")(_symbol)


class ManualTrainIn(_Strict):
    """Label the current candle in manual mode."""

    action: Literal["BUY", "SELL", "HOLD"]


class BacktestIn(_Strict):
    """Backtest a model over a time range (the chart's visible range)."""

    model: str = Field(min_length=1, max_length=100)
    symbol: str
    timeframe: Timeframe = "1m"
    start: int = _EPOCH_MS
    end: int = _EPOCH_MS
    start_from: StartFrom = Field(default="fresh", description=_START_FROM_DOC)
    hold: Hold = Field(
        default="flat", description="HOLD closes the position (flat) or leaves it (keep)"
    )
    fee_bps: float = Field(
        default=DEFAULT_FEE_BPS,
        ge=0.0,
        lt=10_000.0,
        allow_inf_nan=False,
        description="fee on every fill, in basis points of the traded notional (10: 0.1%)",
    )
    slippage_bps: float = Field(
        default=DEFAULT_SLIPPAGE_BPS,
        ge=0.0,
        lt=10_000.0,
        allow_inf_nan=False,
        description="every fill's price moved this many basis points against the trader",
    )
    min_confidence: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="an action weaker than this counts as HOLD",
    )
    long_only: bool = Field(default=False, description="SELL means flat: never go short")
    train: TrainingMode = Field(
        default=TrainingMode.NONE,
        description="none, or train while replaying (every_candle, pivots_only); manual is refused",
    )

    _check_symbol = field_validator("symbol")(_symbol)

    def broker(self) -> BrokerConfig:
        """Return the simulated broker's rules this request asks for."""
        return BrokerConfig(
            fee_bps=self.fee_bps,
            slippage_bps=self.slippage_bps,
            min_confidence=self.min_confidence,
            allow_short=not self.long_only,
            hold=self.hold,
        )


class PaperResetIn(_Strict):
    """Start a session's paper account again at its initial equity."""

    session_id: str = Field(min_length=1, max_length=200)


class PaperSettingsIn(_Strict):
    """Change a paper account's minimum confidence and/or cooldown; omitted ones stay."""

    session_id: str = Field(min_length=1, max_length=200)
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="an action weaker than this counts as HOLD"
    )
    cooldown: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="fewest candles of the account's timeframe between two position changes",
    )
