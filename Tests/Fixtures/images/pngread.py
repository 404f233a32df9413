#!/usr/bin/env python3
"""An independent PNG reader for the tests: Python's zlib and struct only.

    python3 pngread.py FILE.png [OUT.rgb]

Checks the signature and every chunk's CRC, inflates the IDAT stream, undoes
the five PNG row filters, and prints one JSON line:
    {"width", "height", "bit_depth", "color_type", "interlace", "chunks": [...],
     "text": {key: value}}
With OUT.rgb it also writes the pixels as 8-bit RGB (8-bit files only; gray is
copied to three channels and alpha dropped, as ImageIO documents).
Any problem raises, so the exit status is non-zero.
"""
import json
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("bad signature")
    pos, chunks, idat, text, ihdr = 8, [], b"", {}, None
    while True:
        if pos + 12 > len(data):
            raise ValueError("truncated chunk header at %d" % pos)
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ValueError("truncated chunk %r" % ctype)
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC in %r" % ctype)
        name = ctype.decode("latin-1")
        chunks.append(name)
        if name == "IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif name == "IDAT":
            idat += body
        elif name == "tEXt":
            key, _, value = body.partition(b"\0")
            text[key.decode("latin-1")] = value.decode("latin-1")
        elif name == "iTXt":  # keyword, 0, compressed?, method, language, 0, translated keyword, 0, text
            key, _, rest = body.partition(b"\0")
            if rest[0] == 0:
                _lang, _, rest = rest[2:].partition(b"\0")
                _translated, _, value = rest.partition(b"\0")
                text[key.decode("latin-1")] = value.decode("utf-8")
        pos += 12 + length
        if name == "IEND":
            break
    if pos != len(data):
        raise ValueError("%d bytes after IEND" % (len(data) - pos))
    if chunks[0] != "IHDR" or ihdr is None:
        raise ValueError("IHDR is not first")
    width, height, depth, ctype, comp, filt, interlace = ihdr
    return data, chunks, idat, text, (width, height, depth, ctype, interlace)


def unfilter(raw, width, height, depth, ctype):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp = max(1, channels * depth // 8)
    stride = (width * channels * depth + 7) // 8
    if len(raw) != height * (stride + 1):
        raise ValueError("inflated %d bytes, expected %d" % (len(raw), height * (stride + 1)))
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
            elif ftype != 0:
                raise ValueError("bad filter type %d" % ftype)
        rows.append(bytes(line))
        prev = line
    return rows, channels


def main():
    path = sys.argv[1]
    data, chunks, idat, text, (w, h, depth, ctype, interlace) = read_png(path)
    if interlace != 0:
        raise ValueError("interlaced files are not handled by this checker")
    d = zlib.decompressobj()
    raw = d.decompress(idat)
    if not d.eof or d.unused_data:
        raise ValueError("zlib stream incomplete or followed by garbage")
    rows, channels = unfilter(raw, w, h, depth, ctype)
    if len(sys.argv) > 2:
        if depth != 8 or ctype not in (0, 2, 4, 6):
            raise ValueError("RGB output needs an 8-bit non-palette file")
        out = bytearray()
        for row in rows:
            for x in range(w):
                px = row[x * channels:(x + 1) * channels]
                out += bytes(px[:3]) if channels >= 3 else bytes([px[0]] * 3)
        open(sys.argv[2], "wb").write(bytes(out))
    print(json.dumps({"width": w, "height": h, "bit_depth": depth, "color_type": ctype,
                      "interlace": interlace, "chunks": chunks, "text": text}))


if __name__ == "__main__":
    main()
