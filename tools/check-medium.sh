#!/usr/bin/env bash
# Accuracy check on the medium fixture (real ViT-B/14 encoder and SD-VAE sizes): slow and large
# (1.4 GB checkpoint, ~1 GB of converted files), so it is not part of `swift test`.
#
#   REPTOK_MEDIUM_FIXTURE=DIR REPTOK_REGEN=SCRIPT tools/check-medium.sh [WORKDIR]
#                                            (default WORKDIR: $TMPDIR/reptok-medium)
#
# Two inputs are required and not part of this repository: REPTOK_MEDIUM_FIXTURE, a medium-size
# fixture in the release layout (model.yaml, vae-config.json, golden.safetensors, recipe.json and
# keep.safetensors; docs/model.md, 'Reference fixtures'), and REPTOK_REGEN, the script that
# regenerates that fixture's checkpoint from its recipe (`python3 SCRIPT FIXTURE OUT.safetensors`).
#
# 1. regenerates the checkpoint with $REPTOK_REGEN (numpy, ~10 s; kept in WORKDIR),
# 2. converts it to f32, int8 and int4 GGUF files,
# 3. runs `reptok trace` on the golden inputs: f32, int8 and int4, each --compute w8a32 and w8a8,
# 4. compares with the goldens in python/numpy (tools/compare-trace.py): f32 relative L2 bounds
#    (5e-6 single evaluations, 1e-5 loops/images), the int8 and int4 minimums.
# Exit status 1 if any bound is missed.
#
# Other environment: REPTOK_SCRATCH (SwiftPM scratch path, default .build), REPTOK_THREADS (trace threads).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIXTURE=${REPTOK_MEDIUM_FIXTURE:?set REPTOK_MEDIUM_FIXTURE to the medium fixture folder (model.yaml, vae-config.json, golden.safetensors)}
REGEN=${REPTOK_REGEN:?set REPTOK_REGEN to the script that regenerates the fixture checkpoint (python3 SCRIPT FIXTURE OUT)}
WORK=${1:-${TMPDIR:-/tmp}/reptok-medium}
SCRATCH=${REPTOK_SCRATCH:-.build}
THREADS=${REPTOK_THREADS:+--threads $REPTOK_THREADS}
mkdir -p "$WORK"

if [ ! -f "$WORK/medium.safetensors" ]; then
    echo "== regenerating the medium checkpoint"
    python3 "$REGEN" "$FIXTURE" "$WORK/medium.safetensors.tmp"
    mv "$WORK/medium.safetensors.tmp" "$WORK/medium.safetensors"
fi

echo "== building reptok"
(cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --product reptok >/dev/null)
BIN="$(cd "$ROOT" && swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/reptok"

for w in f32 int8 int4; do
    echo "== converting ($w)"
    /usr/bin/time -f "   %e s, %M KB max RSS" "$BIN" convert "$WORK/medium.safetensors" -o "$WORK/medium-$w.gguf" \
        --config "$FIXTURE/model.yaml" --vae-config "$FIXTURE/vae-config.json" --weights "$w" -q
done

status=0
run() {  # model compute kind
    echo "== trace $1 ($2)"
    /usr/bin/time -f "   %e s, %M KB max RSS" "$BIN" trace --model "$WORK/medium-$1.gguf" --inputs "$FIXTURE/golden.safetensors" \
        --out "$WORK/trace-$3.safetensors" --compute "$2" --verbose $THREADS
    python3 "$ROOT/tools/compare-trace.py" "$FIXTURE/golden.safetensors" "$WORK/trace-$3.safetensors" --kind "$3" || status=1
}
run f32 w8a32 f32
run int8 w8a32 w8a32
run int8 w8a8 w8a8
run int4 w8a32 w4a32
run int4 w8a8 w4a8
exit $status
