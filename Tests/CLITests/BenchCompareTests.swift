import Foundation
import TestSupport
import XCTest

/// `reptok bench pipeline --compare FILE.json` on the tiny preset with hand-written PyTorch times:
/// the printed ratio columns are our printed seconds over the file's, the JSON carries the same
/// ratios, another instruction level is a warning, and a malformed file is a one-line error
/// (exit 2) before anything is measured.
final class BenchCompareTests: XCTestCase {
    /// PyTorch seconds per stage and precision: distinct per stage and per precision, and far
    /// from the tiny preset's milliseconds, so a swapped stage, a swapped precision or an inverted
    /// ratio (theirs / ours) all print a different number. The VAE has no int8 time, as bench_torch.py writes it.
    static let torchSeconds: [String: [String: Double]] = [
        "encoder": ["fp32": 10, "int8": 1],
        "decoder_step": ["fp32": 20, "int8": 2],
        "vae": ["fp32": 30],
        "generator_step": ["fp32": 40, "int8": 4],
    ]

    /// The run's environment with the generic kernels, whose level PyTorch calls `default`:
    /// the same on every machine, so the test knows which `isa` matches.
    static var genericEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["REPTOK_ISA": "generic"]) { $1 }
    }

    func writeReference(_ dir: URL, isa: String, extra: [String: Any] = [:]) throws -> String {
        let obj: [String: Any] = ["isa": isa, "torch": "2.13.0+cpu", "cpu": "hand-written", "stages": Self.torchSeconds,
                                  "stage_info": ["encoder": ["gflop": 1e-6]]]   // a FLOP count of another model size
            .merging(extra) { $1 }
        let path = dir.appendingPathComponent("torch-\(isa)-\(extra.count).json").path
        try JSONSerialization.data(withJSONObject: obj).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRatioColumnsAreOurSecondsOverPyTorchs() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try writeReference(dir, isa: "default")
        let save = dir.appendingPathComponent("report.json").path
        let run = try TestSupport.run(CLIEndToEndTests.reptok, [
            "bench", "pipeline", "--preset", "tiny", "--cache", dir.path, "--runs", "1", "--threads", "1", "--retries", "0",
            "--no-generate", "--no-ceilings", "--compare", file, "--save", save,
        ], environment: Self.genericEnvironment)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stderr.contains("PyTorch level"), "same level: no level warning\n\(run.stderr)")
        XCTAssertTrue(run.stderr.contains("PyTorch's encoder does"), "the encoder's FLOP count differs: warned\n\(run.stderr)")

        // The table: each row ends with torch fp32, ours/fp32, torch int8, ours/int8 ("-" where not compared).
        var stage = "", rows = 0
        for line in run.stdout.split(separator: "\n") {
            let cols = line.split(separator: " ").map(String.init)
            if line.hasPrefix("(") { continue }   // the notes under the table
            if let first = cols.first, Self.torchSeconds[first] != nil { stage = first }
            guard let m = cols.firstIndex(where: { $0 == "w8a8" || $0 == "w8a32" }) else { continue }
            rows += 1
            let mode = cols[m], ours = try XCTUnwrap(Double(cols[m + 1]), String(line))
            let tail = Array(cols.suffix(4))
            let expected: [(String, Int)] = mode == "w8a32" ? [("fp32", 0)] : [("fp32", 0), ("int8", 2)]
            for (precision, at) in expected {
                guard let theirs = Self.torchSeconds[stage]?[precision] else {
                    XCTAssertEqual(tail[at], "-", "\(stage) \(mode): no \(precision) time in the file")
                    continue
                }
                XCTAssertEqual(Double(tail[at]), theirs, "\(stage) \(mode): PyTorch \(precision) seconds as in the file")
                let ratio = try XCTUnwrap(Double(tail[at + 1].replacingOccurrences(of: "×", with: "")), String(line))
                /// Tolerance: our seconds and the ratio are each printed to 3 significant digits (≤ 0.5 % each).
                XCTAssertEqual(ratio, ours / theirs, accuracy: ours / theirs * 0.011, "\(stage) \(mode) \(precision): ours / PyTorch")
            }
            if mode == "w8a32" { XCTAssertEqual(Array(tail[2...]), ["-", "-"], "\(stage): w8a32 is not compared with int8") }
        }
        XCTAssertEqual(rows, 8, "4 stages × 2 modes\n\(run.stdout)")

        // The JSON: the same comparison, unrounded.
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: save))) as? [String: Any])
        let compare = try XCTUnwrap(report["compare"] as? [String: Any])
        XCTAssertEqual(compare["isa"] as? String, "default")
        XCTAssertEqual((compare["warnings"] as? [String])?.count, 1, "the FLOP warning only")
        let stages = try XCTUnwrap(report["stages"] as? [String: [String: [String: Any]]])
        XCTAssertEqual(stages.count, 4)
        for (name, modes) in stages {
            for (mode, m) in modes {
                let seconds = try XCTUnwrap(m["seconds"] as? Double)
                let torch = try XCTUnwrap(m["pytorch"] as? [String: Double], "\(name) \(mode)")
                let compared = mode == "w8a8" ? ["fp32", "int8"] : ["fp32"]
                for p in ["fp32", "int8"] {
                    let theirs = Self.torchSeconds[name]?[p]
                    guard compared.contains(p), let theirs else {
                        XCTAssertNil(torch["ratio_\(p)"], "\(name) \(mode) \(p)")
                        continue
                    }
                    XCTAssertEqual(torch["\(p)_seconds"], theirs)
                    /// Tolerance: one float division.
                    XCTAssertEqual(try XCTUnwrap(torch["ratio_\(p)"]), seconds / theirs, accuracy: seconds / theirs * 1e-12, "\(name) \(mode) \(p)")
                }
            }
        }
    }

    func testAnotherLevelWarnsAndStillRuns() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try writeReference(dir, isa: "avx2")
        let run = try TestSupport.run(CLIEndToEndTests.reptok, [
            "bench", "pipeline", "--preset", "tiny", "--cache", dir.path, "--runs", "1", "--threads", "1", "--retries", "0",
            "--no-generate", "--no-ceilings", "--only", "generator_step", "--modes", "w8a8", "--json", "--compare", file,
        ], environment: Self.genericEnvironment)
        XCTAssertEqual(run.status, 0, run.stderr)
        let warnings = run.stderr.split(separator: "\n").filter { $0.hasPrefix("reptok: warning:") }
        XCTAssertEqual(warnings.count, 1, run.stderr)
        XCTAssertTrue(warnings.first?.contains("PyTorch level avx2, this run's kernels are generic (PyTorch level default)") ?? false, run.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
        XCTAssertEqual(((report["compare"] as? [String: Any])?["warnings"] as? [String])?.count, 1)
    }

    /// The fields ATen's level cannot tell apart: the cap bench_torch.py was asked for (both
    /// AVX-512 caps report `avx512`) and its thread count. Each differing one is a warning.
    func testAnotherCapOrThreadCountWarns() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["bench", "pipeline", "--preset", "tiny", "--cache", dir.path, "--runs", "1", "--threads", "1", "--retries", "0",
                    "--no-generate", "--no-ceilings", "--only", "generator_step", "--modes", "w8a8", "--compare"]
        let same = try writeReference(dir, isa: "default", extra: ["isa_requested": "auto", "threads": 1])
        let quiet = try TestSupport.run(CLIEndToEndTests.reptok, args + [same], environment: Self.genericEnvironment)
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertFalse(quiet.stderr.contains("reptok: warning:"), quiet.stderr)
        let other = try writeReference(dir, isa: "default", extra: ["isa_requested": "avx512-novnni", "threads": 2])
        let run = try TestSupport.run(CLIEndToEndTests.reptok, args + [other], environment: Self.genericEnvironment)
        XCTAssertEqual(run.status, 0, run.stderr)
        let warnings = run.stderr.split(separator: "\n").filter { $0.hasPrefix("reptok: warning:") }
        XCTAssertEqual(warnings.count, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("measured with --isa avx512-novnni, this run's kernels are generic (PyTorch --isa auto)"), run.stderr)
        XCTAssertTrue(run.stderr.contains("measured with 2 threads, this run uses 1"), run.stderr)
    }

    func testMalformedFileIsOneLineErrorBeforeMeasuring() throws {
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let head = #""isa": "avx2", "torch": "2.13.0+cpu", "cpu": "x""#
        let cases: [(String, String)] = [
            ("{\"isa\": \"avx2\", \"stages\": ", "not a JSON object"),
            ("[1, 2]", "not a JSON object"),
            (#"{"torch": "2", "cpu": "x", "stages": {"encoder": {"fp32": 1.0}}}"#, "\"isa\" must be a non-empty string"),
            ("{\(head)}", "\"stages\" must be a non-empty object"),
            ("{\(head), \"stages\": {\"unet\": {\"fp32\": 1.0}}}", "unknown stage \"unet\""),
            ("{\(head), \"stages\": {\"encoder\": {\"bf16\": 1.0}}}", "stage \"encoder\": unknown precision \"bf16\""),
            ("{\(head), \"stages\": {\"encoder\": {\"fp32\": -1.5}}}", "stage \"encoder\" fp32: seconds must be a positive number"),
            ("{\(head), \"stages\": {\"encoder\": {\"fp32\": \"fast\"}}}", "stage \"encoder\" fp32: seconds must be a positive number"),
            ("{\(head), \"stages\": {\"encoder\": {\"fp32\": true}}}", "stage \"encoder\" fp32: seconds must be a positive number"),
            ("{\(head), \"stages\": {\"encoder\": 1.0}}", "stage \"encoder\" must be a non-empty object"),
        ]
        let cache = dir.appendingPathComponent("cache")
        for (i, (text, reason)) in cases.enumerated() {
            let file = dir.appendingPathComponent("bad\(i).json").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            let run = try TestSupport.run(CLIEndToEndTests.reptok, ["bench", "pipeline", "--preset", "tiny", "--cache", cache.path, "--compare", file])
            XCTAssertEqual(run.status, 2, "\(text)\n\(run.stderr)")
            XCTAssertTrue(run.stderr.hasPrefix("reptok: --compare \(file): not a bench_torch.py result: \(reason)"), "\(text)\n\(run.stderr)")
            XCTAssertEqual(run.stderr.filter { $0 == "\n" }.count, 1, "one line\n\(run.stderr)")
            XCTAssertTrue(run.stderr.hasSuffix("\n"))
        }
        let missing = dir.appendingPathComponent("none.json").path
        let run = try TestSupport.run(CLIEndToEndTests.reptok, ["bench", "pipeline", "--preset", "tiny", "--cache", cache.path, "--compare", missing])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.stderr, "reptok: --compare \(missing): no such file\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache.path), "refused before the synthetic model was written")
    }
}
