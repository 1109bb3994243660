"""Labelled images in Arrow tables: a Hugging Face `datasets` dataset saved to disk (`hf`), or Parquet files (`parquet`)
with an image column and a label column (the optional extra `pip install 'acgan[hf]'`).

The image column is the dataset's Image feature (or, in Parquet, a column of {bytes, path} structs or of binary
image files); the label column its ClassLabel feature, else a column named label or labels (integers or strings).
Class names are the ClassLabel's names, else the sorted distinct labels. A DatasetDict or a folder of Parquet files
named after splits (train-*.parquet, test-*.parquet) gives each split; otherwise every split is the one table.
Images are read from the tables by row, in parallel, into a prepared store like any folder of files."""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from ..errors import UserError
from .decode import BadImage, open_image
from .decoded import DecodedData
from .registry import register

LABEL_NAMES = ("label", "labels")


def _need(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise UserError(f"reading this data needs the optional package '{module}': pip install 'acgan[hf]'") \
            from None


def _hf_table(data_dir: str, split: str):
    """(pyarrow table, its `datasets` features) of a dataset saved with save_to_disk."""
    datasets = _need("datasets")
    if not Path(data_dir).exists():
        raise UserError(f"no dataset at {data_dir}: pass --data-dir the folder that Dataset.save_to_disk wrote")
    try:
        ds = datasets.load_from_disk(data_dir)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(f"{data_dir} is not a saved `datasets` dataset ({str(e).splitlines()[0][:80]})") from None
    if isinstance(ds, datasets.DatasetDict):
        ds = ds[split] if split in ds else ds[next(iter(ds))]
    return ds.data.table, ds.features


def _parquet_files(data_dir: str, split: str) -> list[Path]:
    root = Path(data_dir)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise UserError(f"no Parquet data at {data_dir}: pass --data-dir a .parquet file or a folder of them")
    every = sorted(root.rglob("*.parquet"))
    if not every:
        raise UserError(f"{data_dir} holds no .parquet files")
    named = [p for p in every if p.name.startswith(f"{split}-") or p.parent.name == split]
    return named or every


def _parquet_table(data_dir: str, split: str):
    """(a pyarrow dataset over the split's files, the `datasets` features recorded in their metadata or None)."""
    pyarrow = _need("pyarrow")
    import pyarrow.dataset as pads
    files = _parquet_files(data_dir, split)
    try:
        dataset = pads.dataset([str(f) for f in files], format="parquet")
    except pyarrow.ArrowException as e:  # not Parquet, or damaged: pyarrow names the file
        raise UserError(f"cannot read the Parquet data in {data_dir}: {str(e).splitlines()[0][:200]}") from None
    meta = (dataset.schema.metadata or {}).get(b"huggingface")
    features = json.loads(meta).get("info", {}).get("features") if meta else None
    return dataset, features


class _Columns:
    """Which columns hold the images and the labels, and the class names, of one table."""

    def __init__(self, schema, features, where: str):
        names = schema.names
        feats = features or {}

        def kind(name):
            f = feats.get(name)
            return (f.get("_type") if isinstance(f, dict) else type(f).__name__) if f is not None else None
        self.image = next((n for n in names if kind(n) == "Image"), None) or next(
            (n for n in names if str(schema.field(n).type).startswith(("binary", "large_binary", "struct<bytes"))),
            None)
        self.label = next((n for n in names if kind(n) == "ClassLabel"), None) or next(
            (n for n in names if n in LABEL_NAMES), None)
        if self.image is None or self.label is None:
            raise UserError(f"{where} needs an image column and a label column (found {', '.join(names)})")
        f = feats.get(self.label)
        self.class_names = list(f["names"] if isinstance(f, dict) else f.names) if kind(self.label) == "ClassLabel" \
            else None


def _labels_and_names(labels: np.ndarray, names: list[str] | None) -> tuple[np.ndarray, list[str]]:
    if names is not None:
        return labels.astype(np.int64), names
    distinct = sorted(set(labels.tolist()), key=lambda v: (not isinstance(v, str), v))
    index = {v: i for i, v in enumerate(distinct)}
    return np.array([index[v] for v in labels.tolist()], dtype=np.int64), [str(v) for v in distinct]


def _cell_bytes(cell, where: str) -> bytes:
    if isinstance(cell, dict):
        if cell.get("bytes"):
            return cell["bytes"]
        if cell.get("path"):
            return Path(cell["path"]).read_bytes()
        raise BadImage("an image cell with neither bytes nor a path")
    if isinstance(cell, (bytes, bytearray)):
        return bytes(cell)
    raise BadImage(f"an image cell of type {type(cell).__name__} in {where}")


class TableReader:
    """read(row) and many(rows) -> image bytes, over a table opened in this process."""

    def __init__(self, spec_name: str, data_dir: str, split: str):
        from .registry import DATASETS
        self.spec, self.data_dir, self.split = DATASETS[spec_name], data_dir, split
        self.table, self.columns = self.spec.table(data_dir, split)

    def many(self, rows) -> list[bytes]:
        cells = self.table.take(np.asarray(rows, dtype=np.int64)).column(self.columns.image).to_pylist()
        return [_cell_bytes(c, self.data_dir) for c in cells]

    def __call__(self, row) -> bytes:
        return self.many([int(row)])[0]


@functools.lru_cache(maxsize=8)
def _index(spec_name: str, data_dir: str, split: str, stamp: tuple):
    """(labels [rows] as class positions, class names) of a table, read once per table state."""
    from .registry import DATASETS
    table, columns = DATASETS[spec_name].table(data_dir, split)
    raw = table.to_table(columns=[columns.label]) if hasattr(table, "to_table") else table.select([columns.label])
    return _labels_and_names(np.asarray(raw.column(0).to_pylist(), dtype=object), columns.class_names)


class TableData(DecodedData):
    def table(self, data_dir: str, split: str):
        raise NotImplementedError

    def _files(self, data_dir: str, split: str) -> list[Path]:
        raise NotImplementedError

    def _stamp(self, data_dir: str, split: str) -> tuple:
        return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in self._files(data_dir, split))

    def _index(self, data_dir, split):
        return _index(self.name, str(data_dir), split, self._stamp(data_dir, split))

    def class_names(self, data_dir, split):
        return self._index(data_dir, split)[1]

    def split_identity(self, data_dir, split):
        return repr([str(f) for f in self._files(data_dir, split)]) + (f" {split}" if self.name == "hf" else "")

    def fingerprint(self, data_dir, split):
        return hashlib.sha256(repr(self._stamp(data_dir, split)).encode()).hexdigest()

    def items(self, data_dir, split, classes):
        labels = self._index(data_dir, split)[0]
        return [(int(row), pos) for pos, c in enumerate(classes) for row in np.flatnonzero(labels == c)]

    def first_image(self, data_dir, split, keep):
        labels, names = self._index(data_dir, split)
        rows = np.flatnonzero(labels == keep[0])
        if not len(rows):
            raise UserError(f"class '{names[keep[0]]}' of {data_dir} has no images")
        read = TableReader(self.name, str(data_dir), split)
        for row in rows[:100]:
            try:
                return open_image(read(row))
            except BadImage:
                continue
        raise UserError(f"no usable image in the first rows of class '{names[keep[0]]}' of {data_dir}")

    def reader_factory(self, data_dir, split):
        return functools.partial(TableReader, self.name, str(data_dir), split)


class HFData(TableData):
    name = "hf"
    summary = "a Hugging Face `datasets` dataset saved with save_to_disk (image and label columns; pip extra [hf])"

    def table(self, data_dir, split):
        table, features = _hf_table(data_dir, split)
        cols = _Columns(table.schema, {k: v for k, v in features.items()}, data_dir)
        return table, cols

    def _files(self, data_dir, split):
        root = Path(data_dir)
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []

    def source_identity(self, data_dir):
        return str(Path(data_dir).resolve())


class ParquetData(TableData):
    name = "parquet"
    summary = "Parquet files with an image and a label column, a file or a folder of them (pip extra [hf])"

    def table(self, data_dir, split):
        dataset, features = _parquet_table(data_dir, split)
        return dataset, _Columns(dataset.schema, features, data_dir)

    def _files(self, data_dir, split):
        return _parquet_files(data_dir, split)


register(HFData())
register(ParquetData())
