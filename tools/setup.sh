#!/usr/bin/env bash
# One-time set-up of a fresh Debian machine that already has Swift (at /opt/swift or on PATH).
# Installs the C libraries the image reader links against and the Python packages
# the tests use as independent checkers (the `gguf` reader and numpy).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! pkg-config --exists libpng libjpeg 2>/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libpng-dev libjpeg-dev pkg-config >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check gguf numpy
echo "set-up done: libpng, libjpeg, python gguf + numpy"
