import XCTest
import Kernels

/// The sizes every kernel is checked at: odd and aligned around the SIMD width (16) and
/// the microkernel blocks (8 rows, 32 columns).
let kernelTestSizes = [1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 257]

/// SplitMix64: deterministic test data.
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(Int64(bitPattern: next()) >> 40) / Float(1 << 23) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float() * scale } }
    mutating func int8s(_ n: Int) -> [Int8] { (0..<n).map { _ in Int8(truncatingIfNeeded: next()) } }
}

/// ||x − y|| / ||y|| over two equally long arrays (0 when both are zero).
func relL2(_ x: [Float], _ y: [Float]) -> Double {
    precondition(x.count == y.count)
    var num = 0.0, den = 0.0
    for i in 0..<x.count {
        let d = Double(x[i]) - Double(y[i])
        num += d * d; den += Double(y[i]) * Double(y[i])
    }
    if den == 0 { return num == 0 ? 0 : .infinity }
    return (num / den).squareRoot()
}

/// Largest |x − y|.
func maxAbs(_ x: [Float], _ y: [Float]) -> Double {
    zip(x, y).map { abs(Double($0) - Double($1)) }.max() ?? 0
}

/// Asserts relL2 ≤ tol, reporting the case.
func assertClose(_ x: [Float], _ y: [Float], relL2 tol: Double, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let e = relL2(x, y)
    XCTAssertTrue(e <= tol, "\(what()): relL2 \(e) > \(tol)", file: file, line: line)
    XCTAssertFalse(x.contains { !$0.isFinite }, "\(what()): non-finite output", file: file, line: line)
}

/// Bitwise equality of two float arrays.
func bitsEqual(_ x: [Float], _ y: [Float]) -> Bool {
    x.count == y.count && zip(x, y).allSatisfy { $0.bitPattern == $1.bitPattern }
}

/// One 2-thread context per instruction level this CPU runs, best first (an AVX-512 VNNI
/// machine: avx512vnni, avx512, avx2, generic; an AVX2 one: avx2, generic; AArch64: neon,
/// generic): every kernel test runs on every level the machine supports.
let levelContextList = ISA.supported.map { ComputeContext(threads: 2, isa: $0) }
func levelContexts() -> [ComputeContext] { levelContextList }
