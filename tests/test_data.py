import gzip
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from acgan.config import TrainConfig
from acgan.data import idx as idx_module
from acgan.data import load_data, resolve_classes
from acgan.errors import UserError

from .conftest import write_folder_dataset

CIFAR_ZIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg.zip"


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_dir(tmp_path, monkeypatch):
    """Fashion-MNIST-shaped IDX files written by the test, found through the Debian path."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 50), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setitem(idx_module.DEBIAN_DIRS, "fashion-mnist", tmp_path)
    return tmp_path


def test_idx_reader_round_trip(tmp_path):
    written = np.random.default_rng(3).integers(0, 256, (7, 5, 3)).astype(np.uint8)
    for name in ("a.gz", "a"):  # gzipped and plain
        path = tmp_path / name
        write_idx(path, written) if name.endswith(".gz") else path.write_bytes(gzip.decompress(
            (tmp_path / "a.gz").read_bytes()))
        read = idx_module.read_idx(path)
        assert read.dtype == np.uint8 and np.array_equal(read, written)


def test_fashion_mnist_classes_and_resize(idx_dir):
    data = load_data(TrainConfig(classes=["Trouser", "9"]), resolution=32)
    assert data.images.shape == (10, 1, 32, 32) and data.images.load().dtype == torch.uint8
    assert data.class_names == ["Trouser", "Ankle boot"] and data.source_classes == [1, 9]
    assert sorted(set(data.labels.tolist())) == [0, 1]
    test = load_data(TrainConfig(), resolution=None, split="test")
    assert test.images.shape == (20, 1, 28, 28)


def test_truncated_idx_is_a_user_error(tmp_path):
    with gzip.open(tmp_path / "bad.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + b"\0" * 10)
    with pytest.raises(UserError, match="truncated"):
        idx_module.read_idx(tmp_path / "bad.gz")


def test_real_fashion_mnist_when_installed():
    if not (idx_module.DEBIAN_DIRS["fashion-mnist"] / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("dataset-fashion-mnist is not installed")
    data = load_data(TrainConfig(), resolution=None, split="test")
    assert data.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.labels).tolist() == [1000] * 10


def test_resolve_classes():
    names = ["cat", "dog", "frog"]
    assert resolve_classes("2,cat", names) == [2, 0]
    assert resolve_classes(None, names) == [0, 1, 2]
    with pytest.raises(UserError, match="out of range"):
        resolve_classes("3", names)
    with pytest.raises(UserError, match="unknown class 'cow'"):
        resolve_classes("cow", names)


def test_folder_directory_and_zip_agree(folder_data, tmp_path):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(folder_data.rglob("*.png")):
            z.write(f, "wrapper/" + f.relative_to(folder_data).as_posix())
    a = load_data(TrainConfig(dataset="folder", data_dir=str(folder_data), classes=["dog", "frog"]), resolution=8)
    b = load_data(TrainConfig(dataset="folder", data_dir=str(archive), classes=["dog", "frog"]), resolution=8)
    assert a.class_names == b.class_names == ["dog", "frog"]
    assert a.images.shape == (48, 3, 8, 8)
    assert torch.equal(a.images.load(), b.images.load()) and torch.equal(a.labels, b.labels)


def test_folder_grayscale_keeps_one_channel(tmp_path):
    root = write_folder_dataset(tmp_path / "g", mode="L", per_class=2)
    assert load_data(TrainConfig(dataset="folder", data_dir=str(root)), resolution=None).channels == 1


def test_folder_split_layout(tmp_path):
    write_folder_dataset(tmp_path / "d" / "train", per_class=3)
    write_folder_dataset(tmp_path / "d" / "test", per_class=2)
    cfg = TrainConfig(dataset="folder", data_dir=str(tmp_path / "d"))
    assert len(load_data(cfg, None).labels) == 9
    assert len(load_data(cfg, None, split="test").labels) == 6


def test_corrupted_image_named_unless_skipped(folder_data):
    (folder_data / "dog" / "broken.png").write_bytes(b"not a png")
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    with pytest.raises(UserError, match="broken.png.*--skip-bad-images"):
        load_data(cfg, None)
    cfg.skip_bad_images = True
    assert len(load_data(cfg, None).labels) == 72


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds no pixels: enough for a reader that checks sizes before decoding."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("name,width,height,why", [
    ("bomb.png", 100_000, 100_000, "decompression-bomb limit"),   # PIL's DecompressionBombError
    ("huge.png", 10_000, 10_000, "too large to decode (10000x10000 px"),  # under PIL's error, over its warning
])
def test_oversized_images_named_unless_skipped(folder_data, name, width, height, why):
    (folder_data / "cat" / name).write_bytes(png_header(width, height))
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    with pytest.raises(UserError, match=f"{name}.*{re.escape(why)}.*--skip-bad-images"):
        load_data(cfg, None)
    cfg.skip_bad_images = True
    assert len(load_data(cfg, None).labels) == 72


def test_oversized_image_through_the_cli(folder_data, tmp_path):
    from click.testing import CliRunner

    from acgan.cli import main
    (folder_data / "cat" / "000.png").write_bytes(png_header(100_000, 100_000))  # the first image, too
    res = CliRunner().invoke(main, ["train", "--dataset", "folder", "--data-dir", str(folder_data), "--steps", "1",
                                    "--resolution", "16", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "000.png" in res.output and "decompression-bomb" in res.output


def test_empty_class_folder_and_missing_root(folder_data, tmp_path):
    (folder_data / "empty").mkdir()
    with pytest.raises(UserError, match="'empty'.*has no images"):
        load_data(TrainConfig(dataset="folder", data_dir=str(folder_data)), None)
    with pytest.raises(UserError, match="does not exist"):
        load_data(TrainConfig(dataset="folder", data_dir=str(tmp_path / "nope")), None)
    (tmp_path / "hollow").mkdir()
    with pytest.raises(UserError, match="no class sub-folders"):
        load_data(TrainConfig(dataset="folder", data_dir=str(tmp_path / "hollow")), None)


def test_a_folder_of_classes_beside_a_download_data_set_is_refused(folder_data, tmp_path, monkeypatch):
    """`--data-dir MY_IMAGES` without `--dataset folder` would train the preset's Fashion-MNIST in silence."""
    from click.testing import CliRunner

    from acgan.cli import main
    from acgan.config import assemble
    from acgan.data.folder import holds_class_folders

    monkeypatch.chdir(tmp_path)
    said = (f"error: --data-dir {folder_data} holds folders of images, but the data set is fashion-mnist, which only "
            "downloads into --data-dir: add --dataset folder to use the images\n")
    for args in (["train", "--out", "run"], ["data", "prepare"], ["train-classifier"]):
        res = CliRunner().invoke(main, args + ["--data-dir", str(folder_data)])
        assert (res.exit_code, res.output) == (2, said), args
    assert not (tmp_path / "run").exists()
    zipped = shutil.make_archive(str(tmp_path / "images"), "zip", folder_data)
    split = write_folder_dataset(tmp_path / "split" / "train", per_class=2).parent
    (tmp_path / "download" / "FashionMNIST" / "raw").mkdir(parents=True)  # torchvision's own layout
    (tmp_path / "download" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "a.png").write_bytes(b"")  # images, but no class folders
    assert [holds_class_folders(str(p)) for p in (folder_data, zipped, split, tmp_path / "download",
                                                  tmp_path / "loose", tmp_path / "nothing")] == \
        [True, True, True, False, False, False]
    with pytest.raises(UserError, match="add --dataset folder"):
        assemble("demo", {"data_dir": zipped})
    assert assemble("demo", {"data_dir": zipped, "dataset": "folder"}).dataset == "folder"
    assert assemble("demo", {"data_dir": str(folder_data)}, ["dataset=folder"]).dataset == "folder"
    assert assemble("demo", {"data_dir": str(tmp_path / "download")}).dataset == "fashion-mnist"


@pytest.mark.skipif(not CIFAR_ZIP.exists(), reason="shared/data/cifar10-jpeg.zip is not here")
def test_cifar10_jpeg_zip_as_folder_data():
    cfg = TrainConfig(dataset="folder", data_dir=str(CIFAR_ZIP), classes=["cat", "ship"], split="test")
    data = load_data(cfg, resolution=None)
    assert data.images.shape == (2000, 3, 32, 32)
    assert data.class_names == ["cat", "ship"] and data.source_classes == [3, 8]
    assert torch.bincount(data.labels).tolist() == [1000, 1000]


def test_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise OSError("Network is unreachable")
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    monkeypatch.setitem(idx_module.DEBIAN_DIRS, "mnist", tmp_path / "none")
    with pytest.raises(UserError, match="mnist is not in .* could not be downloaded"):
        load_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path)), None)
    with pytest.raises(UserError, match="cifar10 is not in .*--dataset folder"):
        load_data(TrainConfig(dataset="cifar10", data_dir=str(tmp_path)), None)


def test_mnist_from_torchvision_layout(tmp_path, monkeypatch):
    """MNIST files where torchvision's download puts them (<data_dir>/MNIST/raw) are found without downloading."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n in (("train", 30), ("t10k", 10)):
        write_idx(raw / f"{split}-images-idx3-ubyte.gz", np.zeros((n, 28, 28)))
        write_idx(raw / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setitem(idx_module.DEBIAN_DIRS, "mnist", tmp_path / "none")
    data = load_data(TrainConfig(dataset="mnist", data_dir=str(tmp_path), classes="3,5"), None)
    assert data.class_names == ["3", "5"] and len(data.labels) == 6


def test_zero_size_image_named_unless_skipped(folder_data):
    (folder_data / "frog" / "empty.png").write_bytes(png_header(0, 16))
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    with pytest.raises(UserError, match="empty.png.*--skip-bad-images"):
        load_data(cfg, None)
    cfg.skip_bad_images = True
    assert len(load_data(cfg, None).labels) == 72
