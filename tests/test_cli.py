"""The command line: bad input gives one line on stderr and exit status 2; sampling writes what it says."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from acgan.cli import main
from acgan.grids import row_margin
from acgan.rundir import RunDir

FOLDER = ["--dataset", "folder", "--resolution", "16", "--batch-size", "8", "--steps", "2", "--quiet",
          "--set", "g_width=8", "--set", "d_width=8"]


def run(args):
    return CliRunner().invoke(main, args)


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("args,fragments", [
    (["--dataset", "imagenet21k"], ["unknown data set 'imagenet21k'"]),
    (["--arch", "stylegan"], ["unknown architecture 'stylegan'"]),
    (["--set", "lr_gen=1"], ["unknown config key 'lr_gen'"]),
    (["--set", "steps=-3"], ["steps must be a positive integer"]),
    (["--set", "lecam=-1"], ["lecam (a loss term's weight) must be >= 0"]),
    (["--set", "top_k=0.5"], ["config key 'top_k' in --set was retired", "top_k = 0.5"]),
    (["--preset", "nope"], ["no preset or YAML file 'nope'"]),
    (["--set", "lr_g=abc"], ["config key 'lr_g'", "expects a number", "'abc' (str)"]),
    (["--set", "steps=1.5"], ["config key 'steps'", "expects an integer", "1.5 (float)"]),
    (["--set", "compile=3"], ["config key 'compile'", "expects true or false"]),
    (["--set", "resolution=big"], ["config key 'resolution'", "expects an integer or null"]),
    (["--set", "arch=[1, 2]"], ["config key 'arch'", "expects a string", "(list)"]),
])
def test_bad_config(args, fragments, tmp_path):
    assert_user_error(run(["train", "--out", str(tmp_path / "r"), *args]), *fragments)
    assert not (tmp_path / "r").exists()


def test_unknown_key_in_yaml(tmp_path):
    (tmp_path / "p.yaml").write_text("arch: dcgan-small\nlearning_rate: 1\n")
    assert_user_error(run(["train", "--preset", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "r")]),
                      "unknown key(s) in", "learning_rate")


def test_a_preset_builds_on_its_base(tmp_path):
    from acgan.config import assemble, load_yaml
    (tmp_path / "wide.yaml").write_text("base: demo\ng_width: 48\n")
    assert assemble(str(tmp_path / "wide.yaml")) == dataclasses.replace(assemble("demo"), g_width=48)
    (tmp_path / "wider.yaml").write_text(f"base: {tmp_path / 'wide.yaml'}\nd_width: 48\n")
    assert load_yaml(str(tmp_path / "wider.yaml")) == {**load_yaml("demo"), "g_width": 48, "d_width": 48}
    (tmp_path / "a.yaml").write_text(f"base: {tmp_path / 'b.yaml'}\n")
    (tmp_path / "b.yaml").write_text(f"base: {tmp_path / 'a.yaml'}\n")
    assert_user_error(run(["train", "--preset", str(tmp_path / "a.yaml"), "--out", str(tmp_path / "r")]),
                      "base must name another preset or YAML file")
    assert_user_error(run(["train", "--preset", str(tmp_path / "wide.yaml"), "--set", "base=demo", "--out",
                           str(tmp_path / "r")]), "unknown config key 'base'")


def test_a_run_with_a_retired_key_loads_at_its_old_default_and_is_refused_at_another(tiny_cfg, tmp_path):
    """config.json of a run written by an earlier release: a retired key that changed nothing is dropped without a
    word; one that trained something else is one line naming it, and nothing is written."""
    from acgan.training.single_run import train
    tiny_run = train(dataclasses.replace(tiny_cfg, steps=2, tensorboard=False), tmp_path / "run", progress=False)
    record = tiny_run / "config.json"
    saved = json.loads(record.read_text())
    saved["config"].update(top_k=1.0, ema_ramp=10.0, d_batchnorm=True)
    record.write_text(json.dumps(saved))
    res = run(["sample", str(tiny_run), "--out", str(tmp_path / "g.png")])
    assert res.exit_code == 0 and (tmp_path / "g.png").is_file(), res.output
    assert "was retired" not in res.output and "top_k" not in res.output  # without a word
    res = run(["train", "--resume", str(tiny_run), "--steps", "3", "--quiet"])  # and it trains on from there
    assert res.exit_code == 0 and RunDir(tiny_run).last_step() == 3, res.output
    saved["config"]["mode_seeking"] = 0.5
    record.write_text(json.dumps(saved))
    before = sorted(p.name for p in tiny_run.rglob("*"))
    for command in (["sample", str(tiny_run), "--out", str(tmp_path / "h.png")], ["train", "--resume", str(tiny_run)]):
        assert_user_error(run(command), "config key 'mode_seeking'", "was retired", "mode_seeking = 0.5")
    assert sorted(p.name for p in tiny_run.rglob("*")) == before and not (tmp_path / "h.png").exists()


def test_data_errors(folder_data, tmp_path):
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "a")]),
                      "does not exist")
    assert not (tmp_path / "a").exists()  # a start that failed before config.json leaves nothing behind
    (tmp_path / "empty").mkdir()
    (tmp_path / "b").mkdir()
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "b")]),
                      "no class sub-folders")
    assert (tmp_path / "b").is_dir() and not any((tmp_path / "b").iterdir())  # the user's empty folder stays, empty
    (tmp_path / "b" / ".lock").write_text("pid 1 on elsewhere")  # what a failed start of an older version left
    assert run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(tmp_path / "b")]).exit_code == 0
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(folder_data), "--classes", "0,7",
                           "--out", str(tmp_path / "c")]), "class 7 is out of range", "0..2")
    (folder_data / "cat" / "bad.jpg").write_bytes(b"\xff\xd8garbage")
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(tmp_path / "d")]),
                      "bad.jpg", "--skip-bad-images")
    ok = run(["train", *FOLDER, "--data-dir", str(folder_data), "--skip-bad-images", "--out", str(tmp_path / "e")])
    assert ok.exit_code == 0, ok.output
    (folder_data / "bird").mkdir()
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(tmp_path / "f")]),
                      "'bird'", "has no images")


def tree_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_existing_out_and_resume_rules(folder_data, tmp_path):
    out = tmp_path / "run"
    assert run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(out)]).exit_code == 0
    before = tree_bytes(out)
    assert ".lock" in before
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(out)]),
                      "already exists", "--resume", "--force")
    assert tree_bytes(out) == before  # a refused command leaves the run as it was, byte for byte (.lock too)
    (tmp_path / "f.png").write_bytes(b"not a folder")
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(tmp_path / "f.png" / "run")]),
                      "f.png/run", "a file, not a folder")
    assert_user_error(run(["train", "--resume", str(out), "--arch", "paper-cifar"]), "only --steps, --minutes",
                      "may be given with it, not arch")
    assert_user_error(run(["train", "--resume", str(tmp_path / "nothing")]), "not an acgan run directory")
    assert run(["train", "--resume", str(out), "--steps", "4", "--quiet"]).exit_code == 0
    before = tree_bytes(out)
    assert_user_error(run(["train", *FOLDER, "--data-dir", str(tmp_path / "missing"), "--out", str(out), "--force"]),
                      "does not exist")
    assert tree_bytes(out) == before  # --force replaces a run only once the new one can start
    forced = run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(out), "--force"])
    assert forced.exit_code == 0
    assert json.loads((out / "stats.jsonl").read_text().splitlines()[-1])["step"] == 2


def test_sample_grid_and_folder(folder_data, tmp_path):
    out = tmp_path / "run"
    assert run(["train", *FOLDER, "--data-dir", str(folder_data), "--out", str(out)]).exit_code == 0
    res = run(["sample", str(out), "--classes", "frog,cat", "--per-class", "5", "--out", str(tmp_path / "g.png")])
    assert res.exit_code == 0, res.output
    # 5 per class, 2 px padding, and the two classes' names in a margin on the left (test_grids.py)
    assert Image.open(tmp_path / "g.png").size == (row_margin(["frog", "cat"], 16) + 5 * 18 + 2, 2 * 18 + 2)
    res = run(["sample", str(out), "--per-class", "2", "--out", str(tmp_path / "pngs")])
    assert res.exit_code == 0, res.output
    assert sorted(p.relative_to(tmp_path / "pngs").as_posix() for p in (tmp_path / "pngs").rglob("*.png")) == [
        "cat/00000.png", "cat/00001.png", "dog/00000.png", "dog/00001.png", "frog/00000.png", "frog/00001.png"]
    assert_user_error(run(["sample", str(out), "--out", str(tmp_path / "g.png")]), "already exists")
    assert_user_error(run(["sample", str(out), "--classes", "cow", "--out", str(tmp_path / "h.png")]),
                      "unknown class 'cow'")
    # places where nothing can be written: one line naming the place, nothing half-written left behind
    (tmp_path / "f.png").write_bytes(b"a file")
    assert_user_error(run(["sample", str(out), "--out", str(tmp_path / "f.png" / "g.png")]),
                      "f.png: a part of this path is a file, not a folder")
    assert (tmp_path / "f.png").read_bytes() == b"a file"
    if Path("/proc/self").exists():  # Linux: no file can be made in /proc, not even by root
        assert_user_error(run(["sample", str(out), "--out", "/proc/g.png"]), "cannot write in /proc")
        assert_user_error(run(["sample", str(out), "--out", "/proc/acgan-grids/"]), "/proc/acgan-grids")
        assert_user_error(run(["export", str(out), "/proc/acgan-export"]), "cannot write in /proc")


def test_click_refusals_are_one_line_too(tmp_path):
    assert_user_error(run(["check", str(tmp_path), "--per-class", "3"]), "'--per-class'", "x>=10", "-h` for help")
    assert_user_error(run(["sample"]), "Missing argument 'RUN_DIR'")
    assert_user_error(run(["train", "--bogus"]), "No such option '--bogus'")
    assert_user_error(run(["data", "prepare", "--bogus", "3"]), "No such option '--bogus'")
    assert_user_error(run(["frobnicate"]), "No such command 'frobnicate'")
    assert run(["check", "--help"]).exit_code == 0


@pytest.mark.slow
def test_console_script_help():
    res = subprocess.run([sys.executable, "-m", "acgan.cli", "train", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--resume" in res.stdout


def test_wrong_type_in_a_yaml_preset(tmp_path):
    (tmp_path / "p.yaml").write_text("batch_size: sixty-four\n")
    assert_user_error(run(["train", "--preset", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "r")]),
                      "config key 'batch_size'", "p.yaml", "expects an integer")
    assert not (tmp_path / "r").exists()


def test_values_of_the_right_type_are_kept():
    from acgan.config import from_dict
    cfg = from_dict({"lr_g": 1, "classes": "0,3", "resolution": None, "compile": True})
    assert cfg.lr_g == 1.0 and isinstance(cfg.lr_g, float) and cfg.classes == ["0", "3"] and cfg.compile is True
