"""Panels whose engine is not connected are reported unavailable, with the reason."""

from __future__ import annotations

from ghostcandle.web import workspace
from ghostcandle.web.config import WebConfig, is_loopback, with_token
from ghostcandle.web.workspace import probe_features


def test_unwired_or_missing_panels_are_unavailable_with_a_reason() -> None:
    features = probe_features()
    assert set(features) == {"training", "live", "backtest"}
    for name, f in features.items():
        if name not in workspace.WIRED_PANELS:
            assert not f.available
            assert workspace.PANEL_MODULES[name][0] in f.reason


def test_token_is_required_beyond_loopback_only(tmp_path: object) -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.5")
    local = with_token(WebConfig(db_path=tmp_path, data_dir=tmp_path))  # type: ignore[arg-type]
    assert local.token is None
    assert not local.needs_token
    public = with_token(
        WebConfig(db_path=tmp_path, data_dir=tmp_path, host="0.0.0.0")  # type: ignore[arg-type]
    )
    assert public.needs_token
    assert public.token
    assert len(public.token) >= 24
