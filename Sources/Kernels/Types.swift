// Shared value types of the kernel API: weight matrices, GEMM modes, epilogue activations.

/// How `matmul` and `conv3x3` treat an int8 (or int4) weight matrix.
/// - `w8a32`: weights are widened to float32 in registers; float32 FMA accumulation.
/// - `w8a8`: activations are quantized to int8 per row on the fly (symmetric,
///   scale = max|row| / 127, round to nearest even), products accumulate in int32.
/// int4 weights follow the same two modes (W4A32, W4A8); see `matmulQ4`.
/// Float32 weights ignore the mode and always run in float32.
public enum MatrixMode: String, Sendable, CaseIterable { case w8a32, w8a8 }

/// A weight matrix W[n, k], row-major (PyTorch `Linear` layout: one row per output).
/// Convolution weights are viewed as [cout, kh*kw*cin] (tap-major, channel fastest).
public struct WeightMatrix {
    public enum Storage {
        /// float32 values, [n, k].
        case f32(UnsafePointer<Float>)
        /// int8 values [n, k] with one float32 scale per row [n]: W[j, p] = q[j, p] * scales[j].
        case i8(UnsafePointer<Int8>, scales: UnsafePointer<Float>)
        /// int4 in GGML Q4_0 blocks, [n][k/32] blocks of 18 bytes (k a multiple of 32): an
        /// fp16 scale d, then 16 bytes whose low nibbles are the group's elements 0…15 and
        /// high nibbles its elements 16…31; W[j, p] = (nibble − 8) · d.
        case q4(UnsafeRawPointer)
    }
    public let storage: Storage
    /// Rows (outputs) and columns (inputs).
    public let n: Int, k: Int
    /// For int4 weights: the same weights repacked into 16-column strips (`Q4Strips`), which
    /// W4A8 reads instead of the blocks in the row form of `avx512vnni` and the panel form of
    /// every x86 level; nil otherwise. Every other path reads `storage`.
    public private(set) var strips: UnsafeRawPointer? = nil
    /// For int8 weights: the same weights in the W8A8 panels of level `panelsLevel` (`I8Panels`),
    /// which the W8A8 panel form of that level reads instead of packing; nil otherwise.
    public private(set) var panels: UnsafeRawPointer? = nil
    public private(set) var panelsLevel: ISA? = nil
    /// For int8 weights: each row's Σ |w| over its negative weights [n] (`I8RowTerms`), which the
    /// few-row W8A8 products of a level with a kernel for them (avx2) take instead of summing
    /// them; nil otherwise.
    public private(set) var rowTerms: UnsafePointer<Int32>? = nil

    public init(f32: UnsafePointer<Float>, n: Int, k: Int) {
        precondition(n >= 0 && k >= 0, "WeightMatrix: negative shape")
        storage = .f32(f32); self.n = n; self.k = k
    }

    public init(i8: UnsafePointer<Int8>, scales: UnsafePointer<Float>, n: Int, k: Int) {
        precondition(n >= 0 && k >= 0, "WeightMatrix: negative shape")
        storage = .i8(i8, scales: scales); self.n = n; self.k = k
    }

    /// int4 weights in Q4_0 blocks (see `Storage.q4`); k must be a multiple of 32.
    public init(q4: UnsafeRawPointer, n: Int, k: Int) {
        precondition(n >= 0 && k >= 0 && k % 32 == 0, "WeightMatrix: int4 needs k to be a multiple of 32")
        storage = .q4(q4); self.n = n; self.k = k
    }

    /// This int4 matrix with its strips (`Q4Strips` owns them and must outlive the copy).
    func withStrips(_ p: UnsafeRawPointer) -> WeightMatrix {
        var w = self
        w.strips = p
        return w
    }

    /// This int8 matrix with its panels for `level` (`I8Panels` owns them and must outlive the copy).
    func withPanels(_ p: UnsafeRawPointer, level: ISA) -> WeightMatrix {
        var w = self
        w.panels = p
        w.panelsLevel = level
        return w
    }

    /// This int8 matrix with its row terms (`I8RowTerms` owns them and must outlive the copy).
    func withRowTerms(_ p: UnsafePointer<Int32>) -> WeightMatrix {
        var w = self
        w.rowTerms = p
        return w
    }

    /// Bytes of one Q4_0 row of k weights.
    @inlinable
    public static func q4RowBytes(k: Int) -> Int { k / 32 * 18 }

    /// Dequantized value W[j, p] (scalar helper for references and tests).
    @inlinable
    public func value(_ j: Int, _ p: Int) -> Float {
        switch storage {
        case .f32(let w): return w[j * k + p]
        case .i8(let q, let s): return Float(q[j * k + p]) * s[j]
        case .q4(let b):
            let blk = b + j * WeightMatrix.q4RowBytes(k: k) + (p / 32) * 18
            let d = Float(Float16(bitPattern: UInt16(blk.load(as: UInt8.self)) | UInt16(blk.load(fromByteOffset: 1, as: UInt8.self)) << 8))
            let byte = blk.load(fromByteOffset: 2 + p % 16, as: UInt8.self)
            let nib = p % 32 < 16 ? byte & 15 : byte >> 4
            return Float(Int(nib) - 8) * d
        }
    }
}

/// Fused activation of the GEMM epilogue. `gelu` is the exact, erf-based GELU.
public enum Activation: Sendable { case none, gelu, silu }

extension Activation {
    /// The activation on one 16-lane chunk: the epilogue's (`Epilogue.transform`) and the
    /// token mixing's (`mlpAcrossRows`), so both give the same bits.
    @_transparent
    func apply(_ v: SIMD16<Float>) -> SIMD16<Float> {
        switch self {
        case .none: return v
        case .gelu: return vgelu(v)
        case .silu: return vsilu(v)
        }
    }
}
