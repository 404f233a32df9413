// Instruction-set levels: what the CPU offers, what the user asked for. The kernels each
// level runs are in its row of the table in Levels.swift.
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
/// | level          | float32 GEMM                      | int8 GEMM (W8A8)                              |
/// |----------------|-----------------------------------|-----------------------------------------------|
/// | `amx`          | zmm 8×32 FMA microkernel (C)      | AMX tiles, `tdpbssd` (signed × signed)        |
/// | `avx512vnni`   | zmm 8×32 FMA microkernel (C)      | `vpdpbusd` zmm on weight+128 panels           |
/// | `avx512`       | zmm 8×32 FMA microkernel (C)      | pair form (`vpmaddwd`) on zmm                 |
/// | `avxvnni`      | ymm 6×16 FMA microkernel (C)      | VEX ymm `vpdpbusd` (AVX-VNNI) on weight+128   |
/// | `avx2`         | ymm 6×16 FMA microkernel (C)      | AVX2 pair form (`vpmaddwd`, ymm)              |
/// | `neondot`      | 6×16 `fmla` microkernel (C)       | `sdot`                                        |
/// | `neon`         | 6×16 `fmla` microkernel (C)       | `smull`/`sadalp` widening multiplies          |
/// | `generic`      | Swift `SIMD16<Float>` microkernel | float FMAs on int8 values (exact, see Gemm)   |
/// | `amx-emulated` | the host's best level's           | the `amx` driver on a scalar tile model (C)   |
///
/// `amx-emulated` runs everywhere and is never chosen automatically: it exists so that the
/// tests (and CI) run the whole AMX code path on machines without tiles.
public enum ISA: String, CaseIterable, Sendable, CustomStringConvertible {
    case amx, avx512vnni, avx512, avxvnni, avx2, neondot, neon, generic
    case amxEmulated = "amx-emulated"

    public var description: String { rawValue }

    /// The CPU's feature bits (`RTK_CPU_*`), read once.
    static let features = Int(rtk_cpu_features())

    /// The tile data state was granted to this process (asked once, on first use, before any
    /// kernel can run a tile instruction); false when the CPU has no AMX.
    static var amxGranted: Bool { amxRequest == 1 }
    /// `rtk_amx_request()`'s answer: 1 granted, 0 no AMX, −errno refused.
    static let amxRequest = Int(rtk_amx_request())

    /// The CPU has AMX-INT8 but the operating system refused the tile state, so the `amx`
    /// level is unavailable and `avx512vnni` is used instead (said in `cpuSummary`).
    public static var amxRefused: Bool { features & Int(RTK_CPU_AMX) != 0 && !amxGranted }

    /// True when this process's CPU can run the level.
    /// A build for a CPU without FMA (REPTOK_NO_FMA) runs only `generic` (and `amx-emulated`
    /// on it): its Swift multiply-adds round twice, the other levels' C kernels fuse theirs, and
    /// every level of one binary must give the same results (docs/kernels.md, "CPUs without FMA").
    public var isSupported: Bool {
        #if REPTOK_NO_FMA
        if self != .generic && self != .amxEmulated { return false }
        #endif
        if self == .amx { return ISA.features & Int(RTK_CPU_AMX) != 0 && ISA.amxGranted }
        return ISA.features & LevelTable.required(self) == LevelTable.required(self)
    }

    /// A level that runs on real hardware (every level but `amx-emulated`).
    public var isHardware: Bool { self != .amxEmulated }

    /// Every level this CPU runs, best first: the hardware levels, ending with `generic`,
    /// then `amx-emulated` (which runs everywhere).
    public static var supported: [ISA] { allCases.filter(\.isSupported) }

    /// The best level this CPU runs (never `amx-emulated`).
    public static var best: ISA { supported.first { $0.isHardware } ?? .generic }

    /// The best level this CPU runs without tiles: what `amx-emulated` uses for everything
    /// but its int8 products.
    public static var bestWithoutTiles: ISA { supported.first { $0.isHardware && $0 != .amx } ?? .generic }

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

    /// One line naming the CPU's levels, for `--version` and error messages. Each item
    /// starts with a level's name; notes follow in parentheses, without commas.
    public static var cpuSummary: String {
        var s = supported.map { $0 == .amxEmulated ? "amx-emulated (tests: AMX tiles in scalar C)" : $0.rawValue }
            .joined(separator: ", ")
        if rtk_avx512_emulated() != 0 {
            s += " (a test build: AVX-512 and VNNI emulated on AVX2)"
        }
        if amxRefused {
            let reason = amxRequest < 0 ? String(cString: strerror(Int32(-amxRequest))) : "refused"
            s += " (this CPU has AMX but the OS refused the tile state: \(reason); avx512vnni is used)"
        }
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
