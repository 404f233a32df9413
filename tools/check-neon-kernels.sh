#!/usr/bin/env bash
# Builds the AArch64 C kernels (Sources/CKernels) with the Swift toolchain's clang, links a
# scalar-reference checker (Tests/neon/check_neon.c) with Debian's aarch64 cross libc, and
# runs it under qemu-user twice: as a Cortex-A72 (Raspberry Pi 4: no sdot, the widening-
# multiply kernels) and as `max` (sdot, SHA-256 instructions: Sources/CHash). Quick (seconds); the full Swift suite under
# emulation is tools/check-arm64.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || command -v qemu-aarch64-static >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
QEMU=$(command -v qemu-aarch64 || command -v qemu-aarch64-static)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags=(--target=aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include -O2 -Wall -Werror -ISources/CKernels/include)
for f in cpu neon pack avx2 avx512 q4 quantize; do clang "${flags[@]}" -c "Sources/CKernels/$f.c" -o "$out/$f.o"; done
clang "${flags[@]}" -ISources/CHash/include -c Sources/CHash/sha256.c -o "$out/sha256.o"
clang "${flags[@]}" -c Tests/neon/check_neon.c -o "$out/check.o"
clang "${flags[@]}" -ISources/CHash/include -c Tests/neon/check_convert.c -o "$out/check_convert.o"
aarch64-linux-gnu-gcc -o "$out/check_neon" "$out"/*.o -lm
for cpu in cortex-a72 max; do
    echo "neon kernels, QEMU_CPU=$cpu:"
    log=$(QEMU_CPU=$cpu "$QEMU" -L /usr/aarch64-linux-gnu "$out/check_neon") || { echo "$log"; exit 1; }
    echo "$log"
    # the emulated CPU must expose exactly what we meant to test
    want="dot 0"; [ "$cpu" = max ] && want="dot 1"
    grep -q "$want" <<<"$log" || { echo "check-neon-kernels: QEMU_CPU=$cpu did not report '$want'"; exit 1; }
    # max has the SHA-256 instructions, so their check must have run there
    if [ "$cpu" = max ] && ! grep -q "sha2 1" <<<"$log"; then
        echo "check-neon-kernels: QEMU_CPU=max did not run the SHA-256 check"; exit 1
    fi
done
