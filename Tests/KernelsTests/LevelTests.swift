import TestSupport
import XCTest
import Kernels

/// The instruction levels against each other: W8A8 results must be the same bits on every
/// level (the int32 sums are exact and the float steps after them are the same), float
/// results within 1e-5 relative L2 (the budget for a different summation order; the float
/// microkernels of all levels run the same FMA chains, so they are in fact identical here).
final class LevelTests: XCTestCase {
    static let floatTol = 1e-5

    /// Runs `run` on every level and compares each result with the generic level's.
    func compareLevels(_ name: String, bitwise: Bool, _ run: (ComputeContext) -> [Float]) {
        let contexts = levelContexts()
        guard let generic = contexts.first(where: { $0.isa == .generic }) else { return XCTFail("no generic level") }
        XCTAssertTrue(contexts.contains { $0.isa == .amxEmulated }, "the AMX path on the tile model is one of the levels")
        let reference = run(generic)
        XCTAssertFalse(reference.contains { !$0.isFinite }, name)
        for ctx in contexts where ctx.isa != .generic {
            let r = run(ctx)
            if bitwise {
                XCTAssertTrue(bitsEqual(r, reference), "\(name): \(ctx.isa) differs from generic (max |d| \(maxAbs(r, reference)))")
            } else {
                XCTAssertLessThanOrEqual(TestSupport.relativeL2(r, reference), Self.floatTol, "\(name): \(ctx.isa) vs generic")
            }
        }
    }

    func testMatmulAcrossLevels() {
        var rng = TestRNG(2024)
        // row form (m ≤ 8), panel form with one and several K blocks, odd shapes
        for (m, k, n) in [(1, 31, 17), (6, 1536, 70), (5, 20_000, 33), (9, 63, 65), (70, 1700, 130), (261, 768, 96)] {
            let a = rng.floats(m * k), wq = rng.int8s(n * k), wf = rng.floats(n * k)
            let ws = (0..<n).map { _ in 0.001 + abs(rng.float()) * 0.01 }, b = rng.floats(n)
            for mode in MatrixMode.allCases {
                compareLevels("matmul \(m)x\(k)x\(n) \(mode)", bitwise: mode == .w8a8) { ctx in
                    var c = [Float](repeating: 0, count: m * n)
                    wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                        matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                               bias: b, activation: .gelu, into: &c, ldc: n, mode: mode, ctx: ctx)
                    } }
                    return c
                }
            }
            compareLevels("matmul f32 \(m)x\(k)x\(n)", bitwise: false) { ctx in
                var c = [Float](repeating: 0, count: m * n)
                wf.withUnsafeBufferPointer { wp in
                    matmul(a, lda: k, m: m, WeightMatrix(f32: wp.baseAddress!, n: n, k: k), bias: b,
                           into: &c, ldc: n, ctx: ctx)
                }
                return c
            }
        }
    }

    /// The float row form (m ≤ 6: the generator's products) is the same arithmetic on every
    /// level: per output 16 lane-wise FMA chains in increasing k, a fixed tree sum, then the
    /// k % 16 tail. The AVX2 kernel passes activations longer than L1 in chunks of k, groups of
    /// weight rows at a time, keeping each row's lane sums between chunks; that must not
    /// change a bit. Shapes: below the chunking threshold (6 × 1 000), above it with a k tail
    /// and a partial last group (6 × 1 543 × 37), one row over a long k (1 × 9 000), a
    /// chunk remainder (3 × 6 151 × 20: last chunk 7 groups of 16), int8 and float weights.
    /// The AVX-512 kernel passes four weight rows at a time, then two, then one: 4 × 3 001 × 7
    /// is one pass of each; 2 × 40 × 6 has two 16-value steps and a tail of 8.
    func testFloatRowFormIsTheSameBitsOnEveryLevel() {
        var rng = TestRNG(77)
        for (m, k, n) in [(6, 1000, 19), (6, 1543, 37), (1, 9000, 5), (3, 6151, 20), (5, 2048, 33), (4, 3001, 7), (2, 40, 6)] {
            let a = rng.floats(m * k), wq = rng.int8s(n * k), wf = rng.floats(n * k)
            let ws = (0..<n).map { _ in 0.001 + abs(rng.float()) * 0.01 }
            compareLevels("row form int8 \(m)x\(k)x\(n)", bitwise: true) { ctx in
                var c = [Float](repeating: 0, count: m * n)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                           bias: nil, into: &c, ldc: n, mode: .w8a32, ctx: ctx)
                } }
                return c
            }
            compareLevels("row form f32 \(m)x\(k)x\(n)", bitwise: true) { ctx in
                var c = [Float](repeating: 0, count: m * n)
                wf.withUnsafeBufferPointer { wp in
                    matmul(a, lda: k, m: m, WeightMatrix(f32: wp.baseAddress!, n: n, k: k), bias: nil, into: &c, ldc: n, ctx: ctx)
                }
                return c
            }
        }
    }

    /// W8A8 products whose epilogue only scales columns (no bias, activation or gate: the
    /// decoder's), with and without accumulating into C: levels that fuse that epilogue into
    /// their kernel's last K block (`KernelSet.I8.fuses`) must give the bits of those that run it
    /// afterwards. Shapes: whole 32-column panels (fused) and a partial one (not), one and
    /// several K blocks, row strips of 8 and a remainder, a C row stride wider than n whose
    /// extra columns must stay untouched.
    func testScalesOnlyEpilogueAcrossLevels() {
        var rng = TestRNG(77)
        for (m, k, n) in [(9, 64, 32), (70, 1700, 128), (257, 1152, 96), (33, 800, 70)] {
            let a = rng.floats(m * k), wq = rng.int8s(n * k)
            let ws = (0..<n).map { _ in 0.001 + abs(rng.float()) * 0.01 }
            let ldc = n + 5, c0 = rng.floats(m * ldc)
            for accumulate in [false, true] {
                compareLevels("scales-only \(m)x\(k)x\(n) accumulate \(accumulate)", bitwise: true) { ctx in
                    var c = c0
                    wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                        matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                               bias: nil, accumulate: accumulate, into: &c, ldc: ldc, mode: .w8a8, ctx: ctx)
                    } }
                    for i in 0..<m { for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "\(ctx.isa): column \(j) written") } }
                    return c
                }
            }
        }
    }

    func testConvAndAttentionAcrossLevels() {
        var rng = TestRNG(77)
        // cin = 800 > 768: two channel chunks per tap in W8A8
        for (h, w, cin, cout) in [(5, 7, 33, 19), (3, 4, 800, 40)] {
            let x = rng.floats(h * w * cin), wq = rng.int8s(cout * 9 * cin)
            let ws = [Float](repeating: 0.01, count: cout), b = rng.floats(cout)
            for mode in MatrixMode.allCases {
                compareLevels("conv3x3 \(h)x\(w)x\(cin)->\(cout) \(mode)", bitwise: mode == .w8a8) { ctx in
                    var out = [Float](repeating: 0, count: h * w * cout)
                    wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                        conv3x3(x, height: h, width: w, inChannels: cin,
                                WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: cout, k: 9 * cin),
                                bias: b, out: &out, mode: mode, ctx: ctx)
                    } }
                    return out
                }
            }
        }
        let t = 70, heads = 3, d = 40
        let q = rng.floats(t * heads * d), k = rng.floats(t * heads * d), v = rng.floats(t * heads * d)
        compareLevels("attention", bitwise: false) { ctx in
            var out = [Float](repeating: 0, count: t * heads * d)
            attention(q: q, qStride: heads * d, k: k, kStride: heads * d, v: v, vStride: heads * d,
                      out: &out, outStride: heads * d, tokens: t, heads: heads, headDim: d, scale: 0.15, ctx: ctx)
            return out
        }
    }

    /// Extreme int8 values through every level: activations ±127 (after quantization) times
    /// weights −128…127 over a long K, where int16 pair sums would saturate without the
    /// sign trick's bound. The signs alternate along K, so the sums stay small; sums past 2^24
    /// are the next test's.
    func testExtremeValuesAreExactOnEveryLevel() {
        for (m, k) in [(6, 3000), (40, 768)] {
            let n = 24
            var a = [Float](repeating: 0, count: m * k)
            for i in 0..<(m * k) { a[i] = (i / 3) % 2 == 0 ? 1 : -1 }
            var wq = [Int8](repeating: 0, count: n * k)
            for j in 0..<n { for p in 0..<k { wq[j * k + p] = j % 3 == 0 ? -128 : (j % 3 == 1 ? 127 : Int8(truncatingIfNeeded: p * 37 + j)) } }
            let ws = [Float](repeating: 1, count: n)
            for ctx in levelContexts() {
                var c = [Float](repeating: 0, count: m * n)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                           bias: nil, into: &c, ldc: n, mode: .w8a8, ctx: ctx)
                } }
                for i in 0..<m { for j in 0..<n {
                    var s: Int64 = 0
                    for p in 0..<k { s += Int64(a[i * k + p] > 0 ? 127 : -127) * Int64(wq[j * k + p]) }
                    // the activation scale is 1/127 (max |a| = 1), so C = s / 127 up to a few float
                    // roundings (≤ 1e-6 relative); a saturated or rounded int sum is off by far more
                    XCTAssertEqual(Double(c[i * n + j]) * 127, Double(s), accuracy: 1e-6 * Double(abs(s)) + 1e-3,
                                   "\(ctx.isa) m \(m) k \(k) [\(i), \(j)]")
                } }
            }
        }
    }

    /// Sums past 2^24 through every level. Each row has one sign (activations all +127 or all
    /// −127) and each column one weight (−128, 127 or −127), so every product of an output is
    /// the same and its sum grows to k · 16,256: past 2^24, where float sums of odd products
    /// round. That is where the generic level's float accumulation relies on its bounds: the row
    /// form (m = 6) sums each of 32 lanes over chunks of at most 256 products (k = 40,000 gives
    /// a lane 1,250, whose sum would pass 2^24 without the chunks), the panel form (m = 40) over
    /// K blocks of 768 (block sums up to 1.25e7, just below 2^24).
    /// Activations ±127 quantize to themselves with scale 1 and the weight scales are 1, so C is
    /// the integer sum converted to float: once in the row form; in the panel form block by block,
    /// the four K blocks of k = 3,072 each adding 768 · 16,256 or 768 · 16,129 (multiples of 2^8),
    /// whose partial sums are exact in float. C must therefore equal the Int64 sum rounded to
    /// float, bit for bit.
    func testOneSignPerRowSumsPast2To24AreExactOnEveryLevel() {
        let n = 24
        let columnWeights: [Int8] = [-128, 127, -127]
        for (m, k) in [(6, 40_000), (40, 3_072)] {
            var a = [Float](repeating: 0, count: m * k), wq = [Int8](repeating: 0, count: n * k)
            for i in 0..<m { for p in 0..<k { a[i * k + p] = i % 2 == 0 ? 127 : -127 } }
            for j in 0..<n { for p in 0..<k { wq[j * k + p] = columnWeights[j % 3] } }
            let ws = [Float](repeating: 1, count: n)
            var expected = [Float](repeating: 0, count: m * n), largest: Int64 = 0
            for i in 0..<m { for j in 0..<n {
                var s: Int64 = 0
                for p in 0..<k { s += Int64(a[i * k + p]) * Int64(wq[j * k + p]) }
                expected[i * n + j] = Float(s)
                largest = max(largest, abs(s))
            } }
            XCTAssertGreaterThan(largest, 1 << 24, "m \(m) k \(k): the sums must pass 2^24")
            for ctx in levelContexts() {
                var c = [Float](repeating: .nan, count: m * n)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                           bias: nil, into: &c, ldc: n, mode: .w8a8, ctx: ctx)
                } }
                XCTAssertTrue(bitsEqual(c, expected), "\(ctx.isa) m \(m) k \(k): differs from the Int64 sums (max |d| \(maxAbs(c, expected)))")
            }
        }
    }

    func testLevelSelection() throws {
        XCTAssertEqual(try ISA.resolve(nil), ISA.best)
        XCTAssertEqual(try ISA.resolve(""), ISA.best)
        XCTAssertEqual(try ISA.resolve("auto"), ISA.best)
        XCTAssertEqual(try ISA.resolve("generic"), .generic)
        XCTAssertEqual(try ISA.resolve(" GENERIC "), .generic, "case and blanks ignored")
        XCTAssertThrowsError(try ISA.resolve("sse9")) { e in
            XCTAssertEqual(e as? ISAError, .unknown("sse9"))
            XCTAssertTrue("\(e)".contains("auto|amx|avx512vnni|avx512|avxvnni|avx2|neondot|neon|generic|amx-emulated"), "\(e)")
        }
        XCTAssertEqual(ISA.supported.last, .amxEmulated, "the tile model runs everywhere")
        XCTAssertEqual(ISA.supported.filter(\.isHardware).last, .generic)
        XCTAssertEqual(ISA.supported.first, ISA.best)
        // a level this CPU lacks (every machine lacks either neon or the x86 levels)
        let missing = ISA.allCases.first { !$0.isSupported }!
        XCTAssertThrowsError(try ISA.resolve(missing.rawValue)) { e in
            XCTAssertEqual(e as? ISAError, .unsupported(missing, supported: ISA.supported))
            XCTAssertTrue("\(e)".contains("this CPU lacks"), "\(e)")
        }
        // x86 feature nesting: VNNI implies AVX-512 implies AVX2
        if ISA.amx.isSupported { XCTAssertTrue(ISA.avx512vnni.isSupported) }
        if ISA.avx512vnni.isSupported { XCTAssertTrue(ISA.avx512.isSupported) }
        if ISA.avx512.isSupported { XCTAssertTrue(ISA.avx2.isSupported) }
        if ISA.avxvnni.isSupported && !ISA._avxvnniThroughEVEX { XCTAssertTrue(ISA.avx2.isSupported) }
        if ISA.neondot.isSupported { XCTAssertTrue(ISA.neon.isSupported) }
        XCTAssertFalse(ISA.neon.isSupported && ISA.avx2.isSupported)
        // every level names its int8 path: the plain avx2 level never uses vpdpbusd
        XCTAssertEqual(Probes.int8(.avx2)?.name, "vpaddw x2+vpmaddwd+vpaddd ymm x12")
        XCTAssertEqual(Probes.int8(.neon)?.name, "smull+smlal2+sadalp x12")
        XCTAssertEqual(Probes.int8(.neondot)?.name, "sdot v.4s x24")
    }
}
