import Foundation
import XCTest

/// The hand-unrolled kernel files are written by generator scripts (the one place to edit
/// them); this fails when a generated file was edited by hand or its generator changed
/// without rerunning it.
final class GeneratedSourcesTests: XCTestCase {
    /// Repository root: Tests/KernelsTests/<this file> → ../..
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    func checkGenerator(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.root.appendingPathComponent("tools/\(script)").path, "--check"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(script) --check: \(message)", file: file, line: line)
    }

    func testRowKernelsUpToDate() throws { try checkGenerator("gen-rowkernels.py") }

    func testMicrokernelsUpToDate() throws { try checkGenerator("gen-microkernels.py") }
}
