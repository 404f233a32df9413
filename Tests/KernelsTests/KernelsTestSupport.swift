// Helpers of the KernelsTests only (the shared ones, TestRNG among them, are in the TestSupport target).
import XCTest
import Kernels
import TestSupport

/// The sizes every kernel is checked at: odd and aligned around the SIMD width (16) and
/// the microkernel blocks (8 rows, 32 columns).
let kernelTestSizes = [1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 257]

/// Largest |x − y|.
func maxAbs(_ x: [Float], _ y: [Float]) -> Double {
    zip(x, y).map { abs(Double($0) - Double($1)) }.max() ?? 0
}

/// Asserts relative L2 (`TestSupport.relativeL2`) ≤ tol, reporting the case.
func assertClose(_ x: [Float], _ y: [Float], relL2 tol: Double, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let e = TestSupport.relativeL2(x, y)
    XCTAssertTrue(e <= tol, "\(what()): relL2 \(e) > \(tol)", file: file, line: line)
    XCTAssertFalse(x.contains { !$0.isFinite }, "\(what()): non-finite output", file: file, line: line)
}

/// Bitwise equality of two float arrays.
func bitsEqual(_ x: [Float], _ y: [Float]) -> Bool {
    x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// One 2-thread context per instruction level this CPU runs, best first (an AVX-512 VNNI
/// machine with AVX-VNNI: avx512vnni, avx512, avxvnni, avx2, generic; an AVX2 one: avx2,
/// generic; AArch64: neondot, neon, generic), then amx-emulated (the AMX path on the scalar
/// tile model, which runs everywhere): every kernel test runs on every level the machine supports.
let levelContextList = ISA.supported.map { ComputeContext(threads: 2, isa: $0) }
func levelContexts() -> [ComputeContext] { levelContextList }
