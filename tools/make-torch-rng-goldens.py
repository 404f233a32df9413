#!/usr/bin/env python3
"""Writes Tests/Fixtures/torch-rng/e2e.safetensors: images of the tiny fixture made with PyTorch's
own random numbers, drawn in the official code's order, for the Swift tests of `--rng torch`.

    python3 tools/make-torch-rng-goldens.py [OUT.safetensors]

The model is tools/train-demo/reptok_torch.py (our PyTorch re-implementation of RepTok, which
tools/train-demo/check_arch.py shows reproduces every golden tensor of the official code) with
the float32 weights of Tests/Fixtures/tiny. Each case seeds torch's default CPU generator and
draws, as the official generation notebook does for a batch of N:

    torch.manual_seed(seed)
    y = torch.randint(0, K, (N,))          # classes, only for --class random
    z = torch.randn(N, 1, C)               # generator noise
    tokens = Euler with CFG interval (draws nothing)
    noise = torch.randn(N, Cl, h, w)       # decoder noise, same stream (or manual_seed(S2))
    images = decode(tokens, noise)

and, for decode / reconstruct: manual_seed(seed); noise = torch.randn(1, Cl, h, w). Stored
tensors (float32 unless said): <case>_images [N, 3, S, S], <case>_labels (int64),
<case>_tokens [N, C]. Needs torch and numpy; not run in CI.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "train-demo"))
import check_arch as ca  # noqa: E402
import reptok_torch as rt  # noqa: E402

GEN_STEPS, DEC_STEPS, CFG, INTERVAL, CLASSES = 8, 4, 1.5, (0.3, 0.9), 10
LATENT = (4, 16, 16)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, a in tensors.items():
        a = np.ascontiguousarray(a)
        dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
        header[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def generate_case(m, seed, count, labels=None, decoder_seed=None):
    torch.manual_seed(seed)
    if labels is None:
        y = torch.randint(0, CLASSES, (count,))
    else:
        y = torch.tensor(labels, dtype=torch.int64)
    z = torch.randn(count, 1, 128)
    tokens = ca.generate(m["generator_ema"], z[:, 0], y, GEN_STEPS, CFG, INTERVAL)
    if decoder_seed is None:
        noise = torch.randn(count, *LATENT)
    else:
        noise = torch.randn(count, *LATENT, generator=torch.manual_seed(decoder_seed))
    _, images = ca.decode(m, tokens, noise, DEC_STEPS)
    return y, tokens, images


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "Tests", "Fixtures", "torch-rng", "e2e.safetensors")
    fixture = os.path.join(HERE, "..", "Tests", "Fixtures", "tiny")
    torch.set_grad_enabled(False)
    m = ca.tiny_models(ca.read_safetensors(os.path.join(fixture, "reptok.safetensors")))
    g = ca.read_safetensors(os.path.join(fixture, "golden.safetensors"))
    t = {}
    # generate --rng torch --seed 42 --class random --count 3
    y, tokens, images = generate_case(m, 42, 3)
    t["random42_labels"], t["random42_tokens"], t["random42_images"] = y.numpy(), tokens.numpy(), images.numpy()
    # generate --rng torch --seed 7 --class 3,5 --decoder-seed 9
    y, tokens, images = generate_case(m, 7, 2, labels=[3, 5], decoder_seed=9)
    t["list7_labels"], t["list7_tokens"], t["list7_images"] = y.numpy(), tokens.numpy(), images.numpy()
    # generate --rng torch --seed 2**32 + 5 --class 1 (a seed beyond 32 bits)
    y, tokens, images = generate_case(m, 2**32 + 5, 1, labels=[1])
    t["big_labels"], t["big_tokens"], t["big_images"] = y.numpy(), tokens.numpy(), images.numpy()
    # decode --rng torch --seed 11 of the fixture's token
    torch.manual_seed(11)
    noise = torch.randn(1, *LATENT)
    t["decode11_images"] = ca.decode(m, g["token"].unsqueeze(0), noise, DEC_STEPS)[1].numpy()
    # reconstruct --rng torch --seed 12 of the fixture's image (32x32: preparation is the identity)
    image = g["image_u8"].float().unsqueeze(0) / 127.5 - 1
    token = m["encoder"](rt.encoder_input(image, 56))
    torch.manual_seed(12)
    noise = torch.randn(1, *LATENT)
    t["reconstruct12_images"] = ca.decode(m, token, noise, DEC_STEPS)[1].numpy()
    write_safetensors(out, t)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
