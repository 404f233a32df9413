import CKernels
import TestSupport
import XCTest
import Kernels

/// The AVX-VNNI int8 kernels (ymm `vpdpbusd`, the avx2 level's int8 path on Alder Lake and
/// later, Zen 5) against exact integer sums. Both encodings come from one C macro; this
/// machine runs the EVEX twin when it has AVX-512 VNNI and the VEX one when it has
/// AVX-VNNI, so the arithmetic is checked wherever either exists.
final class AVXVNNITests: XCTestCase {
    /// The CPU has AVX-VNNI itself (not through the testing twin).
    var hasAVXVNNI: Bool { rtk_cpu_features() & Int32(RTK_CPU_AVXVNNI) != 0 }

    var encodings: [Int32] {
        var e: [Int32] = []
        if hasAVXVNNI { e.append(0) }
        if ISA.avx512vnni.isSupported { e.append(1) }
        return e
    }

    func testPanelKernelIsExact() throws {
        try XCTSkipIf(encodings.isEmpty, "this CPU has neither AVX-VNNI nor AVX-512 VNNI")
        var rng = TestRNG(5)
        for evex in encodings {
            for (nc, kc) in [(32, 64), (17, 33), (5, 1), (32, 768), (1, 130)] {
                let w = rng.int8s(nc * kc).map { $0 == -128 ? -127 : $0 }
                let kc4 = (kc + 3) / 4
                var panel = [UInt8](repeating: 0, count: kc4 * 128)
                rtk_pack_u8_panels(w, Int(kc), Int(nc), Int(kc), &panel)
                for mr in 1...8 {
                    let a = (0..<mr).map { _ in (0..<(kc4 * 4)).map { p in p < kc ? Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) : 0 } }
                    let corr = a.map { row in Int32(128 * row.reduce(0) { $0 + Int($1) }) }
                    let scale = (0..<mr).map { Float($0) + 0.5 }
                    for accumulate in [Int32(0), 1] {
                        let c0 = (0..<(mr * 32)).map { Float($0 % 9) }
                        var c = c0
                        let ptrs = a.map { $0.withUnsafeBufferPointer { UnsafePointer<Int8>?($0.baseAddress!) } }
                        // keep the rows alive while the kernel reads them
                        withExtendedLifetime(a) {
                            rtk_avxvnni_i8_kernel(evex, mr, kc4, ptrs, panel, corr, scale, &c, 32, accumulate)
                        }
                        for i in 0..<mr { for j in 0..<32 {
                            var s = 0
                            if j < nc { for p in 0..<kc { s += Int(w[j * kc + p]) * Int(a[i][p]) } }
                            var e = Float(s) * scale[i]
                            if accumulate != 0 { e = e + c0[i * 32 + j] }
                            XCTAssertEqual(c[i * 32 + j].bitPattern, e.bitPattern, "evex \(evex) nc \(nc) kc \(kc) mr \(mr) [\(i), \(j)]")
                        } }
                    }
                }
            }
        }
    }

    func testRowKernelIsExactPlusBias() throws {
        try XCTSkipIf(encodings.isEmpty, "this CPU has neither AVX-VNNI nor AVX-512 VNNI")
        var rng = TestRNG(6)
        for evex in encodings {
            // every path of the loop: 64-byte steps (two accumulators), one 32-byte step, the tail
            for k in [1, 31, 32, 33, 64, 65, 100, 127, 1536] {
                let nc = 7, lda = (k + 63) / 64 * 64
                let w = rng.int8s(nc * k)
                for mr in 1...6 {
                    var a = [Int8](repeating: 0, count: mr * lda)
                    for i in 0..<mr { for p in 0..<k { a[i * lda + p] = Int8(truncatingIfNeeded: Int(rng.next() % 255) - 127) } }
                    var out = [Int32](repeating: 0, count: mr * nc)
                    rtk_avxvnni_i8_rows(evex, mr, nc, k, a, lda, w, k, &out, nc)
                    for i in 0..<mr { for j in 0..<nc {
                        var s: Int32 = 0
                        for p in 0..<k { s += (Int32(w[j * k + p]) + 128) * Int32(a[i * lda + p]) }
                        XCTAssertEqual(out[i * nc + j], s, "evex \(evex) k \(k) mr \(mr) [\(i), \(j)]")
                    } }
                }
            }
        }
    }

    /// The whole avxvnni level (the VEX kernels where the CPU has AVX-VNNI, else their EVEX
    /// twin): matmul in both forms and conv3x3 in W8A8, bit-identical to the generic level.
    func testAVXVNNILevelMatchesGeneric() throws {
        try XCTSkipIf(!hasAVXVNNI && !ISA.avx512vnni.isSupported, "this CPU has neither AVX-VNNI nor AVX-512 VNNI")
        ISA._avxvnniThroughEVEX = !hasAVXVNNI
        let vnni = ComputeContext(threads: 2, isa: .avxvnni)
        ISA._avxvnniThroughEVEX = false
        let generic = ComputeContext(threads: 2, isa: .generic)
        var rng = TestRNG(8)
        for (m, k, n) in [(6, 1536, 40), (3, 70, 9), (70, 1700, 70), (261, 64, 33)] {
            let a = rng.floats(m * k), wq = rng.int8s(n * k), ws = [Float](repeating: 0.01, count: n), b = rng.floats(n)
            let run = { (ctx: ComputeContext) -> [Float] in
                var c = [Float](repeating: 0, count: m * n)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                           bias: b, into: &c, ldc: n, mode: .w8a8, ctx: ctx)
                } }
                return c
            }
            XCTAssertTrue(bitsEqual(run(vnni), run(generic)), "matmul \(m)x\(k)x\(n)")
        }
        let (h, w, cin, cout) = (4, 5, 800, 24)
        let x = rng.floats(h * w * cin), wq = rng.int8s(cout * 9 * cin), ws = [Float](repeating: 0.01, count: cout)
        let conv = { (ctx: ComputeContext) -> [Float] in
            var out = [Float](repeating: 0, count: h * w * cout)
            wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                conv3x3(x, height: h, width: w, inChannels: cin,
                        WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: cout, k: 9 * cin),
                        bias: nil, out: &out, mode: .w8a8, ctx: ctx)
            } }
            return out
        }
        XCTAssertTrue(bitsEqual(conv(vnni), conv(generic)), "conv3x3")
    }
}
