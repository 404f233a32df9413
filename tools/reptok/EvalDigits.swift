import Foundation
import ImageIO
import Runtime

/// The labelled digits set of the demo model (`models/digits/`: `images.npy` uint8 [N, 8, 8] with
/// grey levels 0...16, `labels.npy` uint8 [N], `heldout.npy` uint8 [N], 1 = held out of training),
/// and what `reptok eval --digits` measures with it.
struct DigitsSet {
    var images: [[Float]]   // N × 64, grey levels 0...16, row-major 8×8
    var labels: [Int]
    var heldOut: [Bool]

    init(folder: String) throws {
        func read(_ name: String) throws -> NPYFile.Array { try NPYFile.read((folder as NSString).appendingPathComponent(name)) }
        let images = try read("images.npy"), labels = try read("labels.npy"), held = try read("heldout.npy")
        let n = labels.values.count
        guard images.shape == [n, 8, 8], held.values.count == n, n > 0 else {
            throw CLIError("\(folder): expected images.npy [N, 8, 8], labels.npy [N] and heldout.npy [N]; found \(images.shape), \(labels.shape), \(held.shape)")
        }
        self.images = (0..<n).map { Array(images.values[($0 * 64)..<($0 * 64 + 64)]) }
        // labels are class indices: whole numbers, whatever dtype the file declares
        if let bad = labels.values.first(where: { !($0 >= 0 && $0 < 65536 && $0.rounded() == $0) }) {
            throw CLIError("\(folder)/labels.npy: label \(bad) is not a class index (a whole number in 0...65535)")
        }
        self.labels = labels.values.map { Int($0) }
        self.heldOut = held.values.map { $0 != 0 }
    }

    /// The training split as (image, label) pairs: the classifier's memory.
    var training: [(image: [Float], label: Int)] { images.indices.filter { !heldOut[$0] }.map { (images[$0], labels[$0]) } }

    /// The first `perClass` held-out digits of each class, in class order.
    func heldOutSample(perClass: Int) -> [Int] {
        Set(labels).sorted().flatMap { c in images.indices.filter { heldOut[$0] && labels[$0] == c }.prefix(perClass) }
    }

    /// k-nearest-neighbour label (k = 3, squared Euclidean on the 8×8 grey levels; a tie in
    /// votes goes to the label of the nearest of the tied neighbours).
    static func classify(_ x: [Float], memory: [(image: [Float], label: Int)]) -> Int {
        var best: [(d: Float, label: Int)] = []
        for m in memory {
            var d: Float = 0
            for i in 0..<64 { let e = x[i] - m.image[i]; d += e * e }
            if best.count < 3 || d < best[best.count - 1].d {
                best.append((d, m.label))
                best.sort { $0.d < $1.d }
                if best.count > 3 { best.removeLast() }
            }
        }
        var votes: [Int: Int] = [:]
        for b in best { votes[b.label, default: 0] += 1 }
        let top = votes.values.max() ?? 0
        return best.first { votes[$0.label] == top }?.label ?? -1
    }

    /// 8×8 grey levels → `size`×`size` interleaved RGB8, bilinear with half-pixel centres and
    /// edge clamping: the training program's resize of the data.
    static func toRGB(_ d: [Float], size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size * size * 3)
        func taps(_ i: Int) -> (Int, Int, Float) {
            let c = max((Float(i) + 0.5) * 8 / Float(size) - 0.5, 0)
            let lo = min(Int(c), 7)
            return (lo, min(lo + 1, 7), c - Float(lo))
        }
        for y in 0..<size {
            let (y0, y1, fy) = taps(y)
            for x in 0..<size {
                let (x0, x1, fx) = taps(x)
                let v = ((d[y0 * 8 + x0] * (1 - fx) + d[y0 * 8 + x1] * fx) * (1 - fy)
                         + (d[y1 * 8 + x0] * (1 - fx) + d[y1 * 8 + x1] * fx) * fy) / 16 * 255
                let byte = UInt8(max(0, min(255, v.rounded())))
                for c in 0..<3 { out[(y * size + x) * 3 + c] = byte }
            }
        }
        return out
    }

    /// Planar image `[3, S, S]` in [-1, 1] → 8×8 grey levels 0...16 (channel mean, block means).
    static func toDigit(_ image: [Float], size: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 64)
        let plane = size * size
        for y in 0..<size {
            for x in 0..<size {
                var grey: Float = 0
                for c in 0..<3 { grey += image[c * plane + y * size + x] }
                let u = min(max((grey / 3 + 1) / 2, 0), 1)
                out[(y * 8 / size) * 8 + x * 8 / size] += u * 16 * 64 / Float(plane)
            }
        }
        return out
    }

    /// Class accuracy of `perClass` generations of every class (seeds 1...perClass, the model's
    /// default steps, guidance and interval), judged by `classify` against the training split.
    func generationAccuracy(_ p: Pipeline, perClass: Int) throws -> (right: Int, total: Int) {
        let memory = training
        let s = p.config.sampling
        var right = 0, total = 0
        for label in 0..<p.config.numClasses {
            for seed in 1...UInt64(perClass) {
                let token = try p.generate(label: label, seed: seed, steps: s.numSteps, cfgScale: s.cfgScale, interval: s.tInterval)
                let image = try p.decode(token: token, seed: seed, steps: s.numSteps)
                right += Self.classify(Self.toDigit(image, size: p.config.imageSize), memory: memory) == label ? 1 : 0
                total += 1
            }
        }
        return (right, total)
    }
}
