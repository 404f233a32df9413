// `reptok eval`: how much accuracy a converted file (e.g. int8) loses against a reference file (f32).
import Foundation
import Support

/// Accuracy loss of a model file A against a reference file B of the same checkpoint.
///
/// For every image:
/// - token cosine: `encode_A(image)` vs `encode_B(image)`;
/// - reconstruction: each file runs its own encode → decode (same decoder noise, `steps` Euler
///   steps) → VAE; PSNR and SSIM of A's image against B's, on [0, 1]; and the PSNR of each
///   reconstruction against the input image itself.
///
/// On the first image, with B's token and B's reconstructed latent z₀:
/// - decoder velocity relative L2 at t ∈ `velocityTimes`, on `z_t = t·ε + (1−t)·z₀` (the flow's
///   own interpolation path; ε is the decoder noise);
/// - VAE PSNR: `VAE_A(z₀)` vs `VAE_B(z₀)`.
public enum AccuracyEval {
    /// Result of one image.
    public struct ImageResult {
        public var name: String
        public var tokenCosine: Double
        public var reconstructionPSNR: Double
        public var reconstructionSSIM: Double
        /// PSNR of A's and of B's reconstruction against the input, on [0, 1].
        public var modelVsInputPSNR: Double
        public var referenceVsInputPSNR: Double
    }

    /// The whole table.
    public struct Report {
        public var steps: Int
        public var seed: UInt64
        public var images: [ImageResult]
        /// (t, relative L2 of v_A against v_B).
        public var velocity: [(t: Float, relativeL2: Double)]
        public var vaePSNR: Double
        /// Seconds spent in A and in B.
        public var secondsModel: Double
        public var secondsReference: Double

        /// The table as a JSON object (for `JSONSerialization`): means over the images of
        /// `token_cosine`, `psnr_vs_reference` (dB), `ssim`, `psnr_vs_input` {`model`, `reference`},
        /// `velocity_rel_l2` {t: value} (t printed with two decimals), `vae_psnr`, the per-image
        /// rows under `images`, and `steps`, `seed`. A non-finite value (identical images) is null.
        public func json() -> [String: Any] {
            func num(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
            func mean(_ f: (ImageResult) -> Double) -> Double {
                images.isEmpty ? .nan : images.map(f).reduce(0, +) / Double(images.count)
            }
            var vel: [String: Any] = [:]
            for v in velocity { vel[String(format: "%.2f", v.t)] = num(v.relativeL2) }
            return [
                "steps": steps, "seed": seed,
                "token_cosine": num(mean(\.tokenCosine)),
                "psnr_vs_reference": num(mean(\.reconstructionPSNR)),
                "ssim": num(mean(\.reconstructionSSIM)),
                "psnr_vs_input": ["model": num(mean(\.modelVsInputPSNR)), "reference": num(mean(\.referenceVsInputPSNR))],
                "velocity_rel_l2": vel,
                "vae_psnr": num(vaePSNR),
                "images": images.map { r -> [String: Any] in
                    ["name": r.name, "token_cosine": num(r.tokenCosine), "psnr_vs_reference": num(r.reconstructionPSNR),
                     "ssim": num(r.reconstructionSSIM),
                     "psnr_vs_input": ["model": num(r.modelVsInputPSNR), "reference": num(r.referenceVsInputPSNR)]]
                },
            ]
        }

        /// The table as text, one quantity per line.
        public func formatted(model: String, reference: String) -> String {
            var lines = ["accuracy of \(model) against \(reference) (\(steps) Euler steps, seed \(seed))"]
            func pad(_ text: String, _ width: Int) -> String {
                text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
            }
            func row(_ name: String, _ cosine: Double, _ psnr: Double, _ ssim: Double, _ inA: Double, _ inB: Double) -> String {
                pad(name, 28) + String(format: " %12.7f %10.2f %8.5f %11.2f %11.2f", cosine, psnr, ssim, inA, inB)
            }
            lines.append(pad("image", 28) + "    token cos    PSNR dB     SSIM  A/input dB  B/input dB")
            for r in images {
                lines.append(row(r.name, r.tokenCosine, r.reconstructionPSNR, r.reconstructionSSIM, r.modelVsInputPSNR, r.referenceVsInputPSNR))
            }
            if images.count > 1 {
                func mean(_ f: (ImageResult) -> Double) -> Double { images.map(f).reduce(0, +) / Double(images.count) }
                lines.append(row("mean", mean(\.tokenCosine), mean(\.reconstructionPSNR), mean(\.reconstructionSSIM),
                                 mean(\.modelVsInputPSNR), mean(\.referenceVsInputPSNR)))
            }
            for v in velocity {
                lines.append(String(format: "decoder velocity rel L2 at t = %.2f: %.5f", v.t, v.relativeL2))
            }
            lines.append(String(format: "VAE PSNR: %.2f dB", vaePSNR))
            lines.append(String(format: "time: model %.1f s, reference %.1f s", secondsModel, secondsReference))
            return lines.joined(separator: "\n")
        }
    }

    /// Times at which the decoder velocity is compared.
    public static let velocityTimes: [Float] = [0.1, 0.3, 0.5, 0.7, 0.9]

    /// Runs the comparison. `images` are planar `[3, S, S]` in [-1, 1] (use
    /// `Pipeline.prepareImage`); the two files must have the same sizes.
    public static func run(model a: Pipeline, reference b: Pipeline, images: [(name: String, image: [Float])],
                           steps: Int = 8, seed: UInt64 = 0, log: ((String) -> Void)? = nil) throws -> Report {
        guard a.config.tokenDim == b.config.tokenDim, a.config.latentShape == b.config.latentShape,
              a.config.imageSize == b.config.imageSize else {
            throw RuntimeError.invalidArgument("the model and the reference have different sizes")
        }
        guard !images.isEmpty else { throw RuntimeError.invalidArgument("no images to evaluate") }
        try Pipeline.checkSteps(steps)
        var timeA = 0.0, timeB = 0.0
        func timed<T>(_ acc: inout Double, _ body: () throws -> T) rethrows -> T {
            let (value, seconds) = try MonotonicClock.measure(body)
            acc += seconds
            return value
        }
        let noise = NoiseGenerator.gaussian(count: a.config.latentCount, seed: seed, stream: .decoder)
        let s = a.config.imageSize
        var results: [ImageResult] = []
        var velocity: [(Float, Double)] = []
        var vaePSNR = 0.0
        for (index, item) in images.enumerated() {
            log?("image \(item.name)")
            // Tokens.
            let tokenA = try timed(&timeA) { try a.encode(image: item.image) }
            let tokenB = try timed(&timeB) { try b.encode(image: item.image) }
            // Reconstructions with the same noise.
            let latentB = try timed(&timeB) { try b.decodeLatent(token: tokenB, noise: noise, steps: steps) }
            let imageB = try timed(&timeB) { try b.vaeDecode(latent: latentB) }
            let imageA = try timed(&timeA) { try a.decode(token: tokenA, noise: noise, steps: steps) }
            results.append(ImageResult(name: item.name, tokenCosine: Metrics.cosine(tokenA, tokenB),
                                       reconstructionPSNR: Metrics.psnr(imageA, imageB),
                                       reconstructionSSIM: Metrics.ssim(imageA, imageB, channels: 3, height: s, width: s),
                                       modelVsInputPSNR: Metrics.psnr(imageA, item.image),
                                       referenceVsInputPSNR: Metrics.psnr(imageB, item.image)))
            guard index == 0 else { continue }
            // Decoder velocity along B's path, conditioned on B's token.
            for t in velocityTimes {
                let zt = zip(noise, latentB).map { t * $0 + (1 - t) * $1 }
                let vA = try timed(&timeA) { try a.decoderVelocity(latent: zt, t: t, token: tokenB) }
                let vB = try timed(&timeB) { try b.decoderVelocity(latent: zt, t: t, token: tokenB) }
                velocity.append((t, Metrics.relativeL2(vA, vB)))
            }
            // VAE alone on B's latent.
            let vaeA = try timed(&timeA) { try a.vaeDecode(latent: latentB) }
            vaePSNR = Metrics.psnr(vaeA, imageB)
        }
        return Report(steps: steps, seed: seed, images: results, velocity: velocity.map { (t: $0.0, relativeL2: $0.1) },
                      vaePSNR: vaePSNR, secondsModel: timeA, secondsReference: timeB)
    }

    /// A deterministic RGB8 test card `[size, size, 3]` (interleaved): smooth colour gradients,
    /// eight colour bars, a gray ramp, a checkerboard and a disc, so that flat areas, edges and
    /// fine texture all appear.
    public static func testCard(size: Int) -> [UInt8] {
        precondition(size >= 1)
        var out = [UInt8](repeating: 0, count: size * size * 3)
        let bars: [(UInt8, UInt8, UInt8)] = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
                                             (255, 0, 255), (255, 0, 0), (0, 0, 255), (16, 16, 16)]
        let n = Double(size)
        for y in 0 ..< size {
            for x in 0 ..< size {
                let fx = Double(x) / n, fy = Double(y) / n
                var rgb: (Double, Double, Double)
                if fy < 0.25 {
                    let b = bars[min(Int(fx * 8), 7)]                                  // colour bars
                    rgb = (Double(b.0), Double(b.1), Double(b.2))
                } else if fy < 0.35 {
                    rgb = (fx * 255, fx * 255, fx * 255)                               // gray ramp
                } else if fx < 0.5 {
                    rgb = (fx * 2 * 255, fy * 255, (1 - fy) * 255)                     // gradients
                } else {
                    let check = ((x * 16 / size) + (y * 16 / size)) % 2 == 0           // checkerboard
                    rgb = check ? (230, 230, 230) : (30, 30, 30)
                }
                let dx = fx - 0.3, dy = fy - 0.7
                if dx * dx + dy * dy < 0.15 * 0.15 { rgb = (220, 120, 40) }            // disc
                let o = (y * size + x) * 3
                out[o] = UInt8(rgb.0.rounded())
                out[o + 1] = UInt8(rgb.1.rounded())
                out[o + 2] = UInt8(rgb.2.rounded())
            }
        }
        return out
    }
}
