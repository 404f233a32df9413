// The state of the restricted unpickler while it runs: the byte cursor, the value stack with its
// marks, the memo, and the nesting levels that guard against hostile depth. The opcodes themselves
// are in PickleOpcodes.swift, one function per family.

/// One run of the pickle virtual machine over one pickle. Used once, by `RestrictedUnpickler.run`.
final class PickleMachine {
    let unpickler: RestrictedUnpickler
    let arena: PickleArena
    /// Names the pickle in errors.
    let src: String
    var r: ByteReader
    var stack: [PickleValue] = []
    /// Stack heights at each MARK still open.
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    // Nesting levels: `levels` runs parallel to `stack` (and `memoLevels` to `memo`); `popLevel` is
    // the deepest value the current opcode popped, so a container it makes is one level deeper.
    var levels: [Int32] = []
    var memoLevels: [Int: Int32] = [:]
    var popLevel: Int32 = 0

    init(_ bytes: UnsafeRawBufferPointer, unpickler: RestrictedUnpickler, arena: PickleArena) {
        let src = unpickler.source
        self.unpickler = unpickler
        self.arena = arena
        self.src = src
        r = ByteReader(bytes) { at, _ in PickleError.truncated(source: src, offset: at) }
    }

    // MARK: stack

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

    func top(_ op: String, _ at: Int) throws -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw PickleError.stackUnderflow(source: src, opcode: op, offset: at) }
        return v
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

    // MARK: nesting levels

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

    // MARK: memo

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

    // MARK: container items

    func setItems(_ dict: PickleValue, _ items: [PickleValue], _ at: Int) throws {
        guard items.count % 2 == 0 else { throw PickleError.malformed(source: src, what: "odd number of dict items", offset: at) }
        let d: PickleDict
        switch dict {
        case let .dict(x): d = x
        case let .object(o):
            // A dict subclass rebuilt without a call: record its items on the opaque object.
            let items = o.dictItems ?? PickleDict()
            o.dictItems = items
            d = items
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

    // MARK: text arguments

    /// A newline-terminated text argument (protocol 0 opcodes).
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

    /// A length read from the pickle, refused when more bytes than remain.
    func count(_ n: UInt64, _ at: Int) throws -> Int {
        guard n <= UInt64(r.remaining) else { throw PickleError.truncated(source: src, offset: at) }
        return Int(n)
    }
}
