#!/usr/bin/env bash
# Headless Chromium for the report's browser test: Debian's package when we are root on Debian; without it that
# test is skipped.
set -euo pipefail
if command -v chromium >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "chromium: installing Debian package chromium (for the report's browser test)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || echo "chromium: not installed"
else
  echo "chromium: not found and not root: the report's browser test will be skipped"
fi
