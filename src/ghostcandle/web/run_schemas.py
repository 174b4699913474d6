"""Response shapes of ``/api/training-runs`` (what the workspace draws a run's curves from)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TrainingRunOut(BaseModel):
    """One recorded training run, without its curves."""

    run_id: str
    kind: str = Field(description="annotations, offline or session")
    model: str
    status: str = Field(description="running, finished or failed")
    started_at: int
    ended_at: int | None
    start_step: int
    steps: int
    convergence: str = Field(description="improving, plateau, diverging or unknown")
    value_per_1k_steps: float | None = Field(
        description="validation (else training) loss fallen per 1,000 steps; positive is better"
    )
    last_train_loss: float | None
    last_val_loss: float | None


class TrainingRunsOut(BaseModel):
    """Recorded runs, newest first."""

    runs: list[TrainingRunOut]


class SampleValueOut(BaseModel):
    """The run's distinct samples and the validated outcomes among them."""

    samples: int
    validated: int
    mean_profitability: float | None


class StepOut(BaseModel):
    """One recorded step (``ghostcandle train replay-step STEP_ID`` recomputes it)."""

    step_id: str
    step: int
    at: int
    source: str
    samples: int
    losses: dict[str, float]
    grad_norms: dict[str, float]
    learning_rate: float | None
    seed: int | None
    hash_before: str
    hash_after: str
    duration_ms: float


class TrainingRunDetailOut(TrainingRunOut):
    """One run with its curves (``[step, loss]`` pairs), sample value and newest steps."""

    model_config = ConfigDict(protected_namespaces=(), populate_by_name=True)

    model_config_: dict[str, object] = Field(alias="model_config")
    source: dict[str, object]
    checkpoint_key: str | None
    start_hash: str
    train_curve: list[tuple[int, float]]
    val_curve: list[tuple[int, float]]
    summary: dict[str, object]
    samples: SampleValueOut
    recorded_steps: int
    last_steps: list[StepOut]
