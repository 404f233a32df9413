// int4 weights in GGML's Q4_0 blocks (layout and reader in Formats/Q4Blocks.swift): per group of
// 32 inputs, symmetric, one fp16 scale.
import CKernels
import Formats
import ModelFile

/// Quantizes a row-major `[rows, cols]` matrix (cols a multiple of 32) to Q4_0 blocks.
///
/// Per group of 32 consecutive values: `d = m / −8` where m is the value of largest magnitude
/// (so m itself is stored exactly as nibble 0, i.e. −8·d, and the whole range [−8, 7] is used,
/// as ggml does), rounded to fp16; then `nibble = clamp(round(x / d) + 8, 0, 15)` (ties away
/// from zero) with the fp16 d, so the stored value `(nibble − 8) · d` is the nearest grid point
/// to x. An all-zero group has d = 0 and nibbles 8. Layout: low nibbles of the 16 data bytes are
/// elements 0…15, high nibbles 16…31.
/// - Returns: the blocks, and the error over the whole matrix; nil when a scale overflows fp16
///   (|w| > 8 · 65504).
///
/// The nibbles and error sums come from C (`rtk_q4_0_group_extremes`, `rtk_quantize_q4_0`: eight
/// values at a time), the fp16 scales from Swift's `Float16`; `quantizeQ4_0Scalar` is the reference.
public func quantizeQ4_0(_ w: [Float], rows: Int, cols: Int) -> (blocks: [UInt8], error: QuantError)? {
    precondition(w.count == rows * cols && cols % 32 == 0, "Q4_0 needs cols to be a multiple of 32")
    let groupsPerRow = cols / 32
    var out = [UInt8](repeating: 0, count: rows * groupsPerRow * Q4_0.blockBytes)
    var sums = ErrorSums()
    var extremes = [Float](repeating: 0, count: groupsPerRow), scales = extremes
    let ok = w.withUnsafeBufferPointer { w in
        out.withUnsafeMutableBufferPointer { out in
            for r in 0 ..< rows {  // a row at a time: its groups' extremes, their fp16 scales, the nibbles
                let x = w.baseAddress! + r * cols, blocks = out.baseAddress! + r * groupsPerRow * Q4_0.blockBytes
                rtk_q4_0_group_extremes(x, groupsPerRow, &extremes)
                for g in 0 ..< groupsPerRow {
                    let h = Float16(extremes[g] / -8)
                    guard h.isFinite else { return false }
                    scales[g] = Float(h)
                    blocks[g * Q4_0.blockBytes] = UInt8(h.bitPattern & 0xff)
                    blocks[g * Q4_0.blockBytes + 1] = UInt8(h.bitPattern >> 8)
                }
                sums.add { rtk_quantize_q4_0(x, groupsPerRow, scales, blocks, $0) }
            }
            return true
        }
    }
    guard ok else { return nil }
    return (out, sums.error)
}

/// The value-by-value reference of `quantizeQ4_0` (the tests hold the fast one to it: the same
/// blocks byte for byte, the error statistics up to the order of their float64 sums).
func quantizeQ4_0Scalar(_ w: [Float], rows: Int, cols: Int) -> (blocks: [UInt8], error: QuantError)? {
    precondition(w.count == rows * cols && cols % 32 == 0, "Q4_0 needs cols to be a multiple of 32")
    let groups = rows * cols / 32
    var out = [UInt8](repeating: 0, count: groups * Q4_0.blockBytes)
    var errSq = 0.0, normSq = 0.0, maxAbs = 0.0
    var overflow = false
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { nib in
    w.withUnsafeBufferPointer { w in
        out.withUnsafeMutableBufferPointer { out in
            for g in 0 ..< groups {
                let x = w.baseAddress! + g * 32
                var m: Float = 0
                for p in 0 ..< 32 where abs(x[p]) > abs(m) { m = x[p] }
                let h = Float16(m / -8)
                if !h.isFinite { overflow = true; return }
                let d = Float(h)
                let blk = out.baseAddress! + g * Q4_0.blockBytes
                blk[0] = UInt8(h.bitPattern & 0xff); blk[1] = UInt8(h.bitPattern >> 8)
                for p in 0 ..< 32 {
                    nib[p] = 8
                    if d != 0 {
                        let v = min(max((x[p] / d).rounded(.toNearestOrAwayFromZero), -8), 7)
                        nib[p] = UInt8(Int(v) + 8)
                    }
                    let e = Double(Float(Int(nib[p]) - 8) * d) - Double(x[p])
                    errSq += e * e
                    normSq += Double(x[p]) * Double(x[p])
                    maxAbs = max(maxAbs, abs(e))
                }
                for b in 0 ..< 16 { blk[2 + b] = nib[b] | nib[b + 16] << 4 }
            }
        }
    }
    }
    if overflow { return nil }
    return (out, QuantError(relativeL2: normSq > 0 ? (errSq / normSq).squareRoot() : 0, maxAbs: maxAbs))
}

/// The file type of a quantizable weight under `--weights int4`: Q4_0 for the Linear layers of
/// the encoder, adapter, decoder and generator whose input width is a multiple of 32; int8
/// (per row) for the VAE (convolutions, compute-bound and small) and for any layer whose
/// input width does not divide into groups of 32 (e.g. a patch embedding of 3·p² inputs).
func int4FileType(name: String, outputShape: [Int]) -> GGMLType {
    let k = outputShape.dropFirst().reduce(1, *)
    if name.hasPrefix(Component.vae.prefix) || outputShape.count != 2 || k % 32 != 0 { return .i8 }
    return .q4_0
}

/// The `reptok.quant.scheme` value of a weight format.
func quantScheme(_ weights: WeightFormat) -> String {
    switch weights {
    case .int8: return "per_channel_symmetric_int8"
    case .int4: return "q4_0_per_group32_symmetric;int8_per_channel_for_vae_and_non_multiple_of_32"
    case .f16, .f32: return "none"
    }
}
