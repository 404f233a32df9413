import Foundation

/// Class index ↔ English names, read from a text file such as
/// `models/imagenet-classes.txt`.
///
/// File format: UTF-8 lines `<index> TAB <id> TAB <name>, <synonym>, ...`;
/// lines starting with `#` and blank lines are skipped. Indices must run
/// 0, 1, 2, … in order. The first name is the display name.
///
/// Matching ignores case, surrounding spaces, repeated spaces and `_`
/// (read as a space). A display name wins over a synonym; a name that several
/// classes share (ImageNet has two "crane"s) is reported as ambiguous.
public struct ClassNames: Sendable {
    /// One class.
    public struct Entry: Sendable, Equatable {
        /// Position in the label order, 0-based.
        public let index: Int
        /// Source identifier (the WordNet synset id for ImageNet).
        public let id: String
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

    /// Reads and validates a class-name file.
    public static func load(_ path: String) throws -> ClassNames {
        let data = try FileData.read(path, maxBytes: 16 << 20)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ImageIOError.badDataFile(path: path, line: 1, reason: "not UTF-8 text")
        }
        return try ClassNames(parsing: text, path: path)
    }

    /// Parses the file format described on the type; `path` only names the file in errors.
    public init(parsing text: String, path: String = "<memory>") throws {
        var entries: [Entry] = []
        for (n, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.trimmingCharacters(in: .whitespaces).isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3 else {
                throw ImageIOError.badDataFile(path: path, line: n + 1, reason: "expected 3 tab-separated fields, found \(fields.count)")
            }
            guard let index = Int(fields[0]), index == entries.count else {
                throw ImageIOError.badDataFile(path: path, line: n + 1, reason: "index '\(fields[0])', expected \(entries.count)")
            }
            let names = fields[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty else {
                throw ImageIOError.badDataFile(path: path, line: n + 1, reason: "class \(index) has no name")
            }
            entries.append(Entry(index: index, id: String(fields[1]), names: names))
        }
        guard !entries.isEmpty else { throw ImageIOError.badDataFile(path: path, line: 1, reason: "no classes") }
        self.entries = entries
    }

    /// Classes from a list in index order, each its names (display name first), as a model's
    /// metadata carries them; `path` only names the source in errors. Empty names are dropped;
    /// a class left with none is an error.
    public init(names: [[String]], path: String = "<memory>") throws {
        var entries: [Entry] = []
        for (i, list) in names.enumerated() {
            let kept = list.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !kept.isEmpty else { throw ImageIOError.badDataFile(path: path, line: i + 1, reason: "class \(i) has no name") }
            entries.append(Entry(index: i, id: "", names: kept))
        }
        guard !entries.isEmpty else { throw ImageIOError.badDataFile(path: path, line: 1, reason: "no classes") }
        self.entries = entries
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
