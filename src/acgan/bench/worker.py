"""One training-speed measurement in a fresh process; prints one JSON line."""
import json
import sys

if __name__ == "__main__":
    if sys.argv[1] == "preset":  # preset NAME DEVICE SECONDS MODE [KEY=VALUE ...]
        from .presets import preset_worker
        print(json.dumps(preset_worker(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[6:], sys.argv[5])))
    else:  # LOOP ARCH BATCH DEVICE PRECISION ITERS
        from .run import train_worker
        loop, arch, batch, device, precision, iters = sys.argv[1:7]
        print(json.dumps(train_worker(loop, arch, int(batch), device, precision, int(iters))))
