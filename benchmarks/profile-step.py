"""Where a training step's time goes: torch.profiler over 5 steps of our trainer (docs/benchmarks.md, "Where a CPU
step's time goes").

usage: .venv/bin/python benchmarks/profile-step.py [arch] [batch]     (default: paper-cifar 100)
"""
import sys

import torch
from torch.profiler import profile

from acgan.bench.run import matmul_peak, synthetic_data
from acgan.config import TrainConfig
from acgan.training.loop import Trainer

if {"-h", "--help"} & set(sys.argv[1:]):
    sys.exit(__doc__)
arch, batch = (sys.argv[1], int(sys.argv[2])) if len(sys.argv) > 2 else ("paper-cifar", 100)
cpu = torch.device("cpu")
print(f"matmul peak: fp32 {matmul_peak(cpu, torch.float32) / 1e9:.0f} GFLOP/s, "
      f"bf16 {matmul_peak(cpu, torch.bfloat16) / 1e9:.0f} GFLOP/s")
trainer = Trainer(TrainConfig(arch=arch, batch_size=batch, device="cpu", precision="auto", monitor_every=0),
                  synthetic_data(arch))
for _ in range(3):
    trainer.train_step()
with profile() as prof:
    for _ in range(5):
        trainer.train_step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=34))
