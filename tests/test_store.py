"""Prepared stores: built once and reused, the same pixels as decoding each file, resumed after an interruption,
rebuilt when the source changes or the store is damaged, one preparer at a time, a full disk, streamed == held."""
import dataclasses
import errno
import os
import re
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from acgan.cli import main
from acgan.config import TrainConfig
from acgan.data import load_data
from acgan.data import store as store_module
from acgan.data.decode import decode, to_square
from acgan.data.folder import FolderData
from acgan.data.store import build as build_module
from acgan.data.store import list_stores, open_store, stores_dir
from acgan.errors import UserError
from acgan.rundir import RunDir
from acgan.training.single_run import train

from .conftest import assert_same_weights, straight_and_resumed, write_folder_dataset


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACGAN_CACHE", str(tmp_path / "cache"))


def by_hand(root, classes, size, mode="RGB"):
    """The images decoded one by one with PIL alone: convert, shorter side to `size` (bicubic), centre crop."""
    out = []
    for name in classes:
        for f in sorted((root / name).iterdir()):
            img = to_square(Image.open(f).convert(mode), size)
            arr = np.asarray(img)
            out.append(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out))


def test_a_store_is_built_once_and_gives_the_pixels_of_each_file(folder_data, monkeypatch):
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    built = []
    real_build = build_module.build_store
    monkeypatch.setattr("acgan.data.store.build_store", lambda *a, **k: built.append(1) or real_build(*a, **k))
    first = load_data(cfg, 12)
    assert torch.equal(first.images.load(), by_hand(folder_data, ["cat", "dog", "frog"], 12))
    assert first.labels.tolist() == [0] * 24 + [1] * 24 + [2] * 24
    again = load_data(dataclasses.replace(cfg, classes=["frog", "cat"]), 12)  # a subset, in another order
    assert len(built) == 1 and len(list_stores()) == 1
    assert torch.equal(again.images.load(), by_hand(folder_data, ["frog", "cat"], 12))
    assert again.labels.tolist() == [0] * 24 + [1] * 24
    load_data(cfg, 16)  # another resolution is another store
    assert len(built) == 2
    m = list_stores()[0].manifest
    assert m["counts"] == [24, 24, 24] and m["skipped"] == [] and m["rule"]["resize"].startswith("shorter side")


def test_a_changed_source_gives_a_new_store(folder_data):
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    before = load_data(cfg, 16).images.load()
    path = folder_data / "dog" / "003.png"
    Image.fromarray(np.full((16, 16, 3), 7, np.uint8)).save(path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10 ** 9))
    after = load_data(cfg, 16).images.load()
    assert len(list_stores()) == 2 and torch.all(after[24 + 3] == 7) and not torch.equal(before, after)
    res = CliRunner().invoke(main, ["data", "prune"])
    assert res.exit_code == 0 and "its source changed" in res.output and len(list_stores()) == 1


def test_bad_files_are_recorded_and_named(folder_data):
    (folder_data / "cat" / "broken.png").write_bytes(b"not a png")
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    with pytest.raises(UserError, match=r"broken\.png.*not a decodable image.*--skip-bad-images"):
        load_data(cfg, 16)
    data = load_data(dataclasses.replace(cfg, skip_bad_images=True), 16)  # the same store, without the file
    assert len(data.labels) == 72 and len(list_stores()) == 1
    assert load_data(dataclasses.replace(cfg, classes=["dog"]), 16).labels.tolist() == [0] * 24  # not in this class
    res = CliRunner().invoke(main, ["data", "info", "--dataset", "folder", "--data-dir", str(folder_data),
                                    "--resolution", "16"])
    assert res.exit_code == 0 and "cat/broken.png (cat): not a decodable image" in res.output
    res = CliRunner().invoke(main, ["data", "prepare", "--dataset", "folder", "--data-dir", str(folder_data),
                                    "--resolution", "16"])  # one split: "test" reads the same images
    assert res.exit_code == 0 and res.output.splitlines()[0].endswith(
        "1 file skipped (`acgan data info` lists them; training needs --skip-bad-images); "
        f"{list_stores()[0].path}"), res.output
    store = list_stores()[0].path
    assert f"store      {store}" in CliRunner().invoke(main, ["data", "info", "--store", str(store)]).output
    res = CliRunner().invoke(main, ["data", "info", "--store", str(store.parent / "nothing")])
    assert res.exit_code == 2 and res.output == f"error: no store at {store.parent / 'nothing'}: `acgan data list` " \
        "shows the prepared stores and their folders\n"
    res = CliRunner().invoke(main, ["data", "info", "--store", str(folder_data)])  # a folder, not a store
    assert res.exit_code == 2 and res.output.startswith(f"error: {folder_data} is not a usable store: ")


def images_folder(root, n_per_class=150, size=48):
    """Enough PNGs that preparing them takes a few seconds with one process."""
    return write_folder_dataset(root, classes=("a", "b", "c", "d"), per_class=n_per_class, size=size)


def test_an_interrupted_prepare_resumes_from_its_finished_chunks(tmp_path, monkeypatch):
    root = images_folder(tmp_path / "d", 100)
    spec, keep = FolderData(), [0, 1, 2, 3]
    monkeypatch.setattr(build_module, "CHUNK_BYTES", 48 * 48 * 3 * 64)  # 64 rows a chunk: 7 chunks
    real, calls = build_module._decode_chunk, []

    def dies_after_three(task):
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a Ctrl-C or a kill would stop it
        calls.append(task[0])
        return real(task)
    monkeypatch.setattr(build_module, "_decode_chunk", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        open_store(spec, str(root), "train", keep, None, workers=1)
    build_dir = next(stores_dir().glob("*/*.build"))
    assert len(list((build_dir / "chunks").glob("*.json"))) == 3 and not list_stores()
    monkeypatch.setattr(build_module, "_decode_chunk", lambda task: calls.append(task[0]) or real(task))
    store, _ = open_store(spec, str(root), "train", keep, None, workers=1)
    assert sorted(calls) == list(range(7)) and not build_dir.exists()  # each chunk decoded exactly once
    assert torch.equal(store.rows_of(keep)[0].load(), by_hand(root, ["a", "b", "c", "d"], 48))


def prepare_command(tmp_path):
    """(folder, environment, `acgan data prepare` of it with one process): a prepare that takes seconds."""
    root = images_folder(tmp_path / "d", 600, 64)
    cmd = [sys.executable, "-m", "acgan.cli", "data", "prepare", "--dataset", "folder", "--data-dir", str(root),
           "--workers", "1"]
    return root, dict(os.environ, ACGAN_CACHE=str(tmp_path / "cache")), cmd


@pytest.mark.slow
def test_kill_9_during_prepare_then_prepare_again(tmp_path):
    root, env, cmd = prepare_command(tmp_path)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((tmp_path / "cache").glob("stores/*/*.build/chunks/*.json"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list((tmp_path / "cache").glob("stores/*/*.build")), "the prepare ended before it could be killed"
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "done by an earlier prepare" in res.stderr
    got = load_data(TrainConfig(dataset="folder", data_dir=str(root)), 64).images.load()
    assert torch.equal(got, by_hand(root, ["a", "b", "c", "d"], 64))


@pytest.mark.slow
def test_two_processes_preparing_the_same_store(tmp_path):
    _, env, cmd = prepare_command(tmp_path)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    # whether the second waited or found the store done depends on timing; that it never decodes does not
    assert sum("waiting for another process" in err for _, err in outs) <= 1
    assert sum("prepared 2,400 images" in err for _, err in outs) == 1  # decoded once, by one of them
    assert len(list((tmp_path / "cache").glob("stores/*/*/manifest.json"))) == 1


def test_a_process_that_waited_for_the_store_does_not_decode_it_again(tmp_path, monkeypatch):
    """The overlap made certain: this process holds the store's lock and starts the second `acgan data prepare`
    before it decodes, and decodes only once the second says it waits."""
    root, env, cmd = prepare_command(tmp_path)
    err_path, second = tmp_path / "second.err", []
    real_build = store_module.build_store

    def build_while_another_waits(*args, **kwargs):
        with open(err_path, "w") as err:
            second.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err))
        deadline = time.time() + 120
        while "waiting for another process" not in err_path.read_text():
            assert second[0].poll() is None and time.time() < deadline, err_path.read_text()
            time.sleep(0.05)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(store_module, "build_store", build_while_another_waits)
    first = load_data(TrainConfig(dataset="folder", data_dir=str(root)), 64).images.load()
    assert len(second) == 1 and second[0].wait(timeout=300) == 0, err_path.read_text()
    err = err_path.read_text()
    assert "waiting for another process" in err and "prepared" not in err, err
    assert len(list_stores()) == 1
    assert torch.equal(load_data(TrainConfig(dataset="folder", data_dir=str(root)), 64).images.load(), first)


@pytest.mark.parametrize("damage", ["flip", "truncate", "manifest"])
def test_a_damaged_store_is_rebuilt_never_used(folder_data, damage):
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))
    good = load_data(cfg, 16).images.load()
    store = list_stores()[0]
    images = store.images_path
    if damage == "flip":
        data = bytearray(images.read_bytes())
        data[1000] ^= 0xFF
        images.write_bytes(bytes(data))
    elif damage == "truncate":
        images.write_bytes(images.read_bytes()[:-10])
    else:
        (store.path / "manifest.json").write_text("{")
    said = []
    again = load_data(cfg, 16, log=said.append).images.load()
    assert torch.equal(again, good) and len(list_stores()) == 1
    assert any("is damaged" in s for s in said), said


def test_a_full_disk_leaves_nothing_half_written(folder_data, monkeypatch):
    cfg = TrainConfig(dataset="folder", data_dir=str(folder_data))

    def no_room(*args):
        raise OSError(errno.ENOSPC, "No space left on device")
    real_fallocate, real_pwrite = os.posix_fallocate, os.pwrite
    monkeypatch.setattr(build_module.os, "posix_fallocate", no_room)  # no room for the store at all
    with pytest.raises(UserError, match="the disk is full: could not write .*images.u8"):
        load_data(cfg, 16)
    assert not list(stores_dir().glob("*/*.build")) and not list_stores()
    monkeypatch.setattr(build_module.os, "posix_fallocate", real_fallocate)
    monkeypatch.setattr(build_module.os, "pwrite", lambda fd, data, off: no_room())  # full half-way
    res = CliRunner().invoke(main, ["data", "prepare", "--dataset", "folder", "--data-dir", str(folder_data),
                                    "--resolution", "16", "--workers", "1"])
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1 and errors[0].startswith("error: the disk is full"), res.output
    assert res.output.strip().splitlines()[-1] == errors[0] and "Traceback" not in res.output
    assert not list(stores_dir().glob("*/*.build")) and not list_stores()
    monkeypatch.setattr(build_module.os, "pwrite", real_pwrite)
    assert len(load_data(cfg, 16).labels) == 72


def test_a_store_larger_than_the_free_space_is_refused_before_any_room_is_taken(folder_data, monkeypatch):
    def taken(*args):
        raise AssertionError("posix_fallocate must not run for a store that cannot fit")
    monkeypatch.setattr(build_module.shutil, "disk_usage", lambda path: SimpleNamespace(free=50_000))
    monkeypatch.setattr(build_module.os, "posix_fallocate", taken)
    res = CliRunner().invoke(main, ["data", "prepare", "--dataset", "folder", "--data-dir", str(folder_data),
                                    "--resolution", "16"])  # 72 images of 3 x 16 x 16 bytes: 55,296 bytes
    assert res.exit_code == 2, res.output
    assert re.fullmatch(r"error: the prepared images need 54\.0 KB \(72 images of 3 x 16 x 16 bytes\) and \S+ has "
                        r"48\.8 KB free: choose a smaller resolution, or set ACGAN_CACHE to a folder on a disk "
                        r"with room", res.output.strip()), res.output
    assert not list(stores_dir().glob("*/*.build")) and not list_stores()


def test_streamed_batches_train_the_same_weights_as_held_ones(tiny_cfg, tmp_path):
    held = RunDir(train(tiny_cfg, tmp_path / "held", progress=False)).load_checkpoint()[0]
    streamed_cfg = dataclasses.replace(tiny_cfg, data_memory_gb=0.0)  # nothing fits: every batch from the store
    streamed = RunDir(train(streamed_cfg, tmp_path / "streamed", progress=False)).load_checkpoint()[0]
    assert_same_weights(held, streamed)
    a, b = straight_and_resumed(dataclasses.replace(streamed_cfg, d_steps=2), tmp_path / "resume", steps=6, cut=3)
    assert_same_weights(a, b)


def test_a_streaming_rank_reads_only_its_rows(tmp_path, folder_data, monkeypatch):
    from acgan.data.rows import StoreRows
    from acgan.training.batches import BatchOrder, StreamedBatches
    data = load_data(TrainConfig(dataset="folder", data_dir=str(folder_data)), 16)
    asked = []
    real = StoreRows.gather
    monkeypatch.setattr(StoreRows, "gather", lambda self, rows: asked.append(rows.copy()) or real(self, rows))
    for rank in (0, 1):
        order = BatchOrder(len(data.images), 8, seed=3, rank=rank, world=2)
        batches = StreamedBatches(data.images, data.labels, order, torch.device("cpu"), False)
        x, y = batches.get(5)
        batches.close()
        everyone = BatchOrder(len(data.images), 8, seed=3).rows(5)
        mine = everyone[4 * rank:4 * rank + 4]
        assert torch.equal(y, data.labels[mine]) and torch.equal(x, data.images[mine].float() / 127.5 - 1)
        assert all(len(a) == 4 for a in asked)  # never more than its half of a global batch of 8
        asked.clear()


def test_rules_for_the_images_people_have(tmp_path):
    """One documented rule each (data/decode.py): non-square, EXIF orientation, alpha, palette, 16-bit, CMYK."""
    def png(img):
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.png"
        img.save(path)
        return path.read_bytes()
    wide = Image.new("RGB", (40, 20), (0, 0, 0))
    wide.paste((255, 255, 255), (10, 0, 30, 20))  # a white middle half
    assert decode(png(wide), "RGB", 10).min() > 200  # shorter side to 10, the centre kept
    upright = Image.new("RGB", (20, 10), (255, 0, 0))
    upright.paste((0, 0, 255), (0, 0, 10, 10))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    buf = tmp_path / "rot.jpg"
    upright.save(buf, "JPEG", quality=95, exif=exif)
    rotated = decode(buf.read_bytes(), "RGB", 10)
    assert rotated[:, 0, :].mean(1)[2] > 150 and rotated[:, -1, :].mean(1)[0] > 150  # blue on top after rotation
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    assert decode(png(rgba), "RGB", 8).min() == 255  # over white
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([10, 20, 30] + [0, 0, 0] * 255)
    pal.info["transparency"] = 0
    assert decode(png(pal), "RGB", 8).min() == 255
    deep = Image.fromarray(np.full((8, 8), 65535, np.uint16))
    assert decode(png(deep), "L", 8).tolist() == [[[255] * 8] * 8]
    mid = Image.fromarray(np.full((8, 8), 257 * 100, np.uint16))
    assert decode(png(mid), "L", 8).max() == 100
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # pure red in CMYK
    buf = tmp_path / "cmyk.jpg"
    cmyk.save(buf, "JPEG", quality=95)
    r, g, b = torch.from_numpy(decode(buf.read_bytes(), "RGB", 8)).reshape(3, -1).float().mean(1)
    assert r > 200 and g < 60 and b < 60


def test_mixed_grey_and_colour_follow_the_first_image(tmp_path):
    root = tmp_path / "mixed"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    Image.new("L", (8, 8), 100).save(root / "a" / "0.png")  # the first image is grey: the data set is grey
    Image.new("RGB", (8, 8), (255, 0, 0)).save(root / "a" / "1.png")
    Image.new("RGB", (8, 8), (0, 0, 255)).save(root / "b" / "0.png")
    data = load_data(TrainConfig(dataset="folder", data_dir=str(root)), None)
    x = data.images.load()
    assert x.shape == (3, 1, 8, 8)
    assert x[0].max() == 100 and x[1].max() == 76 and x[2].max() == 29  # PIL's luma of pure red and pure blue
    Image.new("RGB", (8, 8), (0, 255, 0)).save(root / "a" / "0.png")  # now the first image is colour
    Image.new("L", (8, 8), 50).save(root / "a" / "1.png")
    x = load_data(TrainConfig(dataset="folder", data_dir=str(root)), None).images.load()
    assert x.shape == (3, 3, 8, 8) and x[1].tolist() == [[[50] * 8] * 8] * 3  # grey repeated in 3 channels


def test_reduced_scale_jpeg_decoding_is_close_to_full_decoding(tmp_path):
    """JPEG draft (libjpeg's DCT scaling) changes pixels a little; bound it against the full decode + resize."""
    from acgan.data.decode import _fast_jpeg
    rng = np.random.default_rng(0)
    psnr = []
    for i in range(20):
        base = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)  # smooth content, upscaled like a photo
        img = Image.fromarray(base).resize((128, 128), Image.BICUBIC)
        path = tmp_path / f"{i}.jpg"
        img.save(path, "JPEG", quality=90)
        data = path.read_bytes()
        fast, full = decode(data, "RGB", 32, draft=True), decode(data, "RGB", 32, draft=False)
        im = Image.open(path)
        im.draft("RGB", (32, 32))
        assert np.array_equal(fast, np.asarray(to_square(im.convert("RGB"), 32)).transpose(2, 0, 1))  # = PIL's
        assert _fast_jpeg(data, "RGB", 32, True) is not None  # took the libjpeg-turbo path
        mse = ((fast.astype(float) - full.astype(float)) ** 2).mean()
        psnr.append(10 * np.log10(255 ** 2 / max(mse, 1e-9)))
    assert min(psnr) > 30, psnr  # measured: 35-41 dB here


def test_hugging_face_and_parquet_tables(tmp_path):
    datasets = pytest.importorskip("datasets", reason="the optional `datasets` package (make test installs it)")
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["ant", "bee"])})
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)) for _ in range(20)]
    labels = [i % 2 for i in range(20)]
    ds = datasets.Dataset.from_dict({"image": images, "label": labels}, features=features)
    ds.save_to_disk(str(tmp_path / "hf"))
    (tmp_path / "pq").mkdir()
    ds.to_parquet(str(tmp_path / "pq" / "train-00000-of-00001.parquet"))
    want = torch.from_numpy(np.stack([np.asarray(images[i]).transpose(2, 0, 1) for i in range(0, 20, 2)] +
                                     [np.asarray(images[i]).transpose(2, 0, 1) for i in range(1, 20, 2)]))
    for name, where in (("hf", tmp_path / "hf"), ("parquet", tmp_path / "pq")):
        data = load_data(TrainConfig(dataset=name, data_dir=str(where)), None)
        assert data.class_names == ["ant", "bee"] and data.labels.tolist() == [0] * 10 + [1] * 10
        assert torch.equal(data.images.load(), want), name
    res = CliRunner().invoke(main, ["train", "--dataset", "parquet", "--data-dir", str(tmp_path / "pq"),
                                    "--resolution", "12", "--steps", "2", "--batch-size", "4", "--quiet", "--out",
                                    str(tmp_path / "run"), "--set", "g_width=8", "--set", "d_width=8",
                                    "--arch", "resnet", "--set", "embed_dim=8"])
    assert res.exit_code == 0, res.output
    (tmp_path / "bad").mkdir()  # a file that is not Parquet (a download cut short): one line naming it
    (tmp_path / "bad" / "train-0.parquet").write_bytes(b"PAR1 cut short")
    res = CliRunner().invoke(main, ["data", "prepare", "--dataset", "parquet", "--data-dir", str(tmp_path / "bad"),
                                    "--resolution", "12"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert res.output.startswith(f"error: cannot read the Parquet data in {tmp_path / 'bad'}: ") and \
        "train-0.parquet" in res.output, res.output


def test_data_list_and_prune(folder_data):
    assert "no prepared data" in CliRunner().invoke(main, ["data", "list"]).output
    res = CliRunner().invoke(main, ["data", "prepare", "--dataset", "folder", "--data-dir", str(folder_data),
                                    "--resolution", "16"])
    assert res.exit_code == 0 and "72 images of 3 classes at 16 px" in res.output, res.output
    # one folder of classes, no train/ and test/: one store, and the test line says so instead of repeating it
    assert res.output.strip().splitlines()[-1] == "test: the same images as train (the data has no separate test " \
        "split)", res.output
    listed = CliRunner().invoke(main, ["data", "list"]).output
    assert "72 img" in listed and "1 stores" in listed
    res = CliRunner().invoke(main, ["data", "prune", "--all", "--dry-run"])
    assert "would remove" in res.output and len(list_stores()) == 1
    res = CliRunner().invoke(main, ["data", "prune", "--all"])
    assert res.exit_code == 0 and not list_stores() and not any(stores_dir().iterdir())
