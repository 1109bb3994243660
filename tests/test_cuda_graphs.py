"""The captured step on a GPU: scripts/gpu-check.sh runs this file; without CUDA every test here is skipped (the
CPU's side of the same step is tests/test_captured.py)."""
import pytest
import torch

from acgan.bench.presets import preset_trainer
from acgan.config import assemble
from acgan.training.captured import WARMUP
from acgan.training.loop import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def trainer_for(preset: str, graphs: bool, overrides=()) -> Trainer:
    return preset_trainer(preset, "cuda", [f"cuda_graphs={str(graphs).lower()}", *overrides])[0]


def losses(t: Trainer, steps: int) -> torch.Tensor:
    rows = []
    for _ in range(steps):
        out = t.train_step()
        rows.append(torch.stack([out["d_loss"], out["g_loss"]]))
    return torch.stack(rows).cpu()


def as_float32(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float32))


@pytest.mark.parametrize("preset", ["demo", "cifar-cpu", "modern-cifar", "modern-64"])
def test_the_captured_step_trains_what_the_eager_step_trains(preset):
    """A replay launches the kernels the eager step launches, and the generator's offsets the eager step would use
    (a graph adds its recorded offsets to the generator's offset at each replay), so both draw the same noise. The
    one difference in arithmetic is the learning rate, which fused Adam reads from a float32 device tensor in a
    replay: the eager run here trains at the float32 roundings of the preset's rates, so the two compute the same.
    What is left is the kernels' own run-to-run spread (atomic additions), measured by a second eager run: the
    captured losses must lie within ten times that spread, plus 1e-6 relative for a reduction's order."""
    eager, again = (losses(trainer_for(preset, False, rounded(preset)), STEPS) for _ in range(2))
    t = trainer_for(preset, True)
    captured = losses(t, STEPS)
    assert t.replay is not None and t.replay.graph is not None, t.compile_note
    assert_within_spread(captured, eager, again)


STEPS = WARMUP + 8


def rounded(preset: str) -> list[str]:
    """The preset's learning rates as fused Adam reads them from a float32 tensor."""
    cfg = assemble(preset, {"device": "cuda"})
    return [f"lr_g={as_float32(cfg.lr_g)!r}", f"lr_d={as_float32(cfg.lr_d)!r}"]


def assert_within_spread(found: torch.Tensor, eager: torch.Tensor, again: torch.Tensor) -> None:
    allowed = 10 * (eager - again).abs().max() + 1e-6 * eager.abs()
    assert ((found - eager).abs() <= allowed).all(), (found - eager).abs().max()


def test_every_replay_draws_fresh_noise_and_reads_nothing_back():
    t = trainer_for("demo", graphs=True)
    for _ in range(WARMUP + 1):
        t.train_step()
    assert t.replay.graph is not None, t.compile_note
    seen = []
    torch.cuda.set_sync_debug_mode("error")  # any host read of a device value in a step raises
    try:
        for _ in range(3):
            t.train_step()
            seen.append(t.last_view.fake_labels.clone())
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert not torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])  # 64 labels of 10 classes


def test_a_recording_that_fails_on_the_gpu_trains_on_eagerly():
    """A host read inside the step stops the recording for real (the last test of the file: were the device's state
    not put back, later tests in this process would meet it). The run says why and trains on eagerly, drawing the
    noise an eager run draws: the same losses as one."""
    said = []

    def reading(trainer):
        generator = trainer.loss.generator

        def read(*args):
            out = generator(*args)
            float(out["loss"].detach())  # a host read: not allowed while a graph records
            return out
        trainer.loss.generator = read
        return trainer

    eager, again = (losses(reading(trainer_for("demo", False, rounded("demo"))), STEPS) for _ in range(2))
    t = reading(trainer_for("demo", True))
    t.say = said.append
    found = losses(t, STEPS)
    assert t.replay is None and "recording failed" in t.compile_note, t.compile_note
    assert len(said) == 1 and said[0].startswith(f"step {WARMUP + 1}: eager (cuda_graphs: recording failed:"), said
    assert_within_spread(found, eager, again)
