#!/usr/bin/env python3
"""Independent GGUF check: open a file with the PyPI `gguf` package and print what it sees as JSON.

    python3 check_gguf.py FILE.gguf

Output: {"alignment": int, "metadata": {key: value}, "tensors": [{"name", "type", "shape", "n_bytes",
"offset", "sha256"}]} where `shape` is the *PyTorch* order (the reverse of gguf's ne order), `type` is
the ggml type name (F32, F16, I8, Q4_0, ...), `offset` is the absolute file offset of the data and `sha256` the
digest of the tensor's data bytes. Quantized block types (Q4_0) also get `dequant_sha256`: the digest of the
values as the package dequantizes them (float32, little-endian, row-major). Metadata strings/numbers/arrays are decoded; exits non-zero if the
package cannot read the file.
"""
import hashlib
import json
import sys

import gguf
import numpy as np


def field_value(field):
    """Decode a ReaderField into a plain Python value (scalars, strings, arrays of either)."""
    vt = field.types[0] if field.types else None
    if vt == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    if vt == gguf.GGUFValueType.ARRAY:
        et = field.types[1] if len(field.types) > 1 else None
        if et == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    return field.parts[field.data[0]].tolist()[0]


def main(path):
    reader = gguf.GGUFReader(path, "r")
    meta = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        meta[name] = field_value(field)
    tensors = []
    for t in reader.tensors:
        raw = np.ascontiguousarray(t.data).view(np.uint8).tobytes()
        extra = {}
        if t.tensor_type == gguf.GGMLQuantizationType.Q4_0:
            values = gguf.quants.dequantize(t.data, t.tensor_type).astype("<f4")
            extra["dequant_sha256"] = hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()
        tensors.append({
            **extra,
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(x) for x in reversed(t.shape.tolist())],
            "n_bytes": int(t.n_bytes),
            "offset": int(t.data_offset),
            "sha256": hashlib.sha256(raw).hexdigest(),
        })
    json.dump({"alignment": int(reader.alignment), "metadata": meta, "tensors": tensors}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
