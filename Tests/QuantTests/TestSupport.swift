// Shared helpers for QuantTests: fixture paths, scratch folders, running the Python checkers.
import Foundation
import Quant
import XCTest

/// Repository paths, located from this file (`Tests/QuantTests/TestSupport.swift`).
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ rel: String) -> String { root.appendingPathComponent(rel).path }
    static let tiny = path("Tests/Fixtures/tiny")
    static let tinyCkpt = path("Tests/Fixtures/tiny/reptok.ckpt")
    static let tinySafetensors = path("Tests/Fixtures/tiny/reptok.safetensors")
    static let tinyYAML = path("Tests/Fixtures/tiny/model.yaml")
    static let tinyGolden = path("Tests/Fixtures/tiny/golden.safetensors")
    static let checkGGUF = path("Tests/python/check_gguf.py")
}

/// A fresh empty folder under the system temp dir, removed by the caller's `addTeardownBlock`.
func makeScratchDir(_ test: XCTestCase, _ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quant-\(tag)-\(getpid())-\(UInt32.random(in: 0 ... .max))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Files in `dir` (names), for checking that nothing was left behind.
func filesIn(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

/// Runs `python3 args...`, returning (status, stdout, stderr).
func runPython(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3"] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read before waiting so a large output cannot fill the pipe and deadlock.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Runs a Python script printing `{"pickles": {protocol: hex}, "value": json}` and reads each
/// protocol's pickle with the restricted unpickler as hyper-parameters. Returns Python's value and
/// ours per protocol (sorted), failing the test when Python fails.
func unpicklePythonPickles(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> (expected: ConfigValue, read: [(proto: String, value: ConfigValue)]) {
    let r = try runPython(["-c", script])
    XCTAssertEqual(r.status, 0, r.err, file: file, line: line)
    struct Out: Decodable { let pickles: [String: String]; let value: ConfigValue }
    let o = try JSONDecoder().decode(Out.self, from: Data(r.out.utf8))
    let read = try o.pickles.sorted(by: { $0.key < $1.key }).map { proto, hex -> (String, ConfigValue) in
        var bytes: [UInt8] = []
        var it = hex.makeIterator()
        while let h = it.next(), let l = it.next() { bytes.append(UInt8(String([h, l]), radix: 16)!) }
        return (proto, try bytes.withUnsafeBytes { try RestrictedUnpickler(source: "protocol \(proto)").load($0) { TorchCheckpoint.plainConfig($0) } })
    }
    return (o.value, read)
}

/// What `Tests/python/check_gguf.py` reports for a file.
struct PyGGUF: Decodable {
    struct Tensor: Decodable { let name: String; let type: String; let shape: [Int]; let n_bytes: Int; let offset: Int; let sha256: String }
    let alignment: Int
    let tensors: [Tensor]
    let metadata: [String: PyValue]
}

/// A decoded JSON metadata value.
enum PyValue: Decodable, Equatable {
    case int(Int), double(Double), string(String), bool(Bool), array([PyValue])
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .array(try c.decode([PyValue].self)) }
    }
}

/// Runs the independent reader on `path`; fails the test when python exits non-zero.
func pyReadGGUF(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> PyGGUF {
    let r = try runPython([Repo.checkGGUF, path])
    guard r.status == 0 else {
        XCTFail("check_gguf.py failed (\(r.status)): \(r.err)", file: file, line: line)
        throw NSError(domain: "python", code: Int(r.status))
    }
    return try JSONDecoder().decode(PyGGUF.self, from: Data(r.out.utf8))
}
