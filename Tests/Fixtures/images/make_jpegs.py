#!/usr/bin/env python3
"""Makes the small JPEG test files in this folder and their expected pixels.

Run once by hand (needs Pillow, which the tests themselves do not need):
    python3 make_jpegs.py
The JPEGs are written by Pillow's encoder and the expected RGB pixels
(`<name>.ppm`, binary P6) are decoded by Pillow's decoder, so the Swift reader
is checked against an independent implementation. For CMYK, Pillow's decoded
C, M, Y, K values (ink amounts, Adobe inversion undone by Pillow) are turned
into RGB with R = round((255-C)(255-K)/255), the conversion ImageIO documents.
"""
import io
import os
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 24, 16


def card():
    """A 24x16 test card: smooth ramps plus a hard-edged block, so both low
    and high frequencies are present."""
    im = Image.new("RGB", (W, H))
    px = im.load()
    for y in range(H):
        for x in range(W):
            r = x * 255 // (W - 1)
            g = y * 255 // (H - 1)
            b = 255 - (x + y) * 255 // (W + H - 2)
            if 4 <= x < 10 and 3 <= y < 9:
                r, g, b = 250, 240, 20
            px[x, y] = (r, g, b)
    return im


def save_ppm(im, name):
    im = im.convert("RGB")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % im.size)
        f.write(im.tobytes())


def reload(path):
    im = Image.open(path)
    im.load()
    return im


def main():
    base = card()

    base.save(os.path.join(HERE, "rgb-baseline.jpg"), quality=90)
    save_ppm(reload(os.path.join(HERE, "rgb-baseline.jpg")), "rgb-baseline.ppm")

    base.save(os.path.join(HERE, "rgb-progressive.jpg"), quality=85, progressive=True)
    assert reload(os.path.join(HERE, "rgb-progressive.jpg")).info.get("progressive") == 1
    save_ppm(reload(os.path.join(HERE, "rgb-progressive.jpg")), "rgb-progressive.ppm")

    base.convert("L").save(os.path.join(HERE, "gray.jpg"), quality=90)
    g = reload(os.path.join(HERE, "gray.jpg"))
    assert g.mode == "L"
    save_ppm(g, "gray.ppm")

    base.convert("CMYK").save(os.path.join(HERE, "cmyk-adobe.jpg"), quality=95)
    c = reload(os.path.join(HERE, "cmyk-adobe.jpg"))
    assert c.mode == "CMYK"
    rgb = Image.new("RGB", c.size)
    src, dst = c.load(), rgb.load()
    for y in range(c.size[1]):
        for x in range(c.size[0]):
            cc, m, yy, k = src[x, y]
            dst[x, y] = tuple(((255 - v) * (255 - k) + 127) // 255 for v in (cc, m, yy))
    save_ppm(rgb, "cmyk-adobe.ppm")

    # EXIF orientation 6: stored sideways, shown rotated 90 degrees clockwise.
    exif = Image.Exif()
    exif[0x0112] = 6
    base.save(os.path.join(HERE, "exif-orientation6.jpg"), quality=90, exif=exif.tobytes())
    from PIL import ImageOps
    upright = ImageOps.exif_transpose(reload(os.path.join(HERE, "exif-orientation6.jpg")))
    assert upright.size == (H, W)
    save_ppm(upright, "exif-orientation6.ppm")


if __name__ == "__main__":
    main()
