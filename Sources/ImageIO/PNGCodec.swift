import CImageShim
import Foundation

/// PNG through libpng (see `CImageShim` for the error guard).
///
/// Reading accepts every PNG colour type and bit depth: palette is expanded,
/// 16-bit samples are scaled to 8 bit with rounding (`round(v · 255 / 65535)`),
/// gray is copied to R, G and B, and alpha (or tRNS) is dropped without
/// compositing. Writing produces 8-bit RGB, non-interlaced, with an optional
/// `tEXt` chunk placed before the image data.
public enum PNGCodec {
    /// Decodes PNG bytes. `path` only names the file in errors.
    public static func decode(_ data: Data, path: String = "<memory>", maxPixels: Int = ImageFile.defaultMaxPixels) throws -> RGBImage {
        var out = rtk_decoded()
        var message = [CChar](repeating: 0, count: 256)
        let code = data.withUnsafeBytes { raw -> Int32 in
            let base = raw.bindMemory(to: UInt8.self).baseAddress ?? UnsafePointer(bitPattern: 1)!
            return rtk_png_decode(base, raw.count, UInt64(max(0, maxPixels)), &out, &message, message.count)
        }
        defer { rtk_free(out.pixels) }
        let reason = String(cString: message)
        guard code == Int32(RTK_OK) else { throw shimError(code, path: path, format: "PNG", reason: reason, maxPixels: maxPixels) }
        let count = Int(out.width) * Int(out.height) * 3
        let pixels = [UInt8](UnsafeBufferPointer(start: out.pixels, count: count))
        return try RGBImage(width: Int(out.width), height: Int(out.height), pixels: pixels)
    }

    /// Encodes an image as PNG. `text`, when given, is stored under `key` (1...79 printable
    /// ASCII characters): in a `tEXt` chunk when it is ASCII, else in an uncompressed `iTXt`
    /// chunk as UTF-8. Control characters other than tab and newline are written as `?`.
    public static func encode(_ image: RGBImage, textKey: String = "reptok", text: String? = nil) throws -> Data {
        guard (1...79).contains(textKey.utf8.count), textKey.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw ImageIOError.invalidImage(reason: "PNG text key must be 1...79 printable ASCII characters")
        }
        var buffer = rtk_buffer()
        var message = [CChar](repeating: 0, count: 256)
        let safeText = text.map(metadataSafe)
        let code: Int32 = image.pixels.withUnsafeBufferPointer { px in
            if let safeText {
                return rtk_png_encode(px.baseAddress, UInt32(image.width), UInt32(image.height),
                                      textKey, safeText, &buffer, &message, message.count)
            }
            return rtk_png_encode(px.baseAddress, UInt32(image.width), UInt32(image.height),
                                  nil, nil, &buffer, &message, message.count)
        }
        defer { rtk_free(buffer.data) }
        guard code == Int32(RTK_OK) else {
            throw ImageIOError.invalidImage(reason: "PNG encoding failed: \(String(cString: message))")
        }
        return Data(bytes: buffer.data, count: buffer.size)
    }

    /// The `tEXt` and uncompressed `iTXt` chunks of a PNG, keyword → text, in file order (a repeated
    /// keyword keeps its first text). Walks the chunk list without decoding
    /// pixels; checks the signature, every length, and the CRC of every chunk.
    public static func textChunks(_ data: Data, path: String = "<memory>") throws -> [(key: String, text: String)] {
        let bytes = [UInt8](data)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw ImageIOError.notAnImage(path: path) }
        var result: [(key: String, text: String)] = []
        var pos = 8
        while true {
            guard bytes.count - pos >= 12 else {
                throw ImageIOError.corrupt(path: path, format: "PNG", reason: "truncated chunk at byte \(pos)")
            }
            let length = Int(bytes[pos]) << 24 | Int(bytes[pos + 1]) << 16 | Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
            guard length <= 0x7FFF_FFFF, length <= bytes.count - pos - 12 else {
                throw ImageIOError.corrupt(path: path, format: "PNG", reason: "chunk at byte \(pos) claims \(length) bytes, file has \(bytes.count - pos - 12) left")
            }
            let type = String(decoding: bytes[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let body = bytes[(pos + 8)..<(pos + 8 + length)]
            let crcAt = pos + 8 + length
            let stored = UInt32(bytes[crcAt]) << 24 | UInt32(bytes[crcAt + 1]) << 16 | UInt32(bytes[crcAt + 2]) << 8 | UInt32(bytes[crcAt + 3])
            let computed = CRC32.checksum(bytes[(pos + 4)..<crcAt])
            guard stored == computed else {
                throw ImageIOError.corrupt(path: path, format: "PNG", reason: "bad CRC in \(type) chunk (stored \(String(stored, radix: 16)), computed \(String(computed, radix: 16)))")
            }
            if type == "tEXt", let zero = body.firstIndex(of: 0) {
                let key = String(decoding: body[body.startIndex..<zero], as: UTF8.self)
                // tEXt is Latin-1: every byte is one Unicode scalar.
                let text = String(String.UnicodeScalarView(body[(zero + 1)...].map { Unicode.Scalar($0) }))
                if !result.contains(where: { $0.key == key }) { result.append((key, text)) }
            }
            if type == "iTXt", let entry = internationalText(body), !result.contains(where: { $0.key == entry.key }) {
                result.append(entry)
            }
            pos = crcAt + 4
            if type == "IEND" { break }
        }
        return result
    }

    /// An uncompressed iTXt chunk's keyword and UTF-8 text (keyword, 0, compression flag,
    /// method, language tag, 0, translated keyword, 0, text); nil for a compressed or malformed one.
    static func internationalText(_ body: ArraySlice<UInt8>) -> (key: String, text: String)? {
        guard let zero = body.firstIndex(of: 0), body.endIndex - zero >= 3, body[zero + 1] == 0 else { return nil }
        let rest = body[(zero + 3)...]
        guard let lang = rest.firstIndex(of: 0), let translated = rest[(lang + 1)...].firstIndex(of: 0) else { return nil }
        return (String(decoding: body[body.startIndex..<zero], as: UTF8.self),
                String(decoding: body[(translated + 1)...], as: UTF8.self))
    }

    /// Replaces what the metadata must not hold (control characters other than tab and
    /// newline) by `?`; every other character stays (non-ASCII text goes to iTXt, as UTF-8).
    static func metadataSafe(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { s in
            s.value >= 0x20 && s.value != 0x7F || s == "\n" || s == "\t" ? s : "?"
        }))
    }
}

/// CRC-32 (ISO 3309, polynomial 0xEDB88320 reflected), as used by PNG chunks.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

/// Maps a shim return code to a typed error.
func shimError(_ code: Int32, path: String, format: String, reason: String, maxPixels: Int) -> ImageIOError {
    switch code {
    case Int32(RTK_ERR_TOO_LARGE):
        // The shim's message holds the sides; parse them back for the typed error.
        let numbers = reason.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return .tooLarge(path: path, width: numbers.first ?? 0, height: numbers.dropFirst().first ?? 0, maxPixels: maxPixels)
    case Int32(RTK_ERR_UNSUPPORTED):
        return .unsupported(path: path, reason: reason)
    case Int32(RTK_ERR_NOMEM):
        return .unreadable(path: path, reason: reason)
    default:
        return .corrupt(path: path, format: format, reason: reason)
    }
}
