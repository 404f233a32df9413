import CKernels
import TestSupport
import XCTest
@testable import Kernels

/// int4 weights repacked into 16-column strips (`Q4Strips`): the layout against its
/// description in ckernels.h (decoded here independently, byte by byte), the strip kernels bit
/// for bit against the row form on the Q4_0 blocks, and `matmul` with strips attached bit for
/// bit the same as without, on every level and thread count.
final class Q4StripsTests: XCTestCase {
    /// Repacks `w` (Q4_0 rows [n, k]) with the C function into a byte array.
    static func repack(_ w: [UInt8], n: Int, k: Int) -> [UInt8] {
        let groups = k / 32, strips = (n + 15) / 16
        var out = [UInt8](repeating: 0xAB, count: strips * groups * 288 + 7)
        w.withUnsafeBufferPointer { wp in
            out.withUnsafeMutableBufferPointer { op in
                // two calls over two ranges, as two threads would
                let half = strips / 2
                rtk_q4x16_repack(wp.baseAddress!, WeightMatrix.q4RowBytes(k: k), n, groups, 0, half, op.baseAddress!)
                rtk_q4x16_repack(wp.baseAddress!, WeightMatrix.q4RowBytes(k: k), n, groups, half, strips, op.baseAddress!)
            }
        }
        return out
    }

    /// Every weight decoded from the strips by the documented layout equals the Q4_0 value;
    /// columns past n have scale 0 and nibbles 0; the bytes past the strips are untouched.
    func testLayout() {
        var rng = TestRNG(5)
        for (n, k) in [(1, 32), (5, 96), (16, 64), (17, 160), (50, 1056)] {
            let w = Q4MatmulTests.blocks(n: n, k: k, rng: &rng)
            let s = Self.repack(w, n: n, k: k)
            let groups = k / 32, strips = (n + 15) / 16
            // Index arithmetic in typed steps: Swift 6.0's type checker gives up on it inline.
            w.withUnsafeBytes { (wp: UnsafeRawBufferPointer) -> Void in
                let wm = WeightMatrix(q4: wp.baseAddress!, n: n, k: k)
                for j in 0..<(strips * 16) {
                    for g in 0..<groups {
                        let rec: Int = ((j / 16) * groups + g) * 288, jj: Int = j % 16
                        let lo = UInt16(s[rec + 2 * jj]), hi = UInt16(s[rec + 2 * jj + 1])
                        let bits: UInt16 = lo | hi << 8
                        let d = Float(Float16(bitPattern: bits))
                        for e in 0..<32 {
                            let t: Int = (e % 16) / 4, b: Int = e % 4
                            let byte: UInt8 = s[rec + 32 + t * 64 + 4 * jj + b]
                            let nib: UInt8 = e < 16 ? byte & 15 : byte >> 4
                            let input: Int = g * 32 + e
                            if j < n {
                                let want: Float = wm.value(j, input)
                                XCTAssertEqual(Float(Int(nib) - 8) * d, want, "n \(n) k \(k) column \(j) input \(input)")
                            } else {
                                XCTAssertEqual(nib, 0, "dead column \(j)"); XCTAssertEqual(bits, 0, "dead column \(j) scale")
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(Array(s.suffix(7)), [UInt8](repeating: 0xAB, count: 7), "written past the strips")
        }
    }

    /// `rtk_q4x16_rows_c` on the strips, and `rtk_q4x16_rows_vnni` where the CPU has it, give
    /// exactly `rtk_q4_rows_c`'s bits on the blocks (the same integer group sums and fma chain),
    /// for 1…8 rows, odd column counts and K of an odd number of groups; weights and
    /// activations end at a PROT_NONE page, and columns past the last strip are untouched.
    func testStripKernelsMatchBlockRowForm() throws {
        let guarded = Q4RowKernelTests.self
        var kernels: [(String, Q4RowKernelTests.RowFn)] = [("c", { rtk_q4x16_rows_c($0, $1, $2, $3, $4, $6, $7, $8) })]
        if ISA.avx512vnni.isSupported {
            kernels.append(("vnni", { rtk_q4x16_rows_vnni($0, $1, $2, $3, $4, $6, $7, $8) }))
        }
        var rng = TestRNG(91)
        for k in [32, 224, 1056] {
            let ng = k / 32
            for nc in [1, 7, 16, 17, 33, 63] {
                var w = Q4MatmulTests.blocks(n: nc, k: k, rng: &rng)
                for g in 0..<ng { for z in 0..<16 { w[g * 18 + 2 + z] = 0xFF } }   // column 0: nibbles 15
                let strips = Self.repack(w, n: nc, k: k).dropLast(7)
                for rows in 1...8 {
                    var a = (0..<(rows * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
                    for p in 0..<k { a[p] = -128 }
                    let corr: [Int32] = (0..<(rows * ng)).map { rg in
                        8 * a[(rg * 32)..<(rg * 32 + 32)].reduce(Int32(0)) { $0 + Int32($1) }
                    }
                    let width = (nc + 15) / 16 * 16, ldc = width + 3
                    let ref = try guarded.run({ rtk_q4_rows_c($0, $1, $2, $3, $4, $5, $6, $7, $8) },
                                              rows: rows, k: k, nc: nc, a: a, corr: corr, w: w, ldc: ldc)
                    XCTAssertTrue(ref.contains { $0 != 0 && $0 != 9 }, "reference produced nothing")
                    for (name, f) in kernels {
                        let got = try guarded.run(f, rows: rows, k: k, nc: nc, a: a, corr: corr, w: Array(strips), ldc: ldc)
                        XCTAssertTrue(bitsEqual(got, ref), "\(name) rows \(rows) k \(k) nc \(nc): differs, max \(maxAbs(got, ref))")
                        for j in width..<ldc { XCTAssertEqual(got[j], 9, "\(name): sentinel column overwritten") }
                        for j in 0..<ldc { XCTAssertEqual(got[rows * ldc + j], 9, "\(name): sentinel row overwritten") }
                    }
                }
            }
        }
    }

    /// The panel form on strips (`rtk_q4x16_kernel_c`, and the zmm and ymm kernels the CPU runs) against
    /// `rtk_q4_kernel_c` on the panel `rtk_q4_pack` unpacks from the same blocks: 1…13 rows (the
    /// kernels' 6- and 4-row steps and a rest), odd group counts, storing and accumulating, 32 and 17 columns
    /// (the second strip then missing: its columns are dead and not compared).
    func testStripPanelKernelsMatchPackedPanel() {
        var kernels: [(String, (Int, Int, UnsafePointer<UnsafePointer<Int8>?>, UnsafePointer<UnsafePointer<Int32>?>,
                                UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafeMutablePointer<Float>, Int, Int32) -> Void)] =
            [("c", { rtk_q4x16_kernel_c($0, $1, $2, $3, $4, $5, $6, $7, $8) })]
        if ISA.avx512vnni.isSupported {
            kernels.append(("vnni", { rtk_q4x16_kernel_vnni($0, $1, $2, $3, $4, $5, $6, $7, $8) }))
            kernels.append(("avxvnni (EVEX twin)", { rtk_q4x16_kernel_avxvnni(1, $0, $1, $2, $3, $4, $5, $6, $7, $8) }))
        }
        if rtk_cpu_features() & Int32(RTK_CPU_AVXVNNI) != 0 {
            kernels.append(("avxvnni", { rtk_q4x16_kernel_avxvnni(0, $0, $1, $2, $3, $4, $5, $6, $7, $8) }))
        }
        if ISA.avx2.isSupported {
            kernels.append(("avx2", { rtk_q4x16_kernel_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8) }))
        }
        var rng = TestRNG(17)
        for (ng, nc) in [(1, 32), (3, 17), (7, 32)] {
            let k = ng * 32
            var w = Q4MatmulTests.blocks(n: nc, k: k, rng: &rng)
            for g in 0..<ng { for z in 0..<16 { w[g * 18 + 2 + z] = 0xFF } }   // column 0: nibbles 15
            let strips = Self.repack(w, n: nc, k: k)
            var panel = [UInt8](repeating: 0, count: ng * 1024), dpanel = [Float](repeating: 0, count: ng * 32)
            w.withUnsafeBufferPointer { rtk_q4_pack($0.baseAddress!, WeightMatrix.q4RowBytes(k: k), nc, 0, ng, &panel, &dpanel) }
            for rows in 1...13 {
                // row 0 at −128 throughout: with nibbles 15, the largest int16 sums of the avx2 kernel
                let a = (0..<(rows * k)).map { $0 < k ? -128 : Int8(truncatingIfNeeded: rng.next()) }
                let corr: [Int32] = (0..<(rows * ng)).map { rg in
                    8 * a[(rg * 32)..<(rg * 32 + 32)].reduce(Int32(0)) { $0 + Int32($1) }
                }
                let ldc = 37
                let c0 = (0..<((rows + 1) * ldc)).map { Float($0 % 9) - 4 }
                a.withUnsafeBufferPointer { ap in
                    corr.withUnsafeBufferPointer { cp in
                        let aps = (0..<rows).map { Optional(ap.baseAddress! + $0 * k) }
                        let cps = (0..<rows).map { Optional(cp.baseAddress! + $0 * ng) }
                        for accumulate: Int32 in [0, 1] {
                            var want = c0
                            rtk_q4_kernel_c(rows, ng, aps, cps, panel, dpanel, &want, ldc, accumulate)
                            for (name, f) in kernels {
                                var got = c0
                                strips.withUnsafeBufferPointer { sp in
                                    let sa = sp.baseAddress!, sb = nc > 16 ? sa + ng * 288 : sa
                                    f(rows, ng, aps, cps, sa, sb, &got, ldc, accumulate)
                                }
                                for i in 0...rows {
                                    for j in 0..<ldc where i == rows || j >= 32 || j < nc {
                                        XCTAssertEqual(got[i * ldc + j].bitPattern, want[i * ldc + j].bitPattern,
                                                       "\(name) rows \(rows) ng \(ng) nc \(nc) acc \(accumulate) at (\(i), \(j))")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `matmul` with the strips attached: bit for bit the matrix without them, both modes, row
    /// form (m ≤ 8) and panel form (m > 8, K blocks of 24 groups crossed), with bias, GELU and
    /// accumulation, on every level this CPU runs with 1, 2 and 3 threads; sentinels past n kept.
    func testMatmulWithStripsIsBitIdentical() {
        for (m, k, n) in [(1, 64, 17), (6, 1088, 200), (8, 96, 131), (12, 160, 70), (40, 800, 131), (257, 1600, 33)] {
            var rng = TestRNG(UInt64(m * 31 + k + n))
            let a = rng.floats(m * k, scale: 2), w = Q4MatmulTests.blocks(n: n, k: k, rng: &rng)
            let bias = rng.floats(n), ldc = n + 3
            let c0 = (0..<(m * ldc)).map { Float($0 % 7) - 3 }
            w.withUnsafeBytes { wp in
                let plain = WeightMatrix(q4: wp.baseAddress!, n: n, k: k)
                for isa in ISA.supported {
                    for threads in [1, 2, 3] {
                        let ctx = ComputeContext(threads: threads, isa: isa)
                        guard let packed = Q4Strips(repacking: plain, ctx: ctx) else { return XCTFail("not repacked") }
                        XCTAssertNotNil(packed.matrix.strips)
                        for mode in MatrixMode.allCases {
                            let run = { (wm: WeightMatrix) -> [Float] in
                                var out = c0
                                out.withUnsafeMutableBufferPointer { cp in
                                    matmul(a, lda: k, m: m, wm, bias: bias, activation: .gelu, accumulate: true,
                                           into: cp.baseAddress!, ldc: ldc, mode: mode, ctx: ctx)
                                }
                                return out
                            }
                            let want = run(plain), got = run(packed.matrix)
                            XCTAssertTrue(bitsEqual(got, want), "\(isa) \(threads) threads \(mode) m \(m) k \(k) n \(n): strips change the result")
                            for i in 0..<m { for j in n..<ldc { XCTAssertEqual(got[i * ldc + j], c0[i * ldc + j], "sentinel overwritten") } }
                        }
                    }
                }
            }
        }
    }

    /// Float weights are not repacked.
    func testOnlyInt4IsRepacked() {
        let w = [Float](repeating: 1, count: 64)
        w.withUnsafeBufferPointer { wp in
            XCTAssertNil(Q4Strips(repacking: WeightMatrix(f32: wp.baseAddress!, n: 2, k: 32), ctx: ComputeContext(threads: 1, isa: .generic)))
        }
    }
}
