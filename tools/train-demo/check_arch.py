#!/usr/bin/env python3
"""Proves that reptok_torch.py is RepTok's architecture: loads the random tiny test fixture
(Tests/Fixtures/tiny/reptok.safetensors, computed goldens by the official implementation) into the
PyTorch modules and compares every golden tensor. Needs torch and numpy.

    python3 tools/train-demo/check_arch.py [FIXTURE_DIR]

Bound: relative L2 <= 1e-4 on every tensor, loops included. Float32 summation order differs
between implementations, about 1e-6 relative per evaluation; 1e-4 leaves room for that to grow
through the Euler loops while any wrong formula (a missed scale, a swapped half, a wrong table)
shows up at 1e-2 or more. Exit status 1 on a miss.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reptok_torch as rt  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(blob[a:b], dtype=DTYPES[v["dtype"]]).reshape(v["shape"]).copy())
    return out


def sub(state, prefix):
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def tiny_models(state):
    """The tiny fixture's sizes (its model.yaml and hparams.json)."""
    m = {
        "encoder": rt.ViTEncoder(width=128, depth=2),
        "adapter": rt.Adapter(128, 144),
        "time": rt.TimeConditioning(64, depth=1, hidden=192, features=64),
        "decoder": rt.DecoderBackbone(144, depth=2, head_dim=24, hidden=432, d_cond=64),
        "vae": rt.Autoencoder([64, 128], layers_per_block=1, groups=32),
        "generator_ema": rt.MixerGenerator(128, 96, 2, 3, 4, classes=10),
        "generator": rt.MixerGenerator(128, 96, 2, 3, 4, classes=10),
    }
    for name, mod in m.items():
        s = sub(state, rt.PREFIX[name])
        if name == "time":
            s = {k: v for k, v in s.items() if k.startswith(("time_emb.", "time_in_proj.", "mapping."))}
        if name.startswith("generator"):
            s = rt.rename_mixer_keys(s, compiled=False)
        missing, unexpected = mod.load_state_dict(s, strict=False)
        if missing:
            raise SystemExit(f"{name}: missing {missing}")
        mod.eval()
    return m


def decode(m, token, noise, steps):
    """Euler, t = 1 -> 0, z <- z - v/N; then the VAE (latent / 0.18215)."""
    c = m["adapter"](token)
    z = noise
    for i in range(steps, 0, -1):
        t = torch.full((z.shape[0],), i / steps)
        z = z - m["decoder"](z, m["time"](t), c) / steps
    return z, m["vae"].decode(z / 0.18215)


def generate(gen, noise, labels, steps, scale=1.5, interval=(0.3, 0.9)):
    x = noise
    uncond = torch.full_like(labels, gen.classes)
    for k in range(steps):
        t = torch.full((x.shape[0],), k / steps)
        v = gen(x, t, labels)
        if interval[0] <= k / steps <= interval[1]:
            vu = gen(x, t, uncond)
            v = vu + scale * (v - vu)
        x = x + v / steps
    return x


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    fixture = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "Tests", "Fixtures", "tiny")
    torch.set_grad_enabled(False)
    g = read_safetensors(os.path.join(fixture, "golden.safetensors"))
    m = tiny_models(read_safetensors(os.path.join(fixture, "reptok.safetensors")))
    ours = {}
    image = g["image_u8"].float().unsqueeze(0) / 127.5 - 1
    x = rt.encoder_input(image, 56)
    ours["enc_input"] = x[0]
    enc = m["encoder"]
    ours["enc_pos_embed"] = enc.pos_table(4)[0]
    h = enc.tokens_in(x)
    ours["enc_tokens_in"] = h[0]
    ours["enc_block0_out"] = enc.blocks[0](h)[0]
    token = enc(x)
    ours["token"] = token[0]
    ours["x_extra"] = m["adapter"](token)
    t = torch.full((1,), float(g["dec_t"][0]))
    cond = m["time"](t)
    ours["dec_cond_norm"] = cond[0]
    ours["dec_velocity"] = m["decoder"](g["dec_noise"].unsqueeze(0), cond, m["adapter"](g["token"].unsqueeze(0)))[0]
    steps = int(g["dec_steps"][0])
    z, img = decode(m, g["token"].unsqueeze(0), g["dec_noise"].unsqueeze(0), steps)
    ours["dec_latent"], ours["dec_image"] = z[0], img[0]
    ours["vae_image_out"] = m["vae"].decode(g["vae_latent_in"].unsqueeze(0) / 0.18215)[0]
    noise, labels = g["gen_noise"][:, 0], g["gen_labels"]
    half = torch.full((2,), 0.5)
    ema, raw = m["generator_ema"], m["generator"]
    vc = ema(noise, half, labels)
    vu = ema(noise, half, torch.full_like(labels, 10))
    ours["gen_velocity_cond"] = vc.unsqueeze(1)
    ours["gen_velocity_cfg"] = (vu + 1.5 * (vc - vu)).unsqueeze(1)
    ours["gen_velocity_cond_nonema"] = raw(noise, half, labels).unsqueeze(1)
    tokens = generate(ema, noise, labels, int(g["gen_steps"][0]))
    ours["gen_tokens"] = tokens.unsqueeze(1)
    ours["e2e_image"] = decode(m, tokens[:1], g["e2e_noise"].unsqueeze(0), steps)[1][0]

    failed = 0
    for name, value in ours.items():
        ref = g[name].double()
        err = float((value.double().reshape(ref.shape) - ref).norm() / ref.norm())
        bound = 1e-4
        ok = err <= bound
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:26s} rel L2 {err:.2e} (bound {bound:.0e})")
    print(f"{len(ours) - failed}/{len(ours)} golden tensors reproduced")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
