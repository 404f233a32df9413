import XCTest
import TestSupport
@testable import Kernels

/// Every level's float microkernel called directly, at every height (1…16: one strip, and a
/// whole strip plus the rest, which the ymm and NEON kernels split in two when it is 7 to 9
/// rows) and width (nv = 1 or 2 vectors of 16), strided and contiguous A, both store modes: bit for
/// bit against one scalar fused multiply-add chain per output in p order (the contract every
/// level shares; a multiply and an add in a build without FMA), with sentinel columns past 16·nv and a sentinel row past the strip.
final class F32KernelTests: XCTestCase {
    /// One step of the reference chain, s + x·y: fused, or in a build for a CPU without FMA
    /// (REPTOK_NO_FMA) a multiply and an add, that build's contract.
    static func step(_ s: Float, _ x: Float, _ y: Float) -> Float {
        #if REPTOK_NO_FMA
        let p = x * y
        return s + p
        #else
        return s.addingProduct(x, y)
        #endif
    }

    /// A float microkernel as the tests call it: (rows, nv, kc, a, aStep, b, ldb, c, ldc, accumulate).
    typealias Kernel = (Int, Int, Int, UnsafePointer<UnsafePointer<Float>>, Int, UnsafePointer<Float>, Int,
                        UnsafeMutablePointer<Float>, Int, Bool) -> Void

    func testEveryHeightAndWidthAgainstScalarChains() {
        for ctx in levelContexts() {
            let k = ctx.kernels
            check("\(ctx.isa)") { rows, nv, kc, a, aStep, b, ldb, c, ldc, acc in
                k.f32Kernel(rows: rows, nv: nv, kc: kc, a: a, aStep: aStep, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc)
            }
        }
    }

    /// Both register blockings of the Swift kernel, whichever one this build's generic level
    /// uses: the other runs in builds for other CPUs (8 × 32 for AVX-512, strips of 6 × 16 for
    /// AVX, AVX2 and NEON), and its arithmetic does not depend on the registers it gets.
    func testBothSwiftShapesAgainstScalarChains() {
        for shapes in [SwiftF32Shapes.wide, .narrow] {
            check("Swift \(shapes)") { rows, nv, kc, a, aStep, b, ldb, c, ldc, acc in
                f32Microkernel(rows: rows, nv: nv, kc: kc, a: a, aStep: aStep, b: b, ldb: ldb, c: c, ldc: ldc,
                               accumulate: acc, shapes: shapes)
            }
        }
        XCTAssertEqual(KernelSet(.generic).f32Strip, SwiftF32Shapes.build.strip)
    }

    /// Every height, width, stride and store mode of `kernel` against the scalar chains.
    func check(_ name: String, _ kernel: Kernel) {
        var rng = TestRNG(41)
        for nv in 1...2 {
            for rows in 1...16 {
                for (kc, aStep) in [(1, 1), (37, 1), (72, 3)] {
                    for accumulate in [false, true] {
                        let ldb = 16 * nv + 5, ldc = 16 * nv + 3, sentinel: Float = -9999
                        let a = (0..<rows).map { _ in rng.floats(kc * aStep) }
                        let b = rng.floats(kc * ldb)
                        var c = [Float](repeating: sentinel, count: (rows + 1) * ldc)
                        for i in 0..<rows { for j in 0..<(16 * nv) { c[i * ldc + j] = rng.float() } }
                        var want = c
                        for i in 0..<rows {
                            for j in 0..<(16 * nv) {
                                var s: Float = accumulate ? c[i * ldc + j] : 0
                                for p in 0..<kc { s = Self.step(s, a[i][p * aStep], b[p * ldb + j]) }
                                want[i * ldc + j] = s
                            }
                        }
                        // the rows in their own allocations (the kernel reads them through pointers)
                        let rowsMem = a.map { r -> UnsafeMutablePointer<Float> in
                            let m = UnsafeMutablePointer<Float>.allocate(capacity: r.count)
                            m.initialize(from: r, count: r.count)
                            return m
                        }
                        defer { rowsMem.forEach { $0.deallocate() } }
                        let ptrs = rowsMem.map { UnsafePointer($0) }
                        ptrs.withUnsafeBufferPointer { pp in
                            b.withUnsafeBufferPointer { bp in
                                c.withUnsafeMutableBufferPointer { cp in
                                    kernel(rows, nv, kc, pp.baseAddress!, aStep, bp.baseAddress!, ldb, cp.baseAddress!, ldc,
                                           accumulate)
                                }
                            }
                        }
                        XCTAssertTrue(bitsEqual(c, want), "\(name) rows \(rows) nv \(nv) kc \(kc) aStep \(aStep) acc \(accumulate)")
                    }
                }
            }
        }
    }
}
