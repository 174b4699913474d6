"""What each Ray Train worker runs: its shares of the union, DDP steps, rank 0 returns the fit.

Ray Train (``TorchTrainer``) starts the workers and joins them in one ``torch.distributed``
process group (gloo on CPUs). Each worker loads every symbol of the run from the Parquet
snapshot (the candles the driver exported), builds the model from the request (the same seed,
so the same initial weights; DDP also broadcasts rank 0's), wraps its network in
``DistributedDataParallel`` and trains its shares (``union.fit_union``). A step is the family's
own ``train_step`` with the network swapped for its DDP wrapper for the step's duration: the
forward pass goes through DDP, whose backward hooks average the gradients across ranks before
the step clips them and the optimiser applies them, so every rank applies the same update.
Only rank 0 returns the result (its weights, curves and epochs); nothing here writes anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from ghostcandle.distributed.snapshot import open_snapshot
from ghostcandle.distributed.union import Union, UnionFit, fit_union, load_part
from ghostcandle.engine.offline.service import OfflineRequest
from ghostcandle.models.base import Model, TrainingBatch
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel


def load_union(snapshot: Path, req: OfflineRequest, symbols: list[str], model: Model) -> Union:
    """Return the union of ``symbols`` read from the snapshot (what every worker trains on)."""
    parts = []
    for symbol in symbols:
        with open_snapshot(snapshot, symbol) as db:
            parts.append(load_part(db, req, symbol, model))
    return Union(tuple(parts))


class _Call(torch.nn.Module):
    """A module whose forward calls one of ``net``'s methods: what DDP wraps."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, method: str, *args: Any) -> Any:
        """Call ``net.<method>(*args)``."""
        return getattr(self.net, method)(*args)


class _Through:
    """Stands for a family's network inside its ``train_step``, calling it through DDP.

    The family's own methods (``forward``, or ``heads`` for ``excursion_mlp``) go through the
    DDP wrapper, so its backward hooks average the gradients; ``nn.Module``'s own (``train``,
    ``parameters``) and submodules are the network's.
    """

    def __init__(self, net: torch.nn.Module, ddp: torch.nn.Module) -> None:
        self._net, self._ddp = net, ddp

    def __call__(self, *args: Any) -> Any:
        return self._ddp("forward", *args)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._net, name)
        if (
            callable(value)
            and not hasattr(torch.nn.Module, name)
            and not isinstance(value, torch.nn.Module)
        ):
            return lambda *args: self._ddp(name, *args)
        return value


@contextmanager
def _through(model: TorchModel, ddp: torch.nn.Module) -> Iterator[None]:
    """Let ``model``'s own code reach its network through ``ddp`` for the block."""
    net = model.net
    model.net = _Through(net, ddp)  # type: ignore[assignment]
    try:
        yield
    finally:
        model.net = net


def worker_loop(config: Mapping[str, Any]) -> UnionFit | None:
    """Ray Train's loop on one worker: train this rank's shares; rank 0 returns the fit."""
    import ray.train
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    req: OfflineRequest = config["request"]
    s = req.settings
    if s.torch_threads is not None:
        torch.set_num_threads(s.torch_threads)
    model = create_model(req.model, **req.model_settings())
    if not isinstance(model, TorchModel):
        raise TypeError(f"{req.model} does not train on labelled batches across workers")
    union = load_union(Path(config["snapshot"]), req, list(config["symbols"]), model)
    ddp = DistributedDataParallel(_Call(model.net))

    def step(m: Model, batch: TrainingBatch) -> Mapping[str, float]:
        assert m is model
        with _through(model, ddp):
            return model.train_step(batch)

    def reduce(values: list[float]) -> list[float]:
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return [float(v) for v in t.tolist()]

    result = fit_union(
        model, union, epochs=s.epochs, batch_size=s.batch_size, patience=s.patience,
        seed=s.seed, step=step, rank=rank, world=world, reduce=reduce,
    )  # fmt: skip
    return result if rank == 0 else None


def single_process(union: Union, req: OfflineRequest, *, pad: int = 1) -> UnionFit:
    """Fit ``union`` in this process, without DDP: the figure beside the workers'.

    ``pad``: the workers' count, whose padded global batches this fit trains on whole.
    """
    if req.settings.torch_threads is not None:
        torch.set_num_threads(req.settings.torch_threads)
    model = create_model(req.model, **req.model_settings())
    s = req.settings
    return fit_union(
        model, union, epochs=s.epochs, batch_size=s.batch_size, patience=s.patience,
        seed=s.seed, step=lambda m, b: m.train_step(b), pad=pad,
    )  # fmt: skip
