"""The run directory and everything it holds: config.json, log.txt, stats.jsonl, samples/, checkpoints/, and for
class-split runs one sub-run per group (group-000/, ...). Nothing else knows these names."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
from pathlib import Path

from ..config import TrainConfig, from_dict
from ..errors import UserError
from ..grids import labelled_grid
from ..io import atomic_save_image, atomic_write_json, atomic_write_text, guard_disk
from ..pixels import to_zero_one
from ..progress import echo
from .checkpoints import DamagedCheckpoint, list_checkpoints, load_checkpoint, save_checkpoint
from .record import RunRecord


class RunDir:
    def __init__(self, path):
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.stats_path = self.path / "stats.jsonl"
        self.samples = self.path / "samples"
        self.eval_dir = self.path / "eval"
        self.metrics_path = self.path / "metrics.json"
        self.tensorboard_dir = self.path / "tensorboard"
        self.sink = None  # TensorBoardSink while a run trains with tensorboard on

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # --- config.json ---
    def exists(self) -> bool:
        return self.config_path.is_file()

    def read(self) -> RunRecord:
        if not self.exists():
            raise UserError(f"{self.path} is not an acgan run directory (no config.json): pass the --out folder of "
                            "an `acgan train` run")
        try:
            raw = json.loads(self.config_path.read_text())
            if isinstance(raw, dict) and "acgan_export" in raw:  # exported.py's marker: a model to share
                raise UserError(f"{self.path} is an exported generator, not a run: `acgan sample`, `explore` and "
                                "`evaluate` take it; training further and `check` need the run it came from")
            return RunRecord.from_json(raw)
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UserError(f"{self.config_path} is not a valid run record (damaged or cut short): put back a copy "
                            "of it if you have one; without it, the checkpoints cannot be resumed or sampled, so "
                            f"train again with --out {self.path} --force") from None

    def write(self, record: RunRecord) -> None:
        atomic_write_json(self.config_path, record.to_json())

    def train_config(self, record: RunRecord | None = None) -> TrainConfig:
        return from_dict((record or self.read()).config, where=str(self.config_path))

    def is_split(self) -> bool:
        return self.read().split is not None

    @staticmethod
    def group_name(g: int) -> str:
        """The sub-run folder of group g of a class-split run."""
        return f"group-{g:03d}"

    def group(self, g: int) -> "RunDir":
        return RunDir(self.path / self.group_name(g))

    def groups(self) -> list["RunDir"]:
        return [RunDir(self.path / d) for d in self.read().split["dirs"]]

    def _occupied(self) -> bool:
        # a folder holding only .lock is what a start that failed before writing anything left behind
        out = self.path
        return out.exists() and not (out.is_dir() and all(p.name == ".lock" for p in out.iterdir()))

    def check_replaceable(self, force: bool) -> None:
        """Refuse, touching nothing, what prepare() would refuse: an existing folder without `force`, and with it
        anything but an acgan run or an empty folder."""
        out = self.path
        if self._occupied():
            if not force:
                raise UserError(f"{out} already exists: pass --resume {out} to continue it, --force to replace it, "
                                "or choose another --out")
            if not self.exists():
                raise UserError(f"--force will only replace an acgan run directory, and {out} is not one: "
                                "choose another --out")

    def prepare(self, force: bool) -> None:
        """An empty folder for a new run: check_replaceable(), then the old run (with `force`) deleted."""
        out = self.path
        self.check_unlocked()  # again: a process may have taken the folder since the caller's first check
        self.check_replaceable(force)
        if self._occupied():
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)

    # --- one writer at a time ---
    def lock(self) -> None:
        """Hold the run's advisory lock (run/.lock) while this process trains it; a second writer gets one line.
        The OS drops the lock when the holder dies, so a killed run never blocks the next one."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._refuse_locked(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        fd = getattr(self, "_lock_fd", None)
        if fd is not None:
            os.close(fd)  # closing releases the lock
            self._lock_fd = None

    def _refuse_locked(self, fd: int) -> None:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise UserError(f"{self.path} is being trained by {holder}: wait for it to finish or stop it "
                        "(SIGTERM saves a checkpoint), then --resume") from None

    def check_unlocked(self) -> None:
        """Refuse (one line) when a live process trains this run. It only tries the lock, read-only: a command
        that goes on to refuse leaves the run directory as it was, .lock included."""
        try:
            fd = os.open(self.path / ".lock", os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._refuse_locked(fd)
        os.close(fd)  # releases the lock just taken

    # --- what `acgan evaluate` writes ---
    def figure(self, name: str) -> Path:
        """eval/<name>.png: a figure or image grid of the evaluation."""
        return self.eval_dir / f"{name}.png"

    def class_strip(self, c: int) -> Path:
        """eval/class-NNN.png: a strip of class c's samples, for the report's per-class table."""
        return self.eval_dir / f"class-{c:03d}.png"

    # --- checkpoints ---
    def checkpoints(self) -> list[tuple[int, Path]]:
        return list_checkpoints(self.path / "checkpoints")

    def last_step(self) -> int:
        """The step of the newest checkpoint; 0 without one."""
        found = self.checkpoints()
        return found[-1][0] if found else 0

    def load_checkpoint(self, step: int | None = None, log=echo) -> tuple[dict, Path] | tuple[None, None]:
        """(state, path) of the newest checkpoint that loads, or of the one at `step`; (None, None) when there is
        none. A damaged newest checkpoint is renamed aside (.damaged, never deleted), said in one line through
        `log`, and the one before it is used."""
        found = dict(self.checkpoints())
        if step is not None:
            if step not in found:
                raise UserError(f"{self.path} has no checkpoint at step {step}; it has {sorted(found)}")
            return load_checkpoint(found[step]), found[step]
        for s in sorted(found, reverse=True):
            try:
                return load_checkpoint(found[s]), found[s]
            except DamagedCheckpoint as e:
                aside = found[s].with_name(found[s].name + ".damaged")
                os.replace(found[s], aside)
                log(f"warning: skipped checkpoint {found[s].name}: {e.reason}; kept aside as {aside.name}")
        return None, None

    def save_checkpoint(self, state: dict, step: int, keep: int) -> Path:
        return save_checkpoint(self.path / "checkpoints", state, step, keep)

    # --- samples, stats, log ---
    def save_grid(self, images, step: int, nrow: int, rows: list[str] | None = None) -> None:
        """samples/step-NNNNNNN.png and latest.png (and TensorBoard's), each row named by `rows`."""
        for name in (f"step-{step:07d}.png", "latest.png"):
            atomic_save_image(images, self.samples / name, nrow=nrow, rows=rows)
        if self.sink is not None:
            self.sink.grid(labelled_grid(to_zero_one(images.cpu()), nrow, rows), step)

    @property
    def latest_grid(self) -> Path:
        return self.samples / "latest.png"

    def append_stats(self, row: dict) -> None:
        with guard_disk(self.stats_path), open(self.stats_path, "a") as f:  # a torn line is dropped on resume
            f.write(json.dumps(row) + "\n")
        if self.sink is not None:
            self.sink.row(row)

    def open_tensorboard(self, class_names: list[str], start_step: int, config: dict) -> bool:
        """Mirror stats rows and grids into TensorBoard event files under tensorboard/ (False: not installed)."""
        from .tensorboard import TensorBoardSink, available
        if not available():
            return False
        self.sink = TensorBoardSink(self.tensorboard_dir, class_names, start_step, config)
        return True

    def close_tensorboard(self) -> None:
        if self.sink is not None:
            sink, self.sink = self.sink, None
            try:
                sink.close()
            except OSError:  # a full disk is reported by the write that met it first
                pass

    def read_stats(self) -> list[dict]:
        if not self.stats_path.exists():
            return []
        return [json.loads(line) for line in self.stats_path.read_text().splitlines() if line.strip()]

    def truncate_stats(self, last_step: int) -> None:
        """Drop stats lines written after the checkpoint we resume from (a crash can leave them, half-written)."""
        if not self.stats_path.exists():
            return
        kept = []
        for line in self.stats_path.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= last_step:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
        atomic_write_text(self.stats_path, "".join(k + "\n" for k in kept))

    def remove_stale_temp_files(self) -> None:
        """Half-written temp files a killed run left behind (the files they were replacing are intact)."""
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def last_start(self) -> str | None:
        """What the newest start (or resume) of training said of itself in log.txt: data, sizes, device,
        precision, steps; None when the log has no such line."""
        try:
            lines = (self.path / "log.txt").read_text(errors="replace").splitlines()
        except OSError:
            return None
        starts = [line.split(" start: ", 1)[1] for line in lines if " start: " in line]
        return starts[-1] if starts else None

    def logger(self, echo=None):
        """log(msg): a timestamped line in log.txt, and `echo(msg)` when given (progress-bar-safe printing)."""
        def log(msg: str) -> None:
            with guard_disk(self.path / "log.txt"), open(self.path / "log.txt", "a") as f:
                f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")
            if echo is not None:
                echo(msg)
        return log
