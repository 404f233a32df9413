import ArgumentParser
import Foundation
import ImageIO
import Runtime

/// `reptok eval`: accuracy loss of one converted file against another (e.g. int8 against f32).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure the accuracy loss of a model file against a reference file of the same checkpoint.",
        discussion: """
        Prints token cosine, decoder velocity relative L2 at t = 0.1, 0.3, 0.5, 0.7, 0.9, reconstruction \
        PSNR and SSIM of the model's images against the reference's (same noise, both measured on [0, 1]) \
        and the VAE PSNR. Without --images a built-in test card is used.
        With --digits (the demo model's data folder, models/digits), the images are the first five held-out \
        digits of each class, and the class accuracy of 5 generations per class (seeds 1...5, the model's \
        default sampler settings) is measured for both files by a 3-nearest-neighbour classifier over the \
        training digits.
        """)

    @Option(name: .long, help: "Model file to measure (.gguf), e.g. the int8 file.")
    var model: String

    @Option(name: .long, help: "Reference model file (.gguf), e.g. the f32 file.")
    var reference: String

    @Option(name: .long, help: "Folder of PNG/JPEG images (default: a built-in test card).")
    var images: String?

    @Option(name: .long, help: ArgumentHelp("Labelled digits folder (images.npy, labels.npy, heldout.npy), e.g. models/digits.", valueName: "dir"))
    var digits: String?

    @Option(name: .long, help: "Decoder Euler steps of the reconstructions.")
    var steps: Int = 8

    @Option(name: .long, help: "Seed of the decoder noise.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Matrix mode of the model file: w8a32 or w8a8.")
    var compute: MatrixMode = .w8a32

    @Option(name: .long, help: ArgumentHelp(threadHelp))
    var threads: Int?

    @Flag(name: .long, help: "Print one JSON object (token_cosine, velocity_rel_l2 per t, psnr_vs_reference, psnr_vs_input {model, reference}, vae_psnr; with --digits class_accuracy {model, reference, total}) instead of the table.")
    var json = false

    func validate() throws {
        try checkOption("--steps", steps, in: stepRange)
        try checkOption("--threads", threads, in: threadRange)
        guard digits == nil || images == nil else { throw ValidationError("give --digits or --images, not both") }
        if let dir = images {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--images \(dir): no such folder")
            }
        }
    }

    func run() throws {
        let a = try Pipeline(modelPath: model, options: PipelineOptions(threads: threads, mode: compute))
        let b = try Pipeline(modelPath: reference, options: PipelineOptions(threads: threads))
        var inputs: [(name: String, image: [Float])] = []
        let digitSet = try digits.map { try DigitsSet(folder: $0) }
        if let digitSet {
            let s = a.config.imageSize
            for i in digitSet.heldOutSample(perClass: 5) {
                inputs.append(("digit #\(i) (\(digitSet.labels[i]))", a.prepareImage(rgb: DigitsSet.toRGB(digitSet.images[i], size: s), width: s, height: s)))
            }
        } else if let dir = images {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir)
                .filter({ ["png", "jpg", "jpeg"].contains(($0 as NSString).pathExtension.lowercased()) }).sorted() else {
                throw CLIError("\(dir): cannot list the folder")
            }
            guard !files.isEmpty else { throw ValidationError("no .png/.jpg images in \(dir)") }
            for f in files {
                let img = try ImageFile.read((dir as NSString).appendingPathComponent(f))
                inputs.append((f, a.prepareImage(rgb: img.pixels, width: img.width, height: img.height)))
            }
        } else {
            let s = a.config.imageSize
            inputs.append(("test card", a.prepareImage(rgb: AccuracyEval.testCard(size: s), width: s, height: s)))
        }
        let report = try AccuracyEval.run(model: a, reference: b, images: inputs, steps: steps, seed: seed)
        let label = (model as NSString).lastPathComponent + (a.modelInfo["weights"] == "f32" ? "" : " (\(compute.rawValue))")
        var accuracy: (model: (right: Int, total: Int), reference: (right: Int, total: Int))?
        if let digitSet {
            accuracy = (try digitSet.generationAccuracy(a, perClass: 5), try digitSet.generationAccuracy(b, perClass: 5))
        }
        if json {
            var out = report.json()
            out["model"] = model; out["reference"] = reference; out["compute"] = compute.rawValue
            out["model_weights"] = a.modelInfo["weights"] ?? "?"
            if let accuracy {
                out["class_accuracy"] = ["model": accuracy.model.right, "reference": accuracy.reference.right,
                                         "total": accuracy.model.total]
            }
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(report.formatted(model: label, reference: (reference as NSString).lastPathComponent))
        if let accuracy {
            print("class accuracy of generations (3-NN on the training digits): model \(accuracy.model.right)/\(accuracy.model.total), reference \(accuracy.reference.right)/\(accuracy.reference.total)")
        }
    }
}
