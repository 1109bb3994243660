"""Preparing a store: every image decoded once, by every core, straight into its row of the store's file.

The images are cut into chunks of rows; worker processes decode a chunk each (data/decode.py), write it with one
pwrite at its offset and report its CRC-32 and each row's, the files they could not use and which were grey; a
small file per finished chunk records that. So a prepare killed at any moment resumes from its finished chunks, and
the build folder is renamed into place only once it is whole: a store is complete or absent. One process prepares a
given store at a time (an advisory lock beside it); another that wants it waits, then uses it. The whole file is
allocated first, so a disk without room for it is refused at once, and a disk that fills anyway leaves no build
folder behind.
"""
from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import shutil
import time
import zlib
from pathlib import Path

import numpy as np

from ...errors import UserError
from ...io import atomic_write_json, guard_disk
from ...progress import echo, human_size, progress
from ..decode import DRAFT_RULE, RULE, BadImage, decode_with_kind
from .files import FORMAT, ROW_CRCS, Store

CHUNK_BYTES = 2 << 20  # rows per chunk: about this many bytes, between 64 and 1024 rows (small: even work)


def chunk_rows(row_bytes: int) -> int:
    return int(min(1024, max(64, CHUNK_BYTES // row_bytes)))


def worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# --- the worker side (module-level state, set once per worker process) ---
_job: dict = {}


def _start_worker(reader_factory, images_path: str, mode: str, size: int, draft: bool, row_bytes: int) -> None:
    _job.update(read=reader_factory(), fd=os.open(images_path, os.O_WRONLY), mode=mode, size=size, draft=draft,
                row_bytes=row_bytes)


def _decode_chunk(task: tuple) -> tuple[int, int, list, list, str]:
    """(chunk, CRC-32 of its rows, [(file, why) it could not use], each row's CRC-32, '1' for each row whose file
    is grey and '0' for the others) after writing its rows at their offset."""
    chunk, first_row, keys = task
    # one buffer per worker, reused: a fresh 3 MB array per chunk costs more in page faults than in decoding
    if _job.get("buffer") is None or len(_job["buffer"]) < len(keys):
        _job["buffer"] = np.empty((len(keys), _job["row_bytes"]), dtype=np.uint8)
    rows = _job["buffer"][:len(keys)]
    bad, read, grey = [], _job["read"], ["0"] * len(keys)
    try:
        blobs = read.many(keys)
    except OSError:  # one unreadable file among them: read one at a time to say which
        blobs = [None] * len(keys)
    for i, key in enumerate(keys):
        try:
            data = blobs[i] if blobs[i] is not None else read(key)
            pixels, is_grey = decode_with_kind(data, _job["mode"], _job["size"], _job["draft"])
            rows[i], grey[i] = pixels.reshape(-1), "01"[is_grey]
            continue
        except BadImage as e:
            bad.append((str(key), str(e)))
        except OSError as e:  # a file that vanished or cannot be read
            bad.append((str(key), f"cannot be read ({e.strerror or type(e).__name__})"))
        rows[i] = 0  # an unusable file's row is black
    data = memoryview(rows).cast("B")
    done, offset = 0, first_row * _job["row_bytes"]
    while done < len(data):
        done += os.pwrite(_job["fd"], data[done:], offset + done)
    return chunk, zlib.crc32(data), bad, [zlib.crc32(row) for row in rows], "".join(grey)


def _stop_worker() -> None:
    if "fd" in _job:
        os.close(_job.pop("fd"))
    _job.pop("buffer", None)


def build_store(target: Path, plan: dict, keys: list, labels: list[int], reader_factory, *, workers: int | None = None,
          log=echo, show_progress: bool = True, quiet_below: int = 5000) -> Store:
    """Decode `keys` (read by `reader_factory()`'s callable) into the store at `target`, resuming a build folder
    left by an interrupted prepare of the same plan; `plan` is everything the manifest says of the store. A prepare
    of fewer than `quiet_below` images (a second or two) says nothing."""
    target = Path(target)
    build_dir = target.with_name(target.name + ".build")
    c, r = plan["channels"], plan["resolution"]
    row_bytes, n = c * r * r, len(keys)
    per_chunk = chunk_rows(row_bytes)
    chunks = [(i, start, keys[start:start + per_chunk]) for i, start in enumerate(range(0, n, per_chunk))]
    images = build_dir / "images.u8"
    items = hashlib.sha256("\n".join(f"{k}\t{lab}" for k, lab in zip(keys, labels)).encode()).hexdigest()
    fresh = {**plan, "rows": n, "chunk_rows": per_chunk, "items_sha256": items}
    try:
        with guard_disk(images):
            done = _resume_or_start(build_dir, images, fresh, n * row_bytes)
            todo = [t for t in chunks if t[0] not in done]
            if todo:
                quiet = n < quiet_below
                _run(todo, done, build_dir, images, reader_factory, plan, row_bytes, n, workers or worker_count(),
                     (lambda msg: None) if quiet else log, show_progress and not quiet)
            return _publish(build_dir, target, fresh, keys, labels, done, len(chunks))
    except UserError:  # the disk is full: leave nothing half-written behind
        shutil.rmtree(build_dir, ignore_errors=True)
        raise


def _resume_or_start(build_dir: Path, images: Path, plan: dict, nbytes: int) -> dict:
    """{chunk: its record} of the chunks an earlier, interrupted prepare of this plan finished."""
    try:
        same = json.loads((build_dir / "plan.json").read_text()) == plan and images.stat().st_size == nbytes
    except (OSError, ValueError):
        same = False
    if same:
        done, chunk_bytes = {}, plan["chunk_rows"] * (nbytes // max(plan["rows"], 1))
        with open(images, "rb") as f:
            for marker in sorted((build_dir / "chunks").glob("*.json")):
                try:
                    record = json.loads(marker.read_text())
                    f.seek(record["chunk"] * chunk_bytes)
                    # its rows did reach the file (a marker of an older acgan, without "grey": decoded again)
                    if zlib.crc32(f.read(chunk_bytes)) == record["crc32"] and "grey" in record:
                        done[record["chunk"]] = record
                except (OSError, ValueError, KeyError):
                    continue  # a marker torn by a crash, or rows lost with the power: decoded again
        return done
    shutil.rmtree(build_dir, ignore_errors=True)
    free = shutil.disk_usage(build_dir.parent).free
    if nbytes > free:  # said before fallocate, which may take the whole disk for a moment before it gives up
        raise UserError(f"the prepared images need {human_size(nbytes)} ({plan['rows']:,} images of "
                        f"{plan['channels']} x {plan['resolution']} x {plan['resolution']} bytes) and "
                        f"{build_dir.parent} has {human_size(free)} free: choose a smaller resolution, or set "
                        "ACGAN_CACHE to a folder on a disk with room")
    (build_dir / "chunks").mkdir(parents=True)
    fd = os.open(images, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        try:
            os.posix_fallocate(fd, 0, nbytes)  # all the room first: a disk that cannot hold it says so now
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            os.ftruncate(fd, nbytes)  # a file system without fallocate
    finally:
        os.close(fd)
    atomic_write_json(build_dir / "plan.json", plan)
    return {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _run(todo, done, build_dir, images, reader_factory, plan, row_bytes, n, workers, log, show_progress) -> None:
    left = sum(len(t[2]) for t in todo)
    log(f"preparing {plan['dataset']} ({plan['source']['identity']}, {plan['split']}): {n:,} images at "
        f"{plan['resolution']} px with {workers} process{'es' if workers > 1 else ''}"
        + (f", {n - left:,} done by an earlier prepare" if left < n else ""))
    bar = progress(left, "preparing", "img", enabled=show_progress)
    init = (reader_factory, str(images), plan["mode"], plan["resolution"], plan["draft"], row_bytes)

    def record(result):
        chunk, crc, bad, row_crcs, grey = result
        done[chunk] = {"chunk": chunk, "crc32": crc, "bad": bad, "row_crc32": row_crcs, "grey": grey}
        marker = build_dir / "chunks" / f"{chunk:07d}.json"
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(done[chunk]))  # no fsync per chunk: a resume checks each chunk's CRC instead
        os.replace(tmp, marker)

    start = time.perf_counter()
    if workers <= 1 or len(todo) == 1:
        _start_worker(*init)
        try:
            for task in todo:
                record(_decode_chunk(task))
                bar.update(len(task[2]))
        finally:
            _stop_worker()
    else:
        # fork: workers inherit the parent's imports instead of importing torch again each
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        sizes = {t[0]: len(t[2]) for t in todo}
        with ctx.Pool(min(workers, len(todo)), initializer=_start_worker, initargs=init) as pool:
            for result in pool.imap_unordered(_decode_chunk, todo):
                record(result)
                bar.update(sizes[result[0]])
    bar.close()
    log(f"prepared {left:,} images in {time.perf_counter() - start:.1f} s "
        f"({left / max(time.perf_counter() - start, 1e-9):,.0f} img/s)")


def _publish(build_dir: Path, target: Path, plan: dict, keys: list, labels: list[int], done: dict,
             n_chunks: int) -> Store:
    missing = [i for i in range(n_chunks) if i not in done]
    if missing:
        raise RuntimeError(f"chunks {missing[:5]} of {build_dir} were not decoded")
    bad = {key: why for i in range(n_chunks) for key, why in done[i]["bad"]}
    row_labels = np.array([-1 if str(k) in bad else lab for k, lab in zip(keys, labels)], dtype=np.int64)
    counts = [int((row_labels == p).sum()) for p in range(len(plan["class_names"]))]
    grey = np.frombuffer("".join(done[i]["grey"] for i in range(n_chunks)).encode(), dtype=np.uint8) == ord("1")
    grey_counts = [int((grey & (row_labels == p)).sum()) for p in range(len(plan["class_names"]))]
    skipped = [{"file": str(k), "class": plan["class_names"][lab], "reason": bad[str(k)]}
               for k, lab in zip(keys, labels) if str(k) in bad]
    manifest = {**plan, "format": FORMAT, "rule": {**RULE, **({"jpeg_draft": DRAFT_RULE} if plan["draft"] else {})},
                "counts": counts, "grey_counts": grey_counts, "skipped": skipped,
                "chunk_crc32": [done[i]["crc32"] for i in range(n_chunks)],
                "created": time.strftime("%Y-%m-%d %H:%M:%S")}
    fd = os.open(build_dir / "images.u8", os.O_RDONLY)
    try:
        os.fsync(fd)  # every row on disk before the manifest says the store is whole
    finally:
        os.close(fd)
    np.save(build_dir / "labels.npy", row_labels)
    np.save(build_dir / ROW_CRCS, np.array([c for i in range(n_chunks) for c in done[i]["row_crc32"]], dtype=np.uint32))
    atomic_write_json(build_dir / "manifest.json", manifest, indent=1)
    for name in ("plan.json",):
        (build_dir / name).unlink(missing_ok=True)
    shutil.rmtree(build_dir / "chunks", ignore_errors=True)
    fd = os.open(build_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(build_dir, target)  # the store appears whole, or not at all
    store = Store(target, manifest, row_labels)
    atomic_write_json(target / "verified.json", store._stamp())  # its CRCs are those of the rows just written
    return store
