"""Actions and their probabilities: accuracy beside naive references, Brier score, calibration.

The true label of a target is the price-move label of ``domain.actions`` (BUY above
+threshold, SELL below -threshold, else HOLD), the one ``action_correct`` was scored with.

- **References**: the accuracy of always answering the majority label, that majority being
  taken *in sample* (from the very targets scored: a reference figure, not a model that could
  have been run without look-ahead), and of always answering HOLD.
- **Brier score**: multi-class, ``mean over targets of sum_k (p_k - y_k)^2`` over HOLD/BUY/SELL
  (0 is perfect, 2 the worst), beside the Brier score of always answering the in-sample label
  frequencies.
- **Expected calibration error** (top-label): the predicted action's probability (the
  confidence) in ``ECE_BINS`` equal-width bins ``[0, 0.1), [0.1, 0.2) ... [0.9, 1.0]``;
  ``ECE = sum_b n_b / n * |accuracy_b - mean confidence_b|``.
- **Buckets**: accuracy per confidence bucket (the coarse bins of ``BUCKETS``), for reading.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.actions import ACTIONS, actions_from_moves
from ghostcandle.engine.evaluation.significance import OK, status_of, wilson_interval

ECE_BINS = 10
#: Edges of the confidence buckets reported for reading (the last one includes 1.0).
BUCKETS = (0.0, 0.4, 0.5, 0.6, 0.8, 1.0000001)
PROBABILITY_COLUMNS = ("p_hold", "p_buy", "p_sell")  # in ``ACTIONS`` order


def brier_terms(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return each target's ``sum_k (p_k - y_k)^2`` of ``(n, k)`` probabilities and labels."""
    onehot = np.zeros_like(probs, dtype=np.float64)
    onehot[np.arange(len(labels)), labels] = 1.0
    out: np.ndarray = np.sum((probs - onehot) ** 2, axis=1)
    return out


def brier_score(probs: np.ndarray, labels: np.ndarray) -> float:
    """Return the multi-class Brier score of ``(n, k)`` probabilities against label indices."""
    return float(np.mean(brier_terms(probs, labels)))


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Return the top-label ECE over ``bins`` equal-width confidence bins (see module doc)."""
    conf = np.asarray(confidence, dtype=np.float64)
    scaled = conf * bins
    which = scaled.astype(np.int64)
    del scaled
    np.clip(which, 0, bins - 1, out=which)  # in place: a million targets' bins are 8MB
    hits = np.bincount(which, weights=np.asarray(correct, dtype=np.float64), minlength=bins)
    conf_sum = np.bincount(which, weights=conf, minlength=bins)
    # |hits_b - conf_b| / n is n_b / n * |accuracy_b - mean confidence_b|
    return float(np.sum(np.abs(hits - conf_sum)) / len(conf))


def confidence_buckets(confidence: np.ndarray, correct: np.ndarray) -> list[dict[str, Any]]:
    """Return accuracy per confidence bucket of ``BUCKETS`` (empty buckets left out)."""
    out = []
    for lo, hi in itertools.pairwise(BUCKETS):
        sel = (confidence >= lo) & (confidence < hi)
        n = int(sel.sum())
        if n:
            out.append(
                {
                    "confidence": [lo, min(hi, 1.0)],
                    "n": n,
                    "mean_confidence": float(confidence[sel].mean()),
                    "accuracy": float(correct[sel].mean()),
                }
            )
    return out


def true_labels(g: pd.DataFrame, threshold: float) -> np.ndarray:
    """Return the price-move label index (``ACTIONS`` order) of every target of ``g``."""
    return actions_from_moves(
        g["ref_close"].to_numpy(np.float64), g["actual_close"].to_numpy(np.float64), threshold
    )


def action_figures(g: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Return action accuracy beside its references, Brier score and ECE (see module doc)."""
    correct = g["action_correct"].astype(bool).to_numpy()
    labels = true_labels(g, threshold)
    probs = g[list(PROBABILITY_COLUMNS)].to_numpy(np.float64)
    return action_figures_of(
        correct,
        np.bincount(labels, minlength=len(ACTIONS)),
        brier_terms(probs, labels),
        g["confidence"].to_numpy(np.float64),
    )


def action_figures_of(
    correct: np.ndarray, counts: np.ndarray, brier: np.ndarray, confidence: np.ndarray
) -> dict[str, Any]:
    """Return ``action_figures`` of targets: whether each action was right, the label counts
    (``ACTIONS`` order), each target's Brier term (``brier_terms``) and confidence."""
    n = len(correct)
    status = status_of(n)
    hits = int(correct.sum())
    ci = wilson_interval(hits, n) if status == OK else None
    out: dict[str, Any] = {
        "n": n,
        "status": status,
        "accuracy": hits / n if n else None,
        "ci95": None if ci is None else [ci[0], ci[1]],
        "labels": {a.name: int(c) for a, c in zip(ACTIONS, counts, strict=True)},
        "majority_in_sample": None,
        "always_hold": None,
        "brier": None,
        "brier_in_sample_frequencies": None,
        "ece": None,
        "ece_bins": ECE_BINS,
    }
    if not n:
        return out
    top = int(np.argmax(counts))  # ties: the first in ACTIONS order (HOLD, BUY, SELL)
    freq = counts / n
    out.update(
        majority_in_sample={"label": ACTIONS[top].name, "accuracy": float(freq[top])},
        always_hold={"accuracy": float(freq[0])},
        brier=float(np.mean(brier)),
        brier_in_sample_frequencies=float(1.0 - np.sum(freq**2)),
        ece=expected_calibration_error(confidence, correct),
    )
    return out
