// safetensors reader (memory-mapped, bounds-checked) and a small F32 writer.
//
// Format: u64 header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data section; offsets are relative to its start (8 + N).
import Foundation
import Support

/// Element types of safetensors that reptok reads.
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32", u8 = "U8", i8 = "I8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .u8, .i8, .bool: return 1
        }
    }
}

/// One tensor's header entry.
public struct SafeTensorsInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Row-major shape (`[]` for a scalar).
    public let shape: [Int]
    /// Absolute offset of the data in the file.
    public let fileOffset: Int
    /// Data size in bytes (= product(shape) × dtype size, checked).
    public let byteCount: Int
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Errors from reading or writing safetensors. Every case names the file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(path: String, needed: Int, fileSize: Int)
    case headerTooLarge(path: String, headerBytes: UInt64, fileSize: Int)
    case badHeader(path: String, reason: String)
    case unsupportedDType(path: String, name: String, dtype: String)
    case badEntry(path: String, name: String, reason: String)
    case outOfBounds(path: String, name: String, begin: Int, end: Int, dataBytes: Int)
    case sizeMismatch(path: String, name: String, expected: Int, actual: Int)
    case missingTensor(name: String, path: String)
    case wrongDType(path: String, name: String, dtype: SafeTensorsDType, wanted: String)
    case badShape(path: String, name: String, shape: [Int], values: Int)

    public var description: String {
        switch self {
        case let .truncated(p, n, s): return "\(p): truncated safetensors file: need \(n) bytes, file has \(s)"
        case let .headerTooLarge(p, h, s): return "\(p): safetensors header length \(h) exceeds the file (\(s) bytes) or the 100 MB limit"
        case let .badHeader(p, r): return "\(p): invalid safetensors header: \(r)"
        case let .unsupportedDType(p, n, d): return "\(p): tensor \(n): dtype \(d) is not supported"
        case let .badEntry(p, n, r): return "\(p): tensor \(n): \(r)"
        case let .outOfBounds(p, n, b, e, d): return "\(p): tensor \(n): data_offsets [\(b), \(e)] lie outside the data section (\(d) bytes)"
        case let .sizeMismatch(p, n, e, a): return "\(p): tensor \(n): shape × dtype needs \(e) bytes, data_offsets give \(a)"
        case let .missingTensor(n, p): return "\(p): tensor \(n) is missing"
        case let .wrongDType(p, n, d, w): return "\(p): tensor \(n) has dtype \(d.rawValue), expected \(w)"
        case let .badShape(p, n, s, v): return "\(p): tensor \(n): shape \(s) does not hold \(v) values"
        }
    }
}

/// A safetensors file mapped read-only. The header is parsed and every entry checked in `init`.
public final class SafeTensorsFile {
    public let path: String
    /// Tensor names in data-offset order.
    public let names: [String]
    /// `__metadata__` strings (empty when absent).
    public let metadata: [String: String]
    private let infos: [String: SafeTensorsInfo]
    private let file: MappedFile

    /// Largest header accepted (the format's own limit is 100 MB).
    static let maxHeaderBytes: UInt64 = 100_000_000

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        guard file.size >= 8 else { throw SafeTensorsError.truncated(path: path, needed: 8, fileSize: file.size) }
        let n = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard n <= SafeTensorsFile.maxHeaderBytes, n <= UInt64(file.size - 8) else {
            throw SafeTensorsError.headerTooLarge(path: path, headerBytes: n, fileSize: file.size)
        }
        let headerData = Data(UnsafeRawBufferPointer(rebasing: file.bytes[8 ..< 8 + Int(n)]))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerData) } catch {
            throw SafeTensorsError.badHeader(path: path, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let dict = json as? [String: Any] else { throw SafeTensorsError.badHeader(path: path, reason: "top level is not an object") }
        let dataStart = 8 + Int(n)
        let dataBytes = file.size - dataStart
        var infos: [String: SafeTensorsInfo] = [:]
        var meta: [String: String] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                if let m = value as? [String: Any] { for (k, v) in m { meta[k] = v as? String ?? "\(v)" } }
                continue
            }
            guard let e = value as? [String: Any] else { throw SafeTensorsError.badEntry(path: path, name: name, reason: "entry is not an object") }
            guard let ds = e["dtype"] as? String else { throw SafeTensorsError.badEntry(path: path, name: name, reason: "missing dtype") }
            guard let dtype = SafeTensorsDType(rawValue: ds) else { throw SafeTensorsError.unsupportedDType(path: path, name: name, dtype: ds) }
            guard let shapeAny = e["shape"] as? [Any], let offs = e["data_offsets"] as? [Any], offs.count == 2 else {
                throw SafeTensorsError.badEntry(path: path, name: name, reason: "missing shape or data_offsets")
            }
            var shape: [Int] = []
            for s in shapeAny {
                guard let d = SafeTensorsFile.integer(s), d >= 0 else { throw SafeTensorsError.badEntry(path: path, name: name, reason: "bad dimension \(s)") }
                shape.append(d)
            }
            guard let (n, nonzero) = shapeProducts(shape), nonzero <= UInt64(file.size) else {
                throw SafeTensorsError.badEntry(path: path, name: name, reason: "shape \(shapeAny) is larger than the file")
            }
            let count = Int(n)
            guard let b = SafeTensorsFile.integer(offs[0]), let en = SafeTensorsFile.integer(offs[1]) else {
                throw SafeTensorsError.badEntry(path: path, name: name, reason: "data_offsets are not integers")
            }
            guard b >= 0, en >= b, en <= dataBytes else {
                throw SafeTensorsError.outOfBounds(path: path, name: name, begin: b, end: en, dataBytes: dataBytes)
            }
            guard en - b == count * dtype.size else {
                throw SafeTensorsError.sizeMismatch(path: path, name: name, expected: count * dtype.size, actual: en - b)
            }
            infos[name] = SafeTensorsInfo(name: name, dtype: dtype, shape: shape, fileOffset: dataStart + b, byteCount: en - b)
        }
        self.infos = infos
        self.metadata = meta
        self.names = infos.values.sorted { ($0.fileOffset, $0.name) < ($1.fileOffset, $1.name) }.map(\.name)
    }

    /// Integer from a JSON number (NSNumber), refusing fractions.
    private static func integer(_ v: Any) -> Int? {
        if let i = v as? Int { return i }
        if let d = v as? Double, d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        return nil
    }

    /// The header entry of `name`.
    public func info(_ name: String) throws -> SafeTensorsInfo {
        guard let i = infos[name] else { throw SafeTensorsError.missingTensor(name: name, path: path) }
        return i
    }

    /// `true` when the file has a tensor `name`.
    public func contains(_ name: String) -> Bool { infos[name] != nil }

    /// The raw little-endian bytes of `name` (valid while this object lives).
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let i = try info(name)
        return UnsafeRawBufferPointer(start: file.base + i.fileOffset, count: i.byteCount)
    }

    /// `name` as Float (from F32, F16, BF16, F64; integers by value).
    public func floats(_ name: String) throws -> [Float] {
        let i = try info(name)
        let raw = try rawBytes(name)
        switch i.dtype {
        case .f32: return decodeFloats(raw, type: .f32, count: i.count)
        case .f16: return decodeFloats(raw, type: .f16, count: i.count)
        case .bf16: return decodeFloats(raw, type: .bf16, count: i.count)
        case .f64: return decodeFloats(raw, type: .f64, count: i.count)
        case .i64: return decodeFloats(raw, type: .i64, count: i.count)
        case .i32: return decodeFloats(raw, type: .i32, count: i.count)
        case .i8: return decodeFloats(raw, type: .i8, count: i.count)
        case .u8, .bool: return raw.map { Float($0) }
        }
    }

    /// `name` as Int64 (from I64, I32, I8, U8, BOOL).
    public func int64s(_ name: String) throws -> [Int64] {
        let i = try info(name)
        let raw = try rawBytes(name)
        switch i.dtype {
        case .i64: return (0 ..< i.count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
        case .i32: return (0 ..< i.count).map { Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        case .i8: return raw.map { Int64(Int8(bitPattern: $0)) }
        case .u8, .bool: return raw.map { Int64($0) }
        default: throw SafeTensorsError.wrongDType(path: path, name: name, dtype: i.dtype, wanted: "an integer type")
        }
    }

    /// `name` as bytes (U8, BOOL, I8 reinterpreted).
    public func uint8s(_ name: String) throws -> [UInt8] {
        let i = try info(name)
        guard i.dtype.size == 1 else { throw SafeTensorsError.wrongDType(path: path, name: name, dtype: i.dtype, wanted: "U8") }
        return Array(try rawBytes(name))
    }

    /// Drops the resident pages of these tensors (re-read from disk if used again).
    public func releasePages(of names: [String]) {
        for n in names { if let i = infos[n] { file.release(offset: i.fileOffset, count: i.byteCount) } }
    }
}

/// Writes F32 safetensors files (atomically).
public enum SafeTensorsWriter {
    /// Writes `tensors` in the given order as F32. Each `values.count` must equal product(`shape`).
    public static func write(path: String, tensors: [(name: String, shape: [Int], values: [Float])],
                             metadata: [String: String] = [:]) throws {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var off = 0
        for t in tensors {
            guard t.shape.allSatisfy({ $0 >= 0 }), t.shape.reduce(1, *) == t.values.count else {
                throw SafeTensorsError.badShape(path: path, name: t.name, shape: t.shape, values: t.values.count)
            }
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(off),\(off + 4 * t.values.count)]}")
            off += 4 * t.values.count
        }
        header += parts.joined(separator: ",") + "}"
        var h = Array(header.utf8)
        h += [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8)
        var len: [UInt8] = []
        len.appendLE(UInt64(h.count))
        try FileAccessError.wrapping {
            let f = try AtomicFile(path: path)
            try f.write(len)
            try f.write(h)
            for t in tensors {
                let le = t.values.map { $0.bitPattern.littleEndian }
                try le.withUnsafeBytes { try f.write($0) }
            }
            try f.commit()
        }
    }

    /// A JSON string literal.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
