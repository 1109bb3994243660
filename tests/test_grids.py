"""A run that shows itself: the class named beside each row of every grid written, a grid wherever a run stops (its
end, SIGTERM or SIGINT, its time budget) and every few minutes of a slow run, and `acgan train --minutes`."""
import dataclasses
import json
import os
import signal

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image, ImageFont
from torchvision.utils import make_grid

from acgan import grids
from acgan.cli import main
from acgan.errors import Interrupted
from acgan.rundir import RunDir
from acgan.training import timing
from acgan.training.loop import Trainer
from acgan.training.single_run import train

NAMES = ["cat", "dog", "frog"]


def as_png(grid: torch.Tensor) -> np.ndarray:
    """A [0, 1] grid as write_png stores its pixels (RGB)."""
    return grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def margin_of(names, cell: int, background: float = 0.0) -> np.ndarray:
    """The margin that names these rows of cells (2 px padding), as pixels: what a grid of them shows on its left."""
    rows = len(names) * (cell + 2) + 2
    named = grids.labelled(torch.full((3, rows, cell + 4), background), (cell, cell), 2, rows=names,
                           background=background)
    return as_png(named[:, :, :grids.row_margin(names, cell)])


def saved(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_names_widen_a_grid_and_leave_its_images_as_they_are():
    images = torch.rand(12, 3, 16, 16)
    plain = make_grid(images, nrow=4, padding=2)
    named = grids.labelled_grid(images, 4, rows=NAMES)
    margin = grids.row_margin(NAMES, 16)
    assert margin > 2 * grids.GAP and named.shape == (3, plain.shape[1], plain.shape[2] + margin)
    assert torch.equal(named[:, :, margin:], plain)  # the images and their padding, pixel for pixel
    assert named[:, :, :margin].max() == 1.0  # light names on the dark padding colour
    for i, name in enumerate(NAMES):  # each name beside its own row: the band of its row is the name drawn alone
        alone = grids.labelled_grid(images[4 * i:4 * i + 4], 4, rows=[name])
        width = grids.row_margin([name], 16)
        assert torch.equal(named[:, 18 * i:18 * i + 20, margin - width:margin], alone[:, :, :width]), name
    assert not torch.equal(grids.labelled_grid(images, 4, rows=NAMES[::-1])[:, :, :margin], named[:, :, :margin])
    with pytest.raises(ValueError, match="2 names for 3 rows"):
        grids.labelled_grid(images, 4, rows=NAMES[:2])


def test_names_are_drawn_at_a_readable_size_and_above_columns_too(monkeypatch):
    assert [grids.text_size(c) for c in (16, 28, 32, 64, 128)] == [12, 16, 19, 20, 20]
    images = torch.rand(6, 3, 28, 28)
    plain = make_grid(images, nrow=3, padding=2, pad_value=1.0)
    styled = grids.labelled_grid(images, 3, columns=NAMES, background=1.0)  # the evaluation's white padding
    top = styled.shape[1] - plain.shape[1]
    assert top > 16 and styled.shape[2] == plain.shape[2] and torch.equal(styled[:, top:], plain)
    assert styled[:, :top].min() == 0.0  # dark names on the light padding colour
    named = grids.labelled_grid(images, 3, rows=["T-shirt/top", "a name far longer than any margin should be"])
    assert grids.row_margin(["x" * 24], 28) >= named.shape[2] - plain.shape[2]  # cut short, with an ellipsis

    def bitmap_only(size=None):  # a Pillow older than 10.1: no sizes, its small bitmap font drawn larger
        if size is not None:
            raise TypeError("load_default() got an unexpected keyword argument 'size'")
        return ImageFont.load_default_imagefont()
    monkeypatch.setattr(ImageFont, "load_default", bitmap_only)
    old = grids.labelled_grid(images, 3, rows=["cat", "dög"])
    assert torch.equal(old[:, :, old.shape[2] - plain.shape[2]:], make_grid(images, nrow=3, padding=2))
    assert grids._label("cat", grids.text_size(28)).height == 22  # 11 px of bitmap, twice


def test_training_sampling_and_export_grids_name_their_rows(tiny_cfg, tmp_path):
    run = train(dataclasses.replace(tiny_cfg, tensorboard=False), tmp_path / "run", progress=False)
    margin = margin_of(NAMES, 16)
    for grid in ("latest.png", "step-0000000.png", "step-0000006.png"):
        pixels = saved(run / "samples" / grid)
        assert pixels.shape == (3 * 18 + 2, margin.shape[1] + 4 * 18 + 2, 3), grid
        assert np.array_equal(pixels[:, :margin.shape[1]], margin), grid
    out = tmp_path / "two.png"
    res = CliRunner().invoke(main, ["sample", str(run), "--classes", "frog,cat", "--per-class", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert np.array_equal(saved(out)[:, :grids.row_margin(["frog", "cat"], 16)], margin_of(["frog", "cat"], 16))
    res = CliRunner().invoke(main, ["export", str(run), str(tmp_path / "export")])
    assert res.exit_code == 0, res.output
    card = saved(tmp_path / "export" / "samples.png")
    assert card.shape[1] == margin.shape[1] + 8 * 18 + 2 and np.array_equal(card[:, :margin.shape[1]], margin)


def test_the_reports_grids_name_their_classes(split_data, evaluator_dir, tmp_path):
    run = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(split_data), "--resolution", "16",
                                    "--batch-size", "8", "--steps", "2", "--quiet", "--out", str(run), "--set",
                                    "g_width=8", "--set", "d_width=8", "--set", "tensorboard=false"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["evaluate", str(run), "--evaluator", str(evaluator_dir), "--per-class", "10",
                                    "--real-per-class", "10", "--pairs", "4"])
    assert res.exit_code == 0, res.output
    margin = margin_of(NAMES, 16, background=1.0)  # dark names on the evaluation's white padding
    for figure, columns in (("samples", 10), ("interpolation_linear", 8), ("interpolation_slerp", 8),
                            ("nearest_pixel", 6), ("nearest_features", 6)):
        pixels = saved(run / "eval" / f"{figure}.png")
        assert pixels.shape == (3 * 18 + 2, margin.shape[1] + columns * 18 + 2, 3), figure
        assert np.array_equal(pixels[:, :margin.shape[1]], margin), figure
    style = saved(run / "eval" / "class_as_style.png")  # a class per column: the names stand above them
    assert style.shape[1] == 3 * 18 + 2 and style.shape[0] > 6 * 18 + 2 + grids.text_size(16)
    assert style[:style.shape[0] - (6 * 18 + 2)].min() == 0


@pytest.fixture
def clock(monkeypatch):
    """timing's clock moved by dt seconds per training step, and by nothing else: `dt` may be a function of the
    step about to be trained."""
    state = {"t": 1000.0, "dt": 1.0}
    step = Trainer.train_step

    def timed(self):
        state["t"] += state["dt"](self.step) if callable(state["dt"]) else state["dt"]
        return step(self)
    monkeypatch.setattr(Trainer, "train_step", timed)
    monkeypatch.setattr(timing, "now", lambda: state["t"])
    return state


def grid_steps(run) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in (run / "samples").glob("step-*.png"))


def test_a_slow_run_writes_a_grid_every_few_minutes(tiny_cfg, tmp_path, clock):
    clock["dt"] = timing.GRID_EVERY_S / 3
    run = train(dataclasses.replace(tiny_cfg, steps=8, sample_every=1000), tmp_path / "run", progress=False)
    assert grid_steps(run) == [0, 3, 6, 8]  # the start, every GRID_EVERY_S of training, the end


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_leaves_the_grid_of_the_step_it_stopped_at(tiny_cfg, tmp_path, monkeypatch, signum):
    step = Trainer.train_step

    def signalled(self):
        out = step(self)
        if self.step == 5:
            os.kill(os.getpid(), signum)
        return out
    monkeypatch.setattr(Trainer, "train_step", signalled)
    cfg = dataclasses.replace(tiny_cfg, steps=100, sample_every=1000, checkpoint_every=1000)
    with pytest.raises(Interrupted, match=f"stopped by {signal.Signals(signum).name} after step 5: checkpoint saved"):
        train(cfg, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert grid_steps(run) == [0, 5] and RunDir(run).last_step() == 5
    assert np.array_equal(saved(run / "samples" / "latest.png"), saved(run / "samples" / "step-0000005.png"))


def test_minutes_set_the_steps_and_the_schedule_by_the_speed(tiny_cfg, tmp_path, clock):
    cfg = dataclasses.replace(tiny_cfg, steps=6, lr_schedule="linear", sample_every=1000, checkpoint_every=1000)
    run = train(cfg, tmp_path / "run", progress=False, minutes=0.5)  # 30 s at a step a second
    said = [line.split(" ", 2)[2] for line in (run / "log.txt").read_text().splitlines()]  # less the times
    start = next(i for i, line in enumerate(said) if line.startswith("start: "))
    assert said[start].endswith("steps for 0.5 minutes of batch 8")
    assert said[start + 1:-1] == [
        "--minutes 0.5: about 30 steps at 1 steps/s; training to step 30", "step 30: checkpoint saved",
        f"--minutes 0.5 spent at step 30: checkpoint saved; continue with `acgan train --resume {run} --minutes M` "
        "(or --steps N, a new total)"]
    assert said[-1].startswith("done: 30 steps (30 trained in ")
    assert json.loads((run / "config.json").read_text())["config"]["steps"] == 30
    assert grid_steps(run) == [0, 30] and RunDir(run).last_step() == 30
    state = RunDir(run).load_checkpoint()[0]  # the linear schedule's last step was step 30's: 1 - 29 / 30
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(cfg.lr_g / 30)


def test_a_run_slower_than_estimated_stops_at_its_minutes_with_the_steps_it_reached(tiny_cfg, tmp_path, clock):
    clock["dt"] = lambda step: 1.0 if step < 10 else 4.0
    run = train(dataclasses.replace(tiny_cfg, steps=6, sample_every=1000, checkpoint_every=1000), tmp_path / "run",
                progress=False, minutes=0.5)
    log = (run / "log.txt").read_text()
    assert "training to step 30" in log and "--minutes 0.5 spent at step 15: checkpoint saved" in log
    assert json.loads((run / "config.json").read_text())["config"]["steps"] == 15
    assert grid_steps(run) == [0, 15] and RunDir(run).last_step() == 15
    assert [r["step"] for r in RunDir(run).read_stats()][-1] == 15
    res = CliRunner().invoke(main, ["train", "--resume", str(run), "--quiet"])  # the schedule ended: nothing to do
    assert res.exit_code == 0 and "already at step 15 of 15; pass --steps N or --minutes M" in (
        run / "log.txt").read_text()


def budget_args(data, out, minutes):
    return ["train", "--dataset", "folder", "--data-dir", str(data), "--resolution", "16", "--batch-size", "8",
            "--minutes", str(minutes), "--quiet", "--device", "cpu", "--precision", "fp32", "--out", str(out),
            "--set", "g_width=8", "--set", "d_width=8", "--set", "log_every=10", "--set", "monitor_every=0",
            "--set", "checkpoint_every=100000", "--set", "sample_every=100000", "--set", "tensorboard=false"]


def test_minutes_stop_a_run_by_itself_and_it_resumes(folder_data, tmp_path):
    run = tmp_path / "run"
    res = CliRunner().invoke(main, budget_args(folder_data, run, 0.03))  # 1.8 s on the real clock
    assert res.exit_code == 0, res.output
    log = (run / "log.txt").read_text().splitlines()
    step = RunDir(run).last_step()
    assert step > 1 and f"--minutes 0.03 spent at step {step}: checkpoint saved; continue with `acgan train " \
        f"--resume {run} --minutes M` (or --steps N, a new total)" in log[-2]
    assert json.loads((run / "config.json").read_text())["config"]["steps"] == step
    assert grid_steps(run) == [0, step] and any("--minutes 0.03: about " in line for line in log)

    res = CliRunner().invoke(main, ["train", "--resume", str(run), "--minutes", "0.02", "--quiet"])
    assert res.exit_code == 0, res.output
    further = RunDir(run).last_step()
    assert further > step and json.loads((run / "config.json").read_text())["config"]["steps"] == further
    assert grid_steps(run) == [0, step, further]
    assert f"resume from step {step}: " in (run / "log.txt").read_text()


@pytest.mark.parametrize("args,says", [
    (["--minutes", "1", "--steps", "5"], "--minutes and --steps both say how long to train: give one"),
    (["--minutes", "1", "--classes-per-model", "2"], "--minutes trains a single model"),
    (["--minutes", "0"], "Invalid value for '--minutes'")])
def test_minutes_refused_in_one_line(folder_data, tmp_path, args, says):
    res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(folder_data), "--out",
                                    str(tmp_path / "run"), *args])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and says in res.output, res.output


def test_a_run_says_how_long_its_steps_take_and_on_a_cpu_what_is_faster(tiny_cfg, tmp_path, clock, monkeypatch):
    clock["dt"] = 2.0
    run = train(dataclasses.replace(tiny_cfg, steps=30, sample_every=1000, checkpoint_every=1000), tmp_path / "run",
                progress=False)
    # measured from step 1 (its one-off costs left out) over 20 s: 10 steps, so 0.5 steps/s and 19 steps left
    assert "at 0.5 steps/s the 19 steps left take about 0m38s" in (run / "log.txt").read_text()
    assert "faster on a CPU" not in (run / "log.txt").read_text()
    t = {"now": 0.0}
    monkeypatch.setattr(timing, "now", lambda: t["now"])
    forecasts = [timing.Forecast(2000, "cpu", 64, "biggan"), timing.Forecast(2000, "cuda", 64, "biggan"),
                 timing.Forecast(2000, "cpu", 32, "resnet")]
    for step in range(1, 30):
        t["now"] = 7.6 * step  # the BigGAN pair's 64 px step on a slow CPU
        said = [f.after(step) for f in forecasts]
        if any(said):
            break
    assert said[0] == ("at 0.132 steps/s the 1,996 steps left take about 4h12m; faster on a CPU: --preset "
                       "small-64-cpu, a smaller --resolution, or --minutes N for a time budget; or a GPU "
                       "(--device cuda)")
    assert said[1] == "at 0.132 steps/s the 1,996 steps left take about 4h12m"
    assert "faster on a CPU: a CPU preset (docs/training.md), a smaller --resolution" in said[2]
    hours = forecasts[0]
    assert hours.after(step + 1) is None  # said once


def test_a_slow_early_step_does_not_end_a_budget_early(tiny_cfg, tmp_path, clock):
    """The second step takes 10 s, the rest 0.5 s: the first estimate (about 3 steps) is reached with most of the
    budget left, so it is made again at once and the run trains to its deadline."""
    clock["dt"] = lambda step: 10.0 if step == 1 else 0.5
    run = train(dataclasses.replace(tiny_cfg, steps=6, sample_every=1000, checkpoint_every=1000), tmp_path / "run",
                progress=False, minutes=0.5)
    steps = json.loads((run / "config.json").read_text())["config"]["steps"]
    assert steps >= 35 and f"--minutes 0.5 spent at step {steps}" in (run / "log.txt").read_text()
