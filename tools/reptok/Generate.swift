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
        turns the token into a latent, and the VAE into pixels. Noise is splitmix64 + Box–Muller \
        (see Runtime.NoiseGenerator): the same command and seed give bit-identical files for any --threads. \
        Without --seed a random seed is chosen; it is stored in the image's metadata (`reptok inspect FILE`).
        With --count k, image i uses seed s+i and goes to OUT-000.png, OUT-001.png, … (or one contact sheet \
        with --grid).

        Examples: reptok generate --class 7 --seed 1 -o seven.png   (the default digits model)
                  reptok generate --model reptok-xl-int8.gguf --class "golden retriever" --seed 1 -o dog.png
        """)

    @Option(name: .long, help: ArgumentHelp("Class: index, or a name from the model's metadata (\"seven\"), or for a 1000-class model an ImageNet name (\"golden retriever\"); case-insensitive.", valueName: "N|NAME"))
    var `class`: String

    @Option(name: .long, help: "Number of images (seeds s, s+1, …).")
    var count: Int = 1

    @OptionGroup var decoder: DecoderOptions

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

    func validate() throws {
        if let genSteps, genSteps < 1 { throw ValidationError("--gen-steps must be at least 1 (got \(genSteps))") }
        guard (1...4096).contains(count) else { throw ValidationError("--count must be 1...4096 (got \(count))") }
        if let cfg, !cfg.isFinite { throw ValidationError("--cfg must be a finite number") }
        if let columns {
            guard grid else { throw ValidationError("--columns needs --grid") }
            guard (1...count).contains(columns) else { throw ValidationError("--columns must be 1...\(count) (the --count) (got \(columns))") }
        }
        if let cfgInterval { _ = try parseInterval(cfgInterval) }
        if let seed = decoder.seed, count > 1, seed > UInt64.max - UInt64(count - 1) {
            throw ValidationError("--seed \(seed) + --count \(count) overflows 64 bits")
        }
    }

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        // 1. Outputs must be writable before any work.
        let paths = count == 1 || grid ? [output.output] : (0..<count).map { numberedPath(output.output, index: $0, count: count) }
        try checkOutputs(paths)
        // 2. Model, then the class (its range depends on the model).
        let pipeline = try common.loadPipeline(timer)
        let config = pipeline.config
        let modelPath = try common.resolvedModelPath()
        let (label, className) = try resolveClass(self.class, pipeline: pipeline, modelPath: modelPath)
        let genSteps = self.genSteps ?? config.sampling.numSteps
        let cfg = self.cfg ?? config.sampling.cfgScale
        let interval = try cfgInterval.map(parseInterval) ?? config.sampling.tInterval
        let (decSteps, sampler, firstSeed) = decoder.resolve(pipeline)

        // 3. Generate every token first, then drop the generator's weights from memory so the
        //    decoder and VAE run without them; then decode every image and write them all
        //    (nothing is written if any step fails).
        var tokens: [[Float]] = []
        for i in 0..<count {
            timer.mark()
            tokens.append(try pipeline.generate(label: label, seed: firstSeed + UInt64(i), steps: genSteps,
                                                cfgScale: cfg, interval: interval, progress: timer.handler))
        }
        pipeline.releaseGeneratorWeights()
        var images: [RGBImage] = []
        for (i, token) in tokens.enumerated() {
            timer.mark()
            let image = try pipeline.decode(token: token, seed: firstSeed + UInt64(i), steps: decSteps,
                                            sampler: sampler, progress: timer.handler)
            images.append(try rgbImage(image, size: config.imageSize))
        }

        func metadata(seedText: String, extra: [String]) -> String {
            var md = ImageMetadata(command: "generate", pipeline: pipeline, options: common)
            md.add("class", className.map { "\(label) (\($0))" } ?? "\(label)")
            md.add("seed", seedText)
            md.add("gen-steps", "\(genSteps)")
            md.add("steps", "\(decSteps)")
            md.add("cfg", formatFloat(cfg))
            md.add("cfg-interval", "\(formatFloat(interval.lowerBound)),\(formatFloat(interval.upperBound))")
            md.add("sampler", sampler.rawValue)
            let args = ["reptok", "generate", "--model", pipeline.modelInfo["file"] ?? modelPath, "--class", "\(label)"] + extra
                + ["--gen-steps", "\(genSteps)", "--steps", "\(decSteps)", "--cfg", formatFloat(cfg),
                   "--cfg-interval", "\(formatFloat(interval.lowerBound)),\(formatFloat(interval.upperBound))",
                   "--sampler", sampler.rawValue, "--compute", common.compute]
            md.add("reproduce", args.map(shellQuote).joined(separator: " ") + " -o OUT")
            return md.text
        }

        try timer.measure("write") {
            if grid && count > 1 {
                let columns = self.columns ?? Int(Double(count).squareRoot().rounded(.up))
                let sheet = try RGBImage.grid(images, columns: columns, gap: 2)
                let seeds = "\(firstSeed)...\(firstSeed + UInt64(count - 1))"
                try writeImage(sheet, to: paths[0], metadata: metadata(seedText: seeds, extra: ["--seed", "\(firstSeed)", "--count", "\(count)", "--grid", "--columns", "\(columns)"]) + "\ngrid: \(columns) columns, row by row, seeds in order", quality: output.quality)
            } else {
                for (i, image) in images.enumerated() {
                    let s = firstSeed + UInt64(i)
                    try writeImage(image, to: paths[i], metadata: metadata(seedText: "\(s)", extra: ["--seed", "\(s)"]), quality: output.quality)
                }
            }
        }
        let what = paths.count == 1 ? paths[0] : "\(paths.first!) … \(paths.last!)"
        timer.summary("generated \(count) image\(count == 1 ? "" : "s") → \(what)", threads: pipeline.threads)
    }
}
