"""Data sets of image files (a folder, a zip, Arrow or Parquet tables): decoded into a prepared store on first use.

A subclass says how to list the images (items), read one (reader_factory) and recognise a changed source
(fingerprint); loading, the store, and what a file that cannot be used means are here, once."""
from __future__ import annotations

import torch

from ..errors import UserError
from ..progress import echo
from .decode import is_grey
from .registry import DataSpec
from .rows import ImageRows


class DecodedData(DataSpec):
    def first_image(self, data_dir: str, split: str, keep: list[int]):
        """The first usable image of the first kept class, header read only: it fixes channels and native size."""
        raise NotImplementedError

    def fingerprint(self, data_dir: str, split: str) -> str:
        """A hash that changes whenever an image of the split is added, removed or changed."""
        raise NotImplementedError

    def items(self, data_dir: str, split: str, classes: list[int]) -> list[tuple]:
        """(key, position in `classes`) of every image of those classes, class by class, in a fixed order."""
        raise NotImplementedError

    def split_identity(self, data_dir: str, split: str) -> str:
        """What `split` resolves to: two splits that name the same images (a folder without train/ and test/)
        share one store."""
        return split

    def reader_factory(self, data_dir: str, split: str):
        """A picklable callable that, called in any process, returns read(key) -> the image file's bytes."""
        raise NotImplementedError

    def channels(self, data_dir, split, keep):
        return 1 if is_grey(self.first_image(data_dir, split, keep)) else 3

    def native_resolution(self, data_dir, split, keep):
        return min(self.first_image(data_dir, split, keep).size)

    def load(self, data_dir, split, keep, resolution, skip_bad, draft: bool = True, log=echo,
             progress: bool = True) -> tuple[ImageRows, torch.Tensor]:
        from .store import open_store
        store, positions = open_store(self, data_dir, split, keep, resolution, draft=draft, log=log,
                                      progress=progress)
        wanted = {store.class_names[p] for p in positions}
        skipped = [s for s in store.manifest["skipped"] if s["class"] in wanted]
        if skipped and not skip_bad:
            first = skipped[0]
            more = f" and {len(skipped) - 1} more (`acgan data info` lists them)" if len(skipped) > 1 else ""
            raise UserError(f"cannot decode image '{first['file']}' in {data_dir} ({first['reason']}){more}: fix "
                            "or delete it, or pass --skip-bad-images")
        rows, labels = store.rows_of(positions)
        if not len(rows):
            raise UserError(f"no decodable images in {data_dir}")
        return rows, torch.from_numpy(labels)
