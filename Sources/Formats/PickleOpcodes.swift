// The opcodes of the restricted unpickler, one function per family: framing, stack and memo;
// containers and their items; scalars (numbers, text, bytes); globals and objects. Each family
// returns false for an opcode that is not its own, so `run` tries them in turn and refuses an
// opcode no family knows.

extension PickleMachine {
    /// The opcode loop: the value at STOP.
    func run() throws -> PickleValue {
        while true {
            let at = r.offset
            let op = try r.u8()
            popLevel = 0
            if op == 0x2e {                                              // STOP
                guard let v = stack.popLast() else { throw PickleError.stackUnderflow(source: src, opcode: "STOP", offset: at) }
                return v
            }
            if try stackOp(op, at) { continue }
            if try containerOp(op, at) { continue }
            if try scalarOp(op, at) { continue }
            if try objectOp(op, at) { continue }
            throw PickleError.unsupportedOpcode(source: src, opcode: op, offset: at)
        }
    }

    /// Framing, marks, stack shuffling and the memo.
    func stackOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
        case 0x80: _ = try r.u8()                                   // PROTO
        case 0x95: try r.skip(8)                                     // FRAME
        case 0x28:                                                   // MARK
            guard marks.count < RestrictedUnpickler.maxItems else { throw PickleError.malformed(source: src, what: "too many marks", offset: at) }
            marks.append(stack.count)
        case 0x30: _ = try pop("POP", at)                            // POP
        case 0x31: _ = try popMark("POP_MARK", at)                   // POP_MARK
        case 0x32: try push(try top("DUP", at), level: levels.last ?? 0, at)   // DUP
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
        default: return false
        }
        return true
    }

    /// Tuples, lists, sets and dicts, and the opcodes that add items to them.
    func containerOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
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
        default: return false
        }
        return true
    }

    /// None, booleans, integers, floats, text and bytes in every protocol's encoding.
    func scalarOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
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
            if let i = Int(s) { try push(.int(i), at) } else { try push(.bigInt(Array(s.utf8)), at) }
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
        default: return false
        }
        return true
    }

    /// Globals (named, never imported), calls (interpreted or kept opaque), objects, their
    /// state, and persistent ids (torch storages).
    func objectOp(_ op: UInt8, _ at: Int) throws -> Bool {
        switch op {
        case 0x63:                                                   // GLOBAL "module\nname\n"
            let m = try line(), n = try line()
            try push(.global(module: m, name: n, offset: at), at)
        case 0x93:                                                   // STACK_GLOBAL
            let n = try pop("STACK_GLOBAL", at), m = try pop("STACK_GLOBAL", at)
            guard let ms = m.string, let ns = n.string else { throw PickleError.malformed(source: src, what: "STACK_GLOBAL needs two strings", offset: at) }
            try push(.global(module: ms, name: ns, offset: at), at)
        case 0x52:                                                   // REDUCE
            let args = try pop("REDUCE", at), callable = try pop("REDUCE", at)
            try push(try unpickler.call(callable, args: args, at: at, arena: arena), at)
        case 0x81:                                                   // NEWOBJ
            let args = try pop("NEWOBJ", at), cls = try pop("NEWOBJ", at)
            try push(object(cls, at, args: args), at)
        case 0x92:                                                   // NEWOBJ_EX
            let kwargs = try pop("NEWOBJ_EX", at), args = try pop("NEWOBJ_EX", at), cls = try pop("NEWOBJ_EX", at)
            try push(object(cls, at, args: arena.keep(.tuple([args, kwargs]))), at)
        case 0x69:                                                   // INST "module\nname\n" + marked args
            let m = try line(), n = try line()
            let args = try popMark("INST", at)
            try push(arena.keep(.object(PickleObject(global: "\(m).\(n)", offset: at, args: arena.keep(.tuple(args))))), at)
        case 0x6f:                                                   // OBJ: mark, cls, args...
            let items = try popMark("OBJ", at)
            guard let cls = items.first else { throw PickleError.stackUnderflow(source: src, opcode: "OBJ", offset: at) }
            try push(object(cls, at, args: arena.keep(.tuple(Array(items.dropFirst())))), at)
        case 0x62:                                                   // BUILD
            let state = try pop("BUILD", at)
            switch try top("BUILD", at) {
            case let .object(o): o.state = state; try raiseTop(at)
            // A dict's BUILD state sets attributes (e.g. a state dict's `_metadata`), never items.
            default: break   // dicts, tensors, others: the state (attributes, requires_grad) is not needed
            }
        case 0x51:                                                   // BINPERSID
            let pid = try pop("BINPERSID", at)
            try push(try unpickler.persistent(pid, at: at), at)
        case 0x50:                                                   // PERSID (text id)
            let s = try line()
            throw PickleError.malformed(source: src, what: "text persistent id \(s) is not a torch storage", offset: at)
        default: return false
        }
        return true
    }

    /// An opaque instance of class `cls` made at byte `at` (NEWOBJ, NEWOBJ_EX, OBJ): nothing is called.
    private func object(_ cls: PickleValue, _ at: Int, args: PickleValue) -> PickleValue {
        arena.keep(.object(PickleObject(global: RestrictedUnpickler.name(of: cls), offset: at, args: args)))
    }
}
