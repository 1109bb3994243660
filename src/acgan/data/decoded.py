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
             progress: bool = True, found: dict | None = None) -> tuple[ImageRows, torch.Tensor]:
        """`found` receives "skipped" (each file left out) and "notes" (a line on data that mixes grey and colour
        files) for the command to say where it starts."""
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
        if found is not None:
            mixed = mixed_modes(store.manifest["mode"], store.grey_files(positions), len(rows),
                                store.class_names[positions[0]])
            found.update(skipped=skipped, notes=[mixed] if mixed else [])
        return rows, torch.from_numpy(labels)


def mixed_modes(mode: str, grey: int | None, total: int, first_class: str | None = None) -> str | None:
    """What the channel rule did to data of both grey and colour files (None for data of one kind, or a store of
    an older version that did not count them)."""
    if grey is None or grey in (0, total):
        return None
    colour = total - grey
    done = (f"grey, so the data is grey (1 channel) and {_them(colour, 'colour')} converted to luma" if mode == "L"
            else f"colour, so the data is colour (3 channels) and {_them(grey, 'grey')} repeated in 3 channels")
    named = f" ('{first_class}')" if first_class else ""
    return f"the data mixes {grey:,} grey and {colour:,} colour images; the first image of its first class{named} is " \
           + done


def _them(n: int, kind: str) -> str:
    return f"the {kind} image was" if n == 1 else f"the {n:,} {kind} images were"
