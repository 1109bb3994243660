"""A user's own folder of classes: classes too small for a part, mixed grey and colour files, skipped files named,
and a run whose data moved."""
import json
import os
import shutil

from click.testing import CliRunner
from PIL import Image

from acgan.cli import main
from acgan.rundir import RunDir

from .conftest import assert_same_weights, write_folder_dataset

TINY = ["--dataset", "folder", "--resolution", "16", "--batch-size", "8", "--quiet", "--device", "cpu",
        "--precision", "fp32", "--set", "g_width=8", "--set", "d_width=8", "--set", "z_dim=8",
        "--set", "log_every=1", "--set", "checkpoint_every=3", "--set", "tensorboard=false"]


def train(data, out, steps, *extra):
    return CliRunner().invoke(main, ["train", *TINY, "--data-dir", str(data), "--steps", str(steps),
                                     "--out", str(out), *extra])


def one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def log_lines(run):
    return [line.split(" ", 2)[2] for line in (run / "log.txt").read_text().splitlines()]


def test_classes_too_small_for_a_part_are_named_at_the_start_and_the_monitor_leaves_them_out(tmp_path):
    data = write_folder_dataset(tmp_path / "data", per_class=12)
    write_folder_dataset(data, classes=("zebra",), per_class=2)
    res = train(data, tmp_path / "run", 2, "--set", "monitor_every=1")
    assert res.exit_code == 0, res.output
    said = [
        "warning: the collapse monitor needs 6 images of a class and leaves them out of its verdict and its MS-SSIM "
        "threshold: 'zebra' (2)",
        "warning: the evaluator, on data without a test split, needs 6 images of a class and holds none of them out, "
        "so its test accuracy says nothing of them: 'zebra' (2)",
        "warning: evaluation (`acgan evaluate`, `check`) needs 6 images of a class and will refuse this run until "
        "they have more: 'zebra' (2)"]
    for line in said:
        assert res.output.count(line) == 1 and log_lines(tmp_path / "run").count(line) == 1, line
    rows = [r for r in RunDir(tmp_path / "run").read_stats() if "class_recall" in r]
    assert len(rows) == 2  # the monitor ran at both steps, judging the three classes it has images enough of
    assert all(r["class_recall"][3] is None and r["class_coverage"][3] is None for r in rows)
    assert all(isinstance(v, float) for r in rows for v in r["class_recall"][:3])


def test_a_class_without_usable_images_is_refused_before_anything_is_written(tmp_path):
    data = write_folder_dataset(tmp_path / "data", per_class=12)
    (data / "zebra").mkdir()
    (data / "zebra" / "broken.png").write_bytes(b"not a png")
    one_line_error(train(data, tmp_path / "run", 2, "--skip-bad-images"),
                   "training needs at least 1 image of every class, and 'zebra' has 0: add images of those classes, "
                   "or leave them out with --classes")
    assert not (tmp_path / "run").exists()
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(data), "--resolution",
                                    "16", "--out", str(tmp_path / "ev"), "--quiet"])
    assert res.exit_code == 2 and "cannot decode image 'zebra/broken.png'" in res.output  # no --skip-bad-images here


def test_a_test_split_that_lacks_a_class_is_named_at_training_and_refused_by_evaluation(tmp_path, monkeypatch):
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    write_folder_dataset(data / "train", per_class=12)
    write_folder_dataset(data / "test", classes=("ant", "cat", "dog"), per_class=8, seed=1)  # no frog; an ant
    res = train(data, tmp_path / "run", 2)
    assert res.exit_code == 0, res.output
    assert ("warning: evaluation (`acgan evaluate`, `check`) needs 6 real test images of a class and will refuse "
            "this run until they have more: 'frog' (0)") in res.output
    for args in (["evaluate", str(tmp_path / "run"), "--pairs", "4"], ["check", str(tmp_path / "run")]):
        one_line_error(CliRunner().invoke(main, args), "needs at least 6 real test images of every class, and "
                                                       "'frog' has 0: add test images of those classes")
    assert not (tmp_path / "cache" / "evaluators").exists()  # refused before the evaluator trains
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(data), "--resolution",
                                    "16", "--epochs", "1", "--out", str(tmp_path / "ev"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert ("warning: the evaluator needs 1 test image of a class and measures its test accuracy without them: "
            "'frog' (0)") in res.output
    assert " on 16 real images it did not learn from" in res.output  # cat's and dog's, by name: not the ants


def test_mixed_grey_and_colour_files_are_counted_and_said_once(tmp_path):
    data = write_folder_dataset(tmp_path / "data", classes=("a", "b", "c"), per_class=8)
    Image.open(data / "a" / "000.png").convert("L").save(data / "a" / "000.png")  # the first image decides: grey
    Image.open(data / "c" / "003.png").convert("L").save(data / "c" / "003.png")
    line = ("the data mixes 2 grey and 22 colour images; the first image of its first class ('a') is grey, so the "
            "data is grey (1 channel) and the 22 colour images were converted to luma")
    prepared = CliRunner().invoke(main, ["data", "prepare", "--dataset", "folder", "--data-dir", str(data),
                                         "--resolution", "16"])
    assert prepared.exit_code == 0 and prepared.output.count(line) == 1, prepared.output
    res = train(data, tmp_path / "run", 2)
    assert res.exit_code == 0 and res.output.count(line) == 1, res.output
    assert log_lines(tmp_path / "run").count(line) == 1
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["channels"] == 1


def test_skip_bad_images_names_each_skipped_file_in_the_log(tmp_path):
    data = write_folder_dataset(tmp_path / "data", per_class=12)
    (data / "cat" / "broken.png").write_bytes(b"not a png")
    (data / "dog" / "empty.jpg").write_bytes(b"")
    res = train(data, tmp_path / "run", 2, "--skip-bad-images")
    assert res.exit_code == 0, res.output
    assert f"--skip-bad-images left out 2 files that cannot be used; {tmp_path / 'run' / 'log.txt'} names each" \
        in res.output
    logged = log_lines(tmp_path / "run")
    assert "skipped cat/broken.png (class 'cat'): not a decodable image" in logged
    assert any(line.startswith("skipped dog/empty.jpg (class 'dog'): ") for line in logged)


def test_a_run_whose_data_moved_resumes_from_the_new_place_to_the_same_weights(tmp_path):
    data = write_folder_dataset(tmp_path / "data", per_class=12)
    assert train(data, tmp_path / "straight", 6).exit_code == 0
    run = tmp_path / "run"
    assert train(data, run, 3).exit_code == 0
    moved = shutil.copytree(data, tmp_path / "elsewhere" / "data")
    for f in moved.rglob("*.png"):  # a plain copy: new modification times, the same images
        os.utime(f, (1e9, 1e9))
    shutil.rmtree(data)

    for command in (["train", "--resume", str(run), "--steps", "6"], ["evaluate", str(run)]):
        one_line_error(CliRunner().invoke(main, command), f"{run} was trained on {data}, which does not exist any "
                       f"more: if the data moved, continue with `acgan train --resume {run} --data-dir NEW`")
    other = write_folder_dataset(tmp_path / "other", per_class=12, seed=7)  # same classes and count, other images
    fewer = shutil.copytree(moved, tmp_path / "fewer")
    shutil.rmtree(fewer / "frog")
    before = {p.name: p.read_bytes() for p in [run / "config.json", *(run / "checkpoints").iterdir()]}
    for where, why in ((other, "the same classes and number of images, but other pixels"),
                       (fewer, "it lacks the run's class(es) 'frog'")):
        one_line_error(CliRunner().invoke(main, ["train", "--resume", str(run), "--data-dir", str(where)]),
                       f"the data at {where} is not the data {run} was trained on ({why}", f"a copy of {data}")
        assert {p.name: p.read_bytes() for p in [run / "config.json", *(run / "checkpoints").iterdir()]} == before

    res = CliRunner().invoke(main, ["train", "--resume", str(run), "--data-dir", str(moved), "--steps", "6"])
    assert res.exit_code == 0, res.output
    assert f"the data moved from {data} to {moved}: the same classes and images" in res.output
    assert RunDir(run).read().config["data_dir"] == str(moved)
    resumed, straight = RunDir(run).load_checkpoint()[0], RunDir(tmp_path / "straight").load_checkpoint()[0]
    assert resumed["step"] == 6
    assert_same_weights(resumed, straight)
    assert CliRunner().invoke(main, ["train", "--resume", str(run), "--steps", "7"]).exit_code == 0  # the new home


def test_a_class_split_run_cannot_move_its_data(tmp_path):
    data = write_folder_dataset(tmp_path / "data", per_class=12)
    assert train(data, tmp_path / "split", 1, "--classes-per-model", "2").exit_code == 0
    copy = shutil.copytree(data, tmp_path / "copy")
    before = (tmp_path / "split" / "config.json").read_bytes()
    fix = "put the data back there (a symbolic link to where it is now will do) and resume without --data-dir"
    one_line_error(CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "split"), "--data-dir", str(copy)]),
                   "is a class-split run, whose groups read their data from", fix)
    shutil.rmtree(data)
    one_line_error(CliRunner().invoke(main, ["train", "--resume", str(tmp_path / "split")]),
                   f"read their data from {data}, which does not exist any more", fix)
    assert (tmp_path / "split" / "config.json").read_bytes() == before
