import TestSupport
import XCTest
@testable import Kernels

/// int8 weights with their row terms computed once (`I8RowTerms`): `matmul`'s few-row W8A8
/// products taking the terms give exactly the bits they give summing them, for 1, 2 and 3
/// threads, on every level this CPU runs (levels without a kernel for the terms compute none,
/// and ignore terms computed elsewhere).
final class I8RowTermsTests: XCTestCase {
    /// Row-form shapes (m ≤ 8, rows in kernel calls of 6 and a remainder): k short, across the
    /// 32-byte steps with a tail, the generator's 1,536 plus a tail; n around the 64-column tasks.
    static let shapes: [(m: Int, k: Int, n: Int)] = [(1, 7, 3), (3, 33, 65), (6, 100, 64), (8, 1_541, 131)]

    func run(_ w: WeightMatrix, m: Int, a: [Float], bias: [Float], c0: [Float], ldc: Int, ctx: ComputeContext) -> [Float] {
        var c = c0
        c.withUnsafeMutableBufferPointer { cp in
            matmul(a, lda: w.k, m: m, w, bias: bias, activation: .gelu, accumulate: true, into: cp.baseAddress!,
                   ldc: ldc, mode: .w8a8, ctx: ctx)
        }
        return c
    }

    func testTermsGiveTheSameBits() throws {
        var copies = 0
        for (m, k, n) in Self.shapes {
            var rng = TestRNG(UInt64(m * 11 + k * 5 + n))
            let a = rng.floats(m * k, scale: 2), bias = rng.floats(n)
            var q = rng.int8s(n * k)
            q[0] = -128; q[n * k - 1] = -128
            let scales = (0..<n).map { _ in Float(rng.next() % 1000 + 1) * 1e-4 }
            let ldc = n + 3
            let c0 = (0..<(m * ldc)).map { Float($0 % 5) - 2 }
            q.withUnsafeBufferPointer { qp in
                scales.withUnsafeBufferPointer { sp in
                    let plain = WeightMatrix(i8: qp.baseAddress!, scales: sp.baseAddress!, n: n, k: k)
                    for isa in ISA.supported {
                        let maker = ComputeContext(threads: 2, isa: isa)
                        guard let copy = I8RowTerms(of: plain, ctx: maker) else {
                            XCTAssertFalse(I8RowTerms.used(by: maker), "\(isa): no terms although the level takes them")
                            continue
                        }
                        copies += 1
                        XCTAssertEqual(copy.bytes, 4 * n)
                        XCTAssertEqual(copy.matrix.n, n); XCTAssertEqual(copy.matrix.k, k)
                        // every level: the matrix with terms gives the plain matrix's bits (levels
                        // without the kernel ignore the terms)
                        for other in ISA.supported {
                            for threads in [1, 2, 3] {
                                let ctx = ComputeContext(threads: threads, isa: other)
                                let want = run(plain, m: m, a: a, bias: bias, c0: c0, ldc: ldc, ctx: ctx)
                                let got = run(copy.matrix, m: m, a: a, bias: bias, c0: c0, ldc: ldc, ctx: ctx)
                                XCTAssertTrue(bitsEqual(got, want), "terms computed at \(isa), read at \(other), \(threads) threads (\(m), \(k), \(n)): max \(maxAbs(got, want))")
                                for i in 0..<m { for j in n..<ldc { XCTAssertEqual(got[i * ldc + j], c0[i * ldc + j], "sentinel overwritten") } }
                            }
                        }
                    }
                }
            }
        }
        try XCTSkipIf(copies == 0, "no level of this CPU takes row terms")
    }

    /// Float weights and levels without the kernel get no terms; the avx2 level does.
    func testWhereTermsAreMade() throws {
        let f = [Float](repeating: 1, count: 64)
        f.withUnsafeBufferPointer { fp in
            XCTAssertNil(I8RowTerms(of: WeightMatrix(f32: fp.baseAddress!, n: 2, k: 32), ctx: ComputeContext(threads: 1)))
        }
        XCTAssertFalse(I8RowTerms.used(by: ComputeContext(threads: 1, isa: .generic)))
        try XCTSkipUnless(ISA.avx2.isSupported, "this CPU has no AVX2")
        XCTAssertTrue(I8RowTerms.used(by: ComputeContext(threads: 1, isa: .avx2)))
    }
}
