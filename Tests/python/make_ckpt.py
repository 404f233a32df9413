#!/usr/bin/env python3
"""Write a torch.save-style zip checkpoint from a safetensors file, without torch (numpy + pickle only).

    python3 make_ckpt.py IN.safetensors OUT.ckpt [--dtype f32|f16|bf16|f64] [--transpose] [--zip64]
                         [--hole-gib N] [--hparams hparams.json] [--lightning] [--expected OUT.safetensors]
                         [--unused-extras] [--called-cfg-scale]

The pickle is produced by Python's own `pickle` (protocol 2) with stand-in modules registered under the
names torch.save uses (`torch._utils._rebuild_tensor_v2`, `torch.FloatStorage`, `collections.OrderedDict`),
so its bytes have the same shape as a real checkpoint's; storages are stored (uncompressed) zip members
`<archive>/data/<key>`, aligned to 64 bytes like torch's writer.

--dtype       storage element type (values converted with numpy; bf16 rounds to nearest even)
--transpose   every 2-D tensor W[o,i] is stored as the contiguous storage of W.T with stride (1, o):
              a non-contiguous tensor that a reader must gather
--zip64       write zip64 records everywhere (extra fields with 0xFFFFFFFF placeholders, zip64 EOCD)
--hole-gib N  leave a sparse hole of N GiB before the first storage, so offsets exceed 4 GiB (implies --zip64)
--lightning   wrap as {'state_dict': ..., 'hyper_parameters': ..., 'epoch': 0} (default: bare state dict)
--expected    also write the float32 values a correct reader must produce (after dtype rounding)
--unused-extras  add state-dict keys the converter does not use, each of a kind it cannot read:
              an expanded (stride-0) view, a view running past its storage, a ComplexFloatStorage
              tensor, and an object built by calling `torchmetrics.MeanMetric`
--called-cfg-scale  make hyper_parameters.sample_kwargs.cfg_scale an object built by calling
              `numpy.random.uniform` (implies --lightning)
"""
import argparse
import collections
import io
import json
import pickle
import struct
import sys
import types
import zlib

import numpy as np

DT = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in header.items():
            if k == "__metadata__":
                continue
            s, e = v["data_offsets"]
            f.seek(base + s)
            out[k] = np.frombuffer(f.read(e - s), dtype=DT[v["dtype"]]).reshape(v["shape"])
        return out


def to_bf16_bits(a):
    """float32 -> bfloat16 bits, round to nearest even."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


# Stand-ins registered under torch's names, so pickle writes GLOBAL 'torch._utils _rebuild_tensor_v2' etc.
torch_mod = types.ModuleType("torch")
utils_mod = types.ModuleType("torch._utils")
torch_mod._utils = utils_mod
sys.modules["torch"] = torch_mod
sys.modules["torch._utils"] = utils_mod


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in; never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
STORAGE_CLASSES = {}
for name in ["FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage", "ComplexFloatStorage"]:
    cls = type(name, (), {"__module__": "torch"})
    setattr(torch_mod, name, cls)
    STORAGE_CLASSES[name] = cls


class Called:
    """Pickles as a call of `module.name()` (stand-in; never called)."""

    def __init__(self, module, name):
        mod = sys.modules.setdefault(module, types.ModuleType(module))
        if not hasattr(mod, name):
            setattr(mod, name, type(name, (), {"__module__": module}))
        self.fn = getattr(mod, name)

    def __reduce__(self):
        return (self.fn, ())


class Storage:
    def __init__(self, key, cls, data, numel):
        self.key, self.cls, self.data, self.numel = key, cls, data, numel


class Tensor:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, self.offset, tuple(self.shape), tuple(self.stride), False,
                                     collections.OrderedDict()))


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def write_zip(path, members, zip64, hole):
    """members: list of (name, bytes). Stored entries, data aligned to 64 bytes."""
    with open(path, "wb") as f:
        central = []
        for i, (name, data) in enumerate(members):
            if hole and name.endswith("/data/0"):
                f.seek(f.tell() + hole)
            off = f.tell()
            nb = name.encode()
            crc = zlib.crc32(data) & 0xFFFFFFFF
            size = len(data)
            extra = b""
            if zip64:
                extra = struct.pack("<HHQQ", 1, 16, size, size)
            # pad the extra field so the data starts on a 64-byte boundary
            pad = (-(off + 30 + len(nb) + len(extra) + 4)) % 64
            extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            s32 = 0xFFFFFFFF if zip64 else size
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, 0, 0, 0x21, crc, s32, s32, len(nb), len(extra)))
            f.write(nb + extra + data)
            central.append((nb, crc, size, off))
        cd_off = f.tell()
        for nb, crc, size, off in central:
            if zip64:
                extra = struct.pack("<HHQQQ", 1, 24, size, size, off)
                f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                                    len(nb), len(extra), 0, 0, 0, 0, 0xFFFFFFFF))
                f.write(nb + extra)
            else:
                f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, crc, size, size,
                                    len(nb), 0, 0, 0, 0, 0, off))
                f.write(nb)
        cd_size = f.tell() - cd_off
        n = len(central)
        if zip64:
            z64 = f.tell()
            f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_off))
            f.write(struct.pack("<IIQI", 0x07064B50, 0, z64, 1))
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size, cd_off, 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16", "f64"])
    ap.add_argument("--transpose", action="store_true")
    ap.add_argument("--zip64", action="store_true")
    ap.add_argument("--hole-gib", type=float, default=0)
    ap.add_argument("--hparams")
    ap.add_argument("--lightning", action="store_true")
    ap.add_argument("--expected")
    ap.add_argument("--unused-extras", action="store_true")
    ap.add_argument("--called-cfg-scale", action="store_true")
    a = ap.parse_args()

    src = read_safetensors(a.src)
    state = collections.OrderedDict()
    storages = []
    expected = {}
    cls = {"f32": "FloatStorage", "f16": "HalfStorage", "bf16": "BFloat16Storage", "f64": "DoubleStorage"}[a.dtype]
    for i, (name, arr) in enumerate(src.items()):
        x = arr.astype(np.float32)
        stored = x.T if (a.transpose and x.ndim == 2) else x
        if a.dtype == "f32":
            raw, back = np.ascontiguousarray(stored, np.float32).tobytes(), stored.astype(np.float32)
        elif a.dtype == "f16":
            h = np.ascontiguousarray(stored, np.float16)
            raw, back = h.tobytes(), h.astype(np.float32)
        elif a.dtype == "f64":
            d = np.ascontiguousarray(stored, np.float64)
            raw, back = d.tobytes(), d.astype(np.float32)
        else:
            b = to_bf16_bits(stored)
            raw, back = b.tobytes(), from_bf16_bits(b).reshape(stored.shape)
        expected[name] = np.ascontiguousarray(back.T if (a.transpose and x.ndim == 2) else back)
        st = Storage(str(i), STORAGE_CLASSES[cls], raw, int(x.size))
        storages.append(st)
        if a.transpose and x.ndim == 2:
            state[name] = Tensor(st, 0, list(x.shape), [1, x.shape[0]])
        else:
            strides, acc = [], 1
            for d in reversed(x.shape):
                strides.insert(0, acc)
                acc *= d
            state[name] = Tensor(st, 0, list(x.shape), strides)
    if a.unused_extras:
        n = len(storages)
        three = Storage(str(n), STORAGE_CLASSES["FloatStorage"], np.arange(3, dtype=np.float32).tobytes(), 3)
        cplx = Storage(str(n + 1), STORAGE_CLASSES["ComplexFloatStorage"], np.zeros(2, dtype=np.complex64).tobytes(), 2)
        storages += [three, cplx]
        state["metrics.expanded"] = Tensor(three, 0, [4, 3], [0, 1])
        state["metrics.lying"] = Tensor(three, 2, [5], [1])
        state["metrics.complex"] = Tensor(cplx, 0, [2], [1])
        state["loss_fn"] = Called("torchmetrics", "MeanMetric")
    obj = state
    if a.lightning or a.called_cfg_scale:
        hp = json.load(open(a.hparams)) if a.hparams else {}
        if a.called_cfg_scale:
            hp.setdefault("sample_kwargs", {})["cfg_scale"] = Called("numpy.random", "uniform")
        obj = {"state_dict": state, "hyper_parameters": hp, "epoch": 0, "global_step": 0}
    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(obj)
    members = [("archive/data.pkl", buf.getvalue()), ("archive/byteorder", b"little")]
    members += [("archive/data/" + s.key, s.data) for s in storages]
    members += [("archive/version", b"3\n")]
    hole = int(a.hole_gib * (1 << 30))
    write_zip(a.out, members, a.zip64 or hole > 0, hole)
    if a.expected:
        header, off, blobs = {}, 0, []
        for k, v in expected.items():
            b = v.astype(np.float32).tobytes()
            header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
            off += len(b)
            blobs.append(b)
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        with open(a.expected, "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


if __name__ == "__main__":
    main()
