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

    func testTermsGiveTheSameBits() throws {
        var made = 0
        for (m, k, n) in Self.shapes {
            var p = Int8Product(m: m, k: k, n: n, seed: UInt64(m * 11 + k * 5 + n))
            p.q[0] = -128; p.q[n * k - 1] = -128        // the one magnitude of 128
            p.withMatrix { plain in
                made += forEachLevelCopy(of: plain, make: { I8RowTerms(of: $0, ctx: $1) }, uses: I8RowTerms.used, "row terms") { isa, withTerms in
                    XCTAssertEqual(withTerms.bytes, 4 * n)
                    XCTAssertEqual(withTerms.matrix.n, n); XCTAssertEqual(withTerms.matrix.k, k)
                    // every level: the matrix with terms gives the plain matrix's bits (levels
                    // without the kernel ignore the terms)
                    for other in ISA.supported {
                        for threads in [1, 2, 3] {
                            let ctx = ComputeContext(threads: threads, isa: other)
                            let want = p.run(plain, mode: .w8a8, ctx: ctx), got = p.run(withTerms.matrix, mode: .w8a8, ctx: ctx)
                            XCTAssertTrue(bitsEqual(got, want), "terms computed at \(isa), read at \(other), \(threads) threads (\(m), \(k), \(n)): max \(maxAbs(got, want))")
                            p.assertSentinels(got)
                        }
                    }
                }
            }
        }
        try XCTSkipIf(made == 0, "no level of this CPU takes row terms")
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
