"""The evaluation of any generator: a folder of samples, a plain callable, a module with sample(); bad layouts."""
import json
import shutil

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import acgan
from acgan.cli import main
from acgan.errors import UserError

SMALL = ["--per-class", "12", "--real-per-class", "12", "--pairs", "6"]
KEYS = {"run", "step", "has_generator", "seed", "options", "evaluator", "class_names", "model_resolution",
        "discriminability", "diversity", "joint", "class_diversity", "verdict", "domain_metrics", "inception",
        "created"}


def samples_folder(split_data, root, per_class=14, mode=None, size=None):
    """'Samples' made of real test images, one sub-folder per class."""
    for c in ("cat", "dog", "frog"):
        (root / c).mkdir(parents=True)
        for i, src in enumerate(sorted((split_data / "test" / c).iterdir())[:per_class]):
            img = Image.open(src)
            img = img.convert(mode) if mode else img
            img = img.resize((size, size)) if size and i == 0 else img
            img.save(root / c / src.name)
    return root


def test_folder_of_samples_end_to_end(split_data, evaluator_dir, tmp_path):
    folder = samples_folder(split_data, tmp_path / "samples")
    res = CliRunner().invoke(main, ["evaluate", str(folder), "--dataset", "folder", "--data-dir", str(split_data),
                                    "--evaluator", str(evaluator_dir), *SMALL])
    assert res.exit_code == 0, res.output
    out = tmp_path / "samples-eval"
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == KEYS and m["step"] is None and m["class_names"] == ["cat", "dog", "frog"]
    assert m["discriminability"]["generated"]["16"]["accuracy"] == 1.0  # real images, a perfect evaluator
    assert (out / "eval" / "samples.png").is_file() and not (out / "eval" / "interpolation_linear.png").exists()
    assert "latent interpolations are skipped" in res.output and m["has_generator"] is False
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
    page = (out / "report.html").read_text()  # what a folder cannot have is said so, not reported missing
    assert page.count("not made: a folder of samples has no generator to draw from") == 3 and "missing)" not in page
    assert "A folder of samples; evaluated" in page and "same z down" not in page and "<h2>Training" not in page


def colour_generator(labels, z):
    """Class c: a flat image of class c's mean colour (as the test data's), varied by z."""
    base = (40 + 80 * labels.float()) / 127.5 - 1
    return (base.view(-1, 1, 1, 1) + 0.1 * z[:, :1].view(-1, 1, 1, 1)).expand(-1, 3, 16, 16).clamp(-1, 1)


@pytest.mark.parametrize("kind", ["callable", "module"])
def test_python_generator(split_data, evaluator_dir, tmp_path, kind):
    class Module(torch.nn.Module):
        def sample(self, labels, z):
            return colour_generator(labels, z)
    gen = colour_generator if kind == "callable" else Module()
    m = acgan.evaluate(gen, {"dataset": "folder", "data_dir": str(split_data)}, tmp_path / "out", z_dim=8,
                       evaluator=str(evaluator_dir), per_class=12, real_per_class=12, pairs=6)
    assert set(m) == KEYS and m["model_resolution"] == 16
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["class_names"] == ["cat", "dog", "frog"]
    assert (tmp_path / "out" / "eval" / "interpolation_slerp.png").is_file()  # a generator: z analyses too
    assert m["has_generator"] is True and m["step"] is None


def write_shapes(root, per_class, seed):
    """Classes with variety inside each: a bright square, bar or column at a random place and brightness."""
    import numpy as np
    rng = np.random.default_rng(seed)
    for c, name in enumerate(("square", "bar", "column")):
        (root / name).mkdir(parents=True, exist_ok=True)
        h, w = ((6, 6), (3, 10), (10, 3))[c]
        for i in range(per_class):
            arr = rng.integers(0, 50, (16, 16), dtype=np.uint8)
            top, left = rng.integers(0, 17 - h), rng.integers(0, 17 - w)
            arr[top:top + h, left:left + w] = rng.integers(150, 256)
            Image.fromarray(arr).save(root / name / f"{i:03d}.png")


@pytest.mark.slow
def test_the_verdict_on_generators_of_known_variety(tmp_path):
    """Unseen real images of each class are not collapsed; one image repeated per class is, in every class. At 100
    samples per class: at 30 the k-NN and FID measures are too noisy to call even one repeated image collapsed."""
    from acgan.config import TrainConfig
    from acgan.data import load_data
    data_dir = tmp_path / "shapes"
    write_shapes(data_dir / "train", 200, 0)
    write_shapes(data_dir / "test", 100, 1)
    res = CliRunner().invoke(main, ["train-classifier", "--dataset", "folder", "--data-dir", str(data_dir),
                                    "--epochs", "5", "--out", str(tmp_path / "ev"), "--quiet"])
    assert res.exit_code == 0, res.output
    train = load_data(TrainConfig(dataset="folder", data_dir=str(data_dir)), 16)
    pools = [train.images[train.labels == c].float() / 127.5 - 1 for c in range(3)]

    def real_images(labels, z):  # z picks which training image of the class
        idx = (z[:, 0].abs() * 1000).long() % len(pools[0])
        return torch.stack([pools[c][i] for c, i in zip(labels.tolist(), idx.tolist())])

    def one_image(labels, z):
        return torch.stack([pools[c][0] for c in labels.tolist()])
    data = {"dataset": "folder", "data_dir": str(data_dir)}
    options = dict(z_dim=8, evaluator=str(tmp_path / "ev"), per_class=100, real_per_class=100, pairs=6,
                   log=lambda msg: None)
    varied = acgan.evaluate(real_images, data, tmp_path / "varied", **options)["class_diversity"]
    collapsed = acgan.evaluate(one_image, data, tmp_path / "one", **options)["class_diversity"]
    assert varied["collapsed_classes"] == [] and all(r["recall"] > 0.8 for r in varied["per_class"])
    assert collapsed["collapsed_classes"] == ["bar", "column", "square"]
    assert all(r["validated_fired"] == ["recall", "coverage", "intra_fid"] for r in collapsed["per_class"])


def assert_one_line(res, *fragments):
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output, \
        res.output
    for f in fragments:
        assert f in res.output, res.output


def test_bad_sample_folders(split_data, evaluator_dir, tmp_path):
    def evaluate(folder):
        return CliRunner().invoke(main, ["evaluate", str(folder), "--dataset", "folder", "--data-dir",
                                         str(split_data), "--evaluator", str(evaluator_dir), *SMALL])
    renamed = samples_folder(split_data, tmp_path / "a")
    shutil.move(renamed / "frog", renamed / "toad")
    assert_one_line(evaluate(renamed), "do not match", "unknown toad", "missing frog")
    assert_one_line(evaluate(samples_folder(split_data, tmp_path / "b", per_class=5)), "has 5 images",
                    "at least 10")
    assert_one_line(evaluate(samples_folder(split_data, tmp_path / "c", size=20)), "sizes", "one square size")
    assert_one_line(evaluate(samples_folder(split_data, tmp_path / "d", mode="L")), "1 channels", "RGB")
    assert_one_line(CliRunner().invoke(main, ["evaluate", str(tmp_path / "d")]), "not an acgan run directory",
                    "--dataset")


def test_generator_out_of_range(split_data, tmp_path):
    with pytest.raises(UserError, match=r"not \[-1, 1\]"):
        acgan.evaluate(lambda labels, z: torch.full((len(labels), 3, 16, 16), 5.0),
                       {"dataset": "folder", "data_dir": str(split_data)}, tmp_path / "o", per_class=12)

    def half_nan(labels, z):
        x = torch.zeros(len(labels), 3, 16, 16)
        x[::2] = float("nan")
        return x
    with pytest.raises(UserError, match=r"^([\d,]+) of the generator's ([\d,]+) pixel values are NaN or infinite"):
        acgan.evaluate(half_nan, {"dataset": "folder", "data_dir": str(split_data)}, tmp_path / "n", per_class=12)


def test_grayscale_samples_written_and_read_back(tmp_path):
    """A 1-channel model's samples are 1-channel PNGs that `evaluate` takes; RGB files whose three channels are
    equal (what torchvision's save_image writes for grayscale) are read as grayscale and said so; coloured ones are
    refused."""
    from .conftest import write_folder_dataset
    data = tmp_path / "grey"
    write_folder_dataset(data / "train", per_class=40, mode="L", seed=0)
    write_folder_dataset(data / "test", per_class=14, mode="L", seed=1)
    run = tmp_path / "run"
    res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(data), "--resolution", "16",
                                    "--batch-size", "8", "--steps", "2", "--quiet", "--set", "g_width=8",
                                    "--set", "d_width=8", "--out", str(run)])
    assert res.exit_code == 0, res.output
    for out in ("samples", "grid.png"):
        res = CliRunner().invoke(main, ["sample", str(run), "--per-class", "12", "--out", str(tmp_path / out)])
        assert res.exit_code == 0, res.output
    pngs = sorted((tmp_path / "samples").rglob("*.png"))
    assert len(pngs) == 36 and {Image.open(p).mode for p in pngs} == {"L"}
    assert Image.open(tmp_path / "grid.png").mode == "L"

    def evaluate(folder):
        return CliRunner().invoke(main, ["evaluate", str(folder), "--dataset", "folder", "--data-dir", str(data),
                                         "--out", str(tmp_path / f"{folder.name}-eval"), *SMALL])
    res = evaluate(tmp_path / "samples")
    assert res.exit_code == 0, res.output
    as_rgb = shutil.copytree(tmp_path / "samples", tmp_path / "rgb")
    for p in as_rgb.rglob("*.png"):
        Image.open(p).convert("RGB").save(p)
    res = evaluate(as_rgb)
    assert res.exit_code == 0 and "read as grayscale" in res.output, res.output
    grey, rgb = (json.loads((tmp_path / f"{n}-eval" / "metrics.json").read_text()) for n in ("samples", "rgb"))
    assert grey["discriminability"] == rgb["discriminability"]  # the same pixels, so the same numbers
    coloured = sorted(as_rgb.rglob("*.png"))[0]
    img = Image.open(coloured)
    img.putpixel((0, 0), (255, 0, 0))
    img.save(coloured)
    assert_one_line(evaluate(as_rgb), "1/3 channels", "grayscale")


def test_variety_is_measured_against_real_datas_own_level(split_data, evaluator_dir, tmp_path):
    """Samples that are the very training images the real level is drawn from keep exactly 1.0 of real variety in
    both spaces; a class drawn as one image again and again keeps almost none, and only that class drops."""
    from acgan.config import TrainConfig
    from acgan.data import load_data
    from acgan.evaluation.context import take_per_class
    data = load_data(TrainConfig(dataset="folder", data_dir=str(split_data)), 16, progress=False)
    images, labels = take_per_class(data.images, data.labels, 12, 3, 0)  # what the step draws for seed 0

    def write(folder, same_cat=False):
        for i, (img, lab) in enumerate(zip(images, labels.tolist())):
            name = data.class_names[lab]
            (folder / name).mkdir(parents=True, exist_ok=True)
            src = images[0] if same_cat and lab == 0 else img
            Image.fromarray(src.permute(1, 2, 0).numpy()).save(folder / name / f"{i:03d}.png")
        return folder

    def variety(folder):
        res = CliRunner().invoke(main, ["evaluate", str(folder), "--dataset", "folder", "--data-dir",
                                        str(split_data), "--evaluator", str(evaluator_dir), *SMALL])
        assert res.exit_code == 0, res.output
        cd = json.loads((tmp_path / f"{folder.name}-eval" / "metrics.json").read_text())["class_diversity"]
        return cd, [r["vs_real"] for r in cd["per_class"]]

    cd, ratios = variety(write(tmp_path / "real"))
    assert all(v == 1.0 for r in ratios for space in r.values() for v in space.values()), ratios
    assert cd["lowest_variety"] == 1.0 and set(cd["real_levels"]) == {"evaluator", "pixels"}
    cd, ratios = variety(write(tmp_path / "copies", same_cat=True))
    cat, others = cd["per_class"][0], cd["per_class"][1:]
    assert cat["variety"] < 0.4 and all(r["variety"] == 1.0 for r in others), cd["per_class"]
    assert cd["lowest_variety"] == cat["variety"] == min(v for space in ratios[0].values() for v in space.values())
