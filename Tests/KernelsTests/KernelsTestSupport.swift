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

/// A random int8 product for the tests of weights repacked once (`I8Panels`, `I8RowTerms`):
/// activations a [m, k] in [−2, 2), a bias [n], int8 weights [n, k] over [−127, 127] with row
/// scales in (0, 0.1], and a starting output [m, ldc = n + 3] whose last 3 columns are sentinels.
struct Int8Product {
    let m: Int, k: Int, n: Int, ldc: Int
    let a: [Float], bias: [Float], scales: [Float], c0: [Float]
    var q: [Int8]

    init(m: Int, k: Int, n: Int, seed: UInt64) {
        var rng = TestRNG(seed)
        self.m = m; self.k = k; self.n = n; ldc = n + 3
        a = rng.floats(m * k, scale: 2); bias = rng.floats(n)
        q = (0..<(n * k)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
        scales = (0..<n).map { _ in Float(rng.next() % 1000 + 1) * 1e-4 }
        c0 = (0..<(m * ldc)).map { Float($0 % 5) - 2 }
    }

    /// `body` with the weights as a plain `WeightMatrix` (valid inside `body` only).
    func withMatrix(_ body: (WeightMatrix) -> Void) {
        q.withUnsafeBufferPointer { qp in
            scales.withUnsafeBufferPointer { sp in
                body(WeightMatrix(i8: qp.baseAddress!, scales: sp.baseAddress!, n: n, k: k))
            }
        }
    }

    /// C = c0 + gelu(a · wᵀ + bias) through `matmul`, w standing for these weights (plain or repacked).
    func run(_ w: WeightMatrix, mode: MatrixMode, ctx: ComputeContext) -> [Float] {
        var c = c0
        c.withUnsafeMutableBufferPointer { cp in
            matmul(a, lda: k, m: m, w, bias: bias, activation: .gelu, accumulate: true, into: cp.baseAddress!,
                   ldc: ldc, mode: mode, ctx: ctx)
        }
        return c
    }

    /// Asserts that an output of `run` left the sentinel columns as they were.
    func assertSentinels(_ c: [Float], file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "sentinel [\(i), \(j)] overwritten", file: file, line: line) } }
    }
}

/// For each level this CPU runs: makes `make`'s copy of `plain` with a 2-thread context of that
/// level and passes it to `body`; where there is none, asserts that `uses` says the level keeps
/// none. Returns how many levels had a copy.
func forEachLevelCopy<T>(of plain: WeightMatrix, make: (WeightMatrix, ComputeContext) -> T?,
                         uses: (ComputeContext) -> Bool, _ what: String, body: (ISA, T) -> Void) -> Int {
    var count = 0
    for isa in ISA.supported {
        let ctx = ComputeContext(threads: 2, isa: isa)
        guard let copy = make(plain, ctx) else {
            XCTAssertFalse(uses(ctx), "\(isa): no \(what) although the level uses them")
            continue
        }
        count += 1
        body(isa, copy)
    }
    return count
}
