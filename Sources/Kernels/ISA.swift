// Instruction-set levels: what the CPU offers, what the user asked for, and which kernel
// implementation each level uses.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels
import Foundation

/// An instruction-set level of the kernels. A context runs one level; every level computes
/// the same results (W8A8: bit-identical int32 sums and epilogue on every level; float
/// GEMMs: the same fused multiply-add chains, so bit-identical too).
///
/// | level        | float32 GEMM                      | int8 GEMM (W8A8)                             |
/// |--------------|-----------------------------------|----------------------------------------------|
/// | `avx512vnni` | zmm 8×32 FMA microkernel (C)      | `vpdpbusd` zmm on weight+128 panels          |
/// | `avx512`     | zmm 8×32 FMA microkernel (C)      | AVX2 sign trick (`vpmaddubsw`, ymm)          |
/// | `avx2`       | ymm 6×16 FMA microkernel (C)      | sign trick, or ymm `vpdpbusd` (AVX-VNNI)     |
/// | `neon`       | 6×16 `fmla` microkernel (C)       | `sdot` where present, else `smull`/`sadalp` |
/// | `generic`    | Swift `SIMD16<Float>` microkernel | float FMAs on int8 values (exact, see Gemm)  |
public enum ISA: String, CaseIterable, Sendable, CustomStringConvertible {
    case avx512vnni, avx512, avx2, neon, generic

    public var description: String { rawValue }

    /// The CPU's feature bits (`RTK_CPU_*`), read once.
    static let features = Int(rtk_cpu_features())

    /// True when this process's CPU can run the level.
    public var isSupported: Bool {
        let f = ISA.features
        switch self {
        case .avx512vnni: return f & Int(RTK_CPU_AVX512VNNI) != 0
        case .avx512: return f & Int(RTK_CPU_AVX512) != 0
        case .avx2: return f & Int(RTK_CPU_AVX2) != 0
        case .neon: return f & Int(RTK_CPU_NEON) != 0
        case .generic: return true
        }
    }

    /// ARMv8.2 dot product (`sdot`) available: the neon level's int8 kernels use it.
    public static var hasDotProduct: Bool { features & Int(RTK_CPU_DOTPROD) != 0 }

    /// AVX-VNNI (VEX ymm `vpdpbusd`, Alder Lake and later, Zen 5): the avx2 level's int8
    /// kernels use it instead of the sign trick.
    public static var hasAVXVNNI: Bool { features & Int(RTK_CPU_AVXVNNI) != 0 }

    /// Testing only: contexts created while this is true run the avx2 level's AVX-VNNI
    /// path with the EVEX-encoded twin of its kernels (same arithmetic, needs AVX-512
    /// VNNI), so a machine without AVX-VNNI can still test that path end to end.
    nonisolated(unsafe) public static var _avx2VNNIThroughEVEX = false

    /// Every level this CPU runs, best first (always ends with `generic`).
    public static var supported: [ISA] { allCases.filter(\.isSupported) }

    /// The best level this CPU runs.
    public static var best: ISA { supported[0] }

    /// The environment variable that caps the level.
    public static let environmentKey = "REPTOK_ISA"

    /// The level asked for by `value` (`REPTOK_ISA`): nil, empty or `auto` mean the best
    /// level; a named level must be one this CPU supports.
    /// - Throws: `ISAError.unknown` for a name that is no level, `ISAError.unsupported`
    ///   for a level this CPU lacks (instead of an illegal-instruction crash later).
    public static func resolve(_ value: String?) throws -> ISA {
        guard let raw = value?.trimmingCharacters(in: .whitespaces).lowercased(), !raw.isEmpty, raw != "auto" else {
            return best
        }
        guard let isa = ISA(rawValue: raw) else { throw ISAError.unknown(raw) }
        guard isa.isSupported else { throw ISAError.unsupported(isa, supported: supported) }
        return isa
    }

    /// The level `REPTOK_ISA` asks for in this process's environment (see `resolve`).
    public static func fromEnvironment() throws -> ISA {
        try resolve(getenv(environmentKey).map { String(cString: $0) })
    }

    /// The level contexts use by default: `REPTOK_ISA` if it names a supported level,
    /// else the best one. (The command line validates the variable first and reports a
    /// bad value as an error; library users who need that should call `fromEnvironment`.)
    public static let active: ISA = (try? fromEnvironment()) ?? best

    /// One line naming the CPU's levels, for `--version` and error messages.
    public static var cpuSummary: String {
        var s = supported.map(\.rawValue).joined(separator: ", ")
        if ISA.neon.isSupported { s += hasDotProduct ? " (with sdot)" : " (without sdot)" }
        if hasAVXVNNI { s += " (avx2 with AVX-VNNI)" }
        return s
    }
}

/// A bad `REPTOK_ISA` value.
public enum ISAError: Error, CustomStringConvertible, Equatable {
    /// Not the name of a level.
    case unknown(String)
    /// A level this CPU cannot run; `supported` lists those it can, best first.
    case unsupported(ISA, supported: [ISA])

    public var description: String {
        let names = ISA.allCases.map(\.rawValue).joined(separator: "|")
        switch self {
        case .unknown(let v):
            return "\(ISA.environmentKey)=\(v) is not a level (auto|\(names))"
        case .unsupported(let isa, let supported):
            return "\(ISA.environmentKey)=\(isa) needs an instruction set this CPU lacks; it has: "
                + supported.map(\.rawValue).joined(separator: ", ")
        }
    }
}

/// The kernel implementations of one level (chosen once per context).
struct KernelSet {
    enum F32 { case swift, avx512, avx2, neon }
    enum Pack { case swift, avx512, avx2, c }
    enum I8 {
        /// `vpdpbusd` on weight+128 panels; sums carry the 128·Σa correction.
        case vnni
        /// Exact int32 sums on signed panels (AVX2 sign trick).
        case avx2
        /// ymm `vpdpbusd` on weight+128 panels, with the correction like `vnni` (`evex`:
        /// the EVEX-encoded twin, for tests on AVX-512 VNNI machines).
        case avxvnni(evex: Bool)
        /// Exact int32 sums on signed panels (`sdot` when `dot`, else widening multiplies).
        case neon(dot: Bool)
        /// Float FMAs on int8 values: exact while every partial sum stays below 2^24.
        case floatExact

        /// The kernels sum (W + 128)·q: the caller's correction 128·Σq is subtracted.
        var isBiased: Bool {
            switch self { case .vnni, .avxvnni: return true; default: return false }
        }
        var isFloatExact: Bool {
            if case .floatExact = self { return true } else { return false }
        }
    }
    let f32: F32, pack: Pack, i8: I8
    /// Rows per strip of the float panel form (the microkernel's natural height).
    let f32Strip: Int

    init(_ isa: ISA) {
        switch isa {
        case .avx512vnni: f32 = .avx512; pack = .avx512; i8 = .vnni; f32Strip = 8
        case .avx512: f32 = .avx512; pack = .avx512; i8 = .avx2; f32Strip = 8
        case .avx2:
            f32 = .avx2; pack = .avx2; f32Strip = 6
            if ISA.hasAVXVNNI { i8 = .avxvnni(evex: false) }
            else if ISA._avx2VNNIThroughEVEX && ISA.avx512vnni.isSupported { i8 = .avxvnni(evex: true) }
            else { i8 = .avx2 }
        case .neon: f32 = .neon; pack = .c; i8 = .neon(dot: ISA.hasDotProduct); f32Strip = 6
        case .generic: f32 = .swift; pack = .swift; i8 = .floatExact; f32Strip = 8
        }
    }

    /// c[i*ldc + j] (= or +=) Σ_{p<kc} a[i][p*aStep] · b[p*ldb + j], i < rows (≤ 8),
    /// j < 16·nv: one FMA chain per output in p order on every level.
    @inline(__always)
    func f32Kernel(rows: Int, nv: Int, kc: Int, a: UnsafePointer<UnsafePointer<Float>>, aStep: Int,
                   b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                   accumulate: Bool) {
        let ap = UnsafeRawPointer(a).assumingMemoryBound(to: UnsafePointer<Float>?.self)
        switch f32 {
        case .swift:
            f32Microkernel(rows: rows, nv: nv, kc: kc, a: a, aStep: aStep, b: b, ldb: ldb, c: c, ldc: ldc,
                           accumulate: accumulate)
        case .avx512: rtk_avx512_f32_kernel(rows, nv, kc, ap, aStep, b, ldb, c, ldc, accumulate ? 1 : 0)
        case .avx2: rtk_avx2_f32_kernel(rows, nv, kc, ap, aStep, b, ldb, c, ldc, accumulate ? 1 : 0)
        case .neon: rtk_neon_f32_kernel(rows, nv, kc, ap, aStep, b, ldb, c, ldc, accumulate ? 1 : 0)
        }
    }
}
