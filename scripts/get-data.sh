#!/usr/bin/env bash
# Make sure Fashion-MNIST is present: Debian's dataset-fashion-mnist when we are root on Debian, else torchvision's
# download into data/ (needs the internet).
set -euo pipefail
deb=/usr/share/datasets/fashion-mnist
if [ -f "$deb/train-images-idx3-ubyte.gz" ]; then
  echo "fashion-mnist: $deb"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "fashion-mnist: installing Debian package dataset-fashion-mnist"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  [ -f "$deb/train-images-idx3-ubyte.gz" ] && exit 0
fi
echo "fashion-mnist: downloading with torchvision into data/"
"${PYTHON:-.venv/bin/python}" -c "from acgan.data.idx import download_torchvision; download_torchvision('fashion-mnist', 'data')"
