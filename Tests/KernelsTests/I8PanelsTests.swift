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

    func testPanelsGiveTheSameBits() throws {
        var levels = 0
        for (m, k, n) in Self.shapes {
            let p = Int8Product(m: m, k: k, n: n, seed: UInt64(m * 7 + k * 3 + n))
            p.withMatrix { plain in
                levels += forEachLevelCopy(of: plain, make: { I8Panels(packing: $0, ctx: $1) }, uses: I8Panels.used, "panels") { isa, packed in
                    XCTAssertEqual(packed.matrix.panelsLevel, isa)
                    XCTAssertEqual(packed.bytes, (n + 63) / 64 * I8Panels.columnBlockBytes(k: k))
                    for threads in [1, 2, 3] {
                        let ctx = ComputeContext(threads: threads, isa: isa)
                        for mode in MatrixMode.allCases {
                            let want = p.run(plain, mode: mode, ctx: ctx), got = p.run(packed.matrix, mode: mode, ctx: ctx)
                            XCTAssertTrue(bitsEqual(got, want), "\(isa) \(threads) threads \(mode) (\(m), \(k), \(n)): panels change the result, max \(maxAbs(got, want))")
                            p.assertSentinels(got)
                        }
                    }
                    // a context of another level must not read these panels
                    for other in ISA.supported where other != isa {
                        let ctx = ComputeContext(threads: 2, isa: other)
                        let want = p.run(plain, mode: .w8a8, ctx: ctx), got = p.run(packed.matrix, mode: .w8a8, ctx: ctx)
                        XCTAssertTrue(bitsEqual(got, want), "panels of \(isa) read by \(other)")
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
