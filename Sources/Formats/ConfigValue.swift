// Plain configuration trees (from the checkpoint's hyper_parameters, model.yaml, vae-config.json),
// with a small indentation-based YAML-subset reader.
import Foundation
import Support

/// A JSON/YAML-like value. Map keys keep no order (lookups only).
public indirect enum ConfigValue: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ConfigValue])
    case map([String: ConfigValue])

    /// The value at a dotted path (`a.b.0.c`; numeric segments index lists), or nil.
    public subscript(path path: String) -> ConfigValue? {
        var cur: ConfigValue = self
        for seg in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            switch cur {
            case let .map(m): guard let n = m[seg] else { return nil }; cur = n
            case let .list(l): guard let i = Int(seg), i >= 0, i < l.count else { return nil }; cur = l[i]
            default: return nil
            }
        }
        return cur
    }

    /// Integer (also from an integral double or an integer string); nil otherwise.
    public var int: Int? {
        switch self {
        case let .int(i): return i
        case let .double(d): return d.isFinite && d == d.rounded() && abs(d) < 1e15 ? Int(d) : nil
        case let .string(s): return Int(s)
        default: return nil
        }
    }

    /// Number as Double (also from a numeric string); nil otherwise.
    public var double: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        case let .string(s): return Double(s)
        default: return nil
        }
    }

    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var list: [ConfigValue]? { if case let .list(l) = self { return l }; return nil }
    public var map: [String: ConfigValue]? { if case let .map(m) = self { return m }; return nil }

    /// Structural equality; numbers compare by value across `.int` and `.double` (JSON has one number type).
    public static func == (a: ConfigValue, b: ConfigValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.map(x), .map(y)): return x == y
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
            let x = a.double!, y = b.double!
            return x == y || (x.isNaN && y.isNaN)
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return "\(b)"
        case let .int(i): return "\(i)"
        case let .double(d): return "\(d)"
        case let .string(s): return s
        case let .list(l): return "[" + l.map(\.description).joined(separator: ", ") + "]"
        case let .map(m): return "{" + m.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// Largest config file read (JSON or YAML): real ones are a few KB, and the YAML reader rescans
    /// a flow collection once per nesting level, so the size bounds its time too.
    public static let maxFileBytes = 1 << 20

    /// A config file's bytes, through `FileRead` (regular files of at most `maxFileBytes`).
    static func readFile(_ path: String) throws -> Data {
        do { return try FileRead.whole(path, maxBytes: maxFileBytes) } catch FileReadError.notFound {
            throw ConfigError.cannotRead(path: path, reason: "no such file")
        } catch let FileReadError.unreadable(_, reason) {
            throw ConfigError.cannotRead(path: path, reason: reason)
        }
    }

    /// Reads a JSON file.
    public static func loadJSON(path: String) throws -> ConfigValue {
        let data = try readFile(path)
        do { return try JSONDecoder().decode(ConfigValue.self, from: data) } catch {
            throw ConfigError.syntax(path: path, line: 0, reason: "not valid JSON")
        }
    }
}

extension ConfigValue: Decodable {
    /// Decodes any JSON value (booleans stay booleans; integral numbers become `.int`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let l = try? c.decode([ConfigValue].self) { self = .list(l) }
        else { self = .map(try c.decode([String: ConfigValue].self)) }
    }
}

/// Errors from reading configuration files.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case syntax(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .cannotRead(p, r): return "cannot read config \(p): \(r)"
        case let .syntax(p, l, r): return "\(p):\(l): \(r)"
        }
    }
}

/// A reader for the YAML subset used by the public model configs: block mappings and sequences by
/// indentation, `- item` lists (also as mappings), flow `[a, b]` / `{}` on one line, comments,
/// plain/quoted scalars. Anchors, tags and multi-line scalars are not supported (an error names the
/// line). `${...}` interpolations are kept as strings, unresolved.
public enum MiniYAML {
    struct Line { let number: Int; let indent: Int; let text: String }

    /// Parses a file.
    public static func load(path: String) throws -> ConfigValue {
        guard let s = String(data: try ConfigValue.readFile(path), encoding: .utf8) else {
            throw ConfigError.cannotRead(path: path, reason: "not UTF-8 text")
        }
        return try parse(s, path: path)
    }

    /// Parses YAML text. `path` names the source in errors.
    public static func parse(_ text: String, path: String = "<yaml>") throws -> ConfigValue {
        var lines: [Line] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var s = String(raw)
            if s.hasSuffix("\r") { s.removeLast() }
            if s.contains("\t") && s.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                throw ConfigError.syntax(path: path, line: i + 1, reason: "tab in indentation")
            }
            let body = stripComment(s)
            let trimmed = body.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed == "---" || trimmed == "..." { continue }
            lines.append(Line(number: i + 1, indent: body.prefix(while: { $0 == " " }).count, text: trimmed))
        }
        var p = Parser(lines: lines, path: path)
        guard !lines.isEmpty else { return .null }
        let v = try p.block(indent: lines[0].indent)
        if p.i < lines.count { throw ConfigError.syntax(path: path, line: lines[p.i].number, reason: "unexpected indentation") }
        return v
    }

    /// Removes a `#` comment that is not inside quotes.
    static func stripComment(_ s: String) -> String {
        var quote: Character? = nil
        var prev: Character = " "
        var out = ""
        for c in s {
            if let q = quote { if c == q { quote = nil } } else if c == "'" || c == "\"" { quote = c } else if c == "#", prev == " " || prev == "\t" { break }
            out.append(c)
            prev = c
        }
        return out
    }

    struct Parser {
        var lines: [Line]
        let path: String
        var i = 0
        /// Blocks and flow collections open at this point; a config nests a few levels, a hostile
        /// file thousands (each a stack frame and, in flow style, a copy of the rest of the line).
        var nesting = 0
        static let maxNesting = 64

        func err(_ reason: String) -> ConfigError {
            .syntax(path: path, line: i < lines.count ? lines[i].number : (lines.last?.number ?? 0), reason: reason)
        }

        static func isSeqItem(_ t: String) -> Bool { t == "-" || t.hasPrefix("- ") }

        mutating func block(indent: Int) throws -> ConfigValue {
            guard i < lines.count else { return .null }
            nesting += 1
            defer { nesting -= 1 }
            guard nesting <= Parser.maxNesting else { throw err("nested deeper than \(Parser.maxNesting) levels") }
            return Parser.isSeqItem(lines[i].text) ? try sequence(indent: indent) : try mapping(indent: indent)
        }

        mutating func mapping(indent: Int) throws -> ConfigValue {
            var m: [String: ConfigValue] = [:]
            while i < lines.count, lines[i].indent == indent, !Parser.isSeqItem(lines[i].text) {
                let (k, rest) = try splitKey(lines[i].text)
                i += 1
                if rest.isEmpty {
                    if i < lines.count, lines[i].indent > indent { m[k] = try block(indent: lines[i].indent) }
                    else if i < lines.count, lines[i].indent == indent, Parser.isSeqItem(lines[i].text) { m[k] = try sequence(indent: indent) }
                    else { m[k] = .null }
                } else {
                    if rest.hasPrefix("|") || rest.hasPrefix(">") || rest.hasPrefix("&") || rest.hasPrefix("*") || rest.hasPrefix("!") {
                        i -= 1; throw err("block scalars, anchors, aliases and tags are not supported")
                    }
                    m[k] = try scalar(rest)
                }
            }
            if i < lines.count, lines[i].indent > indent { throw err("unexpected indentation") }
            return .map(m)
        }

        mutating func sequence(indent: Int) throws -> ConfigValue {
            var out: [ConfigValue] = []
            while i < lines.count, lines[i].indent == indent, Parser.isSeqItem(lines[i].text) {
                let item = String(lines[i].text.dropFirst(1)).trimmingCharacters(in: .whitespaces)
                if item.isEmpty {
                    i += 1
                    if i < lines.count, lines[i].indent > indent { out.append(try block(indent: lines[i].indent)) } else { out.append(.null) }
                } else if isMappingLine(item) {
                    // "- key: value": the item is a mapping whose column is after "- ".
                    let col = indent + (lines[i].text.count - item.count)
                    lines[i] = Line(number: lines[i].number, indent: col, text: item)
                    out.append(try mapping(indent: col))
                } else {
                    i += 1
                    out.append(try scalar(item))
                }
            }
            return .list(out)
        }

        func isMappingLine(_ t: String) -> Bool {
            if t.hasPrefix("\"") || t.hasPrefix("'") || t.hasPrefix("[") || t.hasPrefix("{") { return false }
            return (try? splitKey(t)) != nil
        }

        func splitKey(_ t: String) throws -> (String, String) {
            var quote: Character? = nil
            var idx = t.startIndex
            while idx < t.endIndex {
                let c = t[idx]
                if let q = quote { if c == q { quote = nil } } else if c == "'" || c == "\"" { quote = c } else if c == ":" {
                    let next = t.index(after: idx)
                    if next == t.endIndex || t[next] == " " {
                        var key = String(t[..<idx]).trimmingCharacters(in: .whitespaces)
                        if key.count >= 2, let f = key.first, f == "\"" || f == "'", key.last == f { key = String(key.dropFirst().dropLast()) }
                        return (key, String(t[next...]).trimmingCharacters(in: .whitespaces))
                    }
                }
                idx = t.index(after: idx)
            }
            throw err("expected `key: value`")
        }

        func scalar(_ s: String, depth: Int = 0) throws -> ConfigValue {
            let t = s.trimmingCharacters(in: .whitespaces)
            guard nesting + depth <= Parser.maxNesting else { throw err("nested deeper than \(Parser.maxNesting) levels") }
            if t.hasPrefix("[") {
                guard t.hasSuffix("]") else { throw err("unterminated flow sequence") }
                let inner = String(t.dropFirst().dropLast())
                if inner.trimmingCharacters(in: .whitespaces).isEmpty { return .list([]) }
                return .list(try splitFlow(inner).map { try scalar($0, depth: depth + 1) })
            }
            if t.hasPrefix("{") {
                guard t.hasSuffix("}") else { throw err("unterminated flow mapping") }
                let inner = String(t.dropFirst().dropLast())
                if inner.trimmingCharacters(in: .whitespaces).isEmpty { return .map([:]) }
                var m: [String: ConfigValue] = [:]
                for part in try splitFlow(inner) { let (k, v) = try splitKey(part); m[k] = try scalar(v, depth: depth + 1) }
                return .map(m)
            }
            if t.count >= 2, let f = t.first, f == "\"" || f == "'", t.last == f { return .string(String(t.dropFirst().dropLast())) }
            switch t {
            case "null", "Null", "NULL", "~", "": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            case ".inf", "+.inf": return .double(.infinity)
            case "-.inf": return .double(-.infinity)
            case ".nan": return .double(.nan)
            default: break
            }
            if let i = Int(t) { return .int(i) }
            if t.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true, let d = Double(t) { return .double(d) }
            return .string(t)
        }

        /// Splits flow content at top-level commas.
        func splitFlow(_ s: String) throws -> [String] {
            var parts: [String] = []
            var depth = 0
            var quote: Character? = nil
            var cur = ""
            for c in s {
                if let q = quote { if c == q { quote = nil } } else if c == "'" || c == "\"" { quote = c } else if c == "[" || c == "{" { depth += 1 } else if c == "]" || c == "}" { depth -= 1 } else if c == ",", depth == 0 {
                    parts.append(cur); cur = ""; continue
                }
                cur.append(c)
            }
            parts.append(cur)
            return parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }
}
