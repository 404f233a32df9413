// Image fixtures and independent image readers and writers, shared by the ImageIO tests and the
// command-line tests: the committed JPEG/PPM pairs, a zlib-only PNG reader in Python, a PPM
// reader, and PNG files built byte by byte without libpng.
import Foundation

extension TestSupport {
    /// `Tests/Fixtures/images` in the source tree (made by its `make_jpegs.py`).
    public static let fixtures = repoRoot.appendingPathComponent("Tests/Fixtures/images")

    /// Runs the independent PNG checker (`Fixtures/pngread.py`, zlib + struct
    /// only) on `path`; returns its JSON summary and, when `rgbOut` is given,
    /// the pixels it decoded.
    public static func pythonReadPNG(_ path: String, rgbOut: String? = nil) throws -> (info: [String: Any], rgb: [UInt8]?) {
        var args = [fixtures.appendingPathComponent("pngread.py").path, path]
        if let rgbOut { args.append(rgbOut) }
        let r = try run(python3, args)
        guard r.status == 0 else {
            throw NSError(domain: "pngread", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: "pngread.py failed on \(path): \(r.stderr)"])
        }
        let info = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        let rgb = try rgbOut.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
        return (info, rgb)
    }

    /// Reads a binary PPM (P6, maxval 255) as (width, height, RGB bytes).
    public static func readPPM(_ url: URL) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let bytes = [UInt8](try Data(contentsOf: url))
        var fields: [String] = []
        var pos = 0
        while fields.count < 4 {
            while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A { pos += 1 }
            var token = ""
            while pos < bytes.count, bytes[pos] != 0x20, bytes[pos] != 0x0A {
                token.append(Character(Unicode.Scalar(bytes[pos])))
                pos += 1
            }
            fields.append(token)
        }
        pos += 1  // the single whitespace byte after maxval
        guard fields[0] == "P6", fields[3] == "255", let w = Int(fields[1]), let h = Int(fields[2]),
              w >= 0, h >= 0, pos + w * h * 3 <= bytes.count else {
            throw NSError(domain: "readPPM", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(url.path): not a P6/255 PPM"])
        }
        return (w, h, Array(bytes[pos..<(pos + w * h * 3)]))
    }

    /// Largest absolute difference between two byte arrays of equal length (`Int.max` when
    /// the lengths differ, so the comparison fails instead of crashing the suite).
    public static func maxAbsDiff(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard a.count == b.count else { return Int.max }
        return zip(a, b).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }
}

/// Builds PNG files byte by byte, independently of libpng: chunks with CRC-32,
/// and the image data as a zlib stream of *stored* (uncompressed) deflate
/// blocks with an Adler-32 trailer, so no compressor is needed. Every row uses
/// filter type 0 unless `filters` says otherwise.
public enum HandPNG {
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    public static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    public static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return be32(UInt32(body.count)) + typeBytes + body + be32(crc32(typeBytes + body))
    }

    /// zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
    public static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var pos = 0
        repeat {
            let n = min(65535, data.count - pos)
            let final: UInt8 = pos + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[pos..<(pos + n)]
            pos += n
        } while pos < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + be32(b << 16 | a)
    }

    /// A complete PNG. `rows` are the raw (unfiltered) scanline bytes, packed
    /// as the PNG spec says for `bitDepth` and `colorType`.
    public static func make(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]],
                     palette: [UInt8]? = nil, trns: [UInt8]? = nil, text: (String, String)? = nil) -> [UInt8] {
        var raw: [UInt8] = []
        for row in rows { raw += [0] + row }
        return assemble(width: width, height: height, bitDepth: bitDepth, colorType: colorType, interlace: 0,
                        raw: raw, palette: palette, trns: trns, text: text)
    }

    /// An Adam7-interlaced 8-bit PNG: `pixels[y][x]` holds one pixel's `bytesPerPixel` bytes.
    /// The seven passes (section 8.2 of the PNG specification) are written one after the other, each row with filter 0;
    /// empty passes are left out.
    public static func makeAdam7(width: Int, height: Int, colorType: UInt8, pixels: [[[UInt8]]]) -> [UInt8] {
        let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        var raw: [UInt8] = []
        for (x0, y0, dx, dy) in passes {
            let xs = Array(stride(from: x0, to: width, by: dx)), ys = Array(stride(from: y0, to: height, by: dy))
            guard !xs.isEmpty, !ys.isEmpty else { continue }
            for y in ys {
                raw.append(0)
                for x in xs { raw += pixels[y][x] }
            }
        }
        return assemble(width: width, height: height, bitDepth: 8, colorType: colorType, interlace: 1,
                        raw: raw, palette: nil, trns: nil, text: nil)
    }

    private static func assemble(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, interlace: UInt8, raw: [UInt8],
                                 palette: [UInt8]?, trns: [UInt8]?, text: (String, String)?) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colorType, 0, 0, interlace])
        if let palette { png += chunk("PLTE", palette) }
        if let trns { png += chunk("tRNS", trns) }
        if let text { png += chunk("tEXt", Array(text.0.utf8) + [0] + Array(text.1.utf8)) }
        png += chunk("IDAT", zlibStored(raw))
        png += chunk("IEND", [])
        return png
    }
}
