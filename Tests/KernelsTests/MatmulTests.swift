import TestSupport
import XCTest
@testable import Kernels

/// matmul and sgemm against the scalar/double references in `Reference`.
final class MatmulTests: XCTestCase {
    /// Float32 accumulation over k ≤ 1700 terms of unit-size products, compared with a
    /// double sum: each product and partial sum is rounded once (2^-24 relative) and the
    /// errors add like a random walk — ≤ 1.4e-6 relative observed (matmul and conv);
    /// 1e-5 leaves margin and still catches any wrong term (one wrong product of 257 is ≈ 6e-2).
    static let f32Tol = 1e-5
    /// W8A8 against the reference's exact Int32 sums: only the final float ops differ
    /// (conversion, two scale multiplies, bias; per-block partial sums when k > 768) —
    /// ≤ 1e-7 observed, so 1e-6.
    static let i8Tol = 1e-6

    enum Weights { case f32, i8(MatrixMode) }

    /// Runs one case through the fast kernel and the reference and compares.
    func check(m: Int, k: Int, n: Int, weights: Weights, bias: Bool = true, activation: Activation = .none,
               colScale: Bool = false, accumulate: Bool = false, lda extraA: Int = 0, ldc extraC: Int = 0,
               ctx: ComputeContext, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
        var rng = TestRNG(seed &+ UInt64(m * 1_000_003 + k * 1009 + n))
        let lda = k + extraA, ldc = n + extraC
        let a = rng.floats(m * lda)
        let wf = rng.floats(n * k)
        let wq = rng.int8s(n * k)
        let ws = (0..<n).map { _ in 0.001 + abs(rng.float()) * 0.01 }
        let b = rng.floats(n)
        let cs = (0..<n).map { _ in 0.5 + rng.float() }
        let c0 = rng.floats(m * ldc)
        var fast = c0, ref = c0
        let mode: MatrixMode
        if case .i8(let md) = weights { mode = md } else { mode = .w8a32 }
        wf.withUnsafeBufferPointer { wfp in wq.withUnsafeBufferPointer { wqp in ws.withUnsafeBufferPointer { wsp in
            let w: WeightMatrix
            switch weights {
            case .f32: w = WeightMatrix(f32: wfp.baseAddress!, n: n, k: k)
            case .i8: w = WeightMatrix(i8: wqp.baseAddress!, scales: wsp.baseAddress!, n: n, k: k)
            }
            b.withUnsafeBufferPointer { bp in cs.withUnsafeBufferPointer { csp in
                let biasP = bias ? bp.baseAddress : nil
                let csP = colScale ? csp.baseAddress : nil
                fast.withUnsafeMutableBufferPointer { cp in
                    matmul(a, lda: lda, m: m, w, bias: biasP, activation: activation, colScale: csP,
                           accumulate: accumulate, into: cp.baseAddress!, ldc: ldc, mode: mode, ctx: ctx)
                }
                ref.withUnsafeMutableBufferPointer { cp in
                    Reference.matmul(a, lda: lda, m: m, w, bias: biasP, activation: activation, colScale: csP,
                                     accumulate: accumulate, into: cp.baseAddress!, ldc: ldc, mode: mode)
                }
            } }
        } } }
        // padding columns of C (between n and ldc) must be untouched
        for i in 0..<m { for j in n..<ldc { XCTAssertEqual(fast[i * ldc + j], c0[i * ldc + j], file: file, line: line) } }
        var tol = Self.f32Tol
        if case .i8(.w8a8) = weights { tol = Self.i8Tol }
        // Accumulating adds to C in float on both sides (kernel and reference): one more rounding
        // each, up to 2 · 2^-24 ≈ 1.2e-7 of every output, as large as the whole error observed
        // for W8A8; doubling the budget covers it (observed with accumulate: ≤ 1.4e-7 float
        // and W8A32, ≤ 7e-8 W8A8).
        if accumulate { tol *= 2 }
        assertClose(fast, ref, relL2: tol, "\(ctx.isa) m \(m) k \(k) n \(n) \(weights) act \(activation) acc \(accumulate)",
                    file: file, line: line)
    }

    func testSizesAllModes() {
        for ctx in levelContexts() {
            for (idx, s) in kernelTestSizes.enumerated() {
                let s2 = kernelTestSizes[(idx + 4) % kernelTestSizes.count], s3 = kernelTestSizes[(idx + 9) % kernelTestSizes.count]
                for weights in [Weights.f32, .i8(.w8a32), .i8(.w8a8)] {
                    check(m: s, k: 65, n: 33, weights: weights, ctx: ctx)      // vary m (row and panel forms)
                    check(m: 17, k: s, n: 31, weights: weights, ctx: ctx)      // vary k, panel form
                    check(m: 5, k: s, n: 31, weights: weights, ctx: ctx)       // vary k, row form
                    check(m: 9, k: 63, n: s, weights: weights, ctx: ctx)       // vary n
                    check(m: s, k: s2, n: s3, weights: weights, ctx: ctx)
                }
            }
        }
    }

    func testLargeKAndMultipleTasks() {
        for ctx in levelContexts() {
            for weights in [Weights.f32, .i8(.w8a32), .i8(.w8a8)] {
                check(m: 70, k: 1700, n: 150, weights: weights, ctx: ctx)      // several K blocks, 3 column tasks
                check(m: 600, k: 40, n: 70, weights: weights, ctx: ctx)        // several row tasks
                check(m: 6, k: 1536, n: 200, weights: weights, ctx: ctx)       // generator-like row form
            }
        }
    }

    /// k = 0: every sum is empty, C gets act(bias) (or keeps its value plus that).
    func testEmptyK() {
        for ctx in levelContexts() {
            for weights in [Weights.f32, .i8(.w8a32), .i8(.w8a8)] {
                for m in [3, 20] {
                    check(m: m, k: 0, n: 37, weights: weights, activation: .silu, accumulate: true, ctx: ctx)
                }
            }
        }
    }

    func testEpilogues() {
        for ctx in levelContexts() {
            for weights in [Weights.f32, .i8(.w8a32), .i8(.w8a8)] {
                for act in [Activation.none, .gelu, .silu] {
                    for (m, extra) in [(3, 0), (33, 5)] {
                        check(m: m, k: 47, n: 37, weights: weights, bias: true, activation: act, colScale: true,
                              accumulate: true, lda: extra, ldc: extra, ctx: ctx)
                        check(m: m, k: 47, n: 37, weights: weights, bias: false, activation: act, colScale: false,
                              accumulate: false, lda: extra, ldc: 2 * extra, ctx: ctx)
                    }
                }
            }
        }
    }

    func testPortablePathMatchesReference() {
        let ctx = ComputeContext(threads: 2, isa: .generic)
        for weights in [Weights.f32, .i8(.w8a32), .i8(.w8a8)] {
            for s in [1, 7, 17, 65] {
                check(m: s, k: 33 + s, n: 40, weights: weights, activation: .gelu, ctx: ctx)
            }
        }
    }

    /// Every product of an int8 activation in [-127, 127] and an int8 weight in [-128, 127],
    /// through both forms, must equal Int32 arithmetic exactly: rows [v, 127] quantize with
    /// scale 1 (max 127), weight rows [w, 0] have scale 1, so C[v, w] = v·w.
    func testExhaustiveInt8Products() {
        for ctx in levelContexts() {
            let m = 255, n = 256, k = 2
            var a = [Float](repeating: 0, count: m * k)
            for i in 0..<m { a[i * k] = Float(i - 127); a[i * k + 1] = 127 }
            var wq = [Int8](repeating: 0, count: n * k)
            for j in 0..<n { wq[j * k] = Int8(j - 128) }
            let ws = [Float](repeating: 1, count: n)
            for mode in MatrixMode.allCases {
                for rows in [m, 6] {          // panel form and row form
                    var c = [Float](repeating: .nan, count: rows * n)
                    wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                        let w = WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k)
                        matmul(a, lda: k, m: rows, w, bias: nil, into: &c, ldc: n, mode: mode, ctx: ctx)
                    } }
                    var bad = 0
                    for i in 0..<rows { for j in 0..<n {
                        let v = Int32(i - 127), wv = Int32(j - 128)
                        if c[i * n + j] != Float(v * wv) { bad += 1 }
                    } }
                    XCTAssertEqual(bad, 0, "\(ctx.isa) \(mode) rows \(rows)")
                }
            }
        }
    }

    /// Saturating corners over long sums: all activations ±127 against all weights −128 or
    /// 127, k up to 768 (one int8 block): |sum| ≤ 127·128·768 ≈ 1.2e7 < 2^24, so the Int32
    /// result is exact in float and must match bit for bit.
    func testInt8Corners() {
        for ctx in levelContexts() {
            for k in [64, 257, 768] {
                for rows in [3, 20] {
                    for (av, wv) in [(Float(127), Int8(-128)), (-127, -128), (127, 127), (-127, 127)] {
                        let a = [Float](repeating: av, count: rows * k)
                        let wq = [Int8](repeating: wv, count: 40 * k)
                        let ws = [Float](repeating: 1, count: 40)
                        for mode in MatrixMode.allCases {
                            var c = [Float](repeating: .nan, count: rows * 40)
                            wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                                let w = WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: 40, k: k)
                                matmul(a, lda: k, m: rows, w, bias: nil, into: &c, ldc: 40, mode: mode, ctx: ctx)
                            } }
                            let expect = Float(Int32(av) * Int32(wv) * Int32(k))
                            XCTAssertTrue(c.allSatisfy { $0 == expect }, "\(ctx.isa) k \(k) rows \(rows) \(av)x\(wv) \(mode): \(c[0]) vs \(expect)")
                        }
                    }
                }
            }
        }
    }

    /// The quantizer's special rows, the same on the fast path (full 16-lane chunks and the
    /// scalar tail alike) and the reference: a nonzero row too small to scale (max|x| below
    /// 127 / Float.max, where 127 / max|x| overflows) quantizes to zero, so its W8A8 outputs
    /// are the bias alone; a row holding NaN or ±∞ gets scale NaN, so its outputs are NaN as
    /// in W8A32, wherever the bad value sits. Before, zeros of a tiny row became ±127 with a
    /// sign that depended on the lane, and a NaN was skipped by the max and came out as ±127.
    func testQuantizerSpecialRows() {
        let k = 37, n = 9
        var rows: [(String, [Float], Bool)] = []   // name, row, outputs must be NaN
        var tiny = [Float](repeating: 0, count: k); tiny[0] = 1e-37; tiny[20] = -3e-38
        rows.append(("tiny", tiny, false))
        for at in [2, 20, 36] {   // in the first chunk, the second, the tail
            for bad in [Float.nan, .infinity, -.infinity] {
                var r = (0..<k).map { Float($0 % 7) - 3 }; r[at] = bad
                rows.append(("\(bad) at \(at)", r, true))
            }
        }
        let wq = (0..<(n * k)).map { Int8(truncatingIfNeeded: $0 * 37 % 251 - 125) }
        let ws = [Float](repeating: 0.5, count: n), bias = (0..<n).map { Float($0) }
        for (name, row, nanOut) in rows {
            var qf = [Int8](repeating: 99, count: 64), qr = [Int8](repeating: 99, count: k)
            var sums = [Int32](repeating: 7, count: 4)
            let sf = quantizeRowFast(row, k: k, kq: 64, into: &qf, blockLen: 16, sums: &sums)
            let sr = Reference.quantizeRow(row, count: k, into: &qr)
            XCTAssertTrue(qf.allSatisfy { $0 == 0 } && qr.allSatisfy { $0 == 0 } && sums.prefix(3).allSatisfy { $0 == 0 },
                          "\(name): \(qf.prefix(k)) \(qr)")
            XCTAssertEqual(sf.isNaN, nanOut, name); XCTAssertEqual(sr.isNaN, nanOut, name)
            if !nanOut { XCTAssertEqual(sf, 0, name); XCTAssertEqual(sr, 0, name) }
            for ctx in levelContexts() {
                for m in [1, 20] {   // the row form and the panel form
                    let a = (0..<m).flatMap { _ in row }
                    var c = [Float](repeating: 42, count: m * n)
                    wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in bias.withUnsafeBufferPointer { bp in
                        let w = WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k)
                        matmul(a, lda: k, m: m, w, bias: bp.baseAddress, into: &c, ldc: n, mode: .w8a8, ctx: ctx)
                    } } }
                    for i in 0..<m {
                        for j in 0..<n {
                            let v = c[i * n + j]
                            if nanOut { XCTAssertTrue(v.isNaN, "\(ctx.isa) m \(m) \(name): \(v)") }
                            else { XCTAssertEqual(v, bias[j], "\(ctx.isa) m \(m) \(name)") }
                        }
                    }
                }
            }
        }
    }

    /// W8A8 loses accuracy only through 8-bit activations: against the float result of the
    /// same int8 weights the error is about (max|row|/127)/√12 per element relative to the
    /// row RMS (≈ 1% for uniform data); 3% catches a wrong scale or correction.
    func testW8A8CloseToW8A32() {
        for ctx in levelContexts() {
            var rng = TestRNG(7)
            for (m, k, n) in [(5, 300, 70), (40, 300, 70)] {
                let a = rng.floats(m * k), wq = rng.int8s(n * k), ws = [Float](repeating: 0.01, count: n)
                var c8 = [Float](repeating: 0, count: m * n), c32 = c8
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    let w = WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k)
                    matmul(a, lda: k, m: m, w, bias: nil, into: &c8, ldc: n, mode: .w8a8, ctx: ctx)
                    matmul(a, lda: k, m: m, w, bias: nil, into: &c32, ldc: n, mode: .w8a32, ctx: ctx)
                } }
                let e = TestSupport.relativeL2(c8, c32)
                XCTAssertLessThan(e, 0.03, "\(ctx.isa) m \(m)")
                XCTAssertGreaterThan(e, 0, "w8a8 must actually quantize")
            }
        }
    }

    func testSgemm() {
        for ctx in levelContexts() {
            for (idx, s) in kernelTestSizes.enumerated() {
                let s2 = kernelTestSizes[(idx + 5) % kernelTestSizes.count], s3 = kernelTestSizes[(idx + 8) % kernelTestSizes.count]
                for (m, k, n) in [(s, s2, s3), (s3, s, s2), (s2, s3, s)] {
                    var rng = TestRNG(UInt64(m * 7 + k * 11 + n))
                    let lda = k + 1, ldb = n + 3, ldc = n + 2
                    let a = rng.floats(m * lda), b = rng.floats(k * ldb), c0 = rng.floats(m * ldc)
                    for acc in [false, true] {
                        var fast = c0, ref = c0
                        sgemm(m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda, b: b, ldb: ldb, accumulate: acc,
                              c: &fast, ldc: ldc, ctx: ctx)
                        Reference.sgemm(m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda, b: b, ldb: ldb,
                                        accumulate: acc, c: &ref, ldc: ldc)
                        assertClose(fast, ref, relL2: Self.f32Tol, "\(ctx.isa) sgemm \(m)x\(k)x\(n) acc \(acc)")
                    }
                }
            }
        }
    }
}
