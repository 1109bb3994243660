"""Data at scale, measured side by side in one run (docs/benchmarks.md, "Data: prepared stores"):

1. preparing a store (every core) against the single-process decode acgan did before stores (PIL, one image after
   another, a list then a stack) and against the usual anchor, torchvision ImageFolder + DataLoader with one worker
   per core and the same resize: on the CIFAR-10 zip at 32 px and on a folder of 128 px JPEGs at 64 and 128 px;
2. a second `acgan train` on the zip: seconds from the data step's start to the end of the first training step;
3. the peak memory (PSS of the process and its workers) of preparing, and of training paper-imagenet at 64 px on a
   store 4x larger than its memory budget (streamed), with its steps/s against the same store held in memory, and
   the same training on one class (2,000 images, held) for what the process needs without the data.

usage: .venv/bin/python benchmarks/bench-data.py CIFAR_ZIP JPEG_FOLDER [OUT_JSON]
(JPEG_FOLDER from benchmarks/make-jpeg-folder.py CIFAR_ZIP JPEG_FOLDER: 20,000 JPEGs of 128 px)
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

if len(sys.argv) < 3 or {"-h", "--help"} & set(sys.argv[1:]):
    sys.exit(__doc__)
CIFAR, FOLDER = sys.argv[1], sys.argv[2]
OUT = sys.argv[3] if len(sys.argv) > 3 else None
CORES = len(os.sched_getaffinity(0))


def tree_rss(pid: int) -> int:
    """Bytes of memory the process `pid` and all its descendants hold: the sum of their PSS (each page shared by n
    processes counted 1/n: forked workers share the parent's pages), from /proc/*/smaps_rollup."""
    kids, total = {}, 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
                kids.setdefault(int(fields[1]), []).append(int(d.name))
            except OSError:
                continue
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            pss = next(line for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()
                       if line.startswith("Pss:"))
            total += int(pss.split()[1]) * 1024
        except (OSError, StopIteration):
            pass
        todo += kids.get(p, [])
    return total


def run_measured(code: str, env: dict | None = None) -> tuple[dict, int]:
    """(the JSON a Python snippet prints last, the peak RSS of its process tree, sampled every 20 ms)."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.02)
    t = threading.Thread(target=sample)
    t.start()
    out, err = proc.communicate()
    done.set()
    t.join()
    if proc.returncode:
        raise SystemExit(err[-3000:])
    return json.loads(out.strip().splitlines()[-1]), peak[0]


def old_decode(paths_or_zip, size: int) -> float:
    """Images per second of acgan's decode before stores: one process, PIL, a list of arrays, one stack."""
    from acgan.data.decode import to_square
    start = time.perf_counter()
    arrays = []
    for data in paths_or_zip():
        img = to_square(Image.open(io.BytesIO(data)).convert("RGB"), size)
        arrays.append(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))
    np.stack(arrays)
    return len(arrays) / (time.perf_counter() - start)


ANCHOR = """
import json, sys, time, torch
from torchvision import datasets, transforms
from torch.utils.data import DataLoader
t = transforms.Compose([transforms.Resize({size}, interpolation=transforms.InterpolationMode.BICUBIC),
                        transforms.CenterCrop({size}), transforms.PILToTensor()])
ds = datasets.ImageFolder({root!r}, transform=t)
start = time.perf_counter()
n = sum(len(x) for x, _ in DataLoader(ds, batch_size=256, num_workers={cores}))
print(json.dumps({{"images": n, "img_s": n / (time.perf_counter() - start)}}))
"""

OURS = """
import json, time, torch
from acgan.data.folder import FolderData
from acgan.data.store import open_store
spec = FolderData()
keep = list(range(len(spec.class_names({root!r}, "train"))))
start = time.perf_counter()
store, _ = open_store(spec, {root!r}, "train", keep, {size}, log=lambda m: None, progress=False)
n = int(sum(store.manifest["counts"]))
print(json.dumps({{"images": n, "img_s": n / (time.perf_counter() - start), "store_bytes": store.size_bytes}}))
"""

FIRST_STEP = """
import json, time
t0 = time.perf_counter()
from acgan.config import assemble
from acgan.training.data import load_training_data
from acgan.training.loop import Trainer
cfg = assemble("demo", {{"dataset": "folder", "data_dir": {root!r}, "arch": "dcgan-small", "resolution": 32,
                         "device": "cpu", "monitor_every": 0}})
t1 = time.perf_counter()
trainer = Trainer(cfg, load_training_data(cfg))
trainer.train_step()
print(json.dumps({{"imports_s": t1 - t0, "data_to_first_step_s": time.perf_counter() - t1}}))
"""

TRAIN = """
import json, time, torch
from acgan.config import assemble
from acgan.training.data import load_training_data
from acgan.training.loop import Trainer
cfg = assemble("paper-imagenet", {{"dataset": "folder", "data_dir": {root!r}, "resolution": 64, "batch_size": 100,
                                   "device": "cpu", "monitor_every": 0, "data_memory_gb": {budget},
                                   "classes": {classes}}})
trainer = Trainer(cfg, load_training_data(cfg))
for _ in range(3):
    trainer.train_step()
start = time.perf_counter()
for _ in range({steps}):
    trainer.train_step()
print(json.dumps({{"streamed": trainer.batches.streamed, "steps_s": {steps} / (time.perf_counter() - start)}}))
trainer.batches.close()
"""


def main():
    from acgan.device import cpu_signature
    results = {"cpu": cpu_signature(), "cores": CORES, "prepare": []}
    extracted = Path(tempfile.mkdtemp()) / "cifar-train"
    with zipfile.ZipFile(CIFAR) as z:
        members = [n for n in z.namelist() if n.startswith("train/") and not n.endswith("/")]
        for n in members:
            target = extracted / n[len("train/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(n))

    def zip_images():
        with zipfile.ZipFile(CIFAR) as z:
            for n in members:
                yield z.read(n)

    def folder_images():
        for p in sorted(Path(FOLDER).rglob("*.jpg")):
            yield p.read_bytes()

    for label, source, anchor_root, images, size in (("CIFAR-10 zip", CIFAR, extracted, zip_images, 32),
                                                     ("128 px JPEG folder", FOLDER, FOLDER, folder_images, 64),
                                                     ("128 px JPEG folder", FOLDER, FOLDER, folder_images, 128)):
        cache = tempfile.mkdtemp()
        ours, peak = run_measured(OURS.format(root=str(source), size=size), {"ACGAN_CACHE": cache})
        anchor, _ = run_measured(ANCHOR.format(root=str(anchor_root), size=size, cores=CORES))
        before = old_decode(images, size)
        row = {"data": label, "px": size, "images": ours["images"], "ours_img_s": ours["img_s"],
               "before_img_s": before, "anchor_img_s": anchor["img_s"], "vs_before": ours["img_s"] / before,
               "vs_anchor": ours["img_s"] / anchor["img_s"], "prepare_peak_rss_mb": peak / 2 ** 20,
               "store_mb": ours["store_bytes"] / 2 ** 20}
        results["prepare"].append(row)
        print(f"{label} at {size} px: ours {row['ours_img_s']:,.0f} img/s, before {before:,.0f} "
              f"({row['vs_before']:.2f}x), anchor {anchor['img_s']:,.0f} ({row['vs_anchor']:.2f}x); peak RSS "
              f"{row['prepare_peak_rss_mb']:,.0f} MB for a {row['store_mb']:,.0f} MB store", flush=True)

    cache = tempfile.mkdtemp()
    first, _ = run_measured(FIRST_STEP.format(root=CIFAR), {"ACGAN_CACHE": cache})
    second, _ = run_measured(FIRST_STEP.format(root=CIFAR), {"ACGAN_CACHE": cache})
    results["first_step"] = {"first_run": first, "second_run": second}
    print(f"CIFAR-10 zip, data step to first step: {first['data_to_first_step_s']:.1f} s (prepares), second run "
          f"{second['data_to_first_step_s']:.2f} s", flush=True)

    cache = tempfile.mkdtemp()
    run_measured(OURS.format(root=FOLDER, size=64), {"ACGAN_CACHE": cache})
    store_gb = 20000 * 3 * 64 * 64 / 2 ** 30
    rows = {}
    for name, budget, classes in (("held", 64.0, None), ("streamed", store_gb / 4, None), ("one class", 64.0, [0])):
        got, peak = run_measured(TRAIN.format(root=FOLDER, budget=budget, steps=20, classes=classes),
                                 {"ACGAN_CACHE": cache})
        rows[name] = dict(got, peak_rss_mb=peak / 2 ** 20, budget_mb=budget * 1024)
        print(f"paper-imagenet 64 px, {name}: {got['steps_s']:.2f} steps/s, peak RSS {peak / 2 ** 20:,.0f} MB "
              f"(store {store_gb * 1024:,.0f} MB, budget {budget * 1024:,.0f} MB)", flush=True)
    rows["streamed_vs_held"] = rows["streamed"]["steps_s"] / rows["held"]["steps_s"]
    results["train"] = rows
    print(f"streamed / held steps/s: {rows['streamed_vs_held']:.2f}")
    if OUT:
        Path(OUT).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
