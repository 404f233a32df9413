// Loops that measure this machine's ceilings (used by `reptok bench kernels`).
import CKernels

/// Machine-ceiling probes: register-only arithmetic loops and a streaming read.
public enum Probes {
    /// A register-only loop of one instruction family: `run(iterations)` executes
    /// `macsPerIteration` multiply-adds per iteration on the calling thread (count 2 operations
    /// per multiply-add for FLOP/s) and returns a value that depends on every lane.
    public struct Loop: Sendable {
        /// What the loop runs, e.g. "vfmadd231ps ymm x12".
        public let name: String
        public let macsPerIteration: Int
        public let run: @Sendable (Int) -> Double
    }

    /// The float32 FMA loop of a level: the instructions its float microkernel issues
    /// (zmm FMAs for the AVX-512 levels, ymm FMAs for avx2, fmla for neon; the Swift
    /// SIMD16 loop for generic, whatever the compiler makes of it).
    public static func fp32(_ isa: ISA) -> Loop {
        switch isa {
        case .avx512vnni, .avx512:
            return Loop(name: "vfmadd231ps zmm x24", macsPerIteration: 24 * 16) { Double(rtk_peak_fma_f32($0)) }
        case .avx2:
            return Loop(name: "vfmadd231ps ymm x12", macsPerIteration: 12 * 8) { Double(rtk_avx2_peak_fma($0)) }
        case .neon:
            return Loop(name: "fmla v.4s x24", macsPerIteration: 24 * 4) { Double(rtk_neon_peak_fma($0)) }
        case .generic:
            return Loop(name: "Swift SIMD16<Float> addingProduct x24", macsPerIteration: 24 * 16) { Double(swiftFMALoop($0)) }
        }
    }

    /// The int8 multiply-add loop of a level's W8A8 kernels; nil for generic, whose W8A8
    /// runs float FMAs (its ceiling is the fp32 loop).
    public static func int8(_ isa: ISA) -> Loop? {
        switch isa {
        case .avx512vnni:
            return Loop(name: "vpdpbusd zmm x24", macsPerIteration: 24 * 64) { Double(rtk_peak_vnni($0)) }
        case .avx2 where ISA.hasAVXVNNI:
            return Loop(name: "vpdpbusd ymm (AVX-VNNI) x12", macsPerIteration: 12 * 32) { Double(rtk_avxvnni_peak($0)) }
        case .avx512, .avx2:
            return Loop(name: "vpmaddubsw+vpmaddwd+vpaddd ymm x8", macsPerIteration: 8 * 32) { Double(rtk_avx2_peak_i8($0)) }
        case .neon:
            if ISA.hasDotProduct {
                return Loop(name: "sdot v.4s x24", macsPerIteration: 24 * 16) { Double(rtk_neon_peak_i8(1, $0)) }
            }
            return Loop(name: "smull+smlal2+sadalp x12", macsPerIteration: 12 * 16) { Double(rtk_neon_peak_i8(0, $0)) }
        case .generic:
            return nil
        }
    }

    /// 24 independent SIMD16<Float> FMA chains in Swift.
    static func swiftFMALoop(_ iterations: Int) -> Float {
        var acc = (0..<24).map { SIMD16<Float>(repeating: Float($0)) }
        let x = SIMD16<Float>(repeating: 0.999999), y = SIMD16<Float>(repeating: 1e-7)
        acc.withUnsafeMutableBufferPointer { a in
            for _ in 0..<iterations { for i in 0..<24 { a[i] = y.addingProduct(a[i], x) } }
        }
        return acc.reduce(SIMD16<Float>(), +).sum()
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
