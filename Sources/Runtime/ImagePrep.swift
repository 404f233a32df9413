// Image preparation (docs/model.md, 'Image preparation'): any RGB image → [3, S, S] in [-1, 1] → encoder input [3, E, E].
import Foundation
import Kernels

/// Image preparation, docs/model.md, 'Image preparation'.
///
/// Choices (the reference leaves them open; docs/model.md, 'Image preparation'):
/// - Center crop: the largest centered square, offset `⌊(w − side)/2⌋`, `⌊(h − side)/2⌋`.
/// - Resize to S×S: antialiased bicubic (a = −0.5, support scaled with the downscale factor: the
///   filter of PIL's `Image.BICUBIC` and PyTorch's `antialias=True`), computed in float, then
///   rounded and clamped to integers 0…255 as PIL does for 8-bit images. An image already S×S
///   is used as is.
public enum ImagePrep {
    /// DINOv2 normalisation (ImageNet statistics), per RGB channel.
    static let mean: [Float] = [0.485, 0.456, 0.406]
    static let std: [Float] = [0.229, 0.224, 0.225]

    /// Interleaved RGB8 `[height, width, 3]` of any size → planar `[3, size, size]`, `x = p/127.5 − 1`.
    /// Preconditions: `rgb.count == width·height·3`, width and height ≥ 1.
    public static func prepare(rgb: [UInt8], width: Int, height: Int, size: Int) -> [Float] {
        precondition(width >= 1 && height >= 1 && rgb.count == width * height * 3, "prepare: \(rgb.count) bytes for \(width)×\(height) RGB")
        // 1. Center crop to a side × side square.
        let side = min(width, height)
        let x0 = (width - side) / 2, y0 = (height - side) / 2
        var pixels = [Float](repeating: 0, count: side * side * 3)       // [side, side, 3]
        for y in 0 ..< side {
            for x in 0 ..< side {
                let src = ((y0 + y) * width + x0 + x) * 3
                let dst = (y * side + x) * 3
                for c in 0 ..< 3 { pixels[dst + c] = Float(rgb[src + c]) }
            }
        }
        // 2. Antialiased bicubic resize to size × size, rounded to 8-bit levels like PIL.
        var resized: [Float]                                              // [size, size, 3]
        if side == size {
            resized = pixels
        } else {
            resized = [Float](repeating: 0, count: size * size * 3)
            pixels.withUnsafeBufferPointer { src in
                resized.withUnsafeMutableBufferPointer { dst in
                    guard let from = src.baseAddress, let to = dst.baseAddress else { return }
                    resizeBicubicAA(from, height: side, width: side, channels: 3, out: to, outHeight: size, outWidth: size)
                }
            }
            for i in resized.indices { resized[i] = min(max(resized[i].rounded(), 0), 255) }
        }
        // 3. Planar [3, size, size] in [-1, 1].
        var out = [Float](repeating: 0, count: 3 * size * size)
        let plane = size * size
        for i in 0 ..< plane {
            for c in 0 ..< 3 { out[c * plane + i] = resized[i * 3 + c] / 127.5 - 1 }
        }
        return out
    }

    /// Planar `[3, S, S]` in [-1, 1] → DINOv2 input `[3, E, E]` (docs/model.md, 'Image preparation' step 3):
    /// average-pool by `⌊S/E⌋` when that is > 1, bilinear resize (align_corners = false, no
    /// antialias) to E×E, `u = (x+1)/2`, then `(u − mean)/std` per channel.
    static func encoderInput(image: [Float], size: Int, inputSize: Int) -> [Float] {
        precondition(image.count == 3 * size * size)
        let e = inputSize
        var out = [Float](repeating: 0, count: 3 * e * e)
        // Optional integer average pooling (the public code does it when S ≥ 2E).
        let pool = size / e
        var src = image
        var side = size
        if pool > 1 {
            side = size / pool
            src = [Float](repeating: 0, count: 3 * side * side)
            let inv = 1 / Float(pool * pool)
            for c in 0 ..< 3 {
                for y in 0 ..< side {
                    for x in 0 ..< side {
                        var s: Float = 0
                        for dy in 0 ..< pool {
                            for dx in 0 ..< pool { s += image[c * size * size + (y * pool + dy) * size + x * pool + dx] }
                        }
                        src[c * side * side + y * side + x] = s * inv
                    }
                }
            }
        }
        // Bilinear resize, one plane at a time (channels = 1).
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                guard let from = s.baseAddress, let to = o.baseAddress else { return }
                for c in 0 ..< 3 {
                    resizeBilinear(from + c * side * side, height: side, width: side, channels: 1,
                                   out: to + c * e * e, outHeight: e, outWidth: e)
                }
            }
        }
        // u = (x + 1)/2, then (u − mean)/std.
        for c in 0 ..< 3 {
            for i in 0 ..< e * e {
                let u = (out[c * e * e + i] + 1) / 2
                out[c * e * e + i] = (u - mean[c]) / std[c]
            }
        }
        return out
    }
}
