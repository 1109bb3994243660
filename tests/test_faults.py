"""Faults a long run meets: SIGTERM / SIGINT (checkpoint, clean exit, same final weights), a second signal, two
writers on one run directory."""
import signal
import subprocess
import sys
import time

import pytest
import torch
from click.testing import CliRunner

from acgan.cli import main
from acgan.rundir import RunDir

from .conftest import assert_same_weights


def cli_args(data, out, steps):
    return ["train", "--dataset", "folder", "--data-dir", str(data), "--resolution", "16", "--batch-size", "8",
            "--steps", str(steps), "--quiet", "--device", "cpu", "--precision", "fp32", "--out", str(out),
            "--set", "g_width=8", "--set", "d_width=8", "--set", "log_every=1", "--set", "checkpoint_every=1000",
            "--set", "monitor_every=0", "--set", "tensorboard=false"]


def start_and_wait(args, run, rows=3):
    proc = subprocess.Popen([sys.executable, "-m", "acgan.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(RunDir(run).read_stats() if (run / "stats.jsonl").exists() else []) < rows:
        time.sleep(0.1)
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_checkpoints_and_resume_reaches_the_same_weights(folder_data, tmp_path, signum, status):
    run = tmp_path / "run"
    proc = start_and_wait(cli_args(folder_data, run, 100_000), run)
    proc.send_signal(signum)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == status, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"stopped by {signal.Signals(signum).name} after step ") and "Traceback" not in err
    step = int(last.split("after step ")[1].split(":")[0])
    assert RunDir(run).last_step() == step and RunDir(run).read_stats()[-1]["step"] == step
    assert (run / "samples" / f"step-{step:07d}.png").is_file()  # what it looked like when it stopped

    assert CliRunner().invoke(main, ["train", "--resume", str(run), "--steps", str(step + 3)]).exit_code == 0
    straight = tmp_path / "straight"
    assert CliRunner().invoke(main, cli_args(folder_data, straight, step + 3)).exit_code == 0
    a, b = RunDir(run).load_checkpoint()[0], RunDir(straight).load_checkpoint()[0]
    assert a["step"] == step + 3
    assert_same_weights(a, b)
    assert [r["step"] for r in RunDir(run).read_stats()] == list(range(1, step + 4))


@pytest.mark.slow
def test_a_second_signal_ends_at_once():
    code = ("import os, signal\nfrom acgan.training.signals import StopSignals\nwith StopSignals() as s:\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n    print('noted', s.signum == signal.SIGTERM, flush=True)\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n    print('still here')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == -signal.SIGTERM and res.stdout == "noted True\n"


@pytest.mark.slow
def test_two_writers(folder_data, tmp_path):
    run = tmp_path / "run"
    proc = start_and_wait(cli_args(folder_data, run, 100_000), run)
    try:
        for args in (["train", "--resume", str(run)], cli_args(folder_data, run, 10) + ["--force"]):
            res = CliRunner().invoke(main, args)
            assert res.exit_code == 2 and "is being trained by pid" in res.output, res.output
            assert len(res.output.strip().splitlines()) == 1
        assert (run / "config.json").is_file() and proc.poll() is None  # the live run is untouched
    finally:
        proc.kill()  # like kill -9: the lock dies with the process
        proc.wait()
    res = CliRunner().invoke(main, ["train", "--resume", str(run), "--steps", str(RunDir(run).last_step() + 2)])
    assert res.exit_code == 0, res.output


def test_disk_full_at_a_checkpoint(folder_data, tmp_path, monkeypatch):
    import errno

    import acgan.io

    real_save, calls = torch.save, []

    def save(obj, f, *a, **k):
        calls.append(1)
        if len(calls) == 2:  # the second checkpoint meets a full disk half-way
            f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **k)
    monkeypatch.setattr(acgan.io.torch, "save", save)
    run = tmp_path / "run"
    args = cli_args(folder_data, run, 6)[:-8] + ["--set", "checkpoint_every=3", "--set", "tensorboard=false"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert res.output.startswith("error: the disk is full: could not write") and "ckpt-0000006.pt" in res.output
    assert not list(run.rglob("*.tmp")) and [s for s, _ in RunDir(run).checkpoints()] == [3]
    assert RunDir(run).load_checkpoint()[0]["step"] == 3  # the previous checkpoint is intact
    monkeypatch.setattr(acgan.io.torch, "save", real_save)  # space is free again
    assert CliRunner().invoke(main, ["train", "--resume", str(run)]).exit_code == 0
    straight = tmp_path / "straight"
    assert CliRunner().invoke(main, cli_args(folder_data, straight, 6)[:-8] + args[-4:]).exit_code == 0
    a, b = RunDir(run).load_checkpoint()[0], RunDir(straight).load_checkpoint()[0]
    assert a["step"] == 6
    assert_same_weights(a, b)


def nan_at_step(monkeypatch, step, loss="acgan"):
    """D's loss becomes NaN at one step, as after a bad batch or a learning rate too high."""
    from acgan.losses import LOSSES
    cls = LOSSES[loss]
    real, calls = cls.discriminator, []

    def discriminator(self, *args):
        out = real(self, *args)
        calls.append(1)
        if len(calls) == step:
            out["loss"] = out["loss"] * float("nan")
        return out
    monkeypatch.setattr(cls, "discriminator", discriminator)


def test_divergence_stops_with_the_last_good_checkpoint(folder_data, tmp_path, monkeypatch):
    nan_at_step(monkeypatch, 5, loss="adc")  # the default preset's loss
    run = tmp_path / "r"
    args = cli_args(folder_data, run, 6)[:-8] + ["--set", "log_every=2", "--set", "checkpoint_every=3"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert "training diverged: the losses became NaN or infinite between steps 5 and 6; the last good " \
           "checkpoint is ckpt-0000003.pt (step 3)" in res.output
    assert [s for s, _ in RunDir(run).checkpoints()] == [3]  # no checkpoint with NaN weights
    assert "training diverged" in (run / "log.txt").read_text()
    assert [r["step"] for r in RunDir(run).read_stats()] == [2, 4]


def test_nan_policy_skip_leaves_the_step_out(tiny_cfg, tmp_path, monkeypatch):
    import dataclasses

    from acgan.training.single_run import train
    nan_at_step(monkeypatch, 5)
    run = RunDir(train(dataclasses.replace(tiny_cfg, nan_policy="skip", tensorboard=False), tmp_path / "r",
                       progress=False))
    state = run.load_checkpoint()[0]
    assert state["step"] == 6 and all(torch.isfinite(t).all() for t in state["D"].values())
    assert [r["skipped_steps"] for r in run.read_stats()] == [0, 0, 1]
    assert state["opt_d"]["state"][0]["step"].item() == 5  # Adam counted 5 of D's 6 steps


def test_damaged_cache_entry_is_rebuilt_and_reported(tmp_path, monkeypatch):
    from acgan.evaluation.cache import cache_dir, cached
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    computed, said = [], []

    def compute():
        computed.append(1)
        return {"x": torch.arange(4.0)}
    assert cached("t", "k", compute, said.append)["x"].tolist() == [0, 1, 2, 3]
    assert cached("t", "k", compute, said.append) and len(computed) == 1 and said == []  # served from the cache
    entry = cache_dir() / "t-k.pt"
    data = bytearray(entry.read_bytes())
    data[-40] ^= 0xFF  # one flipped byte: still a loadable zip, maybe, but not what was written
    entry.write_bytes(bytes(data))
    assert cached("t", "k", compute, said.append)["x"].tolist() == [0, 1, 2, 3]
    assert len(computed) == 2 and len(said) == 1 and "damaged cache entry" in said[0] and "sha256" in said[0]


def test_damaged_evaluator(split_data, evaluator_dir, tmp_path, monkeypatch):
    import json
    import shutil

    from acgan.config import TrainConfig
    from acgan.evaluation.evaluator import EvalNet, save_evaluator
    from acgan.evaluation.evaluator import store as evaluators
    from acgan.rundir import RunRecord, data_record

    weights = evaluator_dir / "evaluator.pt"
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated
    run = tmp_path / "run"
    assert CliRunner().invoke(main, cli_args(split_data, run, 2)).exit_code == 0
    res = CliRunner().invoke(main, ["check", str(run), "--evaluator", str(evaluator_dir)])
    assert res.exit_code == 2 and "is damaged" in res.output and len(res.output.strip().splitlines()) == 1

    # the default evaluator of a run's data is ours to rebuild: said in one line, retrained, never used damaged
    record = RunRecord({"dataset": "folder", "data_dir": str(split_data)},
                       data_record("folder", ["cat", "dog", "frog"], [0, 1, 2], 3, 16))
    monkeypatch.chdir(tmp_path)
    default = evaluators.record_evaluator_dir(record)
    shutil.copytree(evaluator_dir, default)  # the damaged one, where the default lookup finds it
    meta = json.loads((evaluator_dir / "evaluator.json").read_text())
    retrained, said = [], []

    def train_and_save(cfg, resolution, out, **kwargs):  # a stand-in for the minutes of real training
        retrained.append(out)
        save_evaluator(EvalNet(3, 3), meta, out)
    monkeypatch.setattr(evaluators, "train_and_save", train_and_save)
    ev = evaluators.get_evaluator(None, record, TrainConfig(dataset="folder", data_dir=str(split_data)),
                                  log=said.append)
    assert retrained == [default] and ev.meta["class_names"] == ["cat", "dog", "frog"]
    assert said[0].startswith("warning: the evaluator in") and "rebuilding it" in said[0]


def test_an_evaluator_of_another_network_version_is_refused_in_one_line(evaluator_dir, split_data, tmp_path):
    """Weights of an older EvalNet must never be read into the new one's layers."""
    import json
    meta_path = evaluator_dir / "evaluator.json"
    meta = json.loads(meta_path.read_text())
    del meta["net"]
    meta_path.write_text(json.dumps(meta))
    run = tmp_path / "run"
    assert CliRunner().invoke(main, cli_args(split_data, run, 2)).exit_code == 0
    res = CliRunner().invoke(main, ["check", str(run), "--evaluator", str(evaluator_dir)])
    assert res.exit_code == 2 and "another version of acgan" in res.output
    assert len(res.output.strip().splitlines()) == 1
