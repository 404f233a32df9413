// The RepTok pipeline: encode, decode, generate, interpolate — all from one converted GGUF file.
import Formats
import Foundation
import Kernels
import ModelFile

/// Options of a `Pipeline`.
public struct PipelineOptions {
    /// Worker threads; nil = online cores. Results are bit-identical for any thread count.
    public var threads: Int?
    /// Matrix mode for int8 weights (`.w8a32` default; `.w8a8` quantizes activations per row).
    /// Float files ignore it.
    public var mode: MatrixMode
    /// Release a stage's weight pages after it ran (and drop the VAE's large scratch buffers and
    /// the repacked weights of the encoder, generator and decoder, rebuilt when they pay again).
    public var lowMemory: Bool
    /// Kernel instruction level; nil = `ISA.active` (`REPTOK_ISA`, else the CPU's best).
    /// Must be one the CPU supports (`ISA.resolve` checks a user's choice).
    public var isa: ISA?

    public init(threads: Int? = nil, mode: MatrixMode = .w8a32, lowMemory: Bool = false, isa: ISA? = nil) {
        self.threads = threads
        self.mode = mode
        self.lowMemory = lowMemory
        self.isa = isa
    }
}

/// Progress callback: `component` is `.encoder`, `.generator`, `.decoder` or `.vae` (its `activity`
/// names it for people: encode, generate, decode, vae); `step` counts velocity evaluations
/// (1 … total) of that component. Return `false` to cancel: the call then throws
/// `RuntimeError.cancelled`.
public typealias ProgressHandler = (_ component: Component, _ step: Int, _ total: Int) -> Bool

/// How `Pipeline.interpolate` mixes two tokens.
public enum InterpolationMode: String, CaseIterable, Sendable {
    /// `(1−α)a + αb` (what the paper shows).
    case lerp
    /// Spherical on the directions, linear on the norms (see `Pipeline.interpolate`).
    case slerp
}

/// Runs every RepTok model of one converted file (docs/model.md).
///
/// Construction reads and checks all metadata and every tensor's name, type and shape; nothing is
/// computed before that succeeds. Weights stay in the memory map (int8 is used in place; f16 is
/// widened to float32 once). Scratch buffers are allocated once; the sampling loops allocate
/// nothing. A `Pipeline` is not thread-safe: use one per thread (they can share nothing but the
/// file cache).
public final class Pipeline {
    /// Most steps a sampler takes (decoder or generator): the release uses 50, and a bound keeps
    /// a mistyped count from running for days or overflowing a Heun sampler's 2 × steps.
    public static let maxSteps = ModelConfig.maxSteps

    /// Sizes and sampling defaults from the file's metadata.
    public let config: ModelConfig
    /// Provenance from the metadata: `file`, `source.file`, `source.sha256`, `weights`,
    /// `converter.version`, `quant.scheme`, `format_version`.
    public let modelInfo: [String: String]
    /// The model's class names (`reptok.class_names`); nil when the file carries none.
    public let classNames: ClassNames?
    public let options: PipelineOptions

    let file: GGUFFile
    let loader: WeightLoader
    let ctx: ComputeContext
    let encoder: Encoder
    let adapter: Adapter
    let time: TimeConditioning
    let decoder: DecoderTransformer
    let vae: VAEDecoder
    let generator: Generator

    // Scratch, allocated once.
    let tokenIn: FloatBuffer                       // [C] token being decoded / generated
    let c: FloatBuffer                             // [W] adapter output
    let cond: FloatBuffer                          // [M] time conditioning
    let latent: FloatBuffer                        // [Cl, h, w] decoder state
    let velocityOut: FloatBuffer                   // [Cl, h, w] single velocity evaluations
    let image: FloatBuffer                         // [3, S, S]
    let decoderScratch: SamplerScratch             // [Cl·h·w] ×3
    let generatorScratch: SamplerScratch           // [C] ×3

    /// Opens `modelPath` and prepares every stage. Throws `GGUFError` for a damaged container and
    /// `RuntimeError` for a wrong architecture/version, missing or misshapen tensors.
    public init(modelPath: String, options: PipelineOptions = .init()) throws {
        self.options = options
        let file = try GGUFFile(path: modelPath)
        self.file = file
        let config = try ModelConfig.load(metadata: file.metadata, path: modelPath)
        self.config = config

        var info: [String: String] = ["file": (modelPath as NSString).lastPathComponent]
        for (key, name) in [("reptok.source.file", "source.file"), ("reptok.source.sha256", "source.sha256"),
                            ("reptok.weights", "weights"), ("reptok.converter.version", "converter.version"),
                            ("reptok.quant.scheme", "quant.scheme"), ("reptok.format_version", "format_version")] {
            if let v = file.metadata[key] { info[name] = v.string ?? v.description }
        }
        modelInfo = info
        do { classNames = try ClassNames.read(metadata: file.metadata, numClasses: config.numClasses, path: modelPath) } catch let e as ModelConfigError {
            throw RuntimeError.config(e)
        }

        let ctx = ComputeContext(threads: options.threads, isa: options.isa)
        self.ctx = ctx
        let loader = WeightLoader(file: file)
        self.loader = loader
        let mode = options.mode
        loader.component = .encoder
        encoder = try Encoder(loader: loader, config: config, mode: mode, ctx: ctx)
        loader.component = .adapter
        adapter = try Adapter(loader: loader, config: config, mode: mode, ctx: ctx)
        loader.component = .decoder
        time = try TimeConditioning(loader: loader, config: config, mode: mode, ctx: ctx)
        decoder = try DecoderTransformer(loader: loader, config: config, mode: mode, ctx: ctx)
        loader.component = .vae
        vae = try VAEDecoder(loader: loader, config: config, mode: mode, ctx: ctx)
        loader.component = .generator
        generator = try Generator(loader: loader, config: config, mode: mode, ctx: ctx)

        tokenIn = FloatBuffer(config.tokenDim)
        c = FloatBuffer(config.decoder.width)
        cond = FloatBuffer(config.mapping.width)
        latent = FloatBuffer(config.latentCount)
        velocityOut = FloatBuffer(config.latentCount)
        image = FloatBuffer(config.imageCount)
        decoderScratch = SamplerScratch(count: config.latentCount)
        generatorScratch = SamplerScratch(count: config.tokenDim)
    }

    /// Worker threads in use.
    public var threads: Int { ctx.threads }

    // MARK: - Checks

    private func check(_ values: [Float], _ expected: Int, _ what: String) throws {
        guard values.count == expected else { throw RuntimeError.badInputLength(what: what, expected: expected, actual: values.count) }
    }

    /// Throws `RuntimeError.invalidSteps` for a step count outside 1...`maxSteps`.
    static func checkSteps(_ steps: Int) throws {
        guard (1 ... Pipeline.maxSteps).contains(steps) else { throw RuntimeError.invalidSteps(steps) }
    }

    private func checkLabel(_ label: Int) throws {
        guard label >= 0, label < config.numClasses else { throw RuntimeError.labelOutOfRange(label: label, numClasses: config.numClasses) }
    }

    /// Calls `progress`, turning `false` into `RuntimeError.cancelled`.
    private func report(_ progress: ProgressHandler?, _ component: Component, _ step: Int, _ total: Int) throws {
        if let progress, !progress(component, step, total) { throw RuntimeError.cancelled }
    }

    /// With `lowMemory`: drops what `components` hold (`drop`), and the kernels' scratch.
    private func release(_ components: Component...) {
        guard options.lowMemory else { return }
        for c in components { drop(c) }
        ctx.releaseScratch()
    }

    /// Drops the pages of component `c`'s weights, and what it keeps beside them: the VAE's
    /// large scratch, the encoder's, generator's and decoder's repacked weights. All come back when used again.
    private func drop(_ c: Component) {
        loader.releasePages(of: c)
        switch c {
        case .vae: vae.dropScratch()
        case .encoder: encoder.releaseRepacked()
        case .generator: generator.releaseRepacked()
        case .decoder: decoder.releaseRepacked()
        default: break
        }
    }

    /// How many of component `c`'s products currently read weights repacked for this level
    /// (0 before they are built, after they are dropped, and where no copy pays).
    public func repackedProducts(_ c: Component) -> Int {
        switch c {
        case .encoder: return encoder.repackedCount
        case .generator: return generator.repackedCount
        case .decoder: return decoder.repackedCount
        default: return 0
        }
    }

    /// Drops the generator's weight pages from memory, whatever `lowMemory` says. The pages stay
    /// mapped and fault back in from the file if `generate` runs again (about 0.2 s for the
    /// release's 534 MB). Call it once every token of a batch is generated: the decoder and the
    /// VAE then run without the generator resident, which takes a release-size `generate` from
    /// about 1.44 GB to about 0.9 GB peak RSS at no cost in time.
    public func releaseGeneratorWeights() { drop(.generator) }

    /// Drops the adapter's and decoder's weight pages from memory, whatever `lowMemory` says
    /// (they fault back in from the file if decoding runs again). Call it after the last
    /// `decodeLatent` of a batch, before its `vaeDecode`: the VAE, whose scratch buffers make it
    /// the peak of a `generate`, then runs without the decoder resident (321 MB of the int4 XL
    /// file, 0.55 GB of the int8 one).
    public func releaseDecoderWeights() {
        drop(.adapter)
        drop(.decoder)
    }

    // MARK: - Image preparation and encoding

    /// Interleaved RGB8 `[height, width, 3]` of any size → planar `[3, S, S]` in [-1, 1]
    /// (center crop, antialiased bicubic resize; see `ImagePrep`).
    public func prepareImage(rgb: [UInt8], width: Int, height: Int) -> [Float] {
        ImagePrep.prepare(rgb: rgb, width: width, height: height, size: config.imageSize)
    }

    /// Image `[3, S, S]` in [-1, 1] → RepTok token `[C]` (docs/model.md, 'Image preparation' step 3 and 'Encoder').
    public func encode(image: [Float]) throws -> [Float] {
        try encode(image: image, tap: nil)
    }

    /// `encode(image:)` that also hands intermediate tensors to `tap`: `enc_input` [3, E, E],
    /// `enc_pos_embed` [1+g², C], `enc_tokens_in` [T, C], `enc_block0_out` [T, C].
    public func encode(image: [Float], tap: TapHandler?, progress: ProgressHandler? = nil) throws -> [Float] {
        try check(image, config.imageCount, "image [3, \(config.imageSize), \(config.imageSize)]")
        let input = ImagePrep.encoderInput(image: image, size: config.imageSize, inputSize: config.encoder.inputSize)
        tap?("enc_input", input)
        let token = encoder.forward(input: input, tap: tap)
        release(.encoder)
        try report(progress, .encoder, 1, 1)
        return token
    }

    // MARK: - Decoder pieces

    /// Adapter output c `[W]` for a token `[C]` (docs/model.md, 'Adapter'; the trace's `x_extra`).
    public func conditioning(token: [Float]) throws -> [Float] {
        try check(token, config.tokenDim, "token")
        tokenIn.load(token)
        adapter.forward(token: tokenIn.p, out: c.p)
        return c.array()
    }

    /// Time conditioning cond(t) `[M]` (docs/model.md, 'Time conditioning'; the trace's `dec_cond_norm`).
    public func timeConditioning(t: Float) -> [Float] {
        time.forward(t: t, out: cond.p)
        return cond.array()
    }

    /// One decoder velocity v(z, t) `[Cl, h, w]` for latent `z` and `token` (docs/model.md, 'Decoder transformer').
    public func decoderVelocity(latent z: [Float], t: Float, token: [Float]) throws -> [Float] {
        try check(z, config.latentCount, "latent")
        try check(token, config.tokenDim, "token")
        tokenIn.load(token)
        adapter.forward(token: tokenIn.p, out: c.p)
        time.forward(t: t, out: cond.p)
        latent.load(z)
        decoder.velocity(z: latent.p, cond: cond.p, c: c.p, out: velocityOut.p)
        return velocityOut.array()
    }

    /// Integrates the decoder flow from `noise` (t = 1) to a latent (t = 0) in `steps` steps.
    /// Euler is the reference (docs/model.md, 'Decoder transformer'); `.heun` uses 2·steps evaluations. Few-step decoding
    /// (4…16 steps) is supported: the result is a blurrier version of the 50-step image.
    public func decodeLatent(token: [Float], noise: [Float], steps: Int, sampler: Sampler = .euler,
                             progress: ProgressHandler? = nil) throws -> [Float] {
        try check(token, config.tokenDim, "token")
        try check(noise, config.latentCount, "noise")
        try Pipeline.checkSteps(steps)
        // 1. c = adapter(token), fixed for the whole loop.
        tokenIn.load(token)
        adapter.forward(token: tokenIn.p, out: c.p)
        // 2. z = noise
        latent.load(noise)
        // 3. Integrate; each evaluation recomputes cond(t) then v(z, t).
        let scheduler: FlowScheduler = sampler == .euler ? DecoderEuler() : DecoderHeun()
        let total = scheduler.evaluations(steps: steps)
        let time = self.time, decoder = self.decoder, condP = cond.p, cP = c.p
        try scheduler.integrate(latent.p, steps: steps, scratch: decoderScratch,
                                velocity: { z, t, out in
                                    time.forward(t: t, out: condP)
                                    decoder.velocity(z: z, cond: condP, c: cP, out: out)
                                },
                                progress: { try self.report(progress, .decoder, $0, total) })
        release(.adapter, .decoder)
        return latent.array()
    }

    /// SD-VAE decoder: latent `[Cl, h, w]` → image `[3, S, S]` in ≈[-1, 1] (docs/model.md, 'VAE decoder').
    public func vaeDecode(latent z: [Float], progress: ProgressHandler? = nil) throws -> [Float] {
        try check(z, config.latentCount, "latent")
        latent.load(z)
        vae.decode(latent: latent.p, out: image.p)
        release(.vae)
        try report(progress, .vae, 1, 1)
        return image.array()
    }

    /// token `[C]` → image `[3, S, S]` ≈[-1, 1], starting from decoder-stream noise of `seed`
    /// (`NoiseGenerator(seed:stream: .decoder)`).
    public func decode(token: [Float], seed: UInt64, steps: Int, sampler: Sampler = .euler,
                       progress: ProgressHandler? = nil) throws -> [Float] {
        let noise = NoiseGenerator.gaussian(count: config.latentCount, seed: seed, stream: .decoder)
        return try decode(token: token, noise: noise, steps: steps, sampler: sampler, progress: progress)
    }

    /// token `[C]` → image `[3, S, S]` ≈[-1, 1], starting from the given latent `noise` `[Cl, h, w]`.
    public func decode(token: [Float], noise: [Float], steps: Int, sampler: Sampler = .euler,
                       progress: ProgressHandler? = nil) throws -> [Float] {
        let z = try decodeLatent(token: token, noise: noise, steps: steps, sampler: sampler, progress: progress)
        return try vaeDecode(latent: z, progress: progress)
    }

    // MARK: - Generator

    /// One generator velocity at token `x` `[C]`, time t, for `label`; guided with scale `cfgScale`
    /// when given (`v_u + s(v_c − v_u)`, v_u with the unconditional row K), else conditional.
    public func generatorVelocity(x: [Float], t: Float, label: Int, cfgScale: Float? = nil) throws -> [Float] {
        try check(x, config.tokenDim, "generator input")
        try checkLabel(label)
        tokenIn.load(x)
        var out = [Float](repeating: 0, count: config.tokenDim)
        out.withUnsafeMutableBufferPointer { o in
            if let to = o.baseAddress { generator.velocity(x: tokenIn.p, t: t, label: label, guidance: cfgScale, out: to) }
        }
        return out
    }

    /// Class `label` → token `[C]`, from generator-stream noise of `seed`
    /// (`NoiseGenerator(seed:stream: .generator)`). Euler t: 0 → 1 with guidance `cfgScale` inside
    /// `interval` (docs/model.md, 'Generator').
    public func generate(label: Int, seed: UInt64, steps: Int, cfgScale: Float, interval: ClosedRange<Float>,
                         progress: ProgressHandler? = nil) throws -> [Float] {
        let noise = NoiseGenerator.gaussian(count: config.tokenDim, seed: seed, stream: .generator)
        return try generate(label: label, noise: noise, steps: steps, cfgScale: cfgScale, interval: interval, progress: progress)
    }

    /// `generate` from an explicit noise token `[C]`.
    public func generate(label: Int, noise: [Float], steps: Int, cfgScale: Float, interval: ClosedRange<Float>,
                         progress: ProgressHandler? = nil) throws -> [Float] {
        try check(noise, config.tokenDim, "generator noise")
        try checkLabel(label)
        try Pipeline.checkSteps(steps)
        guard cfgScale.isFinite else { throw RuntimeError.invalidArgument("cfg scale \(cfgScale) is not finite") }
        tokenIn.load(noise)
        let generator = self.generator
        let scheduler = GeneratorEuler()
        try scheduler.integrate(tokenIn.p, steps: steps, scratch: generatorScratch,
                                velocity: { x, t, out in
                                    let guided = GeneratorEuler.usesGuidance(t: t, interval: interval)
                                    generator.velocity(x: x, t: t, label: label, guidance: guided ? cfgScale : nil, out: out)
                                },
                                progress: { try self.report(progress, .generator, $0, steps) })
        release(.generator)
        return tokenIn.array()
    }

    /// Runs a resolved request (`GenerateRequest.resolved(for:)`): draws every image's class and
    /// noise (`.reptok`: image i from seed + i; `.torch`: one `TorchBatchNoise` for the batch),
    /// generates every token, drops the generator's weights (`releaseGeneratorWeights`), then
    /// decodes each token to a latent and pixels, dropping the decoder's weights before the last
    /// image's VAE (`releaseDecoderWeights`), so the VAE, the peak of memory, runs without them.
    /// `progress` sees every step of every stage and may cancel.
    public func generate(_ request: ResolvedGenerateRequest, progress: ProgressHandler? = nil) throws -> GeneratedImages {
        let count = request.count, seed = request.seed
        let labelsGiven: [Int]?
        if case .labels(let labels) = request.classes { labelsGiven = labels } else { labelsGiven = nil }
        let torch = request.rng == .torch
            ? TorchBatchNoise(config: config, count: count, seed: seed, randomClasses: labelsGiven == nil, decoderSeed: request.decoderSeed)
            : nil
        let labels: [Int] = (0 ..< count).map { i in
            if let given = labelsGiven { return given.count == 1 ? given[0] : given[i] }
            return torch?.labels?[i] ?? NoiseGenerator.label(seed: seed + UInt64(i), classes: config.numClasses)
        }
        var tokens: [[Float]] = []
        for i in 0 ..< count {
            let noise = torch?.generator[i] ?? NoiseGenerator.gaussian(count: config.tokenDim, seed: seed + UInt64(i), stream: .generator)
            tokens.append(try generate(label: labels[i], noise: noise, steps: request.generatorSteps, cfgScale: request.cfgScale,
                                       interval: request.cfgInterval, progress: progress))
        }
        releaseGeneratorWeights()
        var images: [[UInt8]] = [], finite = true
        for (i, token) in tokens.enumerated() {
            let noise = torch?.decoder[i] ?? NoiseGenerator.gaussian(count: config.latentCount, seed: seed + UInt64(i), stream: .decoder)
            let latent = try decodeLatent(token: token, noise: noise, steps: request.decoderSteps, sampler: request.sampler,
                                          progress: progress)
            if i == count - 1 { releaseDecoderWeights() }
            let image = try vaeDecode(latent: latent, progress: progress)
            finite = finite && image.allSatisfy(\.isFinite)
            images.append(Pipeline.toRGB8(image, size: config.imageSize))
        }
        return GeneratedImages(labels: labels, images: images, size: config.imageSize, allFinite: finite)
    }

    // MARK: - Interpolation and output

    /// `frames` tokens from `a` to `b` (both included when frames ≥ 2; α_i = i/(frames−1)).
    /// - `.lerp`: `(1−α)a + αb`.
    /// - `.slerp`: direction `sin((1−α)Ω)/sin Ω · â + sin(αΩ)/sin Ω · b̂` (Ω the angle between
    ///   them; plain lerp of directions when Ω < 1e-4), times the norm `(1−α)|a| + α|b|`.
    /// Precondition: equal lengths, frames ≥ 1.
    public static func interpolate(_ a: [Float], _ b: [Float], frames: Int, mode: InterpolationMode) -> [[Float]] {
        precondition(a.count == b.count && frames >= 1, "interpolate: lengths \(a.count)/\(b.count), frames \(frames)")
        if frames == 1 { return [a] }
        let na = a.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        let nb = b.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        var dot = 0.0
        for i in a.indices { dot += Double(a[i]) * Double(b[i]) }
        let cosine = na > 0 && nb > 0 ? min(max(dot / (na * nb), -1), 1) : 1
        let omega = acos(cosine)
        return (0 ..< frames).map { f in
            let alpha = Double(f) / Double(frames - 1)
            switch mode {
            case .lerp:
                return a.indices.map { Float((1 - alpha) * Double(a[$0]) + alpha * Double(b[$0])) }
            case .slerp:
                guard na > 0, nb > 0 else { return a.indices.map { Float((1 - alpha) * Double(a[$0]) + alpha * Double(b[$0])) } }
                let (wa, wb): (Double, Double) = omega < 1e-4 ? (1 - alpha, alpha)
                    : (sin((1 - alpha) * omega) / sin(omega), sin(alpha * omega) / sin(omega))
                let dir = a.indices.map { wa * Double(a[$0]) / na + wb * Double(b[$0]) / nb }
                let dn = dir.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let norm = (1 - alpha) * na + alpha * nb
                return dir.map { Float(dn > 0 ? $0 / dn * norm : 0) }
            }
        }
    }

    /// Planar `[3, size, size]` ≈[-1, 1] → interleaved RGB8 `[size, size, 3]`.
    /// `p = clamp(round(127.5·x + 127.5), 0, 255)`, rounding half away from zero (NaN → 0).
    /// The reference truncates instead; rounding is unbiased and at most ½ level from it.
    public static func toRGB8(_ image: [Float], size: Int) -> [UInt8] {
        precondition(image.count == 3 * size * size, "toRGB8: \(image.count) values for [3, \(size), \(size)]")
        let plane = size * size
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0 ..< plane {
            for c in 0 ..< 3 {
                let v = 127.5 * image[c * plane + i] + 127.5
                out[i * 3 + c] = v.isNaN ? 0 : UInt8(min(max(v.rounded(), 0), 255))
            }
        }
        return out
    }
}
