// The fuzz targets' inputs in the normal suite: every committed seed (Tests/Fuzz/corpus/<target>)
// is a valid file its reader reads, and every input a fuzzer flagged (Tests/Fuzz/regressions/<target>)
// ends in a value or a typed error within seconds (the fuzzer's hang limit is 1 s). Both go through
// `ReaderProbe` / `ImageReaderProbe`, the code the fuzz harnesses run.
import Formats
import Foundation
import ImageIO
import TestSupport
import XCTest

final class FuzzRegressionTests: XCTestCase {
    static let targets = ["pickle", "zip", "safetensors", "gguf", "config", "npy", "png", "jpeg"]

    func files(_ folder: String, _ target: String) -> [URL] {
        let dir = TestSupport.repoRoot.appendingPathComponent("Tests/Fuzz/\(folder)/\(target)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted().map { dir.appendingPathComponent($0) }
    }

    /// Runs one input through the target's probe; nil when it threw a typed error.
    func probe(_ target: String, _ url: URL) throws -> Int? {
        let data = try Data(contentsOf: url)
        do {
            switch target {
            case "pickle": return try data.withUnsafeBytes { try ReaderProbe.pickle($0).count }
            case "zip": return try ReaderProbe.zip(path: url.path)
            case "safetensors": return try ReaderProbe.safetensors(path: url.path)
            case "gguf": return try ReaderProbe.gguf(path: url.path)
            case "config":   // nil (like a thrown error) when neither the YAML nor the JSON reader takes it
                let n = data.withUnsafeBytes { ReaderProbe.config($0) }
                return n > 0 ? n : nil
            case "npy": return try ImageReaderProbe.npy(data)
            case "png": return try ImageReaderProbe.png(data)
            default: return try ImageReaderProbe.jpeg(data)
            }
        } catch is PickleError, is ZipError, is CheckpointError, is SafeTensorsError, is GGUFError, is FileAccessError, is ImageIOError {
            return nil
        }
    }

    func testSeedsAreReadable() throws {
        for t in Self.targets {
            let seeds = files("corpus", t)
            XCTAssertFalse(seeds.isEmpty, "\(t): no seeds")
            for s in seeds { XCTAssertNotNil(try probe(t, s), "\(t): seed \(s.lastPathComponent) does not read") }
        }
    }

    func testFlaggedInputsEndWithinTheHangLimit() throws {
        var count = 0
        for t in Self.targets {
            for f in files("regressions", t) {
                // These inputs take milliseconds when nothing is wrong; the bound is 5 s (not the
                // fuzzer's 1 s hang limit) so that a loaded machine does not fail it, and still
                // far below the minutes a regressed reader would take. The probe runs on its own
                // thread, so a reader that hangs fails here instead of hanging the suite.
                _ = try TestSupport.runBounded("\(t) probe of \(f.path)", within: 5) { try self.probe(t, f) }
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 0, "no regression inputs found")
    }
}
