// Streaming GGUF v3 writer: metadata and the tensor table first, then tensor data one tensor at a time.
import Foundation
import Support

/// Errors from writing a GGUF file (I/O failures are `FileAccessError`).
public enum GGUFWriterError: Error, CustomStringConvertible, Equatable {
    case duplicateTensor(name: String)
    case emptyArray(key: String)
    case mixedArray(key: String)
    case nestedArray(key: String)
    case badShape(name: String, shape: [Int])
    case alreadyStarted
    case notStarted
    case unexpectedTensor(expected: String?, got: String)
    case wrongByteCount(name: String, expected: Int, got: Int)
    case missingTensorData(names: [String])
    case patchNotAllowed(key: String, reason: String)

    public var description: String {
        switch self {
        case let .duplicateTensor(n): return "tensor \(n) declared twice"
        case let .emptyArray(k): return "metadata \(k): empty arrays have no element type"
        case let .mixedArray(k): return "metadata \(k): array elements must share one type"
        case let .nestedArray(k): return "metadata \(k): nested arrays are not supported"
        case let .badShape(n, s): return "tensor \(n): invalid shape \(s)"
        case .alreadyStarted: return "GGUF header already written: declare metadata and tensors before begin()"
        case .notStarted: return "GGUF writer: begin() not called"
        case let .unexpectedTensor(e, g): return "GGUF writer: got data for \(g), expected \(e ?? "no more tensors")"
        case let .wrongByteCount(n, e, g): return "tensor \(n): expected \(e) bytes of data, got \(g)"
        case let .missingTensorData(names): return "no data written for \(names.count) tensor(s): \(names.prefix(5).joined(separator: ", "))"
        case let .patchNotAllowed(k, r): return "metadata \(k) cannot be patched: \(r)"
        }
    }
}

/// Writes a GGUF v3 file atomically, streaming tensor data.
///
/// Use: `set` metadata and `declareTensor` every tensor; `begin()` writes the header and table;
/// `writeTensor` each tensor's bytes in declaration order; `patch` fixed-size scalar metadata whose value
/// is known only at the end (e.g. error statistics); `finish()` fsyncs and renames. If `finish()` is
/// not reached, the temporary file is removed when the writer is released.
public final class GGUFWriter {
    /// Final path.
    public let path: String
    /// Data alignment in bytes (written as `general.alignment`).
    public let alignment: Int

    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private struct Decl { let name: String; let type: GGMLType; let shape: [Int]; let bytes: Int; var offset: Int }
    private var decls: [Decl] = []
    private var declIndex: [String: Int] = [:]
    private var next = 0
    private var file: AtomicFile?
    private var dataStart = 0
    /// File offsets of the metadata values (for `patch`).
    private var valueOffsets: [String: Int] = [:]

    /// `alignment` must be a power of two (GGUF default 32; reptok uses 64).
    public init(path: String, alignment: Int = 64) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.path = path
        self.alignment = alignment
        set("general.alignment", .uint32(UInt32(alignment)))
    }

    /// Sets (or replaces) a metadata value. Keys keep their first-set order.
    public func set(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }

    /// Declares a tensor. `shape` is PyTorch (row-major) order; the file stores it reversed.
    public func declareTensor(name: String, type: GGMLType, shape: [Int]) throws {
        guard file == nil else { throw GGUFWriterError.alreadyStarted }
        guard declIndex[name] == nil else { throw GGUFWriterError.duplicateTensor(name: name) }
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }), shape.last! % type.blockElements == 0 else {
            throw GGUFWriterError.badShape(name: name, shape: shape)
        }
        declIndex[name] = decls.count
        decls.append(Decl(name: name, type: type, shape: shape, bytes: type.byteCount(shape.reduce(1, *)), offset: 0))
    }

    /// Names of the declared tensors, in order.
    public var declaredTensors: [String] { decls.map(\.name) }

    /// Writes the header, metadata and tensor table to the temporary file.
    public func begin() throws {
        guard file == nil else { throw GGUFWriterError.alreadyStarted }
        var h: [UInt8] = []
        h += Array("GGUF".utf8)
        h.appendLE(UInt32(3))
        h.appendLE(UInt64(decls.count))
        h.appendLE(UInt64(keys.count))
        for k in keys {
            let v = values[k]!
            h.appendString(k)
            h.appendLE(v.typeCode)
            valueOffsets[k] = h.count
            try h.appendValue(v, key: k)
        }
        var off = 0
        for i in decls.indices {
            decls[i].offset = off
            off += (decls[i].bytes + alignment - 1) / alignment * alignment
        }
        for d in decls {
            h.appendString(d.name)
            h.appendLE(UInt32(d.shape.count))
            for n in d.shape.reversed() { h.appendLE(UInt64(n)) }
            h.appendLE(d.type.rawValue)
            h.appendLE(UInt64(d.offset))
        }
        dataStart = (h.count + alignment - 1) / alignment * alignment
        h += [UInt8](repeating: 0, count: dataStart - h.count)
        let f = try FileAccessError.wrapping { try AtomicFile(path: path) }
        try FileAccessError.wrapping { try f.write(h) }
        file = f
    }

    /// Writes the next tensor's data (`name` must be the next declared tensor; `bytes` its exact size).
    public func writeTensor(name: String, bytes: UnsafeRawBufferPointer) throws {
        guard let f = file else { throw GGUFWriterError.notStarted }
        guard next < decls.count, decls[next].name == name else {
            throw GGUFWriterError.unexpectedTensor(expected: next < decls.count ? decls[next].name : nil, got: name)
        }
        let d = decls[next]
        guard bytes.count == d.bytes else { throw GGUFWriterError.wrongByteCount(name: name, expected: d.bytes, got: bytes.count) }
        precondition(f.position == dataStart + d.offset, "writer position out of step")
        let padded = (d.bytes + alignment - 1) / alignment * alignment
        try FileAccessError.wrapping {
            try f.write(bytes)
            try f.writeZeros(padded - d.bytes)
        }
        next += 1
    }

    /// Writes the next tensor from an array of trivially-typed elements (Float, Int8, UInt16...).
    public func writeTensor<T>(name: String, values: [T]) throws {
        try values.withUnsafeBytes { try writeTensor(name: name, bytes: $0) }
    }

    /// Replaces a metadata value after `begin()` by one of the same GGUF type and the same encoded
    /// size (any scalar of its type; a string of as many UTF-8 bytes, such as a digest written as a
    /// placeholder first); before `begin()` it is the same as `set`.
    public func patch(_ key: String, _ value: GGUFValue) throws {
        guard let f = file else {
            guard values[key] != nil else { throw GGUFWriterError.patchNotAllowed(key: key, reason: "not set") }
            set(key, value); return
        }
        guard let old = values[key], let at = valueOffsets[key] else { throw GGUFWriterError.patchNotAllowed(key: key, reason: "not set") }
        guard old.typeCode == value.typeCode else {
            throw GGUFWriterError.patchNotAllowed(key: key, reason: "type differs from the declared value")
        }
        var b: [UInt8] = [], was: [UInt8] = []
        try b.appendValue(value, key: key)
        try was.appendValue(old, key: key)
        guard b.count == was.count else {
            throw GGUFWriterError.patchNotAllowed(key: key, reason: "\(b.count) bytes where the declared value has \(was.count)")
        }
        try FileAccessError.wrapping { try f.overwrite(at: at, b) }
        values[key] = value
    }

    /// Checks that every tensor was written, then fsyncs and renames into place.
    public func finish() throws {
        guard let f = file else { throw GGUFWriterError.notStarted }
        guard next == decls.count else { throw GGUFWriterError.missingTensorData(names: decls[next...].map(\.name)) }
        try FileAccessError.wrapping { try f.commit() }
    }
}

extension GGUFValue {
    /// Encoded size for fixed-size scalars; `nil` for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendString(_ s: String) {
        let u = Array(s.utf8)
        appendLE(UInt64(u.count))
        append(contentsOf: u)
    }

    /// Appends the value's payload (not its type code).
    mutating func appendValue(_ v: GGUFValue, key: String) throws {
        switch v {
        case let .uint8(x): append(x)
        case let .int8(x): append(UInt8(bitPattern: x))
        case let .uint16(x): appendLE(x)
        case let .int16(x): appendLE(x)
        case let .uint32(x): appendLE(x)
        case let .int32(x): appendLE(x)
        case let .float32(x): appendLE(x.bitPattern)
        case let .bool(x): append(x ? 1 : 0)
        case let .string(s): appendString(s)
        case let .array(a):
            guard let first = a.first else { throw GGUFWriterError.emptyArray(key: key) }
            if case .array = first { throw GGUFWriterError.nestedArray(key: key) }
            guard a.allSatisfy({ $0.typeCode == first.typeCode }) else { throw GGUFWriterError.mixedArray(key: key) }
            appendLE(first.typeCode)
            appendLE(UInt64(a.count))
            for e in a { try appendValue(e, key: key) }
        case let .uint64(x): appendLE(x)
        case let .int64(x): appendLE(x)
        case let .float64(x): appendLE(x.bitPattern)
        }
    }
}
