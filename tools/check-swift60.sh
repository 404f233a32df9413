#!/usr/bin/env bash
# Builds reptok and runs its whole test suite with the oldest Swift it supports: Debian 13's
# `swiftlang` (6.0.3), the toolchain a Raspberry Pi owner gets from `apt`. It runs on this
# x86-64 machine, natively, inside an amd64 Debian 13 root, so it takes minutes, not the
# hour of tools/check-arm64.sh. Newer compilers accept code that 6.0 rejects (most often an
# expression its type checker gives up on), so only a build with 6.0 itself shows it.
#
#   tools/check-swift60.sh [--if-possible] [--build-only]
#
# Steps (each prints one summary line with its time; logs go to .build-swift60/logs/):
#   host-tools   apt: debootstrap (and util-linux for unshare) if missing
#   root         an amd64 Debian 13 (trixie) root with swiftlang, libpng-dev, libjpeg-dev,
#                pkg-config, git and python3-numpy (+ the PyPI gguf reader the tests use); built
#                once, then reused: $REPTOK_CROSS_ROOT, default ~/.cache/reptok/amd64-cross-root,
#                the same root tools/check-arm64.sh cross-compiles in
#   build        swift build -c release --build-tests -Xswiftc -enable-testing, scratch folder
#                .build-swift60 (the host's .build is left alone)
#   lane-loops   tools/check-lane-loops.sh on the 6.0.3 reptok: no SIMD comparison compiled
#                lane by lane (6.0 and 6.3 slip into that form for different spellings)
#   tests        every XCTest case of the package, run by the root's XCTest (not with
#                --build-only, which stops once the package and its tests compile)
#
# --if-possible: when this machine cannot build roots at all (not root, or no private mount
# namespace, as in an unprivileged container), print why in one line and exit 0 instead of 1.
# A root that fails to build, a compile error or a failing test still exit 1.
#
# Environment: REPTOK_CROSS_ROOT (cache folder, outside the repository), REPTOK_DEBIAN_MIRROR
# (default http://deb.debian.org/debian). Exit status: 0 when every step passed, 1 otherwise,
# 2 for usage errors.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/reptok
ROOT=${REPTOK_CROSS_ROOT:-$CACHE/amd64-cross-root}
MIRROR=${REPTOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
PACKAGES="swiftlang libpng-dev libjpeg-dev pkg-config git ca-certificates python3-numpy python3-yaml python3-tqdm python3-pip"
SCRATCH=.build-swift60
IF_POSSIBLE=0
BUILD_ONLY=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --if-possible) IF_POSSIBLE=1 ;;
        --build-only) BUILD_ONLY=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "check-swift60: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$ROOT" in "$REPO"/*) echo "check-swift60: the root cache must be outside the repository" >&2; exit 2 ;; esac

# Can this machine build and enter a root at all? (Not: is the root good; that is a step.)
cannot=""
if [ "$(id -u)" -ne 0 ]; then cannot="needs root (debootstrap, chroot and bind mounts)"
elif [ "$(uname -m)" != x86_64 ]; then cannot="runs on an x86-64 host (this one is $(uname -m))"
elif ! unshare --mount --propagation private true 2>/dev/null; then cannot="cannot create a private mount namespace here (an unprivileged container?)"
fi
if [ -n "$cannot" ]; then
    if [ "$IF_POSSIBLE" = 1 ]; then echo "check-swift60: not run on this machine: $cannot"; exit 0; fi
    echo "check-swift60: $cannot" >&2; exit 1
fi

LOGS=$REPO/$SCRATCH/logs
CHECK=check-swift60
# shellcheck source=tools/debian-root.sh
. "$REPO/tools/debian-root.sh"

host_tools() {
    install_host_tools debootstrap=debootstrap unshare=util-linux
    python3 -m pip --version >/dev/null || { echo "no pip for python3 on the host (tools/setup.sh installs it)"; return 1; }
    note "debootstrap $(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || echo '?')"
}

make_swift_root() {
    make_root "$ROOT" amd64 "$PACKAGES"
    install_gguf "$ROOT"
}

build() {
    in_root "$ROOT" sh -c 'cd "$1" && shift && exec nice -n 10 swift build "$@"' sh "$REPO" \
        -c release --scratch-path "$SCRATCH" --build-tests -Xswiftc -enable-testing
    note "$(in_root "$ROOT" swift --version 2>/dev/null | head -n 1 | sed 's/ *(.*//')"
}

tests() {
    xctest_in_root "$ROOT" "$REPO/$SCRATCH/release/reptokPackageTests.xctest" ""
}

# The steps. (One function, called on the last line: bash has read all of it before it starts.)
main() {
    cd "$REPO"
    echo "check-swift60: $REPO, root $ROOT, logs in $LOGS"
    fatal host-tools host_tools
    find_rewrites
    fatal root make_swift_root
    fatal build build
    check lane-loops bash "$REPO/tools/check-lane-loops.sh" "$REPO/$SCRATCH/release/reptok"
    [ "$BUILD_ONLY" = 1 ] || check tests tests
    summary
    [ ${#FAILED[@]} -eq 0 ]
}
main; exit $?
