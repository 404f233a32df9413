// The globals the restricted unpickler understands (tensor, parameter and container rebuilders,
// numpy scalars, torch storages); every other global stays an opaque `PickleObject`.

extension RestrictedUnpickler {
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
