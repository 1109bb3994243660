"""Resume is bit-identical: a run stopped at a checkpoint and resumed ends where the same run in one go ends, for
every part of the training state (G, D, G's EMA, both optimisers, the loss terms' running statistics, the random
streams) and every statistic it logged, whatever the architecture, loss, stabiliser, loss term or schedule."""
import dataclasses
import shutil

import pytest

from acgan.losses.terms import TERMS
from acgan.rundir import RunDir
from acgan.training.single_run import resume, train

from .conftest import assert_same_state, write_folder_dataset

BIGGAN = dict(arch="biggan", resolution=32, g_width=2, d_width=2, embed_dim=8, z_dim=24, loss="adc",
              spectral_norm="both", ema_decay=0.99, d_steps=2)
CASES = {  # name -> (config changes from tiny_cfg, steps, cut)
    "plain": ({}, 8, 4),
    "ema": ({"ema_decay": 0.999}, 8, 4),
    "spectral-norm": ({"spectral_norm": "both"}, 6, 3),
    "standing-stats": ({"ema_decay": 0.9, "standing_stats": 4}, 6, 3),
    "class-bn": ({"g_class_bn": True, "ema_decay": 0.9, "standing_stats": 2}, 6, 3),
    "linear-lr": ({"lr_schedule": "linear", "lr_g": 4e-4, "lr_d": 2e-4}, 6, 3),
    "imle": ({"imle": 3.0}, 6, 3),
    "lecam": ({"lecam": 0.3}, 6, 3),
    "resnet-adc-diffaugment": ({"arch": "resnet", "g_width": 4, "d_width": 4, "embed_dim": 8, "loss": "adc",
                                "spectral_norm": "both", "ema_decay": 0.99, "diffaugment": "color,translation,cutout",
                                "d_steps": 2}, 6, 3),
    "biggan": ({**BIGGAN, "attention_res": 0, "hierarchical_z": False}, 4, 2),
    "biggan-attention-hierarchical": ({**BIGGAN, "attention_res": 16, "hierarchical_z": True}, 4, 2),
}


@pytest.mark.parametrize("case", CASES)
def test_resumed_equals_straight(case, tiny_cfg, tmp_path):
    changes, steps, cut = CASES[case]
    cfg = dataclasses.replace(tiny_cfg, tensorboard=False, log_every=1, **changes)
    if "resolution" in changes:
        cfg = dataclasses.replace(cfg, data_dir=str(write_folder_dataset(tmp_path / "data", per_class=8,
                                                                         size=changes["resolution"])))
    run = RunDir(train(dataclasses.replace(cfg, steps=steps, checkpoint_every=cut), tmp_path / "straight",
                       progress=False))
    straight, logged_straight = run.load_checkpoint()[0], run.read_stats()
    cut_run = RunDir(shutil.copytree(run.path, tmp_path / "cut"))  # as if it had stopped after step `cut`
    for step, path in cut_run.checkpoints():
        if step > cut:
            path.unlink()
    resume(cut_run.path, progress=False)
    resumed = cut_run.load_checkpoint()[0]
    assert straight["step"] == steps
    assert_same_state(straight, resumed)
    if "lecam" in changes:  # a term with running statistics checkpoints them: one update per D step
        assert straight["lecam"]["count"] == steps * cfg.d_steps
    drop = ("step_time_s", "images_per_s", "monitor_s")
    logged = [[{k: v for k, v in r.items() if k not in drop} for r in rows]
              for rows in (logged_straight, cut_run.read_stats())]
    assert logged[0] == logged[1] and len(logged[0]) == steps  # the same losses, step by step
    assert all(term in row for term in TERMS if changes.get(term) for row in logged[0])
