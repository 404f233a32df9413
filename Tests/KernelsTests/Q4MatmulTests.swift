import TestSupport
import XCTest
@testable import Kernels
import CKernels

/// Products with int4 (Q4_0) weights: W4A8 against the reference's exact group sums, bit
/// identity across levels and thread counts, and W4A32 against a double sum.
final class Q4MatmulTests: XCTestCase {
    /// Random Q4_0 blocks for [n, k]: fp16 scales of either sign over three decades (zero
    /// included), and random bytes, so every nibble value 0…15 occurs.
    static func blocks(n: Int, k: Int, rng: inout TestRNG) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n * WeightMatrix.q4RowBytes(k: k))
        for b in 0..<(n * k / 32) {
            let r = rng.next()
            let d: Float = r % 97 == 0 ? 0 : Float(1 + r % 1000) * 1e-5 * (r & (1 << 20) == 0 ? 1 : -1)
            let bits = Float16(d).bitPattern
            out[b * 18] = UInt8(bits & 0xff); out[b * 18 + 1] = UInt8(bits >> 8)
            for z in 0..<16 { out[b * 18 + 2 + z] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        return out
    }

    /// Runs `matmul` on one level into a C with sentinel columns past n; returns C.
    static func run(m: Int, k: Int, n: Int, a: [Float], w: [UInt8], mode: MatrixMode, bias: [Float]?,
                    activation: Activation = .none, colScale: [Float]? = nil, accumulate: Bool = false,
                    c0: [Float], ldc: Int, ctx: ComputeContext) -> [Float] {
        var c = c0
        w.withUnsafeBytes { wp in
            let wm = WeightMatrix(q4: wp.baseAddress!, n: n, k: k)
            c.withUnsafeMutableBufferPointer { cp in
                matmul(a, lda: k, m: m, wm, bias: bias, activation: activation, colScale: colScale,
                       accumulate: accumulate, into: cp.baseAddress!, ldc: ldc, mode: mode, ctx: ctx)
            }
        }
        return c
    }

    static func reference(m: Int, k: Int, n: Int, a: [Float], w: [UInt8], mode: MatrixMode, bias: [Float]?,
                          activation: Activation = .none, colScale: [Float]? = nil, accumulate: Bool = false,
                          c0: [Float], ldc: Int) -> [Float] {
        var c = c0
        w.withUnsafeBytes { wp in
            let wm = WeightMatrix(q4: wp.baseAddress!, n: n, k: k)
            c.withUnsafeMutableBufferPointer { cp in
                Reference.matmul(a, lda: k, m: m, wm, bias: bias, activation: activation, colScale: colScale,
                                 accumulate: accumulate, into: cp.baseAddress!, ldc: ldc, mode: mode)
            }
        }
        return c
    }

    /// Shapes: row form (m ≤ 8) and panel form, one group and many, a K block boundary
    /// (24 groups = 768 inputs) crossed, columns around the 32-column panels and 64-column tasks.
    static let shapes: [(m: Int, k: Int, n: Int)] = [
        (1, 32, 1), (3, 64, 17), (6, 96, 33), (8, 800, 65), (9, 32, 31), (17, 224, 63),
        (33, 1056, 70), (70, 160, 129), (5, 1600, 7),
    ]

    /// W4A8 without bias or activation: the kernels' output is exactly the reference's float
    /// arithmetic (group sums, fma chain, row scale), so it must match bit for bit.
    func testW4A8ExactAgainstReference() {
        for ctx in levelContexts() {
            for (m, k, n) in Self.shapes {
                var rng = TestRNG(UInt64(m * 7919 + k * 31 + n))
                let a = rng.floats(m * k, scale: 3)
                let w = Self.blocks(n: n, k: k, rng: &rng)
                let ldc = n + 3
                let c0 = [Float](repeating: -77, count: m * ldc)
                let fast = Self.run(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: nil, c0: c0, ldc: ldc, ctx: ctx)
                let ref = Self.reference(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: nil, c0: c0, ldc: ldc)
                XCTAssertTrue(bitsEqual(fast, ref), "\(ctx.isa) m \(m) k \(k) n \(n): W4A8 differs from the reference, max \(maxAbs(fast, ref))")
                for i in 0..<m { for j in n..<ldc { XCTAssertEqual(fast[i * ldc + j], -77, "sentinel overwritten") } }
            }
        }
    }

    /// Extreme values: every nibble 0 (weight −8·d) against activations quantized to ±127, the
    /// largest group sums (8·32·127 = 32 512); exact on every level.
    func testW4A8Extremes() {
        let m = 7, k = 96, n = 40
        var w = [UInt8](repeating: 0, count: n * WeightMatrix.q4RowBytes(k: k))
        for b in 0..<(n * k / 32) {
            let bits = Float16(0.5).bitPattern
            w[b * 18] = UInt8(bits & 0xff); w[b * 18 + 1] = UInt8(bits >> 8)
            for z in 0..<16 { w[b * 18 + 2 + z] = b % 3 == 0 ? 0 : (b % 3 == 1 ? 0xff : 0x0f) }
        }
        let a = (0..<(m * k)).map { Float(($0 % 5 == 0) ? -1 : 1) }
        for ctx in levelContexts() {
            let c0 = [Float](repeating: 0, count: m * n)
            let fast = Self.run(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: nil, c0: c0, ldc: n, ctx: ctx)
            let ref = Self.reference(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: nil, c0: c0, ldc: n)
            XCTAssertTrue(bitsEqual(fast, ref), "\(ctx.isa): extremes differ, max \(maxAbs(fast, ref))")
        }
    }

    /// With bias, activation, column scales and accumulation: the epilogue is the float one of
    /// every GEMM and the reference's is in double, so they differ by float rounding of a few
    /// operations on values of size ~1 (≤ 1e-7 relative observed); 1e-6.
    func testW4A8Epilogue() {
        for ctx in levelContexts() {
            for (m, k, n) in [(5, 64, 33), (20, 128, 70)] {
                for act in [Activation.none, .gelu, .silu] {
                    var rng = TestRNG(UInt64(m + k + n))
                    let a = rng.floats(m * k), w = Self.blocks(n: n, k: k, rng: &rng)
                    let b = rng.floats(n), cs = (0..<n).map { _ in 0.5 + rng.float() }, c0 = rng.floats(m * n)
                    let fast = Self.run(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: b, activation: act, colScale: cs,
                                        accumulate: true, c0: c0, ldc: n, ctx: ctx)
                    let ref = Self.reference(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: b, activation: act, colScale: cs,
                                             accumulate: true, c0: c0, ldc: n)
                    assertClose(fast, ref, relL2: 1e-6, "\(ctx.isa) m \(m) n \(n) \(act)")
                }
            }
        }
    }

    /// W4A8 and W4A32 give the same bits on every level and for 1, 2 and 3 threads.
    func testBitIdentityAcrossLevelsAndThreads() {
        for (m, k, n) in [(6, 1088, 200), (40, 800, 130)] {
            var rng = TestRNG(UInt64(m * k))
            let a = rng.floats(m * k), w = Self.blocks(n: n, k: k, rng: &rng), b = rng.floats(n)
            let c0 = [Float](repeating: 0, count: m * n)
            for mode in [MatrixMode.w8a8, .w8a32] {
                var first: [Float]?
                var contexts = levelContexts()
                contexts += [1, 3].map { ComputeContext(threads: $0, isa: ISA.best) }
                for ctx in contexts {
                    let c = Self.run(m: m, k: k, n: n, a: a, w: w, mode: mode, bias: b, activation: .gelu, c0: c0, ldc: n, ctx: ctx)
                    if let f = first {
                        XCTAssertTrue(bitsEqual(c, f), "\(mode) \(ctx.isa) \(ctx.threads) threads m \(m): not bit-identical")
                    } else { first = c }
                }
            }
        }
    }

    /// The row form (m ≤ 8, straight from the blocks on the x86 levels, see `Q4RowKernelTests`)
    /// for every row count 1…8, at column counts around its 8- and 16-column strips and the
    /// 64-column tasks and K of an odd number of groups: bit for bit the reference on every
    /// level this CPU runs, each with 1, 2 and 3 threads, sentinels past n untouched.
    func testRowFormEveryRowCount() {
        let contexts = ISA.supported.flatMap { isa in [1, 2, 3].map { ComputeContext(threads: $0, isa: isa) } }
        for m in 1...8 {
            for (k, n) in [(32, 15), (96, 17), (352, 65), (1088, 131), (1120, 77)] {
                var rng = TestRNG(UInt64(m * 1009 + k * 13 + n))
                let a = rng.floats(m * k, scale: 2)
                let w = Self.blocks(n: n, k: k, rng: &rng)
                let ldc = n + 5
                let c0 = [Float](repeating: -55, count: m * ldc)
                let ref = Self.reference(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: nil, c0: c0, ldc: ldc)
                for ctx in contexts {
                    let fast = Self.run(m: m, k: k, n: n, a: a, w: w, mode: .w8a8, bias: nil, c0: c0, ldc: ldc, ctx: ctx)
                    XCTAssertTrue(bitsEqual(fast, ref), "\(ctx.isa) \(ctx.threads) threads m \(m) k \(k) n \(n): row form differs, max \(maxAbs(fast, ref))")
                    for i in 0..<m { for j in n..<ldc { XCTAssertEqual(fast[i * ldc + j], -55, "sentinel overwritten") } }
                }
            }
        }
    }

    /// W4A32 against a double sum of the dequantized weights: float32 accumulation error only
    /// (see MatmulTests.f32Tol).
    func testW4A32AgainstReference() {
        for ctx in levelContexts() {
            for (m, k, n) in Self.shapes {
                var rng = TestRNG(UInt64(m * 31 + k + n * 7))
                let a = rng.floats(m * k), w = Self.blocks(n: n, k: k, rng: &rng), b = rng.floats(n)
                let ldc = n + 2
                let c0 = [Float](repeating: 5, count: m * ldc)
                let fast = Self.run(m: m, k: k, n: n, a: a, w: w, mode: .w8a32, bias: b, c0: c0, ldc: ldc, ctx: ctx)
                let ref = Self.reference(m: m, k: k, n: n, a: a, w: w, mode: .w8a32, bias: b, c0: c0, ldc: ldc)
                assertClose(fast, ref, relL2: 1e-5, "\(ctx.isa) W4A32 m \(m) k \(k) n \(n)")
                for i in 0..<m { for j in n..<ldc { XCTAssertEqual(fast[i * ldc + j], 5, "sentinel overwritten") } }
            }
        }
    }

    /// The gather packings of the avx512 and avx2 levels write the same bytes as the plain C one,
    /// at column counts around their 16- and 8-column steps, including the zeroed tail columns.
    func testSIMDPackingsMatchC() {
        var rng = TestRNG(10)
        let k = 224
        for n in [1, 7, 8, 9, 16, 17, 31, 33, 64] {
            let w = Self.blocks(n: n, k: k, rng: &rng)
            let ng = 5, g0 = 2, panels = (n + 31) / 32
            func packed(_ f: (UnsafePointer<UInt8>, Int, Int, Int, Int, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void) -> ([UInt8], [Float]) {
                var p = [UInt8](repeating: 0xAA, count: panels * ng * 1024 + 1)
                var d = [Float](repeating: -1, count: panels * ng * 32 + 1)
                w.withUnsafeBufferPointer { f($0.baseAddress!, WeightMatrix.q4RowBytes(k: k), n, g0, ng, &p, &d) }
                return (p, d)
            }
            let c = packed { rtk_q4_pack($0, $1, $2, $3, $4, $5, $6) }
            XCTAssertEqual(c.0.last, 0xAA); XCTAssertEqual(c.1.last, -1)
            if ISA.avx512.isSupported {
                let v = packed { rtk_q4_pack_avx512($0, $1, $2, $3, $4, $5, $6) }
                XCTAssertEqual(v.0, c.0, "avx512 n \(n)"); XCTAssertTrue(bitsEqual(v.1, c.1), "avx512 scales n \(n)")
            }
            if ISA.avx2.isSupported {
                let v = packed { rtk_q4_pack_avx2($0, $1, $2, $3, $4, $5, $6) }
                XCTAssertEqual(v.0, c.0, "avx2 n \(n)"); XCTAssertTrue(bitsEqual(v.1, c.1), "avx2 scales n \(n)")
            }
        }
    }

    /// The panel packing puts group element p of column j where the microkernels read it:
    /// quad t of a group holds elements 4t…4t+3 (low nibbles first, then high), scales as floats.
    func testPackLayout() {
        var rng = TestRNG(9)
        let n = 37, k = 96
        let w = Self.blocks(n: n, k: k, rng: &rng)
        let ng = 2, g0 = 1
        var panel = [UInt8](repeating: 0xAA, count: 2 * ng * 1024 + 1)
        var dp = [Float](repeating: -1, count: 2 * ng * 32 + 1)
        w.withUnsafeBufferPointer { wp in
            rtk_q4_pack(wp.baseAddress!, WeightMatrix.q4RowBytes(k: k), n, g0, ng, &panel, &dp)
        }
        XCTAssertEqual(panel.last, 0xAA); XCTAssertEqual(dp.last, -1)
        // Index arithmetic in typed steps: Swift 6.0's type checker gives up on it inline.
        w.withUnsafeBytes { (wp: UnsafeRawBufferPointer) -> Void in
            let wm = WeightMatrix(q4: wp.baseAddress!, n: n, k: k)
            for j in 0..<64 {
                let strip: Int = j / 32, lane: Int = j % 32
                for g in 0..<ng {
                    let d: Float = dp[strip * ng * 32 + g * 32 + lane]
                    for p in 0..<32 {
                        let quad: Int = g * 8 + p / 4
                        let nib: UInt8 = panel[strip * ng * 1024 + quad * 128 + lane * 4 + p % 4]
                        if j < n {
                            let want: Float = wm.value(j, (g0 + g) * 32 + p)
                            XCTAssertEqual(Float(Int(nib) - 8) * d, want, "j \(j) g \(g) p \(p)")
                        } else {
                            XCTAssertEqual(nib, 0); XCTAssertEqual(d, 0)
                        }
                    }
                }
            }
        }
    }
}
