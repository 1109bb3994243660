"""Minor page faults and time per demo step with the allocator settings acgan makes and with glibc's defaults
(ACGAN_SYSTEM_MALLOC=1), each in a fresh process, in turns (docs/benchmarks.md, "The C allocator").

Usage: python benchmarks/bench-allocator.py [ROUNDS] [STEPS]   (defaults 2 and 50; 10 warm-up steps each)
One line per process: `kept|system faults/step ms/step system-CPU-s`."""
import os
import resource
import subprocess
import sys
import time


def measure(steps: int) -> str:
    from acgan.bench.run import synthetic_data
    from acgan.config import assemble
    from acgan.training.loop import Trainer
    trainer = Trainer(assemble("demo", overrides=["monitor_every=0"]),
                      synthetic_data("dcgan-small", n=1024, shape=(1, 28)), distributed=False)
    for _ in range(10):
        trainer.train_step()
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    after, seconds = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - start
    return f"{(after.ru_minflt - before.ru_minflt) / steps:.1f} {seconds / steps * 1000:.1f} " \
           f"{after.ru_stime - before.ru_stime:.2f}"


def main(rounds: int, steps: int) -> None:
    for _ in range(rounds):
        for mode in ("system", "kept"):
            env = {k: v for k, v in os.environ.items() if k != "ACGAN_SYSTEM_MALLOC"}
            if mode == "system":
                env["ACGAN_SYSTEM_MALLOC"] = "1"
            out = subprocess.run([sys.executable, __file__, "--measure", str(steps)], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()[-3:]
            print(mode, *out, flush=True)


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):
        sys.exit(__doc__)
    if sys.argv[1:2] == ["--measure"]:
        print(measure(int(sys.argv[2])))
    else:
        args = [int(a) for a in sys.argv[1:3]]
        main(*args, *(2, 50)[len(args):])
