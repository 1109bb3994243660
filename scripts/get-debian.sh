#!/usr/bin/env bash
# The Debian packages named (those missing), in one apt run when we are root on Debian: dataset-fashion-mnist for
# `make demo` and the tests, chromium for the report's browser test. Elsewhere it names what is missing: get-data.sh
# then downloads Fashion-MNIST, and the browser test is skipped.
set -euo pipefail
missing=()
for p in "$@"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || command -v "$p" >/dev/null \
    || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || echo "not installed: ${missing[*]}"
else
  echo "not installed (root on Debian installs them): ${missing[*]}"
fi
