// `reptok bench generate-once`: the child process of `bench pipeline`.
import ArgumentParser
import Foundation
import Runtime
import Support

/// `reptok bench generate-once --model F [--compute M] [--low-memory]`: one full generate (generator, decoder,
/// VAE) on a model, for the pipeline bench's child processes. Prints `{"seconds", "finite",
/// "peak_rss_mb"}`; `seconds` spans opening the model to the finished image.
struct BenchGenerateOnceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-once",
        abstract: "One full generate on a model, timed (child process of `bench pipeline`).",
        shouldDisplay: false)

    /// `--model`, `--threads`, `--compute`, `--low-memory` as every image command takes them.
    @OptionGroup var common: ImageCommandOptions

    @Option(name: .long, help: "Generator steps.")
    var genSteps = 50

    @Option(name: .long, help: "Decoder steps.")
    var decSteps = 8

    @Option(name: .long, help: "Class label.")
    var label = 1

    @Option(name: .long, help: "Noise seed.")
    var seed: UInt64 = 0

    func validate() throws {
        try checkOption("--gen-steps", genSteps, in: stepRange)
        try checkOption("--dec-steps", decSteps, in: stepRange)
    }

    func run() throws {
        let t0 = MonotonicClock.seconds()
        let generated: GeneratedImages
        do {
            // The same request and the same `generate` as `reptok generate`, so the same weight
            // releases; guidance scale and interval are the model's.
            let pipeline = try common.loadPipeline(StageTimer(quiet: true))
            let request = try GenerateRequest(classes: .labels([label]), seed: seed, generatorSteps: genSteps,
                                              decoderSteps: decSteps).resolved(for: pipeline)
            generated = try pipeline.generate(request)
        } catch { throw CLIError(oneLine(error)) }
        let seconds = MonotonicClock.seconds() - t0
        let out: [String: Any] = ["seconds": seconds, "finite": generated.allFinite,
                                  "peak_rss_mb": Double(ResourceUsage.peakMemoryBytes()) / 1e6]
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
