// GGUF v3 reader: header, metadata, tensor table; tensor data served straight from a memory map.
//
// Layout (all little-endian):
//   "GGUF" u32 version(3) u64 tensor_count u64 kv_count
//   kv_count × { string key, u32 value_type, value }
//   tensor_count × { string name, u32 n_dims, n_dims × u64 ne (fastest first), u32 ggml_type, u64 offset }
//   padding to `general.alignment` (default 32), then the data section; `offset` is relative to it.
// A string is u64 length + UTF-8 bytes; an array is u32 element type + u64 count + elements.
import Foundation

/// Tensor element types, numbered as in ggml (`enum ggml_type`): the non-block types, and the
/// one block type reptok writes, `Q4_0`.
public enum GGMLType: UInt32, CustomStringConvertible, Sendable {
    case f32 = 0
    case f16 = 1
    /// Blocks of 32 weights along the innermost dimension, 18 bytes each: an fp16 scale d, then
    /// 16 bytes whose low nibbles are elements 0…15 and high nibbles elements 16…31;
    /// value = (nibble − 8) · d (ggml's `block_q4_0`).
    case q4_0 = 2
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case bf16 = 30

    /// Elements per block (32 for Q4_0, 1 otherwise); the innermost dimension must be a multiple.
    public var blockElements: Int { self == .q4_0 ? 32 : 1 }

    /// Bytes of `count` elements (count a multiple of `blockElements`).
    public func byteCount(_ count: Int) -> Int {
        self == .q4_0 ? count / 32 * 18 : count * elementSize
    }

    /// Bytes per element (0 for the block type Q4_0: use `byteCount`).
    public var elementSize: Int {
        switch self {
        case .q4_0: return 0
        case .i8: return 1
        case .f16, .bf16, .i16: return 2
        case .f32, .i32: return 4
        case .i64, .f64: return 8
        }
    }

    /// The ggml name (`F32`, `I8`, ...), as printed by the Python `gguf` package.
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        case .bf16: return "BF16"
        }
    }
}

/// A metadata value. The case is the GGUF value type.
public enum GGUFValue: Equatable, CustomStringConvertible, Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// Elements all have the same GGUF type (checked by the writer and the reader).
    case array([GGUFValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The GGUF value-type code.
    public var typeCode: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// Any integer case (or a float with an integral value) as `Int`; `nil` otherwise.
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return v <= UInt64(Int.max) ? Int(v) : nil
        case let .int64(v): return Int(v)
        case let .float32(v): return v.isFinite && v == v.rounded() && abs(v) < 1e15 ? Int(v) : nil
        case let .float64(v): return v.isFinite && v == v.rounded() && abs(v) < 1e15 ? Int(v) : nil
        default: return nil
        }
    }

    /// Any numeric case as `Float`; `nil` for strings, bools and arrays.
    public var float: Float? {
        switch self {
        case let .float32(v): return v
        case let .float64(v): return Float(v)
        default: return int.map(Float.init)
        }
    }

    /// The string, or `nil`.
    public var string: String? { if case let .string(s) = self { return s }; return nil }

    /// The bool, or `nil`.
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }

    /// A numeric array as `[Float]`; `nil` when not an array or an element is not numeric.
    public var floatArray: [Float]? {
        guard case let .array(a) = self else { return nil }
        var out: [Float] = []
        for v in a { guard let f = v.float else { return nil }; out.append(f) }
        return out
    }

    /// An integer array as `[Int]`; `nil` when not an array or an element is not an integer.
    public var intArray: [Int]? {
        guard case let .array(a) = self else { return nil }
        var out: [Int] = []
        for v in a { guard let i = v.int else { return nil }; out.append(i) }
        return out
    }

    /// A string array; `nil` when not an array or an element is not a string.
    public var stringArray: [String]? {
        guard case let .array(a) = self else { return nil }
        var out: [String] = []
        for v in a { guard let s = v.string else { return nil }; out.append(s) }
        return out
    }

    public var description: String {
        switch self {
        case let .uint8(v): return "\(v)"
        case let .int8(v): return "\(v)"
        case let .uint16(v): return "\(v)"
        case let .int16(v): return "\(v)"
        case let .uint32(v): return "\(v)"
        case let .int32(v): return "\(v)"
        case let .float32(v): return "\(v)"
        case let .bool(v): return "\(v)"
        case let .string(s): return "\"\(s)\""
        case let .array(a):
            if a.count > 16 { return "[" + a.prefix(16).map(\.description).joined(separator: ", ") + ", … (\(a.count))]" }
            return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case let .uint64(v): return "\(v)"
        case let .int64(v): return "\(v)"
        case let .float64(v): return "\(v)"
        }
    }
}

/// One entry of the tensor table.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    public let type: GGMLType
    /// PyTorch (row-major, slowest first) order: the reverse of the file's `ne`.
    public let shape: [Int]
    /// Absolute byte offset of the data in the file (aligned to the file's alignment).
    public let fileOffset: Int
    /// Data size in bytes: product(shape) × element size.
    public let byteCount: Int

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// A tensor whose data lives in the memory map of its `GGUFFile`.
/// `data` is valid only while that `GGUFFile` is alive.
public struct GGUFTensor {
    public let name: String
    public let type: GGMLType
    /// PyTorch (row-major) order.
    public let shape: [Int]
    /// `byteCount` bytes, little-endian elements of `type`, row-major.
    public let data: UnsafeRawBufferPointer

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The elements converted to Float (F32, F16, BF16, F64, I8, I16, I32, I64).
    public func floats() -> [Float] { decodeFloats(data, type: type, count: count) }
}

/// Errors from reading a GGUF file. Every case names the file.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case notGGUF(path: String, magic: String)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, offset: Int, needed: Int, fileSize: Int)
    case badValueType(path: String, key: String, type: UInt32)
    case mixedArray(path: String, key: String)
    case absurdCount(path: String, what: String, count: UInt64, offset: Int)
    case duplicateKey(path: String, key: String)
    case duplicateTensor(path: String, name: String)
    case unsupportedTensorType(path: String, name: String, type: UInt32)
    case badTensorShape(path: String, name: String, ne: [UInt64])
    case misalignedTensor(path: String, name: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(path: String, name: String, offset: Int, bytes: Int, fileSize: Int)
    case overlappingTensors(path: String, first: String, second: String)
    case badAlignment(path: String, alignment: Int)
    case missingTensor(name: String, path: String)

    public var description: String {
        switch self {
        case let .notGGUF(path, magic): return "\(path): not a GGUF file (magic \(magic), expected \"GGUF\")"
        case let .unsupportedVersion(path, v): return "\(path): GGUF version \(v) is not supported (expected 3)"
        case let .truncated(path, off, need, size): return "\(path): truncated: need \(need) bytes at offset \(off), file has \(size)"
        case let .badValueType(path, key, t): return "\(path): metadata \(key): unknown value type \(t)"
        case let .mixedArray(path, key): return "\(path): metadata \(key): array of arrays is not supported"
        case let .absurdCount(path, what, n, off): return "\(path): \(what) count \(n) at offset \(off) exceeds what the file can hold"
        case let .duplicateKey(path, key): return "\(path): metadata key \(key) appears twice"
        case let .duplicateTensor(path, name): return "\(path): tensor \(name) appears twice"
        case let .unsupportedTensorType(path, name, t): return "\(path): tensor \(name): ggml type \(t) is not supported (F32, F16, BF16, F64, I8, I16, I32, I64)"
        case let .badTensorShape(path, name, ne): return "\(path): tensor \(name): invalid dimensions \(ne)"
        case let .misalignedTensor(path, name, off, a): return "\(path): tensor \(name): offset \(off) is not a multiple of the alignment \(a)"
        case let .tensorOutOfBounds(path, name, off, bytes, size): return "\(path): tensor \(name): \(bytes) bytes at offset \(off) run past the end of the file (\(size) bytes)"
        case let .overlappingTensors(path, a, b): return "\(path): tensors \(a) and \(b) overlap"
        case let .badAlignment(path, a): return "\(path): general.alignment \(a) is not a power of two in 1...65536"
        case let .missingTensor(name, path): return "\(path): tensor \(name) is missing"
        }
    }
}

/// A GGUF v3 file, memory-mapped read-only. The header and tensor table are parsed and checked in
/// `init`: every tensor's data lies inside the file, is aligned, and does not overlap another.
public final class GGUFFile {
    public let path: String
    /// File format version (3).
    public let version: UInt32
    /// All metadata, by key.
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// The tensor table, by name.
    public let tensorInfos: [String: GGUFTensorInfo]
    /// The tensor table in file order.
    public let orderedTensorInfos: [GGUFTensorInfo]
    /// Data alignment in bytes (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// File size in bytes.
    public var fileSize: Int { file.size }

    private let file: MappedFile

    /// Largest key, string or name accepted (bytes). Real files use < 1 KiB.
    static let maxStringBytes = 1 << 24
    /// Most elements accepted in one metadata array (a large tokenizer has about 250 000).
    static let maxArrayCount: UInt64 = 1 << 20
    /// Most array elements over all metadata keys together (each becomes a ~24-byte value).
    static let maxMetadataElements = 1 << 22

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        let size = file.size
        var r = ByteReader(file.bytes) { at, need in GGUFError.truncated(path: path, offset: at, needed: need, fileSize: size) }

        // Header.
        let magic = try r.slice(4)
        guard Array(magic) == Array("GGUF".utf8) else {
            throw GGUFError.notGGUF(path: path, magic: magic.map { $0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined())
        }
        version = try r.u32()
        guard version == 3 else { throw GGUFError.unsupportedVersion(path: path, version: version) }
        let tensorCount = try r.u64()
        let kvCount = try r.u64()
        // Each KV takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+8+4+8.
        guard kvCount <= UInt64(r.remaining / 13) else { throw GGUFError.absurdCount(path: path, what: "metadata", count: kvCount, offset: 16) }
        guard tensorCount <= UInt64(r.remaining / 32) else { throw GGUFError.absurdCount(path: path, what: "tensor", count: tensorCount, offset: 8) }

        // Metadata.
        var md: [String: GGUFValue] = [:]
        var keys: [String] = []
        var elements = 0
        for _ in 0 ..< Int(kvCount) {
            let key = try GGUFFile.readString(&r, path: path)
            let type = try r.u32()
            let at = r.offset
            let value = try GGUFFile.readValue(&r, type: type, key: key, path: path, depth: 0)
            if case let .array(a) = value {
                elements += a.count
                guard elements <= GGUFFile.maxMetadataElements else {
                    throw GGUFError.absurdCount(path: path, what: "metadata array element (all keys together)", count: UInt64(elements), offset: at)
                }
            }
            guard md[key] == nil else { throw GGUFError.duplicateKey(path: path, key: key) }
            md[key] = value
            keys.append(key)
        }
        metadata = md
        metadataKeys = keys
        var align = 32
        if let a = md["general.alignment"] {
            guard let v = a.int, v > 0, v <= 65536, v & (v - 1) == 0 else {
                throw GGUFError.badAlignment(path: path, alignment: a.int ?? -1)
            }
            align = v
        }
        alignment = align

        // Tensor table.
        struct Raw { let name: String; let ne: [UInt64]; let type: UInt32; let offset: UInt64 }
        var raws: [Raw] = []
        for _ in 0 ..< Int(tensorCount) {
            let name = try GGUFFile.readString(&r, path: path)
            let nDims = try r.u32()
            guard nDims >= 1, nDims <= 8 else { throw GGUFError.badTensorShape(path: path, name: name, ne: []) }
            var ne: [UInt64] = []
            for _ in 0 ..< Int(nDims) { ne.append(try r.u64()) }
            let type = try r.u32()
            let off = try r.u64()
            raws.append(Raw(name: name, ne: ne, type: type, offset: off))
        }
        let dataStart = (r.offset + align - 1) / align * align
        dataOffset = dataStart

        var infos: [String: GGUFTensorInfo] = [:]
        var ordered: [GGUFTensorInfo] = []
        for raw in raws {
            guard let type = GGMLType(rawValue: raw.type) else {
                throw GGUFError.unsupportedTensorType(path: path, name: raw.name, type: raw.type)
            }
            // Element count, refusing overflow and anything larger than the file (the nonzero
            // dimensions too: see `shapeProducts`).
            guard let (count, nonzero) = shapeProducts(raw.ne), nonzero <= UInt64(size) else {
                throw GGUFError.badTensorShape(path: path, name: raw.name, ne: raw.ne)
            }
            guard raw.offset % UInt64(align) == 0 else {
                throw GGUFError.misalignedTensor(path: path, name: raw.name, offset: raw.offset, alignment: align)
            }
            guard type.blockElements == 1 || (raw.ne.first ?? 0) % UInt64(type.blockElements) == 0 else {
                throw GGUFError.badTensorShape(path: path, name: raw.name, ne: raw.ne)
            }
            let bytes = type.byteCount(Int(count))
            guard raw.offset <= UInt64(size), file.contains(offset: dataStart + Int(raw.offset), count: bytes) else {
                throw GGUFError.tensorOutOfBounds(path: path, name: raw.name, offset: dataStart &+ Int(truncatingIfNeeded: raw.offset), bytes: bytes, fileSize: size)
            }
            guard infos[raw.name] == nil else { throw GGUFError.duplicateTensor(path: path, name: raw.name) }
            let info = GGUFTensorInfo(name: raw.name, type: type, shape: raw.ne.reversed().map { Int($0) },
                                      fileOffset: dataStart + Int(raw.offset), byteCount: bytes)
            infos[raw.name] = info
            ordered.append(info)
        }
        // No two tensors may share bytes.
        let byOffset = ordered.filter { $0.byteCount > 0 }.sorted { $0.fileOffset < $1.fileOffset }
        for i in byOffset.indices.dropFirst() where byOffset[i - 1].fileOffset + byOffset[i - 1].byteCount > byOffset[i].fileOffset {
            throw GGUFError.overlappingTensors(path: path, first: byOffset[i - 1].name, second: byOffset[i].name)
        }
        tensorInfos = infos
        orderedTensorInfos = ordered
    }

    /// The tensor `name`; throws `.missingTensor(name, path)` when absent.
    public func tensor(_ name: String) throws -> GGUFTensor {
        guard let info = tensorInfos[name] else { throw GGUFError.missingTensor(name: name, path: path) }
        return GGUFTensor(name: name, type: info.type, shape: info.shape,
                          data: UnsafeRawBufferPointer(start: file.base + info.fileOffset, count: info.byteCount))
    }

    /// Drops the resident pages of these tensors (`madvise(MADV_DONTNEED)`); they are re-read from
    /// disk if used again. Unknown names are ignored.
    public func releasePages(of names: [String]) {
        for n in names { if let i = tensorInfos[n] { file.release(offset: i.fileOffset, count: i.byteCount) } }
    }

    /// Drops the resident pages under `bytes`, a range of this file's map (a tensor's data as
    /// `tensor(_:)` hands it out, or part of it); a range outside the map is ignored.
    public func releasePages(of bytes: UnsafeRawBufferPointer) {
        guard let start = bytes.baseAddress else { return }
        file.release(offset: file.base.distance(to: start), count: bytes.count)
    }

    // MARK: parsing helpers

    static func readString(_ r: inout ByteReader, path: String) throws -> String {
        let at = r.offset
        let n = try r.u64()
        guard n <= UInt64(maxStringBytes), n <= UInt64(r.remaining) else {
            if n > UInt64(r.remaining) { throw r.fail(r.offset, Int(clamping: n)) }
            throw GGUFError.absurdCount(path: path, what: "string byte", count: n, offset: at)
        }
        return try r.utf8(Int(n))
    }

    static func readValue(_ r: inout ByteReader, type: UInt32, key: String, path: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try r.u8())
        case 1: return .int8(Int8(bitPattern: try r.u8()))
        case 2: return .uint16(try r.u16())
        case 3: return .int16(Int16(bitPattern: try r.u16()))
        case 4: return .uint32(try r.u32())
        case 5: return .int32(try r.i32())
        case 6: return .float32(try r.f32())
        case 7: return .bool(try r.u8() != 0)
        case 8: return .string(try readString(&r, path: path))
        case 9:
            guard depth == 0 else { throw GGUFError.mixedArray(path: path, key: key) }
            let elemType = try r.u32()
            let at = r.offset
            let n = try r.u64()
            // Every element takes at least one byte (strings at least eight).
            let minSize: UInt64 = elemType == 8 ? 8 : 1
            // Each element becomes a `GGUFValue` of about 24 bytes, so a file's byte count alone
            // does not bound the memory; a million elements is beyond any tokenizer or class list.
            guard n <= UInt64(r.remaining) / minSize, n <= GGUFFile.maxArrayCount else {
                throw GGUFError.absurdCount(path: path, what: "array element", count: n, offset: at)
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(Int(n))
            for _ in 0 ..< Int(n) { out.append(try readValue(&r, type: elemType, key: key, path: path, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try r.u64())
        case 11: return .int64(Int64(bitPattern: try r.u64()))
        case 12: return .float64(try r.f64())
        default: throw GGUFError.badValueType(path: path, key: key, type: type)
        }
    }
}

/// Converts `count` little-endian elements of `type` to Float (integers by value).
func decodeFloats(_ data: UnsafeRawBufferPointer, type: GGMLType, count: Int) -> [Float] {
    precondition(data.count >= type.byteCount(count), "buffer shorter than its tensor")
    return [Float](unsafeUninitializedCapacity: count) { out, n in
        switch type {
        case .q4_0: dequantizeQ4_0(data, count: count, into: out.baseAddress!)
        case .f32: for i in 0 ..< count { out[i] = Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16: for i in 0 ..< count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        case .bf16: for i in 0 ..< count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
        case .f64: for i in 0 ..< count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .i8: for i in 0 ..< count { out[i] = Float(Int8(bitPattern: data[i])) }
        case .i16: for i in 0 ..< count { out[i] = Float(Int16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .i32: for i in 0 ..< count { out[i] = Float(Int32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .i64: for i in 0 ..< count { out[i] = Float(Int64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        }
        n = count
    }
}
