"""One training-speed measurement in a fresh process; prints one JSON line."""
import json
import sys

from .run import train_worker

if __name__ == "__main__":
    loop, arch, batch, device, precision, iters = sys.argv[1:7]
    print(json.dumps(train_worker(loop, arch, int(batch), device, precision, int(iters))))
