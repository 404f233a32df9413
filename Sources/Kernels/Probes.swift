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
    /// (zmm FMAs for the AVX-512 levels, ymm FMAs for avx2 and avxvnni, fmla for the neon
    /// levels; the Swift SIMD16 loop for generic, whatever the compiler makes of it).
    public static func fp32(_ isa: ISA) -> Loop { KernelSet(isa).fp32Probe }

    /// The int8 multiply-add loop of a level's W8A8 kernels; nil for generic, whose W8A8
    /// runs float FMAs (its ceiling is the fp32 loop), and for amx-emulated (a scalar model).
    public static func int8(_ isa: ISA) -> Loop? { KernelSet(isa).int8Probe }

    /// Four `tdpbssd` accumulator tiles in flight (16·16·64 multiply-adds each per iteration).
    static let amxInt8 = Loop(name: "tdpbssd x4 tiles", macsPerIteration: 4 * 16 * 16 * 64) { Double(rtk_amx_peak($0)) }

    /// The AMX int8 loop when this process may run tiles (the `amx` level is supported), else nil.
    public static var amx: Loop? { ISA.amx.isSupported ? amxInt8 : nil }

    /// The generic level's probe: the Swift kernels' multiply-add (`addingMul`) in independent
    /// chains that stay in registers. A fused chain waits one FMA latency per step, so two FMA
    /// pipes of latency 4 need 8 chains of the register width in flight: 24 chains of 16 lanes
    /// in AVX-512's 32 zmm registers, 6 in AVX2's 16 ymm (12 ymm chains) or NEON's 32 q (24 q
    /// chains). 24 of 16 lanes built for AVX2 spilled and timed the stores instead: 28.6
    /// GFLOP/s on a Zen 3 whose FMA rate is 102, below the generic GEMM's own 33. A split
    /// chain (a build without FMA) waits a multiply and an add: 12 chains of 8 lanes fill the
    /// one multiply and one add pipe of Sandy and Ivy Bridge (latency 5 + 3) and the two of
    /// each of a Zen (3 + 3), and stay in AVX's 16 registers. On one Zen 3 core, such a build:
    /// 24 chains of 16 lanes spilled (23 GFLOP/s), 8 of 8 kept the pipes two-thirds busy (61,
    /// below the GEMMs' own 62), 12 of 8 ran at 99.
    #if REPTOK_NO_FMA
    static let swiftMulAddProbe = Loop(name: "Swift SIMD8<Float> multiply+add x12", macsPerIteration: 12 * 8) {
        Double(mulAddChains(SIMD8<Float>.self, chains: 12, $0))
    }
    #else
    static let swiftMulAddProbe = Loop(name: "Swift SIMD16<Float> FMA x\(swiftFMAChains)",
                                       macsPerIteration: swiftFMAChains * 16) {
        Double(mulAddChains(SIMD16<Float>.self, chains: swiftFMAChains, $0))
    }
    /// 24 where the build has 32 zmm registers, else 6 (a constant once inlined).
    @inline(__always) static var swiftFMAChains: Int { SwiftF32Shapes.build == .wide ? 24 : 6 }
    #endif

    /// `chains` independent chains of `addingMul` on vectors of type V (inlined into each probe,
    /// so the chain count is a constant there and the loop unrolls as written out).
    @inline(__always)
    static func mulAddChains<V: SIMD>(_: V.Type, chains: Int, _ iterations: Int) -> Float where V.Scalar == Float {
        var acc = (0..<chains).map { V(repeating: Float($0)) }
        let x = V(repeating: 0.999999), y = V(repeating: 1e-7)
        acc.withUnsafeMutableBufferPointer { a in
            for _ in 0..<iterations { for i in 0..<chains { a[i] = y.addingMul(a[i], x) } }
        }
        return acc.reduce(V(), +).sum()
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
