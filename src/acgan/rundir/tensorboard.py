"""TensorBoard curves beside stats.jsonl (which stays the record): the same rows as scalars, the grids as images,
the resolved config as text. Used only when the `tensorboard` package is installed and the config allows it."""
from __future__ import annotations

import json
from pathlib import Path


def available() -> bool:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardSink:
    def __init__(self, folder: Path, class_names: list[str], start_step: int, config: dict):
        from torch.utils.tensorboard import SummaryWriter

        # a resumed run drops what a crash logged after its checkpoint, as stats.jsonl does
        self.writer = SummaryWriter(log_dir=str(folder), purge_step=start_step + 1 if start_step else None)
        self.class_names = class_names
        if not start_step:
            self.writer.add_text("config", "<pre>" + json.dumps(config, indent=1) + "</pre>", 0)

    def row(self, row: dict) -> None:
        step = row["step"]
        for key, value in row.items():
            if key == "step" or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                self.writer.add_scalar(f"train/{key}", value, step)
            elif key.startswith("class_") and isinstance(value, list):  # one curve per class
                for name, v in zip(self.class_names, value):
                    if v is not None:  # a class the collapse monitor has too few images to judge
                        self.writer.add_scalar(f"{key}/{name}", v, step)

    def grid(self, grid_01, step: int) -> None:
        """A grid image in [0, 1], [3, H, W]."""
        self.writer.add_image("samples", grid_01, step)

    def close(self) -> None:
        self.writer.close()
