#!/usr/bin/env bash
# Builds reptok for aarch64 and tests it under qemu-user emulation, on an x86-64 Debian
# machine where we are root. One command; safe to run again (the Debian roots are cached).
#
#   tools/check-arm64.sh [--cpu cortex-a72|cortex-a76] [--native] [--if-cached] [--skip-full-suite]
#
# Steps (each prints one summary line with its time; logs go to .build-arm64/logs/):
#   host-tools    apt: qemu-user-static binfmt-support debootstrap; mounts binfmt_misc if needed
#                 and enables the qemu-aarch64 handler; the project's tools/setup.sh
#   arm64-root    an arm64 Debian 13 (trixie) root with swiftlang 6.0.3, libpng-dev, libjpeg-dev,
#                 pkg-config, python3-numpy, git (+ the PyPI gguf reader the tests use); built once,
#                 then reused: $REPTOK_ARM64_ROOT, default ~/.cache/reptok/arm64-root
#   cross-root    an amd64 Debian 13 root with the same swiftlang release: the cross compiler;
#                 built once: $REPTOK_CROSS_ROOT, default ~/.cache/reptok/amd64-cross-root
#   host-build    the x86-64 reference: swift build -c release --scratch-path .build-host
#   arm64-build   reptok and the test bundle for aarch64-unknown-linux-gnu, release,
#                 REPTOK_TARGET_CPU=cortex-a72 (--cpu cortex-a76 for the Pi 5's core), into
#                 .build-arm64. Compiled natively by the cross root with the arm64 root as
#                 sysroot; --native compiles inside the arm64 root under emulation instead
#                 (about ten times slower; scratch folder .build-arm64-native).
#   tests-*       KernelsTests + RuntimeTests under emulation at each instruction level:
#                 REPTOK_ISA=neondot with sdot visible (QEMU_CPU=max), neon with it hidden (QEMU_CPU=cortex-a72),
#                 and REPTOK_ISA=generic; then the rest of the suite, SupportTests, FormatsTests, ModelFileTests, QuantTests, ImageIOTests and CLITests
#                 (QEMU_CPU=max; --skip-full-suite leaves them out).
#   out-*         reptok generate / reconstruct / encode with the default model, --compute w8a32
#                 and w8a8, on aarch64 (emulated) and on the host; W8A8 and integer results must be
#                 bit-identical, float ones within 1e-5 relative L2 (PNG: identical or PSNR >= 80 dB).
#
# The repository is bind-mounted into the roots at its own path. If the host's git rewrites
# GitHub URLs to a local package mirror (url.<base>.insteadOf), that mirror is bind-mounted
# read-only at the same path and the rewrite is copied into the roots' git configuration;
# without such a rewrite the roots fetch packages from the network as usual.
#
# Environment: REPTOK_ARM64_ROOT, REPTOK_CROSS_ROOT (cache folders, outside the repository),
# REPTOK_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Exit status: 0 when every step passed, 1 otherwise (2 for usage errors).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/reptok
ARM_ROOT=${REPTOK_ARM64_ROOT:-$CACHE/arm64-root}
CROSS_ROOT=${REPTOK_CROSS_ROOT:-$CACHE/amd64-cross-root}
MIRROR=${REPTOK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
CPU=cortex-a72
NATIVE=0
IF_CACHED=0
FULL_SUITE=1
ARM_PACKAGES="swiftlang libpng-dev libjpeg-dev pkg-config python3-numpy python3-yaml python3-tqdm python3-pip git ca-certificates"
CROSS_PACKAGES="swiftlang libpng-dev libjpeg-dev pkg-config git ca-certificates"
TRIPLE=aarch64-unknown-linux-gnu
SWIFT_LIBDIR=/usr/libexec/swift/lib/swift    # Debian swiftlang's resource folder
SYSROOT=/sysroot                              # where the cross root sees the arm64 root

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --cpu) CPU=${2:?--cpu needs a value}; shift ;;
        --cpu=*) CPU=${1#--cpu=} ;;
        --native) NATIVE=1 ;;
        --if-cached) IF_CACHED=1 ;;
        --skip-full-suite) FULL_SUITE=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "check-arm64: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$CPU" in cortex-a72|cortex-a76) ;; *) echo "check-arm64: --cpu must be cortex-a72 or cortex-a76, not $CPU" >&2; exit 2 ;; esac
case "$ARM_ROOT$CROSS_ROOT" in "$REPO"/*) echo "check-arm64: the root caches must be outside the repository" >&2; exit 2 ;; esac

die() { echo "check-arm64: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot and bind mounts)"
[ "$(uname -m)" = x86_64 ] || die "runs on an x86-64 host (this one is $(uname -m))"

if [ "$IF_CACHED" = 1 ]; then
    for r in "$ARM_ROOT" $([ "$NATIVE" = 1 ] || echo "$CROSS_ROOT"); do
        if [ ! -f "$r/etc/reptok-root" ]; then
            echo "check-arm64: skipped: no cached root at $r (run tools/check-arm64.sh once to build it)"
            exit 0
        fi
    done
fi

if [ "$NATIVE" = 1 ]; then SCRATCH=.build-arm64-native; else SCRATCH=.build-arm64; fi
LOGS=$REPO/$SCRATCH/logs
OUT=$REPO/$SCRATCH/outputs

# ---------------------------------------------------------------------------------------------
# Steps (fatal/check/note/summary), Debian roots (in_root, make_root, install_gguf).
CHECK=check-arm64
# shellcheck source=tools/debian-root.sh
. "$REPO/tools/debian-root.sh"
# The cross root sees the arm64 root at $SYSROOT, read-only.
extra_mounts() {
    [ "$1" = "$CROSS_ROOT" ] || return 0
    echo " mkdir -p '$1$SYSROOT'; mount --bind '$ARM_ROOT' '$1$SYSROOT'; mount -o remount,bind,ro '$1$SYSROOT';"
}

# ---------------------------------------------------------------------------------------------
# Host tools, binfmt.
host_tools() {
    install_host_tools qemu-aarch64-static=qemu-user-static update-binfmts=binfmt-support \
        debootstrap=debootstrap unshare=util-linux
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
            || { echo "cannot mount binfmt_misc (a container without the privilege?)"; return 1; }
    fi
    if ! grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
        update-binfmts --enable qemu-aarch64 || update-binfmts --import qemu-aarch64
    fi
    grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "qemu-aarch64 binfmt handler not enabled"; return 1; }
    # F (fix binary): the kernel opens the interpreter at registration, so it works in a chroot.
    grep -qs '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "qemu-aarch64 handler lacks the F flag"; return 1; }
    PATH=/opt/swift/usr/bin:$PATH command -v swift >/dev/null || { echo "no host Swift (expected at /opt/swift/usr/bin or on PATH)"; return 1; }
    bash "$REPO/tools/setup.sh"
    note "$(qemu-aarch64-static --version | head -n 1)"
}

arm_root() {
    make_root "$ARM_ROOT" arm64 "$ARM_PACKAGES"
    install_gguf "$ARM_ROOT"
}

cross_root() { make_root "$CROSS_ROOT" amd64 "$CROSS_PACKAGES"; }

# ---------------------------------------------------------------------------------------------
# Builds.
host_build() {
    cd "$REPO"
    PATH=/opt/swift/usr/bin:$PATH nice -n 10 swift build -c release --scratch-path .build-host
    note "$(PATH=/opt/swift/usr/bin:$PATH swift --version 2>/dev/null | head -n 1 | sed 's/ *(.*//')"
}

ARM_BIN=$REPO/$SCRATCH/$TRIPLE/release
arm_build_cross() {
    # The cross root's swiftlang compiles; the arm64 root supplies headers, libraries and the
    # aarch64 Swift modules (-sdk, -resource-dir). SwiftPM's --sdk reaches clang but not swiftc,
    # which needs it too (or Glibc is looked up in the amd64 headers: "missing required module
    # 'SwiftGlibc'"). lld (shipped with swiftlang) links. The binaries look for the Swift
    # runtime where Debian's swiftlang installs it on the board. -enable-testing: the kernel tests
    # reach internal functions (`@testable import Kernels`), as `swift test -c release` allows on
    # the host; `swift build --build-tests -c release` does not turn testability on by itself.
    in_root "$CROSS_ROOT" env REPTOK_TARGET_CPU="$CPU" \
        PKG_CONFIG_SYSROOT_DIR="$SYSROOT" \
        PKG_CONFIG_LIBDIR="$SYSROOT/usr/lib/$TRIPLE_MULTIARCH/pkgconfig:$SYSROOT/usr/share/pkgconfig" \
        sh -c 'cd "$1" && shift && exec nice -n 10 swift build "$@"' sh "$REPO" \
        -c release --scratch-path "$SCRATCH" --build-tests -Xswiftc -enable-testing \
        --triple "$TRIPLE" --sdk "$SYSROOT" \
        -Xswiftc -sdk -Xswiftc "$SYSROOT" \
        -Xswiftc -resource-dir -Xswiftc "$SYSROOT$SWIFT_LIBDIR" \
        -Xswiftc -use-ld=lld \
        -Xswiftc -no-toolchain-stdlib-rpath \
        -Xlinker -rpath -Xlinker "$SWIFT_LIBDIR/linux" \
        -Xcc --sysroot="$SYSROOT"
    note "REPTOK_TARGET_CPU=$CPU, cross-compiled"
}
TRIPLE_MULTIARCH=aarch64-linux-gnu

arm_build_native() {
    in_root "$ARM_ROOT" env REPTOK_TARGET_CPU="$CPU" \
        sh -c 'cd "$1" && shift && exec nice -n 10 swift build "$@"' sh "$REPO" \
        -c release --scratch-path "$SCRATCH" --build-tests -Xswiftc -enable-testing
    note "REPTOK_TARGET_CPU=$CPU, compiled under emulation"
}

# ---------------------------------------------------------------------------------------------
# Tests under emulation. The XCTest runner takes a comma-separated list of Module.Class names.
BUNDLE=$ARM_BIN/reptokPackageTests.xctest
arm_tests() {   # arm_tests QEMU_CPU ISA|- [MODULE...]   (-: REPTOK_ISA unset; no module: every test)
    local qcpu=$1 isa=$2; shift 2
    # REPTOK_TEST_SLOWDOWN: the tests' wall-clock bounds (hostile inputs must fail fast) grow
    # by this factor, since every emulated instruction costs 10-20 times more.
    local filter="" env=(QEMU_CPU="$qcpu" REPTOK_TEST_SLOWDOWN=20)
    [ "$isa" = - ] || env+=(REPTOK_ISA="$isa")
    if [ $# -gt 0 ]; then
        filter=$(in_root "$ARM_ROOT" "$BUNDLE" --list-tests | sed -n 's,^\([A-Za-z0-9_]*\.[A-Za-z0-9_]*\)/.*,\1,p' | sort -u \
               | grep -E "^($(IFS='|'; echo "$*"))\." | paste -sd, -)
        [ -n "$filter" ] || { echo "no test classes found for $*"; return 1; }
    fi
    xctest_in_root "$ARM_ROOT" "$BUNDLE" "$filter" "${env[@]}"
}

# ---------------------------------------------------------------------------------------------
# Outputs: the same commands on the host build and on aarch64 (QEMU_CPU=max, highest level).
HOST_BIN=$REPO/.build-host/release/reptok
INPUT=$OUT/input.png
run_outputs() {   # run_outputs host|arm
    local side=$1 dir=$OUT/$1 mode
    rm -rf "$dir"; mkdir -p "$dir"
    for mode in w8a32 w8a8; do
        local cmds=(
            "generate --class 1 --seed 1 --steps 8 --compute $mode -o $dir/generate-$mode.png"
            "reconstruct $INPUT --steps 8 --seed 1 --compute $mode -o $dir/reconstruct-$mode.png"
            "encode $INPUT --compute $mode -o $dir/encode-$mode.npy")
        local c
        for c in "${cmds[@]}"; do
            echo "+ reptok $c"
            # shellcheck disable=SC2086
            if [ "$side" = host ]; then (cd "$REPO" && "$HOST_BIN" $c --quiet)
            else in_root "$ARM_ROOT" env QEMU_CPU=max sh -c 'cd "$1" && shift && exec "$@"' sh "$REPO" "$ARM_BIN/reptok" $c --quiet; fi
        done
    done
}
host_outputs() {
    mkdir -p "$OUT"
    # The input image: one the host build generates (lossless PNG, so both sides read the same pixels).
    (cd "$REPO" && "$HOST_BIN" generate --class 3 --seed 7 --steps 8 --quiet -o "$INPUT")
    run_outputs host
}
arm_outputs() { run_outputs arm; }

compare() {   # compare NAME: host versus arm
    local name=$1
    python3 - "$OUT/host/$name" "$OUT/arm/$name" "$REPO/Tests/Fixtures/images/pngread.py" <<'PY' | tee -a "$NOTE"
import math, subprocess, sys, tempfile, os
import numpy as np
a_path, b_path, pngread = sys.argv[1:4]
exact = "w8a8" in os.path.basename(a_path)
def load(path):
    if path.endswith(".npy"):
        return np.load(path)
    with tempfile.NamedTemporaryFile(suffix=".rgb") as t:
        subprocess.run([sys.executable, pngread, path, t.name], check=True, stdout=subprocess.DEVNULL)
        return np.frombuffer(open(t.name, "rb").read(), dtype=np.uint8)
a, b = load(a_path), load(b_path)
if a.shape != b.shape or a.dtype != b.dtype:
    print(f"shape/type differ: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"); sys.exit(1)
if np.array_equal(a, b):
    print("bit-identical"); sys.exit(0)
if a.dtype == np.uint8:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    psnr = 10 * math.log10(255.0 ** 2 / mse)
    diff = int(np.count_nonzero(a != b))
    ok = not exact and psnr >= 80
    print(f"{'' if ok else 'NOT '}within bound: PSNR {psnr:.1f} dB, {diff} of {a.size} values differ (need {'identical' if exact else '>= 80 dB'})")
else:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    rel = float(np.linalg.norm(a64 - b64) / max(np.linalg.norm(a64), 1e-30))
    ok = not exact and rel <= 1e-5
    print(f"{'' if ok else 'NOT '}within bound: relative L2 {rel:.2e} (need {'identical' if exact else '<= 1e-5'})")
sys.exit(0 if ok else 1)
PY
}

# ---------------------------------------------------------------------------------------------
# The steps. (One function, called on the last line: bash has read all of it before it starts,
# so editing this file while a check runs cannot change the running check.)
main() {
    cd "$REPO"
    echo "check-arm64: $REPO, target CPU $CPU, $([ "$NATIVE" = 1 ] && echo "emulated compiler" || echo "cross compiler"), logs in $LOGS"
    fatal host-tools host_tools
    find_rewrites
    fatal arm64-root arm_root
    [ "$NATIVE" = 1 ] || fatal cross-root cross_root
    fatal host-build host_build
    if [ "$NATIVE" = 1 ]; then fatal arm64-build arm_build_native; else fatal arm64-build arm_build_cross; fi

    check tests-neon-sdot arm_tests max neondot KernelsTests RuntimeTests
    check tests-neon-no-sdot arm_tests cortex-a72 neon KernelsTests RuntimeTests
    check tests-generic arm_tests max generic KernelsTests RuntimeTests
    # The rest of the suite (the kernel and runtime tests have run three times above).
    if [ "$FULL_SUITE" = 1 ]; then check tests-quant-cli arm_tests max - SupportTests FormatsTests ModelFileTests QuantTests ImageIOTests CLITests; fi

    fatal out-host host_outputs
    check out-arm64 arm_outputs
    local mode
    for mode in w8a32 w8a8; do
        check "out-generate-$mode" compare "generate-$mode.png"
        check "out-reconstruct-$mode" compare "reconstruct-$mode.png"
        check "out-encode-$mode" compare "encode-$mode.npy"
    done
    summary
    [ ${#FAILED[@]} -eq 0 ]
}
main; exit $?
