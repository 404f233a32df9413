// The class-name parser: the file format (and the older tab-separated one), the list a model file
// stores, the lookup behind `--class NAME`, and every refusal.
import Formats
import Foundation
import ModelFile
import TestSupport
import XCTest

final class ClassNamesTests: XCTestCase {
    func testImageNetClassNamesFile() throws {
        let names = try ClassNames.load(TestSupport.path("models/imagenet-classes.txt"))
        XCTAssertEqual(names.entries.count, 1000)
        // Anchors of the standard label order.
        XCTAssertEqual(names.displayName(of: 0), "tench")
        XCTAssertEqual(names.displayName(of: 1), "goldfish")
        XCTAssertEqual(names.displayName(of: 207), "golden retriever")
        XCTAssertEqual(names.displayName(of: 999), "toilet tissue")
        XCTAssertNil(names.displayName(of: 1000))
        XCTAssertEqual(names.entries[0].names, ["tench", "Tinca tinca"])

        XCTAssertEqual(names.lookup("Golden  Retriever"), .found(207))
        XCTAssertEqual(names.lookup("golden_retriever"), .found(207))
        XCTAssertEqual(names.lookup("toilet paper"), .found(999), "synonyms match")
        XCTAssertEqual(names.lookup("crane"), .ambiguous([134, 517]), "bird and machine")
        guard case .notFound(let suggestions) = names.lookup("golden retreiver") else { return XCTFail("typo must not match") }
        XCTAssertEqual(suggestions.first, "golden retriever")
        guard case .notFound(let none) = names.lookup("zzzzzzzzzzzzzzzzzzzz") else { return XCTFail() }
        XCTAssertEqual(none, [], "nothing is close")
        // The file's lines are exactly the list a model file stores, so it converts unchanged.
        let lines = try String(contentsOfFile: TestSupport.path("models/imagenet-classes.txt"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        XCTAssertEqual(names.list, lines)
    }

    /// The file format and the older tab-separated one give the same classes; comments, blank
    /// lines, CRLF line ends and stray spaces are ignored.
    func testBothFileFormats() throws {
        let current = "# comment\n\ntench, Tinca tinca\r\n goldfish ,Carassius auratus\n\nshark\n"
        let older = "# index TAB id TAB names\n0\tn01440764\ttench, Tinca tinca\n1\tn01443537\tgoldfish, Carassius auratus\n\n2\tn0\tshark\n"
        let a = try ClassNames(parsing: current), b = try ClassNames(parsing: older)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.list, ["tench, Tinca tinca", "goldfish, Carassius auratus", "shark"])
        XCTAssertEqual(a.entries.map(\.index), [0, 1, 2])
        // A file read from disk: the same, and a list round-trips through `list`.
        let dir = try TestSupport.makeTempDir("classes", removedAfter: self).path
        try older.write(toFile: dir + "/old.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try ClassNames.load(dir + "/old.txt"), a)
        XCTAssertEqual(try ClassNames(list: a.list), a)
    }

    func testRefusals() throws {
        func parseError(_ text: String) -> ClassNamesError? {
            do { _ = try ClassNames(parsing: text, path: "c.txt"); return nil } catch { return error as? ClassNamesError }
        }
        XCTAssertEqual(parseError("0\tn1\ta\n2\tn2\tb\n"), .badLine(path: "c.txt", line: 2, reason: "index '2', expected 1"))
        XCTAssertEqual(parseError("a\n0\tb\n"), .badLine(path: "c.txt", line: 2,
                                                          reason: "expected `name, synonym, ...` (or the older `index TAB id TAB names`), found 2 tab-separated fields"))
        XCTAssertEqual(parseError("a\n , ,\n"), .badLine(path: "c.txt", line: 2, reason: "class 1 has no name"))
        XCTAssertEqual(parseError("# only a comment\n\n"), .empty(path: "c.txt"))
        XCTAssertEqual(try? ClassNames(list: []), nil)
        XCTAssertThrowsError(try ClassNames(list: ["a", "b\tc"], path: "m.gguf")) {
            XCTAssertEqual($0 as? ClassNamesError, .badEntry(path: "m.gguf", index: 1, reason: "\"b\tc\" has no name or holds a tab"))
        }
        XCTAssertThrowsError(try ClassNames(list: ["a", ", "], path: "m.gguf")) {
            XCTAssertEqual(($0 as? ClassNamesError)?.reason, "class 1: \", \" has no name or holds a tab")
        }
        let dir = try TestSupport.makeTempDir("classes-bad", removedAfter: self).path
        XCTAssertThrowsError(try ClassNames.load(dir + "/none.txt")) {
            XCTAssertEqual($0 as? ClassNamesError, .unreadable(path: dir + "/none.txt", reason: "no such file"))
        }
        try Data([0x61, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: dir + "/latin1.txt"))
        XCTAssertThrowsError(try ClassNames.load(dir + "/latin1.txt")) {
            XCTAssertEqual($0 as? ClassNamesError, .unreadable(path: dir + "/latin1.txt", reason: "not UTF-8 text"))
        }
    }

    /// A model file's `reptok.class_names`: absent is nil; present it must hold one valid entry per class.
    func testFromModelMetadata() throws {
        let key = MetadataSchema.classNamesKey
        XCTAssertNil(try ClassNames.read(metadata: [:], numClasses: 2, path: "m.gguf"))
        let names = try ClassNames.read(metadata: [key: .array([.string("zero, nought"), .string("one")])], numClasses: 2, path: "m.gguf")
        XCTAssertEqual(names?.lookup("nought"), .found(0))
        XCTAssertThrowsError(try ClassNames.read(metadata: [key: .array([.string("zero")])], numClasses: 2, path: "m.gguf")) {
            XCTAssertEqual($0 as? ModelConfigError, .badMetadata(path: "m.gguf", key: key, reason: "expected 2 strings, found [\"zero\"]"))
        }
        XCTAssertThrowsError(try ClassNames.read(metadata: [key: .array([.string("zero"), .string(" ")])], numClasses: 2, path: "m.gguf")) {
            XCTAssertEqual($0 as? ModelConfigError, .badMetadata(path: "m.gguf", key: key, reason: "class 1: \" \" has no name or holds a tab"))
        }
        // The committed digits model carries its names.
        let f = try GGUFFile(path: TestSupport.path("models/reptok-digits-int8.gguf"))
        let digits = try ClassNames.read(metadata: f.metadata, numClasses: 10, path: "digits")
        XCTAssertEqual(digits?.lookup("seven"), .found(7))
    }
}
