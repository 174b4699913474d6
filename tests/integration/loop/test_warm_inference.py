"""A session sets its learning model's inference up when it starts, not at the first candle."""

from __future__ import annotations

from dataclasses import replace

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.models import traced
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel
from ghostcandle.store.db import Database

from .conftest import START, small_config


def test_a_session_traces_its_model_at_start_and_records_nothing(
    market: Database, ckpt_dir: str
) -> None:
    cfg = small_config("warm")
    # a seed no other test uses: the architecture (config included) is not traced yet
    cfg = replace(cfg, model_config={**cfg.model_config, "seed": 90_417})
    model = create_model(cfg.model, **cfg.model_config)
    assert isinstance(model, TorchModel)
    assert traced.traced(model.architecture) is None
    s = LoopSession(market, cfg, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt_dir)
    s.start()
    try:
        assert traced.traced(model.architecture) is True
        s.flush()
        assert s.metrics.predictions == 0
        assert sum(s.ledger.counts(cfg.session_id).values()) == 0
    finally:
        s.stop()
