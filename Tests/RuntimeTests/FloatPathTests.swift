// The float path against the goldens of the official implementation (tiny fixture).
import Foundation
import Quant
import Runtime
import XCTest

final class FloatPathTests: XCTestCase {
    /// Single evaluations: a correct float32 implementation agrees with the reference to about
    /// 1e-6 relative L2 (largest seen: 1.1e-6 on this fixture, 1.8e-6 on the medium one, at every
    /// level; docs/model.md, 'Numerics'); the rest is summation order. 5e-6 keeps a margin of
    /// 2.8× over the worst of them and still catches small departures from the model, which
    /// land at 6e-6 … 1e-4 on these random weights: a tanh GELU in the encoder (token 9.9e-5),
    /// RMSNorm eps 1e-5 instead of 1e-6 in the decoder (velocity 6.6e-6).
    static let singleTolerance = 5e-6
    /// Loops and images: the Euler loops and the VAE's ~20 convolutions do not amplify the
    /// single-step differences measurably (largest seen: 1.2e-6 here, 2.6e-6 on the medium
    /// fixture). 1e-5 keeps a margin of 4× and still catches a VAE latent scale off in its
    /// fifth digit (0.1821 for 0.18215: vae_image_out 6.8e-5).
    static let loopTolerance = 1e-5

    static let single = ["enc_input", "enc_pos_embed", "enc_tokens_in", "enc_block0_out", "token",
                         "x_extra", "dec_cond_norm", "dec_velocity", "gen_velocity_cond", "gen_velocity_cfg"]
    static let loops = ["dec_latent", "dec_image", "vae_image_out", "gen_tokens", "e2e_image"]

    func check(_ weights: WeightFormat, singleTolerance: Double, loopTolerance: Double) throws {
        let ours = try TinyFixture.trace(weights)
        XCTAssertEqual(Set(ours.keys), Set(Self.single + Self.loops), "trace writes exactly the golden file's outputs")
        for name in Self.single + Self.loops {
            let golden = try TinyFixture.goldenFloats(name)
            guard let mine = ours[name], mine.count == golden.count else {
                XCTFail("\(name): \(ours[name]?.count ?? -1) values, golden has \(golden.count)")
                continue
            }
            let err = Metrics.relativeL2(mine, golden)
            let tol = Self.single.contains(name) ? singleTolerance : loopTolerance
            XCTAssertLessThanOrEqual(err, tol, "\(name): relative L2 \(err) (\(weights))")
        }
    }

    func testF32FileReproducesEveryGoldenTensor() throws {
        try check(.f32, singleTolerance: Self.singleTolerance, loopTolerance: Self.loopTolerance)
    }

    /// An f16 file rounds every weight to 11 significant bits (relative error ≤ 2⁻¹¹ ≈ 4.9e-4 per
    /// weight; 2e-4 … 1.3e-3 observed on the outputs); 5e-3 leaves margin and still rejects wrong math.
    func testF16FileIsCloseToGolden() throws {
        try check(.f16, singleTolerance: 5e-3, loopTolerance: 5e-3)
    }

    /// The converter must pick the EMA generator: our conditional velocity must differ from the
    /// golden non-EMA one. The two weight sets are independent random draws, so their velocities
    /// differ by O(1) relative; 0.1 separates them while the EMA one matches within `singleTolerance`.
    func testGeneratorUsesEMAWeights() throws {
        let ours = try TinyFixture.trace(.f32)
        let nonEMA = try TinyFixture.goldenFloats("gen_velocity_cond_nonema")
        let ema = try TinyFixture.goldenFloats("gen_velocity_cond")
        XCTAssertGreaterThan(Metrics.relativeL2(ours["gen_velocity_cond"]!, nonEMA), 0.1)
        XCTAssertLessThanOrEqual(Metrics.relativeL2(ours["gen_velocity_cond"]!, ema), Self.singleTolerance)
    }
}
