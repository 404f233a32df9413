import CKernels
import TestSupport
import XCTest
import Kernels

/// The x86 few-row int8 kernels without a dot instruction (`rtk_avx2_i8_rows`: |w| times the
/// activations with flipped sign bits plus a per-row term; `rtk_avx2_i8_rows_t`: the same with
/// the terms given; `rtk_avx512_i8_rows`: the sign trick on zmm) against Σ w·x computed here in
/// Int. Exact, so every comparison is equality.
final class I8RowsTests: XCTestCase {
    typealias RowsFn = (Int, Int, Int, UnsafePointer<Int8>, Int, UnsafePointer<Int8>, Int, UnsafeMutablePointer<Int32>, Int) -> Void

    /// (name, whether activations may be −128, kernel). The zmm sign trick negates activations,
    /// so it needs them in [−127, 127], which is all the quantizer writes.
    var kernels: [(String, Bool, RowsFn)] {
        var k: [(String, Bool, RowsFn)] = []
        if ISA.avx2.isSupported {
            k.append(("AVX2", true, { rtk_avx2_i8_rows($0, $1, $2, $3, $4, $5, $6, $7, $8) }))
            // the same kernel given the weight rows' terms (`rtk_i8_negative_terms`, checked below)
            k.append(("AVX2 with row terms", true, { mr, nc, kk, a, lda, w, ldw, out, ldo in
                var terms = [Int32](repeating: 0, count: nc)
                rtk_i8_negative_terms(nc, kk, w, ldw, &terms)
                rtk_avx2_i8_rows_t(mr, nc, kk, a, lda, w, ldw, terms, out, ldo)
            }))
        }
        if ISA.avx512.isSupported { k.append(("AVX-512", false, { rtk_avx512_i8_rows($0, $1, $2, $3, $4, $5, $6, $7, $8) })) }
        return k
    }

    /// 1 to 6 rows; k through every loop path (one byte, a partial and a whole 32-byte step, a
    /// tail after whole steps, the generator's 4,608 plus a tail). Operands: random over all of
    /// [−128, 127] (the quantizer never writes −128: only the AVX2 kernel is held to it), then the corners
    /// that push one int16 pair sum to its extremes: w = −128 with x = 127 (|w|·(x XOR m) =
    /// 128·(−128), pairs at −32,768) and with x = −128 (128·127, pairs at 32,512), and w = 127
    /// with x = ±127. Output rows are ldo = nc + 3 apart, with sentinels in between.
    func testRowKernelsAreExact() throws {
        try XCTSkipIf(kernels.isEmpty, "this CPU has no AVX2")
        var rng = TestRNG(23)
        let nc = 5
        for k in [1, 31, 32, 33, 64, 100, 4_613] {
            let lda = (k + 63) / 64 * 64 + 16       // zero past k up to a multiple of 64, as required
            let random = (0..<6).map { _ in rng.int8s(k) }
            var cases: [(String, [Int8], [[Int8]])] = [("random", rng.int8s(nc * k), random),
                                                       ("random, x ≠ −128", rng.int8s(nc * k), random.map { $0.map { max($0, -127) } })]
            for (wv, xv) in [(Int8(-128), Int8(127)), (-128, -128), (127, 127), (127, -127), (-127, -128)] {
                cases.append(("w \(wv), x \(xv)", [Int8](repeating: wv, count: nc * k), [[Int8]](repeating: [Int8](repeating: xv, count: k), count: 6)))
            }
            for (label, w, rows) in cases {
                var a = [Int8](repeating: 0, count: 6 * lda)
                for i in 0..<6 { for p in 0..<k { a[i * lda + p] = rows[i][p] } }
                for mr in 1...6 {
                    let ldo = nc + 3
                    for (name, takesMinus128, kernel) in kernels {
                        if !takesMinus128, rows.contains(where: { $0.contains(-128) }) { continue }
                        var out = [Int32](repeating: 0x5A5A_5A5A, count: mr * ldo)
                        kernel(mr, nc, k, a, lda, w, k, &out, ldo)
                        for i in 0..<mr { for j in 0..<ldo {
                            guard j < nc else {
                                XCTAssertEqual(out[i * ldo + j], 0x5A5A_5A5A, "\(name): sentinel [\(i), \(j)] overwritten"); continue
                            }
                            var s = 0
                            for p in 0..<k { s += Int(w[j * k + p]) * Int(rows[i][p]) }
                            XCTAssertEqual(Int(out[i * ldo + j]), s, "\(name) \(label) k \(k) mr \(mr) [\(i), \(j)]")
                        } }
                    }
                }
            }
        }
    }

    /// `rtk_i8_negative_terms` against its definition at odd sizes, with a row stride past k,
    /// the extreme −128 included, and a sentinel past the n terms.
    func testNegativeTerms() {
        var rng = TestRNG(29)
        for (n, k) in [(1, 1), (3, 31), (5, 33), (7, 100), (2, 4_613)] {
            let ldw = k + 5
            var w = rng.int8s(n * ldw)
            w[0] = -128
            var terms = [Int32](repeating: 0x5A5A_5A5A, count: n + 1)
            rtk_i8_negative_terms(n, k, w, ldw, &terms)
            for j in 0..<n {
                var t: Int32 = 0
                for p in 0..<k where w[j * ldw + p] < 0 { t -= Int32(w[j * ldw + p]) }
                XCTAssertEqual(terms[j], t, "(\(n), \(k)) term \(j)")
            }
            XCTAssertEqual(terms[n], 0x5A5A_5A5A, "(\(n), \(k)): term past n written")
        }
    }
}
