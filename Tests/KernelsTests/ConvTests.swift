import TestSupport
import XCTest
import Kernels

/// conv3x3 against the direct double-precision convolution in `Reference`.
final class ConvTests: XCTestCase {
    func check(h: Int, w: Int, cin: Int, cout: Int, weights: String, mode: MatrixMode, ctx: ComputeContext,
               algorithm: ConvAlgorithm = .automatic, file: StaticString = #filePath, line: UInt = #line) {
        var rng = TestRNG(UInt64(h * 1000 + w * 100 + cin * 10 + cout))
        let x = rng.floats(h * w * cin)
        let wf = rng.floats(cout * 9 * cin), wq = rng.int8s(cout * 9 * cin)
        let ws = (0..<cout).map { _ in 0.001 + abs(rng.float()) * 0.01 }
        let b = rng.floats(cout)
        var fast = [Float](repeating: .nan, count: h * w * cout), ref = fast
        wf.withUnsafeBufferPointer { wfp in wq.withUnsafeBufferPointer { wqp in ws.withUnsafeBufferPointer { sp in
            let wm = weights == "f32" ? WeightMatrix(f32: wfp.baseAddress!, n: cout, k: 9 * cin)
                                      : WeightMatrix(i8: wqp.baseAddress!, scales: sp.baseAddress!, n: cout, k: 9 * cin)
            conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: b, out: &fast, mode: mode, ctx: ctx, algorithm: algorithm)
            Reference.conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: b, out: &ref, mode: mode)
        } } }
        /// Same reasoning as MatmulTests: float32 sums of ≤ 9·257 products (1e-5), and for
        /// W8A8 Int32 sums per tap combined in float (a few ulp per tap: 1e-6).
        let tol = (weights == "i8" && mode == .w8a8) ? 1e-6 : 1e-5
        assertClose(fast, ref, relL2: tol, "\(ctx.isa) conv \(h)x\(w) \(cin)->\(cout) \(weights) \(mode) \(algorithm)", file: file, line: line)
    }

    func testSizes() {
        for ctx in levelContexts() {
            for s in kernelTestSizes {
                for (weights, mode) in [("f32", MatrixMode.w8a32), ("i8", .w8a32), ("i8", .w8a8)] {
                    check(h: min(s, 33), w: 5, cin: s, cout: 17, weights: weights, mode: mode, ctx: ctx)   // vary cin
                    check(h: 4, w: min(s, 65), cin: 9, cout: s, weights: weights, mode: mode, ctx: ctx)    // vary cout, width
                    check(h: s, w: 1, cin: 3, cout: 4, weights: weights, mode: mode, ctx: ctx)             // single column
                }
            }
        }
    }

    func testLargerShapes() {
        for ctx in levelContexts() {
            for mode in MatrixMode.allCases {
                // float arithmetic picks Winograd at these channel counts: run the direct
                // implicit GEMM as well, which the VAE's small-channel layers take
                for algorithm in mode == .w8a8 ? [ConvAlgorithm.automatic] : [.automatic, .direct] {
                    check(h: 24, w: 23, cin: 200, cout: 40, weights: "i8", mode: mode, ctx: ctx, algorithm: algorithm)   // several row tasks, cin > kcF32
                    check(h: 8, w: 8, cin: 800, cout: 70, weights: "i8", mode: mode, ctx: ctx, algorithm: algorithm)     // cin > kcI8: two channel chunks
                }
                check(h: 16, w: 16, cin: 4, cout: 64, weights: "i8", mode: mode, ctx: ctx)     // the VAE's conv_in (cin 4)
            }
            check(h: 5, w: 6, cin: 64, cout: 3, weights: "i8", mode: .w8a8, ctx: ComputeContext(threads: 2, isa: .generic))
            check(h: 5, w: 6, cin: 64, cout: 3, weights: "i8", mode: .w8a32, ctx: ComputeContext(threads: 2, isa: .generic))
        }
    }

    /// 33 × 31 pixels are 4 row blocks of 256, so the direct float path packs the weights once
    /// per call (`prepackF32`) instead of once per row block: two column blocks (the second 6
    /// wide) and two channel chunks per tap (200 > 192), float and int8 weights, every level
    /// and 1–3 threads, against one double-precision reference (tolerance as in `check`).
    /// `.direct` is forced: at these channel counts `.automatic` takes Winograd.
    func testWeightsPackedOncePerCall() {
        let h = 33, w = 31, cin = 200, cout = 70
        var rng = TestRNG(4242)
        let x = rng.floats(h * w * cin), wf = rng.floats(cout * 9 * cin), wq = rng.int8s(cout * 9 * cin)
        let ws = (0..<cout).map { _ in 0.001 + abs(rng.float()) * 0.01 }
        wf.withUnsafeBufferPointer { wfp in wq.withUnsafeBufferPointer { wqp in ws.withUnsafeBufferPointer { sp in
            for (name, wm) in [("f32", WeightMatrix(f32: wfp.baseAddress!, n: cout, k: 9 * cin)),
                               ("i8", WeightMatrix(i8: wqp.baseAddress!, scales: sp.baseAddress!, n: cout, k: 9 * cin))] {
                var ref = [Float](repeating: .nan, count: h * w * cout)
                Reference.conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: nil, out: &ref, mode: .w8a32)
                let contexts = levelContexts() + [1, 3].map { ComputeContext(threads: $0) }
                for ctx in contexts {
                    var fast = [Float](repeating: .nan, count: h * w * cout)
                    conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: nil, out: &fast, mode: .w8a32, ctx: ctx,
                            algorithm: .direct)
                    assertClose(fast, ref, relL2: 1e-5, "\(ctx.isa) \(ctx.threads) threads, \(name) weights")
                }
            }
        } } }
    }
}
