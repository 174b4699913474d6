"""The evaluation as text: one table per timeframe, the key figures of every model in a row."""

from __future__ import annotations

from typing import Any

from ghostcandle.cli.output import table

_HEADERS = [
    "model",
    "n",
    "mae_close",
    "close/pers",
    "close/best",
    "high/best",
    "low/best",
    "dir_acc [95%] p",
    "action (maj, hold)",
    "brier",
    "ece",
    "cover hi/lo",
    "net %",
    "b&h %",
]


def _num(v: Any, fmt: str = ".4g") -> str:
    return "-" if v is None else format(v, fmt)


def _skill(c: dict[str, Any] | None) -> str:
    if c is None or c["skill"] is None:
        return "-"
    head = f"{c['skill']:.3f}"
    p = c["dm"]["p_value"]
    return head if p is None else f"{head} p={p:.2g}"


def _direction(d: dict[str, Any]) -> str:
    if d["accuracy"] is None:
        return "-"
    if d["status"] != "ok":
        return f"{d['accuracy']:.3f}"
    lo, hi = d["ci95"]
    return f"{d['accuracy']:.3f} [{lo:.3f}, {hi:.3f}] p={d['p_value']:.2g}"


def _action(a: dict[str, Any]) -> str:
    if a["accuracy"] is None:
        return "-"
    maj, hold = a["majority_in_sample"], a["always_hold"]
    return f"{a['accuracy']:.3f} ({maj['accuracy']:.3f} {maj['label']}, {hold['accuracy']:.3f})"


def _row(model: str, f: dict[str, Any]) -> list[Any]:
    s, a, cov = f["skill"], f["action"], f["coverage"]
    trading = f["trading"].values()
    return [
        model,
        f["n"],
        _num(f["mae_close"]),
        _skill(s["close"]["vs_persistence"]),
        _skill(s["close"]["vs_strongest"]),
        _skill(s["high"]["vs_strongest"]),
        _skill(s["low"]["vs_strongest"]),
        _direction(f["directional"]),
        _action(a),
        _num(a["brier"], ".3f"),
        _num(a["ece"], ".3f"),
        f"{_num(cov['high'], '.2f')}/{_num(cov['low'], '.2f')}",
        " ".join(f"{t['model']['return_pct']:+.2f}" for t in trading) or "-",
        " ".join(f"{t['buy_and_hold']['return_pct']:+.2f}" for t in trading) or "-",
    ]


def _strongest(rows: dict[str, dict[str, Any]]) -> str:
    parts = []
    for field in ("close", "high", "low"):
        names = sorted(
            {
                c["baseline"]
                for f in rows.values()
                if (c := f["skill"][field]["vs_strongest"]) is not None
            }
        )
        parts.append(f"{field}: {'/'.join(names) or '-'}")
    return "strongest baseline (lowest MAE) — " + ", ".join(parts)


def evaluation_table(report: dict[str, Any]) -> str:
    """Format an evaluation report as text: one table per timeframe, then the notes."""
    by_tf: dict[str, dict[str, dict[str, Any]]] = {}
    for model, tfs in report.items():
        for tf, figures in tfs.items():
            by_tf.setdefault(tf, {})[model] = figures
    if not by_tf:
        return "no resolved predictions to evaluate"
    blocks = []
    for tf in sorted(by_tf):
        rows = by_tf[tf]
        few = [m for m in sorted(rows) if rows[m]["status"] != "ok"]
        note = f" (too few targets, < 30: no intervals or p-values for {', '.join(few)})"
        blocks.append(
            f"{tf}{note if few else ''}:\n"
            + table(_HEADERS, [_row(m, rows[m]) for m in sorted(rows)])
            + f"\n{_strongest(rows)}"
        )
    blocks.append(
        "skill = MAE(model)/MAE(baseline) on shared targets (below 1 beats it), p: Diebold-"
        "Mariano (Newey-West HAC); dir p: binomial vs 0.5; action: in-sample majority and "
        "always-HOLD beside; net %: the actions through the broker after costs, per symbol; "
        "--json has every figure."
    )
    return "\n\n".join(blocks)
