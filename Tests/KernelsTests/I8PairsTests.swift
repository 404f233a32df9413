import CKernels
import TestSupport
import XCTest
@testable import Kernels

/// The pair form of the int8 panel products (levels avx2 and avx512; i8_pairs.c): staging in
/// both orders (ymm, zmm), row preparation and kernel, in plain C, with AVX2 and with AVX-512,
/// against integer sums computed here directly (Σ w·x, not the identity the kernels use).
/// Exact: every comparison is bitwise.
final class I8PairsTests: XCTestCase {
    var hasAVX2: Bool { ISA.avx2.isSupported }
    var hasAVX512: Bool { ISA.avx512.isSupported }
    typealias StageFn = (Int, UnsafePointer<Int8>, UnsafeMutablePointer<Int16>) -> Void
    typealias KernelFn = (Int, Int, UnsafePointer<UnsafePointer<Int32>?>, UnsafePointer<Int16>, UnsafePointer<Int32>,
                          UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int32) -> Void

    /// Odd shapes: a partial last group (kc % 4 ≠ 0), partial panels (nc < 32), one input, a
    /// full 768-input block, and K just past and between the AVX2 kernel's 48-group chunks;
    /// weights over all of [-128, 127], activations over [-127, 127], and the extreme corner (every value at its most negative) that maximises |x + w|.
    static let shapes: [(nc: Int, kc: Int)] = [(32, 64), (17, 33), (5, 1), (32, 768), (1, 130), (32, 7), (32, 196), (29, 390)]

    /// Rows per call: the AVX2 kernel takes as many as the engine gives it (its row pairs
    /// share each L1 chunk), the others up to 8.
    static let maxRows = KernelSet.I8.maxStripRows
    /// Row counts tried: every count up to 9 (8 is the other kernels' strip), then around the
    /// AVX2 kernel's odd and even pair counts up to its 32.
    static let rowCounts = Array(1...9) + [15, 16, 17, 31, 32]

    struct Case {
        var w: [Int8], a: [[Int8]], nc: Int, kc: Int
        var kc4: Int { (kc + 3) / 4 }
    }

    func cases() -> [Case] {
        var rng = TestRNG(17)
        var out: [Case] = []
        for (nc, kc) in Self.shapes {
            let kc4 = (kc + 3) / 4
            let w = rng.int8s(nc * kc)
            let a = (0..<Self.maxRows).map { _ in (0..<(kc4 * 4)).map { p in p < kc ? Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) : 0 } }
            out.append(Case(w: w, a: a, nc: nc, kc: kc))
            let a2 = (0..<Self.maxRows).map { _ in (0..<(kc4 * 4)).map { p in p < kc ? Int8(-127) : 0 } }
            out.append(Case(w: [Int8](repeating: -128, count: nc * kc), a: a2, nc: nc, kc: kc))
        }
        return out
    }

    /// The case's weights packed (rtk_pack_i8_panels) and staged by `stage`, with sentinels past
    /// the staged bytes that staging must leave alone.
    func staged(_ t: Case, _ stage: (Int, UnsafePointer<Int8>, UnsafeMutablePointer<Int16>) -> Void) -> [Int16] {
        var panel = [Int8](repeating: 0, count: t.kc4 * 128)
        rtk_pack_i8_panels(t.w, t.kc, t.nc, t.kc, &panel)
        let count = Int(rtk_i8_pairs_staged_bytes(t.kc4)) / 2
        var out = [Int16](repeating: 0x5555, count: count + 64)
        stage(t.kc4, panel, &out)
        XCTAssertTrue(out[count...].allSatisfy { $0 == 0x5555 }, "staging wrote past its panel")
        return out
    }

    /// (name, zmm order, stager).
    var stagers: [(String, Bool, StageFn)] {
        var s: [(String, Bool, StageFn)] = [("C", false, { rtk_i8_pairs_stage_c($0, $1, $2, 0) }),
                                            ("C zmm", true, { rtk_i8_pairs_stage_c($0, $1, $2, 1) })]
        if hasAVX2 {
            s.append(("AVX2", false, { rtk_avx2_i8_pairs_stage($0, $1, $2, 0) }))
            s.append(("AVX2 zmm", true, { rtk_avx2_i8_pairs_stage($0, $1, $2, 1) }))
        }
        return s
    }

    /// Offset of column j's (b1, b3) pair in a staged group, and the distance to its (b0, b2)
    /// pair, as ckernels.h states the two orders.
    static func pairOffset(_ j: Int, zmm: Bool) -> (wa: Int, wb: Int) {
        let v = j / 8, l = j % 8
        let chunk = zmm ? (v / 2) * 4 + v % 2 : 2 * v
        return (chunk * 16 + 2 * l, zmm ? 32 : 16)
    }

    /// The staged layout, element by element, as ckernels.h states it, and the column terms,
    /// from both stagers.
    func testStagedLayout() {
        for t in cases() {
            func wv(_ j: Int, _ p: Int) -> Int16 { j < t.nc && p < t.kc ? Int16(t.w[j * t.kc + p]) : 0 }
            for (name, zmm, stage) in stagers {
                let out = staged(t, stage)
                for j in 0..<32 {
                    let (wa, wb) = Self.pairOffset(j, zmm: zmm)
                    var term: Int32 = 0
                    for g in 0..<t.kc4 {
                        for e in 0..<2 {
                            XCTAssertEqual(out[g * 128 + wa + e], wv(j, 4 * g + 1 + 2 * e), "\(name) nc \(t.nc) kc \(t.kc) j \(j) g \(g)")
                            XCTAssertEqual(out[g * 128 + wa + wb + e], wv(j, 4 * g + 2 * e), "\(name) nc \(t.nc) kc \(t.kc) j \(j) g \(g)")
                        }
                        term += Int32(wv(j, 4 * g)) * Int32(wv(j, 4 * g + 1)) + Int32(wv(j, 4 * g + 2)) * Int32(wv(j, 4 * g + 3))
                    }
                    let stored = out.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: t.kc4 * 256 + 4 * j, as: Int32.self) }
                    XCTAssertEqual(stored, term, "\(name) nc \(t.nc) kc \(t.kc) column term \(j)")
                }
            }
        }
    }

    /// Both preparations give the documented words and row terms; the AVX2 one takes its
    /// 16-byte steps and a C tail (kc4 = 1, 2, 9, 33, 192 cover no step, steps only, and both).
    func testPreparation() {
        var rng = TestRNG(23)
        for kc4 in [1, 2, 9, 33, 192] {
            let mr = 5
            let rows = (0..<mr).map { _ in (0..<(kc4 * 4)).map { _ in Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) } }
            var want = [Int32](repeating: 0, count: mr * 2 * kc4), wantTerms = [Int32](repeating: 0, count: mr)
            for i in 0..<mr {
                for g in 0..<kc4 {
                    let x = rows[i][(4 * g)..<(4 * g + 4)].map { Int32($0) }
                    want[i * 2 * kc4 + 2 * g] = Int32(bitPattern: UInt32(UInt16(bitPattern: Int16(x[0]))) | UInt32(UInt16(bitPattern: Int16(x[2]))) << 16)
                    want[i * 2 * kc4 + 2 * g + 1] = Int32(bitPattern: UInt32(UInt16(bitPattern: Int16(x[1]))) | UInt32(UInt16(bitPattern: Int16(x[3]))) << 16)
                    wantTerms[i] += x[0] * x[1] + x[2] * x[3]
                }
            }
            var preparers: [(String, (Int, UnsafePointer<Int8>, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Void)] =
                [("C", { rtk_i8_pairs_prepare_c($0, $1, $2, $3) })]
            if hasAVX2 { preparers.append(("AVX2", { rtk_avx2_i8_pairs_prepare($0, $1, $2, $3) })) }
            for (name, prepare) in preparers {
                // rows prepared one after another into one buffer, sentinels past the last
                var out = [Int32](repeating: 0x5555, count: mr * 2 * kc4 + 8), terms = [Int32](repeating: 0x5555, count: mr + 1)
                out.withUnsafeMutableBufferPointer { op in
                    terms.withUnsafeMutableBufferPointer { tp in
                        for i in 0..<mr { prepare(kc4, rows[i], op.baseAddress! + i * 2 * kc4, tp.baseAddress! + i) }
                    }
                }
                XCTAssertEqual(Array(out[..<(mr * 2 * kc4)]), want, "\(name) kc4 \(kc4)")
                XCTAssertEqual(Array(terms[..<mr]), wantTerms, "\(name) kc4 \(kc4)")
                XCTAssertTrue(out[(mr * 2 * kc4)...].allSatisfy { $0 == 0x5555 } && terms[mr] == 0x5555, "\(name) wrote past its rows")
            }
        }
    }

    /// The kernels against Σ w·x computed directly, for 1 to 32 rows (each kernel up to the
    /// rows it takes per call), both store modes, with sentinel columns past the 32 the kernel
    /// writes and a sentinel row past the rows it was given.
    func testKernelsAreExact() {
        // (name, zmm order, most rows per call, kernel)
        var kernels: [(String, Bool, Int, KernelFn)] = [
            ("C", false, Self.maxRows, { rtk_i8_pairs_kernel_c($0, $1, $2, $3, $4, $5, $6, $7, $8, 0) }),
            ("C zmm", true, Self.maxRows, { rtk_i8_pairs_kernel_c($0, $1, $2, $3, $4, $5, $6, $7, $8, 1) })]
        if hasAVX2 { kernels.append(("AVX2", false, Self.maxRows, { rtk_avx2_i8_pairs_kernel($0, $1, $2, $3, $4, $5, $6, $7, $8, nil) })) }
        if hasAVX512 { kernels.append(("AVX-512", true, 8, { rtk_avx512_i8_pairs_kernel($0, $1, $2, $3, $4, $5, $6, $7, $8, nil) })) }
        for t in cases() {
            let panels = [false: staged(t, { rtk_i8_pairs_stage_c($0, $1, $2, 0) }),
                          true: staged(t, { rtk_i8_pairs_stage_c($0, $1, $2, 1) })]
            let n = Self.maxRows
            var prepared = [Int32](repeating: 0, count: n * 2 * t.kc4), rowTerms = [Int32](repeating: 0, count: n)
            prepared.withUnsafeMutableBufferPointer { pp in
                for i in 0..<n { rtk_i8_pairs_prepare_c(t.kc4, t.a[i], pp.baseAddress! + i * 2 * t.kc4, &rowTerms[i]) }
            }
            let scale = (0..<n).map { Float($0 % 8) + 0.37 }
            let ldc = 35
            for mr in Self.rowCounts {
                for accumulate in [Int32(0), 1] {
                    // one more row than the kernel is given: it must stay as it was
                    let c0 = (0..<((mr + 1) * ldc)).map { Float($0 % 9) - 4 }
                    for (name, zmm, most, kernel) in kernels where mr <= most {
                        let panel = panels[zmm]!
                        var c = c0
                        prepared.withUnsafeBufferPointer { pp in
                            let ptrs = (0..<mr).map { UnsafePointer<Int32>?(pp.baseAddress! + $0 * 2 * t.kc4) }
                            kernel(mr, t.kc4, ptrs, panel, rowTerms, scale, &c, ldc, accumulate)
                        }
                        XCTAssertEqual(Array(c[(mr * ldc)...]), Array(c0[(mr * ldc)...]), "\(name): row \(mr) past the \(mr) given was written")
                        for i in 0..<mr {
                            for j in 0..<ldc {
                                guard j < 32 else {
                                    XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "\(name): sentinel [\(i), \(j)] overwritten"); continue
                                }
                                var s = 0
                                if j < t.nc { for p in 0..<t.kc { s += Int(t.w[j * t.kc + p]) * Int(t.a[i][p]) } }
                                var e = Float(s) * scale[i]
                                if accumulate != 0 { e = e + c0[i * ldc + j] }
                                XCTAssertEqual(c[i * ldc + j].bitPattern, e.bitPattern,
                                               "\(name) nc \(t.nc) kc \(t.kc) mr \(mr) [\(i), \(j)]: \(c[i * ldc + j]) vs \(e)")
                            }
                        }
                    }
                }
            }
        }
    }
}
