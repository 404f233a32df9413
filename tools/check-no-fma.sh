#!/usr/bin/env bash
# Builds reptok for an x86-64 CPU without FMA and checks that its kernels stay vector code and
# its images match the FMA build's.
#
#   tools/check-no-fma.sh [TARGET_CPU]     (default nehalem: SSE4.2, no AVX, no FMA)
#
# On CPUs without FMA (Sandy and Ivy Bridge, Atom, the Celeron and Pentium lines built
# without AVX until about 2020) a fused multiply-add in the Swift kernels is a call of libm's
# fmaf for every lane. Package.swift therefore defines REPTOK_NO_FMA for such targets and the
# kernels multiply and add instead (Sources/Kernels/MathSIMD.swift, `addingMul`). No test run on
# an FMA machine builds that variant, so this script does, into .build-nofma:
#   1. no function of the Kernels module calls fmaf or fma (the objdump of the binary);
#   2. it offers only the generic level (and amx-emulated on top of it);
#   3. generate and reconstruct in both modes (default model, 8 decoder steps) against this
#      machine's FMA build, at its generic level and at its best one (bounds below).
# Needs objdump, python3 with numpy, and the FMA build at .build/release/reptok (built if absent).
# Exit status: 0 when every check passes, 1 when one fails.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CPU=${1:-nehalem}
export PATH=/opt/swift/usr/bin:$PATH
cd "$REPO"
[ "$(uname -m)" = x86_64 ] || { echo "check-no-fma: x86-64 only"; exit 0; }
NOFMA=$REPO/.build-nofma/release/reptok FMA=$REPO/.build/release/reptok
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
echo "check-no-fma: building for $CPU into .build-nofma"
REPTOK_TARGET_CPU=$CPU swift build -c release --product reptok --scratch-path .build-nofma > "$OUT/build.log" 2>&1 \
    || { tail -20 "$OUT/build.log"; echo "check-no-fma: build failed"; exit 1; }
[ -x "$FMA" ] || swift build -c release --product reptok > /dev/null
status=0

# 1. libm multiply-adds called from the Kernels module (its symbols start with $s7Kernels).
# (Kernels.Reference, the scalar references the tests compare with, keeps its fused steps.)
calls=$(objdump -d --no-show-raw-insn "$NOFMA" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3) }
    /call.*<fmaf?@plt>/ && fn ~ /^\$s7Kernels/ && fn !~ /^\$s7Kernels9Reference/ { n[fn]++ }
    END { for (f in n) print n[f] "\t" f }')
if [ -n "$calls" ]; then
    status=1; echo "check-no-fma: FAIL: Kernels functions call fmaf/fma:"; printf '%s\n' "$calls" | head -20
else
    echo "check-no-fma: ok: no Kernels function calls fmaf or fma"
fi

# 2. The levels it offers: generic only (and amx-emulated on top of it).
levels=$("$NOFMA" --version)
if printf '%s' "$levels" | grep -q "this CPU runs generic, amx-emulated"; then
    echo "check-no-fma: ok: $levels"
else
    status=1; echo "check-no-fma: FAIL: expected only generic and amx-emulated: $levels"
fi

# 3. Images against the FMA build: at generic (the same kernels, fused there) and at the FMA
#    build's best level (what the same machine runs when built for itself).
#    W8A32: PSNR >= 60 dB (measured 83 dB or identical: one rounding per multiply-add).
#    W8A8: no farther from the FMA build's W8A8 image than 6 dB below that image's own distance
#    from its W8A32 one. A value that rounds differently before quantization can land on the
#    other int8 neighbour, and such a step, carried through the generator's steps, moves the
#    image by about as much as quantizing does: on the default model both distances measured
#    50-51 dB (three seeds). So this only catches gross faults: a planted error of 0.1 % in
#    every multiply-add passed it (47.9 dB) and failed the W8A32 bound (56.8 dB). Precision is
#    the W8A32 comparison's job, and the test suite's in such a build (docs/kernels.md).
images() {   # images BINARY LEVEL NAME: generate and reconstruct in both modes, as NAME-WHAT-MODE.png
    local mode
    for mode in w8a32 w8a8; do
        REPTOK_ISA=$2 "$1" generate --class 1 --seed 1 --steps 8 --compute $mode --quiet -o "$OUT/$3-generate-$mode.png"
        REPTOK_ISA=$2 "$1" reconstruct "$OUT/input.png" --steps 8 --seed 1 --compute $mode --quiet \
            -o "$OUT/$3-reconstruct-$mode.png"
    done
}
"$FMA" generate --class 3 --seed 7 --steps 8 --quiet -o "$OUT/input.png"
images "$NOFMA" generic nofma              # its only level
for level in generic auto; do
    images "$FMA" $level "fma-$level"
    for mode in w8a32 w8a8; do for what in generate reconstruct; do
        if python3 - "$OUT/fma-$level-$what-$mode.png" "$OUT/nofma-$what-$mode.png" "$OUT/fma-$level-$what-w8a32.png" \
            "$REPO/Tests/Fixtures/images/pngread.py" "$what $mode at $level" <<'PY'
import math, subprocess, sys, tempfile
import numpy as np
a_path, b_path, w8a32_path, pngread, name = sys.argv[1:6]
def load(path):
    with tempfile.NamedTemporaryFile(suffix=".rgb") as t:
        subprocess.run([sys.executable, pngread, path, t.name], check=True, stdout=subprocess.DEVNULL)
        return np.frombuffer(open(t.name, "rb").read(), dtype=np.uint8).astype(np.float64)
def psnr(a, b):
    if a.shape != b.shape: return float("-inf")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
a, b = load(a_path), load(b_path)
if "w8a8" in name:
    own = psnr(a, load(w8a32_path))
    need, why = own - 6, f"the FMA build's W8A8 is {own:.1f} dB from its W8A32"
else:
    need, why = 60.0, "W8A32"
got = psnr(a, b)
ok = got >= need
differ = int(np.count_nonzero(a != b)) if a.shape == b.shape else a.size
print(f"check-no-fma: {'ok' if ok else 'FAIL'}: {name}: PSNR {got:.1f} dB against the FMA build "
      f"({differ} of {a.size} values differ); need >= {need:.1f} dB ({why})")
sys.exit(0 if ok else 1)
PY
        then :; else status=1; fi
    done; done
done
exit $status
