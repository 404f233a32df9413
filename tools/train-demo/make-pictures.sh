#!/usr/bin/env bash
# Writes the README's pictures (docs/digits/) with the reptok command line and the committed
# default model: one row of five generations per class, reconstructions of held-out digits
# beside their inputs, and an interpolation between two held-out digits.
#
#   tools/train-demo/make-pictures.sh [OUT_DIR]      (default docs/digits; needs python3 + numpy)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/docs/digits}
R=$ROOT/.build/release/reptok
[ -x "$R" ] || (cd "$ROOT" && swift build -c release >/dev/null)
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Held-out digits as 32x32 PNGs: bilinear upsampling with half-pixel centres (the training
# program's resize), written with zlib (no imaging library needed).
python3 - "$ROOT/models/digits" "$TMP" <<'PY'
import struct, sys, zlib
import numpy as np
src, out = sys.argv[1], sys.argv[2]
images, labels, held = (np.load(f"{src}/{n}.npy") for n in ("images", "labels", "heldout"))
def up(d, size=32):
    c = np.maximum((np.arange(size) + 0.5) * 8 / size - 0.5, 0)
    lo = np.minimum(c.astype(int), 7); hi = np.minimum(lo + 1, 7); f = c - lo
    rows = d[lo] * (1 - f)[:, None] + d[hi] * f[:, None]
    img = rows[:, lo] * (1 - f)[None, :] + rows[:, hi] * f[None, :]
    return np.clip(np.rint(img / 16 * 255), 0, 255).astype(np.uint8)
def png(path, grey):
    h, w = grey.shape
    raw = b"".join(b"\0" + np.repeat(row, 3).tobytes() for row in grey)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for c in range(10):
    i = np.flatnonzero((held == 1) & (labels == c))[0]
    png(f"{out}/heldout-{c}.png", up(images[i].astype(np.float64)))
PY

for c in 0 1 2 3 4 5 6 7 8 9; do
    "$R" generate --class "$c" --seed 1 --count 5 --grid --columns 5 -q -o "$OUT/generated-$c.png"
done
for c in 0 1 2 3 4 5 6 7 8 9; do
    "$R" reconstruct "$TMP/heldout-$c.png" --seed 0 --side-by-side -q -o "$OUT/reconstructed-$c.png"
done
"$R" interpolate "$TMP/heldout-3.png" "$TMP/heldout-8.png" --frames 8 --seed 0 -q -o "$OUT/interpolation-3-8.png"
echo "wrote $(ls "$OUT" | wc -l) pictures to $OUT"
