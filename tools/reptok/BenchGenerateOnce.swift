// `reptok bench generate-once`: the child process of `bench pipeline`.
import ArgumentParser
import Foundation
import Kernels
import Runtime
import Support

/// `reptok bench generate-once --model F [--low-memory]`: one full generate (generator, decoder,
/// VAE) on a model, for the pipeline bench's child processes. Prints `{"seconds", "finite",
/// "peak_rss_mb"}`; `seconds` spans opening the model to the finished image.
struct BenchGenerateOnceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-once",
        abstract: "One full generate on a model, timed (child process of `bench pipeline`).",
        shouldDisplay: false)

    @Option(name: .long, help: "Model file (.gguf).")
    var model: String

    @Option(name: .long, help: "Worker threads (default: online cores).")
    var threads: Int?

    @Option(name: .long, help: "Matrix mode: w8a8 or w8a32.")
    var mode = "w8a8"

    @Flag(name: .long, help: "Release each stage's weight pages after use.")
    var lowMemory = false

    @Option(name: .long, help: "Generator steps.")
    var genSteps = 50

    @Option(name: .long, help: "Decoder steps.")
    var decSteps = 8

    @Option(name: .long, help: "Class label.")
    var label = 1

    @Option(name: .long, help: "Noise seed.")
    var seed: UInt64 = 0

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if MatrixMode(rawValue: mode) == nil { throw ValidationError("--mode must be w8a8 or w8a32") }
        if genSteps < 1 || decSteps < 1 { throw ValidationError("--gen-steps and --dec-steps must be at least 1") }
    }

    func run() throws {
        let t0 = MonotonicClock.seconds()
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(modelPath: model, options: PipelineOptions(threads: threads, mode: MatrixMode(rawValue: mode)!, lowMemory: lowMemory))
        } catch { throw CLIError(oneLine(error)) }
        let s = pipeline.config.sampling
        guard label < pipeline.config.numClasses else { throw CLIError("--label \(label) ≥ \(pipeline.config.numClasses) classes") }
        let token = try pipeline.generate(label: label, seed: seed, steps: genSteps, cfgScale: s.cfgScale, interval: s.tInterval)
        pipeline.releaseGeneratorWeights()      // as `reptok generate` does
        let latent = try pipeline.decodeLatent(token: token, noise: NoiseGenerator.gaussian(
            count: pipeline.config.latentCount, seed: seed, stream: .decoder), steps: decSteps)
        pipeline.releaseDecoderWeights()        // as `reptok generate` does after its last decode
        let image = try pipeline.vaeDecode(latent: latent)
        let seconds = MonotonicClock.seconds() - t0
        let out: [String: Any] = ["seconds": seconds, "finite": image.allSatisfy(\.isFinite),
                                  "peak_rss_mb": Double(ResourceUsage.peakMemoryBytes()) / 1e6]
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
