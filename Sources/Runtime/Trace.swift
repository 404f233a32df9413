// `reptok trace`: every reference tensor of a fixture (docs/model.md, 'Reference fixtures'), computed by the runtime alone.
import Formats
import Foundation
import Support

/// Runs the runtime on the inputs of a golden file (fixture format, docs/model.md, 'Reference fixtures') and returns the
/// outputs under the golden names, in float32.
///
/// Inputs read: `image_u8`, `token` (golden, see below), `dec_noise`, `dec_t`, `dec_steps`,
/// `vae_latent_in`, `gen_noise`, `gen_labels`, `gen_steps`, `e2e_noise`.
///
/// Outputs: `enc_input`, `enc_pos_embed`, `enc_tokens_in`, `enc_block0_out`, `token`, `x_extra`,
/// `dec_cond_norm`, `dec_velocity`, `dec_latent`, `dec_image`, `vae_image_out`,
/// `gen_velocity_cond`, `gen_velocity_cfg`, `gen_tokens`, `e2e_image`.
/// - `dec_velocity` and `dec_latent` (hence `dec_image`) are conditioned on the **golden**
///   `token`, so an encoder error does not hide a decoder error.
/// - `e2e_image` decodes the runtime's **own** `gen_tokens[0]` from `e2e_noise`.
/// - `x_extra` is the adapter applied to the runtime's own token.
/// - Guided quantities use the file's `reptok.sample.cfg_scale` and `t_interval` (1.5, [0.3, 0.9]
///   in every fixture); the single generator evaluations are at t = 0.5 (docs/model.md, 'Reference fixtures').
public enum Trace {
    /// One output tensor.
    public typealias Tensor = (name: String, shape: [Int], values: [Float])

    /// Reads the inputs from `inputs` and computes every output. `log` receives one line per stage.
    public static func run(pipeline p: Pipeline, inputs: SafeTensorsFile, log: ((String) -> Void)? = nil) throws -> [Tensor] {
        let cfg = p.config
        var out: [Tensor] = []
        func int(_ name: String) throws -> Int {
            guard let v = try inputs.int64s(name).first else { throw RuntimeError.invalidArgument("\(inputs.path): \(name) is empty") }
            return Int(v)
        }
        func timed<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
            let (r, seconds) = try MonotonicClock.measure(body)
            log?(String(format: "%@: %.2f s", what, seconds))
            return r
        }

        // The generator's inputs and both step counts, checked before any stage runs.
        let c = cfg.tokenDim
        let genNoise = try inputs.floats("gen_noise")
        let labels = try inputs.int64s("gen_labels").map { Int($0) }
        guard !labels.isEmpty else { throw RuntimeError.invalidArgument("\(inputs.path): gen_labels is empty") }
        guard genNoise.count == labels.count * c else {
            throw RuntimeError.badInputLength(what: "gen_noise", expected: labels.count * c, actual: genNoise.count)
        }
        let decSteps = try int("dec_steps"), genSteps = try int("gen_steps")
        for steps in [decSteps, genSteps] { try Pipeline.checkSteps(steps) }

        // 1. Encoder: image_u8 [3, H, W] → interleaved RGB8 → prepare → encode (with taps).
        let info = try inputs.info("image_u8")
        guard info.shape.count == 3, info.shape[0] == 3 else {
            throw RuntimeError.invalidArgument("\(inputs.path): image_u8 has shape \(info.shape), expected [3, H, W]")
        }
        let (h, w) = (info.shape[1], info.shape[2])
        let planar = try inputs.uint8s("image_u8")
        guard h >= 1, w >= 1, planar.count == 3 * h * w else {
            throw RuntimeError.invalidArgument("\(inputs.path): image_u8 has shape \(info.shape), expected [3, H, W] with H, W ≥ 1")
        }
        var rgb = [UInt8](repeating: 0, count: 3 * h * w)
        for i in 0 ..< h * w { for c in 0 ..< 3 { rgb[i * 3 + c] = planar[c * h * w + i] } }
        let image = p.prepareImage(rgb: rgb, width: w, height: h)
        let e = cfg.encoder
        let token = try timed("encode") {
            try p.encode(image: image, tap: { name, values in
                let shape: [Int]
                switch name {
                case "enc_input": shape = [3, e.inputSize, e.inputSize]
                case "enc_pos_embed": shape = [1 + e.grid * e.grid, e.width]
                default: shape = [e.tokens, e.width]
                }
                out.append((name, shape, values))
            })
        }
        out.append(("token", [e.width], token))

        // 2. Adapter and time conditioning.
        out.append(("x_extra", [1, cfg.decoder.width], try p.conditioning(token: token)))
        let t = try inputs.floats("dec_t").first ?? 0.7
        out.append(("dec_cond_norm", [cfg.mapping.width], p.timeConditioning(t: t)))

        // 3. Decoder on the golden token: one velocity, the Euler loop, then the VAE.
        let goldenToken = try inputs.floats("token")
        let decNoise = try inputs.floats("dec_noise")
        out.append(("dec_velocity", cfg.latentShape, try timed("decoder velocity") { try p.decoderVelocity(latent: decNoise, t: t, token: goldenToken) }))
        let decLatent = try timed("decoder \(decSteps) steps") { try p.decodeLatent(token: goldenToken, noise: decNoise, steps: decSteps) }
        out.append(("dec_latent", cfg.latentShape, decLatent))
        let imageShape = [3, cfg.imageSize, cfg.imageSize]
        out.append(("dec_image", imageShape, try timed("vae") { try p.vaeDecode(latent: decLatent) }))

        // 4. VAE on its own.
        out.append(("vae_image_out", imageShape, try p.vaeDecode(latent: try inputs.floats("vae_latent_in"))))

        // 5. Generator: single evaluations at t = 0.5, then the guided loop, per sample.
        let s = cfg.sampling
        var vCond: [Float] = [], vCfg: [Float] = [], tokens: [Float] = []
        try timed("generator") {
            for (i, label) in labels.enumerated() {
                let x = Array(genNoise[i * c ..< (i + 1) * c])
                vCond += try p.generatorVelocity(x: x, t: 0.5, label: label)
                vCfg += try p.generatorVelocity(x: x, t: 0.5, label: label, cfgScale: s.cfgScale)
                tokens += try p.generate(label: label, noise: x, steps: genSteps, cfgScale: s.cfgScale, interval: s.tInterval)
            }
        }
        let genShape = [labels.count, 1, c]
        out.append(("gen_velocity_cond", genShape, vCond))
        out.append(("gen_velocity_cfg", genShape, vCfg))
        out.append(("gen_tokens", genShape, tokens))

        // 6. End to end: the runtime's own gen_tokens[0], decoded from e2e_noise.
        let e2e = try timed("end to end") {
            try p.decode(token: Array(tokens[0 ..< c]), noise: try inputs.floats("e2e_noise"), steps: decSteps)
        }
        out.append(("e2e_image", imageShape, e2e))
        return out
    }
}
