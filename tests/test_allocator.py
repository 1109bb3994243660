import os
import subprocess
import sys

import pytest

from acgan.allocator import keep_freed_memory

# A few demo-sized training steps in a fresh process; prints the minor page faults per step (memory the kernel had to
# hand over anew), after a warm-up, with or without the allocator settings the acgan command makes.
STEPS = """
import resource, sys
from acgan.allocator import keep_freed_memory
if sys.argv[1] == "kept":
    keep_freed_memory()
from acgan.bench.run import synthetic_data
from acgan.config import assemble
from acgan.training.loop import Trainer
cfg = assemble("demo", overrides=["monitor_every=0"])
trainer = Trainer(cfg, synthetic_data("dcgan-small", n=256, shape=(1, 28)), distributed=False)
for _ in range(5):
    trainer.train_step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    trainer.train_step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def faults_per_step(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "ACGAN_SYSTEM_MALLOC"}
    out = subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_kept_memory_stops_a_steps_page_faults():
    plain, kept = faults_per_step("plain"), faults_per_step("kept")
    # glibc's defaults hand each step's few-MB blocks back and fault them in again (thousands of pages a step)
    assert plain > 500 and kept < plain / 10, (plain, kept)


def test_the_users_own_allocator_settings_are_left_alone(monkeypatch):
    for name, value in (("ACGAN_SYSTEM_MALLOC", "1"), ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=1000000"),
                        ("LD_PRELOAD", "/usr/lib/libjemalloc.so.2"), ("MALLOC_MMAP_THRESHOLD_", "1000000")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            assert keep_freed_memory() in ("allocator settings left as the environment sets them",
                                           "not glibc: allocator unchanged")
