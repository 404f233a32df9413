import ArgumentParser
import Foundation
import ImageIO
import Runtime

/// `reptok generate`: class label → generator token → decoder → VAE → image(s).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images of a class (a digit with the default model, an ImageNet class with the release).",
        discussion: """
        The generator turns noise into a RepTok token (guided by --cfg inside --cfg-interval), the decoder \
        turns the token into a latent, and the VAE into pixels. With --rng reptok (the default) the noise is \
        splitmix64 + Box–Muller (see Runtime.NoiseGenerator) and image i of --count k uses seed s+i, so it \
        does not depend on k. With --rng torch the noise is PyTorch's, drawn as the official notebook draws \
        it for one batch of k images (see --rng). Either way the same command and seed give bit-identical \
        files for any --threads. Without --seed a random seed is chosen; it is stored in the image's metadata \
        (`reptok inspect FILE`). With --count k the images go to OUT-000.png, OUT-001.png, … (or one contact \
        sheet with --grid).

        Examples: reptok generate --class 7 --seed 1 -o seven.png   (the default digits model)
                  reptok generate --model reptok-xl-int8.gguf --class "golden retriever" --seed 1 -o dog.png
                  reptok generate --model reptok-xl-int8.gguf --rng torch --seed 42 --class random --count 16 --grid -o grid.png
        """)

    @Option(name: .long, help: ArgumentHelp("Class: index, or a name from the model's metadata (\"seven\"), or for a 1000-class model an ImageNet name (\"golden retriever\"); case-insensitive. A comma-separated list gives one class per image; `random` draws them (with --rng torch as the official notebook does).", valueName: "N|NAME|LIST|random"))
    var `class`: String

    @Option(name: .long, help: "Number of images (default: the length of the --class list, else 1).")
    var count: Int?

    @OptionGroup var decoder: DecoderOptions

    @Option(name: .long, help: "With --rng torch: draw the decoder noise from torch.manual_seed(S2) instead of continuing the --seed stream.")
    var decoderSeed: UInt64?

    @Option(name: .long, help: "Generator steps (default: the model's, 50 for the release).")
    var genSteps: Int?

    @Option(name: .long, help: "Classifier-free guidance scale (default: the model's, 1.5).")
    var cfg: Float?

    @Option(name: .long, help: ArgumentHelp("Generator time interval where guidance applies (default: the model's, 0.3,0.9).", valueName: "lo,hi"))
    var cfgInterval: String?

    @Flag(name: .long, help: "With --count: write one contact sheet instead of one file per image.")
    var grid = false

    @Option(name: .long, help: "With --grid: images per row (default: the smallest square that holds them).")
    var columns: Int?

    @OptionGroup var output: ImageOutputOptions
    @OptionGroup var common: ImageCommandOptions

    /// The `--class` items: "random", or one or more comma-separated classes.
    var classItems: [String] {
        self.class.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    var randomClasses: Bool { classItems == ["random"] }

    /// `--count`, else the length of the class list.
    var imageCount: Int { count ?? (randomClasses ? 1 : classItems.count) }

    func validate() throws {
        if let genSteps, genSteps < 1 { throw ValidationError("--gen-steps must be at least 1 (got \(genSteps))") }
        let count = imageCount
        guard (1...4096).contains(count) else { throw ValidationError("--count must be 1...4096 (got \(count))") }
        let items = classItems
        if items.contains(where: \.isEmpty) { throw ValidationError("--class has an empty item (got \"\(self.class)\")") }
        if items.count > 1 {
            if items.contains("random") { throw ValidationError("--class random cannot be part of a list") }
            guard items.count == count else {
                throw ValidationError("--class lists \(items.count) classes but --count is \(count); give one class per image, or one for all")
            }
        }
        if let cfg, !cfg.isFinite { throw ValidationError("--cfg must be a finite number") }
        if let columns {
            guard grid else { throw ValidationError("--columns needs --grid") }
            guard (1...count).contains(columns) else { throw ValidationError("--columns must be 1...\(count) (the --count) (got \(columns))") }
        }
        if let cfgInterval { _ = try parseInterval(cfgInterval) }
        if decoderSeed != nil, decoder.noiseRNG != .torch { throw ValidationError("--decoder-seed needs --rng torch") }
        if let seed = decoder.seed, decoder.noiseRNG == .reptok, count > 1, seed > UInt64.max - UInt64(count - 1) {
            throw ValidationError("--seed \(seed) + --count \(count) overflows 64 bits")
        }
    }

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        let count = imageCount
        let rng = decoder.noiseRNG
        // 1. Outputs must be writable before any work.
        let paths = count == 1 || grid ? [output.output] : (0..<count).map { numberedPath(output.output, index: $0, count: count) }
        try checkOutputs(paths)
        // 2. Model, then the classes (their range depends on the model).
        let pipeline = try common.loadPipeline(timer)
        let config = pipeline.config
        let modelPath = try common.resolvedModelPath()
        let given = randomClasses ? nil : try classItems.map { try resolveClass($0, pipeline: pipeline, modelPath: modelPath) }
        let genSteps = self.genSteps ?? config.sampling.numSteps
        let cfg = self.cfg ?? config.sampling.cfgScale
        let interval = try cfgInterval.map(parseInterval) ?? config.sampling.tInterval
        let (decSteps, sampler, firstSeed) = decoder.resolve(pipeline)

        // 3. The noise and the classes of every image.
        let torchNoise = rng == .torch
            ? TorchBatchNoise(config: config, count: count, seed: firstSeed, randomClasses: given == nil, decoderSeed: decoderSeed)
            : nil
        let labels: [Int] = (0..<count).map { i in
            if let given { return given.count == 1 ? given[0].index : given[i].index }
            if let drawn = torchNoise?.labels { return drawn[i] }
            return NoiseGenerator.label(seed: firstSeed + UInt64(i), classes: config.numClasses)
        }
        let names = try classNames(of: pipeline, modelPath: modelPath)
        func classText(_ label: Int) -> String { names?.displayName(of: label).map { "\(label) (\($0))" } ?? "\(label)" }

        // 4. Generate every token first, then drop the generator's weights from memory so the
        //    decoder and VAE run without them; then decode every image and write them all
        //    (nothing is written if any step fails).
        var tokens: [[Float]] = []
        for i in 0..<count {
            timer.mark()
            let noise = torchNoise?.generator[i]
                ?? NoiseGenerator.gaussian(count: config.tokenDim, seed: firstSeed + UInt64(i), stream: .generator)
            tokens.append(try pipeline.generate(label: labels[i], noise: noise, steps: genSteps,
                                                cfgScale: cfg, interval: interval, progress: timer.handler))
        }
        pipeline.releaseGeneratorWeights()
        var images: [RGBImage] = []
        for (i, token) in tokens.enumerated() {
            timer.mark()
            let noise = torchNoise?.decoder[i]
                ?? NoiseGenerator.gaussian(count: config.latentCount, seed: firstSeed + UInt64(i), stream: .decoder)
            let latent = try pipeline.decodeLatent(token: token, noise: noise, steps: decSteps, sampler: sampler,
                                                   progress: timer.handler)
            // the decoder is not needed again: the VAE (the peak of memory) runs without it
            if i == tokens.count - 1 { pipeline.releaseDecoderWeights() }
            let image = try pipeline.vaeDecode(latent: latent, progress: timer.handler)
            images.append(try rgbImage(image, size: config.imageSize))
        }

        func metadata(classes: [Int], seedText: String, classArg: String, extra: [String]) -> String {
            var md = ImageMetadata(command: "generate", pipeline: pipeline, options: common)
            let sameForAll = given?.count == 1
            md.add("class", (sameForAll ? classText(classes[0]) : classes.map(classText).joined(separator: ", "))
                   + (randomClasses ? " (random)" : ""))
            md.add("rng", rng.rawValue)
            md.add("seed", seedText)
            if let decoderSeed { md.add("decoder-seed", "\(decoderSeed)") }
            md.add("gen-steps", "\(genSteps)")
            md.add("steps", "\(decSteps)")
            md.add("cfg", formatFloat(cfg))
            md.add("cfg-interval", "\(formatFloat(interval.lowerBound)),\(formatFloat(interval.upperBound))")
            md.add("sampler", sampler.rawValue)
            let args = ["reptok", "generate", "--model", pipeline.modelInfo["file"] ?? modelPath, "--class", classArg,
                        "--rng", rng.rawValue] + extra + (decoderSeed.map { ["--decoder-seed", "\($0)"] } ?? [])
                + ["--gen-steps", "\(genSteps)", "--steps", "\(decSteps)", "--cfg", formatFloat(cfg),
                   "--cfg-interval", "\(formatFloat(interval.lowerBound)),\(formatFloat(interval.upperBound))",
                   "--sampler", sampler.rawValue, "--compute", common.compute]
            md.add("reproduce", args.map(shellQuote).joined(separator: " ") + " -o OUT")
            return md.text
        }
        // The --class argument that redraws the same classes: `random` must stay `random` with
        // torch (the class draw is part of the stream); otherwise the resolved indices.
        let batchClassArg = randomClasses ? "random" : (given!.count == 1 ? "\(labels[0])" : labels.map(String.init).joined(separator: ","))

        try timer.measure("write") {
            if grid && count > 1 {
                let columns = self.columns ?? Int(Double(count).squareRoot().rounded(.up))
                let sheet = try RGBImage.grid(images, columns: columns, gap: 2)
                let seeds = rng == .torch ? "\(firstSeed)" : "\(firstSeed)...\(firstSeed + UInt64(count - 1))"
                let text = metadata(classes: labels, seedText: seeds, classArg: batchClassArg,
                                    extra: ["--seed", "\(firstSeed)", "--count", "\(count)", "--grid", "--columns", "\(columns)"])
                let order = rng == .torch ? "batch order" : "seeds in order"
                try writeImage(sheet, to: paths[0], metadata: text + "\ngrid: \(columns) columns, row by row, \(order)", quality: output.quality)
            } else if rng == .torch {
                // One batch: every file's reproduce line is the whole batch; the file is image i of it.
                for (i, image) in images.enumerated() {
                    let text = metadata(classes: [labels[i]], seedText: "\(firstSeed)", classArg: batchClassArg,
                                        extra: ["--seed", "\(firstSeed)"] + (count > 1 ? ["--count", "\(count)"] : []))
                    let note = count > 1 ? "\nbatch-index: \(i) of 0...\(count - 1)" : ""
                    try writeImage(image, to: paths[i], metadata: text + note, quality: output.quality)
                }
            } else {
                for (i, image) in images.enumerated() {
                    let s = firstSeed + UInt64(i)
                    try writeImage(image, to: paths[i], metadata: metadata(classes: [labels[i]], seedText: "\(s)", classArg: "\(labels[i])", extra: ["--seed", "\(s)"]), quality: output.quality)
                }
            }
        }
        let what = paths.count == 1 ? paths[0] : "\(paths.first!) … \(paths.last!)"
        timer.summary("generated \(count) image\(count == 1 ? "" : "s") → \(what)", threads: pipeline.threads)
    }
}
