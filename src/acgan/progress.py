"""Progress on stderr: tqdm's live bar on a terminal; elsewhere (nohup, Slurm, CI, `2> file`) a plain line every
`interval` seconds and every 10% of the work, so logs stay readable and small."""
from __future__ import annotations

import sys
import time

from tqdm import tqdm


def duration(seconds: float) -> str:
    seconds = int(seconds)
    h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def human_size(n: float) -> str:
    """Bytes for a person: 512 B, 1.5 KB, 938.0 MB, 2.1 GB (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


class PlainProgress:
    """The part of tqdm's interface we use, as plain lines: "train: 1200/4000 (30%), 4.1 step/s, ETA 11m20s, ..."."""

    def __init__(self, total: int, initial: int = 0, desc: str = "", unit: str = "it", interval: float = 30.0,
                 file=None):
        self.total, self.n, self.desc, self.unit, self.interval = total, initial, desc, unit, interval
        self.file = file or sys.stderr
        self.start_n, self.start = initial, time.monotonic()
        self.last_time, self.last_tenth = self.start, self._tenth(initial)
        self.postfix = ""

    def _tenth(self, n: int) -> int:
        return 10 * n // self.total if self.total else 0

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last_time >= self.interval or self._tenth(self.n) > self.last_tenth or self.n == self.total:
            self.print(now)

    def print(self, now: float | None = None) -> None:
        now = now or time.monotonic()
        rate = (self.n - self.start_n) / max(now - self.start, 1e-9)
        left = (self.total - self.n) / rate if rate > 0 and self.total else 0
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        line = (f"{self.desc}: {self.n}/{self.total}{pct}, {rate:.1f} {self.unit}/s, "
                f"elapsed {duration(now - self.start)}, ETA {duration(left)}{self.postfix}")
        print(line, file=self.file, flush=True)
        self.last_time, self.last_tenth = now, self._tenth(self.n)

    def set_postfix(self, **values) -> None:
        self.postfix = "".join(f", {k} {v}" for k, v in values.items())

    def close(self) -> None:
        pass

    @staticmethod
    def write(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)


class _Silent(PlainProgress):
    def update(self, n: int = 1) -> None:
        self.n += n


def progress(total: int, desc: str, unit: str = "it", initial: int = 0, enabled: bool = True):
    """A live bar when stderr is a terminal, plain periodic lines when it is not, nothing when not `enabled`."""
    if not enabled:
        return _Silent(total, initial, desc, unit)
    if sys.stderr.isatty():
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True)
    return PlainProgress(total, initial, desc, unit)


def echo(msg: str) -> None:
    """Print a message without tearing a live bar."""
    tqdm.write(msg, file=sys.stderr) if sys.stderr.isatty() else print(msg, file=sys.stderr, flush=True)
