// What every test target shares: the repository's folders, temporary folders, running processes
// (python3, the built `reptok`) and calls with a time bound, deterministic test data and the relative-L2 error measure; the
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

    /// Factor for the tests' wall-clock bounds (`REPTOK_TEST_SLOWDOWN`, default 1, at least 1).
    /// The bounds catch runaway work (a reader that walks a hostile input quadratically takes
    /// hours, not seconds); under instruction emulation every instruction costs 10–20× more, so
    /// `tools/check-arm64.sh` sets 20 there. Nothing else reads it.
    public static let slowdown: Double = {
        guard let text = ProcessInfo.processInfo.environment["REPTOK_TEST_SLOWDOWN"], let v = Double(text), v.isFinite else { return 1 }
        return max(v, 1)
    }()

    /// `relative` (e.g. "Tests/Fixtures/tiny") inside the repository.
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

    /// Checks the CLI's way of refusing: exit status 2 and one `reptok: ` line on stderr that
    /// contains each of `words`; `what` names the case in failures.
    public static func assertRefused(_ r: Run, _ what: String, words: [String],
                                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, "\(what): status; stderr \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("reptok: "), "\(what): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(what): one line, got \(r.stderr)", file: file, line: line)
        for w in words { XCTAssertTrue(r.stderr.contains(w), "\(what): expected \"\(w)\" in \(r.stderr)", file: file, line: line) }
    }

    /// Seconds a child process may run before `run` gives up on it, before `slowdown` scales it:
    /// far above the slowest child of the suite (an `eval` of the digits model, seconds when the
    /// machine is idle and about a minute when other builds share its two cores), so only a hung
    /// child reaches it.
    public static let defaultTimeout: Double = 600

    /// Why `run` failed after starting the child.
    public struct RunError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `executable` with `arguments` and no standard input, in `cwd`, with `environment`
    /// (default: this process's); captures both outputs. Waits at most `timeout` seconds (at least
    /// 5) times `slowdown`: a child still running then is killed (SIGKILL) and `RunError` is thrown,
    /// naming the command and the bound, so a hung child fails its test instead of the suite.
    public static func run(_ executable: String, _ arguments: [String], cwd: URL? = nil,
                           environment: [String: String]? = nil, timeout: Double = defaultTimeout) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = cwd }
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        // Both pipes are drained on their own threads so neither can fill and block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box(), errBox = Box()
        let drained = DispatchGroup()
        for (pipe, box) in [(out, outBox), (err, errBox)] {
            drained.enter()
            Thread.detachNewThread {
                box.data = pipe.fileHandleForReading.readDataToEndOfFile()
                drained.leave()
            }
        }
        let bound = max(timeout, 5) * slowdown
        let command = ([executable] + arguments).joined(separator: " ")
        if exited.wait(timeout: .now() + bound) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
            throw RunError(description: "\(command) did not finish within \(bound) s (\(max(timeout, 5)) s × REPTOK_TEST_SLOWDOWN \(slowdown)); killed it")
        }
        // The child has exited; only a process it left behind could keep its outputs open.
        guard drained.wait(timeout: .now() + 5 * slowdown) == .success else {
            throw RunError(description: "\(command) exited but its output stayed open (a process it started still runs)")
        }
        let signalled = process.terminationReason == .uncaughtSignal
        return Run(status: signalled ? 128 + process.terminationStatus : process.terminationStatus,
                   stdout: String(decoding: outBox.data, as: UTF8.self), stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Runs `body` on a thread of its own and waits at most `seconds` (at least 1) times `slowdown`
    /// for it: returns what it returns and rethrows what it throws; when it is still running then,
    /// throws `RunError` naming `what` and the bound. A hung call thus fails its test in bounded time;
    /// its thread cannot be stopped and stays behind, blocked or spinning, for the rest of the run.
    /// The thread gets 8 MiB of stack, the main thread's usual size, so deep recursion behaves as it
    /// would in the caller.
    public static func runBounded<R>(_ what: @autoclosure () -> String, within seconds: Double,
                                     _ body: @escaping () throws -> R) throws -> R {
        let box = ResultBox<R>(), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { try body() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        let bound = max(seconds, 1) * slowdown
        guard done.wait(timeout: .now() + bound) == .success, let result = box.result else {
            throw RunError(description: "\(what()) did not finish within \(bound) s (\(max(seconds, 1)) s × REPTOK_TEST_SLOWDOWN \(slowdown)); its thread is left running")
        }
        return try result.get()
    }

    /// `python3` from PATH.
    public static var python3: String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let candidate = "\(dir)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/bin/python3"
    }

    /// Runs `python3 arguments…` (bounded as `run`).
    public static func runPython(_ arguments: [String], timeout: Double = defaultTimeout) throws -> Run {
        try run(python3, arguments, timeout: timeout)
    }

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

/// What `TestSupport.runBounded`'s thread hands back (written before the semaphore is signalled,
/// read only after a successful wait).
private final class ResultBox<R>: @unchecked Sendable {
    var result: Result<R, Error>?
}
