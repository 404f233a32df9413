import ArgumentParser
import Formats
import Foundation
import ImageIO
import Runtime

/// `reptok interpolate`: two images (or tokens) → mixed tokens → decoded strip.
struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Decode a strip of images between the tokens of two images.",
        discussion: """
        A and B are encoded to tokens (a .npy token from `reptok encode` is used as is), mixed in --frames \
        steps from A (left) to B (right) — lerp: (1−α)a + αb as in the paper; slerp: spherical on the \
        directions, linear on the norms — and each mix is decoded from the same seeded noise, so only the \
        token changes along the strip.

        Example: reptok interpolate cat.jpg dog.jpg --frames 8 -o strip.png
        """)

    @Argument(help: "First image (PNG/JPEG) or token (.npy).")
    var a: String

    @Argument(help: "Second image (PNG/JPEG) or token (.npy).")
    var b: String

    @Option(name: .long, help: "Number of images in the strip, A and B included (2...64).")
    var frames: Int = 8

    @Option(name: .long, help: "Token mixing: lerp or slerp.")
    var mode: InterpolationMode = .lerp

    @OptionGroup var decoder: DecoderOptions

    @OptionGroup var output: ImageOutputOptions
    @OptionGroup var common: ImageCommandOptions

    func validate() throws {
        guard (2...64).contains(frames) else { throw ValidationError("--frames must be 2...64 (got \(frames))") }
    }

    func run() throws {
        let timer = StageTimer(quiet: common.quiet)
        // Inputs first (cheap), then outputs, then the model.
        enum Source { case image(RGBImage), token([Float]) }
        func load(_ path: String) throws -> Source {
            if path.lowercased().hasSuffix(".npy") { return .token(try readToken(path)) }
            return .image(try readImage(path))
        }
        let sources = try timer.measure("read") { [try load(a), try load(b)] }
        try checkOutputs([output.output], keeping: [a, b] + common.modelToKeep)
        let pipeline = try common.loadPipeline(timer)
        let size = pipeline.config.imageSize
        let request = try resolve(decoder.request, pipeline)

        timer.mark()
        var tokens: [[Float]] = []
        for (source, path) in zip(sources, [a, b]) {
            switch source {
            case .image(let image):
                let prepared = pipeline.prepareImage(rgb: image.pixels, width: image.width, height: image.height)
                tokens.append(try pipeline.encode(image: prepared, tap: nil, progress: timer.handler))
            case .token(let token):
                try checkTokenLength(token, pipeline: pipeline, path: path)
                tokens.append(token)
            }
        }
        let mixes = Pipeline.interpolate(tokens[0], tokens[1], frames: frames, mode: mode)
        let noise = request.noise(for: pipeline)
        var images: [RGBImage] = []
        for mix in mixes {
            let decoded = try pipeline.decode(token: mix, noise: noise, steps: request.steps, sampler: request.sampler,
                                              progress: timer.handler)
            images.append(try rgbImage(decoded, size: size))
        }
        let strip = try RGBImage.grid(images, columns: frames, gap: 0)

        var md = ImageMetadata(command: "interpolate", pipeline: pipeline, options: common)
        md.add("inputs", "\(URL(fileURLWithPath: a).lastPathComponent), \(URL(fileURLWithPath: b).lastPathComponent)")
        md.add("input-sha256", [a, b].map { (try? SHA256.hashFile(path: $0)) ?? "?" }.joined(separator: ", "))
        md.add("frames", "\(frames) (alpha = i/\(frames - 1), left to right)")
        md.add("mode", mode.rawValue)
        md.add(request.metadata)
        md.add("reproduce", reproduceLine("interpolate", [a, b], model: try common.resolvedModelPath(), pipeline, request,
                                          extra: ["--frames", "\(frames)", "--mode", mode.rawValue], output: output))
        try timer.measure("write") { try writeImage(strip, to: output.output, metadata: md.text, quality: output.quality) }
        timer.summary("interpolated \(frames) frames → \(output.output)", threads: pipeline.threads)
    }
}
