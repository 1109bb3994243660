"""The run-directory object: config.json's schema, checkpoints, stats, temp files, logs, split layout."""
import json

import pytest
import torch

from acgan.errors import UserError
from acgan.rundir import RunDir, RunRecord, data_record, same_data


def test_data_record_is_one_schema():
    rec = data_record("folder", ["cat", "dog"], [2, 0], 3, 16)
    assert rec == {"dataset": "folder", "class_names": ["cat", "dog"], "source_classes": [2, 0], "num_classes": 2,
                   "channels": 3, "resolution": 16}
    assert data_record("folder", ["cat"], [0], 3, 16, num_images=5)["num_images"] == 5
    assert same_data(rec, dict(rec, num_images=9, source_classes=[1, 1]))
    assert not same_data(rec, dict(rec, resolution=32))


def test_record_round_trip(tmp_path):
    run = RunDir(tmp_path / "r")
    single = RunRecord({"steps": 3}, data_record("mnist", ["0"], [0], 1, 28))
    run.write(single)
    assert run.read() == single and not run.is_split() and "split" not in json.loads(run.config_path.read_text())
    split = RunRecord({"steps": 3}, single.data, {"classes_per_model": 1, "grouping": "consecutive",
                                                 "groups": [[0]], "dirs": ["group-000"]})
    run.write(split)
    assert run.is_split() and [g.path for g in run.groups()] == [run.path / "group-000"] == [run.group(0).path]


def test_not_a_run(tmp_path):
    with pytest.raises(UserError, match="not an acgan run directory"):
        RunDir(tmp_path).read()
    (tmp_path / "config.json").write_text("{half")
    with pytest.raises(UserError, match="not a valid run record") as e:
        RunDir(tmp_path).read()
    # checkpoints hold no config, so the message must not send the user to them
    assert "put back a copy" in str(e.value) and "--force" in str(e.value) and "restore it from" not in str(e.value)


def test_prepare_refuses_what_is_not_a_run(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="already exists"):
        RunDir(tmp_path / "other").prepare(force=False)
    with pytest.raises(UserError, match="not one"):
        RunDir(tmp_path / "other").prepare(force=True)
    run = RunDir(tmp_path / "run")
    run.write(RunRecord({}, {}))
    run.prepare(force=True)  # a run directory may be replaced
    assert run.path.is_dir() and not any(run.path.iterdir())


def test_checkpoints_keep_the_newest(tmp_path):
    run = RunDir(tmp_path)
    for step in (5, 10, 15):
        run.save_checkpoint({"step": step, "G": {}, "D": {}, "w": torch.full((2,), float(step))}, step, keep=2)
    assert [s for s, _ in run.checkpoints()] == [10, 15] and run.last_step() == 15
    state, path = run.load_checkpoint()
    assert state["step"] == 15 and path.name == "ckpt-0000015.pt"
    assert run.load_checkpoint(10)[0]["w"].tolist() == [10.0, 10.0]
    with pytest.raises(UserError, match="no checkpoint at step 5"):
        run.load_checkpoint(5)
    assert RunDir(tmp_path / "empty").load_checkpoint() == (None, None)


def test_stats_truncation_and_temp_files(tmp_path):
    run = RunDir(tmp_path)
    for step in (2, 4, 6):
        run.append_stats({"step": step, "d_loss": 1.0})
    with open(run.stats_path, "a") as f:
        f.write('{"step": 8, "d_lo')  # torn by a crash
    run.truncate_stats(4)
    assert [r["step"] for r in run.read_stats()] == [2, 4]
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / ".ckpt-0000008.pt.abc.tmp").write_bytes(b"half")
    run.remove_stale_temp_files()
    assert not list(tmp_path.rglob("*.tmp"))


def test_logger_and_grids(tmp_path):
    run = RunDir(tmp_path)
    echoed = []
    log = run.logger(echoed.append)
    log("hello")
    assert echoed == ["hello"] and (tmp_path / "log.txt").read_text().rstrip().endswith(" hello")
    run.save_grid(torch.zeros(4, 1, 8, 8), step=3, nrow=2)
    assert (run.samples / "step-0000003.png").is_file() and run.latest_grid.is_file()


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_users_umask(tmp_path, umask, mode):
    import os

    from acgan.io import atomic_torch_save, atomic_write_json
    old = os.umask(umask)
    try:
        run = RunDir(tmp_path)
        run.write(RunRecord({}, {}))
        atomic_write_json(tmp_path / "metrics.json", {})
        atomic_torch_save({"w": torch.zeros(1)}, tmp_path / "checkpoints" / "ckpt-0000001.pt")
        run.append_stats({"step": 1})
        run.logger()("x")
    finally:
        os.umask(old)
    for name in ("config.json", "metrics.json", "checkpoints/ckpt-0000001.pt", "stats.jsonl", "log.txt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


@pytest.mark.parametrize("damage", ["truncated", "empty", "not-a-checkpoint"])
def test_damaged_newest_checkpoint_falls_back_and_is_kept_aside(tmp_path, damage):
    run = RunDir(tmp_path)
    for step in (5, 10):
        run.save_checkpoint({"step": step, "G": {}, "D": {}}, step, keep=3)
    newest = tmp_path / "checkpoints" / "ckpt-0000010.pt"
    data = newest.read_bytes()
    if damage == "truncated":
        newest.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        newest.write_bytes(b"")
    else:
        torch.save({"weights": torch.zeros(2)}, newest)
    said = []
    state, path = run.load_checkpoint(log=said.append)
    assert state["step"] == 5 and path.name == "ckpt-0000005.pt"
    assert len(said) == 1 and said[0].startswith("warning: skipped checkpoint ckpt-0000010.pt")
    assert (tmp_path / "checkpoints" / "ckpt-0000010.pt.damaged").is_file()  # kept, not deleted
    assert [s for s, _ in run.checkpoints()] == [5]
    with pytest.raises(UserError, match="cannot read checkpoint"):
        (tmp_path / "checkpoints" / "ckpt-0000005.pt").write_bytes(b"x")
        run.load_checkpoint(step=5)
