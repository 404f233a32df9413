// Restricted unpickler: interprets the pickle opcodes that `torch.save` emits, never executes code.
//
// Globals are only *named*. A few are understood (tensor and container rebuilders, storage types);
// calling any other global yields an opaque `PickleObject` that records the global's name and the byte
// offset of the call, so callers can refuse it by name where it matters (e.g. in place of a tensor).
import Foundation

/// A Python list (a reference: pickles mutate lists after memoizing them).
public final class PickleList {
    public var items: [PickleValue]
    /// Nesting level (1 + the deepest item's), kept by the unpickler to refuse absurd nesting.
    var level: Int32 = 1
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A Python dict in insertion order (a reference, like `PickleList`).
public final class PickleDict {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var stringIndex: [String: Int] = [:]
    /// Nesting level (1 + the deepest item's), kept by the unpickler to refuse absurd nesting.
    var level: Int32 = 1

    /// Sets `key` (replacing an existing string key in place).
    func set(_ key: PickleValue, _ value: PickleValue) {
        if case let .string(s) = key, let i = stringIndex[s] { values[i] = value; return }
        if case let .string(s) = key { stringIndex[s] = keys.count }
        keys.append(key)
        values.append(value)
    }

    /// The value of a string key.
    public subscript(_ key: String) -> PickleValue? { stringIndex[key].map { values[$0] } }

    /// Number of entries.
    public var count: Int { keys.count }

    func removeAll() { keys = []; values = []; stringIndex = [:] }
}

/// Keeps every container the unpickler creates alive until the end of `RestrictedUnpickler.load`, then
/// takes the graph apart without recursion: a hostile pickle nesting millions of lists or tuples
/// would otherwise overflow the stack when its values are released.
final class PickleArena {
    private var values: [PickleValue] = []

    /// Registers a container value and returns it.
    func keep(_ v: PickleValue) -> PickleValue { values.append(v); return v }

    /// Empties every list/dict/object (their children are still held here, so nothing cascades), then
    /// drops the values newest first: a tuple's elements are older than the tuple and still held.
    func teardown() {
        for v in values {
            switch v {
            case let .list(l): l.items = []
            case let .dict(d): d.removeAll()
            case let .object(o): o.args = .none; o.state = nil; o.dictItems?.removeAll(); o.dictItems = nil; o.listItems = []
            default: break
            }
        }
        while !values.isEmpty { values.removeLast() }
    }
}

/// Element types of torch storages.
public enum TorchDType: String, Sendable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// From a storage class name (`FloatStorage`, ...).
    init?(storageClass: String) {
        switch storageClass {
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "DoubleStorage": self = .float64
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}

/// A storage reference from a persistent id `('storage', torch.XStorage, key, location, numel)`.
public struct TorchStorageRef: Equatable, Sendable {
    /// `nil` when the storage class is not one of `TorchDType`.
    public let dtype: TorchDType?
    /// The storage class's qualified name (e.g. `torch.FloatStorage`).
    public let typeName: String
    /// Archive member `data/<key>`.
    public let key: String
    public let location: String
    /// Elements in the storage.
    public let numel: Int
}

/// A tensor from `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`.
public struct TorchTensorRef: Equatable, Sendable {
    public let storage: TorchStorageRef
    /// Offset in elements.
    public let offset: Int
    public let shape: [Int]
    /// Strides in elements.
    public let stride: [Int]
}

/// The result of calling (or instantiating) a global that is not interpreted. Nothing was executed.
public final class PickleObject {
    /// `module.name` of the global.
    public let global: String
    /// Byte offset in the pickle of the opcode that would have called it.
    public let offset: Int
    /// The call's arguments.
    public internal(set) var args: PickleValue
    /// State set by BUILD, if any.
    public internal(set) var state: PickleValue?
    /// Items stored by SETITEM(S) when the object is a dict subclass (`defaultdict`, `OrderedDict`
    /// subclasses, Lightning's `AttributeDict`, ...); nil when none were stored.
    public internal(set) var dictItems: PickleDict?
    /// Items added by APPEND(S)/ADDITEMS when the object is a list or set subclass.
    public internal(set) var listItems: [PickleValue] = []
    /// Nesting level (1 + the deepest argument, item or state), kept by the unpickler.
    var level: Int32 = 1
    init(global: String, offset: Int, args: PickleValue) { self.global = global; self.offset = offset; self.args = args }
}

/// A value produced by the restricted unpickler.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for `Int` (two's-complement little-endian bytes).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A global that was named but not called (module, name, byte offset).
    case global(module: String, name: String, offset: Int)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)
    case object(PickleObject)

    /// The string, or nil.
    public var string: String? { if case let .string(s) = self { return s }; return nil }
    /// The integer, or nil.
    public var int: Int? { if case let .int(i) = self { return i }; return nil }
    /// The dict, or nil.
    public var dict: PickleDict? { if case let .dict(d) = self { return d }; return nil }

    /// Tuple or list elements, or nil.
    public var sequence: [PickleValue]? {
        switch self {
        case let .tuple(t): return t
        case let .list(l): return l.items
        default: return nil
        }
    }

    /// A short description of what kind of value this is (for error messages).
    public var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case let .global(m, n, _): return "global \(m).\(n)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        case let .object(o): return "object built by \(o.global) (byte \(o.offset))"
        }
    }
}

/// Errors from the restricted unpickler. `offset` is the byte offset of the offending opcode in the pickle.
public enum PickleError: Error, CustomStringConvertible, Equatable {
    case truncated(source: String, offset: Int)
    case unsupportedOpcode(source: String, opcode: UInt8, offset: Int)
    case stackUnderflow(source: String, opcode: String, offset: Int)
    case badMemo(source: String, index: Int, offset: Int)
    case malformed(source: String, what: String, offset: Int)
    case refusedGlobal(source: String, global: String, offset: Int, reason: String)
    case noStop(source: String)

    public var description: String {
        switch self {
        case let .truncated(s, o): return "\(s): pickle truncated at byte \(o)"
        case let .unsupportedOpcode(s, op, o): return String(format: "%@: pickle opcode 0x%02x at byte %d is not supported", s, op, o)
        case let .stackUnderflow(s, op, o): return "\(s): corrupt pickle: \(op) at byte \(o) needs more stack values"
        case let .badMemo(s, i, o): return "\(s): corrupt pickle: memo entry \(i) read at byte \(o) was never stored"
        case let .malformed(s, w, o): return "\(s): corrupt pickle at byte \(o): \(w)"
        case let .refusedGlobal(s, g, o, r): return "\(s): refusing global \(g) called at pickle byte \(o): \(r) (nothing was executed)"
        case let .noStop(s): return "\(s): pickle has no STOP opcode"
        }
    }
}

/// Interprets a pickle (protocols 0–5 as far as torch.save uses them). No code is ever executed.
public struct RestrictedUnpickler {
    /// Names the pickle in errors (e.g. `ckpt.ckpt:archive/data.pkl`).
    public let source: String

    public init(source: String) { self.source = source }

    /// Largest number of memo entries accepted (a guard against hostile input).
    static let maxItems = 10_000_000
    /// Largest number of values on the stack at once. Python's pickler adds items to their container
    /// in batches of 1000, so a real pickle's stack stays near its nesting depth plus one batch; a
    /// hostile one stacking a million fresh containers (about 100 bytes each) is refused here.
    static let maxStack = 500_000
    /// Deepest container nesting accepted. Python's own pickler recurses per level and stops near
    /// 1000, so real pickles stay far below this; a hostile one nesting millions of levels is refused
    /// early instead of building millions of containers.
    static let maxDepth: Int32 = 10_000

    /// Decodes `bytes` and passes the value at STOP to `use`, returning its result. The value graph is
    /// only valid inside `use` (it is taken apart afterwards); copy out what is needed.
    public func load<T>(_ bytes: UnsafeRawBufferPointer, _ use: (PickleValue) throws -> T) throws -> T {
        let arena = PickleArena()
        defer { arena.teardown() }
        return try use(try run(bytes, arena))
    }

    /// Runs the opcode machine (`PickleMachine`) over `bytes` up to STOP.
    func run(_ bytes: UnsafeRawBufferPointer, _ arena: PickleArena) throws -> PickleValue {
        try PickleMachine(bytes, unpickler: self, arena: arena).run()
    }
}
