// Lightning `hyper_parameters` as a plain config tree: plain dicts and lists, dict/list subclasses
// rebuilt without a call (`AttributeDict`, `defaultdict`, ...), and OmegaConf containers read from
// their pickled state. `${a.b.c}` interpolations are resolved against the pickled config root.
import Foundation

extension ConfigValue {
    /// Prefix of the text that stands for a value the unpickler could not produce without a call.
    static let notReadPrefix = "<not read: "

    /// A placeholder for a value that only a call could produce (shown in warnings and refusals).
    static func notRead(_ what: String) -> ConfigValue { .string(notReadPrefix + what + ">") }

    /// What the placeholder stands for, when this is one.
    public var notReadReason: String? {
        guard case let .string(s) = self, s.hasPrefix(ConfigValue.notReadPrefix), s.hasSuffix(">") else { return nil }
        return String(s.dropFirst(ConfigValue.notReadPrefix.count).dropLast())
    }
}

/// Converts unpickled hyper-parameters to a `ConfigValue` tree. Nothing is called: OmegaConf
/// `DictConfig`/`ListConfig` are read from their `_content` (nodes from `_val`), and each container
/// reached through a node's `_parent` chain is read whole from its root, so that interpolations that
/// name other parts of the config can be resolved. Interpolations that call a resolver
/// (`${now:...}`, `${oc.env:...}`) or name nothing stay as their text.
struct HyperParameterReader {
    /// Containers nest at most this deep (configs are shallow; hostile pickles are not).
    static let maxDepth = 64
    /// Interpolations that point at further interpolations are followed at most this many times.
    static let maxHops = 16
    /// Values visited while resolving one root (a hostile config could otherwise fan out exponentially).
    static let maxSteps = 1_000_000

    /// Values converted so far, over the whole read: pickle memo references make the data a shared
    /// graph, and a tree copy of a graph of 40 levels of `[x, x]` would have 2^40 nodes.
    private var steps = 0

    /// Resolved trees of OmegaConf roots.
    private var roots: [ObjectIdentifier: ConfigValue] = [:]
    /// Where each OmegaConf container sits in its root's tree.
    private var positions: [ObjectIdentifier: (root: ObjectIdentifier, path: [String])] = [:]

    /// The plain tree of `v`.
    static func read(_ v: PickleValue) -> ConfigValue {
        var r = HyperParameterReader()
        return r.convert(v, depth: 0)
    }

    /// The pickled state dict of an OmegaConf object (BUILD state, a dict or `(dict, slots)`).
    static func state(_ o: PickleObject) -> PickleDict? {
        if let d = o.state?.dict { return d }
        if let parts = o.state?.sequence, let d = parts.first?.dict { return d }
        return nil
    }

    /// An OmegaConf container: its state holds `_content`.
    static func container(_ v: PickleValue) -> PickleObject? {
        guard case let .object(o) = v, let st = state(o), st["_content"] != nil else { return nil }
        return o
    }

    mutating func convert(_ v: PickleValue, depth: Int) -> ConfigValue {
        guard depth < Self.maxDepth else { return .notRead("nested deeper than \(Self.maxDepth) levels") }
        steps += 1
        guard steps <= Self.maxSteps else { return .notRead("more than \(Self.maxSteps) values") }
        switch v {
        case .none: return .null
        case let .bool(b): return .bool(b)
        case let .int(i): return .int(i)
        case .bigInt: return .notRead("an integer beyond 64 bits")
        case let .float(d): return .double(d)
        case let .string(s): return .string(s)
        case .bytes: return .notRead("bytes")
        case let .tuple(t): return .list(t.map { convert($0, depth: depth + 1) })
        case let .list(l): return .list(l.items.map { convert($0, depth: depth + 1) })
        case let .dict(d): return .map(mapping(d, depth: depth))
        case .global, .storage: return .notRead(v.kind)
        case .tensor: return .notRead("a tensor")
        case let .object(o):
            if Self.container(v) != nil { return omegaContainer(o) }
            if let st = Self.state(o), let val = st["_val"] { return convert(val, depth: depth + 1) }
            if let items = o.dictItems { return .map(mapping(items, depth: depth)) }
            if !o.listItems.isEmpty { return .list(o.listItems.map { convert($0, depth: depth + 1) }) }
            if let st = o.state?.dict, let d = st["__dict__"] { return convert(d, depth: depth + 1) }
            return .notRead("object built by \(o.global) (pickle byte \(o.offset))")
        }
    }

    mutating func mapping(_ d: PickleDict, depth: Int) -> [String: ConfigValue] {
        var m: [String: ConfigValue] = [:]
        for (k, x) in zip(d.keys, d.values) {
            if let key = Self.key(k) { m[key] = convert(x, depth: depth + 1) }
        }
        return m
    }

    /// A config key: a string, or an integer as its text (other keys are skipped).
    static func key(_ k: PickleValue) -> String? { k.string ?? k.int.map { "\($0)" } }

    /// An OmegaConf container, read from its root so interpolations can be resolved.
    mutating func omegaContainer(_ o: PickleObject) -> ConfigValue {
        // Follow `_parent` to the root (a cycle or a very long chain stops the walk).
        var root = o
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(o)]
        while let p = Self.state(root)?["_parent"], let po = Self.container(p), seen.insert(ObjectIdentifier(po)).inserted, seen.count < 1000 {
            root = po
        }
        let rid = ObjectIdentifier(root)
        if roots[rid] == nil {
            roots[rid] = .null   // guards against re-entry
            let raw = rawContainer(root, rootID: rid, path: [], depth: 0)
            var budget = Self.maxSteps
            roots[rid] = Self.resolve(raw, in: raw, at: [], depth: 0, hops: 0, budget: &budget)
        }
        guard let pos = positions[ObjectIdentifier(o)], let tree = roots[pos.root] else { return .notRead("a config node outside its root") }
        return Self.lookup(tree, pos.path) ?? .notRead("a config node outside its root")
    }

    /// An OmegaConf container's content, interpolations unresolved; records every container's position.
    mutating func rawContainer(_ o: PickleObject, rootID: ObjectIdentifier, path: [String], depth: Int) -> ConfigValue {
        guard depth < Self.maxDepth else { return .notRead("nested deeper than \(Self.maxDepth) levels") }
        if positions[ObjectIdentifier(o)] != nil { return .notRead("a config node that contains itself") }
        positions[ObjectIdentifier(o)] = (rootID, path)
        guard let content = Self.state(o)?["_content"] else { return .null }
        func node(_ x: PickleValue, _ key: String) -> ConfigValue {
            if let c = Self.container(x) { return rawContainer(c, rootID: rootID, path: path + [key], depth: depth + 1) }
            return convert(x, depth: depth + 1)
        }
        switch content {
        case let .dict(d):
            var m: [String: ConfigValue] = [:]
            for (k, x) in zip(d.keys, d.values) {
                guard let key = Self.key(k) else { continue }
                m[key] = node(x, key)
            }
            return .map(m)
        case let .list(l): return .list(l.items.enumerated().map { node($0.element, "\($0.offset)") })
        default: return convert(content, depth: depth + 1)   // None, "???" or an interpolation string
        }
    }

    /// The value at `path` (list items by index), or nil.
    static func lookup(_ tree: ConfigValue, _ path: [String]) -> ConfigValue? {
        var cur = tree
        for seg in path {
            switch cur {
            case let .map(m): guard let n = m[seg] else { return nil }; cur = n
            case let .list(l): guard let i = Int(seg), i >= 0, i < l.count else { return nil }; cur = l[i]
            default: return nil
            }
        }
        return cur
    }

    /// `tree` with every resolvable interpolation replaced; `root` is the unresolved whole config and
    /// `path` where `tree` sits in it.
    static func resolve(_ tree: ConfigValue, in root: ConfigValue, at path: [String], depth: Int, hops: Int, budget: inout Int) -> ConfigValue {
        budget -= 1
        guard depth < maxDepth, budget > 0 else { return tree }
        switch tree {
        case let .map(m):
            var out: [String: ConfigValue] = [:]
            for (k, x) in m { out[k] = resolve(x, in: root, at: path + [k], depth: depth + 1, hops: hops, budget: &budget) }
            return .map(out)
        case let .list(l):
            var out: [ConfigValue] = []
            for (i, x) in l.enumerated() { out.append(resolve(x, in: root, at: path + ["\(i)"], depth: depth + 1, hops: hops, budget: &budget)) }
            return .list(out)
        case let .string(s) where s.contains("${"):
            return interpolate(s, in: root, container: Array(path.dropLast()), hops: hops, budget: &budget) ?? tree
        default:
            return tree
        }
    }

    /// The value of text holding interpolations, or nil when any of them cannot be resolved.
    /// `container` is the path of the container holding the text (relative paths start there).
    static func interpolate(_ s: String, in root: ConfigValue, container: [String], hops: Int, budget: inout Int) -> ConfigValue? {
        budget -= 1
        guard hops < maxHops, budget > 0 else { return nil }
        let chars = Array(s)
        var parts: [(literal: String, expr: String?)] = []
        var literal = ""
        var i = 0
        while i < chars.count {
            if chars[i] == "\\", i + 2 < chars.count, chars[i + 1] == "$", chars[i + 2] == "{" { literal += "${"; i += 3; continue }
            if chars[i] == "$", i + 1 < chars.count, chars[i + 1] == "{" {
                // Find the matching brace.
                var level = 0, j = i + 1
                while j < chars.count {
                    if chars[j] == "{" { level += 1 } else if chars[j] == "}" { level -= 1; if level == 0 { break } }
                    j += 1
                }
                guard j < chars.count else { return nil }
                parts.append((literal, String(chars[i + 2 ..< j])))
                literal = ""
                i = j + 1
                continue
            }
            literal.append(chars[i])
            i += 1
        }
        var values: [ConfigValue] = []
        for p in parts {
            guard let e = p.expr, let v = node(e, in: root, container: container, hops: hops, budget: &budget) else { return nil }
            values.append(v)
        }
        // A lone interpolation keeps the type of what it names; text around it makes a string.
        if parts.count == 1, parts[0].literal.isEmpty, literal.isEmpty { return values[0] }
        var out = ""
        for (p, v) in zip(parts, values) {
            switch v {
            case .map, .list, .null: return nil
            default: out += p.literal + v.description
            }
        }
        return .string(out + literal)
    }

    /// The value a `${path}` expression names (resolved in turn), or nil for a resolver call or a
    /// path that names nothing.
    static func node(_ expr: String, in root: ConfigValue, container: [String], hops: Int, budget: inout Int) -> ConfigValue? {
        let e = expr.trimmingCharacters(in: .whitespaces)
        guard !e.isEmpty, !e.contains(":"), !e.contains("$"), !e.contains("["), !e.contains(" ") else { return nil }
        let dots = e.prefix(while: { $0 == "." }).count
        var path: [String]
        if dots == 0 {
            path = []
        } else {
            // `.x` is in the same container, each further dot one level up.
            guard dots - 1 <= container.count else { return nil }
            path = Array(container.dropLast(dots - 1))
        }
        let rest = e.dropFirst(dots)
        if !rest.isEmpty { path += rest.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }
        guard !path.contains(""), let v = lookup(root, path) else { return nil }
        if case let .string(s) = v, s.contains("${") {
            return interpolate(s, in: root, container: Array(path.dropLast()), hops: hops + 1, budget: &budget)
        }
        return resolve(v, in: root, at: path, depth: 0, hops: hops + 1, budget: &budget)
    }
}
