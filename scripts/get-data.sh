#!/usr/bin/env bash
# Make sure Fashion-MNIST is present: Debian's dataset-fashion-mnist (get-debian.sh installs it as root), else
# torchvision's download into data/ (needs the internet).
set -euo pipefail
deb=/usr/share/datasets/fashion-mnist
if [ -f "$deb/train-images-idx3-ubyte.gz" ]; then
  echo "fashion-mnist: $deb"
  exit 0
fi
echo "fashion-mnist: downloading with torchvision into data/"
"${PYTHON:-.venv/bin/python}" -c "from acgan.data.idx import download_torchvision; download_torchvision('fashion-mnist', 'data')"
