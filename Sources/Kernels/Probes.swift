// Loops that measure this machine's ceilings (used by `reptok bench kernels`).
import CKernels

/// Machine-ceiling probes: register-only arithmetic loops and a streaming read.
public enum Probes {
    /// Float32 FMAs per iteration of `fmaLoop` (24 independent 16-lane chains).
    public static let fmaPerIteration = 24 * 16
    /// Int8 multiply-adds per iteration of `int8DotLoop` (24 independent vpdpbusd chains).
    public static let int8MacPerIteration = 24 * 64

    /// Runs `iterations` rounds of 24 independent SIMD16<Float> FMAs entirely in registers
    /// (AVX-512 C loop when available, else the same loop in Swift). Returns a value
    /// depending on every lane so the work cannot be dropped.
    public static func fmaLoop(iterations: Int, ctx: ComputeContext) -> Float {
        if ctx.usesAVX512 { return rtk_peak_fma_f32(iterations) }
        var acc = (0..<24).map { SIMD16<Float>(repeating: Float($0)) }
        let x = SIMD16<Float>(repeating: 0.999999), y = SIMD16<Float>(repeating: 1e-7)
        acc.withUnsafeMutableBufferPointer { a in
            for _ in 0..<iterations { for i in 0..<24 { a[i] = y.addingProduct(a[i], x) } }
        }
        return acc.reduce(SIMD16<Float>(), +).sum()
    }

    /// Runs `iterations` rounds of 24 independent vpdpbusd in registers; nil when the
    /// context has no VNNI path.
    public static func int8DotLoop(iterations: Int, ctx: ComputeContext) -> Int32? {
        ctx.usesVNNI ? rtk_peak_vnni(iterations) : nil
    }

    /// Reads `count` floats once with four independent 16-lane accumulators, with the same
    /// software prefetches as the gemv kernels (1 KB ahead into L1, 16 KB into L2) so the
    /// ceiling is what a streaming kernel can reach; returns the sum.
    public static func streamRead(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = s0, s2 = s0, s3 = s0
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 64 <= count {
            rtk_prefetch(raw + i * 4 + 1024); rtk_prefetch(raw + i * 4 + 1088)
            rtk_prefetch(raw + i * 4 + 1152); rtk_prefetch(raw + i * 4 + 1216)
            rtk_prefetch_l2(raw + i * 4 + 16384); rtk_prefetch_l2(raw + i * 4 + 16448)
            rtk_prefetch_l2(raw + i * 4 + 16512); rtk_prefetch_l2(raw + i * 4 + 16576)
            s0 += load16(p + i); s1 += load16(p + i + 16); s2 += load16(p + i + 32); s3 += load16(p + i + 48)
            i += 64
        }
        var t = ((s0 + s1) + (s2 + s3)).sum()
        while i < count { t += p[i]; i += 1 }
        return t
    }
}
