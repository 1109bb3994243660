"""Prepared stores: a data selection decoded once, at one resolution, kept in the cache folder (files.py), built by
every core (build.py), found again by what decides its pixels, listed and pruned here."""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

from ...errors import UserError
from ...io import exclusive
from ...progress import echo
from ..decode import DRAFT_RULE, RULE, is_grey
from .build import build_store, worker_count
from .files import DamagedStore, Store, stores_dir

__all__ = ["open_store", "list_stores", "prune_stores", "Store", "DamagedStore", "stores_dir", "worker_count"]


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _complete(family: Path) -> list[Path]:
    return sorted(d for d in family.iterdir() if d.is_dir() and (d / "manifest.json").is_file()) \
        if family.is_dir() else []


def _find(family: Path, wanted: list[str], log) -> Store | None:
    """A whole, undamaged store of this family holding every wanted class; a damaged one is removed, never used."""
    for path in _complete(family):
        try:
            if not set(wanted) <= set(json.loads((path / "manifest.json").read_text())["class_names"]):
                continue
            return Store.open(path)
        except (DamagedStore, ValueError, KeyError) as e:
            log(f"warning: the prepared data in {path} is damaged ({e}); preparing it again")
            shutil.rmtree(path, ignore_errors=True)
    return None


def open_store(spec, data_dir: str, split: str, keep: list[int], resolution: int | None, *, draft: bool = True,
               workers: int | None = None, log=echo, progress: bool = True,
               quiet_below: int = 5000) -> tuple[Store, list[int]]:
    """(the store of `spec`'s classes `keep` at `resolution` (None: the first image's size), the store positions
    of those classes in the order of `keep`): an existing store that holds them all, or one prepared now."""
    names = spec.class_names(data_dir, split)
    wanted = [names[i] for i in keep]
    first = spec.first_image(data_dir, split, keep)
    mode = "L" if is_grey(first) else "RGB"
    resolution = resolution or min(first.size)
    source = {"identity": spec.source_identity(data_dir), "fingerprint": spec.fingerprint(data_dir, split)}
    family = stores_dir() / _key(spec.name, source, spec.split_identity(data_dir, split), resolution, mode, RULE,
                                 DRAFT_RULE if draft else None)
    store = _find(family, wanted, log)
    if store is None:
        classes = sorted(keep)  # a store keeps the source's class order; any order of a subset reads from it
        target = family / _key([names[i] for i in classes])
        with exclusive(family / f"{target.name}.lock", log,
                       f"waiting for another process that prepares this data ({family.name})"):
            store = _find(family, wanted, log)  # made by the process we waited for
            if store is None:
                items = spec.items(data_dir, split, classes)
                plan = {"dataset": spec.name, "source": source, "split": split, "data_dir": str(data_dir),
                        "class_names": [names[i] for i in classes], "source_classes": classes,
                        "resolution": resolution, "channels": 1 if mode == "L" else 3, "mode": mode, "draft": draft}
                store = build_store(target, plan, [k for k, _ in items], [lab for _, lab in items],
                              spec.reader_factory(data_dir, split), workers=workers, log=log, show_progress=progress,
                              quiet_below=quiet_below)
    store.touch()
    return store, [store.class_names.index(n) for n in wanted]


def list_stores() -> list[Store]:
    """Every whole store in the cache folder (unreadable ones are left out: prune removes them)."""
    found = []
    for family in sorted(stores_dir().iterdir()) if stores_dir().is_dir() else []:
        for path in _complete(family):
            try:
                found.append(Store(path, json.loads((path / "manifest.json").read_text())))
            except (OSError, ValueError):
                continue
    return found


def is_stale(store: Store, datasets) -> str | None:
    """Why the store no longer matches its source (moved, changed, or of a data set no longer registered), or
    None while it does."""
    m = store.manifest
    spec = datasets.get(m["dataset"])
    if spec is None:
        return f"no data set '{m['dataset']}' any more"
    try:
        if spec.fingerprint(m["data_dir"], m["split"]) != m["source"]["fingerprint"]:
            return "its source changed"
    except (UserError, OSError):
        return "its source is gone"
    return None


def prune_stores(datasets, *, older_than_days: float | None = None, everything: bool = False,
                 dry_run: bool = False) -> list[tuple[Store, str, int]]:
    """Remove stores whose source changed or is gone, and with `older_than_days` those unused for longer, or with
    `everything` all of them, and leftover build folders; (store, why, bytes) of each one removed."""
    removed, now = [], time.time()
    for store in list_stores():
        unused_days = (now - (store.path / "manifest.json").stat().st_mtime) / 86400
        why = "--all" if everything else is_stale(store, datasets)
        if why is None and older_than_days is not None and unused_days > older_than_days:
            why = f"unused for {unused_days:.0f} days"
        if why:
            removed.append((store, why, store.size_bytes))
            if not dry_run:
                shutil.rmtree(store.path, ignore_errors=True)
    if not dry_run and stores_dir().is_dir():
        for family in [f for f in stores_dir().iterdir() if f.is_dir()]:
            for lock in family.glob("*.lock"):  # an interrupted prepare nobody resumed, unless one runs now
                if _unlocked(lock):
                    shutil.rmtree(family / (lock.name[:-len(".lock")] + ".build"), ignore_errors=True)
                    lock.unlink(missing_ok=True)
            if not any(family.iterdir()):
                family.rmdir()
    return removed


def _unlocked(lock: Path) -> bool:
    import fcntl
    import os
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
