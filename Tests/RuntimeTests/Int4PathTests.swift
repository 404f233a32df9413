// The int4 paths (W4A32 and W4A8) against the goldens of the tiny fixture.
import Foundation
import Runtime
import XCTest

final class Int4PathTests: XCTestCase {
    /// int4 minimums on random weights, shared with `tools/compare-trace.py --kind w4a32|w4a8`
    /// (the medium fixture). Measured (W4A32 / W4A8): tiny: token cosine 0.99781 / 0.99786,
    /// dec_velocity relative L2 0.169 / 0.175, dec_image PSNR 30.7 / 30.4 dB, VAE PSNR 51.5 /
    /// 46.3 dB; medium: 0.99212 / 0.99182, 0.223 / 0.226, 28.7 / 28.5 dB, 49.1 / 42.6 dB. The
    /// VAE stays int8, so its figures and bounds are the int8 ones. Four-bit groups round each
    /// random weight by up to half of max|w|/8 of its group, a relative error near 0.09 per
    /// matrix (the conversion report), about 17 times int8's; the bounds sit outside both
    /// fixtures' measurements with margin (cosine 0.99, velocity 0.30, image 26 dB), and a wrong
    /// nibble order or scale (cosine ≈ 0.5, velocity ≈ 1) still fails.
    static let w4a32 = Int8PathTests.Minimums(cosine: 0.99, velocity: 0.30, imagePSNR: 26, vaePSNR: 45)
    static let w4a8 = Int8PathTests.Minimums(cosine: 0.99, velocity: 0.30, imagePSNR: 26, vaePSNR: 38)

    func check(_ mode: MatrixMode, _ min: Int8PathTests.Minimums) throws { try Int8PathTests.check(.int4, mode, min) }

    func testW4A32MeetsTheMinimums() throws { try check(.w8a32, Self.w4a32) }

    func testW4A8MeetsTheMinimums() throws { try check(.w8a8, Self.w4a8) }

    /// The int4 file really runs 4-bit weights: its velocity differs from int8's by far more than
    /// int8's own rounding, and W4A8 differs from W4A32.
    func testInt4DiffersFromInt8() throws {
        let q8 = try TinyFixture.trace(.int8)
        let q4 = try TinyFixture.trace(.int4)
        let q4a8 = try TinyFixture.trace(.int4, mode: .w8a8)
        XCTAssertGreaterThan(Metrics.relativeL2(q4["dec_velocity"]!, q8["dec_velocity"]!), 0.05)
        XCTAssertGreaterThan(Metrics.relativeL2(q4a8["dec_velocity"]!, q4["dec_velocity"]!), 1e-5)
    }
}
