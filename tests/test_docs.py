"""The documentation: generated pages are current, and every `acgan ...` command shown in a code block of the README
or a page under docs/ runs, in the page's order, on tiny stand-ins for the data it names.

A command keeps its own arguments; the test only shrinks it (2 steps of 8-channel networks, 10 samples per class,
1 evaluator epoch, a fraction of a minute) and points its data at tiny copies: Fashion-MNIST and MNIST as IDX files
of 10 classes, `my_photos.zip` and `cifar10-jpeg.zip` as folders of CIFAR-10's class names, `EV` / `EV_CIFAR` as
evaluators of those, `my_samples/` as a folder of samples per Fashion-MNIST class, `my_dataset/` and `my_parquet/` as
a saved Hugging Face dataset and its Parquet export. What cannot run here is listed in SKIPPED with the reason."""
import gzip
import os
import re
import shlex
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from acgan.cli import main
from acgan.data import idx as idx_module
from acgan.data.idx import FASHION_CLASSES

from .conftest import write_folder_dataset

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
# the lab notebooks and benchmark reproducers: in the repository, not on the site, so mkdocs checks none of their links
OUTSIDE_THE_SITE = sorted(p for folder in ("research", "benchmarks") for p in (ROOT / folder).rglob("*")
                          if p.suffix in (".md", ".py", ".sh"))
WITH_COMMANDS = [p for p in PAGES if "```sh" in p.read_text() or "```bash" in p.read_text()]
CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SKIPPED = {  # a command starting with this -> why it does not run in the tests
    "acgan bench": "times training and metrics for minutes; tests/test_bench.py runs its parts on tiny sizes",
    "acgan explore": "serves until Ctrl-C; tests/test_share.py starts its server and loads the page in Chromium",
}
SHRINK = {  # options each command gets after its own (a later option wins in click)
    "train": ["--quiet", "--set", "g_width=8", "--set", "d_width=8", "--set", "batch_size=8", "--set",
              "monitor_every=0", "--set", "log_every=1", "--set", "sample_every=2", "--set", "checkpoint_every=2",
              "--set", "tensorboard=false", "--set", "embed_dim=8"],
    "evaluate": ["--per-class", "10", "--real-per-class", "10", "--pairs", "4", "--inception-samples", "20"],
    "check": ["--per-class", "10"],
    "train-classifier": ["--epochs", "1", "--quiet"],
    "experiment": ["--per-class", "10", "--set", "g_width=8", "--set", "d_width=8", "--set", "batch_size=8",
                   "--set", "monitor_every=0", "--set", "log_every=1", "--set", "checkpoint_every=2", "--set",
                   "embed_dim=8"],
}


def doc_commands(text: str) -> list[str]:
    """`acgan ...` lines of the sh code blocks, continuation lines joined, trailing comments and `&&` split off."""
    found = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("  #")[0].split("&&"):
                if part.strip().startswith("acgan "):
                    found.append(part.strip())
    return found


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    """The tiny data every page's commands are pointed at, made once."""
    root = tmp_path_factory.mktemp("stand-ins")
    rng = np.random.default_rng(0)
    idx = root / "idx"
    idx.mkdir()
    for split, per in (("train", 16), ("t10k", 12)):  # class c: a bright bar at row 2c, so it is learnable
        labels = np.arange(10 * per) % 10
        images = rng.integers(0, 60, (10 * per, 28, 28))
        for i, c in enumerate(labels):
            images[i, 2 * c:2 * c + 4, 4:24] = 230
        write_idx(idx / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(idx / f"{split}-labels-idx1-ubyte.gz", labels)
    photos = root / "my_photos"
    write_folder_dataset(photos / "train", classes=CIFAR, per_class=12, size=32)
    write_folder_dataset(photos / "test", classes=CIFAR, per_class=10, size=32, seed=1)
    with zipfile.ZipFile(root / "my_photos.zip", "w") as z:
        for f in sorted(photos.rglob("*.png")):
            z.write(f, f.relative_to(photos).as_posix())
    samples = root / "my_samples"
    for c, name in enumerate(FASHION_CLASSES):
        (samples / name.replace("/", "_")).mkdir(parents=True)
        for i in range(12):
            arr = rng.integers(0, 60, (28, 28)).astype(np.uint8)
            arr[2 * c:2 * c + 4, 4:24] = 230
            Image.fromarray(arr).save(samples / name.replace("/", "_") / f"{i:03d}.png")
    datasets = pytest.importorskip("datasets", reason="the optional `datasets` package (make test installs it)")
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=CIFAR[:2])})
    table = datasets.Dataset.from_dict({"image": [Image.fromarray(rng.integers(0, 255, (16, 16, 3), np.uint8))
                                                  for _ in range(20)], "label": [i % 2 for i in range(20)]},
                                       features=features)
    table.save_to_disk(str(root / "my_dataset"))
    (root / "my_parquet").mkdir()
    table.to_parquet(str(root / "my_parquet" / "train-00000-of-00001.parquet"))
    with pytest.MonkeyPatch.context() as mp:  # the two evaluators the results pages call EV and EV_CIFAR
        mp.setitem(idx_module.DEBIAN_DIRS, "fashion-mnist", idx)
        mp.setenv("ACGAN_CACHE", str(root / "cache"))
        mp.chdir(root)
        for name, data in (("EV", ["--dataset", "fashion-mnist"]),
                           ("EV_CIFAR", ["--dataset", "folder", "--data-dir", "my_photos.zip"])):
            run_cli(["train-classifier", *data, "--epochs", "8", "--quiet", "--out", name])
            # and the data's default one, which `evaluate` would otherwise train on small data's long schedule
            run_cli(["train-classifier", *data, "--epochs", "8", "--quiet"])
    return root


@pytest.fixture
def page_dir(stand_ins, tmp_path, monkeypatch):
    """A fresh working folder with the stand-ins under the names the docs use; repository-relative paths
    (docs/results/family/tuning/G.yaml) resolve through a link to docs/. The cache folder is the module's."""
    monkeypatch.setitem(idx_module.DEBIAN_DIRS, "fashion-mnist", stand_ins / "idx")
    monkeypatch.setitem(idx_module.DEBIAN_DIRS, "mnist", stand_ins / "idx")
    # one cache for the module's pages: a default evaluator or a prepared store one page made serves the next, as
    # it would a user; training and rebuilding them are tested in test_evaluation.py and test_store.py
    monkeypatch.setenv("ACGAN_CACHE", str(stand_ins / "cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    for name in ("my_photos.zip", "my_photos", "my_samples", "my_dataset", "my_parquet"):
        (tmp_path / name).symlink_to(stand_ins / name)
    (tmp_path / "cifar10-jpeg.zip").symlink_to(stand_ins / "my_photos.zip")
    for name in ("EV", "EV_CIFAR"):
        (tmp_path / name).symlink_to(stand_ins / name)
    return tmp_path


def run_cli(args: list[str]):
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, f"acgan {shlex.join(args)}\n{res.output}"
    return res


def shrink(args: list[str]) -> list[str]:
    """The command at tiny sizes; --steps and --minutes made small, a --resume given more steps than the run has."""
    out, it = [], iter(args)
    for a in it:
        if a == "--steps":
            next(it)
            out += ["--steps", "4" if "--resume" in args else "2"]
        elif a == "--minutes":
            next(it)
            out += ["--minutes", "0.005"]
        elif a == "--seeds":  # one seed runs the same code as two
            out += ["--seeds", next(it).split(",")[0]]
        elif a == "--counts":  # the largest two: a split into groups and one model run the code of all (1: K models)
            out += ["--counts", ",".join(next(it).split(",")[-2:])]
        else:
            out.append(a)
    if "--resume" in out:  # only --steps or --minutes, --device and --data-dir may go with --resume
        return out + ["--quiet"] + ([] if {"--steps", "--minutes"} & set(out) else ["--steps", "4"])
    if out[0] in ("train", "experiment") and not {"--steps", "--minutes"} & set(out):
        out += ["--steps", "2"]
    return out + SHRINK.get(out[0], [])


def ensure_run(args: list[str]) -> None:
    """A command that reads a run directory the page did not make itself gets a tiny demo run there."""
    reads_run = args[0] in ("evaluate", "check", "sample", "report", "export")
    if reads_run and len(args) > 1 and args[1].startswith("runs/") and not Path(args[1]).exists():
        run_cli(shrink(["train", "--out", args[1]]))


def inception_weights_where_named(args: list[str]) -> None:
    """The TF-Inception file a command names, with the right layout and random values (the real one cannot be
    fetched here); what is tested is that the command runs, not the numbers."""
    if "--inception-weights" in args:
        from acgan.evaluation.evaluator.inception import random_weights_inception
        path = Path(args[args.index("--inception-weights") + 1])
        if not path.exists():
            torch.save(random_weights_inception(["2048", "logits_unbiased"]).state_dict(), path)


@pytest.mark.slow
@pytest.mark.parametrize("page", WITH_COMMANDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_commands_of_a_page_run(page, page_dir):
    commands = doc_commands(page.read_text())
    for command in commands:
        if any(command.startswith(prefix) for prefix in SKIPPED):
            continue
        args = shlex.split(command)[1:]
        if "--device" in args and args[args.index("--device") + 1] == "cuda" and not torch.cuda.is_available():
            continue  # the CUDA forms are run on a GPU machine (scripts/gpu-check.sh), not here
        ensure_run(args)
        inception_weights_where_named(args)
        start = time.perf_counter()
        run_cli(shrink(args))
        if os.environ.get("ACGAN_TIME_DOCS"):
            print(f"{time.perf_counter() - start:6.1f} s  {command}")


def test_every_page_with_commands_is_collected():
    """The collector finds the commands it should (a changed code-block style would silently skip them)."""
    counted = {p.name: len(doc_commands(p.read_text())) for p in PAGES}
    assert counted["README.md"] >= 6 and counted["training.md"] >= 7 and counted["evaluation.md"] >= 9
    assert doc_commands("```sh\nacgan train \\\n    --steps 2  # two\nacgan a && acgan b\nls\n```") == \
        ["acgan train      --steps 2", "acgan a", "acgan b"]


def test_reference_pages_are_current():
    import runpy
    pages = runpy.run_path(str(ROOT / "scripts" / "reference-pages.py"))  # its functions, without running main
    for name, make in (("config.md", pages["config_page"]), ("cli.md", pages["cli_page"])):
        assert (ROOT / "docs" / name).read_text() == make(), f"docs/{name} is stale: run scripts/reference-pages.py"


def test_docs_name_nothing_outside_the_project():
    """Text meant for users points only at what they have: every Markdown file it names is one of the project's,
    and no path climbs out of the repository."""
    ours = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    named = re.compile(r"[\w./-]*\w\.md\b")
    above = re.compile(r"(?<![\w.])(?:\.\./)+[\w./-]*\w")
    texts = [*PAGES, ROOT / "README.md", *(ROOT / "src").rglob("*.py"), *(ROOT / "src").rglob("*.yaml"),
             *(ROOT / "scripts").iterdir(), *OUTSIDE_THE_SITE]
    hits = []
    for p in texts:
        if p.is_file():
            text = p.read_text(errors="replace")
            hits += [f"{p.relative_to(ROOT)}: {m.group(0)}" for m in named.finditer(text)
                     if Path(m.group(0)).name not in ours]
            hits += [f"{p.relative_to(ROOT)}: {m.group(0)}" for m in above.finditer(text)  # resolved from its file
                     if not (p.parent / m.group(0)).resolve().is_relative_to(ROOT)
                     or not (p.parent / m.group(0)).resolve().exists()]
    assert not hits, hits


def heading_anchors(page: Path) -> set[str]:
    """The anchors mkdocs gives a page's headings (Python-Markdown's toc slugs; GitHub's agree for these headings)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        words = re.sub(r"[^\w\s-]", "", re.sub(r"[`*]", "", heading)).strip().lower()
        anchors.add(re.sub(r"[-\s]+", "-", words))
    return anchors


def test_links_outside_the_site_resolve():
    """Every relative link of research/ and benchmarks/ Markdown names a file of the repository, and every #anchor a
    heading of its page: what mkdocs --strict checks for docs/."""
    pages = [p for p in OUTSIDE_THE_SITE if p.suffix == ".md"]
    assert {"README.md"} <= {p.name for p in pages} and len(pages) >= 3
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.is_relative_to(ROOT) or not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and (file.suffix != ".md" or anchor not in heading_anchors(file)):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, broken


def test_named_repository_paths_exist():
    """A path under scripts/, research/ or benchmarks/ that a page, a docstring or a script names is there (a moved
    script leaves no stale mention behind)."""
    named = re.compile(r"(?<![\w./-])(?:scripts|research|benchmarks)/[\w./-]*\w")
    texts = [*PAGES, *(ROOT / "src").rglob("*.py"), *(ROOT / "src").rglob("*.yaml"), *(ROOT / "scripts").iterdir(),
             *(ROOT / "tests").glob("*.py"), *OUTSIDE_THE_SITE]
    missing = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in texts if p.is_file()
               for m in named.finditer(p.read_text(errors="replace"))  # from the root, or a link from the file
               if not (ROOT / m.group(0)).exists() and not (p.parent / m.group(0)).exists()]
    assert not missing, missing


def test_named_source_files_exist():
    """A file of ours that a docstring or comment names (`evaluation/steps/scores.py`, `docs/results/family.md`,
    `tests/test_verdict.py`) is there: from the repository's root, the package's, or the naming module's own
    package. Paths under other roots (OUT/, a user's folder, another project's src/utils/) are not ours to check."""
    pkg = ROOT / "src" / "acgan"
    ours = {"docs", "tests", "src", *(d.name for d in pkg.iterdir() if d.is_dir() and d.name != "__pycache__")}
    named = re.compile(r"(?<![\w./:-])((?:[\w.-]+/)+[\w.-]+\.(?:py|md|json|yaml|sh))(?![\w/])")
    texts = [*pkg.rglob("*.py"), *pkg.rglob("*.yaml"), *(ROOT / "tests").glob("*.py"), *(ROOT / "scripts").iterdir(),
             *OUTSIDE_THE_SITE, *(ROOT / "research").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    missing = [f"{p.relative_to(ROOT)}: {m.group(1)}" for p in texts if p.is_file()
               for m in named.finditer(p.read_text(errors="replace"))
               if m.group(1).split("/")[0] in ours and m.group(1) != "src/utils/losses.py"  # StudioGAN's
               and not any((base / m.group(1)).exists() for base in (ROOT, pkg, p.parent, p.parent.parent))]
    assert not missing, missing
