import Foundation

/// NumPy `.npy` files holding one float array, so tokens move to and from Python.
///
/// Writing: format version 1.0, `descr` `'<f4'` (little-endian float32),
/// `fortran_order` False, header padded with spaces and ended by `\n` so the
/// data starts at a multiple of 64 bytes (as NumPy writes it).
/// Reading: versions 1.0, 2.0 and 3.0; `'<f4'` is read as is, `'<f8'` is
/// narrowed to float32 and `'|u1'` (uint8, exact in float32) widened; every other dtype, Fortran order, a malformed header or
/// a data size that does not match the shape is a `badNPY` error.
public enum NPYFile {
    /// An array read from a `.npy` file: `values` in C (row-major) order.
    public struct Array: Equatable, Sendable {
        /// Dimensions, outermost first; `[]` for a scalar.
        public var shape: [Int]
        /// `shape.reduce(1, *)` values.
        public var values: [Float]

        public init(shape: [Int], values: [Float]) {
            self.shape = shape
            self.values = values
        }
    }

    /// The most values accepted when reading (4 G values would not fit in memory anyway).
    public static let maxValues = 1 << 28

    /// Encodes `values` with `shape` (C order) as `.npy` bytes.
    public static func encode(_ values: [Float], shape: [Int]) throws -> Data {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw ImageIOError.invalidImage(reason: "npy shape \(shape) does not hold \(values.count) values")
        }
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // magic (6) + version (2) + length (2) + header + "\n" ≡ 0 (mod 64)
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Swift.Array(header.utf8))
        data.reserveCapacity(data.count + values.count * 4)
        for v in values {
            let bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes a float32 `.npy` atomically.
    public static func write(_ values: [Float], shape: [Int], to path: String) throws {
        try FileData.write(encode(values, shape: shape), to: path)
    }

    /// Reads a float `.npy` file (see the type's documentation).
    public static func read(_ path: String) throws -> Array {
        try decode(FileData.read(path, maxBytes: maxValues * 8 + 65536), path: path)
    }

    /// Decodes `.npy` bytes; `path` only names the file in errors.
    public static func decode(_ data: Data, path: String = "<memory>") throws -> Array {
        let b = [UInt8](data)
        func fail(_ reason: String) -> ImageIOError { .badNPY(path: path, reason: reason) }
        guard b.count >= 10, Swift.Array(b[0..<6]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
            throw fail("missing the \\x93NUMPY magic")
        }
        let major = b[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(b[8]) | Int(b[9]) << 8
            headerStart = 10
        case 2, 3:
            guard b.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            headerStart = 12
        default:
            throw fail("format version \(major).\(b[7]), expected 1.0, 2.0 or 3.0")
        }
        guard headerLength <= b.count - headerStart else {
            throw fail("header claims \(headerLength) bytes, file has \(b.count - headerStart)")
        }
        let header = String(decoding: b[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let dict = try parseHeader(header, fail: fail)
        guard let descr = dict["descr"] else { throw fail("header has no 'descr'") }
        guard let fortran = dict["fortran_order"] else { throw fail("header has no 'fortran_order'") }
        guard fortran == "False" else { throw fail("fortran_order is \(fortran), expected False") }
        guard let shapeText = dict["shape"] else { throw fail("header has no 'shape'") }
        let shape = try parseShape(shapeText, fail: fail)
        // The nonzero dimensions are bounded too: with a zero the count is 0, but multiplying the
        // shape in another order must still not overflow.
        var count = 1, nonzero = 1
        for d in shape {
            let (c, overflow) = count.multipliedReportingOverflow(by: d)
            let (z, overflowZ) = nonzero.multipliedReportingOverflow(by: max(d, 1))
            guard !overflow, !overflowZ, c <= maxValues, z <= maxValues else { throw fail("shape \(shape) holds more than \(maxValues) values") }
            count = c
            nonzero = z
        }
        let itemSize: Int
        switch descr {
        case "'<f4'": itemSize = 4
        case "'<f8'": itemSize = 8
        case "'|u1'": itemSize = 1
        default: throw fail("dtype \(descr), expected '<f4' (float32 little-endian), '<f8' or '|u1'")
        }
        let dataStart = headerStart + headerLength
        guard b.count - dataStart == count * itemSize else {
            throw fail("data is \(b.count - dataStart) bytes, shape \(shape) of \(descr) needs \(count * itemSize)")
        }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let at = dataStart + i * itemSize
            if itemSize == 1 {
                values[i] = Float(b[at])
            } else if itemSize == 4 {
                var bits: UInt32 = 0
                for k in 0..<4 { bits |= UInt32(b[at + k]) << (8 * k) }
                values[i] = Float(bitPattern: bits)
            } else {
                var bits: UInt64 = 0
                for k in 0..<8 { bits |= UInt64(b[at + k]) << (8 * k) }
                values[i] = Float(Double(bitPattern: bits))
            }
        }
        return Array(shape: shape, values: values)
    }

    /// Splits the header's Python dict literal into key → value text. Only the
    /// forms NumPy writes are accepted: `{'key': value, ...}` with string,
    /// boolean or tuple values.
    private static func parseHeader(_ text: String, fail: (String) -> ImageIOError) throws -> [String: String] {
        var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        guard s.hasPrefix("{"), s.hasSuffix("}") else { throw fail("header is not a dict: \(text.prefix(80))") }
        s = s.dropFirst().dropLast()
        var result: [String: String] = [:]
        while true {
            s = s.drop(while: { $0 == " " || $0 == "," })
            if s.isEmpty { break }
            guard s.first == "'" || s.first == "\"" else { throw fail("bad header key near \(s.prefix(20))") }
            let quote = s.first!
            s = s.dropFirst()
            guard let end = s.firstIndex(of: quote) else { throw fail("unterminated header key") }
            let key = String(s[..<end])
            s = s[s.index(after: end)...].drop(while: { $0 == " " })
            guard s.first == ":" else { throw fail("missing ':' after '\(key)'") }
            s = s.dropFirst().drop(while: { $0 == " " })
            let value: Substring
            if s.first == "(" {
                guard let close = s.firstIndex(of: ")") else { throw fail("unterminated tuple for '\(key)'") }
                value = s[...close]
            } else if s.first == "'" || s.first == "\"" {
                let q = s.first!
                guard let close = s.dropFirst().firstIndex(of: q) else { throw fail("unterminated string for '\(key)'") }
                value = s[...close]
            } else {
                value = s.prefix(while: { $0 != "," && $0 != "}" })
            }
            s = s[value.endIndex...]
            result[key] = value.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "'")
        }
        return result
    }

    /// Parses `()`, `(n,)` or `(a, b, ...)` into non-negative sizes.
    private static func parseShape(_ text: String, fail: (String) -> ImageIOError) throws -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw fail("shape \(text) is not a tuple") }
        let inner = text.dropFirst().dropLast()
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let n = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), n >= 0 else {
                throw fail("shape \(text) has a bad size '\(t)'")
            }
            shape.append(n)
        }
        return shape
    }
}
