#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels
import TestSupport
import XCTest
@testable import Kernels

/// The AMX path: the scalar tile model against the instructions' definitions, the strip
/// driver (on the model, and on real tiles where the CPU grants them) against exact integer
/// sums at odd shapes with W ending at an unreadable page, and whole W8A8 products and
/// convolutions bit-identical to the other levels.
final class AMXTests: XCTestCase {
    /// The tile levels this machine runs: always the model, and the hardware when granted.
    var tileLevels: [ISA] { ISA.amx.isSupported ? [.amxEmulated, .amx] : [.amxEmulated] }

    func config(_ shapes: [(rows: Int, colsb: Int)]) -> [UInt8] {
        var c = [UInt8](repeating: 0, count: 64)
        c[0] = 1
        for (t, s) in shapes.enumerated() { c[16 + 2 * t] = UInt8(s.colsb); c[48 + t] = UInt8(s.rows) }
        return c
    }

    /// tileloadd / tilestored move rows × colsb bytes with the given strides and zero the rest
    /// of the tile; tdpbssd is Σ signed·signed per dword group, added with wrap-around.
    func testTileModelFollowsTheInstructionDefinitions() {
        var rng = TestRNG(31)
        // C 5 rows × 3 int32 (colsb 12), A 5 × 28 bytes (K = 7 groups), B 7 rows × 12 bytes
        let (m, n, k) = (5, 3, 7)
        let cfg = config([(m, 4 * n), (m, 4 * k), (k, 4 * n)])
        var s = rtk_tile_state()
        rtk_amx_emu_ldtilecfg(&s, cfg)
        let strideA = 40, strideB = 13
        let a = rng.int8s(m * strideA), b = rng.int8s(k * strideB)
        rtk_amx_emu_tileloadd(&s, 1, a, strideA)
        rtk_amx_emu_tileloadd(&s, 2, b, strideB)
        // C starts from values near the int32 limits so the sums wrap
        var c0 = [Int32](repeating: 0, count: m * n)
        for i in 0..<(m * n) { c0[i] = i % 2 == 0 ? Int32.max - Int32(i) : Int32.min + Int32(i) }
        rtk_amx_emu_tileloadd(&s, 0, c0, 4 * n)
        rtk_amx_emu_tdpbssd(&s, 0, 1, 2)
        // store into a buffer with sentinels between and after the rows (stride 5 int32)
        var out = [Int32](repeating: 0x5A5A5A5A, count: m * 5 + 3)
        rtk_amx_emu_tilestored(&s, 0, &out, 20)
        for i in 0..<m {
            for j in 0..<n {
                var e = c0[i * n + j]
                for g in 0..<k { for q in 0..<4 {
                    e = e &+ Int32(a[i * strideA + 4 * g + q]) * Int32(b[g * strideB + 4 * j + q])
                } }
                XCTAssertEqual(out[i * 5 + j], e, "[\(i), \(j)]")
            }
            XCTAssertEqual(out[i * 5 + 3], 0x5A5A5A5A, "past colsb untouched")
            XCTAssertEqual(out[i * 5 + 4], 0x5A5A5A5A, "past colsb untouched")
        }
        XCTAssertEqual(Array(out[(m * 5)...]), [0x5A5A5A5A, 0x5A5A5A5A, 0x5A5A5A5A], "past rows untouched")
        // everything past rows × colsb of a loaded tile is zero
        withUnsafeBytes(of: &s.tile.1) { t in
            for r in 0..<16 { for col in 0..<64 where r >= m || col >= 4 * k {
                XCTAssertEqual(t[r * 64 + col], 0, "tile 1 byte [\(r), \(col)]")
            } }
            XCTAssertEqual(Int8(bitPattern: t[64 + 3]), a[strideA + 3], "row 1 from base + stride")
        }
        // tilezero clears the live part; ldtilecfg clears every tile
        rtk_amx_emu_tilezero(&s, 0)
        rtk_amx_emu_tilestored(&s, 0, &out, 20)
        XCTAssertEqual(out[0], 0)
        rtk_amx_emu_ldtilecfg(&s, cfg)
        rtk_amx_emu_tilestored(&s, 1, &out, 20)
        XCTAssertEqual(out[0], 0, "ldtilecfg zeroes the tiles")
    }

    /// Weights placed so that their last byte is the last readable byte before a PROT_NONE
    /// page: a tile read past the end of W would crash the test.
    func withGuardedWeights(_ w: [Int8], _ body: (UnsafePointer<Int8>) -> Void) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let dataPages = (w.count + page - 1) / page
        let total = (dataPages + 1) * page
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { return XCTFail("mmap") }
        defer { munmap(base, total) }
        XCTAssertEqual(mprotect(base + dataPages * page, page, PROT_NONE), 0)
        let start = (base + dataPages * page - w.count).assumingMemoryBound(to: Int8.self)
        w.withUnsafeBufferPointer { start.update(from: $0.baseAddress!, count: w.count) }
        body(UnsafePointer(start))
    }

    /// The strip driver: exact int32 sums at odd mr, nc, kc, rows of W ending at a guard
    /// page, zeros in out past nc and untouched memory past the strip's rows.
    func testStripDriverIsExactAtOddShapes() {
        var rng = TestRNG(32)
        for level in tileLevels {
            let strip = KernelSet(level).tiles!.strip
            for (mr, nc, kc) in [(1, 1, 1), (16, 64, 64), (5, 17, 3), (16, 33, 65), (9, 64, 588), (3, 15, 130), (16, 48, 768)] {
                let ldw = kc + (kc % 3)                    // rows wider than the block, like a K block of a longer W
                let w = rng.int8s(nc * ldw)
                let a = (0..<mr).map { _ in (0..<((kc + 3) / 4 * 4)).map { p in p < kc ? Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) : 0 } }
                let chunks = (kc + 63) / 64
                var bpack = [Int8](repeating: 99, count: chunks * 1024)
                var out = [Int32](repeating: -7, count: 16 * 64 + 64)
                var ctmp = [Int32](repeating: 0, count: 1024), wpad = [Int8](repeating: 0, count: 1024)
                withExtendedLifetime(a) {
                    let ptrs = a.map { $0.withUnsafeBufferPointer { UnsafePointer<Int8>?($0.baseAddress!) } }
                    rtk_amx_pack_b(ptrs, mr, kc, &bpack)
                }
                withGuardedWeights(w) { wp in
                    strip(mr, nc, kc, bpack, wp, ldw, nc * ldw, &wpad, &ctmp, &out, 64)
                }
                for i in 0..<mr {
                    for j in 0..<64 {
                        var e: Int32 = 0
                        if j < nc { for p in 0..<kc { e += Int32(w[j * ldw + p]) * Int32(a[i][p]) } }
                        XCTAssertEqual(out[i * 64 + j], e, "\(level) mr \(mr) nc \(nc) kc \(kc) [\(i), \(j)]")
                    }
                }
                XCTAssertTrue(out[(mr * 64)...].allSatisfy { $0 == -7 }, "\(level): rows past mr untouched")
            }
        }
    }

    /// The hardware driver's zmm transpose of the result tiles equals the model's plain-C one
    /// (so that step is tested on every AVX-512 machine, with or without tiles), zeros past
    /// nc and untouched rows past mr included.
    func testResultTransposeMatchesTheModels() throws {
        try XCTSkipIf(!ISA.avx512.isSupported, "this CPU has no AVX-512")
        var rng = TestRNG(34)
        let ctmp = (0..<1024).map { _ in Int32(truncatingIfNeeded: rng.next()) }
        for (mr, nc) in [(1, 1), (16, 64), (5, 17), (16, 33), (9, 48), (3, 15), (16, 16)] {
            var c = [Int32](repeating: -3, count: 17 * 64), v = c
            rtk_amx_transpose_out_c(mr, nc, ctmp, &c, 64)
            rtk_amx_transpose_out_avx512(mr, nc, ctmp, &v, 64)
            XCTAssertEqual(c, v, "mr \(mr) nc \(nc)")
            XCTAssertEqual(c[(mr - 1) * 64 + nc - 1], ctmp[((nc - 1) / 16) * 256 + ((nc - 1) % 16) * 16 + mr - 1])
            if nc < 64 { XCTAssertEqual(c[nc], 0, "zero past nc") }
            XCTAssertEqual(c[mr * 64], -3, "row past mr untouched")
        }
    }

    /// Whole products on the tile levels: matmul in both forms (few rows, panel) and conv3x3,
    /// W8A8, bit-identical to generic and to every other level this CPU runs; k not a
    /// multiple of 64 (588: the encoder's patch embedding), K blocks past 768, m and n not
    /// multiples of 16, a 3-channel first convolution; more than 512 rows (several row
    /// blocks, so a thread packs the activations again when its tasks reach the next one).
    func testW8A8IsBitIdenticalToEveryLevel() {
        var rng = TestRNG(33)
        let others = ISA.supported.filter { !tileLevels.contains($0) }
        for (m, k, n) in [(6, 588, 40), (3, 70, 9), (17, 588, 33), (40, 1700, 70), (261, 64, 33), (9, 1, 5), (600, 70, 40)] {
            let a = rng.floats(m * k), wq = rng.int8s(n * k)
            let ws = (0..<n).map { _ in 0.001 + abs(rng.float()) * 0.01 }, b = rng.floats(n)
            let run = { (isa: ISA) -> [Float] in
                let ctx = ComputeContext(threads: 2, isa: isa)
                var c = [Float](repeating: .nan, count: m * n)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                           bias: b, activation: .gelu, into: &c, ldc: n, mode: .w8a8, ctx: ctx)
                } }
                return c
            }
            let reference = run(.generic)
            for isa in tileLevels + others { XCTAssertTrue(bitsEqual(run(isa), reference), "matmul \(m)x\(k)x\(n): \(isa) vs generic") }
        }
        for (h, w, cin, cout) in [(5, 7, 3, 17), (4, 5, 300, 24), (3, 3, 90, 65), (24, 23, 3, 17)] {
            let x = rng.floats(h * w * cin), wq = rng.int8s(cout * 9 * cin)
            let ws = (0..<cout).map { _ in 0.001 + abs(rng.float()) * 0.01 }, b = rng.floats(cout)
            let conv = { (isa: ISA) -> [Float] in
                let ctx = ComputeContext(threads: 2, isa: isa)
                var out = [Float](repeating: .nan, count: h * w * cout)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    conv3x3(x, height: h, width: w, inChannels: cin,
                            WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: cout, k: 9 * cin),
                            bias: b, out: &out, mode: .w8a8, ctx: ctx)
                } }
                return out
            }
            let reference = conv(.generic)
            for isa in tileLevels + others { XCTAssertTrue(bitsEqual(conv(isa), reference), "conv \(h)x\(w) \(cin)->\(cout): \(isa) vs generic") }
        }
    }

    /// The level is chosen only when the OS grants the tiles; the model is never chosen
    /// automatically; a CPU without AMX refuses `amx` by name.
    func testTileLevelSelection() throws {
        XCTAssertNotEqual(ISA.best, .amxEmulated)
        XCTAssertTrue(ISA.amxEmulated.isSupported)
        XCTAssertEqual(try ISA.resolve("amx-emulated"), .amxEmulated)
        if ISA.amx.isSupported {
            XCTAssertEqual(ISA.best, .amx)
        } else {
            XCTAssertThrowsError(try ISA.resolve("amx")) { e in
                XCTAssertEqual(e as? ISAError, .unsupported(.amx, supported: ISA.supported))
            }
        }
        XCTAssertEqual(KernelSet(.amxEmulated).tiles, .emulated)
        XCTAssertEqual(KernelSet(.amx).tiles, .hardware)
        // the split x86 paths: avx2 is the sign trick only, avxvnni the biased vpdpbusd
        XCTAssertFalse(KernelSet(.avx2).i8.isBiased)
        XCTAssertTrue(KernelSet(.avxvnni).i8.isBiased)
        XCTAssertTrue(KernelSet(.generic).i8.isFloatExact)
        XCTAssertNil(KernelSet(.avx512vnni).tiles)
        XCTAssertNil(Probes.int8(.amxEmulated), "no probe for a scalar model")
        XCTAssertEqual(Probes.amx == nil, !ISA.amx.isSupported)
    }
}
