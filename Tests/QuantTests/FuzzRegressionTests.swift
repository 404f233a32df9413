// The fuzz targets' inputs in the normal suite: every committed seed (Tests/Fuzz/corpus/<target>)
// is a valid file its reader reads, and every input a fuzzer flagged (Tests/Fuzz/regressions/<target>)
// now ends in a value or a typed error within the fuzzer's 1 s hang limit. Both go through
// `ReaderProbe`, the code the fuzz harness runs.
import Foundation
import Quant
import XCTest

final class FuzzRegressionTests: XCTestCase {
    static let targets = ["pickle", "zip", "safetensors", "gguf"]

    func files(_ folder: String, _ target: String) -> [String] {
        let dir = Repo.path("Tests/Fuzz/\(folder)/\(target)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { dir + "/" + $0 }
    }

    /// Runs one input through the target's probe; nil when it threw a typed error.
    func probe(_ target: String, _ path: String) throws -> Int? {
        do {
            switch target {
            case "pickle":
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                return try bytes.withUnsafeBytes { try ReaderProbe.pickle($0).count }
            case "zip": return try ReaderProbe.zip(path: path)
            case "safetensors": return try ReaderProbe.safetensors(path: path)
            default: return try ReaderProbe.gguf(path: path)
            }
        } catch is PickleError, is ZipError, is CheckpointError, is SafeTensorsError, is GGUFError, is FileAccessError {
            return nil
        }
    }

    func testSeedsAreReadable() throws {
        for t in Self.targets {
            let seeds = files("corpus", t)
            XCTAssertFalse(seeds.isEmpty, "\(t): no seeds")
            for s in seeds { XCTAssertNotNil(try probe(t, s), "\(t): seed \(s) does not read") }
        }
    }

    func testFlaggedInputsEndWithinTheHangLimit() throws {
        var count = 0
        for t in Self.targets {
            for f in files("regressions", t) {
                let start = Date()
                _ = try probe(t, f)
                // The fuzzer's hang limit; these inputs take milliseconds when nothing is wrong.
                XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, f)
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 0, "no regression inputs found")
    }
}
