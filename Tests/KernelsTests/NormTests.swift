import TestSupport
import XCTest
import Kernels

/// Norms and head-wise ops against the double-precision references.
final class NormTests: XCTestCase {
    /// Float32 mean/variance over ≤ 1000·128 values and one rounding per output, against
    /// double. Inputs have mean ≈ 5 and std ≈ 1.7, so centring costs ≈ 3 ulp of the output:
    /// ≤ 6e-7 observed; 2e-6 still catches an off-by-one in any statistic (≥ 1e-3).
    static let tol = 2e-6

    func testLayerNormAndRMSNorm() {
        for dim in kernelTestSizes {
            for rows in [1, 3] {
                var rng = TestRNG(UInt64(dim * 10 + rows))
                let x = rng.floats(rows * dim, scale: 3).map { $0 + 5 }      // mean ≫ 0: variance around the mean matters
                let w = rng.floats(dim), b = rng.floats(dim)
                for (wp, bp) in [(true, true), (false, false), (true, false)] {
                    var fast = [Float](repeating: 0, count: rows * dim), ref = fast
                    w.withUnsafeBufferPointer { wb in b.withUnsafeBufferPointer { bb in
                        layerNorm(x, rows: rows, dim: dim, weight: wp ? wb.baseAddress : nil,
                                  bias: bp ? bb.baseAddress : nil, eps: 1e-6, out: &fast)
                        Reference.layerNorm(x, rows: rows, dim: dim, weight: wp ? wb.baseAddress : nil,
                                            bias: bp ? bb.baseAddress : nil, eps: 1e-6, out: &ref)
                    } }
                    assertClose(fast, ref, relL2: Self.tol, "layerNorm dim \(dim)")
                    var rf = [Float](repeating: 0, count: rows * dim), rr = rf
                    w.withUnsafeBufferPointer { wb in
                        rmsNorm(x, rows: rows, dim: dim, scale: wp ? wb.baseAddress : nil, eps: 1e-6, out: &rf)
                        Reference.rmsNorm(x, rows: rows, dim: dim, scale: wp ? wb.baseAddress : nil, eps: 1e-6, out: &rr)
                    }
                    assertClose(rf, rr, relL2: Self.tol, "rmsNorm dim \(dim)")
                }
                // in place
                var inPlace = x, ref = [Float](repeating: 0, count: rows * dim)
                inPlace.withUnsafeMutableBufferPointer { p in
                    layerNorm(p.baseAddress!, rows: rows, dim: dim, weight: nil, bias: nil, eps: 1e-5, out: p.baseAddress!)
                }
                Reference.layerNorm(x, rows: rows, dim: dim, weight: nil, bias: nil, eps: 1e-5, out: &ref)
                assertClose(inPlace, ref, relL2: Self.tol, "layerNorm in place dim \(dim)")
            }
        }
    }

    func groupNormCase(pixels: Int, channels: Int, groups: Int, silu: Bool, constantGroup: Int? = nil,
                       ctx: ComputeContext) -> (fast: [Float], ref: [Float], bias: [Float]) {
        var rng = TestRNG(UInt64(pixels * 7 + channels))
        var x = rng.floats(pixels * channels, scale: 2).map { $0 + 1 }
        let cpg = channels / groups
        if let g = constantGroup {
            for p in 0..<pixels { for c in (g * cpg)..<((g + 1) * cpg) { x[p * channels + c] = 3.7 } }
        }
        let w = rng.floats(channels), b = rng.floats(channels)
        var fast = [Float](repeating: 0, count: pixels * channels), ref = fast
        groupNorm(x, pixels: pixels, channels: channels, groups: groups, weight: w, bias: b, eps: 1e-6,
                  silu: silu, out: &fast, ctx: ctx)
        Reference.groupNorm(x, pixels: pixels, channels: channels, groups: groups, weight: w, bias: b,
                            eps: 1e-6, silu: silu, out: &ref)
        return (fast, ref, b)
    }

    func testGroupNorm() {
        for ctx in levelContexts() {
            for s in kernelTestSizes {
                for (channels, groups) in [(32, 32), (64, 32), (96, 3)] {
                    for silu in [false, true] {
                        let r = groupNormCase(pixels: s, channels: channels, groups: groups, silu: silu, ctx: ctx)
                        assertClose(r.fast, r.ref, relL2: Self.tol, "groupNorm pixels \(s) c \(channels) g \(groups)")
                    }
                }
            }
            let r = groupNormCase(pixels: 1000, channels: 128, groups: 32, silu: true, ctx: ctx)   // many chunks
            assertClose(r.fast, r.ref, relL2: Self.tol, "groupNorm 1000 px")
        }
    }

    /// A group whose values are all equal has variance exactly 0: its outputs must be
    /// exactly the bias (no NaN from 0/0, no leftover from cancellation).
    func testGroupNormZeroVarianceGroup() {
        for ctx in levelContexts() {
            for pixels in [1, 65, 300] {
                let r = groupNormCase(pixels: pixels, channels: 64, groups: 8, silu: false, constantGroup: 2, ctx: ctx)
                for p in 0..<pixels { for c in 16..<24 { XCTAssertEqual(r.fast[p * 64 + c], r.bias[c], "pixel \(p) channel \(c)") } }
                assertClose(r.fast, r.ref, relL2: Self.tol, "groupNorm with a constant group")
                let s = groupNormCase(pixels: pixels, channels: 64, groups: 8, silu: true, constantGroup: 2, ctx: ctx)
                assertClose(s.fast, s.ref, relL2: Self.tol, "groupNorm+SiLU with a constant group")
            }
        }
    }

    /// With a context the row ops split their rows across threads; every row must come out
    /// bit for bit as on the calling thread alone (rows ≥ 32 are split, fewer are not).
    func testRowOpsSplitAcrossThreadsMatchOneThread() {
        let ctx = ComputeContext(threads: 3)
        for rows in [1, 31, 32, 33, 257] {
            let heads = 2, d = 72, stride = heads * d + 5, dim = 67
            var rng = TestRNG(UInt64(rows))
            let x = rng.floats(rows * stride, scale: 3), w = rng.floats(stride), b = rng.floats(stride)
            var one = [Float](repeating: 0, count: rows * dim), split = one
            layerNorm(x, rows: rows, dim: dim, weight: w, bias: b, eps: 1e-6, out: &one)
            layerNorm(x, rows: rows, dim: dim, weight: w, bias: b, eps: 1e-6, out: &split, ctx: ctx)
            XCTAssertTrue(bitsEqual(one, split), "layerNorm rows \(rows)")
            rmsNorm(x, rows: rows, dim: dim, scale: w, eps: 1e-6, out: &one)
            rmsNorm(x, rows: rows, dim: dim, scale: w, eps: 1e-6, out: &split, ctx: ctx)
            XCTAssertTrue(bitsEqual(one, split), "rmsNorm rows \(rows)")
            let scales = (0..<heads).map { _ in 1 + abs(rng.float()) }
            var c1 = x, c2 = x
            cosineScaleHeads(&c1, rows: rows, stride: stride, heads: heads, headDim: d, scales: scales, eps: 1e-6)
            cosineScaleHeads(&c2, rows: rows, stride: stride, heads: heads, headDim: d, scales: scales, eps: 1e-6, ctx: ctx)
            XCTAssertTrue(bitsEqual(c1, c2), "cosineScaleHeads rows \(rows)")
            let angles = 12, theta = rng.floats(rows * heads * angles, scale: 3)
            let cs = theta.map { Float(cos(Double($0))) }, sn = theta.map { Float(sin(Double($0))) }
            ropeHeads(&c1, rows: rows, stride: stride, heads: heads, headDim: d, angles: angles, cos: cs, sin: sn)
            ropeHeads(&c2, rows: rows, stride: stride, heads: heads, headDim: d, angles: angles, cos: cs, sin: sn, ctx: ctx)
            XCTAssertTrue(bitsEqual(c1, c2), "ropeHeads rows \(rows)")
            // the decoder's fused pass over q and k (k at d + 3 floats past q) equals the four calls
            var f1 = x, f2 = x
            let kOff = d + 3
            for off in [0, kOff] {
                f1.withUnsafeMutableBufferPointer { p in
                    cosineScaleHeads(p.baseAddress! + off, rows: rows, stride: stride, heads: 1, headDim: d, scales: scales, eps: 1e-6)
                    ropeHeads(p.baseAddress! + off, rows: rows, stride: stride, heads: 1, headDim: d, angles: angles,
                              cos: Array(cs.prefix(rows * angles)), sin: Array(sn.prefix(rows * angles)))
                }
            }
            cosineScaleRopeQK(&f2, kOffset: kOff, rows: rows, stride: stride, heads: 1, headDim: d, scales: scales, eps: 1e-6,
                              angles: angles, cos: Array(cs.prefix(rows * angles)), sin: Array(sn.prefix(rows * angles)), ctx: ctx)
            XCTAssertTrue(bitsEqual(f1, f2), "cosineScaleRopeQK rows \(rows)")
            let h = stride / 2
            var s1 = [Float](repeating: 0, count: rows * h), s2 = s1
            swiglu(x, rows: rows, hidden: h, out: &s1)
            swiglu(x, rows: rows, hidden: h, out: &s2, ctx: ctx)
            XCTAssertTrue(bitsEqual(s1, s2), "swiglu rows \(rows)")
            // in place with a context: kept on the calling thread, so still equal
            var inPlace = Array(x.prefix(rows * 2 * h))
            inPlace.withUnsafeMutableBufferPointer { p in swiglu(p.baseAddress!, rows: rows, hidden: h, out: p.baseAddress!, ctx: ctx) }
            XCTAssertTrue(bitsEqual(Array(inPlace.prefix(rows * h)), s1), "swiglu in place rows \(rows)")
        }
    }

    func testCosineScaleAndRope() {
        for d in kernelTestSizes where d >= 2 {
            let heads = 3, rows = 5, stride = heads * d + 4
            var rng = TestRNG(UInt64(d))
            let x = rng.floats(rows * stride)
            let scales = (0..<heads).map { _ in 1 + abs(rng.float()) * 10 }
            var fast = x, ref = x
            cosineScaleHeads(&fast, rows: rows, stride: stride, heads: heads, headDim: d, scales: scales, eps: 1e-6)
            Reference.cosineScaleHeads(&ref, rows: rows, stride: stride, heads: heads, headDim: d, scales: scales, eps: 1e-6)
            assertClose(fast, ref, relL2: Self.tol, "cosineScale d \(d)")
            for angles in [1, d / 4, d / 2] where angles >= 1 {
                let theta = rng.floats(rows * heads * angles, scale: 3)
                let cs = theta.map { Float(cos(Double($0))) }, sn = theta.map { Float(sin(Double($0))) }
                var rf = x, rr = x
                ropeHeads(&rf, rows: rows, stride: stride, heads: heads, headDim: d, angles: angles, cos: cs, sin: sn)
                Reference.ropeHeads(&rr, rows: rows, stride: stride, heads: heads, headDim: d, angles: angles, cos: cs, sin: sn)
                assertClose(rf, rr, relL2: Self.tol, "rope d \(d) angles \(angles)")
                // dims past 2·angles and the padding are untouched
                for r in 0..<rows { for i in (heads * d)..<stride { XCTAssertEqual(rf[r * stride + i], x[r * stride + i]) } }
            }
        }
    }
}
