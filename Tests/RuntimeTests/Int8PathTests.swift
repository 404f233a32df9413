// The int8 paths (W8A32 and W8A8) against the goldens: the minimum accuracy of each int8 mode.
import Foundation
import Quant
import Runtime
import XCTest

final class Int8PathTests: XCTestCase {
    /// The int8 minimums (medium-fixture simulation, with margin): token cosine, decoder
    /// velocity relative L2, decoded image PSNR, VAE PSNR (dB on [0, 1]).
    struct Minimums { let cosine: Double; let velocity: Double; let imagePSNR: Double; let vaePSNR: Double }
    /// W8A32: per-channel weight rounding only (≤ s/2 per weight, docs/model.md, 'Numerics').
    static let w8a32 = Minimums(cosine: 0.9998, velocity: 0.03, imagePSNR: 42, vaePSNR: 45)
    /// W8A8: activation rounding per row adds about as much error again.
    static let w8a8 = Minimums(cosine: 0.999, velocity: 0.07, imagePSNR: 36, vaePSNR: 38)

    func check(_ mode: MatrixMode, _ min: Minimums) throws { try Self.check(.int8, mode, min) }

    /// The tiny fixture's trace with `weights` in `mode` against the official goldens.
    static func check(_ weights: WeightFormat, _ mode: MatrixMode, _ min: Minimums) throws {
        let ours = try TinyFixture.trace(weights, mode: mode)
        let g = TinyFixture.goldenFloats
        let cosine = Metrics.cosine(ours["token"]!, try g("token"))
        let velocity = Metrics.relativeL2(ours["dec_velocity"]!, try g("dec_velocity"))
        let image = Metrics.psnr(ours["dec_image"]!, try g("dec_image"))
        let vae = Metrics.psnr(ours["vae_image_out"]!, try g("vae_image_out"))
        print(String(format: "tiny \(weights) %@: token cosine %.6f, velocity rel L2 %.4f, dec_image PSNR %.1f dB, VAE PSNR %.1f dB",
                     mode.rawValue, cosine, velocity, image, vae))
        XCTAssertGreaterThanOrEqual(cosine, min.cosine, "token cosine")
        XCTAssertLessThanOrEqual(velocity, min.velocity, "dec_velocity relative L2")
        XCTAssertGreaterThanOrEqual(image, min.imagePSNR, "dec_image PSNR")
        XCTAssertGreaterThanOrEqual(vae, min.vaePSNR, "vae_image_out PSNR")
    }

    func testW8A32MeetsTheMinimums() throws { try check(.w8a32, Self.w8a32) }

    func testW8A8MeetsTheMinimums() throws { try check(.w8a8, Self.w8a8) }

    /// int8 must actually change the numbers (a file that silently fell back to float would pass
    /// the minimums too): rounding 8-bit weights moves the velocity by far more than 1e-5.
    func testInt8DiffersFromFloat() throws {
        let f = try TinyFixture.trace(.f32)
        let q = try TinyFixture.trace(.int8)
        let q8 = try TinyFixture.trace(.int8, mode: .w8a8)
        XCTAssertGreaterThan(Metrics.relativeL2(q["dec_velocity"]!, f["dec_velocity"]!), 1e-5)
        XCTAssertGreaterThan(Metrics.relativeL2(q8["dec_velocity"]!, q["dec_velocity"]!), 1e-5)
    }
}
