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


# what must agree between a run's record and the data found when it resumes
IDENTITY_KEYS = ("class_names", "channels", "resolution")


def same_data(a: dict, b: dict) -> bool:
    return all(a.get(k) == b.get(k) for k in IDENTITY_KEYS)


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
