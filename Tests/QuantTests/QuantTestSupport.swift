// Helpers of the QuantTests only: fixture paths, the Python checkers' output (the shared helpers are
// in the TestSupport target).
import Foundation
import Quant
import TestSupport
import XCTest

/// Fixture paths in the repository.
enum Repo {
    static func path(_ rel: String) -> String { TestSupport.path(rel) }
    static let tiny = path("Tests/Fixtures/tiny")
    static let tinyCkpt = path("Tests/Fixtures/tiny/reptok.ckpt")
    static let tinySafetensors = path("Tests/Fixtures/tiny/reptok.safetensors")
    static let tinyYAML = path("Tests/Fixtures/tiny/model.yaml")
    static let tinyGolden = path("Tests/Fixtures/tiny/golden.safetensors")
    static let checkGGUF = path("Tests/python/check_gguf.py")
}

/// Files in `dir` (names), for checking that nothing was left behind.
func filesIn(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

/// Runs a Python script printing `{"pickles": {protocol: hex}, "value": json}` and reads each
/// protocol's pickle with the restricted unpickler as hyper-parameters. Returns Python's value and
/// ours per protocol (sorted), failing the test when Python fails.
func unpicklePythonPickles(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> (expected: ConfigValue, read: [(proto: String, value: ConfigValue)]) {
    let r = try TestSupport.runPython(["-c", script])
    XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    struct Out: Decodable { let pickles: [String: String]; let value: ConfigValue }
    let o = try JSONDecoder().decode(Out.self, from: Data(r.stdout.utf8))
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
    struct Tensor: Decodable {
        let name: String; let type: String; let shape: [Int]; let n_bytes: Int; let offset: Int; let sha256: String
        /// Block types only: digest of the package's dequantized float32 values.
        let dequant_sha256: String?
    }
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
    let r = try TestSupport.runPython([Repo.checkGGUF, path])
    guard r.status == 0 else {
        XCTFail("check_gguf.py failed (\(r.status)): \(r.stderr)", file: file, line: line)
        throw NSError(domain: "python", code: Int(r.status))
    }
    return try JSONDecoder().decode(PyGGUF.self, from: Data(r.stdout.utf8))
}
