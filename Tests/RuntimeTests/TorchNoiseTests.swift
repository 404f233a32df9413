// `--rng torch` end to end on the float32 tiny model: the official draw order and shapes give the
// images PyTorch computes with the same seeds (tools/make-torch-rng-goldens.py).
import Formats
import Foundation
import Runtime
import TestSupport
import XCTest

final class TorchNoiseTests: XCTestCase {
    /// The bound: images within 1e-4 relative L2 of PyTorch's. The noise is bit-identical,
    /// so what remains is float32 summation order through 8 generator and 4 decoder Euler steps and
    /// the VAE (about 1.2e-6 measured); a wrong draw order, shape or seed gives differences of order 1.
    static let imageTolerance = 1e-4
    /// Generator tokens pass through 8 Euler steps only: 1e-5 is ample (about 2e-7 measured).
    static let tokenTolerance = 1e-5

    static func goldens() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: TestSupport.path("Tests/Fixtures/torch-rng/e2e.safetensors"))
    }

    /// Generates a batch as `reptok generate --rng torch` does and compares tokens and images.
    func checkGenerate(_ name: String, seed: UInt64, count: Int, labels given: [Int]?, decoderSeed: UInt64?) throws {
        let g = try Self.goldens()
        let p = try Pipeline(modelPath: try TinyFixture.model(.f32))
        let noise = TorchBatchNoise(config: p.config, count: count, seed: seed, randomClasses: given == nil, decoderSeed: decoderSeed)
        let labels = given ?? noise.labels ?? []
        XCTAssertEqual(labels.map(Int64.init), try g.int64s("\(name)_labels"), "\(name): classes")
        let goldTokens = try g.floats("\(name)_tokens"), goldImages = try g.floats("\(name)_images")
        let c = p.config.tokenDim, n = p.config.imageCount
        for i in 0 ..< count {
            let token = try p.generate(label: labels[i], noise: noise.generator[i], steps: 8, cfgScale: 1.5, interval: 0.3 ... 0.9)
            let tokenErr = Metrics.relativeL2(token, Array(goldTokens[i * c ..< (i + 1) * c]))
            XCTAssertLessThanOrEqual(tokenErr, Self.tokenTolerance, "\(name) image \(i): token relative L2")
            let image = try p.decode(token: token, noise: noise.decoder[i], steps: 4)
            let err = Metrics.relativeL2(image, Array(goldImages[i * n ..< (i + 1) * n]))
            XCTAssertLessThanOrEqual(err, Self.imageTolerance, "\(name) image \(i): relative L2")
            print("torch noise \(name) image \(i): token relative L2 \(tokenErr), image \(err)")
        }
    }

    /// `--seed 42 --class random --count 3`: randint classes, then the batch's noise.
    func testRandomClassesBatch() throws {
        try checkGenerate("random42", seed: 42, count: 3, labels: nil, decoderSeed: nil)
    }

    /// `--seed 7 --class 3,5 --decoder-seed 9`: no class draw, decoder noise from its own seed.
    func testClassListWithDecoderSeed() throws {
        try checkGenerate("list7", seed: 7, count: 2, labels: [3, 5], decoderSeed: 9)
    }

    /// `--seed 4294967301 --class 1`: a seed beyond 32 bits.
    func testSeedBeyond32Bits() throws {
        try checkGenerate("big", seed: (1 << 32) + 5, count: 1, labels: [1], decoderSeed: nil)
    }

    /// `decode --rng torch --seed 11` and `reconstruct --rng torch --seed 12` of the fixture's
    /// token and image: `manual_seed(S); randn(1, Cl, h, w)`.
    func testDecodeAndReconstruct() throws {
        let g = try Self.goldens()
        let p = try Pipeline(modelPath: try TinyFixture.model(.f32))
        let token = try TinyFixture.goldenFloats("token")
        let decoded = try p.decode(token: token, noise: TorchNoise.decoderNoise(config: p.config, count: 1, seed: 11)[0], steps: 4)
        XCTAssertLessThanOrEqual(Metrics.relativeL2(decoded, try g.floats("decode11_images")), Self.imageTolerance, "decode")

        let pixels = try TinyFixture.goldenTensors().uint8s("image_u8")               // [3, S, S]
        let s = p.config.imageSize
        var rgb = [UInt8](repeating: 0, count: pixels.count)                           // → [S, S, 3]
        for ch in 0 ..< 3 { for i in 0 ..< s * s { rgb[i * 3 + ch] = pixels[ch * s * s + i] } }
        let own = try p.encode(image: p.prepareImage(rgb: rgb, width: s, height: s))
        let rec = try p.decode(token: own, noise: TorchNoise.decoderNoise(config: p.config, count: 1, seed: 12)[0], steps: 4)
        XCTAssertLessThanOrEqual(Metrics.relativeL2(rec, try g.floats("reconstruct12_images")), Self.imageTolerance, "reconstruct")
    }

    /// `--rng reptok --class random`: classes cover the range, depend on the seed only, and the
    /// class stream is not the generator's or decoder's.
    func testReptokRandomClassStream() {
        let labels = (0 ..< 200).map { NoiseGenerator.label(seed: UInt64($0), classes: 10) }
        XCTAssertEqual(Set(labels), Set(0 ..< 10))
        XCTAssertEqual(labels, (0 ..< 200).map { NoiseGenerator.label(seed: UInt64($0), classes: 10) })
        var label = NoiseGenerator(seed: 3, stream: .label), gen = NoiseGenerator(seed: 3, stream: .generator)
        var dec = NoiseGenerator(seed: 3, stream: .decoder)
        let first = label.next()
        XCTAssertNotEqual(first, gen.next())
        XCTAssertNotEqual(first, dec.next())
        XCTAssertEqual(NoiseGenerator.label(seed: 3, classes: 1000), Int(first % 1000))
    }

    /// The batch is one draw: image 0 of a batch of 2 differs from a batch of 1 with the same seed
    /// (the decoder noise starts after all generator noise), unlike `--rng reptok`.
    func testBatchShapeMatters() throws {
        let config = try Pipeline(modelPath: try TinyFixture.model(.f32)).config
        let one = TorchBatchNoise(config: config, count: 1, seed: 3, randomClasses: false)
        let two = TorchBatchNoise(config: config, count: 2, seed: 3, randomClasses: false)
        XCTAssertEqual(one.generator[0], two.generator[0], "generator rows come first, in batch order")
        XCTAssertNotEqual(one.decoder[0], two.decoder[0])
        XCTAssertNil(one.labels)
    }
}
