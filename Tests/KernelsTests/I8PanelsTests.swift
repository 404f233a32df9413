import TestSupport
import XCTest
@testable import Kernels

/// int8 weights packed once into a level's W8A8 panels (`I8Panels`): `matmul` reading them
/// gives exactly the bits it gives packing per call, on every level this CPU runs and for
/// 1, 2 and 3 threads; a context of another level ignores them; the panels' size and offsets
/// match what the level's packing writes.
final class I8PanelsTests: XCTestCase {
    /// Panel form shapes (m > 8): K shorter than one block, K across the 768-input blocks with a
    /// short last block (800, 1600) and not a multiple of 4 (803), columns around the 32-column
    /// panels and 64-column tasks, and more rows than one task holds (600 > 512).
    static let shapes: [(m: Int, k: Int, n: Int)] = [(9, 100, 33), (40, 800, 131), (257, 1600, 70), (17, 803, 64), (600, 96, 65)]

    func run(_ w: WeightMatrix, m: Int, a: [Float], bias: [Float], c0: [Float], ldc: Int, mode: MatrixMode,
             ctx: ComputeContext) -> [Float] {
        var c = c0
        c.withUnsafeMutableBufferPointer { cp in
            matmul(a, lda: w.k, m: m, w, bias: bias, activation: .gelu, accumulate: true, into: cp.baseAddress!,
                   ldc: ldc, mode: mode, ctx: ctx)
        }
        return c
    }

    func testPanelsGiveTheSameBits() throws {
        var levels = 0
        for (m, k, n) in Self.shapes {
            var rng = TestRNG(UInt64(m * 7 + k * 3 + n))
            let a = rng.floats(m * k, scale: 2), bias = rng.floats(n)
            let q = (0..<(n * k)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) }
            let scales = (0..<n).map { _ in Float(rng.next() % 1000 + 1) * 1e-4 }
            let ldc = n + 3
            let c0 = (0..<(m * ldc)).map { Float($0 % 5) - 2 }
            q.withUnsafeBufferPointer { qp in
                scales.withUnsafeBufferPointer { sp in
                    let plain = WeightMatrix(i8: qp.baseAddress!, scales: sp.baseAddress!, n: n, k: k)
                    for isa in ISA.supported {
                        let packer = ComputeContext(threads: 2, isa: isa)
                        guard let packed = I8Panels(packing: plain, ctx: packer) else {
                            XCTAssertFalse(I8Panels.used(by: packer), "\(isa): no panels although the level uses them")
                            continue
                        }
                        levels += 1
                        XCTAssertEqual(packed.matrix.panelsLevel, isa)
                        XCTAssertEqual(packed.bytes, (n + 63) / 64 * I8Panels.columnBlockBytes(k: k))
                        for threads in [1, 2, 3] {
                            let ctx = ComputeContext(threads: threads, isa: isa)
                            for mode in MatrixMode.allCases {
                                let want = run(plain, m: m, a: a, bias: bias, c0: c0, ldc: ldc, mode: mode, ctx: ctx)
                                let got = run(packed.matrix, m: m, a: a, bias: bias, c0: c0, ldc: ldc, mode: mode, ctx: ctx)
                                XCTAssertTrue(bitsEqual(got, want), "\(isa) \(threads) threads \(mode) (\(m), \(k), \(n)): panels change the result, max \(maxAbs(got, want))")
                                for i in 0..<m { for j in n..<ldc { XCTAssertEqual(got[i * ldc + j], c0[i * ldc + j], "sentinel overwritten") } }
                            }
                        }
                        // a context of another level must not read these panels
                        for other in ISA.supported where other != isa {
                            let ctx = ComputeContext(threads: 2, isa: other)
                            let want = run(plain, m: m, a: a, bias: bias, c0: c0, ldc: ldc, mode: .w8a8, ctx: ctx)
                            let got = run(packed.matrix, m: m, a: a, bias: bias, c0: c0, ldc: ldc, mode: .w8a8, ctx: ctx)
                            XCTAssertTrue(bitsEqual(got, want), "panels of \(isa) read by \(other)")
                        }
                    }
                }
            }
        }
        try XCTSkipIf(levels == 0, "no level of this CPU keeps int8 panels")
    }

    /// The offsets agree with the packing's own size: each K block's two panels end where the
    /// next block starts, and the last block of a column block ends at the next column block.
    func testOffsets() {
        for k in [1, 4, 5, 767, 768, 769, 1536, 1600, 2403] {
            let blocks = uniformBlocks(k: k, kc: Blocking.kcI8)
            for (bi, blk) in blocks.enumerated() {
                let end = I8Panels.offset(nb: 0, block: bi, k: k) + 2 * 128 * ((blk.kc + 3) / 4)
                let next = bi + 1 < blocks.count ? I8Panels.offset(nb: 0, block: bi + 1, k: k) : I8Panels.offset(nb: 1, block: 0, k: k)
                XCTAssertEqual(end, next, "k \(k) block \(bi)")
            }
        }
    }

    /// Float and int4 weights are not packed; the generic level (float-exact blocks) keeps none.
    func testOnlyInt8OnPanelLevels() {
        let f = [Float](repeating: 1, count: 64), q = [Int8](repeating: 1, count: 64), s: [Float] = [1, 1]
        f.withUnsafeBufferPointer { fp in
            XCTAssertNil(I8Panels(packing: WeightMatrix(f32: fp.baseAddress!, n: 2, k: 32), ctx: ComputeContext(threads: 1)))
        }
        q.withUnsafeBufferPointer { qp in
            s.withUnsafeBufferPointer { sp in
                let w = WeightMatrix(i8: qp.baseAddress!, scales: sp.baseAddress!, n: 2, k: 32)
                XCTAssertNil(I8Panels(packing: w, ctx: ComputeContext(threads: 1, isa: .generic)))
            }
        }
    }
}
