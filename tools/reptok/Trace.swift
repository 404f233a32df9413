import ArgumentParser
import Formats
import Foundation
import Runtime

/// `reptok trace`: recompute every tensor of a fixture's golden file with the runtime alone.
struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Recompute the reference tensors of a golden file (fixture format) with this runtime.",
        discussion: """
        Reads the inputs image_u8, dec_noise, dec_t, dec_steps, vae_latent_in, gen_noise, gen_labels, \
        gen_steps, e2e_noise (and the golden token, which conditions dec_velocity and dec_latent) and writes \
        enc_input, enc_pos_embed, enc_tokens_in, enc_block0_out, token, x_extra, dec_cond_norm, dec_velocity, \
        dec_latent, dec_image, vae_image_out, gen_velocity_cond, gen_velocity_cfg, gen_tokens, e2e_image \
        (float32). e2e_image decodes the runtime's own gen_tokens[0].
        """)

    @Option(name: .long, help: "Converted model file (.gguf).")
    var model: String

    @Option(name: .long, help: "Golden file with the inputs (safetensors, fixture format).")
    var inputs: String

    @Option(name: .long, help: "Output safetensors file.")
    var out: String

    @Option(name: .long, help: "Matrix mode for int8 and int4 weights: w8a32 or w8a8.")
    var compute: MatrixMode = .w8a32

    @Option(name: .long, help: ArgumentHelp(threadHelp))
    var threads: Int?

    @Flag(name: .long, help: "Print the time of each stage on stderr.")
    var verbose = false

    func validate() throws {
        try checkOption("--threads", threads, in: threadRange)
    }

    func run() throws {
        try checkOutputs([out])
        let pipeline = try Pipeline(modelPath: model, options: PipelineOptions(threads: threads, mode: compute))
        let golden = try SafeTensorsFile(path: inputs)
        let tensors = try Runtime.Trace.run(pipeline: pipeline, inputs: golden, log: verbose ? { line in
            FileHandle.standardError.write(Data("trace: \(line)\n".utf8))
        } : nil)
        var metadata = pipeline.modelInfo
        metadata["compute"] = compute.rawValue
        try SafeTensorsWriter.write(path: out, tensors: tensors, metadata: metadata)
    }
}
