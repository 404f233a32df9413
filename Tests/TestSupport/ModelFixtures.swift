// Fixture paths of the model tests and the independent GGUF reader (the PyPI `gguf` package, driven
// by Tests/python/check_gguf.py), shared by the Formats, ModelFile, Quant and CLI tests.
import Foundation
import XCTest

/// Fixture paths in the repository.
public enum Repo {
    public static func path(_ rel: String) -> String { TestSupport.path(rel) }
    public static let tiny = path("Tests/Fixtures/tiny")
    public static let tinyCkpt = path("Tests/Fixtures/tiny/reptok.ckpt")
    public static let tinySafetensors = path("Tests/Fixtures/tiny/reptok.safetensors")
    public static let tinyYAML = path("Tests/Fixtures/tiny/model.yaml")
    public static let tinyGolden = path("Tests/Fixtures/tiny/golden.safetensors")
    public static let checkGGUF = path("Tests/python/check_gguf.py")
}

/// Files in `dir` (names), for checking that nothing was left behind.
public func filesIn(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

/// What `Tests/python/check_gguf.py` reports for a file.
public struct PyGGUF: Decodable {
    public struct Tensor: Decodable {
        public let name: String; public let type: String; public let shape: [Int]; public let n_bytes: Int; public let offset: Int; public let sha256: String
        /// Block types only: digest of the package's dequantized float32 values.
        public let dequant_sha256: String?
    }
    public let alignment: Int
    public let tensors: [Tensor]
    public let metadata: [String: PyValue]
}

/// A decoded JSON metadata value.
public enum PyValue: Decodable, Equatable {
    case int(Int), double(Double), string(String), bool(Bool), array([PyValue])
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .array(try c.decode([PyValue].self)) }
    }
}

/// Runs the independent reader on `path`; fails the test when python exits non-zero.
public func pyReadGGUF(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> PyGGUF {
    let r = try TestSupport.runPython([Repo.checkGGUF, path])
    guard r.status == 0 else {
        XCTFail("check_gguf.py failed (\(r.status)): \(r.stderr)", file: file, line: line)
        throw NSError(domain: "python", code: Int(r.status))
    }
    return try JSONDecoder().decode(PyGGUF.self, from: Data(r.stdout.utf8))
}
