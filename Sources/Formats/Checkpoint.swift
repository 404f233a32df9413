// Tensor sources for the converter: PyTorch zip checkpoints and safetensors, behind one protocol.
import Foundation

/// Element types a source tensor can have.
public enum SourceDType: String, Sendable {
    case f32, f16, bf16, f64, i64, i32, i16, i8, u8, bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// True for the types the converter turns into weights (float32/16, bfloat16, float64, int64).
    public var isConvertible: Bool { [.f32, .f16, .bf16, .f64, .i64].contains(self) }
}

/// A tensor as listed by a source (no data read yet).
public struct SourceTensor: Equatable, Sendable {
    public let name: String
    public let dtype: SourceDType
    /// Row-major (PyTorch) shape.
    public let shape: [Int]
    public var count: Int { shape.reduce(1, *) }

    public init(name: String, dtype: SourceDType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// A file of named tensors that the converter reads one tensor at a time.
public protocol TensorSource: AnyObject {
    /// The file.
    var path: String { get }
    /// Tensors in file order.
    var tensors: [SourceTensor] { get }
    /// Lightning `hyper_parameters` (checkpoints only).
    var hyperParameters: ConfigValue? { get }
    /// Entries of the state dict that are not tensors, with what they are (for the report).
    var nonTensorEntries: [(name: String, kind: String)] { get }
    /// Top-level checkpoint keys besides `state_dict` and `hyper_parameters` (Lightning/optimizer state).
    var otherTopLevelKeys: [String] { get }
    /// State-dict entries that are not readable tensors (built by a call the unpickler refuses, or an
    /// unsupported storage type), with the error to raise if the converter needs them.
    var unreadableEntries: [(name: String, error: Error)] { get }
    /// One-line notes about how the file was read (e.g. zip members stored without a CRC).
    var notes: [String] { get }
    /// The tensor's values as Float, row-major (gathered when strided).
    func floats(_ name: String) throws -> [Float]
    /// Drops the resident pages of the tensor's data.
    func release(_ name: String)
}

extension TensorSource {
    public var unreadableEntries: [(name: String, error: Error)] { [] }
    public var notes: [String] { [] }
}

/// Errors about the content of a checkpoint (format-level errors are Zip/Pickle/SafeTensors errors).
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unknownFormat(path: String, magic: String)
    case noPickle(path: String)
    case bigEndian(path: String)
    case notADict(path: String, kind: String)
    case refusedEntry(path: String, key: String, global: String, offset: Int)
    case unsupportedStorage(path: String, key: String, storageType: String)
    case storageTooSmall(path: String, key: String, storage: String, needBytes: Int, haveBytes: Int)
    case badStrides(path: String, key: String, shape: [Int], stride: [Int], offset: Int, numel: Int)
    case unsupportedDType(path: String, key: String, dtype: String)
    case missingTensor(path: String, key: String)

    public var description: String {
        switch self {
        case let .unknownFormat(p, m): return "\(p): unknown file format (starts with \(m)); expected a PyTorch zip checkpoint (.ckpt/.pt/.pth) or .safetensors"
        case let .noPickle(p): return "\(p): zip archive has no */data.pkl; not a PyTorch checkpoint"
        case let .bigEndian(p): return "\(p): big-endian checkpoints are not supported"
        case let .notADict(p, k): return "\(p): checkpoint root is a \(k), expected a dict (state dict or Lightning checkpoint)"
        case let .refusedEntry(p, k, g, o): return "\(p): state_dict entry \(k) would be built by calling \(g) (pickle byte \(o)); refusing (nothing was executed)"
        case let .unsupportedStorage(p, k, t): return "\(p): tensor \(k): storage type \(t) is not supported"
        case let .storageTooSmall(p, k, s, n, h): return "\(p): tensor \(k): storage data/\(s) holds \(h) bytes, the tensor needs \(n)"
        case let .badStrides(p, k, sh, st, o, n): return "\(p): tensor \(k): shape \(sh), stride \(st), offset \(o) do not fit in a storage of \(n) elements (or overlap)"
        case let .unsupportedDType(p, k, d): return "\(p): tensor \(k): dtype \(d) cannot be converted to float"
        case let .missingTensor(p, k): return "\(p): tensor \(k) is missing"
        }
    }
}

/// Opens a checkpoint by content: a zip (`PK\x03\x04`) is read as a PyTorch checkpoint, anything whose
/// first 8 bytes are a plausible header length followed by `{` as safetensors.
public func openTensorSource(path: String) throws -> TensorSource {
    let file = try MappedFile(path: path)
    let b = file.bytes
    if b.count >= 4, b[0] == 0x50, b[1] == 0x4b, b[2] == 0x03 || b[2] == 0x05, b[3] == 0x04 || b[3] == 0x06 {
        return try TorchCheckpoint(file: file)
    }
    if b.count >= 9, b[8] == UInt8(ascii: "{") { return try SafeTensorsSource(path: path) }
    if b.count >= 8 {
        // A safetensors header length but nothing after it: a truncated safetensors file.
        let n = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
        if n > 1, n < SafeTensorsFile.maxHeaderBytes { return try SafeTensorsSource(path: path) }
    }
    let magic = b.prefix(8).map { $0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
    throw CheckpointError.unknownFormat(path: path, magic: magic)
}

/// A safetensors file as a tensor source.
public final class SafeTensorsSource: TensorSource {
    public let file: SafeTensorsFile
    public var path: String { file.path }
    public let tensors: [SourceTensor]
    public let hyperParameters: ConfigValue? = nil
    public let nonTensorEntries: [(name: String, kind: String)] = []
    public let otherTopLevelKeys: [String] = []

    public init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        self.file = file
        tensors = try file.names.map { n in
            let i = try file.info(n)
            let d: SourceDType
            switch i.dtype {
            case .f32: d = .f32
            case .f16: d = .f16
            case .bf16: d = .bf16
            case .f64: d = .f64
            case .i64: d = .i64
            case .i32: d = .i32
            case .i8: d = .i8
            case .u8: d = .u8
            case .bool: d = .bool
            }
            return SourceTensor(name: n, dtype: d, shape: i.shape)
        }
    }

    public func floats(_ name: String) throws -> [Float] { try file.floats(name) }
    public func release(_ name: String) { file.releasePages(of: [name]) }
}

/// A PyTorch zip checkpoint (`torch.save`, e.g. a Lightning `.ckpt`) read without executing anything.
///
/// The pickle is interpreted by `RestrictedUnpickler`; storages are slices of the memory-mapped archive.
/// The state dict is `root["state_dict"]` when present, else the root dict itself.
public final class TorchCheckpoint: TensorSource {
    public let archive: ZipArchive
    public var path: String { archive.path }
    public let tensors: [SourceTensor]
    public let hyperParameters: ConfigValue?
    public let nonTensorEntries: [(name: String, kind: String)]
    public let otherTopLevelKeys: [String]
    public let unreadableEntries: [(name: String, error: Error)]
    public let notes: [String]
    /// Tensor references by name.
    public let refs: [String: TorchTensorRef]
    /// Archive folder holding `data.pkl` and `data/`.
    public let prefix: String

    public convenience init(path: String) throws { try self.init(file: MappedFile(path: path)) }

    public init(file: MappedFile) throws {
        let path = file.path
        archive = try ZipArchive(file: file)
        guard let pkl = archive.entries.first(where: { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }) else {
            throw CheckpointError.noPickle(path: path)
        }
        prefix = String(pkl.name.dropLast("data.pkl".count))
        if let bo = archive.entry(prefix + "byteorder"), bo.size < 64,
           String(decoding: try archive.data(prefix + "byteorder"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "big" {
            throw CheckpointError.bigEndian(path: path)
        }
        var notes: [String] = []
        let bytes = try archive.verifiedData(pkl.name) { notes.append($0) }
        typealias Parsed = (list: [SourceTensor], refs: [String: TorchTensorRef], other: [(String, String)], otherKeys: [String],
                            hp: ConfigValue?, unreadable: [(String, Error)])
        let parsed: Parsed = try RestrictedUnpickler(source: "\(path):\(pkl.name)").load(bytes) { root -> Parsed in
            let top: PickleDict
            switch root {
            case let .dict(d): top = d
            case let .object(o) where o.dictItems != nil: top = o.dictItems!   // a dict subclass
            case let .object(o): throw CheckpointError.refusedEntry(path: path, key: "<root>", global: o.global, offset: o.offset)
            default: throw CheckpointError.notADict(path: path, kind: root.kind)
            }
            var stateDict = top
            var otherKeys: [String] = []
            if let sd = top["state_dict"] {
                otherKeys = top.keys.compactMap(\.string).filter { $0 != "state_dict" && $0 != "hyper_parameters" }
                switch sd {
                case let .dict(d): stateDict = d
                case let .object(o) where o.dictItems != nil: stateDict = o.dictItems!   // an OrderedDict subclass
                case let .object(o): throw CheckpointError.refusedEntry(path: path, key: "state_dict", global: o.global, offset: o.offset)
                default: throw CheckpointError.notADict(path: path, kind: "dict whose state_dict is a \(sd.kind)")
                }
            }
            let hp = top["hyper_parameters"].map { HyperParameterReader.read($0) }

            // Entries are only listed here; a tensor's layout is checked when it is read, so a key the
            // converter does not use cannot fail a conversion.
            var list: [SourceTensor] = []
            var refs: [String: TorchTensorRef] = [:]
            var other: [(String, String)] = []
            var unreadable: [(String, Error)] = []
            for (k, v) in zip(stateDict.keys, stateDict.values) {
                guard let key = k.string else { other.append(("\(k.kind) key", v.kind)); continue }
                switch v {
                case let .tensor(t):
                    guard let dt = t.storage.dtype else {
                        unreadable.append((key, CheckpointError.unsupportedStorage(path: path, key: key, storageType: t.storage.typeName)))
                        continue
                    }
                    let d: SourceDType
                    switch dt {
                    case .float32: d = .f32
                    case .float16: d = .f16
                    case .bfloat16: d = .bf16
                    case .float64: d = .f64
                    case .int64: d = .i64
                    case .int32: d = .i32
                    case .int16: d = .i16
                    case .int8: d = .i8
                    case .uint8: d = .u8
                    case .bool: d = .bool
                    }
                    // Listing needs only a sane shape (the converter does arithmetic on used shapes).
                    guard let (_, nonzero) = shapeProducts(t.shape), nonzero <= max(UInt64(file.size), UInt64(TorchCheckpoint.maxExpandedElements)) else {
                        unreadable.append((key, CheckpointError.badStrides(path: path, key: key, shape: t.shape, stride: t.stride,
                                                                           offset: t.offset, numel: t.storage.numel)))
                        continue
                    }
                    list.append(SourceTensor(name: key, dtype: d, shape: t.shape))
                    refs[key] = t
                case let .object(o):
                    // A state dict holds tensors; a call to anything else in it is refused by name when used.
                    unreadable.append((key, CheckpointError.refusedEntry(path: path, key: key, global: o.global, offset: o.offset)))
                default:
                    other.append((key, v.kind))
                }
            }
            return (list, refs, other, otherKeys, hp, unreadable)
        }
        hyperParameters = parsed.hp
        tensors = parsed.list
        refs = parsed.refs
        nonTensorEntries = parsed.other
        otherTopLevelKeys = parsed.otherKeys
        unreadableEntries = parsed.unreadable
        self.notes = notes
    }

    /// Checks a listed tensor (its storage and strided extent) without reading it; `floats` does the same.
    public func validate(_ name: String) throws {
        if let e = unreadableEntries.first(where: { $0.name == name }) { throw e.error }
        guard let t = refs[name] else { throw CheckpointError.missingTensor(path: path, key: name) }
        try TorchCheckpoint.check(t, key: name, archive: archive, prefix: prefix)
    }

    /// Checks that the tensor's strided extent lies inside its storage and the storage inside the archive.
    static func check(_ t: TorchTensorRef, key: String, archive: ZipArchive, prefix: String) throws {
        let path = archive.path
        let s = t.storage
        let elem = s.dtype!.size
        let entryName = prefix + "data/" + s.key
        guard let e = archive.entry(entryName) else { throw ZipError.missingEntry(path: path, entry: entryName) }
        guard e.method == 0 else { throw ZipError.compressed(path: path, entry: entryName, method: e.method) }
        let (need, o) = s.numel.multipliedReportingOverflow(by: elem)
        guard !o, need <= e.size else {
            throw CheckpointError.storageTooSmall(path: path, key: key, storage: s.key, needBytes: o ? Int.max : need, haveBytes: e.size)
        }
        let bad = CheckpointError.badStrides(path: path, key: key, shape: t.shape, stride: t.stride, offset: t.offset, numel: s.numel)
        // The offset is inside the storage (or just past it, for an empty view) even when the view
        // has no elements, so that offset × element size stays within the storage's byte count.
        guard (0 ... s.numel).contains(t.offset), t.shape.allSatisfy({ $0 >= 0 }), t.stride.allSatisfy({ $0 >= 0 }),
              shapeProducts(t.shape) != nil else { throw bad }
        var count = 1
        var last = t.offset
        for (n, st) in zip(t.shape, t.stride) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            guard !o1 else { throw bad }
            count = c
            if n > 0 {
                let (span, o2) = (n - 1).multipliedReportingOverflow(by: st)
                guard !o2 else { throw bad }
                let (l, o3) = last.addingReportingOverflow(span)
                guard !o3 else { throw bad }
                last = l
            }
        }
        // Every element index must be inside the storage. Strides may repeat elements (an expanded,
        // stride-0 view is valid torch), but such a view may not claim more than `maxExpandedElements`.
        guard count == 0 || last < s.numel else { throw bad }
        guard count <= max(s.numel, maxExpandedElements) else { throw bad }
    }

    /// Largest element count of a tensor that repeats storage elements (1 GiB as float32): reading it
    /// allocates the full row-major copy, and a small hostile file must not make that absurd.
    public static let maxExpandedElements = 1 << 28

    public func floats(_ name: String) throws -> [Float] {
        try validate(name)
        let t = refs[name]!
        let s = t.storage
        let dtype = s.dtype!
        let data = try archive.data(prefix + "data/" + s.key)
        let count = t.shape.reduce(1, *)
        let elem = dtype.size
        let gtype: GGMLType
        switch dtype {
        case .float32: gtype = .f32
        case .float16: gtype = .f16
        case .bfloat16: gtype = .bf16
        case .float64: gtype = .f64
        case .int64: gtype = .i64
        case .int32: gtype = .i32
        case .int16: gtype = .i16
        case .int8: gtype = .i8
        case .uint8, .bool:
            return (0 ..< count).map { Float(data[t.offset + TorchCheckpoint.storageIndex($0, shape: t.shape, strides: t.stride)]) }
        }
        // Contiguous (row-major, ignoring size-1 dims): one slice.
        var expected = 1
        var contiguous = true
        for (n, st) in zip(t.shape, t.stride).reversed() where n != 1 {
            if st != expected { contiguous = false; break }
            expected *= n
        }
        if contiguous {
            return decodeFloats(UnsafeRawBufferPointer(rebasing: data[t.offset * elem ..< (t.offset + count) * elem]), type: gtype, count: count)
        }
        // Strided: gather element by element into row-major order.
        return [Float](unsafeUninitializedCapacity: count) { out, n in
            for i in 0 ..< count {
                let at = (t.offset + TorchCheckpoint.storageIndex(i, shape: t.shape, strides: t.stride)) * elem
                out[i] = TorchCheckpoint.element(data, at, gtype)
            }
            n = count
        }
    }

    /// One little-endian element at byte offset `at` as Float.
    @inline(__always)
    static func element(_ data: UnsafeRawBufferPointer, _ at: Int, _ type: GGMLType) -> Float {
        switch type {
        case .f32: return Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        case .f16: return Float(Float16(bitPattern: UInt16(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt16.self))))
        case .bf16: return Float(bitPattern: UInt32(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt16.self))) << 16)
        case .f64: return Float(Double(bitPattern: UInt64(littleEndian: data.loadUnaligned(fromByteOffset: at, as: UInt64.self))))
        case .i64: return Float(Int64(littleEndian: data.loadUnaligned(fromByteOffset: at, as: Int64.self)))
        case .i32: return Float(Int32(littleEndian: data.loadUnaligned(fromByteOffset: at, as: Int32.self)))
        case .i16: return Float(Int16(littleEndian: data.loadUnaligned(fromByteOffset: at, as: Int16.self)))
        case .i8: return Float(Int8(bitPattern: data[at]))
        case .q4_0: return .nan   // no torch dtype maps to a block type
        }
    }

    /// Storage element index (without the offset) of row-major element `i`.
    static func storageIndex(_ i: Int, shape: [Int], strides: [Int]) -> Int {
        var rem = i
        var idx = 0
        for d in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
            idx += (rem % shape[d]) * strides[d]
            rem /= shape[d]
        }
        return idx
    }

    public func release(_ name: String) {
        guard let t = refs[name], let e = archive.entry(prefix + "data/" + t.storage.key) else { return }
        archive.file.release(offset: e.dataOffset, count: e.size)
    }

    /// Converts unpickled hyper-parameters to a plain config tree (see `HyperParameterReader`).
    /// Values only a call could produce stay as `<not read: ...>` text.
    public static func plainConfig(_ v: PickleValue) -> ConfigValue { HyperParameterReader.read(v) }
}
