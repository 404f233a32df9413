import ArgumentParser
import Foundation
import ImageIO
import Kernels
import ModelFile
import Runtime
import Support
#if canImport(Glibc)
import Glibc
#endif

// Shared pieces of the image commands (generate, reconstruct, interpolate, encode, decode):
// options, model and class-name lookup, output checks, progress bar, timing, metadata.

/// A command-line failure with a one-line message; the root command prints it and exits 2.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// The model file used when `--model` is not given.
let defaultModelName = "reptok-digits-int8.gguf"

/// Options every image command takes.
struct ImageCommandOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Converted model file (.gguf).",
        discussion: "Default: models/\(defaultModelName), looked up in the current folder first, then in ../../models relative to the reptok executable (the repository's models/ when run as .build/release/reptok). That file is the trained demo model: 32×32 handwritten digits, classes 0…9 (also zero…nine)."))
    var model: String?

    @Option(name: .long, help: ArgumentHelp(threadHelp + " Output is bit-identical for any count."))
    var threads: Int?

    @Option(name: .long, help: "Matrix mode for int8 and int4 weights: w8a32 (float activations) or w8a8.")
    var compute: MatrixMode = .w8a32

    @Flag(name: .long, help: "Release each stage's weight pages after use (lower peak memory, slower repeats).")
    var lowMemory = false

    @Flag(name: .shortAndLong, help: "No progress bar and no timing summary.")
    var quiet = false

    func validate() throws {
        try checkOption("--threads", threads, in: threadRange)
    }

    /// The model path: `--model` as given, or the default looked up as the help says.
    func resolvedModelPath() throws -> String {
        if let model {
            guard FileManager.default.fileExists(atPath: model) else { throw CLIError("\(model): no such model file") }
            return model
        }
        let candidates = ["models/\(defaultModelName)"] + executableRelative("../../models/\(defaultModelName)")
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        throw CLIError("no --model given and the default \(candidates.joined(separator: " / ")) does not exist")
    }

    /// The model file, when it can be found: an output must not overwrite it.
    var modelToKeep: [String] { (try? resolvedModelPath()).map { [$0] } ?? [] }

    /// Opens the model. Any container or model error becomes "not a RepTok model file".
    func loadPipeline(_ timer: StageTimer) throws -> Pipeline {
        let path = try resolvedModelPath()
        return try timer.measure("load") {
            do {
                return try Pipeline(modelPath: path, options: PipelineOptions(
                    threads: threads, mode: compute, lowMemory: lowMemory))
            } catch {
                throw CLIError("\(path) is not a usable RepTok model file: \(oneLine(error))")
            }
        }
    }
}

/// Output image options.
struct ImageOutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output image: PNG, or JPEG when the name ends in .jpg/.jpeg.")
    var output: String

    @Option(name: .long, help: "JPEG quality, 1...100.")
    var quality: Int = 92

    func validate() throws {
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100 (got \(quality))") }
    }

    /// What a reproduce line needs besides `-o`: `--quality N` for a JPEG output (its bytes
    /// depend on it), nothing for PNG.
    var reproduceOptions: [String] { ImageFormat(outputPath: output) == .jpeg ? ["--quality", "\(quality)"] : [] }
}

/// `relative` resolved against the running executable's folder, in two ways: the path it was
/// started by (`.build/release/reptok`, a symlinked folder) and its real path from /proc/self/exe
/// (`.build/<triple>/release/reptok`, one level deeper, so `../` is tried once more there).
func executableRelative(_ relative: String) -> [String] {
    var folders: [URL] = []
    let argv0 = CommandLine.arguments.first ?? ""
    if argv0.contains("/") {
        folders.append(URL(fileURLWithPath: argv0).deletingLastPathComponent())
    }
    if let exe = ResourceUsage.executablePath() {
        let real = URL(fileURLWithPath: exe).deletingLastPathComponent()
        folders.append(real)
        folders.append(real.appendingPathComponent(".."))
    }
    var seen = Set<String>()
    return folders.map { $0.appendingPathComponent(relative).standardizedFileURL.path }.filter { seen.insert($0).inserted }
}

/// First line of an error's description.
func oneLine(_ error: Error) -> String {
    String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
}

/// Turns ImageIO/Runtime errors into one-line CLI errors (they already name the file).
func cliError(_ error: Error) -> Error {
    if error is CLIError || error is ValidationError { return error }
    return CLIError(oneLine(error))
}

/// Reads an input image, mapping errors to one line.
func readImage(_ path: String) throws -> RGBImage {
    do { return try ImageFile.read(path) } catch { throw cliError(error) }
}

/// Checks every output path before any work (folder exists, a file can be created there),
/// and that none is one of `inputs` (the command's input files and model): writing it would
/// destroy what the command reads.
func checkOutputs(_ paths: [String], keeping inputs: [String] = []) throws {
    for path in paths {
        do { try AtomicFile.checkWritable(path) } catch { throw cliError(error) }
        if let input = inputs.first(where: { AtomicFile.sameFile(path, $0) }) {
            throw CLIError("output \(path) is the input \(input): writing it would destroy it; give another output name")
        }
    }
}

/// `out.png` with index 3 of 10 → `out-003.png` (at least 3 digits).
func numberedPath(_ path: String, index: Int, count: Int) -> String {
    let digits = max(3, String(count - 1).count)
    let number = String(repeating: "0", count: max(0, digits - String(index).count)) + String(index)
    let url = URL(fileURLWithPath: path)
    let ext = url.pathExtension
    let folder = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
    let stem = ext.isEmpty ? url.lastPathComponent : String(url.lastPathComponent.dropLast(ext.count + 1))
    return folder + stem + "-" + number + (ext.isEmpty ? "" : "." + ext)
}

/// `--steps`, `--seed`, `--sampler`, `--rng`: the options of every command that decodes a token.
struct DecoderOptions: ParsableArguments {
    @Option(name: .long, help: "Decoder steps, \(stepRange) (default: the model's, 50 for the release).")
    var steps: Int?

    @Option(name: .long, help: "Seed of the noise (default: random, recorded in the metadata).")
    var seed: UInt64?

    @Option(name: .long, help: "Decoder sampler: euler (the reference) or heun (2 evaluations per step).")
    var sampler: Sampler = .euler

    @Option(name: .long, help: ArgumentHelp(
        "Random numbers: reptok or torch (PyTorch's CPU generator in the official code's order: same seed, same noise as the official notebooks).",
        discussion: "With torch, --seed S is torch.manual_seed(S): generate draws the classes of --class random (randint), the generator noise randn(N, 1, C) and then the decoder noise randn(N, Cl, h, w) from that one stream for a batch of N = --count; reconstruct, decode and interpolate draw randn(1, Cl, h, w). reptok draws per image (image i of --count uses seed S+i, whatever N is). The metadata records the choice."))
    var rng: NoiseRNG = .reptok

    func validate() throws {
        try checkOption("--steps", steps, in: stepRange)
    }

    /// The options as a request; `resolved(for:)` fills in the model's defaults and a seed.
    var request: DecodeRequest { DecodeRequest(seed: seed, steps: steps, sampler: sampler, rng: rng) }
}

/// `request` resolved for `pipeline`, its errors as one line.
func resolve(_ request: DecodeRequest, _ pipeline: Pipeline) throws -> ResolvedDecodeRequest {
    do { return try request.resolved(for: pipeline) } catch { throw cliError(error) }
}

/// The metadata's `reproduce` line of a command that decodes: `reptok COMMAND INPUTS --model FILE
/// EXTRA --rng … --seed … --steps … --sampler … --compute MODE [--quality N] -o OUT`. Inputs and
/// the model are named as this run found them, so the line runs again from the same folder.
func reproduceLine(_ command: String, _ inputs: [String], model: String, _ pipeline: Pipeline,
                   _ request: ResolvedDecodeRequest, extra: [String] = [], output: ImageOutputOptions) -> String {
    // Built in typed steps: one chain of seven `+` makes Swift 6.0's type checker give up.
    var words: [String] = ["reptok", command] + inputs
    words += ["--model", model] + extra
    words += request.arguments
    words += ["--compute", pipeline.options.mode.rawValue]
    words += output.reproduceOptions
    return commandLine(words)
}

// MARK: - Class names

/// Class index from `--class N|NAME`: digits are an index, anything else a name. Names come
/// from the model's own metadata (`reptok.class_names`); a 1000-class model without them uses
/// `imagenet-classes.txt` (current folder's models/, the model's folder, then ../../models next
/// to the executable). Returns the index and its display name (nil when the model has no names).
func resolveClass(_ value: String, pipeline: Pipeline, modelPath: String?) throws -> (index: Int, name: String?) {
    let trimmed = value.trimmingCharacters(in: .whitespaces)
    let numClasses = pipeline.config.numClasses
    let names = try classNames(of: pipeline, modelPath: modelPath)
    if let index = Int(trimmed) {
        guard index >= 0, index < numClasses else {
            throw CLIError("class \(index) is out of range: this model has \(numClasses) classes (0...\(numClasses - 1))")
        }
        return (index, names?.displayName(of: index))
    }
    guard let names else {
        let why = numClasses == imageNetClassCount ? "imagenet-classes.txt was not found" : "this model's file names no classes"
        throw CLIError("class name \"\(trimmed)\" given but \(why); give a class index 0...\(numClasses - 1)")
    }
    switch names.lookup(trimmed) {
    case .found(let index):
        let name = names.displayName(of: index) ?? trimmed
        guard index < numClasses else {
            throw CLIError("class \"\(name)\" is class \(index), out of range: this model has \(numClasses) classes (0...\(numClasses - 1))")
        }
        return (index, name)
    case .ambiguous(let indices):
        // Same-named classes (ImageNet's two "crane"s) are told apart by their neighbours in the label order.
        let list = indices.map { i -> String in
            let synonyms = names.entries[i].names.prefix(2).joined(separator: ", ")
            let around = [i - 1, i + 1].compactMap { names.displayName(of: $0) }.joined(separator: " / ")
            return around.isEmpty ? "\(i) (\(synonyms))" : "\(i) (\(synonyms); next to \(around))"
        }.joined(separator: ", ")
        throw CLIError("class name \"\(trimmed)\" is ambiguous: \(list); give the index")
    case .notFound(let suggestions):
        let hint = suggestions.isEmpty ? "" : "; did you mean " + suggestions.map { "\"\($0)\"" }.joined(separator: ", ") + "?"
        throw CLIError("unknown class name \"\(trimmed)\"\(hint)")
    }
}

/// ImageNet-1k's class count: models with this many classes and no names of their own use
/// `imagenet-classes.txt`.
let imageNetClassCount = 1000

/// The model's class names: its metadata, else ImageNet's for a 1000-class model, else nil.
func classNames(of pipeline: Pipeline, modelPath: String?) throws -> ClassNames? {
    if let own = pipeline.classNames { return own }
    return pipeline.config.numClasses == imageNetClassCount ? loadClassNames(modelPath: modelPath) : nil
}

/// The ImageNet class-name file, or nil when none is found.
func loadClassNames(modelPath: String?) -> ClassNames? {
    var candidates = ["models/imagenet-classes.txt"]
    if let modelPath { candidates.append(URL(fileURLWithPath: modelPath).deletingLastPathComponent().appendingPathComponent("imagenet-classes.txt").path) }
    candidates += executableRelative("../../models/imagenet-classes.txt")
    for path in candidates where FileManager.default.fileExists(atPath: path) {
        if let names = try? ClassNames.load(path) { return names }
    }
    return nil
}

// MARK: - Metadata

/// The `reptok` text stored in every output image: `key: value` lines.
struct ImageMetadata {
    private(set) var lines: [(String, String)] = []

    init(command: String, pipeline: Pipeline, options: ImageCommandOptions) {
        add("reptok-version", reptokVersion)
        add("command", command)
        add("model", pipeline.modelInfo["file"] ?? "?")
        add("model-source", pipeline.modelInfo["source.file"] ?? "?")
        add("model-source-sha256", pipeline.modelInfo["source.sha256"] ?? "?")
        add("model-weights", pipeline.modelInfo["weights"] ?? "?")
        add("compute", options.compute.rawValue)
    }

    /// Adds `key: value`; line breaks in the value (a file name may hold one) become `?`, so
    /// that every line stays one `key: value` pair.
    mutating func add(_ key: String, _ value: String) {
        lines.append((key, String(value.map { $0.isNewline ? "?" : $0 })))
    }

    mutating func add(_ fields: [(String, String)]) { for (k, v) in fields { add(k, v) } }

    var text: String { lines.map { "\($0.0): \($0.1)" }.joined(separator: "\n") }
}

// MARK: - Progress and timing

/// Per-stage wall time, a progress bar on stderr when it is a terminal, and the final summary line.
///
/// Stage times come from the pipeline's progress callbacks: each callback charges the time since
/// the previous event to its stage, so the times add up to the wall time.
final class StageTimer {
    let showBar: Bool
    let quiet: Bool
    private let start = MonotonicClock.nanoseconds()
    private var lastEvent = MonotonicClock.nanoseconds()
    private var stageOrder: [String] = []
    private var stageNanos: [String: UInt64] = [:]
    private var barStage = ""
    private var barStageStart: UInt64 = 0
    private var lastDraw: UInt64 = 0
    private var barVisible = false

    init(quiet: Bool) {
        self.quiet = quiet
        showBar = !quiet && isatty(2) == 1
    }

    private func now() -> UInt64 { MonotonicClock.nanoseconds() }

    private func charge(_ stage: String, _ nanos: UInt64) {
        if stageNanos[stage] == nil { stageOrder.append(stage) }
        stageNanos[stage, default: 0] += nanos
    }

    /// Times `body` as `stage`.
    func measure<T>(_ stage: String, _ body: () throws -> T) rethrows -> T {
        let t0 = now()
        defer {
            let t1 = now()
            charge(stage, t1 - t0)
            lastEvent = t1
        }
        return try body()
    }

    /// Starts the clock for the next pipeline call (time before it is not charged to it).
    func mark() { lastEvent = now() }

    /// The pipeline's progress callback.
    var handler: ProgressHandler {
        { [self] component, step, total in
            let t = now()
            charge(component.activity, t - lastEvent)
            lastEvent = t
            if showBar && total > 1 { draw(component.activity, step, total, t) }  // single-step stages get no bar
            return true
        }
    }

    /// Draws `stage ███░░ i/N  x it/s  ETA m:ss` over the current line, at most 10 times a second.
    private func draw(_ stage: String, _ step: Int, _ total: Int, _ t: UInt64) {
        if stage != barStage || step == 1 {  // a stage starts: its rate counts from this first step
            barStage = stage
            barStageStart = t
        }
        let last = step >= total
        guard last || t - lastDraw > 100_000_000 else { return }
        lastDraw = t
        let elapsed = Double(t - barStageStart) / 1e9
        let rate = elapsed > 0 && step > 1 ? Double(step - 1) / elapsed : 0
        let remaining = rate > 0 ? Double(total - step) / rate : 0
        let width = 24
        let filled = total > 0 ? min(width, step * width / total) : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rateText = rate > 0 ? String(format: "%.1f it/s", rate) : "-- it/s"
        let eta = last ? "done" : "ETA \(clock(remaining))"
        let line = "\r\u{1B}[2K\(stage.padding(toLength: 8, withPad: " ", startingAt: 0)) \(bar) \(step)/\(total)  \(rateText)  \(eta)"
        FileHandle.standardError.write(Data(line.utf8))
        barVisible = true
        if last {
            FileHandle.standardError.write(Data("\n".utf8))
            barVisible = false
        }
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Prints the one-line summary on stderr (unless quiet).
    func summary(_ what: String, threads: Int) {
        guard !quiet else { return }
        if barVisible { FileHandle.standardError.write(Data("\n".utf8)) }
        let total = Double(now() - start) / 1e9
        let parts = stageOrder.map { String(format: "%@ %.2f s", $0, Double(stageNanos[$0] ?? 0) / 1e9) }
        let line = String(format: "reptok: %@ in %.2f s (", what, total) + parts.joined(separator: ", ") + "), \(threads) thread\(threads == 1 ? "" : "s")\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Writes an image with metadata atomically, mapping errors to one line.
func writeImage(_ image: RGBImage, to path: String, metadata: String, quality: Int) throws {
    do { try ImageFile.write(image, to: path, metadata: metadata, jpegQuality: quality) } catch { throw cliError(error) }
}

/// Planar `[3, S, S]` pipeline output → RGBImage.
func rgbImage(_ planar: [Float], size: Int) throws -> RGBImage {
    // NaN would become black pixels and a file that looks like a result.
    guard planar.allSatisfy(\.isFinite) else { throw CLIError(nonFiniteImage) }
    return try RGBImage(width: size, height: size, pixels: Pipeline.toRGB8(planar, size: size))
}

/// Why an image is refused when its values are not finite.
let nonFiniteImage = "the decoded image has non-finite values: a token far outside what the encoder gives, or a damaged model file"

/// Parses "a,b" into a closed interval within [0, 1].
func parseInterval(_ text: String) throws -> ClosedRange<Float> {
    let parts = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let a = parts[0], let b = parts[1], a.isFinite, b.isFinite, a <= b, a >= 0, b <= 1 else {
        throw ValidationError("--cfg-interval must be two numbers lo,hi with 0 ≤ lo ≤ hi ≤ 1 (got \(text))")
    }
    return a ... b
}

// MARK: - Option ranges

/// `--threads`: at least 1, at most what a compute context accepts (it starts at most
/// `ComputeContext.threadLimit` of them).
let threadRange = 1 ... ComputeContext.maxThreads
/// The help of every `--threads`.
let threadHelp = "Worker threads, \(threadRange) (default: online cores; at most \(ComputeContext.threadLimit) run here: 4 per core, at least 16)."
/// `--steps`, `--gen-steps`, `--dec-steps`: what the samplers accept.
let stepRange = 1 ... Pipeline.maxSteps

/// Refuses an option value outside `range` (one line and exit status 2, through ArgumentParser's
/// validation), before anything is loaded.
func checkOption(_ name: String, _ value: Int?, in range: ClosedRange<Int>) throws {
    if let value, !range.contains(value) {
        throw ValidationError("\(name) must be \(range.lowerBound)...\(range.upperBound) (got \(value))")
    }
}
