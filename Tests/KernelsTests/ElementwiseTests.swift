import TestSupport
import XCTest
import Foundation
import Kernels

/// Activations against double precision, elementwise ops and resampling against the references.
final class ElementwiseTests: XCTestCase {
    /// Inputs: a dense sweep of [-12, 12], tiny and huge magnitudes, and the sizes list.
    func sweep() -> [Float] {
        var xs: [Float] = (0...24000).map { Float($0 - 12000) / 1000 }
        xs += [0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 30, -30, 88, -88, 100, -100, 1e4, -1e4, 3.4e38, -3.4e38]
        return xs
    }

    /// `count` inputs for one size: a strided sample of the whole sweep, starting three quarters
    /// in (x ≈ 6) and wrapping around, so that the first and the last elements (the tail past the
    /// last full 16-lane vector, and all of an input shorter than 16) fall where GELU and SiLU are
    /// far from 0; the sweep itself starts at −12, where both are ≈ 0, and ends with extremes.
    /// At `sweep.count` it is the whole sweep, rotated.
    func sample(_ sweep: [Float], _ count: Int) -> [Float] {
        (0..<count).map { sweep[(sweep.count * 3 / 4 + $0 * sweep.count / count) % sweep.count] }
    }

    /// Whether the elements past the last full 16-lane vector of `x` (none when the count is a
    /// multiple of 16) include one where |f| > 1, so that a tail left at 0 or mishandled shows.
    func tailIsExercised(_ x: [Float], _ f: (Double) -> Double) -> Bool {
        let tail = (x.count / 16 * 16)..<x.count
        return tail.isEmpty || tail.contains { abs(f(Double(x[$0]))) > 1 }
    }

    /// GELU must be within 1e-6 of double: absolute below |gelu| = 1, relative above (float
    /// itself cannot do better than 6e-8 relative; the erfc approximation gives 1.2e-7).
    func testGeluWithin1e6OfDouble() {
        let all = sweep()
        for count in kernelTestSizes + [all.count] {
            let x = sample(all, count)
            XCTAssertTrue(tailIsExercised(x, Reference.geluD), "count \(count): the tail is all near 0")
            var y = x
            gelu(&y, count: count)
            for i in 0..<count {
                let ref = Reference.geluD(Double(x[i]))
                let err = abs(Double(y[i]) - ref)
                XCTAssertLessThanOrEqual(err, 1e-6 * max(1, abs(ref)), "count \(count): gelu(\(x[i])) = \(y[i]), double \(ref)")
            }
        }
    }

    /// SiLU through the vector exp (≈ 2 ulp) and one division: 2e-6 relative (absolute
    /// below 1) is a few ulp of float.
    func testSiluAndSwiglu() {
        let all = sweep()
        let siluD = { (d: Double) in d / (1 + Foundation.exp(-d)) }
        for count in kernelTestSizes + [all.count] {
            let x = sample(all, count)
            XCTAssertTrue(tailIsExercised(x, siluD), "count \(count): the tail is all near 0")
            var y = x
            silu(&y, count: count)
            for i in 0..<count {
                let ref = siluD(Double(x[i]))
                XCTAssertLessThanOrEqual(abs(Double(y[i]) - ref), 2e-6 * max(1, abs(ref)), "count \(count): silu(\(x[i])) = \(y[i])")
            }
        }
        for h in kernelTestSizes {
            var rng = TestRNG(UInt64(h))
            let x = rng.floats(3 * 2 * h, scale: 6)
            var fast = [Float](repeating: 0, count: 3 * h), ref = fast
            swiglu(x, rows: 3, hidden: h, out: &fast)
            Reference.swiglu(x, rows: 3, hidden: h, out: &ref)
            assertClose(fast, ref, relL2: 2e-6, "swiglu h \(h)")
            // in place (out == x)
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { p in swiglu(p.baseAddress!, rows: 3, hidden: h, out: p.baseAddress!) }
            XCTAssertTrue(bitsEqual(Array(inPlace.prefix(3 * h)), fast), "swiglu in place h \(h)")
        }
    }

    func testAdd() {
        for n in kernelTestSizes {
            var rng = TestRNG(UInt64(n))
            let a = rng.floats(n), b = rng.floats(n)
            var out = [Float](repeating: 0, count: n)
            add(a, b, count: n, out: &out)
            XCTAssertEqual(out, zip(a, b).map { $0 + $1 })
        }
    }

    func testUpsampleNearest() {
        for (h, w, c) in [(1, 1, 1), (3, 7, 5), (16, 17, 33)] + kernelTestSizes.map({ (2, 3, $0) }) {
            var rng = TestRNG(UInt64(h * w * c))
            let x = rng.floats(h * w * c)
            var fast = [Float](repeating: 0, count: 4 * h * w * c), ref = fast
            upsampleNearest2x(x, height: h, width: w, channels: c, out: &fast)
            Reference.upsampleNearest2x(x, height: h, width: w, channels: c, out: &ref)
            XCTAssertEqual(fast, ref)
        }
    }

    /// Separable float filter (weights rounded to float, two passes) against the 2-D double
    /// sum: a few ulp of the output range; 1e-6 relative L2.
    func testResizes() {
        let sized = kernelTestSizes.flatMap { s in [(s, 9, 7, s, 2), (5, s, s, 3, 1), (s, s, 16, 16, 1)] }
        for (h, w, oh, ow, c) in [(256, 256, 224, 224, 3), (37, 37, 16, 16, 5), (7, 17, 15, 33, 2), (1, 3, 3, 1, 1),
                                  (300, 200, 256, 256, 1), (16, 16, 64, 63, 2)] + sized {
            var rng = TestRNG(UInt64(h * w + oh))
            let x = rng.floats(h * w * c)
            var fast = [Float](repeating: 0, count: oh * ow * c), ref = fast
            resizeBilinear(x, height: h, width: w, channels: c, out: &fast, outHeight: oh, outWidth: ow)
            Reference.resizeBilinear(x, height: h, width: w, channels: c, out: &ref, outHeight: oh, outWidth: ow)
            assertClose(fast, ref, relL2: 1e-6, "bilinear \(h)x\(w) -> \(oh)x\(ow)")
            resizeBicubicAA(x, height: h, width: w, channels: c, out: &fast, outHeight: oh, outWidth: ow)
            Reference.resizeBicubicAA(x, height: h, width: w, channels: c, out: &ref, outHeight: oh, outWidth: ow)
            assertClose(fast, ref, relL2: 1e-6, "bicubic AA \(h)x\(w) -> \(oh)x\(ow)")
        }
    }

    /// The reference taps themselves, against hand-computed values (independent of the code
    /// under test): bilinear 256→224 output 0 samples c = 0.0714… from rows 0 and 1, the
    /// upsampling edges clamp; the antialiased cubic 37→16 taps start where docs/model.md, 'Encoder' says
    /// and sum to 1; the cubic kernel at hand-evaluated points.
    func testReferenceTapsByHand() {
        let b = Reference.bilinearTaps(input: 256, output: 224)
        XCTAssertEqual(b[0][0].0, 0); XCTAssertEqual(b[0][1].0, 1)
        XCTAssertEqual(b[0][1].1, (0.5 * 256 / 224 - 0.5), accuracy: 1e-12)
        XCTAssertEqual(b[223][0].0, 254); XCTAssertEqual(b[223][1].0, 255)     // c = 223.5·256/224 − 0.5 = 254.93
        let u = Reference.bilinearTaps(input: 16, output: 64)
        XCTAssertEqual(u[63][0].0, 15); XCTAssertEqual(u[63][1].0, 15)         // c = 15.375: second tap clamped
        XCTAssertEqual(u[0][0].0, 0); XCTAssertEqual(u[0][1].1, 0, accuracy: 1e-12)   // c = max(−0.375, 0) = 0
        let t = Reference.bicubicAATaps(input: 37, output: 16)
        let s = 37.0 / 16, center = s * 8.5
        XCTAssertEqual(t[8].first!.0, Int((center - 2 * s + 0.5).rounded(.down)))
        XCTAssertEqual(t[8].map(\.1).reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(Reference.cubic(0), 1); XCTAssertEqual(Reference.cubic(1), 0); XCTAssertEqual(Reference.cubic(2), 0)
        XCTAssertEqual(Reference.cubic(0.5), 0.5625, accuracy: 1e-12)     // (1.5·0.125 − 2.5·0.25 + 1)
        XCTAssertEqual(Reference.cubic(1.5), -0.0625, accuracy: 1e-12)    // −0.5·(3.375 − 11.25 + 12 − 4)
    }
}
