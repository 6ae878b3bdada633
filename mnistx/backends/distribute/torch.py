"""PyTorch: DistributedDataParallel, one process per device (started by torchrun), gloo on CPU
and nccl on GPU. Each process runs the Keras model on its slice of the global batch; DDP's
backward hooks all-reduce (average) the gradients; the model's own Keras optimizer applies them,
as Keras's torch trainer does. BatchNormalization normalises each process's slice."""

from __future__ import annotations

import contextlib
import os

import torch
import torch.distributed as dist
from keras import tree

from mnistx.errors import MnistxError


class Replicas:
    def __init__(self, n: int):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        if self.world != n:
            raise MnistxError(f"torch data-parallel runs one process per device: start it under "
                              f"torchrun --nproc-per-node {n} (WORLD_SIZE is {self.world})")
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        self.gpu = torch.cuda.is_available() and torch.cuda.device_count() >= n
        if self.gpu:
            torch.cuda.set_device(local)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if self.gpu else "gloo")
        self.local = local
        self.devices = [f"cuda:{r}" for r in range(n)] if self.gpu else [f"cpu process {r}" for r in range(n)]
        self.engine = f"torch DistributedDataParallel ({dist.get_backend()}, {n} processes)"
        self._ddp = {}

    def scope(self):
        return contextlib.nullcontext()

    def _wrapped(self, model):
        if id(model) not in self._ddp:  # DDP broadcasts rank 0's weights once, here
            _track_parameters(model)
            self._ddp[id(model)] = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.local] if self.gpu else None)
        return self._ddp[id(model)]

    def _slice(self, a):
        per = len(a) // self.world
        return a[self.rank * per:(self.rank + 1) * per]

    def step(self, model, x, y) -> float:
        net = self._wrapped(model)
        x, y = tree.map_structure(self._slice, x), tree.map_structure(self._slice, y)
        model.zero_grad()
        y_pred = net(x, training=True)
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        loss.backward()  # DDP averages every gradient across the processes here
        grads = [v.value.grad for v in model.trainable_variables]
        with torch.no_grad():
            model.optimizer.apply(grads, model.trainable_variables)
        total = loss.detach().clone()
        dist.all_reduce(total)  # the reported loss only: the global mean
        return float(total) / self.world

    def fit(self, model, x, y, batch_size: int) -> None:
        for start in range(0, len(tree.flatten(y)[0]) - batch_size + 1, batch_size):
            batch = slice(start, start + batch_size)
            self.step(model, tree.map_structure(lambda a: a[batch], x), tree.map_structure(lambda a: a[batch], y))
        if self.gpu:
            torch.cuda.synchronize()

    def close(self) -> None:
        """Every process reaches here, drops its DDP wrappers, then leaves the group. Freeing a
        wrapper after the group was gone hung one process in four to seven (docs/scaling.md)."""
        if dist.is_initialized():
            dist.barrier()
            self._ddp.clear()
            dist.destroy_process_group()


def _track_parameters(model) -> None:
    """Keras registers a layer's variables as torch parameters when it is built; a KerasHub
    functional model (GPT2Backbone) is left with none, and DDP refuses a module without
    parameters. Register every trainable variable again when one is missing."""
    tracked = {id(p) for p in model.parameters()}
    if any(id(v.value) not in tracked for v in model.trainable_variables):
        model._track_variables()
