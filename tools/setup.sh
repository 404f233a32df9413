#!/usr/bin/env bash
# One-time set-up of a fresh Debian machine that already has Swift (at /opt/swift or on PATH).
# Installs the C libraries the image reader links against and the Python packages
# the tests use as independent checkers (the `gguf` reader and numpy).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_install() {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ! pkg-config --exists libpng libjpeg 2>/dev/null; then
    apt_install libpng-dev libjpeg-dev pkg-config
fi
# objdump, which tools/check-lane-loops.sh (run by CI) reads the built binary with.
if ! command -v objdump >/dev/null; then
    apt_install binutils
fi
if ! python3 -c 'import gguf, numpy' 2>/dev/null; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt_install python3 python3-pip
    fi
    # Debian's own python3 refuses system-wide pip installs (PEP 668, "externally managed"):
    # there the two packages go to the user's site-packages (~/.local), which the tests'
    # python3 reads and which no Debian package owns.
    python3 -m pip install --quiet --disable-pip-version-check gguf numpy 2>/dev/null ||
        python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages --no-warn-script-location gguf numpy
    python3 -c 'import gguf, numpy'
fi
echo "set-up done: libpng, libjpeg, objdump, python gguf + numpy"
