"""Where acgan keeps what it can rebuild: one cache folder, $ACGAN_CACHE or ~/.cache/acgan."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("ACGAN_CACHE", Path.home() / ".cache" / "acgan"))
