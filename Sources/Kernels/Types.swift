// Shared value types of the kernel API: weight matrices, GEMM modes, epilogue activations.

/// How `matmul` and `conv3x3` treat an int8 weight matrix.
/// - `w8a32`: weights are widened to float32 in registers; float32 FMA accumulation.
/// - `w8a8`: activations are quantized to int8 per row on the fly (symmetric,
///   scale = max|row| / 127, round to nearest even), products accumulate in int32.
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
    }
    public let storage: Storage
    /// Rows (outputs) and columns (inputs).
    public let n: Int, k: Int

    public init(f32: UnsafePointer<Float>, n: Int, k: Int) {
        precondition(n >= 0 && k >= 0, "WeightMatrix: negative shape")
        storage = .f32(f32); self.n = n; self.k = k
    }

    public init(i8: UnsafePointer<Int8>, scales: UnsafePointer<Float>, n: Int, k: Int) {
        precondition(n >= 0 && k >= 0, "WeightMatrix: negative shape")
        storage = .i8(i8, scales: scales); self.n = n; self.k = k
    }

    /// Dequantized value W[j, p] (scalar helper for references and tests).
    @inlinable
    public func value(_ j: Int, _ p: Int) -> Float {
        switch storage {
        case .f32(let w): return w[j * k + p]
        case .i8(let q, let s): return Float(q[j * k + p]) * s[j]
        }
    }
}

/// Fused activation of the GEMM epilogue. `gelu` is the exact, erf-based GELU.
public enum Activation: Sendable { case none, gelu, silu }
