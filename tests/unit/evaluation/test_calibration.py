"""Brier score, expected calibration error and the action references, against direct loops."""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.engine.evaluation.calibration import (
    ECE_BINS,
    action_figures,
    brier_score,
    expected_calibration_error,
)

from .conftest import THRESHOLD, ledger, market, persistence


def _brier_loop(probs: np.ndarray, labels: np.ndarray) -> float:
    total = 0.0
    for p, y in zip(probs, labels, strict=True):
        for k in range(3):
            total += (p[k] - (1.0 if k == y else 0.0)) ** 2
    return total / len(labels)


def _ece_loop(conf: np.ndarray, correct: np.ndarray) -> float:
    total = 0.0
    for b in range(ECE_BINS):
        lo, hi = b / ECE_BINS, (b + 1) / ECE_BINS
        members = [
            i for i, c in enumerate(conf) if lo <= c < hi or (b == ECE_BINS - 1 and c == 1.0)
        ]
        if members:
            acc = sum(bool(correct[i]) for i in members) / len(members)
            mean_conf = sum(conf[i] for i in members) / len(members)
            total += len(members) / len(conf) * abs(acc - mean_conf)
    return total


def test_brier_matches_a_direct_loop() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1.0, 1.0, 1.0], 300)
    labels = rng.integers(0, 3, 300)
    assert brier_score(probs, labels) == pytest.approx(_brier_loop(probs, labels))
    certain = np.eye(3)[labels]
    assert brier_score(certain, labels) == 0.0
    assert brier_score(certain[:, [1, 2, 0]], labels) == pytest.approx(2.0)


def test_ece_matches_a_direct_loop_including_bin_edges() -> None:
    rng = np.random.default_rng(1)
    conf = np.concatenate([rng.uniform(1 / 3, 1.0, 500), [0.4, 0.5, 0.9, 1.0, 0.1]])
    correct = rng.uniform(size=len(conf)) < conf
    assert expected_calibration_error(conf, correct) == pytest.approx(_ece_loop(conf, correct))
    # perfectly calibrated at one confidence: ECE 0
    conf = np.full(10, 0.7)
    correct = np.array([True] * 7 + [False] * 3)
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0)


def test_action_figures_name_the_in_sample_majority_and_hold() -> None:
    candles = market(200, seed=4)
    rng = np.random.default_rng(4)
    probs = rng.dirichlet([2.0, 1.0, 1.0], 200)
    g = ledger("cnn", candles, persistence(candles), probs=probs)
    out = action_figures(g, THRESHOLD)
    ref, nxt = candles[:-1, 3], candles[1:, 3]
    move = (nxt - ref) / ref
    counts = {
        "HOLD": int(np.sum(np.abs(move) <= THRESHOLD)),
        "BUY": int(np.sum(move > THRESHOLD)),
        "SELL": int(np.sum(move < -THRESHOLD)),
    }
    assert out["labels"] == counts
    top = max(counts, key=lambda k: counts[k])
    assert out["majority_in_sample"] == {"label": top, "accuracy": counts[top] / 200}
    assert out["always_hold"] == {"accuracy": counts["HOLD"] / 200}
    assert out["accuracy"] == pytest.approx(g["action_correct"].mean())
    labels = np.array([["HOLD", "BUY", "SELL"].index(_label(m)) for m in move])
    assert out["brier"] == pytest.approx(_brier_loop(probs, labels))
    assert out["ece"] == pytest.approx(_ece_loop(probs.max(axis=1), g["action_correct"]))
    freq = np.array([counts["HOLD"], counts["BUY"], counts["SELL"]]) / 200
    constant = np.tile(freq, (200, 1))
    assert out["brier_in_sample_frequencies"] == pytest.approx(_brier_loop(constant, labels))
    assert out["ci95"] is not None


def _label(move: float) -> str:
    if move > THRESHOLD:
        return "BUY"
    if move < -THRESHOLD:
        return "SELL"
    return "HOLD"


def test_too_few_targets_give_no_interval() -> None:
    candles = market(29, seed=5)
    out = action_figures(ledger("cnn", candles, persistence(candles)), THRESHOLD)
    assert out["status"] == "too_few"
    assert out["ci95"] is None
    assert out["accuracy"] is not None
