// GGML's Q4_0 blocks as a file type: their size and their exact dequantization (the quantizer is
// in Quant). Layout: fp16 scale d, then 16 bytes whose low nibbles are elements 0…15 and high
// nibbles 16…31; value = (nibble − 8) · d.

/// Bytes of one Q4_0 block (fp16 scale + 16 bytes of nibbles) and its elements.
public enum Q4_0 {
    public static let blockBytes = 18
    public static let blockElements = 32
}

/// Dequantizes `count` elements (a multiple of 32) of Q4_0 blocks.
public func dequantizeQ4_0(_ data: UnsafeRawBufferPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
    for g in 0 ..< count / 32 {
        let o = g * Q4_0.blockBytes
        let d = Float(Float16(bitPattern: UInt16(data[o]) | UInt16(data[o + 1]) << 8))
        for b in 0 ..< 16 {
            let byte = data[o + 2 + b]
            out[g * 32 + b] = Float(Int(byte & 15) - 8) * d
            out[g * 32 + 16 + b] = Float(Int(byte >> 4) - 8) * d
        }
    }
}

