#!/usr/bin/env bash
# Coverage-guided fuzzing of every file reader (libFuzzer through `swiftc -sanitize=fuzzer`, with
# AddressSanitizer and leak detection).
#
#     tools/fuzz.sh SECONDS [TARGET ...]      targets: pickle zip safetensors gguf config npy png jpeg (default: all)
#     tools/fuzz.sh 0                          build only
#
# Builds two fuzz binaries into $REPTOK_FUZZ_DIR (default .build-fuzz), both linked with the Support
# module (built first as a static library): the Formats sources with their CHash C file and
# Tests/Fuzz/FormatsHarness.swift (pickle, zip, safetensors, gguf, config) and the ImageIO sources with
# Tests/Fuzz/ImageHarness.swift and the libpng/libjpeg shim (npy, png, jpeg). Then runs each target
# for SECONDS, one per core at a time (REPTOK_FUZZ_JOBS=N sets how many), starting from the
# committed seeds in Tests/Fuzz/corpus/<target>/ (never modified; new inputs go to
# $REPTOK_FUZZ_DIR/corpus/<target>/). Exits non-zero when any target crashes, leaks,
# takes more than 1 s on one input, or allocates more than 100 MB at once; the input is kept as
# $REPTOK_FUZZ_DIR/artifacts/<target>-crash-... (add it to Tests/Fuzz/regressions/<target>/, which
# the normal test suite runs through the same reader probes).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
SECS=${1:?usage: tools/fuzz.sh SECONDS [TARGET ...]}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(pickle zip safetensors gguf config npy png jpeg)
B=${REPTOK_FUZZ_DIR:-.build-fuzz}
mkdir -p "$B/artifacts"
SAN=(-sanitize=fuzzer,address -O -g -parse-as-library -suppress-warnings)

# Runs a build step with its output in $B/build.log (the linker is chatty), showing it on failure.
quietly() { if ! "$@" > "$B/build.log" 2>&1; then cat "$B/build.log" >&2; exit 1; fi; }
# Rebuilds a binary only when one of its sources is newer.
stale() { local out=$1; shift; [ ! -e "$out" ] || [ -n "$(find "$@" -newer "$out" -print -quit)" ]; }

needs_formats=0; needs_image=0
for t in "${TARGETS[@]}"; do
    case $t in
        pickle|zip|safetensors|gguf|config) needs_formats=1 ;;
        npy|png|jpeg) needs_image=1 ;;
        *) echo "fuzz: unknown target $t" >&2; exit 2 ;;
    esac
done

# Both readers' modules import Support (atomic files, clock): built once as a static library.
# (The archive goes after the sources on each command line: the linker reads archives in order.)
if stale "$B/support/libSupport.a" Sources/Support; then
    echo "fuzz: building $B/support/libSupport.a"
    mkdir -p "$B/support"
    quietly swiftc "${SAN[@]}" -module-name Support -emit-module -emit-module-path "$B/support/Support.swiftmodule" \
        -emit-library -static Sources/Support/*.swift -o "$B/support/libSupport.a"
fi
if [ $needs_formats = 1 ] && stale "$B/fuzz-formats" Sources/Formats Sources/Support Sources/CHash Tests/Fuzz/FormatsHarness.swift; then
    echo "fuzz: building $B/fuzz-formats"
    # Formats imports CHash (SHA-256 instructions): its C file and a module map for swiftc.
    mkdir -p "$B/chash"
    printf 'module CHash {\n    header "%s/Sources/CHash/include/chash.h"\n    export *\n}\n' "$PWD" > "$B/chash/module.modulemap"
    quietly clang -O1 -g -fsanitize=fuzzer-no-link,address -I Sources/CHash/include -c Sources/CHash/sha256.c -o "$B/chash/sha256.o"
    quietly swiftc "${SAN[@]}" -module-name Formats -I "$B/chash" -I "$B/support" Sources/Formats/*.swift Tests/Fuzz/FormatsHarness.swift \
        "$B/chash/sha256.o" "$B/support/libSupport.a" -o "$B/fuzz-formats"
fi
if [ $needs_image = 1 ] && stale "$B/fuzz-image" Sources/ImageIO Sources/Support Sources/CImageShim Tests/Fuzz/ImageHarness.swift; then
    echo "fuzz: building $B/fuzz-image"
    mkdir -p "$B/shim"
    printf 'module CImageShim {\n    header "%s/Sources/CImageShim/include/rtk_image.h"\n    export *\n}\n' "$PWD" > "$B/shim/module.modulemap"
    CFLAGS="$(pkg-config --cflags libpng libjpeg)"
    for c in rtk_png rtk_jpeg; do
        quietly clang -O1 -g -fsanitize=fuzzer-no-link,address $CFLAGS -I Sources/CImageShim/include -c "Sources/CImageShim/$c.c" -o "$B/shim/$c.o"
    done
    quietly swiftc "${SAN[@]}" -module-name ImageIO -I "$B/shim" -I "$B/support" Sources/ImageIO/*.swift Tests/Fuzz/ImageHarness.swift \
        "$B/shim/rtk_png.o" "$B/shim/rtk_jpeg.o" "$B/support/libSupport.a" $(pkg-config --libs libpng libjpeg) -o "$B/fuzz-image"
fi

[ "$SECS" = 0 ] && { echo "fuzz: built"; exit 0; }
# Runs one target for SECS; its exit status goes to $B/$t.status, its output to $B/$t.log.
run_target() {
    local t=$1 bin=$B/fuzz-image
    case $t in pickle|zip|safetensors|gguf|config) bin=$B/fuzz-formats ;; esac
    mkdir -p "$B/corpus/$t"
    # -timeout: a hang is > 1 s on one input; -malloc_limit_mb: no single allocation over 100 MB.
    # A small ASan quarantine keeps memory (and the time spent recycling it) low on long runs; the
    # Swift backtracer is off so that libFuzzer itself reports a trap and keeps the input.
    local rc=0
    REPTOK_FUZZ_TARGET=$t ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1 SWIFT_BACKTRACE=enable=no "$bin" "$B/corpus/$t" "Tests/Fuzz/corpus/$t" \
        -max_total_time="$SECS" -timeout=1 -malloc_limit_mb=100 -rss_limit_mb=2048 -max_len=65536 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" > "$B/$t.log" 2>&1 || rc=$?
    echo "$rc" > "$B/$t.status"
}
# One target per core at a time (REPTOK_FUZZ_JOBS overrides): each libFuzzer process is
# single-threaded, so two cores fuzz two readers in the time of one.
jobs=${REPTOK_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
echo "fuzz: ${#TARGETS[@]} target(s) for ${SECS} s each, $jobs at a time"
running=0
for t in "${TARGETS[@]}"; do
    rm -f "$B/$t.status"
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
failed=()
for t in "${TARGETS[@]}"; do
    if [ "$(cat "$B/$t.status" 2>/dev/null || echo missing)" != 0 ]; then
        failed+=("$t")
        echo "fuzz: $t FAILED; last lines of $B/$t.log:" >&2
        tail -40 "$B/$t.log" >&2
    else
        echo "fuzz: $t $(grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$B/$t.log" | tr '\n' ' ')"
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failures in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#TARGETS[@]} target(s), ${SECS} s each: no crash, leak or hang"
