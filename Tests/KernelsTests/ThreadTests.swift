import TestSupport
import XCTest
@testable import Kernels

/// Results must be the same bits for 1, 2 and 3 threads (the task tiling depends only on
/// the shape). Each case runs the kernel with every context and compares bit patterns.
final class ThreadTests: XCTestCase {
    /// For every level the CPU runs: contexts of 1, 2 and 3 threads.
    let contextsByLevel = ISA.supported.map { isa in [1, 2, 3].map { ComputeContext(threads: $0, isa: isa) } }

    func sameBits(_ name: String, _ run: (ComputeContext) -> [Float]) {
        for contexts in contextsByLevel {
            let results = contexts.map(run)
            for (i, r) in results.enumerated().dropFirst() {
                XCTAssertTrue(bitsEqual(r, results[0]),
                              "\(name) \(contexts[0].isa): \(contexts[i].threads) threads differ from 1 thread")
            }
            XCTAssertFalse(results[0].contains { !$0.isFinite }, name)
        }
    }

    func testMatmulConvAttentionGroupNorm() {
        var rng = TestRNG(99)
        // (40, 96, 1000): 16 panel tasks, so 2 and 3 threads both reach the tasks handed out one
        // at a time (the last quarter, parallelForBalanced), whose thread varies from run to run.
        for (m, k, n) in [(5, 300, 200), (70, 500, 130), (600, 64, 96), (40, 96, 1000)] {
            let a = rng.floats(m * k), wq = rng.int8s(n * k), ws = [Float](repeating: 0.01, count: n), b = rng.floats(n)
            for mode in MatrixMode.allCases {
                sameBits("matmul \(m)x\(k)x\(n) \(mode)") { ctx in
                    var c = [Float](repeating: 0, count: m * n)
                    wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                        matmul(a, lda: k, m: m, WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: n, k: k),
                               bias: b, activation: .gelu, into: &c, ldc: n, mode: mode, ctx: ctx)
                    } }
                    return c
                }
            }
            let bf = rng.floats(k * n)
            sameBits("sgemm \(m)x\(k)x\(n)") { ctx in
                var c = [Float](repeating: 0, count: m * n)
                sgemm(m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: bf, ldb: n, accumulate: false, c: &c, ldc: n, ctx: ctx)
                return c
            }
        }
        let x = rng.floats(20 * 19 * 48), wq = rng.int8s(40 * 9 * 48), ws = [Float](repeating: 0.02, count: 40)
        for mode in MatrixMode.allCases {
            sameBits("conv3x3 \(mode)") { ctx in
                var o = [Float](repeating: 0, count: 20 * 19 * 40)
                wq.withUnsafeBufferPointer { wp in ws.withUnsafeBufferPointer { sp in
                    conv3x3(x, height: 20, width: 19, inChannels: 48,
                            WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: 40, k: 9 * 48),
                            bias: nil, out: &o, mode: mode, ctx: ctx)
                } }
                return o
            }
        }
        // Winograd (a W8A32 path; W8A8 convolutions are int8 implicit GEMMs, covered above) over
        // 24 × 20 tiles = 8 chunks of 64: 2 and 3 threads reach the handed-out tail again.
        let xw = rng.floats(48 * 40 * 16), ww = rng.int8s(24 * 9 * 16), sw = [Float](repeating: 0.02, count: 24)
        sameBits("conv3x3 winograd, 8 chunks") { ctx in
            var o = [Float](repeating: 0, count: 48 * 40 * 24)
            ww.withUnsafeBufferPointer { wp in sw.withUnsafeBufferPointer { sp in
                conv3x3(xw, height: 48, width: 40, inChannels: 16,
                        WeightMatrix(i8: wp.baseAddress!, scales: sp.baseAddress!, n: 24, k: 9 * 16),
                        bias: nil, out: &o, mode: .w8a32, ctx: ctx, algorithm: .winograd)
            } }
            return o
        }
        let qkv = rng.floats(100 * 3 * 96)
        sameBits("attention") { ctx in
            var o = [Float](repeating: 0, count: 100 * 96)
            qkv.withUnsafeBufferPointer { p in
                attention(q: p.baseAddress!, qStride: 288, k: p.baseAddress! + 96, kStride: 288, v: p.baseAddress! + 192,
                          vStride: 288, out: &o, outStride: 96, tokens: 100, heads: 2, headDim: 48, scale: 0.1, ctx: ctx)
            }
            return o
        }
        let g = rng.floats(700 * 64), gw = rng.floats(64), gb = rng.floats(64)
        sameBits("groupNorm") { ctx in
            var o = [Float](repeating: 0, count: 700 * 64)
            groupNorm(g, pixels: 700, channels: 64, groups: 32, weight: gw, bias: gb, eps: 1e-6, silu: true, out: &o, ctx: ctx)
            return o
        }
    }
}
