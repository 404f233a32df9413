// Pipeline behaviour on the tiny fixture: determinism across thread counts, errors, samplers,
// noise, interpolation, image preparation and output conversion.
import Formats
import Foundation
import Quant
import Runtime
import XCTest

final class PipelineTests: XCTestCase {
    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    /// Encodes the test card, generates a token and decodes it with the given pipeline.
    func runAll(_ p: Pipeline) throws -> [[Float]] {
        let s = p.config.imageSize
        let image = p.prepareImage(rgb: AccuracyEval.testCard(size: s), width: s, height: s)
        let token = try p.encode(image: image)
        let generated = try p.generate(label: 3, seed: 7, steps: 5, cfgScale: 1.5, interval: 0.3 ... 0.9)
        let decoded = try p.decode(token: token, seed: 11, steps: 3)
        let heun = try p.decode(token: generated, seed: 12, steps: 2, sampler: .heun)
        return [token, generated, decoded, heun]
    }

    /// Thread chunking never changes the arithmetic of an output (kernels contract), so 1 and 2
    /// threads must give bit-identical results, for every storage and matrix mode.
    func testOneAndTwoThreadsAreBitIdentical() throws {
        for (weights, mode) in [(WeightFormat.f32, MatrixMode.w8a32), (.int8, .w8a32), (.int8, .w8a8), (.int4, .w8a8)] {
            let path = try TinyFixture.model(weights)
            let one = try runAll(try Pipeline(modelPath: path, options: PipelineOptions(threads: 1, mode: mode)))
            let two = try runAll(try Pipeline(modelPath: path, options: PipelineOptions(threads: 2, mode: mode)))
            for (a, b) in zip(one, two) { XCTAssertEqual(bits(a), bits(b), "\(weights) \(mode)") }
        }
    }

    /// Releasing pages only drops the cache: results are bit-identical.
    func testLowMemoryGivesIdenticalResults() throws {
        for (weights, mode) in [(WeightFormat.int8, MatrixMode.w8a32), (.int8, .w8a8), (.int4, .w8a8)] {
            let path = try TinyFixture.model(weights)
            let normal = try runAll(try Pipeline(modelPath: path, options: PipelineOptions(threads: 1, mode: mode)))
            let low = try runAll(try Pipeline(modelPath: path, options: PipelineOptions(threads: 1, mode: mode, lowMemory: true)))
            for (a, b) in zip(normal, low) { XCTAssertEqual(bits(a), bits(b), "\(weights) \(mode)") }
        }
    }

    /// Dropping the generator's or the decoder's weights (with their repacked copies: int4
    /// strips, int8 W8A8 panels, rebuilt at the next step) and running again gives the same bits.
    func testRunningAfterReleasingWeightsIsIdentical() throws {
        for weights in [WeightFormat.int4, .int8] {
            let p = try Pipeline(modelPath: try TinyFixture.model(weights), options: PipelineOptions(threads: 2, mode: .w8a8))
            let first = try p.generate(label: 2, seed: 5, steps: 4, cfgScale: 1.5, interval: 0.3 ... 0.9)
            let latent = try p.decode(token: first, seed: 3, steps: 2)
            p.releaseGeneratorWeights()
            p.releaseDecoderWeights()
            let second = try p.generate(label: 2, seed: 5, steps: 4, cfgScale: 1.5, interval: 0.3 ... 0.9)
            XCTAssertEqual(bits(first), bits(second), "\(weights) token")
            XCTAssertEqual(bits(try p.decode(token: first, seed: 3, steps: 2)), bits(latent), "\(weights) image")
        }
    }

    /// The encoder packs its W8A8 panels (int4: strips) at its second image, not its first (one
    /// image packs within its own tasks, as before), and the token does not change by a bit:
    /// first image unpacked, second and third packed. With `lowMemory` every encode drops the
    /// copies, so they are never built. Every level this CPU runs: int8 panels are kept where
    /// the level has an int8 panel kernel (not generic, whose panels are float, nor the AMX
    /// levels, which load tiles), int4 strips on every x86 level but generic.
    func testEncoderPanelsFromTheSecondImageKeepTheBits() throws {
        for weights in [WeightFormat.int8, .int4] {
            let path = try TinyFixture.model(weights)
            for isa in ISA.supported {
                // int4 copies are the x86 levels' strips; amx-emulated runs its int4 products as the
                // host's best level without tiles (on aarch64 a NEON level, which has none).
                let int4Level = isa == .amxEmulated ? ISA.bestWithoutTiles : isa
                let keeps = weights == .int4 ? ![ISA.generic, .neon, .neondot].contains(int4Level)
                                             : ![ISA.generic, .amx, .amxEmulated].contains(isa)
                let p = try Pipeline(modelPath: path, options: PipelineOptions(threads: 2, mode: .w8a8, isa: isa))
                let s = p.config.imageSize
                let image = p.prepareImage(rgb: AccuracyEval.testCard(size: s), width: s, height: s)
                let what = "\(weights) \(isa)"
                let first = try p.encode(image: image)
                XCTAssertEqual(p.repackedProducts(.encoder), 0, "\(what): packed at the first image")
                let second = try p.encode(image: image)
                let held = p.repackedProducts(.encoder)
                if keeps { XCTAssertGreaterThan(held, 0, "\(what): nothing packed at the second image") }
                else { XCTAssertEqual(held, 0, "\(what): this level keeps no copies") }
                let third = try p.encode(image: image)
                XCTAssertEqual(p.repackedProducts(.encoder), held, "\(what): copies rebuilt or lost")
                XCTAssertEqual(bits(second), bits(first), "\(what): packed panels change the token")
                XCTAssertEqual(bits(third), bits(first), "\(what)")

                let low = try Pipeline(modelPath: path, options: PipelineOptions(threads: 2, mode: .w8a8, lowMemory: true, isa: isa))
                for _ in 0 ..< 3 {
                    XCTAssertEqual(bits(try low.encode(image: image)), bits(first), "\(what) low memory")
                    XCTAssertEqual(low.repackedProducts(.encoder), 0, "\(what): low memory kept copies")
                }
            }
        }
    }

    func testConfigAndModelInfoComeFromTheFile() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.int8))
        XCTAssertEqual(p.config.imageSize, 32)
        XCTAssertEqual(p.config.tokenDim, 128)
        XCTAssertEqual(p.config.numClasses, 10)
        XCTAssertEqual(p.config.latentShape, [4, 16, 16])
        XCTAssertEqual(p.config.sampling.numSteps, 50)
        XCTAssertEqual(p.config.sampling.cfgScale, 1.5)
        XCTAssertEqual(p.config.sampling.tInterval, 0.3 ... 0.9)
        XCTAssertEqual(p.modelInfo["weights"], "int8")
        XCTAssertEqual(p.modelInfo["file"], "tiny-int8.gguf")
        XCTAssertEqual(p.modelInfo["source.file"], "reptok.ckpt")
        XCTAssertEqual(p.modelInfo["source.sha256"]?.count, 64)
    }

    // MARK: Errors

    func testLabelAndStepErrors() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.int8))
        XCTAssertThrowsError(try p.generate(label: 10, seed: 0, steps: 4, cfgScale: 1.5, interval: 0.3 ... 0.9)) {
            XCTAssertEqual($0 as? RuntimeError, .labelOutOfRange(label: 10, numClasses: 10))
        }
        XCTAssertThrowsError(try p.generate(label: -1, seed: 0, steps: 4, cfgScale: 1.5, interval: 0.3 ... 0.9)) {
            XCTAssertEqual($0 as? RuntimeError, .labelOutOfRange(label: -1, numClasses: 10))
        }
        XCTAssertThrowsError(try p.generate(label: 0, seed: 0, steps: 0, cfgScale: 1.5, interval: 0.3 ... 0.9)) {
            XCTAssertEqual($0 as? RuntimeError, .invalidSteps(0))
        }
        let token = [Float](repeating: 0.1, count: 128)
        XCTAssertThrowsError(try p.decode(token: token, seed: 0, steps: 0)) { XCTAssertEqual($0 as? RuntimeError, .invalidSteps(0)) }
        XCTAssertThrowsError(try p.decode(token: [1, 2, 3], seed: 0, steps: 2)) {
            XCTAssertEqual($0 as? RuntimeError, .badInputLength(what: "token", expected: 128, actual: 3))
        }
        XCTAssertThrowsError(try p.encode(image: [0])) {
            guard case .badInputLength = $0 as? RuntimeError else { return XCTFail("\($0)") }
        }
    }

    func testProgressCanCancel() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.int8))
        var seen: [(String, Int, Int)] = []
        XCTAssertThrowsError(try p.decode(token: [Float](repeating: 0, count: 128), seed: 0, steps: 5, progress: { stage, step, total in
            seen.append((stage.activity, step, total))
            return step < 2
        })) { XCTAssertEqual($0 as? RuntimeError, .cancelled) }
        XCTAssertEqual(seen.map(\.1), [1, 2])
        XCTAssertEqual(seen.first?.0, "decode")
        XCTAssertEqual(seen.first?.2, 5)
    }

    func rewrite(_ source: String, _ out: String, metadata edit: (inout [String: GGUFValue]) -> Void = { _ in },
                 drop: String? = nil) throws {
        try TinyFixture.rewrite(source, out, metadata: edit, drop: drop)
    }

    func testBadFilesFailBeforeAnyWork() throws {
        let good = try TinyFixture.model(.int8)
        let dir = TinyFixture.tmp

        // Wrong architecture.
        try rewrite(good, dir + "/arch.gguf", metadata: { $0["general.architecture"] = .string("llama") })
        XCTAssertThrowsError(try Pipeline(modelPath: dir + "/arch.gguf")) {
            XCTAssertEqual($0 as? RuntimeError, .config(.wrongArchitecture(path: dir + "/arch.gguf", found: "llama")))
        }
        // Unsupported format version.
        try rewrite(good, dir + "/version.gguf", metadata: { $0["reptok.format_version"] = .uint32(2) })
        XCTAssertThrowsError(try Pipeline(modelPath: dir + "/version.gguf")) {
            XCTAssertEqual($0 as? RuntimeError, .config(.unsupportedFormatVersion(path: dir + "/version.gguf", found: 2, supported: 1)))
        }
        // Missing tensor.
        let missing = "dec.backbone.mid_level.1.ff.up_proj.weight"
        try rewrite(good, dir + "/missing.gguf", drop: missing)
        XCTAssertThrowsError(try Pipeline(modelPath: dir + "/missing.gguf")) {
            XCTAssertEqual($0 as? RuntimeError, .missingTensor(path: dir + "/missing.gguf", name: missing))
        }
        // Metadata that contradicts the tensors.
        try rewrite(good, dir + "/shape.gguf", metadata: { $0["reptok.decoder.ff_hidden"] = .uint32(400) })
        XCTAssertThrowsError(try Pipeline(modelPath: dir + "/shape.gguf")) {
            guard case let .tensorShape(_, name, expected, actual) = $0 as? RuntimeError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "dec.backbone.mid_level.0.ff.up_proj.weight")
            XCTAssertEqual(expected, [800, 144])
            XCTAssertEqual(actual, [864, 144])
        }
        // Missing metadata key.
        try rewrite(good, dir + "/nokey.gguf", metadata: { $0["reptok.encoder.depth"] = nil })
        XCTAssertThrowsError(try Pipeline(modelPath: dir + "/nokey.gguf")) {
            XCTAssertEqual($0 as? RuntimeError, .config(.missingMetadata(path: dir + "/nokey.gguf", key: "reptok.encoder.depth")))
        }
        // Truncated file: the tensor table points past the end.
        let data = try Data(contentsOf: URL(fileURLWithPath: good))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/truncated.gguf"))
        XCTAssertThrowsError(try Pipeline(modelPath: dir + "/truncated.gguf")) {
            XCTAssertTrue($0 is GGUFError, "\($0)")
        }
        // Not a GGUF at all.
        XCTAssertThrowsError(try Pipeline(modelPath: TinyFixture.dir + "/model.yaml")) {
            XCTAssertTrue($0 is GGUFError, "\($0)")
        }
    }

    // MARK: Samplers

    /// Heun is second order: with 4 steps it must land closer to a 64-step Euler solution than
    /// 4-step Euler does (Euler's error is O(h), Heun's O(h²)).
    func testHeunIsMoreAccurateThanEulerAtFewSteps() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.f32))
        let token = try TinyFixture.goldenFloats("token")
        let noise = try TinyFixture.goldenFloats("dec_noise")
        let fine = try p.decodeLatent(token: token, noise: noise, steps: 64)
        let euler = try p.decodeLatent(token: token, noise: noise, steps: 4)
        let heun = try p.decodeLatent(token: token, noise: noise, steps: 4, sampler: .heun)
        let eEuler = Metrics.relativeL2(euler, fine), eHeun = Metrics.relativeL2(heun, fine)
        print(String(format: "4-step error against 64-step Euler: Euler %.4f, Heun %.4f", eEuler, eHeun))
        XCTAssertLessThan(eHeun, eEuler)
    }

    /// The decoder Euler loop with N steps equals N explicit velocity evaluations at t = i/N.
    func testDecoderEulerFollowsTheSpecSchedule() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.f32), options: PipelineOptions(threads: 1))
        let token = try TinyFixture.goldenFloats("token")
        var z = try TinyFixture.goldenFloats("dec_noise")
        let n = 3
        for i in stride(from: n, through: 1, by: -1) {
            let v = try p.decoderVelocity(latent: z, t: Float(i) / Float(n), token: token)
            for j in z.indices { z[j] -= (1 / Float(n)) * v[j] }
        }
        let loop = try p.decodeLatent(token: token, noise: try TinyFixture.goldenFloats("dec_noise"), steps: n)
        XCTAssertEqual(bits(loop), bits(z))
    }

    /// Generator Euler with guidance only inside the interval: rebuilt from single evaluations.
    func testGeneratorGuidanceIntervalIsInclusive() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.f32), options: PipelineOptions(threads: 1))
        let noise = NoiseGenerator.gaussian(count: 128, seed: 5, stream: .generator)
        // 10 steps: t = 0.3 and t = 0.9 are both grid points and must be guided.
        var x = noise
        for k in 0 ..< 10 {
            let t = Float(k) / 10
            let guided = k >= 3 && k <= 9
            let v = try p.generatorVelocity(x: x, t: t, label: 4, cfgScale: guided ? 1.5 : nil)
            let dt = Float(k + 1) / 10 - t
            for j in x.indices { x[j] += dt * v[j] }
        }
        let loop = try p.generate(label: 4, noise: noise, steps: 10, cfgScale: 1.5, interval: 0.3 ... 0.9)
        XCTAssertEqual(bits(loop), bits(x))
        // Guidance 1 equals the conditional velocity (v_u + 1·(v_c − v_u)), up to rounding.
        let vc = try p.generatorVelocity(x: noise, t: 0.5, label: 4)
        let v1 = try p.generatorVelocity(x: noise, t: 0.5, label: 4, cfgScale: 1)
        /// One float subtraction and addition of values of size ~1: a few ulps.
        XCTAssertLessThan(Metrics.relativeL2(v1, vc), 1e-6)
    }

    // MARK: Noise

    func testNoiseIsReproducibleStandardNormalAndStreamsDiffer() {
        let a = NoiseGenerator.gaussian(count: 100_000, seed: 42, stream: .decoder)
        XCTAssertEqual(a, NoiseGenerator.gaussian(count: 100_000, seed: 42, stream: .decoder))
        let b = NoiseGenerator.gaussian(count: 100_000, seed: 42, stream: .generator)
        let c = NoiseGenerator.gaussian(count: 100_000, seed: 43, stream: .decoder)
        /// Independent streams: |correlation| ~ 1/√n ≈ 0.003; 0.02 is > 6σ.
        XCTAssertLessThan(abs(Metrics.cosine(a, b)), 0.02)
        XCTAssertLessThan(abs(Metrics.cosine(a, c)), 0.02)
        let mean = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
        let variance = a.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(a.count)
        /// Standard error of the mean is 1/√n ≈ 0.0032 and of the variance √(2/n) ≈ 0.0045: 5σ bounds.
        XCTAssertLessThan(abs(mean), 0.016)
        XCTAssertLessThan(abs(variance - 1), 0.023)
        /// Tails: P(|z| > 3) = 0.0027 → 270 ± 16 expected out of 1e5.
        let tails = a.filter { abs($0) > 3 }.count
        XCTAssertTrue((190 ... 350).contains(tails), "\(tails) values beyond 3σ")
    }

    // MARK: Interpolation and output

    func testInterpolation() {
        let a: [Float] = [3, 0, 0, 1], b: [Float] = [0, 3, 0, 1]
        let lerp = Pipeline.interpolate(a, b, frames: 5, mode: .lerp)
        XCTAssertEqual(lerp.count, 5)
        XCTAssertEqual(lerp[0], a)
        XCTAssertEqual(lerp[4], b)
        XCTAssertEqual(lerp[2], [1.5, 1.5, 0, 1])
        let slerp = Pipeline.interpolate(a, b, frames: 3, mode: .slerp)
        // slerp computes in double and rounds each value (|v| ≤ 3) to float once: within
        // ½ ulp(3) ≈ 1.2e-7 of exact; 1e-6 is 8× that and far below any wrong weight.
        for (x, y) in zip(slerp[0], a) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        for (x, y) in zip(slerp[2], b) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        // Equal norms: the midpoint keeps the norm √10 and bisects the angle.
        let mid = slerp[1]
        // The norm is summed here in float: the rounded values, their squares and the sum each
        // move the sum of about 10 by at most ½ ulp(10) ≈ 4.8e-7 per rounding, the root halves
        // that relative to √10, and both roots round once more: under 1e-6 in the worst case,
        // so 1e-5 leaves a margin of 10.
        XCTAssertEqual(sqrt(mid.reduce(0) { $0 + $1 * $1 }), sqrt(10), accuracy: 1e-5)
        // mid[0] and mid[1] are the same double expression with a and b swapped, each rounded
        // once (≤ ½ ulp(2.1) ≈ 1.2e-7): 1e-6 as above.
        XCTAssertEqual(mid[0], mid[1], accuracy: 1e-6)
        XCTAssertEqual(Pipeline.interpolate(a, b, frames: 1, mode: .slerp), [a])
    }

    func testToRGB8RoundsAndClamps() {
        // Planar [3, 2, 2]; p = clamp(round(127.5 x + 127.5), 0, 255), NaN → 0.
        let img: [Float] = [-1, 1, 0.003, -0.0039,     // R: 0, 255, 127.88 → 128, 127.003 → 127
                            0, 0.5, 2, -2,             // G: 127.5 → 128, 191.25 → 191, 255, 0
                            .nan, 0.999, -0.999, 0.2]  // B: 0, 254.87 → 255, 0.13 → 0, 153
        XCTAssertEqual(Pipeline.toRGB8(img, size: 2), [0, 128, 0, 255, 191, 255, 128, 255, 0, 127, 0, 153])
    }

    /// Independent float64 antialiased bicubic (PIL / PyTorch antialias=True, a = −0.5) of one axis.
    static func bicubicWeights(inSize: Int, outSize: Int) -> [(start: Int, w: [Double])] {
        func cubic(_ x: Double) -> Double {
            let a = -0.5, t = abs(x)
            if t < 1 { return (a + 2) * t * t * t - (a + 3) * t * t + 1 }
            if t < 2 { return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a }
            return 0
        }
        let scale = Double(inSize) / Double(outSize), support = 2 * max(scale, 1)
        return (0 ..< outSize).map { i in
            let center = scale * (Double(i) + 0.5)
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), inSize)
            var w = (lo ..< hi).map { cubic((Double($0) - center + 0.5) / max(scale, 1)) }
            let sum = w.reduce(0, +)
            w = w.map { $0 / sum }
            return (lo, w)
        }
    }

    /// Crop + downscale against the float64 reference above: the runtime rounds to 8-bit levels
    /// like PIL, so values may differ by one level where the float result sits near a .5 boundary
    /// (float32 vs float64 accumulation); anything more is a wrong filter or crop.
    func testPrepareImageMatchesAFloat64Reference() {
        let (w, h, s) = (50, 40, 32)
        var state: UInt64 = 12345
        let rgb: [UInt8] = (0 ..< w * h * 3).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let ours = ImagePrep.prepare(rgb: rgb, width: w, height: h, size: s)
        let wx = Self.bicubicWeights(inSize: 40, outSize: s), wy = wx
        var exact = 0
        for c in 0 ..< 3 {
            for oy in 0 ..< s {
                for ox in 0 ..< s {
                    var v = 0.0
                    for (dy, a) in wy[oy].w.enumerated() {
                        for (dx, b) in wx[ox].w.enumerated() {
                            let y = wy[oy].start + dy, x = wx[ox].start + dx + 5     // crop x0 = (50 − 40)/2
                            v += a * b * Double(rgb[(y * w + x) * 3 + c])
                        }
                    }
                    let level = min(max(v.rounded(), 0), 255)
                    let mine = (Double(ours[c * s * s + oy * s + ox]) + 1) * 127.5
                    XCTAssertLessThanOrEqual(abs(mine - level), 1.0001)
                    if abs(mine - level) < 1e-3 { exact += 1 }
                }
            }
        }
        /// Ties within float32 rounding of a .5 boundary are rare: at least 99 % must be exact.
        XCTAssertGreaterThanOrEqual(exact, 3 * s * s * 99 / 100)
    }

    func testPrepareImageCropsTheCenterAndKeepsExactSizes() {
        // 40×30 image: the centered 30×30 square (columns 5..<35) is gray 100, the rest red.
        // After crop + resize to 32 only gray may remain: bicubic weights sum to 1, so a constant
        // stays constant, and any red column that leaked in would change the values.
        var rgb = [UInt8](repeating: 0, count: 40 * 30 * 3)
        for y in 0 ..< 30 {
            for x in 0 ..< 40 {
                let o = (y * 40 + x) * 3
                if x >= 5 && x < 35 { rgb[o] = 100; rgb[o + 1] = 100; rgb[o + 2] = 100 } else { rgb[o] = 255 }
            }
        }
        let out = ImagePrep.prepare(rgb: rgb, width: 40, height: 30, size: 32)
        XCTAssertEqual(out.count, 3 * 32 * 32)
        for v in out { XCTAssertEqual(v, 100 / 127.5 - 1) }
        // An image of the target size is only rescaled: x = p/127.5 − 1, planar.
        let card = AccuracyEval.testCard(size: 32)
        let same = ImagePrep.prepare(rgb: card, width: 32, height: 32, size: 32)
        for i in 0 ..< 32 * 32 { for c in 0 ..< 3 { XCTAssertEqual(same[c * 1024 + i], Float(card[i * 3 + c]) / 127.5 - 1) } }
    }
}
