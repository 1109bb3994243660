"""A folder of larger JPEGs for data benchmarks: the images of a one-folder-per-class zip (CIFAR-10's, say) upscaled
to SIZE px (bicubic) and saved as JPEG quality 90, PER_CLASS per class, in OUT/<class>/ (docs/benchmarks.md, "Data:
prepared stores" and "Evaluators above 128 px").

usage: .venv/bin/python benchmarks/make-jpeg-folder.py SOURCE_ZIP OUT [--size 128] [--per-class 2000] [--split train]
"""
import argparse
import io
import zipfile
from pathlib import Path, PurePosixPath

from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("source")
parser.add_argument("out", type=Path)
parser.add_argument("--size", type=int, default=128)
parser.add_argument("--per-class", type=int, default=2000)
parser.add_argument("--split", default="train")
args = parser.parse_args()

written = {}
with zipfile.ZipFile(args.source) as z:
    for name in sorted(z.namelist()):
        p = PurePosixPath(name)
        if len(p.parts) < 2 or p.suffix.lower() not in (".jpg", ".jpeg", ".png") or args.split not in p.parts[:-2] \
                and len(p.parts) > 2:
            continue
        cls = p.parts[-2]
        if written.get(cls, 0) >= args.per_class:
            continue
        img = Image.open(io.BytesIO(z.read(name))).convert("RGB").resize((args.size, args.size), Image.BICUBIC)
        (args.out / cls).mkdir(parents=True, exist_ok=True)
        img.save(args.out / cls / f"{written.get(cls, 0):05d}.jpg", "JPEG", quality=90)
        written[cls] = written.get(cls, 0) + 1
print(f"wrote {sum(written.values()):,} JPEGs of {args.size} px in {len(written)} classes to {args.out}")
