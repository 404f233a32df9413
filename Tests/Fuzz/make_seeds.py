#!/usr/bin/env python3
"""Writes the small seed corpus of every fuzz target under Tests/Fuzz/corpus/<target>/.

    python3 Tests/Fuzz/make_seeds.py          (needs torch, omegaconf, numpy; CI only uses the committed files)

Each seed is a valid file of its format, a few hundred bytes to a few kB, so that the fuzzer starts
from the structures the readers accept (PyTorch zip + pickle, DictConfig state, numpy scalars,
safetensors, GGUF v3, .npy, PNG); the JPEG seeds are the CLI test fixtures, the config seeds the tiny fixture's configs and a preset.
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

import numpy as np
import torch
from omegaconf import OmegaConf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    cfg = OmegaConf.create({"data": {"image_size": 32}, "model": {"first_stage_cfg": {"params": {"image_size": "${data.image_size}"}},
                                                                  "w": 4, "d_ff": "${.w}", "when": "${now:%Y}", "l": [1, 2.5, None]}})
    sd = collections.OrderedDict(w=torch.arange(6.0).reshape(2, 3), t=torch.arange(6.0).reshape(2, 3).t(),
                                 e=torch.ones(3).expand(4, 3), h=torch.zeros(2, dtype=torch.float16))
    ckpt = {"state_dict": sd, "hyper_parameters": {"cfg": cfg.model, "cfg_scale": np.float64(1.5), "n": np.int32(7),
                                                   "dd": collections.defaultdict(list, a=[1])}, "epoch": 0}
    # zip target: whole torch checkpoints
    put("zip", "lightning-like.ckpt", torch_bytes(ckpt))
    torch.serialization.set_crc32_options(False)   # members written with a zero CRC field
    put("zip", "no-crc.ckpt", torch_bytes({"w": torch.arange(4.0)}))
    torch.serialization.set_crc32_options(True)
    put("zip", "plain.pt", torch_bytes({"a": torch.tensor([1.0, 2.0]), "b": torch.zeros(1, dtype=torch.bfloat16)}))
    # pickle target: the data.pkl of those, plus protocol 0-5 pickles of plain values
    for name in ["lightning-like.ckpt", "plain.pt"]:
        with zipfile.ZipFile(os.path.join(OUT, "zip", name)) as z:
            pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
            put("pickle", name.replace(".", "-") + ".pkl", z.read(pkl))
    plain = {"a": 1, "b": [1, 2.5, -3, "x", None, True], "c": {"d": (1, 2)}, "big": 2 ** 70, "s": {1, 2}, "by": b"\x00\x01"}
    for p in range(0, 6):
        put("pickle", f"plain-p{p}.pkl", pickle.dumps(plain, protocol=p))
    put("pickle", "dictconfig.pkl", pickle.dumps(cfg, protocol=2))
    # safetensors
    hdr = {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "b": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]},
           "__metadata__": {"k": "v"}}
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    put("safetensors", "two.safetensors", struct.pack("<Q", len(h)) + h + np.arange(4, dtype=np.float32).tobytes()
        + np.ones(3, dtype=np.float16).tobytes())
    # GGUF v3: three metadata values (string, u32, array) and two tensors (f32 [2,3], i8 [4])
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    g = b"GGUF" + struct.pack("<IQQ", 3, 2, 3)
    g += s("general.architecture") + struct.pack("<I", 8) + s("reptok")
    g += s("general.alignment") + struct.pack("<II", 4, 32)
    g += s("reptok.list") + struct.pack("<IIQ", 9, 5, 2) + struct.pack("<ii", 1, 2)
    g += s("w") + struct.pack("<IQQIQ", 2, 3, 2, 0, 0)
    g += s("q") + struct.pack("<IQIQ", 1, 4, 24, 32)
    g += b"\0" * ((-len(g)) % 32)
    g += np.arange(6, dtype=np.float32).tobytes() + b"\0" * 8 + np.arange(4, dtype=np.int8).tobytes()
    put("gguf", "small.gguf", g)
    # .npy
    for name, arr in [("f32.npy", np.arange(6, dtype=np.float32).reshape(2, 3)), ("f64.npy", np.linspace(-1, 1, 4).reshape(2, 2)),
                      ("scalar.npy", np.array(1.5, dtype=np.float32))]:
        b = io.BytesIO()
        np.save(b, arr)
        put("npy", name, b.getvalue())
    # PNG: 8-bit RGB 3x2 with a tEXt chunk, 16-bit gray 2x2, palette 1-bit 8x1, interlaced RGBA 4x4
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    def png(w, h, depth, color, rows, extra=b"", interlace=0):
        raw = b"".join(b"\0" + r for r in rows)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace)) + extra
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    put("png", "rgb.png", png(3, 2, 8, 2, [bytes(range(9)), bytes(range(9, 18))], chunk(b"tEXt", b"reptok\0seed 1")))
    put("png", "gray16.png", png(2, 2, 16, 0, [b"\x00\x01\xff\xff", b"\x80\x00\x00\x00"]))
    put("png", "palette1.png", png(8, 1, 1, 3, [b"\xa5"], chunk(b"PLTE", b"\0\0\0\xff\xff\xff") + chunk(b"tRNS", b"\0")))
    put("png", "rgba.png", png(2, 2, 8, 6, [bytes(range(8)), bytes(range(8, 16))]))
    put("png", "interlaced-1x1.png", png(1, 1, 8, 2, [b"\x10\x20\x30"], interlace=1))
    # JPEG: the image fixtures
    fx = os.path.join(HERE, "..", "Fixtures", "images")
    for n in sorted(os.listdir(fx)):
        if n.endswith(".jpg") and os.path.getsize(os.path.join(fx, n)) <= 16384:
            with open(os.path.join(fx, n), "rb") as f:
                put("jpeg", n, f.read())
    # Config files (YAML subset and JSON): the tiny fixture's model.yaml and vae-config.json, a preset
    root = os.path.join(HERE, "..", "..")
    for target_name, src in [("model.yaml", "Tests/Fixtures/tiny/model.yaml"),
                             ("vae-config.json", "Tests/Fixtures/tiny/vae-config.json"),
                             ("preset.json", "models/presets/tiny.json")]:
        with open(os.path.join(root, src), "rb") as f:
            put("config", target_name, f.read())


if __name__ == "__main__":
    main()
