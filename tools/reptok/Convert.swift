import ArgumentParser
import Foundation
import Quant

/// `reptok convert IN -o OUT.gguf`: an official checkpoint (.ckpt/.pt/.pth torch zip, or .safetensors)
/// to one GGUF file (docs/gguf-format.md). Streams the report: one line per tensor, then a summary.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a RepTok checkpoint to one memory-mappable GGUF file (int8 per-channel by default).",
        discussion: """
        Sizes come from the checkpoint's hyper_parameters, then --config, then --vae-config, then tensor shapes; \
        missing image/encoder-input/latent sizes fall back to the release constants (256, 224, 4x32x32). \
        Nothing in the checkpoint is executed. The output is written atomically.
        """)

    @Argument(help: "Checkpoint: PyTorch zip (.ckpt/.pt/.pth) or .safetensors.")
    var input: String

    @Option(name: .shortAndLong, help: "Output .gguf file.")
    var output: String

    @Option(name: .long, help: "Official model.yaml (gives the encoder input size and the latent size).")
    var config: String?

    @Option(name: .long, help: "diffusers vae-config.json.")
    var vaeConfig: String?

    @Option(name: .long, help: "Separate DINOv2 weights (hub .pth or .safetensors) to use as the encoder.")
    var encoder: String?

    @Option(name: .long, help: "Separate SD-VAE weights (diffusers or LDM .safetensors/.ckpt) to use as the VAE decoder.")
    var vae: String?

    @Option(name: .long, help: "Weight storage: int8 (per-channel symmetric), int4 (GGML Q4_0, groups of 32; the VAE stays int8), f16 or f32. The input may also be an f32 .gguf file of ours.")
    var weights: WeightFormat = .int8

    @Option(name: .long, help: ArgumentHelp("Class names, one per line in index order (\"name, synonym, ...\"); default: the checkpoint's hyper_parameters.class_names.", valueName: "file"))
    var classes: String?

    @Flag(name: .shortAndLong, help: "Print nothing on success.")
    var quiet = false

    func run() throws {
        let quiet = self.quiet
        let options = ConvertOptions(weights: weights, configPath: config, vaeConfigPath: vaeConfig,
                                     encoderPath: encoder, vaePath: vae, classNamesPath: classes, converterVersion: reptokVersion,
                                     onTensor: quiet ? nil : { line in print(line.rendered); fflush(stdout) },
                                     onWait: quiet ? nil : { what in print(what); fflush(stdout) })
        let report = isGGUFFile(input) ? try requantizeGGUF(input: input, output: output, options: options)
                                       : try convertCheckpoint(input: input, output: output, options: options)
        if !quiet { print(report.summary) }
        // Warnings and notes go to stderr, one line each, even with --quiet.
        for n in report.notes { FileHandle.standardError.write(Data("reptok: note: \(n)\n".utf8)) }
        for w in report.warnings { FileHandle.standardError.write(Data("reptok: warning: \(w)\n".utf8)) }
    }
}
