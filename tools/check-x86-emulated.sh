#!/usr/bin/env bash
# The avx512, avx512vnni and avxvnni levels on a CPU that has only AVX2. Builds the package
# with RTK_EMULATE_AVX512 in its own build folder (.build-x86emu): the kernels of those levels
# are compiled with their AVX-512 and VNNI intrinsics written on AVX2
# (Sources/CKernels/x86_emulate.h), and the build reports those levels on any AVX2 CPU. First
# Tests/x86emu/check_emulation.c checks each emulated intrinsic against a scalar model of its
# instruction (under a second). Then the whole test suite runs in that build: every runtime
# test at avx512vnni (the best level it reports), every level-looping kernel test at
# avx512vnni, avx512, avxvnni, avx2, generic and amx-emulated, and the AVX-VNNI and
# AMX-transpose tests an AVX2 CPU otherwise skips.
# About 5 minutes on 2 cores (3 to build, 2 to test). Nothing to do off x86-64 or without AVX2.
# Usage: tools/check-x86-emulated.sh [swift test arguments, e.g. --filter KernelsTests]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
if [ "$(uname -m)" != x86_64 ] || ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
    echo "check-x86-emulated: this is not an x86-64 CPU with AVX2 and FMA; nothing to check here"
    exit 0
fi
scratch=.build-x86emu
mkdir -p "$scratch"
# First the emulation itself, intrinsic by intrinsic, against scalar models of the instructions.
clang -O2 -Wall -Werror -mavx2 -mfma -mf16c -DRTK_EMULATE_AVX512 -ISources/CKernels \
    -o "$scratch/check_emulation" Tests/x86emu/check_emulation.c -lm
"$scratch/check_emulation"
flags=(-c release -Xcc -DRTK_EMULATE_AVX512 --scratch-path "$scratch")
swift build "${flags[@]}" --build-tests -Xswiftc -enable-testing
# The build must report the emulated levels, or the tests below would only repeat avx2's.
version=$("$scratch/release/reptok" --version)
echo "$version"
for want in "kernels: avx512vnni" "avx512," "avxvnni" "AVX-512 and VNNI emulated on AVX2"; do
    grep -qF "$want" <<<"$version" || { echo "check-x86-emulated: the build does not report '$want'"; exit 1; }
done
env -u REPTOK_ISA swift test "${flags[@]}" --skip-build --disable-swift-testing "$@"
