"""Data-parallel training under torchrun with 2 CPU processes (gloo) against one process on the same global batch."""
import os
import subprocess
import sys

import pytest

from acgan.rundir import RunDir

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
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def max_difference(a, b):
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a if a[k].is_floating_point())


def test_two_process_ddp_matches_one_process(folder_data, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    cli([*COMMON, "--data-dir", str(folder_data), "--steps", "4", "--out", str(one)], torchrun=False)
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
