import CImageShim
import Foundation

/// JPEG through libjpeg (see `CImageShim` for the error guard).
///
/// Reading accepts baseline, extended and progressive files with 1 (gray),
/// 3 (YCbCr or RGB) or 4 (CMYK/YCCK) components and returns RGB:
/// - gray is copied to R, G and B;
/// - CMYK becomes `R = (255 − C)(255 − K)/255` (rounded), likewise G from M and
///   B from Y. Files with an Adobe APP14 marker (Photoshop and most writers)
///   store CMYK inverted, so there `R = C·K/255`. No colour profile is applied.
/// - The EXIF orientation tag (APP1) is applied so the result is upright.
/// Truncated or damaged entropy-coded data is an error, not a gray fill.
public enum JPEGCodec {
    /// Decodes JPEG bytes. `path` only names the file in errors.
    public static func decode(_ data: Data, path: String = "<memory>", maxPixels: Int = ImageFile.defaultMaxPixels,
                              honourOrientation: Bool = true) throws -> RGBImage {
        var out = rtk_decoded()
        var message = [CChar](repeating: 0, count: 256)
        let code = data.withUnsafeBytes { raw -> Int32 in
            let base = raw.bindMemory(to: UInt8.self).baseAddress ?? UnsafePointer(bitPattern: 1)!
            return rtk_jpeg_decode(base, raw.count, UInt64(max(0, maxPixels)), &out, &message, message.count)
        }
        defer {
            rtk_free(out.pixels)
            rtk_free(out.exif)
        }
        guard code == Int32(RTK_OK) else {
            throw shimError(code, path: path, format: "JPEG", reason: String(cString: message), maxPixels: maxPixels)
        }
        let w = Int(out.width), h = Int(out.height), n = w * h
        let channels = Int(out.channels)
        let src = UnsafeBufferPointer(start: out.pixels, count: n * channels)
        var rgb = [UInt8](repeating: 0, count: n * 3)
        switch channels {
        case 1:
            for i in 0..<n {
                rgb[3 * i] = src[i]
                rgb[3 * i + 1] = src[i]
                rgb[3 * i + 2] = src[i]
            }
        case 3:
            rgb = Array(src)
        case 4:
            let inverted = out.inverted_cmyk != 0
            for i in 0..<n {
                // Ink amounts in 0...255, 255 = full ink.
                var ink = (src[4 * i], src[4 * i + 1], src[4 * i + 2], src[4 * i + 3])
                if inverted { ink = (255 - ink.0, 255 - ink.1, 255 - ink.2, 255 - ink.3) }
                let white = 255 - Int(ink.3)
                rgb[3 * i] = UInt8(((255 - Int(ink.0)) * white + 127) / 255)
                rgb[3 * i + 1] = UInt8(((255 - Int(ink.1)) * white + 127) / 255)
                rgb[3 * i + 2] = UInt8(((255 - Int(ink.2)) * white + 127) / 255)
            }
        default:
            throw ImageIOError.unsupported(path: path, reason: "\(channels) channels")
        }
        let image = try RGBImage(width: w, height: h, pixels: rgb)
        guard honourOrientation, let exifBase = out.exif, out.exif_size > 0 else { return image }
        let exif = [UInt8](UnsafeBufferPointer(start: exifBase, count: out.exif_size))
        return image.applyingEXIFOrientation(EXIF.orientation(exif) ?? 1)
    }

    /// Encodes an image as a baseline JPEG, quality 1...100 (4:4:4 chroma from
    /// 90 up, 4:2:0 below). `comment`, when given, goes into a COM marker
    /// as UTF-8 (control characters other than tab and newline become `?`).
    public static func encode(_ image: RGBImage, quality: Int = 92, comment: String? = nil) throws -> Data {
        guard (1...100).contains(quality) else {
            throw ImageIOError.invalidImage(reason: "JPEG quality \(quality), expected 1...100")
        }
        var buffer = rtk_buffer()
        var message = [CChar](repeating: 0, count: 256)
        let safe = comment.map(PNGCodec.metadataSafe)
        let code: Int32 = image.pixels.withUnsafeBufferPointer { px in
            if let safe {
                return rtk_jpeg_encode(px.baseAddress, UInt32(image.width), UInt32(image.height), Int32(quality),
                                       safe, &buffer, &message, message.count)
            }
            return rtk_jpeg_encode(px.baseAddress, UInt32(image.width), UInt32(image.height), Int32(quality),
                                   nil, &buffer, &message, message.count)
        }
        defer { rtk_free(buffer.data) }
        guard code == Int32(RTK_OK) else {
            throw ImageIOError.invalidImage(reason: "JPEG encoding failed: \(String(cString: message))")
        }
        return Data(bytes: buffer.data, count: buffer.size)
    }

    /// The texts of every COM marker before the image data, in file order.
    /// Walks the marker segments up to SOS with bounds checks.
    public static func comments(_ data: Data) -> [String] {
        var found: [String] = []
        let b = [UInt8](data)
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return found }
        var pos = 2
        while pos + 4 <= b.count {
            guard b[pos] == 0xFF else { return found }
            let marker = b[pos + 1]
            if marker == 0xFF { pos += 1; continue }  // fill byte
            if marker == 0xDA || marker == 0xD9 { return found }  // SOS / EOI: no more headers
            let length = Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            guard length >= 2, pos + 2 + length <= b.count else { return found }
            if marker == 0xFE {
                // UTF-8 as written here; bytes that are not UTF-8 (other programs) read as Latin-1
                let bytes = b[(pos + 4)..<(pos + 2 + length)]
                found.append(String(validating: bytes, as: UTF8.self)
                             ?? String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })))
            }
            pos += 2 + length
        }
        return found
    }
}

/// Just enough EXIF (TIFF) parsing to find the orientation tag.
enum EXIF {
    /// The value of tag 0x0112 in IFD0 of a TIFF structure (the APP1 payload
    /// after "Exif\0\0"), or nil when absent or malformed. Every offset is
    /// bounds-checked.
    static func orientation(_ tiff: [UInt8]) -> Int? {
        guard tiff.count >= 8 else { return nil }
        let little: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): little = true   // "II"
        case (0x4D, 0x4D): little = false  // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return little ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for i in 0..<count {
            let entry = ifd + 2 + 12 * i
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                // Type SHORT (3), count 1: the value sits in the first 2 bytes of the value field.
                guard u16(entry + 2) == 3, let value = u16(entry + 8) else { return nil }
                return (1...8).contains(value) ? value : nil
            }
        }
        return nil
    }
}
