"""``ghostcandle samples stats``: the training data's quality at a glance."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.samples import SampleSource, SampleStatus
from ghostcandle.domain.timeframes import format_time
from ghostcandle.store.sample_stats import SampleStats, sample_stats

_BAR = 40


def register(sub: Any) -> None:
    """Add the subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser(
        "samples", help="inspect the training samples (by reference) and their quality"
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    stats = actions.add_parser(
        "stats",
        help="counts by source and status, completeness, quarantined samples, top setups",
        description=(
            "Show the training samples: how many of each source are trainable (ok), "
            "quarantined (their candles changed after they were recorded) or excluded "
            "(incomplete or invalid input), a histogram of their completeness, the newest "
            "quarantined ones with their reasons, and the most profitable validated setups."
        ),
    )
    add_common(stats)
    stats.set_defaults(handler=run_stats)


def run_stats(args: argparse.Namespace) -> int:
    """Print the samples' quality overview."""
    with open_db(args, read_only=True) as db:
        stats = sample_stats(db)
    if args.json:
        emit_json(stats.to_json())
    else:
        print(render(stats))
    return 0


def render(s: SampleStats) -> str:
    """Return the overview as text."""
    statuses: list[str] = [st.value for st in SampleStatus]
    sources: list[str] = [src.value for src in SampleSource if src.value in s.by_source]
    sources += sorted(k for k in s.by_source if k not in sources)
    counts: list[list[str | int]] = [
        [src, *(s.by_source[src].get(st, 0) for st in statuses)] for src in sources
    ]
    out = [f"{s.total} training sample(s)", ""]
    if counts:
        totals = s.by_status()
        counts.append(["all", *(totals[st] for st in statuses)])
        out += [table(["source", *statuses], counts), ""]
    out.append("completeness (share of expected candles stored and complete)")
    peak = max(s.histogram) or 1
    for k, n in enumerate(s.histogram):
        bar = "#" * (round(n / peak * _BAR) if n else 0)
        out.append(f"  {k / 10:.1f}-{(k + 1) / 10:.1f}  {n:>8}  {bar}")
    if s.reasons:
        rows = [[r["status"], r["reason"], r["samples"]] for r in s.reasons]
        out += ["", "left out", table(["status", "reason", "samples"], rows)]
    out += ["", f"quarantined (newest {len(s.quarantined)})"]
    if s.quarantined:
        rows = [
            [q["sample_id"], q["source"], q["symbol"], q["timeframe"],
             format_time(q["decision_time"]), q["reason"]]
            for q in s.quarantined
        ]  # fmt: skip
        out.append(table(["sample", "source", "symbol", "tf", "decided", "reason"], rows))
    else:
        out.append("  none")
    out += ["", "top profitable setups"]
    if s.top_setups:
        rows = [
            [t["sample_id"], t["source"], t["symbol"], t["timeframe"],
             format_time(t["decision_time"]), t["best_action"], t["profitability"]]
            for t in s.top_setups
        ]  # fmt: skip
        out.append(
            table(["sample", "source", "symbol", "tf", "decided", "best", "profitability"], rows)
        )
    else:
        out.append("  none")
    out += [f"note: {n}" for n in s.notes]
    return "\n".join(out)
