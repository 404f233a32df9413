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

    /// The opcode loop.
    func run(_ bytes: UnsafeRawBufferPointer, _ arena: PickleArena) throws -> PickleValue {
        let src = source
        var r = ByteReader(bytes) { at, _ in PickleError.truncated(source: src, offset: at) }
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]
        // Nesting levels: `levels` runs parallel to `stack` (and `memoLevels` to `memo`); `popLevel` is
        // the deepest value the current opcode popped, so a container it makes is one level deeper.
        var levels: [Int32] = []
        var memoLevels: [Int: Int32] = [:]
        var popLevel: Int32 = 0

        func pop(_ op: String, _ at: Int) throws -> PickleValue {
            guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw PickleError.stackUnderflow(source: src, opcode: op, offset: at) }
            popLevel = max(popLevel, levels.removeLast())
            return v
        }
        func popMark(_ op: String, _ at: Int) throws -> [PickleValue] {
            guard let m = marks.popLast(), m <= stack.count else { throw PickleError.stackUnderflow(source: src, opcode: op, offset: at) }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            popLevel = max(popLevel, levels[m...].max() ?? 0)
            levels.removeSubrange(m...)
            return items
        }
        /// The current level of a container value (it grows as items are added after memoizing).
        func ownLevel(_ v: PickleValue) -> Int32 {
            switch v {
            case let .list(l): return l.level
            case let .dict(d): return d.level
            case let .object(o): return o.level
            default: return 0
            }
        }
        func setLevel(_ v: PickleValue, _ l: Int32, _ at: Int) throws {
            guard l <= RestrictedUnpickler.maxDepth else {
                throw PickleError.malformed(source: src, what: "containers nested deeper than \(RestrictedUnpickler.maxDepth) levels", offset: at)
            }
            switch v {
            case let .list(x): x.level = l
            case let .dict(x): x.level = l
            case let .object(x): x.level = l
            default: break
            }
        }
        /// Records items just added to the container on top of the stack (SETITEM(S), APPEND(S), BUILD).
        func raiseTop(_ at: Int) throws {
            guard let v = stack.last, !levels.isEmpty else { return }
            let l = max(levels[levels.count - 1], popLevel + 1)
            try setLevel(v, l, at)
            levels[levels.count - 1] = l
        }
        func top(_ op: String, _ at: Int) throws -> PickleValue {
            guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw PickleError.stackUnderflow(source: src, opcode: op, offset: at) }
            return v
        }
        func line() throws -> String {
            var out: [UInt8] = []
            while true {
                let b = try r.u8()
                if b == 0x0a { break }
                out.append(b)
                if out.count > 1 << 20 { throw PickleError.malformed(source: src, what: "text line longer than 1 MiB", offset: r.offset) }
            }
            return String(decoding: out, as: UTF8.self)
        }
        /// A protocol-0 UNICODE line: latin-1 bytes with `\uXXXX` / `\UXXXXXXXX` escapes.
        func rawUnicodeEscape() throws -> String {
            var bytes: [UInt8] = []
            while true {
                let b = try r.u8()
                if b == 0x0a { break }
                bytes.append(b)
                if bytes.count > 1 << 24 { throw PickleError.malformed(source: src, what: "text line longer than 16 MiB", offset: r.offset) }
            }
            var out = String.UnicodeScalarView()
            var i = 0
            while i < bytes.count {
                if bytes[i] == 0x5c, i + 1 < bytes.count, bytes[i + 1] == 0x75 || bytes[i + 1] == 0x55 {
                    let n = bytes[i + 1] == 0x75 ? 4 : 8
                    if i + 2 + n <= bytes.count, let v = UInt32(String(decoding: bytes[i + 2 ..< i + 2 + n], as: UTF8.self), radix: 16),
                       let u = Unicode.Scalar(v) {
                        out.append(u)
                        i += 2 + n
                        continue
                    }
                }
                out.append(Unicode.Scalar(bytes[i]))
                i += 1
            }
            return String(out)
        }
        func count(_ n: UInt64, _ at: Int) throws -> Int {
            guard n <= UInt64(r.remaining) else { throw PickleError.truncated(source: src, offset: at) }
            return Int(n)
        }
        /// Pushes a value the current opcode made: containers are one level deeper than what it popped.
        func push(_ v: PickleValue, _ at: Int) throws {
            switch v {
            case .list, .dict, .object, .tuple, .tensor, .storage:
                let l = popLevel + 1
                try setLevel(v, l, at)
                try push(v, level: l, at)
            default:
                try push(v, level: 0, at)
            }
        }
        func push(_ v: PickleValue, level: Int32, _ at: Int) throws {
            guard stack.count < RestrictedUnpickler.maxStack else {
                throw PickleError.malformed(source: src, what: "more than \(RestrictedUnpickler.maxStack) values on the stack", offset: at)
            }
            stack.append(v)
            levels.append(level)
        }
        /// Pushes memo entry `i` again (BINGET, LONG_BINGET, GET).
        func pushMemo(_ i: Int, _ at: Int) throws {
            guard let v = memo[i] else { throw PickleError.badMemo(source: src, index: i, offset: at) }
            try push(v, level: max(memoLevels[i] ?? 0, ownLevel(v)), at)
        }
        func memoPut(_ i: Int, _ at: Int) throws {
            guard memo.count < RestrictedUnpickler.maxItems else { throw PickleError.malformed(source: src, what: "memo too large", offset: at) }
            memo[i] = try top("PUT", at)
            memoLevels[i] = levels.last ?? 0
        }
        func setItems(_ dict: PickleValue, _ items: [PickleValue], _ at: Int) throws {
            guard items.count % 2 == 0 else { throw PickleError.malformed(source: src, what: "odd number of dict items", offset: at) }
            let d: PickleDict
            switch dict {
            case let .dict(x): d = x
            case let .object(o):
                // A dict subclass rebuilt without a call: record its items on the opaque object.
                if o.dictItems == nil { o.dictItems = PickleDict() }
                d = o.dictItems!
            default: throw PickleError.malformed(source: src, what: "SETITEM(S) on a \(dict.kind)", offset: at)
            }
            for k in stride(from: 0, to: items.count, by: 2) { d.set(items[k], items[k + 1]) }
            try raiseTop(at)
        }
        func appendItems(_ list: PickleValue, _ items: [PickleValue], _ at: Int) throws {
            switch list {
            case let .list(l): l.items.append(contentsOf: items)
            case let .object(o): o.listItems.append(contentsOf: items)   // a list or set subclass
            default: throw PickleError.malformed(source: src, what: "APPEND(S) on a \(list.kind)", offset: at)
            }
            try raiseTop(at)
        }

        while true {
            let at = r.offset
            let op = try r.u8()
            popLevel = 0
            switch op {
            case 0x80: _ = try r.u8()                                   // PROTO
            case 0x95: try r.skip(8)                                     // FRAME
            case 0x2e:                                                   // STOP
                guard let v = stack.popLast() else { throw PickleError.stackUnderflow(source: src, opcode: "STOP", offset: at) }
                return v
            case 0x28:                                                   // MARK
                guard marks.count < RestrictedUnpickler.maxItems else { throw PickleError.malformed(source: src, what: "too many marks", offset: at) }
                marks.append(stack.count)
            case 0x7d: try push(arena.keep(.dict(PickleDict())), at)                 // EMPTY_DICT
            case 0x5d: try push(arena.keep(.list(PickleList())), at)                 // EMPTY_LIST
            case 0x29: try push(arena.keep(.tuple([])), at)                          // EMPTY_TUPLE
            case 0x8f: try push(arena.keep(.list(PickleList())), at)                 // EMPTY_SET (as a list)
            case 0x74: try push(arena.keep(.tuple(try popMark("TUPLE", at))), at)    // TUPLE
            case 0x85: let a = try pop("TUPLE1", at); try push(arena.keep(.tuple([a])), at)
            case 0x86: let b = try pop("TUPLE2", at), a = try pop("TUPLE2", at); try push(arena.keep(.tuple([a, b])), at)
            case 0x87: let c = try pop("TUPLE3", at), b = try pop("TUPLE3", at), a = try pop("TUPLE3", at); try push(arena.keep(.tuple([a, b, c])), at)
            case 0x6c: try push(arena.keep(.list(PickleList(try popMark("LIST", at)))), at)   // LIST
            case 0x91: try push(arena.keep(.list(PickleList(try popMark("FROZENSET", at)))), at)
            case 0x64:                                                   // DICT
                let d = arena.keep(.dict(PickleDict()))
                let items = try popMark("DICT", at)
                try push(d, at)
                try setItems(d, items, at)
            case 0x73:                                                   // SETITEM
                let v = try pop("SETITEM", at), k = try pop("SETITEM", at)
                try setItems(try top("SETITEM", at), [k, v], at)
            case 0x75:                                                   // SETITEMS
                let items = try popMark("SETITEMS", at)
                try setItems(try top("SETITEMS", at), items, at)
            case 0x61:                                                   // APPEND
                let v = try pop("APPEND", at)
                try appendItems(try top("APPEND", at), [v], at)
            case 0x65, 0x90:                                             // APPENDS, ADDITEMS
                let items = try popMark("APPENDS", at)
                try appendItems(try top("APPENDS", at), items, at)
            case 0x71: try memoPut(Int(try r.u8()), at)                  // BINPUT
            case 0x72: try memoPut(Int(try r.u32()), at)                 // LONG_BINPUT
            case 0x94: try memoPut(memo.count, at)                       // MEMOIZE
            case 0x70:                                                   // PUT
                guard let i = Int(try line()) else { throw PickleError.malformed(source: src, what: "PUT index", offset: at) }
                try memoPut(i, at)
            case 0x68: try pushMemo(Int(try r.u8()), at)                 // BINGET
            case 0x6a: try pushMemo(Int(try r.u32()), at)                // LONG_BINGET
            case 0x67:                                                   // GET
                guard let i = Int(try line()) else { throw PickleError.malformed(source: src, what: "GET index", offset: at) }
                try pushMemo(i, at)
            case 0x30: _ = try pop("POP", at)                            // POP
            case 0x31: _ = try popMark("POP_MARK", at)                   // POP_MARK
            case 0x32: try push(try top("DUP", at), level: levels.last ?? 0, at)   // DUP
            case 0x4e: try push(.none, at)                               // NONE
            case 0x88: try push(.bool(true), at)                         // NEWTRUE
            case 0x89: try push(.bool(false), at)                        // NEWFALSE
            case 0x4a: try push(.int(Int(try r.i32())), at)              // BININT
            case 0x4b: try push(.int(Int(try r.u8())), at)               // BININT1
            case 0x4d: try push(.int(Int(try r.u16())), at)              // BININT2
            case 0x49:                                                   // INT (text; I01/I00 are booleans)
                let s = try line()
                if s == "01" { try push(.bool(true), at) } else if s == "00" { try push(.bool(false), at) } else {
                    guard let i = Int(s) else { throw PickleError.malformed(source: src, what: "INT \(s)", offset: at) }
                    try push(.int(i), at)
                }
            case 0x4c:                                                   // LONG (text)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let i = Int(s) else { try push(.bigInt(Array(s.utf8)), at); continue }
                try push(.int(i), at)
            case 0x8a, 0x8b:                                             // LONG1, LONG4
                let n = op == 0x8a ? Int(try r.u8()) : try count(UInt64(try r.u32()), at)
                let b = Array(try r.slice(n))
                try push(RestrictedUnpickler.long(b), at)
            case 0x47:                                                   // BINFLOAT (big-endian)
                let raw = try r.slice(8)
                try push(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })), at)
            case 0x46:                                                   // FLOAT (text)
                guard let d = Double(try line()) else { throw PickleError.malformed(source: src, what: "FLOAT", offset: at) }
                try push(.float(d), at)
            case 0x58: try push(.string(try r.utf8(try count(UInt64(try r.u32()), at))), at)   // BINUNICODE
            case 0x8c: try push(.string(try r.utf8(Int(try r.u8()))), at)                      // SHORT_BINUNICODE
            case 0x8d: try push(.string(try r.utf8(try count(try r.u64(), at))), at)           // BINUNICODE8
            case 0x56: try push(.string(try rawUnicodeEscape()), at)                           // UNICODE (raw-unicode-escape)
            case 0x54: try push(.string(String(decoding: try r.slice(try count(UInt64(try r.u32()), at)), as: UTF8.self)), at)  // BINSTRING
            case 0x55: try push(.string(String(decoding: try r.slice(Int(try r.u8())), as: UTF8.self)), at)                     // SHORT_BINSTRING
            case 0x53:                                                   // STRING (quoted text)
                var s = try line()
                if s.count >= 2, let f = s.first, f == "'" || f == "\"", s.last == f { s = String(s.dropFirst().dropLast()) }
                try push(.string(s), at)
            case 0x42: try push(.bytes(Array(try r.slice(try count(UInt64(try r.u32()), at)))), at)   // BINBYTES
            case 0x43: try push(.bytes(Array(try r.slice(Int(try r.u8())))), at)                      // SHORT_BINBYTES
            case 0x8e, 0x96: try push(.bytes(Array(try r.slice(try count(try r.u64(), at)))), at)     // BINBYTES8, BYTEARRAY8
            case 0x63:                                                   // GLOBAL "module\nname\n"
                let m = try line(), n = try line()
                try push(.global(module: m, name: n, offset: at), at)
            case 0x93:                                                   // STACK_GLOBAL
                let n = try pop("STACK_GLOBAL", at), m = try pop("STACK_GLOBAL", at)
                guard let ms = m.string, let ns = n.string else { throw PickleError.malformed(source: src, what: "STACK_GLOBAL needs two strings", offset: at) }
                try push(.global(module: ms, name: ns, offset: at), at)
            case 0x52:                                                   // REDUCE
                let args = try pop("REDUCE", at), callable = try pop("REDUCE", at)
                try push(try call(callable, args: args, at: at, arena: arena), at)
            case 0x81:                                                   // NEWOBJ
                let args = try pop("NEWOBJ", at), cls = try pop("NEWOBJ", at)
                try push(arena.keep(.object(PickleObject(global: RestrictedUnpickler.name(of: cls), offset: at, args: args))), at)
            case 0x92:                                                   // NEWOBJ_EX
                let kwargs = try pop("NEWOBJ_EX", at), args = try pop("NEWOBJ_EX", at), cls = try pop("NEWOBJ_EX", at)
                try push(arena.keep(.object(PickleObject(global: RestrictedUnpickler.name(of: cls), offset: at, args: arena.keep(.tuple([args, kwargs]))))), at)
            case 0x69:                                                   // INST "module\nname\n" + marked args
                let m = try line(), n = try line()
                let args = try popMark("INST", at)
                try push(arena.keep(.object(PickleObject(global: "\(m).\(n)", offset: at, args: arena.keep(.tuple(args))))), at)
            case 0x6f:                                                   // OBJ: mark, cls, args...
                let items = try popMark("OBJ", at)
                guard let cls = items.first else { throw PickleError.stackUnderflow(source: src, opcode: "OBJ", offset: at) }
                try push(arena.keep(.object(PickleObject(global: RestrictedUnpickler.name(of: cls), offset: at, args: arena.keep(.tuple(Array(items.dropFirst())))))), at)
            case 0x62:                                                   // BUILD
                let state = try pop("BUILD", at)
                switch try top("BUILD", at) {
                case let .object(o): o.state = state; try raiseTop(at)
                // A dict's BUILD state sets attributes (e.g. a state dict's `_metadata`), never items.
                default: break   // dicts, tensors, others: the state (attributes, requires_grad) is not needed
                }
            case 0x51:                                                   // BINPERSID
                let pid = try pop("BINPERSID", at)
                try push(try persistent(pid, at: at), at)
            case 0x50:                                                   // PERSID (text id)
                let s = try line()
                throw PickleError.malformed(source: src, what: "text persistent id \(s) is not a torch storage", offset: at)
            default:
                throw PickleError.unsupportedOpcode(source: src, opcode: op, offset: at)
            }
        }
    }

    /// Two's-complement little-endian integer.
    static func long(_ b: [UInt8]) -> PickleValue {
        if b.isEmpty { return .int(0) }
        if b.count > 8 { return .bigInt(b) }
        var v: UInt64 = 0
        for (i, x) in b.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        if b.last! & 0x80 != 0, b.count < 8 { v |= ~UInt64(0) << (8 * UInt64(b.count)) }
        return .int(Int(Int64(bitPattern: v)))
    }

    /// The value of `numpy...scalar(dtype, bytes)`: `dtype` is the unpickled `numpy.dtype(code, ...)`
    /// object whose BUILD state's second item is the byte order (`<`, `>`, `|`, `=`). Nil when the
    /// dtype is not a plain bool/int/uint/float code or the bytes do not match its size.
    static func numpyScalar(_ a: [PickleValue]) -> PickleValue? {
        guard a.count == 2, case let .object(dt) = a[0], dt.global == "numpy.dtype",
              let code = dt.args.sequence?.first?.string, code.count >= 2,
              let size = Int(code.dropFirst()), [1, 2, 4, 8].contains(size) else { return nil }
        let raw: [UInt8]
        switch a[1] {
        case let .bytes(b): raw = b
        case let .string(s): raw = s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }   // protocol 0/1 str
        default: return nil
        }
        guard raw.count == size else { return nil }
        var order = "<"
        if let st = dt.state?.sequence, st.count > 1, let o = st[1].string { order = o }
        let bytes = order == ">" ? Array(raw.reversed()) : raw
        var bits: UInt64 = 0
        for (i, b) in bytes.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        switch code.first! {
        case "b" where size == 1: return .bool(bits != 0)
        case "f":
            switch size {
            case 2: return .float(Double(Float16(bitPattern: UInt16(bits))))
            case 4: return .float(Double(Float(bitPattern: UInt32(bits))))
            case 8: return .float(Double(bitPattern: bits))
            default: return nil
            }
        case "i":
            let shift = UInt64(64 - 8 * size)
            return .int(Int(Int64(bitPattern: bits << shift) >> Int64(shift)))
        case "u":
            return bits <= UInt64(Int.max) ? .int(Int(bits)) : nil
        default: return nil
        }
    }

    /// `module.name` of a class/callable value (or its kind).
    static func name(of v: PickleValue) -> String {
        if case let .global(m, n, _) = v { return "\(m).\(n)" }
        if case let .object(o) = v { return o.global }
        return v.kind
    }

    /// Resolves a persistent id. Only torch storages are understood.
    func persistent(_ pid: PickleValue, at: Int) throws -> PickleValue {
        guard let t = pid.sequence, t.count >= 5, t[0].string == "storage",
              case let .global(m, n, _) = t[1], let key = t[2].string, let numel = t[4].int, numel >= 0 else {
            throw PickleError.malformed(source: source, what: "persistent id \(pid.kind) is not ('storage', type, key, location, numel)", offset: at)
        }
        return .storage(TorchStorageRef(dtype: TorchDType(storageClass: n), typeName: "\(m).\(n)", key: key,
                                        location: t[3].string ?? "", numel: numel))
    }

    /// REDUCE: interprets known rebuilders; any other global becomes an opaque object (never called).
    func call(_ callable: PickleValue, args: PickleValue, at: Int, arena: PickleArena) throws -> PickleValue {
        guard case let .global(m, n, _) = callable else {
            // Calling the result of a call: keep it opaque too.
            return arena.keep(.object(PickleObject(global: RestrictedUnpickler.name(of: callable), offset: at, args: args)))
        }
        let a = args.sequence ?? []
        switch "\(m).\(n)" {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4 else { throw PickleError.malformed(source: source, what: "\(m).\(n) needs 4 arguments", offset: at) }
            guard case let .storage(s) = a[0] else {
                throw PickleError.refusedGlobal(source: source, global: "\(m).\(n)", offset: at, reason: "its storage argument is a \(a[0].kind), not a torch storage")
            }
            guard let off = a[1].int, let size = a[2].sequence?.compactMap(\.int), let stride = a[3].sequence?.compactMap(\.int),
                  size.count == a[2].sequence?.count, stride.count == a[3].sequence?.count, size.count == stride.count else {
                throw PickleError.malformed(source: source, what: "\(m).\(n): offset/size/stride are not integers of equal rank", offset: at)
            }
            return .tensor(TorchTensorRef(storage: s, offset: off, shape: size, stride: stride))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let d = a.first else { throw PickleError.malformed(source: source, what: "\(m).\(n) without data", offset: at) }
            return d
        case "torch._tensor._rebuild_from_type_v2":
            // (func, new_type, args, state): rebuild with func, drop the subclass type.
            guard a.count >= 3 else { throw PickleError.malformed(source: source, what: "\(m).\(n) needs 3 arguments", offset: at) }
            return try call(a[0], args: a[2], at: at, arena: arena)
        case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
            let d = PickleDict()
            if let pairs = a.first?.sequence {
                for p in pairs {
                    guard let kv = p.sequence, kv.count == 2 else { throw PickleError.malformed(source: source, what: "\(m).\(n) with a non-pair item", offset: at) }
                    d.set(kv[0], kv[1])
                }
            }
            return arena.keep(.dict(d))
        case "builtins.list", "builtins.set", "builtins.frozenset", "__builtin__.set", "__builtin__.list":
            return arena.keep(.list(PickleList(a.first?.sequence ?? [])))
        case "builtins.tuple", "__builtin__.tuple":
            return arena.keep(.tuple(a.first?.sequence ?? []))
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            // (dtype, raw bytes): a numpy scalar such as a float64 cfg_scale. Read, never called.
            return RestrictedUnpickler.numpyScalar(a) ?? arena.keep(.object(PickleObject(global: "\(m).\(n)", offset: at, args: args)))
        case "_codecs.encode":
            // Protocol-2 bytes: encode(str, 'latin1').
            guard let s = a.first?.string else { return .bytes([]) }
            return .bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        default:
            return arena.keep(.object(PickleObject(global: "\(m).\(n)", offset: at, args: args)))
        }
    }
}
