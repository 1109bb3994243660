"""Data-parallel training under torchrun with 2 CPU processes (gloo) against one process on the same global batch."""
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from acgan.cli import main
from acgan.rundir import RunDir

pytestmark = pytest.mark.slow  # torchrun subprocesses

COMMON = ["--dataset", "folder", "--resolution", "16", "--batch-size", "8", "--quiet", "--device", "cpu",
          "--precision", "fp32", "--set", "g_width=8", "--set", "d_width=8", "--set", "z_dim=8",
          "--set", "d_dropout=0", "--set", "monitor_every=0", "--set", "checkpoint_every=2", "--set", "log_every=2"]
# weights after a few Adam steps agree to float round-off (6e-8 when written); without synchronised BatchNorm they
# differ by about 1e-2, because each rank normalises with its own half-batch statistics
TOLERANCE = 1e-5


def cli(args, torchrun: bool):
    prefix = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] \
        if torchrun else [sys.executable]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    res = subprocess.run(prefix + ["-m", "acgan.cli", "train", *args], capture_output=True, text=True, env=env,
                         timeout=300)
    # a failing rank's own line first: torchrun's report of the others fills the tail
    said = [line for line in res.stderr.splitlines() if line.startswith(("error:", "warning:", "Traceback"))]
    assert res.returncode == 0, "\n".join(said) + "\n" + res.stderr[-3000:]
    return res


def max_difference(a, b):
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())


def test_two_process_ddp_matches_one_process(folder_data, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one process, in this one, with a thread as each worker has
    try:
        res = CliRunner().invoke(main, ["train", *COMMON, "--data-dir", str(folder_data), "--steps", "4", "--out",
                                        str(one)])
    finally:
        torch.set_num_threads(threads)
    assert res.exit_code == 0, res.output
    cli([*COMMON, "--data-dir", str(folder_data), "--steps", "4", "--out", str(two)], torchrun=True)
    a, b = RunDir(one).load_checkpoint()[0], RunDir(two).load_checkpoint()[0]
    assert a["step"] == b["step"] == 4
    assert max_difference(a["G"], b["G"]) < TOLERANCE and max_difference(a["D"], b["D"]) < TOLERANCE
    assert "DDP over 2 processes" in (two / "log.txt").read_text()
    # only rank 0 wrote: one line per logged step
    assert [line.count('"step"') for line in (two / "stats.jsonl").read_text().splitlines()] == [1, 1]

    nosync = tmp_path / "nosync"
    cli([*COMMON, "--data-dir", str(folder_data), "--steps", "4", "--out", str(nosync), "--set",
         "sync_batchnorm=false"], torchrun=True)
    assert max_difference(a["G"], RunDir(nosync).load_checkpoint()[0]["G"]) > 1e-3

    cli(["--resume", str(two), "--steps", "6"], torchrun=True)  # resume under torchrun
    assert RunDir(two).load_checkpoint()[0]["step"] == 6
    steps = [int(line.split('"step": ')[1].split(",")[0]) for line in (two / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]


def test_batch_must_split_over_ranks(folder_data, tmp_path, monkeypatch):
    from acgan.errors import UserError
    from acgan.training.distributed import DistContext, local_batch
    assert local_batch(8, DistContext(0, 2)) == 4
    with pytest.raises(UserError, match="does not split over 3 processes"):
        local_batch(8, DistContext(0, 3))


def test_a_dying_rank_stops_the_other_and_the_run_resumes(folder_data, tmp_path):
    """kill -9 one of two torchrun processes: the other stops within a bounded time with one clear line, and the
    run resumes from its last checkpoint in a single process."""
    import signal
    import time

    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    args = [*COMMON, "--data-dir", str(folder_data), "--steps", "100000", "--out", str(run)]
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                                 "2", "-m", "acgan.cli", "train", *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 180
    while time.time() < deadline and len(RunDir(run).checkpoints()) < 2:
        time.sleep(0.2)
    assert len(RunDir(run).checkpoints()) >= 2
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(launcher.pid)], capture_output=True,
                              text=True).stdout.split()
    rank1 = [p for p in children if b"RANK=1" in open(f"/proc/{p}/environ", "rb").read().split(b"\0")]
    os.kill(int(rank1[0]), signal.SIGKILL)
    start = time.time()
    err = launcher.communicate(timeout=120)[1]
    assert launcher.returncode != 0 and time.time() - start < 90
    said = [line for line in err.splitlines() if "lost the other training processes" in line]
    # usually gloo reports the dead peer first and rank 0 says so in one line; when torchrun's own SIGTERM reaches it
    # first, torchrun ends it and names the dead rank in its summary. Either way the survivor stops promptly.
    assert (len(said) == 1 and said[0].startswith("error: rank 0 of 2:") and "--resume" in said[0]) or \
        "Signal 9 (SIGKILL) received" in err, err[-3000:]
    last = RunDir(run).last_step()
    resumed = subprocess.run([sys.executable, "-m", "acgan.cli", "train", "--resume", str(run), "--steps",
                              str(last + 2)], capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert RunDir(run).load_checkpoint()[0]["step"] == last + 2


def test_sigterm_under_torchrun_stops_every_rank_after_the_same_step(folder_data, tmp_path):
    """Pre-emption: SIGTERM to torchrun reaches both workers; they agree on the step, rank 0 checkpoints it."""
    import signal
    import time

    run = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    args = [*COMMON, "--data-dir", str(folder_data), "--steps", "100000", "--out", str(run),
            "--set", "checkpoint_every=1000"]
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                                 "2", "-m", "acgan.cli", "train", *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 180
    while time.time() < deadline and len(RunDir(run).read_stats() if (run / "stats.jsonl").exists() else []) < 3:
        time.sleep(0.2)
    launcher.send_signal(signal.SIGTERM)
    err = launcher.communicate(timeout=120)[1]
    stops = [line.split("after step ")[1].split(":")[0] for line in err.splitlines()
             if line.startswith("stopped by SIGTERM after step ")]
    assert len(stops) == 2 and len(set(stops)) == 1, err[-3000:]  # each rank says it, and they name one step
    assert RunDir(run).last_step() == int(stops[0])


def test_minutes_under_torchrun_end_every_rank_after_the_same_step(folder_data, tmp_path):
    """Each rank's clock differs: rank 0's estimates are every rank's (ranks that disagreed would hang in DDP)."""
    import json
    run = tmp_path / "run"
    cli([*COMMON, "--data-dir", str(folder_data), "--minutes", "0.05", "--out", str(run)], torchrun=True)
    step = RunDir(run).last_step()
    assert step > 1 and json.loads((run / "config.json").read_text())["config"]["steps"] == step
    assert f"--minutes 0.05 spent at step {step}: checkpoint saved" in (run / "log.txt").read_text()
