"""TensorBoard events mirror stats.jsonl, grids and config; a resume after a crash leaves no duplicated steps."""
import dataclasses
import json

import pytest

from acgan.rundir import RunDir
from acgan.training.single_run import resume, train

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def read_events(run):
    acc = event_accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_events_match_stats_and_survive_a_crash(tiny_cfg, tmp_path):
    cfg = dataclasses.replace(tiny_cfg, steps=6, checkpoint_every=4, monitor_every=2, monitor_samples=8,
                              monitor_pairs=3)
    run = train(cfg, tmp_path / "r", progress=False)
    # a crash after step 4's checkpoint: the step-6 checkpoint never made it, its stats and events did
    (run / "checkpoints" / "ckpt-0000006.pt").unlink()
    resume(run, steps=8, progress=False)
    rows = RunDir(run).read_stats()
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    acc = read_events(run)
    for key in ("d_loss", "g_loss", "acc_real", "acc_fake", "images_per_s"):
        events = acc.Scalars(f"train/{key}")
        assert [e.step for e in events] == [2, 4, 6, 8], key  # the crashed step 6 was purged, not doubled
        assert [e.value for e in events] == pytest.approx([r[key] for r in rows], rel=1e-6), key
    for c, name in enumerate(["cat", "dog", "frog"]):
        assert [e.value for e in acc.Scalars(f"class_ms_ssim/{name}")] == pytest.approx(
            [r["class_ms_ssim"][c] for r in rows], rel=1e-6)
        assert len(acc.Scalars(f"class_recall/{name}")) == 4
    assert [e.step for e in acc.Images("samples")][0] == 0 and len(acc.Images("samples")) >= 3
    config = json.loads(acc.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()[5:-6])
    assert config["steps"] == 6 and config["arch"] == "dcgan-small"


def test_tensorboard_can_be_turned_off(tiny_cfg, tmp_path):
    run = train(dataclasses.replace(tiny_cfg, tensorboard=False), tmp_path / "r", progress=False)
    assert not (run / "tensorboard").exists()
