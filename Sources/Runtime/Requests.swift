// What to sample, as one value: the request of `generate` and of the commands that decode a token,
// each optional field filled from the model file's defaults by `resolved(for:)`. The resolved value
// is what runs, and it also writes the image metadata and the `reptok` command line that runs it
// again, so the three cannot disagree.
import Foundation

/// Which classes a generate request draws.
public enum ClassSelection: Codable, Equatable, Sendable {
    /// Class indices: one for every image, or one per image (then as many as images).
    case labels([Int])
    /// Classes drawn from the seed: with `NoiseRNG.reptok` image i's from seed + i's class stream
    /// (`NoiseGenerator.label`), with `.torch` by `randint` at the start of the batch's stream.
    case random
}

/// The settings of decoding one token to an image (`reconstruct`, `decode`, `interpolate`); nil
/// fields take their defaults in `resolved(for:)`.
public struct DecodeRequest: Codable, Equatable, Sendable {
    /// Seed of the decoder noise; nil: a random one, chosen once by `resolved(for:)` (and recorded).
    public var seed: UInt64?
    /// Decoder steps; nil: the file's `reptok.sample.num_steps`.
    public var steps: Int?
    /// nil: `.euler`.
    public var sampler: Sampler?
    /// nil: `.reptok`.
    public var rng: NoiseRNG?

    public init(seed: UInt64? = nil, steps: Int? = nil, sampler: Sampler? = nil, rng: NoiseRNG? = nil) {
        self.seed = seed
        self.steps = steps
        self.sampler = sampler
        self.rng = rng
    }

    /// Every field given: the file's default steps, a random seed where none was given.
    /// Throws `RuntimeError.invalidSteps` for steps outside 1...`Pipeline.maxSteps`.
    public func resolved(for pipeline: Pipeline) throws -> ResolvedDecodeRequest {
        let steps = self.steps ?? pipeline.config.sampling.numSteps
        try Pipeline.checkSteps(steps)
        return ResolvedDecodeRequest(seed: seed ?? randomSeed(), steps: steps, sampler: sampler ?? .euler, rng: rng ?? .reptok)
    }
}

/// A `DecodeRequest` with every field given.
public struct ResolvedDecodeRequest: Codable, Equatable, Sendable {
    public let seed: UInt64
    public let steps: Int
    public let sampler: Sampler
    public let rng: NoiseRNG

    /// The decoder noise `[Cl, h, w]` of one image: our decoder stream of `seed`, or
    /// `torch.manual_seed(seed); torch.randn(1, Cl, h, w)`.
    public func noise(for pipeline: Pipeline) -> [Float] {
        switch rng {
        case .reptok: return NoiseGenerator.gaussian(count: pipeline.config.latentCount, seed: seed, stream: .decoder)
        case .torch: return TorchNoise.decoderNoise(config: pipeline.config, count: 1, seed: seed)[0]
        }
    }

    /// Metadata lines `(key, value)`: rng, seed, steps, sampler.
    public var metadata: [(String, String)] {
        [("rng", rng.rawValue), ("seed", "\(seed)"), ("steps", "\(steps)"), ("sampler", sampler.rawValue)]
    }

    /// The options that ask for exactly this: `--rng R --seed S --steps N --sampler X`.
    public var arguments: [String] {
        ["--rng", rng.rawValue, "--seed", "\(seed)", "--steps", "\(steps)", "--sampler", sampler.rawValue]
    }
}

/// What `Pipeline.generate(_:progress:)` makes: `count` images of `classes`; nil fields take their
/// defaults in `resolved(for:)`, from the model file where it records one.
public struct GenerateRequest: Codable, Equatable, Sendable {
    public var classes: ClassSelection
    /// Images; nil: as many as `classes` lists, one for `.random`.
    public var count: Int?
    /// The first seed (image i of `.reptok` uses seed + i; `.torch` seeds the batch's stream);
    /// nil: a random one below 2³², chosen once by `resolved(for:)`.
    public var seed: UInt64?
    /// nil: `.reptok`.
    public var rng: NoiseRNG?
    /// `.torch` only: the decoder noise from `torch.manual_seed(decoderSeed)` instead of continuing
    /// the batch's stream.
    public var decoderSeed: UInt64?
    /// Generator Euler steps; nil: the file's `reptok.sample.num_steps`.
    public var generatorSteps: Int?
    /// Decoder steps; nil: the file's `reptok.sample.num_steps`.
    public var decoderSteps: Int?
    /// Classifier-free guidance scale; nil: the file's `reptok.sample.cfg_scale`.
    public var cfgScale: Float?
    /// Generator times where guidance applies; nil: the file's `reptok.sample.t_interval`.
    public var cfgInterval: ClosedRange<Float>?
    /// Decoder sampler; nil: `.euler`.
    public var sampler: Sampler?

    public init(classes: ClassSelection, count: Int? = nil, seed: UInt64? = nil, rng: NoiseRNG? = nil,
                decoderSeed: UInt64? = nil, generatorSteps: Int? = nil, decoderSteps: Int? = nil,
                cfgScale: Float? = nil, cfgInterval: ClosedRange<Float>? = nil, sampler: Sampler? = nil) {
        (self.classes, self.count, self.seed, self.rng, self.decoderSeed) = (classes, count, seed, rng, decoderSeed)
        (self.generatorSteps, self.decoderSteps, self.sampler) = (generatorSteps, decoderSteps, sampler)
        (self.cfgScale, self.cfgInterval) = (cfgScale, cfgInterval)
    }

    /// Every field given, for `pipeline`: the file's sampling defaults where a field is nil, a
    /// random seed where none was given. Throws `RuntimeError` for a class outside the model's
    /// range, a class list whose length is not the count, steps below 1, a guidance scale that is
    /// not finite, an interval outside [0, 1], a decoder seed without `.torch`, or `.reptok` seeds
    /// seed…seed + count − 1 past 2⁶⁴.
    public func resolved(for pipeline: Pipeline) throws -> ResolvedGenerateRequest {
        let defaults = pipeline.config.sampling
        let rng = self.rng ?? .reptok
        let count: Int
        switch classes {
        case .random:
            count = self.count ?? 1
        case .labels(let labels):
            count = self.count ?? labels.count
            guard !labels.isEmpty, labels.count == 1 || labels.count == count else {
                throw RuntimeError.invalidArgument("\(labels.count) classes given for \(count) images: give one per image, or one for all")
            }
            for label in labels where !(0 ..< pipeline.config.numClasses).contains(label) {
                throw RuntimeError.labelOutOfRange(label: label, numClasses: pipeline.config.numClasses)
            }
        }
        guard count >= 1 else { throw RuntimeError.invalidArgument("image count \(count) is invalid: need at least 1") }
        let generatorSteps = self.generatorSteps ?? defaults.numSteps, decoderSteps = self.decoderSteps ?? defaults.numSteps
        for steps in [generatorSteps, decoderSteps] { try Pipeline.checkSteps(steps) }
        let cfgScale = self.cfgScale ?? defaults.cfgScale
        guard cfgScale.isFinite else { throw RuntimeError.invalidArgument("cfg scale \(cfgScale) is not finite") }
        let interval = cfgInterval ?? defaults.tInterval
        guard interval.lowerBound >= 0, interval.upperBound <= 1 else {
            throw RuntimeError.invalidArgument("guidance interval \(interval) is not within 0...1")
        }
        if decoderSeed != nil, rng != .torch { throw RuntimeError.invalidArgument("a decoder seed needs the torch noise") }
        let seed = self.seed ?? randomSeed()
        if rng == .reptok, seed > UInt64.max - UInt64(count - 1) {
            throw RuntimeError.invalidArgument("seed \(seed) + \(count) images overflows 64 bits")
        }
        return ResolvedGenerateRequest(classes: classes, count: count, seed: seed, rng: rng, decoderSeed: decoderSeed,
                                       generatorSteps: generatorSteps, decoderSteps: decoderSteps, cfgScale: cfgScale,
                                       cfgInterval: interval, sampler: sampler ?? .euler,
                                       model: pipeline.modelInfo["file"] ?? "?", mode: pipeline.options.mode)
    }
}

/// A `GenerateRequest` with every field given, for one model file and matrix mode. Made by
/// `GenerateRequest.resolved(for:)`, which checked it against that file.
public struct ResolvedGenerateRequest: Equatable, Sendable {
    public private(set) var classes: ClassSelection
    public private(set) var count: Int
    public private(set) var seed: UInt64
    public private(set) var rng: NoiseRNG
    public private(set) var decoderSeed: UInt64?
    public private(set) var generatorSteps: Int
    public private(set) var decoderSteps: Int
    public private(set) var cfgScale: Float
    public private(set) var cfgInterval: ClosedRange<Float>
    public private(set) var sampler: Sampler
    /// The model file's name (`Pipeline.modelInfo["file"]`) and the matrix mode it runs in.
    public private(set) var model: String
    public private(set) var mode: MatrixMode

    /// The request with every field given: resolving it again (same file) gives this value back.
    public var request: GenerateRequest {
        GenerateRequest(classes: classes, count: count, seed: seed, rng: rng, decoderSeed: decoderSeed,
                        generatorSteps: generatorSteps, decoderSteps: decoderSteps, cfgScale: cfgScale,
                        cfgInterval: cfgInterval, sampler: sampler)
    }

    /// The request that makes image `index` (of class `label`) alone, bit for bit: with `.reptok`
    /// that image's own seed and class; with `.torch` the whole batch (the image depends on it).
    public func reproducing(image index: Int, label: Int) -> ResolvedGenerateRequest {
        guard rng == .reptok, count > 1 || classes == .random else { return self }
        var one = self
        (one.classes, one.count, one.seed) = (.labels([label]), 1, seed + UInt64(index))
        return one
    }

    /// Metadata lines `(key, value)`: rng, seed (the range seed…seed + count − 1 for a `.reptok`
    /// batch), decoder-seed, gen-steps, steps, cfg, cfg-interval, sampler.
    public var metadata: [(String, String)] {
        let seedText = rng == .reptok && count > 1 ? "\(seed)...\(seed + UInt64(count - 1))" : "\(seed)"
        return [("rng", rng.rawValue), ("seed", seedText)] + (decoderSeed.map { [("decoder-seed", "\($0)")] } ?? [])
            + [("gen-steps", "\(generatorSteps)"), ("steps", "\(decoderSteps)"), ("cfg", formatFloat(cfgScale)),
               ("cfg-interval", intervalText), ("sampler", sampler.rawValue)]
    }

    /// `lo,hi` as `--cfg-interval` takes it.
    var intervalText: String { "\(formatFloat(cfgInterval.lowerBound)),\(formatFloat(cfgInterval.upperBound))" }

    /// The `reptok generate` command line that runs exactly this request on the same file (named
    /// `model`, default its file name) into `OUT`, with `outputOptions` (e.g. `--grid`) before
    /// `-o OUT`. Numbers go as `--cfg=VALUE`, so that a negative one is not read as an option.
    public func reproduceLine(model: String? = nil, outputOptions: [String] = []) -> String {
        let model = model ?? self.model
        let classText: String
        switch classes {
        case .random: classText = "random"
        case .labels(let labels): classText = labels.map(String.init).joined(separator: ",")
        }
        var args = ["reptok", "generate", "--model", model, "--class", classText, "--rng", rng.rawValue, "--seed", "\(seed)"]
        if count > 1 { args += ["--count", "\(count)"] }
        if let decoderSeed { args += ["--decoder-seed", "\(decoderSeed)"] }
        args += ["--gen-steps", "\(generatorSteps)", "--steps", "\(decoderSteps)", "--cfg=" + formatFloat(cfgScale),
                 "--cfg-interval=" + intervalText, "--sampler", sampler.rawValue, "--compute", mode.rawValue]
        return commandLine(args + outputOptions)
    }
}

/// A command line for people and shells: every argument shell-quoted where needed, then `-o OUT`.
public func commandLine(_ arguments: [String]) -> String {
    arguments.map(shellQuote).joined(separator: " ") + " -o OUT"
}

/// Shell-quotes an argument when needed (single quotes; a quote inside becomes `'\''`).
/// Only ASCII letters, digits and `-_./,=:+@%` stay unquoted: every shell and locale reads
/// them alike.
public func shellQuote(_ s: String) -> String {
    let safe = s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_./,=:+@%".unicodeScalars.contains($0)) }
    return safe && !s.isEmpty ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// `Float` printed without trailing noise (1.5, 0.3; 2 for 2.0).
public func formatFloat(_ v: Float) -> String {
    let d = Double(v)
    return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(v)
}

/// A seed for a request that gave none: random below 2³², so people can type it again.
private func randomSeed() -> UInt64 { UInt64.random(in: 0 ..< (1 << 32)) }

/// The images of one `Pipeline.generate(_:progress:)`.
public struct GeneratedImages: Sendable {
    /// The class of each image (drawn ones included).
    public let labels: [Int]
    /// Each image as interleaved RGB8 `[size, size, 3]` (`Pipeline.toRGB8`).
    public let images: [[UInt8]]
    /// The side of every image, pixels.
    public let size: Int
    /// Whether every value the VAE produced was finite (before rounding to 8 bits, which maps NaN to 0).
    public let allFinite: Bool
}
