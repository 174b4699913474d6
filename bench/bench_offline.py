"""Benchmark offline training; print ONE JSON line of figures.

- **throughput**: samples/s of the offline fit of the default model (the live default family
  and sizes, its two timeframes re-based on 1m/1h) over one month of 1m decisions, counted on
  the training steps of its first ``FIT_EPOCHS`` epochs (batches sliced from the series and
  normalised in the first epoch, gathered from the fit's cache after; each submitted to the
  one trainer, which publishes a snapshot after each step), beside a bare torch loop over the
  very same tensors (same model class, same batches, same order, pre-built before its clock
  starts: forward, loss, backward, clip, step, nothing else) measured in the same run;
  ``ratio`` = offline time / bare time (aim: <= 2), ``first_epoch_ratio`` the same for the
  first epoch alone (where every row is normalised). For a
  family whose training is not the shared torch step, the baseline is ``model.train_step`` on
  the pre-built batches in a plain loop instead (``baseline`` says which).
- **walk-forward**: wall time of ``train=14d,test=7d`` over the month (dataset, every fold's
  fit with early stopping, predictions of the model and every baseline, the evaluation), per
  fold and in all.

Uses the real ETH/USDT month in ../shared/data when it is there, else a synthetic month.
Torch runs on one intra-op thread in both (the fit's default, ``FitSettings.torch_threads``);
the offline fit uses the second core to slice the next batch while the trainer trains.

Usage: ``python bench/bench_offline.py [EPOCHS] [--device cpu|cuda|auto]`` (walk-forward epochs
per fold, default 4; ``--device cuda`` runs the model and the bare loop on the GPU, exit 2 where
there is none).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, MINUTE_MS, format_time
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings, fit
from ghostcandle.engine.offline.walk_forward import parse_walk_forward
from ghostcandle.engine.runtime import DEFAULT_LIVE_CONFIG, DEFAULT_LIVE_MODEL
from ghostcandle.ingest.service import ingest_files
from ghostcandle.models.base import Model, TrainingBatch
from ghostcandle.models.device import use_device
from ghostcandle.models.losses import candle_from_raw, supervised_losses
from ghostcandle.models.torch_model import TorchModel
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz"
)
SYMBOL = "ETH/USDT"
EPOCHS = 4
BATCH = 256
#: epochs of the measured fit (every one runs), and offline/bare rounds alternated
FIT_EPOCHS, ROUNDS = 3, 2
SPEC = "train=14d,test=7d"


def default_model() -> tuple[str, dict[str, Any]]:
    """Return the live default family and settings, its timeframes re-based onto 1m and 1h."""
    cfg = dict(DEFAULT_LIVE_CONFIG)
    tfs = list(cfg.pop("timeframes"))
    windows = dict(cfg.pop("windows", {}))
    rebased = ["1m", "1h"][: len(tfs)]
    cfg["windows"] = {new: windows[old] for old, new in zip(tfs, rebased, strict=False)}
    return DEFAULT_LIVE_MODEL, {"timeframes": rebased, **cfg}


def _store_month(db: Database) -> tuple[int, int, str]:
    """Store a month of 1m candles (and roll-ups); return the training range and the source."""
    store = CandleStore(db)
    if REAL.exists():
        ingest_files(store, [REAL])
        source = "real ETH/USDT 2024-07-26..08-25"
    else:
        t0 = 1_721_952_000_000
        df = synthetic_candles(30 * 1440, "1m", start_ms=t0, seed=7)
        with db.transaction() as con:
            store.write_in(con, SYMBOL, "1m", df, source="synthetic", provenance=CandleSource.FILE)
            rollup_range(store, con, SYMBOL, "1m", t0, t0 + 30 * DAY_MS - 1)
        source = "synthetic month"
    first = next(s for s in store.series() if s.timeframe == "1m" and s.symbol == SYMBOL)
    # a whole day after the first candle: every 1h window is filled from there
    start = first.first_open_time - first.first_open_time % DAY_MS + DAY_MS
    end = first.last_open_time + MINUTE_MS
    end -= end % MINUTE_MS
    return start, end, source


def _bare_torch(model: TorchModel, batches: list[TrainingBatch]) -> float:
    """Train on ``batches`` with torch alone (the shared step, nothing around it); return s."""
    tensors = [
        (
            {tf: torch.from_numpy(np.ascontiguousarray(w[:, -n:], np.float32))
             for tf, n in model.windows.items() for w in [b.inputs.windows[tf]]},
            {tf: torch.from_numpy(t) for tf, t in b.targets.items()},
            torch.from_numpy(b.actions),
        )
        for b in batches
    ]  # fmt: skip
    dev = getattr(model, "device", torch.device("cpu"))  # (a model of the code before)
    tensors = [
        ({k: v.to(dev) for k, v in i.items()}, {k: v.to(dev) for k, v in t.items()}, a.to(dev))
        for i, t, a in tensors
    ]
    net, opt, cfg = model.net, model.optimizer, model.cfg
    net.train()
    _sync(dev)
    t0 = time.perf_counter()
    for inputs, targets, actions in tensors:
        raw, logits = net(inputs)
        candles = {tf: candle_from_raw(r) for tf, r in raw.items()}
        parts = supervised_losses(candles, logits, targets, actions, None, cfg.action_weight)
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()  # type: ignore[no-untyped-call]
        nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
    _sync(dev)
    return time.perf_counter() - t0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _direct(model: Model, batches: list[TrainingBatch]) -> float:
    t0 = time.perf_counter()
    for b in batches:
        model.train_step(b)
    return time.perf_counter() - t0


def _bare_epochs(svc: OfflineTrainingService, req: OfflineRequest, epochs: int) -> list[float]:
    """Return the bare loop's seconds per epoch on a fresh model, over the fit's very batches."""
    prepared = svc.prepare(req)
    data, split, fresh = prepared.data, prepared.split, prepared.model
    standard = isinstance(fresh, TorchModel) and type(fresh).train_step is TorchModel.train_step
    out = []
    for epoch in range(1, epochs + 1):
        # the same batches, in the same order, built before the clock starts
        order = np.random.default_rng([0, epoch]).permutation(split.train)
        batches = [data.batch(np.sort(order[a : a + BATCH])) for a in range(0, len(order), BATCH)]
        if standard:
            assert isinstance(fresh, TorchModel)
            out.append(_bare_torch(fresh, batches))
        else:
            out.append(_direct(fresh, batches))
    return out


def throughput(svc: OfflineTrainingService, req: OfflineRequest) -> dict[str, Any]:
    """Return offline and bare samples/s over the first ``FIT_EPOCHS`` epochs of the month.

    Offline and bare alternate ``ROUNDS`` times; each side's best round counts (the machine is
    shared: the best round is the one least disturbed).
    """
    settings = FitSettings(epochs=FIT_EPOCHS, batch_size=BATCH, seed=0, patience=FIT_EPOCHS)
    fits, bares = [], []
    for _ in range(ROUNDS):
        prepared = svc.prepare(req)
        result = fit(prepared.model, prepared.data, prepared.split, settings, clock=LiveClock())
        fits.append(result.epochs)
        bares.append(_bare_epochs(svc, req, FIT_EPOCHS))
    samples = sum(e.samples for e in fits[0])
    offline_s = min(sum(e.train_s for e in epochs) for epochs in fits)
    bare_s = min(sum(b) for b in bares)
    first_s = min(epochs[0].train_s for epochs in fits)
    bare_first_s = min(b[0] for b in bares)
    fresh = svc.prepare(req).model
    standard = isinstance(fresh, TorchModel) and type(fresh).train_step is TorchModel.train_step
    return {
        "epochs": FIT_EPOCHS,
        "rounds": ROUNDS,
        "samples": samples,
        "batch_size": BATCH,
        "offline_samples_per_s": round(samples / offline_s, 1),
        "baseline": "bare torch loop" if standard else "model.train_step loop",
        "bare_samples_per_s": round(samples / bare_s, 1),
        "ratio": round(offline_s / bare_s, 3),
        "first_epoch_ratio": round(first_s / bare_first_s, 3),
        "ratios_per_round": [
            round(sum(e.train_s for e in f) / sum(b), 3) for f, b in zip(fits, bares, strict=True)
        ],
        "validation_s": round(fits[0][0].duration_s - fits[0][0].train_s, 3),
    }


def walk_forward(svc: OfflineTrainingService, req: OfflineRequest) -> dict[str, Any]:
    """Return the wall time of the month's walk-forward, in all and per fold."""
    spec = parse_walk_forward(SPEC)
    t0 = time.perf_counter()
    result, _ = svc.walk_forward(req, spec)
    wall = time.perf_counter() - t0
    model = req.model
    agg = result.aggregate[model]["1m"]
    return {
        "spec": SPEC,
        "epochs": EPOCHS,
        "folds": len(result.folds),
        "test_targets": int(agg["n"]),
        "wall_s": round(wall, 1),
        "fold_fit_s": [round(f.fit.duration_s, 1) for f in result.folds],
        "fold_epochs": [len(f.fit.epochs) for f in result.folds],
        "close_skill_vs_persistence": agg["skill"]["close"]["vs_persistence"]["skill"],
        "high_skill_vs_persistence": agg["skill"]["high"]["vs_persistence"]["skill"],
    }


def main() -> None:
    """Run both benchmarks and print one JSON line."""
    global EPOCHS
    parser = argparse.ArgumentParser(description="offline training throughput and walk-forward")
    parser.add_argument("epochs", nargs="?", type=int, default=EPOCHS, help="per fold (4)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    args = parser.parse_args()
    EPOCHS = args.epochs
    try:
        device = use_device(args.device)
    except UserInputError as exc:
        sys.stderr.write(f"bench_offline: error: {exc}\n")
        sys.exit(2)
    torch.set_num_threads(1)
    family, config = default_model()
    with tempfile.TemporaryDirectory() as tmp, Database(Path(tmp) / "bench.duckdb") as db:
        start, end, source = _store_month(db)
        svc = OfflineTrainingService(db, LiveClock())
        req = OfflineRequest(
            model=family,
            symbol=SYMBOL,
            timeframes=config["timeframes"],
            start=start,
            end=end,
            model_config={k: v for k, v in config.items() if k != "timeframes"},
            settings=FitSettings(epochs=EPOCHS, batch_size=BATCH),
            name="bench",
        )
        out = {
            "bench": "offline",
            "data": source,
            "range": [format_time(start), format_time(end)],
            "model": family,
            "model_config": config,
            "cpus": os.cpu_count(),
            "device": str(device),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "torch_threads": torch.get_num_threads(),
            "throughput": throughput(svc, req),
            "walk_forward": walk_forward(svc, req),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
