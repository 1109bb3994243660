"""config.json: what a run was trained with and on, so it can be resumed, sampled and evaluated from its folder.

{"config": every TrainConfig key, "data": the data record, "split": present only for class-split runs}."""
from __future__ import annotations

from dataclasses import dataclass


def data_record(dataset: str, class_names: list[str], source_classes: list[int], channels: int, resolution: int,
                num_images: int | None = None) -> dict:
    """The one builder of config.json's "data" part; num_images is known once the images are loaded."""
    record = {"dataset": dataset, "class_names": list(class_names), "source_classes": list(source_classes),
              "num_classes": len(class_names), "channels": channels, "resolution": resolution}
    if num_images is not None:
        record["num_images"] = num_images
    return record


def same_data(a: dict, b: dict) -> bool:
    return data_difference(a, b) is None


def data_difference(run: dict, found: dict, content: bool = False) -> str | None:
    """What differs between the data a run recorded and the data found now, in words (None: nothing): the classes
    and their order, channels, resolution; with `content`, the images too: their number and content key
    ("content_key": sha256 of every row's label and pixel CRC-32, absent from runs recorded before it)."""
    old, new = run["class_names"], found["class_names"]
    if old != new:
        if sorted(old) == sorted(new):
            return "the same classes in another order"
        lacks, extra = [n for n in old if n not in new], [n for n in new if n not in old]
        return "; ".join(([f"it lacks the run's class(es) {_names(lacks)}"] if lacks else [])
                         + ([f"it has class(es) the run did not learn: {_names(extra)}"] if extra else []))
    for key, unit in (("channels", "channel(s)"), ("resolution", "px")):
        if run.get(key) != found.get(key):
            return f"its images are {found.get(key)} {unit}, the run's {run.get(key)} {unit}"
    if not content:
        return None
    if run.get("num_images") not in (None, found.get("num_images")):
        return f"{found.get('num_images'):,} images of those classes, the run learnt from {run['num_images']:,}"
    if run.get("content_key") not in (None, found.get("content_key")):
        return "the same classes and number of images, but other pixels: its content key differs"
    return None


def _names(names: list[str], shown: int = 5) -> str:
    return ", ".join(f"'{n}'" for n in names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown
                                                          else "")


@dataclass
class RunRecord:
    config: dict
    data: dict
    split: dict | None = None  # {"classes_per_model", "grouping", "groups", "dirs"}

    def to_json(self) -> dict:
        out = {"config": self.config, "data": self.data}
        if self.split is not None:
            out["split"] = self.split
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "RunRecord":
        return cls(obj["config"], obj["data"], obj.get("split"))
