// `reptok eval` (AccuracyEval) and the metrics it prints.
import Foundation
import Runtime
import XCTest

final class EvalTests: XCTestCase {
    func testMetricsAgainstClosedForms() {
        // PSNR on [0, 1]: a shift of 2d in [-1, 1] is d on [0, 1] → MSE d² → −20 log10 d.
        let a: [Float] = (0 ..< 300).map { Float($0 % 17) / 8.5 - 1 }
        let shifted = a.map { $0 + 0.02 }
        /// Float rounding of the shifted values (~1e-7 relative to d = 0.01) moves the dB by < 1e-4.
        XCTAssertEqual(Metrics.psnr(shifted, a), 40, accuracy: 1e-3)
        XCTAssertEqual(Metrics.psnr(a, a), .infinity)
        // SSIM of constant images u, v on [0, 1]: variances and covariance vanish, so
        // SSIM = (2uv + C1)/(u² + v² + C1).
        let u = 0.25, v = 0.75, c1 = 0.0001
        let imgU = [Float](repeating: Float(2 * u - 1), count: 3 * 16 * 16)
        let imgV = [Float](repeating: Float(2 * v - 1), count: 3 * 16 * 16)
        /// Accumulated in Double over an 11×11 window of exact values: 1e-9.
        XCTAssertEqual(Metrics.ssim(imgU, imgV, channels: 3, height: 16, width: 16), (2 * u * v + c1) / (u * u + v * v + c1), accuracy: 1e-9)
        XCTAssertEqual(Metrics.ssim(a + a + a + a, a + a + a + a, channels: 3, height: 20, width: 20), 1, accuracy: 1e-12)
        XCTAssertEqual(Metrics.cosine([1, 0], [0, 1]), 0)
        XCTAssertEqual(Metrics.relativeL2([1, 1], [1, 0]), 1)
    }

    /// A file against itself: every computation is deterministic, so the table is exact.
    func testSameFileIsExact() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.f32))
        let s = p.config.imageSize
        let img = p.prepareImage(rgb: AccuracyEval.testCard(size: s), width: s, height: s)
        let r = try AccuracyEval.run(model: p, reference: p, images: [("card", img)], steps: 3)
        XCTAssertEqual(r.images[0].tokenCosine, 1, accuracy: 1e-12)
        XCTAssertEqual(r.images[0].reconstructionPSNR, .infinity)
        XCTAssertEqual(r.images[0].reconstructionSSIM, 1, accuracy: 1e-12)
        XCTAssertEqual(r.velocity.map(\.t), AccuracyEval.velocityTimes)
        XCTAssertTrue(r.velocity.allSatisfy { $0.relativeL2 == 0 })
        XCTAssertEqual(r.vaePSNR, .infinity)
    }

    /// int8 against f32 on the built-in test card, with the int8 accuracy minimums (same reasons as
    /// Int8PathTests; the reference here is our own f32 path, equal to the golden to ~1e-6).
    func testInt8AgainstF32MeetsTheMinimums() throws {
        let b = try Pipeline(modelPath: try TinyFixture.model(.f32))
        let s = b.config.imageSize
        let img = b.prepareImage(rgb: AccuracyEval.testCard(size: s), width: s, height: s)
        for (mode, m) in [(MatrixMode.w8a32, Int8PathTests.w8a32), (.w8a8, Int8PathTests.w8a8)] {
            let a = try Pipeline(modelPath: try TinyFixture.model(.int8), options: PipelineOptions(mode: mode))
            let r = try AccuracyEval.run(model: a, reference: b, images: [("card", img)], steps: 8)
            print(r.formatted(model: "tiny int8 \(mode)", reference: "tiny f32"))
            XCTAssertGreaterThanOrEqual(r.images[0].tokenCosine, m.cosine)
            XCTAssertGreaterThanOrEqual(r.images[0].reconstructionPSNR, m.imagePSNR)
            /// SSIM follows PSNR: at ≥ 36 dB structural similarity is above 0.99.
            XCTAssertGreaterThan(r.images[0].reconstructionSSIM, 0.99)
            for v in r.velocity { XCTAssertLessThanOrEqual(v.relativeL2, m.velocity, "t = \(v.t)") }
            XCTAssertGreaterThanOrEqual(r.vaePSNR, m.vaePSNR)
        }
    }
}
