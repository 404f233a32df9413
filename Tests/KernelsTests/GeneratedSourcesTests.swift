import Foundation
import TestSupport
import XCTest

/// The hand-unrolled kernel files are written by generator scripts (the one place to edit
/// them); this fails when a generated file was edited by hand or its generator changed
/// without rerunning it.
final class GeneratedSourcesTests: XCTestCase {
    func checkGenerator(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TestSupport.runPython([TestSupport.path("tools/\(script)"), "--check"])
        XCTAssertEqual(r.status, 0, "\(script) --check: \(r.stderr)", file: file, line: line)
    }

    func testRowKernelsUpToDate() throws { try checkGenerator("gen-rowkernels.py") }

    func testMicrokernelsUpToDate() throws { try checkGenerator("gen-microkernels.py") }
}
