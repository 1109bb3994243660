import subprocess
import sys
from pathlib import Path

import pytest

from acgan.allocator import keep_freed_memory

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench-allocator.py"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_kept_memory_stops_a_steps_page_faults():
    # demo steps in fresh processes, with glibc's defaults (ACGAN_SYSTEM_MALLOC=1) and with what Trainer sets
    out = subprocess.run([sys.executable, str(BENCH), "1", "10"], capture_output=True, text=True, check=True).stdout
    faults = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}
    plain, kept = faults["system"], faults["kept"]
    # glibc's defaults hand each step's few-MB blocks back and fault them in again (thousands of pages a step)
    assert plain > 500 and kept < plain / 10, (plain, kept)


def test_the_users_own_allocator_settings_are_left_alone(monkeypatch):
    for name, value in (("ACGAN_SYSTEM_MALLOC", "1"), ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1000000"),
                        ("LD_PRELOAD", "/usr/lib/libjemalloc.so.2"), ("MALLOC_MMAP_THRESHOLD_", "1000000")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            assert keep_freed_memory() in ("allocator settings left as the environment sets them",
                                           "not glibc: allocator unchanged")
