#!/usr/bin/env python3
"""Writes the digits data the Swift tests and `reptok eval --digits` use, from scikit-learn's
bundled copy (no download), into models/digits/:
    images.npy   uint8 [1797, 8, 8], grey levels 0..16 (ink is high)
    labels.npy   uint8 [1797], the digit 0..9
    heldout.npy  uint8 [1797], 1 for the 360 images train.py holds out (stratified 20 %, random_state 0)

    python3 tools/train-demo/export_digits.py [OUT_DIR]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import load_data  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "models", "digits")
    os.makedirs(out, exist_ok=True)
    images, labels, _, test = load_data()
    held = np.zeros(len(labels), dtype=np.uint8)
    held[test] = 1
    np.save(os.path.join(out, "images.npy"), images.astype(np.uint8))
    np.save(os.path.join(out, "labels.npy"), labels.astype(np.uint8))
    np.save(os.path.join(out, "heldout.npy"), held)
    print(f"wrote {out}: {len(labels)} images, {int(held.sum())} held out")


if __name__ == "__main__":
    main()
