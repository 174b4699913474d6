"""The live request a group's actor keeps on disk comes back as it was; groups are refused once."""

from __future__ import annotations

import json

import pytest

from ghostcandle.distributed.live_actor import group_id, request_json, request_of
from ghostcandle.distributed.live_cluster import parse_groups
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.live_setup import LiveRequest


def test_a_stored_request_comes_back_equal() -> None:
    req = LiveRequest(
        symbol="ETH/USDT",
        mode=TrainingMode.PIVOTS_ONLY,
        model="transformer",
        model_config={"d_model": 16, "windows": {"1s": 30}},
        start_from="my-fit",
        timeframes=("1s", "1m"),
    )
    assert request_of(json.loads(json.dumps(request_json(req)))) == req


def test_group_names_are_safe_file_and_url_names() -> None:
    assert group_id(["ETH/USDT"]) == "ETH-USDT"
    assert "/" not in group_id(["BTC/USDT", "ETH/USDT"])


@pytest.mark.parametrize("text", ["ETH/USDT;ETH/USDT", "ETH/USDT,ETHUSDT", " ; ", "NOT A SYMBOL"])
def test_bad_groups_are_one_line(text: str) -> None:
    with pytest.raises(UserInputError) as err:
        parse_groups(text, [])
    assert "\n" not in str(err.value)
    assert "--groups" in str(err.value) or "symbol" in str(err.value)
