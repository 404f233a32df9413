import ArgumentParser
import Formats
import Foundation
import ImageIO
import Runtime

/// `reptok reconstruct`: image → encoder token → decoder → VAE → image.
struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Encode an image to its RepTok token and decode it again.",
        discussion: """
        The input (PNG or JPEG, any size) is center-cropped to a square and resized to the model's image size \
        (antialiased bicubic), encoded to one token, and decoded from seeded noise with --steps decoder steps. \
        --side-by-side writes the prepared input and the reconstruction next to each other.

        Example: reptok reconstruct photo.jpg -o recon.png --steps 8 --side-by-side
        """)

    @Argument(help: "Input image (PNG or JPEG).")
    var input: String

    @OptionGroup var decoder: DecoderOptions

    @Flag(name: .long, help: "Write the prepared input and the reconstruction side by side.")
    var sideBySide = false

    @OptionGroup var output: ImageOutputOptions
    @OptionGroup var common: ImageCommandOptions

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        let source = try timer.measure("read") { try readImage(input) }
        try checkOutputs([output.output], keeping: [input] + common.modelToKeep)
        let pipeline = try common.loadPipeline(timer)
        let size = pipeline.config.imageSize
        let request = try resolve(decoder.request, pipeline)

        let prepared = timer.measure("prepare") { pipeline.prepareImage(rgb: source.pixels, width: source.width, height: source.height) }
        timer.mark()
        let token = try pipeline.encode(image: prepared, tap: nil, progress: timer.handler)
        let decoded = try pipeline.decode(token: token, noise: request.noise(for: pipeline), steps: request.steps,
                                          sampler: request.sampler, progress: timer.handler)
        var result = try rgbImage(decoded, size: size)
        if sideBySide {
            result = try RGBImage.grid([try rgbImage(prepared, size: size), result], columns: 2, gap: 0)
        }

        var md = ImageMetadata(command: "reconstruct", pipeline: pipeline, options: common)
        md.add("input", URL(fileURLWithPath: input).lastPathComponent)
        md.add("input-sha256", (try? SHA256.hashFile(path: input)) ?? "?")
        md.add(request.metadata)
        md.add("side-by-side", sideBySide ? "yes (prepared input left, reconstruction right)" : "no")
        md.add("reproduce", reproduceLine("reconstruct", [input], model: try common.resolvedModelPath(), pipeline, request,
                                          extra: sideBySide ? ["--side-by-side"] : [], output: output))
        try timer.measure("write") { try writeImage(result, to: output.output, metadata: md.text, quality: output.quality) }
        timer.summary("reconstructed \(input) → \(output.output)", threads: pipeline.threads)
    }
}
