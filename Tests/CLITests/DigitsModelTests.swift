import Foundation
import ImageIO
import Runtime
import TestSupport
import XCTest

/// The default model, trained on scikit-learn's handwritten digits, judged by a classifier that
/// knows nothing of RepTok: k-nearest neighbours (k = 3, Euclidean) over the 1,437 training digits
/// at their native 8×8 resolution (`models/digits/`, written by tools/train-demo/export_digits.py).
///
/// - Generation: 50 images (classes 0–9, seeds 1–5, the model's default sampler settings), each
///   reduced to 8×8 by 4×4 block means, must be labelled as the class asked for in ≥ 80 % of cases,
///   in W8A32 and in W8A8.
/// - Reconstruction: 50 held-out digits (the first five of each class), upsampled to 32×32 by this
///   file's own bilinear resize, encoded and decoded (default steps, seed 0), reach ≥ 20 dB PSNR
///   against the input on average, and the int8 file is within 1 dB of its float twin.
///
/// The thresholds are the demo model's quality targets; the measured values are printed.
final class DigitsModelTests: XCTestCase {
    static let root = TestSupport.repoRoot
    static let int8Model = root.appendingPathComponent("models/reptok-digits-int8.gguf").path
    static let f32Model = root.appendingPathComponent("models/reptok-digits-f32.gguf").path

    struct Digits {
        var images: [[Float]]   // 64 grey levels 0...16 each, row-major 8×8
        var labels: [Int]
        var heldOut: [Bool]
    }

    static func loadDigits() throws -> Digits {
        let dir = root.appendingPathComponent("models/digits")
        let images = try NPYFile.read(dir.appendingPathComponent("images.npy").path)
        let labels = try NPYFile.read(dir.appendingPathComponent("labels.npy").path)
        let held = try NPYFile.read(dir.appendingPathComponent("heldout.npy").path)
        let n = labels.values.count
        precondition(images.shape == [n, 8, 8] && held.values.count == n, "digits data shapes")
        return Digits(images: (0..<n).map { Array(images.values[($0 * 64)..<($0 * 64 + 64)]) },
                      labels: labels.values.map { Int($0) }, heldOut: held.values.map { $0 != 0 })
    }

    /// k-nearest-neighbour label (k = 3, squared Euclidean; ties go to the nearest neighbour's label).
    static func classify(_ x: [Float], train: [(image: [Float], label: Int)]) -> Int {
        var best: [(d: Float, label: Int)] = []
        for t in train {
            var d: Float = 0
            for i in 0..<64 { let e = x[i] - t.image[i]; d += e * e }
            best.append((d, t.label))
            best.sort { $0.d < $1.d }
            if best.count > 3 { best.removeLast() }
        }
        var votes = [Int: Int]()
        for b in best { votes[b.label, default: 0] += 1 }
        let top = votes.values.max()!
        return best.first { votes[$0.label] == top }!.label
    }

    /// 8×8 grey levels 0...16 → 32×32 RGB8: bilinear with half-pixel centres and edge clamping
    /// (the training program's resize), grey copied to the three channels.
    static func upsample(_ d: [Float], size: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size * size * 3)
        let scale = 8.0 / Double(size)
        func coord(_ i: Int) -> (Int, Int, Double) {
            let c = max((Double(i) + 0.5) * scale - 0.5, 0)
            let lo = min(Int(c), 7)
            return (lo, min(lo + 1, 7), c - Double(lo))
        }
        for y in 0..<size {
            let (y0, y1, fy) = coord(y)
            for x in 0..<size {
                let (x0, x1, fx) = coord(x)
                let top = Double(d[y0 * 8 + x0]) * (1 - fx) + Double(d[y0 * 8 + x1]) * fx
                let bottom = Double(d[y1 * 8 + x0]) * (1 - fx) + Double(d[y1 * 8 + x1]) * fx
                let v = (top * (1 - fy) + bottom * fy) / 16 * 255
                let byte = UInt8(max(0, min(255, v.rounded())))
                for c in 0..<3 { out[(y * size + x) * 3 + c] = byte }
            }
        }
        return out
    }

    /// 32×32 RGB8 → 8×8 grey levels 0...16 (channel mean, then 4×4 block means).
    static func downsample(_ rgb: [UInt8], size: Int = 32) -> [Float] {
        let block = size / 8
        var out = [Float](repeating: 0, count: 64)
        for y in 0..<size {
            for x in 0..<size {
                let p = (y * size + x) * 3
                let grey = (Float(rgb[p]) + Float(rgb[p + 1]) + Float(rgb[p + 2])) / 3
                out[(y / block) * 8 + x / block] += grey / 255 * 16 / Float(block * block)
            }
        }
        return out
    }

    /// PSNR in dB of two RGB8 images, on [0, 1].
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        var se = 0.0
        for i in a.indices { let e = (Double(a[i]) - Double(b[i])) / 255; se += e * e }
        return 10 * log10(1 / max(se / Double(a.count), 1e-20))
    }

    func testTheClassifierIsGoodEnoughToJudge() throws {
        let d = try Self.loadDigits()
        let train = d.images.indices.filter { !d.heldOut[$0] }.map { (d.images[$0], d.labels[$0]) }
        let test = d.images.indices.filter { d.heldOut[$0] }
        XCTAssertEqual(train.count, 1437)
        XCTAssertEqual(test.count, 360)
        let direct = test.filter { Self.classify(d.images[$0], train: train) == d.labels[$0] }.count
        // The same digits after the 8 → 32 → 8 round trip that generated images go through.
        let roundTrip = test.filter { Self.classify(Self.downsample(Self.upsample(d.images[$0])), train: train) == d.labels[$0] }.count
        print("digits classifier: held-out accuracy \(direct)/360 direct, \(roundTrip)/360 after 8→32→8")
        // Measured 355/360 direct (as in README.md) and 354/360 after the round trip; the data
        // and the classifier are fixed, so only a change to this file's resize can move them.
        // 95 % (342/360) leaves a dozen misses of margin, and a judge that good accounts for
        // about 2.5 of the 10 misses the 40/50 generation bound allows.
        XCTAssertGreaterThanOrEqual(Double(direct) / 360, 0.95)
        XCTAssertGreaterThanOrEqual(Double(roundTrip) / 360, 0.95)
    }

    func testGenerationsAreTheClassAskedFor() throws {
        let d = try Self.loadDigits()
        let train = d.images.indices.filter { !d.heldOut[$0] }.map { (d.images[$0], d.labels[$0]) }
        for mode in [MatrixMode.w8a32, .w8a8] {
            let p = try Pipeline(modelPath: Self.int8Model, options: PipelineOptions(mode: mode))
            var right = 0
            var confusion: [String] = []
            for label in 0..<10 {
                for seed in UInt64(1)...5 {
                    // The model's own sampling defaults, as `reptok generate` resolves them.
                    let image = try p.generate(try GenerateRequest(classes: .labels([label]), seed: seed).resolved(for: p)).images[0]
                    let got = Self.classify(Self.downsample(image), train: train)
                    if got == label { right += 1 } else { confusion.append("\(label)→\(got) (seed \(seed))") }
                }
            }
            print("digits generation \(mode): \(right)/50 labelled as asked; misses: \(confusion.joined(separator: ", "))")
            XCTAssertGreaterThanOrEqual(right, 40, "\(mode): \(right)/50 generations labelled as the class asked for")
        }
    }

    /// `reptok eval --digits` end to end: one row per held-out digit (50), and its mean token
    /// cosine, PSNR against the input and class counts meet the same targets as the measurements
    /// of this file (it has its own resize and classifier, so the two are not compared digit by digit).
    func testEvalDigitsReportsAccuracyAndPSNRAgainstTheInput() throws {
        let r = try TestSupport.run(TestSupport.reptok, ["eval", "--model", Self.int8Model, "--reference", Self.f32Model,
                                                         "--digits", Self.root.appendingPathComponent("models/digits").path, "--steps", "25"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("digit #") }.count, 50, r.stdout)
        let mean = lines.first { $0.hasPrefix("mean") }?.split(separator: " ").compactMap { Double($0) } ?? []
        XCTAssertEqual(mean.count, 5, "token cos, PSNR, SSIM, A/input, B/input: \(r.stdout)")
        if mean.count == 5 {
            // int8 against f32 in W8A32 (eval's default): 0.99999 measured (README.md; W8A8
            // 0.99997). 0.9999 allows 10× the measured distance from 1 and still fails an
            // error of int4's size (0.9987 on this model).
            XCTAssertGreaterThan(mean[0], 0.9999, "token cosine")
            XCTAssertGreaterThanOrEqual(mean[3], 20, "int8 PSNR against the input")
            XCTAssertGreaterThanOrEqual(mean[4], 20, "f32 PSNR against the input")
        }
        let accuracy = lines.first { $0.hasPrefix("class accuracy") } ?? ""
        let counts = accuracy.split(whereSeparator: { !$0.isNumber && $0 != "/" }).filter { $0.contains("/") }
            .compactMap { Int($0.split(separator: "/")[0]) }
        XCTAssertEqual(counts.count, 2, accuracy)
        XCTAssertTrue(counts.allSatisfy { $0 >= 40 }, accuracy)
    }

    func testHeldOutDigitsReconstruct() throws {
        let d = try Self.loadDigits()
        var picked: [Int] = []
        for label in 0..<10 { picked += d.images.indices.filter { d.heldOut[$0] && d.labels[$0] == label }.prefix(5) }
        XCTAssertEqual(picked.count, 50)
        var mean: [String: Double] = [:]
        var outputs: [String: [[UInt8]]] = [:]
        for (name, path, mode) in [("f32", Self.f32Model, MatrixMode.w8a32), ("int8 w8a32", Self.int8Model, .w8a32), ("int8 w8a8", Self.int8Model, .w8a8)] {
            let p = try Pipeline(modelPath: path, options: PipelineOptions(mode: mode))
            let size = p.config.imageSize
            var sum = 0.0
            var images: [[UInt8]] = []
            for i in picked {
                let rgb = Self.upsample(d.images[i], size: size)
                let token = try p.encode(image: p.prepareImage(rgb: rgb, width: size, height: size))
                let out = Pipeline.toRGB8(try p.decode(token: token, seed: 0, steps: p.config.sampling.numSteps), size: size)
                sum += Self.psnr(out, rgb)
                images.append(out)
            }
            mean[name] = sum / Double(picked.count)
            outputs[name] = images
        }
        let vsFloat = zip(outputs["int8 w8a32"]!, outputs["f32"]!).map { Self.psnr($0, $1) }.reduce(0, +) / 50
        print(String(format: "digits reconstruction, mean PSNR vs input: f32 %.2f dB, int8 w8a32 %.2f dB, int8 w8a8 %.2f dB; int8 w8a32 vs f32 %.2f dB",
                     mean["f32"]!, mean["int8 w8a32"]!, mean["int8 w8a8"]!, vsFloat))
        XCTAssertGreaterThanOrEqual(mean["f32"]!, 20)
        XCTAssertGreaterThanOrEqual(mean["int8 w8a32"]!, 20)
        XCTAssertGreaterThanOrEqual(mean["int8 w8a8"]!, 20)
        XCTAssertLessThanOrEqual(mean["f32"]! - mean["int8 w8a32"]!, 1, "int8 within 1 dB of its float twin")
        XCTAssertLessThanOrEqual(mean["f32"]! - mean["int8 w8a8"]!, 1, "int8 W8A8 within 1 dB of its float twin")
    }
}
