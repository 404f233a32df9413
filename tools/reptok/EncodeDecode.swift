import ArgumentParser
import Formats
import Foundation
import ImageIO
import Runtime

/// Reads a token `.npy` (shape `[C]` or `[1, C]`, float32 or float64), mapping errors to one line.
func readToken(_ path: String) throws -> [Float] {
    let array: NPYFile.Array
    do { array = try NPYFile.read(path) } catch { throw cliError(error) }
    guard array.shape.count == 1 || (array.shape.count == 2 && array.shape[0] == 1) else {
        throw CLIError("\(path): token shape \(array.shape), expected [C] or [1, C]")
    }
    guard array.values.allSatisfy(\.isFinite) else { throw CLIError("\(path): token holds NaN or infinite values") }
    return array.values
}

/// Checks a token's length against the model.
func checkTokenLength(_ token: [Float], pipeline: Pipeline, path: String) throws {
    guard token.count == pipeline.config.tokenDim else {
        throw CLIError("\(path): token has \(token.count) values, this model's tokens have \(pipeline.config.tokenDim)")
    }
}

/// `reptok encode`: image → RepTok token as NumPy `.npy`.
struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode an image to its RepTok token (.npy, float32, shape [C]).",
        discussion: """
        The token file loads in Python with numpy.load(path). `reptok decode` and `reptok interpolate` read it back.

        Example: reptok encode photo.jpg -o photo.npy
        """)

    @Argument(help: "Input image (PNG or JPEG).")
    var input: String

    @Option(name: .shortAndLong, help: "Output token file (.npy).")
    var output: String

    @OptionGroup var common: ImageCommandOptions

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        let source = try timer.measure("read") { try readImage(input) }
        try checkOutputs([output], keeping: [input] + common.modelToKeep)
        let pipeline = try common.loadPipeline(timer)
        let prepared = timer.measure("prepare") { pipeline.prepareImage(rgb: source.pixels, width: source.width, height: source.height) }
        timer.mark()
        let token = try pipeline.encode(image: prepared, tap: nil, progress: timer.handler)
        try timer.measure("write") {
            do { try NPYFile.write(token, shape: [token.count], to: output) } catch { throw cliError(error) }
        }
        timer.summary("encoded \(input) → \(output) (\(token.count) values)", threads: pipeline.threads)
    }
}

/// `reptok decode`: RepTok token `.npy` → image.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a RepTok token (.npy) to an image.",
        discussion: """
        The token is a float32 (or float64) array of shape [C] or [1, C], e.g. from `reptok encode` or numpy.save.

        Example: reptok decode photo.npy -o photo.png --steps 8 --seed 1
        """)

    @Argument(help: "Token file (.npy).")
    var input: String

    @OptionGroup var decoder: DecoderOptions

    @OptionGroup var output: ImageOutputOptions
    @OptionGroup var common: ImageCommandOptions

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        let token = try timer.measure("read") { try readToken(input) }
        try checkOutputs([output.output], keeping: [input] + common.modelToKeep)
        let pipeline = try common.loadPipeline(timer)
        try checkTokenLength(token, pipeline: pipeline, path: input)
        let request = try resolve(decoder.request, pipeline)
        timer.mark()
        let decoded = try pipeline.decode(token: token, noise: request.noise(for: pipeline), steps: request.steps,
                                          sampler: request.sampler, progress: timer.handler)
        let image = try rgbImage(decoded, size: pipeline.config.imageSize)

        var md = ImageMetadata(command: "decode", pipeline: pipeline, options: common)
        md.add("input", URL(fileURLWithPath: input).lastPathComponent)
        md.add("input-sha256", (try? SHA256.hashFile(path: input)) ?? "?")
        md.add(request.metadata)
        md.add("reproduce", reproduceLine("decode", [input], model: try common.resolvedModelPath(), pipeline, request, output: output))
        try timer.measure("write") { try writeImage(image, to: output.output, metadata: md.text, quality: output.quality) }
        timer.summary("decoded \(input) → \(output.output)", threads: pipeline.threads)
    }
}
