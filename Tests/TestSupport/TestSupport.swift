// What every test target shares: the repository's folders, temporary folders, running processes
// (python3, the built `reptok`), deterministic test data and the relative-L2 error measure; the
// image fixtures and independent image readers are in ImageFixtures.swift, the model fixtures and the
// independent GGUF reader in ModelFixtures.swift, hand-made hostile checkpoints in HostileFiles.swift.
// Helpers that only one target needs stay in that target (FormatsTestSupport.swift,
// KernelsTestSupport.swift, RuntimeTests/TinyFixture.swift).
import Foundation
import Support
import XCTest

public enum TestSupport {
    /// The repository root: this file is `Tests/TestSupport/TestSupport.swift`.
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `relative` (e.g. "Tests/Fixtures/tiny") inside the repository.
    /// Factor for the tests' wall-clock bounds (`REPTOK_TEST_SLOWDOWN`, default 1, at least 1).
    /// The bounds catch runaway work (a reader that walks a hostile input quadratically takes
    /// hours, not seconds); under instruction emulation every instruction costs 10–20× more, so
    /// `tools/check-arm64.sh` sets 20 there. Nothing else reads it.
    public static let slowdown: Double = {
        guard let text = ProcessInfo.processInfo.environment["REPTOK_TEST_SLOWDOWN"], let v = Double(text), v.isFinite else { return 1 }
        return max(v, 1)
    }()

    public static func path(_ relative: String) -> String { repoRoot.appendingPathComponent(relative).path }

    /// A fresh empty folder under the system temporary folder, named after `name` (letters and digits).
    /// With `test`, it is removed when that test ends; otherwise the caller removes it.
    public static func makeTempDir(_ name: String = #function, removedAfter test: XCTestCase? = nil) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("reptok-tests-\(safe)-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test?.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Result of running a process to completion.
    public struct Run {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `executable` with `arguments` and no standard input, in `cwd`, with `environment`
    /// (default: this process's); captures both outputs.
    public static func run(_ executable: String, _ arguments: [String], cwd: URL? = nil,
                           environment: [String: String]? = nil) throws -> Run {
        let child = try ChildProcess.run(executable, arguments, directory: cwd?.path, environment: environment)
        return Run(status: child.exitStatus, stdout: child.stdout, stderr: child.stderr)
    }

    /// `python3` from PATH.
    public static var python3: String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(dir)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/python3"
    }

    /// Runs `python3 arguments…`.
    public static func runPython(_ arguments: [String]) throws -> Run { try run(python3, arguments) }

    /// The `reptok` executable SwiftPM built next to the test runner ("" when there is none).
    /// `Bundle.allBundles` is not asked on Linux: Swift 6.0's Foundation crashes in it (NULL array)
    /// when no bundle was loaded; there the runner executable itself is in that folder.
    public static let reptok: String = {
        var folders = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        #if !os(Linux)
        folders += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        #endif
        if let exe = ResourceUsage.executablePath() {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for folder in folders {
            let candidate = folder.appendingPathComponent("reptok").path
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return ""
    }()

    /// Relative L2 error ‖x − y‖ / ‖y‖ of `x` against the reference `y`, in double precision
    /// (0 when both are zero, infinity when only the reference is, or when the lengths differ).
    /// The same definition as the runtime's `Metrics.relativeL2`, kept here so that tests of the
    /// lower layers need not depend on the runtime.
    public static func relativeL2(_ x: [Float], _ y: [Float]) -> Double {
        guard x.count == y.count else { return .infinity }
        let err = zip(x, y).reduce(0.0) { s, p in s + (Double(p.0) - Double(p.1)) * (Double(p.0) - Double(p.1)) }
        let ref = y.reduce(0.0) { $0 + Double($1) * Double($1) }
        return ref == 0 ? (err == 0 ? 0 : .infinity) : (err / ref).squareRoot()
    }
}

/// Deterministic test data from splitmix64.
public struct TestRNG {
    private var bits: SplitMix64
    public init(_ seed: UInt64) { bits = SplitMix64(state: seed) }
    public mutating func next() -> UInt64 { bits.next() }
    /// Uniform in [-1, 1).
    public mutating func float() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }
    public mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float() * scale } }
    public mutating func int8s(_ n: Int) -> [Int8] { (0..<n).map { _ in Int8(truncatingIfNeeded: next()) } }
}
