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

    @Option(name: .long, help: "Generator steps, \(stepRange) (default: the model's, 50 for the release).")
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
        try checkOption("--gen-steps", genSteps, in: stepRange)
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
        if decoderSeed != nil, decoder.rng != .torch { throw ValidationError("--decoder-seed needs --rng torch") }
        if let seed = decoder.seed, decoder.rng == .reptok, count > 1, seed > UInt64.max - UInt64(count - 1) {
            throw ValidationError("--seed \(seed) + --count \(count) overflows 64 bits")
        }
    }

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        let count = imageCount
        // 1. Outputs must be writable before any work.
        // the name that gets numbered must itself be a file name: "" or a folder would become
        // files named after the folder
        if count > 1 && !grid { try checkOutputs([output.output]) }
        let paths = count == 1 || grid ? [output.output] : (0..<count).map { numberedPath(output.output, index: $0, count: count) }
        try checkOutputs(paths, keeping: common.modelToKeep)
        // 2. Model, then the classes (their range depends on the model), then the request with the
        //    model's defaults filled in.
        let pipeline = try common.loadPipeline(timer)
        let modelPath = try common.resolvedModelPath()
        try checkSheetSize(count: count, side: pipeline.config.imageSize)
        let given = randomClasses ? nil : try classItems.map { try resolveClass($0, pipeline: pipeline, modelPath: modelPath) }
        let request: ResolvedGenerateRequest
        do {
            request = try GenerateRequest(
                classes: given.map { .labels($0.map(\.index)) } ?? .random, count: count, seed: decoder.seed,
                rng: decoder.rng, decoderSeed: decoderSeed, generatorSteps: genSteps, decoderSteps: decoder.steps,
                cfgScale: cfg, cfgInterval: try cfgInterval.map(parseInterval), sampler: decoder.sampler
            ).resolved(for: pipeline)
        } catch { throw cliError(error) }

        // 3. Every token, then every image (nothing is written if any step fails).
        timer.mark()
        let generated = try pipeline.generate(request, progress: timer.handler)
        guard generated.allFinite else { throw CLIError(nonFiniteImage) }
        let images = try generated.images.map { try RGBImage(width: generated.size, height: generated.size, pixels: $0) }
        try timer.measure("write") {
            try write(images, labels: generated.labels, request: request, to: paths, pipeline: pipeline, modelPath: modelPath)
        }
        let what = paths.count == 1 ? output.output : "\(paths[0]) … \(paths[paths.count - 1])"
        timer.summary("generated \(count) image\(count == 1 ? "" : "s") → \(what)", threads: pipeline.threads)
    }

    /// With `--grid`: the contact sheet must fit the output format, checked before any image
    /// is made (a sheet too tall for JPEG used to fail only after generating all of them).
    func checkSheetSize(count: Int, side: Int) throws {
        guard grid && count > 1 else { return }
        let columns = self.columns ?? Int(Double(count).squareRoot().rounded(.up))
        let size = RGBImage.gridSize(count: count, cellWidth: side, cellHeight: side, columns: columns)
        let format = ImageFormat(outputPath: output.output)
        guard max(size.width, size.height) <= format.maxSide else {
            throw CLIError("--grid of \(count) images of \(side) px in \(columns) columns is \(size.width)×\(size.height) pixels, more than \(format.rawValue.uppercased()) holds (\(format.maxSide) per side): give more --columns")
        }
    }

    /// Writes the images (one contact sheet with `--grid`), each with metadata whose settings and
    /// reproduce line come from the request that made it.
    func write(_ images: [RGBImage], labels: [Int], request: ResolvedGenerateRequest, to paths: [String],
               pipeline: Pipeline, modelPath: String) throws {
        let names = try classNames(of: pipeline, modelPath: modelPath)
        func classText(_ label: Int) -> String { names?.displayName(of: label).map { "\(label) (\($0))" } ?? "\(label)" }
        func metadata(classes: [Int], request: ResolvedGenerateRequest, outputOptions: [String] = []) -> String {
            var md = ImageMetadata(command: "generate", pipeline: pipeline, options: common)
            let sameForAll = classItems.count == 1 && !randomClasses
            md.add("class", (sameForAll ? classText(classes[0]) : classes.map(classText).joined(separator: ", "))
                   + (randomClasses ? " (random)" : ""))
            md.add(request.metadata)
            md.add("reproduce", request.reproduceLine(model: modelPath, outputOptions: outputOptions + output.reproduceOptions))
            return md.text
        }
        let count = images.count
        if grid && count > 1 {
            let columns = self.columns ?? Int(Double(count).squareRoot().rounded(.up))
            let sheet = try RGBImage.grid(images, columns: columns, gap: 2)
            let text = metadata(classes: labels, request: request, outputOptions: ["--grid", "--columns", "\(columns)"])
            let order = request.rng == .torch ? "batch order" : "seeds in order"
            try writeImage(sheet, to: paths[0], metadata: text + "\ngrid: \(columns) columns, row by row, \(order)", quality: output.quality)
            return
        }
        for (i, image) in images.enumerated() {
            // .torch: every file's reproduce line is the whole batch, the file image i of it.
            let note = request.rng == .torch && count > 1 ? "\nbatch-index: \(i) of 0...\(count - 1)" : ""
            let text = metadata(classes: [labels[i]], request: request.reproducing(image: i, label: labels[i]))
            try writeImage(image, to: paths[i], metadata: text + note, quality: output.quality)
        }
    }
}
