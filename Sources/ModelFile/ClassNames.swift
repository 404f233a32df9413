// Class names: the one parser of the class-name file (`reptok convert --classes`,
// `models/imagenet-classes.txt`) and of a model file's `reptok.class_names`, and the lookup behind
// `--class NAME`.
import Formats
import Foundation
import Support

/// Errors from reading class names. Each names the file (or model file) it came from.
public enum ClassNamesError: Error, CustomStringConvertible, Equatable {
    /// The file is missing, too large, unreadable or not UTF-8 text.
    case unreadable(path: String, reason: String)
    /// A line of a class-name file (1-based) is not a class.
    case badLine(path: String, line: Int, reason: String)
    /// Entry `index` (0-based) of a list of classes is not a class.
    case badEntry(path: String, index: Int, reason: String)
    /// The file or list holds no class.
    case empty(path: String)

    /// The reason alone, without the path.
    public var reason: String {
        switch self {
        case let .unreadable(_, r): return r
        case let .badLine(_, line, r): return "line \(line): \(r)"
        case let .badEntry(_, i, r): return "class \(i): \(r)"
        case .empty: return "no classes"
        }
    }

    public var description: String {
        switch self {
        case let .unreadable(p, _), let .badEntry(p, _, _), let .empty(p): return "\(p): \(reason)"
        case let .badLine(p, line, r): return "\(p):\(line): \(r)"
        }
    }
}

/// Class index ↔ names.
///
/// The class-name file (docs/gguf-format.md, 'Class names'): UTF-8 text, one class per line in
/// label order, each line `name, synonym, ...` (the first name is the display name; names hold no
/// comma). Lines starting with `#` and blank lines are skipped. A model file's `reptok.class_names`
/// holds exactly these lines, one string per class. The older tab-separated lines
/// `<index> TAB <id> TAB <name>, <synonym>, ...` (indices 0, 1, 2, … in order) are still read.
///
/// Matching ignores case, surrounding spaces, repeated spaces and `_`
/// (read as a space). A display name wins over a synonym; a name that several
/// classes share (ImageNet has two "crane"s) is reported as ambiguous.
public struct ClassNames: Sendable, Equatable {
    /// One class.
    public struct Entry: Sendable, Equatable {
        /// Position in the label order, 0-based.
        public let index: Int
        /// Display name first, then synonyms; never empty.
        public let names: [String]
        /// The first name.
        public var displayName: String { names[0] }
    }

    /// Result of `lookup`.
    public enum Match: Equatable, Sendable {
        /// Exactly one class has this name.
        case found(Int)
        /// Several classes have this name; their indices, ascending.
        case ambiguous([Int])
        /// No class has this name; up to 3 close display names, closest first.
        case notFound(suggestions: [String])
    }

    /// Every class, in index order.
    public let entries: [Entry]

    /// Longest class entry or line accepted (bytes).
    public static let maxEntryBytes = 4096

    /// The names of one class line or entry: split at commas, trimmed, empty names dropped.
    static func names(in text: Substring) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Reads and parses a class-name file (at most 16 MB: a class list is a few kilobytes).
    public static func load(_ path: String) throws -> ClassNames {
        let data: Data
        do { data = try FileRead.whole(path, maxBytes: 16 << 20) } catch let e as FileReadError {
            switch e {
            case .notFound: throw ClassNamesError.unreadable(path: path, reason: "no such file")
            case let .unreadable(_, reason): throw ClassNamesError.unreadable(path: path, reason: reason)
            }
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ClassNamesError.unreadable(path: path, reason: "not UTF-8 text") }
        return try ClassNames(parsing: text, path: path)
    }

    /// Parses the file format described on the type; `path` only names the file in errors.
    public init(parsing text: String, path: String = "<memory>") throws {
        var lists: [[String]] = []
        // `isNewline` also splits at "\r\n", which Swift reads as one character.
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.utf8.count <= ClassNames.maxEntryBytes else {
                throw ClassNamesError.badLine(path: path, line: n + 1, reason: "\(line.utf8.count) bytes, above \(ClassNames.maxEntryBytes)")
            }
            var names = Substring(line)
            if line.contains("\t") {
                // The older format: index TAB id TAB names.
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard fields.count == 3 else {
                    throw ClassNamesError.badLine(path: path, line: n + 1, reason: "expected `name, synonym, ...` (or the older `index TAB id TAB names`), found \(fields.count) tab-separated fields")
                }
                guard Int(fields[0]) == lists.count else {
                    throw ClassNamesError.badLine(path: path, line: n + 1, reason: "index '\(fields[0])', expected \(lists.count)")
                }
                names = fields[2]
            }
            let list = Self.names(in: names)
            guard !list.isEmpty else { throw ClassNamesError.badLine(path: path, line: n + 1, reason: "class \(lists.count) has no name") }
            lists.append(list)
        }
        guard !lists.isEmpty else { throw ClassNamesError.empty(path: path) }
        entries = lists.enumerated().map { Entry(index: $0.offset, names: $0.element) }
    }

    /// Classes from a list in label order, each entry one line of the file format (`name, synonym,
    /// ...`), as `reptok.class_names` and a checkpoint's `hyper_parameters.class_names` hold them;
    /// `path` only names the source in errors. An entry with no name or with a tab is refused.
    public init(list: [String], path: String = "<memory>") throws {
        var entries: [Entry] = []
        for (i, text) in list.enumerated() {
            // An ImageNet entry is under 200 bytes; a long one would only split into many names.
            guard text.utf8.count <= ClassNames.maxEntryBytes else {
                throw ClassNamesError.badEntry(path: path, index: i, reason: "\(text.utf8.count) bytes, above \(ClassNames.maxEntryBytes)")
            }
            let names = Self.names(in: Substring(text))
            guard !names.isEmpty, !text.contains("\t") else {
                throw ClassNamesError.badEntry(path: path, index: i, reason: "\"\(text)\" has no name or holds a tab")
            }
            entries.append(Entry(index: i, names: names))
        }
        guard !entries.isEmpty else { throw ClassNamesError.empty(path: path) }
        self.entries = entries
    }

    /// The list as a model file stores it (`reptok.class_names`): one `name, synonym, ...` per class.
    public var list: [String] { entries.map { $0.names.joined(separator: ", ") } }

    /// The class names a model file carries (`reptok.class_names`), or nil when it has none.
    /// Throws `ModelConfigError.badMetadata` unless the value is `numClasses` valid entries.
    public static func read(metadata md: [String: GGUFValue], numClasses: Int, path: String) throws -> ClassNames? {
        let key = MetadataSchema.classNamesKey
        guard let value = md[key] else { return nil }
        guard let list = value.stringArray, list.count == numClasses else {
            throw ModelConfigError.badMetadata(path: path, key: key, reason: "expected \(numClasses) strings, found \(value)")
        }
        do { return try ClassNames(list: list, path: path) } catch let e as ClassNamesError {
            throw ModelConfigError.badMetadata(path: path, key: key, reason: e.reason)
        }
    }

    /// The display name of class `index`, or nil when out of range.
    public func displayName(of index: Int) -> String? {
        entries.indices.contains(index) ? entries[index].displayName : nil
    }

    /// Finds a class by name (see the type's documentation for the rules).
    public func lookup(_ name: String) -> Match {
        let key = Self.normalize(name)
        let byDisplay = entries.filter { Self.normalize($0.displayName) == key }.map(\.index)
        if byDisplay.count == 1 { return .found(byDisplay[0]) }
        if byDisplay.count > 1 { return .ambiguous(byDisplay) }
        let bySynonym = entries.filter { $0.names.contains { Self.normalize($0) == key } }.map(\.index)
        if bySynonym.count == 1 { return .found(bySynonym[0]) }
        if bySynonym.count > 1 { return .ambiguous(bySynonym) }
        return .notFound(suggestions: suggestions(for: key))
    }

    /// Up to 3 display names close to `key`: classes with a name containing
    /// `key` first, then the smallest edit distance over all names, ties by index.
    private func suggestions(for key: String) -> [String] {
        guard !key.isEmpty else { return [] }
        let keyChars = Array(key)
        var scored: [(score: Int, index: Int)] = []
        for entry in entries {
            var best = Int.max
            for name in entry.names {
                let n = Self.normalize(name)
                if n.contains(key) { best = min(best, -1) }  // containment ranks above any distance
                best = min(best, Self.editDistance(keyChars, Array(n)))
            }
            scored.append((best, entry.index))
        }
        scored.sort { $0.score != $1.score ? $0.score < $1.score : $0.index < $1.index }
        // Beyond half the name's length an edit distance says nothing useful.
        let limit = max(2, keyChars.count / 2)
        return scored.prefix(3).filter { $0.score <= limit }.map { entries[$0.index].displayName }
    }

    /// Lowercased, `_` read as space, runs of spaces collapsed, trimmed.
    static func normalize(_ s: String) -> String {
        s.lowercased().replacingOccurrences(of: "_", with: " ")
            .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// Levenshtein distance (insert, delete, substitute each cost 1).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1,
                                 previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
