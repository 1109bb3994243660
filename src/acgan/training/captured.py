"""The training step replayed from a CUDA graph (`cuda_graphs: true`): one launch a step instead of hundreds.

Small models are bound by launching kernels from Python, not by arithmetic (docs/benchmarks.md, "GPU"). A CUDA
graph records the whole iteration of step.py once (every D update, G's update, fused Adam, the EMA, the statistics'
sum) and replays it. We record with torch.cuda.graph rather than torch.compile's CUDA-graph mode: our compile
covers G and D, not the optimisers or the EMA, took minutes for the larger presets and ran the small ones slower
than eager (docs/benchmarks.md), while recording the eager step takes one step's time.

A graph replays fixed addresses, so every input of a step sits in a tensor that is refilled before each replay
(`StaticFeed`): the rows of held data (indexed on the device), or the bytes of streamed data; the learning rates
(fused Adam takes them as device tensors); the EMA's weight. Noise, labels, DiffAugment and dropout draw from the
device's generator, which a graph advances on every replay. The first WARMUP steps run eagerly through the same feed
(on a side stream, as CUDA's graph capture asks: the optimisers' state and cuDNN's choices exist before recording);
the step after them is recorded and replayed from then on. Anything that stops the recording (a feature that reads
a value back, an unsupported operation) ends in one log line and eager steps from there, as `compile` does.
"""
from __future__ import annotations

import contextlib
import time

import torch

from .batches import DeviceBatches, as_batch

WARMUP = 3  # eager steps before recording (torch.cuda.graph's documented pattern)


def unsupported(trainer) -> str | None:
    """Why this run cannot replay its step from a CUDA graph, or None."""
    if trainer.device.type != "cuda":
        return "it needs a CUDA device"
    if trainer.dist.active:
        return "DDP's gradient hooks cannot be recorded"
    return None


class StaticFeed:
    """A step's inputs in tensors of fixed address: `fill(step)` on the host before the step, `reals()` inside it."""

    def __init__(self, trainer):
        self.t = trainer
        dev, n, b = trainer.device, trainer.cfg.d_steps, trainer.local_batch
        batches = trainer.batches
        self.held = isinstance(batches, DeviceBatches)
        if self.held:
            self.rows = torch.zeros(n, b, dtype=torch.long, device=dev)
        else:
            shape = batches.rows.shape[1:]
            self.images = torch.zeros(n, b, *shape, dtype=torch.uint8, device=dev)
            self.labels = torch.zeros(n, b, dtype=torch.long, device=dev)
        # fused Adam reads a device learning rate as float32 on CUDA and a CPU one as float64 (exactly the float
        # rate the plain step sets, so the two steps match bit for bit on a CPU)
        lr_dtype = torch.float32 if dev.type == "cuda" else torch.float64
        for opt in (trainer.opt_d, trainer.opt_g):
            for group in opt.param_groups:
                group["lr"] = torch.tensor(float(group["lr"]), dtype=lr_dtype, device=dev)
                group["capturable"] = dev.type == "cuda"
        self.ema_weight = torch.zeros((), device=dev)

    def fill(self, step: int) -> None:
        t, n = self.t, self.t.cfg.d_steps
        t.rates.apply(step)
        if t.ema:
            self.ema_weight.fill_(t.ema.weight(step))
        cuda = t.device.type == "cuda"
        if self.held:
            rows = torch.stack([t.batches.order.rows(n * step + i) for i in range(n)])
            self.rows.copy_(rows.pin_memory() if cuda else rows, non_blocking=cuda)
            return
        for i in range(n):
            x, y = t.batches.raw(n * step + i)
            self.images[i].copy_(x, non_blocking=cuda)
            self.labels[i].copy_(y, non_blocking=cuda)

    def reals(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        b = self.t.batches
        if self.held:
            return [b.take(rows) for rows in self.rows]
        return [(as_batch(x, b.memory_format), y) for x, y in zip(self.images, self.labels)]


class Replay:
    """Steps through StaticFeed: eagerly for the first WARMUP steps (and everywhere on a CPU, where `record` is
    False), then from a CUDA graph recorded at the next step."""

    def __init__(self, trainer, record: bool | None = None):
        cuda = trainer.device.type == "cuda"
        self.t, self.feed, self.record = trainer, StaticFeed(trainer), cuda if record is None else record
        self.graph, self.values, self.eager_steps = None, None, 0
        self.stream = torch.cuda.Stream() if cuda else None

    def step(self) -> torch.Tensor:
        """One step; returns its stats (a copy: the next replay writes the graph's own)."""
        t = self.t
        self.feed.fill(t.step)
        if self.graph is not None:
            self.graph.replay()
        elif self.record and self.eager_steps >= WARMUP:
            self._record()
        else:
            with self._side_stream():
                self.values = t.iteration(self.feed.reals(), self.feed.ema_weight)
            self.eager_steps += 1
        t.step += 1
        return self.values.clone() if self.graph is not None else self.values

    def _side_stream(self):
        if self.stream is None:
            return contextlib.nullcontext()
        self.stream.wait_stream(torch.cuda.current_stream())
        return _then_join(self.stream)

    def _record(self) -> None:
        """Record this step's iteration and replay it (recording runs nothing); on any failure, say why and go on
        with eager steps from this one: a recording that failed changed no weight.

        Errors are caught per thread (`thread_local`): the streaming reader's pinned copies on its own thread must
        not break the recording. A failed recording leaves the capture stream current, the device's generator in
        capture mode and a memory pool held: `_Before` puts them back."""
        t, start, before = self.t, time.perf_counter(), None
        t.recording = True
        try:
            graph = torch.cuda.CUDAGraph()
            before = _Before(t.device)
            for opt in (t.opt_d, t.opt_g):
                opt.zero_grad(set_to_none=True)  # the gradients are allocated by the recorded backward passes
            with torch.cuda.graph(graph, pool=before.pool, capture_error_mode="thread_local"):
                values = t.iteration(self.feed.reals(), self.feed.ema_weight)
            t.recording = False
            graph.replay()
        except Exception as e:  # recording fails in many ways (a host read, an unsupported kernel): say which
            cause = e.__context__ if e.__context__ is not None else e  # the body's error, not capture_end's
            said = str(cause).splitlines()[0] if str(cause) else ""
            graph = None
            if before is not None:
                before.restore()
            t.recording, t.replay, t.graphs_wanted = False, None, False
            t.D.requires_grad_(True)  # a failure in G's half left D frozen
            for opt in (t.opt_d, t.opt_g):
                opt.zero_grad(set_to_none=True)
                opt.__dict__.pop("found_inf", None)
            t.compile_note = f"eager (cuda_graphs: recording failed: {type(cause).__name__}: {said[:120]})"
            t.say(f"step {t.step + 1}: cuda_graphs: recording failed ({type(cause).__name__}: {said[:120]}): the step "
                  "reads a value back or runs what a graph cannot hold; training goes on with eager steps "
                  "(cuda_graphs=false skips the attempt)")
            self.values = t.iteration(self.feed.reals(), self.feed.ema_weight)
            return
        self.graph, self.values = graph, values
        t.say(f"step {t.step + 1}: the training step is replayed from a CUDA graph from here (recorded in "
              f"{time.perf_counter() - start:.1f} s)")


class _Before:
    """The CUDA state a recording changes (the current stream, the device's generator, the graph's memory pool), to
    put back after a recording that failed."""

    def __init__(self, device: torch.device):
        index = device.index if device.index is not None else torch.cuda.current_device()
        self.index, self.stream = index, torch.cuda.current_stream(index)
        self.generator = torch.cuda.default_generators[index]
        self.rng = self.generator.clone_state()
        self.pool = torch.cuda.graph_pool_handle()

    def restore(self) -> None:
        steps = (lambda: torch.cuda.set_stream(self.stream),
                 lambda: self.generator.graphsafe_set_state(self.rng),
                 lambda: torch._C._cuda_endAllocateToPool(self.index, self.pool),
                 lambda: torch._C._cuda_releasePool(self.index, self.pool))
        for step in steps:  # each on its own: what the failure left in place differs with where it struck
            with contextlib.suppress(Exception):
                step()


@contextlib.contextmanager
def _then_join(stream):
    with torch.cuda.stream(stream):
        yield
    torch.cuda.current_stream().wait_stream(stream)
