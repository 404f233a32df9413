// `reptok bench pipeline --compare FILE.json`: PyTorch's seconds per stage, as written by
// tools/bench-torch/bench_torch.py, read and checked before anything is measured, and the ratios
// (ours / PyTorch) the report prints beside each stage and mode.
import Foundation
import Runtime
import Support

/// Why a `--compare` file was refused. One line each, naming the file.
enum TorchReferenceError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read (missing, a folder, too large).
    case unreadable(path: String, reason: String)
    /// The file is not a bench_torch.py result: not JSON, a missing or mistyped field, an unknown
    /// stage or precision, a time that is not a positive finite number of seconds.
    case malformed(path: String, reason: String)

    var description: String {
        switch self {
        case let .unreadable(p, r): return "--compare \(p): \(r)"
        case let .malformed(p, r): return "--compare \(p): not a bench_torch.py result: \(r)"
        }
    }
}

/// PyTorch's times for the stages of `bench pipeline`, from one bench_torch.py run.
struct TorchReference {
    /// The two precisions bench_torch.py measures: float32 eager and dynamic int8.
    enum Precision: String, CaseIterable { case fp32, int8 }

    var path: String
    /// PyTorch's instruction level: `avx512`, `avx2` (ATen's capability, lower case), or another
    /// capability name on other CPUs (`default`, `neon`, …).
    var isa: String
    var torch: String
    var cpu: String
    /// The cap bench_torch.py was asked for (`--isa`: `avx512`, `avx512-novnni`, `avx2`,
    /// `auto`), nil in files that do not say; `isa` alone cannot tell the two AVX-512 caps apart.
    var isaRequested: String? = nil
    /// PyTorch's thread count, nil in files that do not say.
    var threads: Int? = nil
    /// Seconds per stage (`Stage.rawValue`) and precision.
    var seconds: [String: [Precision: Double]]
    /// GFLOP per stage as PyTorch's FLOP counter saw it (optional in the file).
    var gflop: [String: Double]

    /// A result file is a few kilobytes; anything above this is not one.
    static let maxBytes = 1 << 20

    /// Reads and checks `path`: `isa`, `torch`, `cpu` strings; `stages` an object of known stage
    /// names, each an object of `fp32` and/or `int8` seconds (positive, finite). Other top-level
    /// fields are allowed (bench_torch.py writes more); `stage_info.<stage>.gflop` is read when present.
    static func load(path: String) throws -> TorchReference {
        let data: Data
        do { data = try FileRead.whole(path, maxBytes: maxBytes) } catch let FileReadError.notFound(p) {
            throw TorchReferenceError.unreadable(path: p, reason: "no such file")
        } catch let FileReadError.unreadable(p, r) {
            throw TorchReferenceError.unreadable(path: p, reason: r)
        }
        func bad(_ reason: String) -> TorchReferenceError { .malformed(path: path, reason: reason) }
        guard let any = try? JSONSerialization.jsonObject(with: data), let root = any as? [String: Any] else {
            throw bad("not a JSON object")
        }
        func string(_ key: String) throws -> String {
            guard let s = root[key] as? String, !s.isEmpty else { throw bad("\"\(key)\" must be a non-empty string") }
            return s
        }
        let isa = try string("isa").lowercased(), torch = try string("torch"), cpu = try string("cpu")
        guard let stages = root["stages"] as? [String: Any], !stages.isEmpty else {
            throw bad("\"stages\" must be a non-empty object")
        }
        var seconds: [String: [Precision: Double]] = [:]
        for (name, value) in stages.sorted(by: { $0.key < $1.key }) {
            guard Stage(rawValue: name) != nil else {
                throw bad("unknown stage \"\(name)\" (\(Stage.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let modes = value as? [String: Any], !modes.isEmpty else { throw bad("stage \"\(name)\" must be a non-empty object") }
            for (key, v) in modes.sorted(by: { $0.key < $1.key }) {
                guard let p = Precision(rawValue: key) else { throw bad("stage \"\(name)\": unknown precision \"\(key)\" (fp32, int8)") }
                // JSON booleans also bridge to NSNumber (objCType "c"); only real numbers are seconds.
                guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite, n.doubleValue > 0 else {
                    throw bad("stage \"\(name)\" \(key): seconds must be a positive number (is \(v))")
                }
                seconds[name, default: [:]][p] = n.doubleValue
            }
        }
        var gflop: [String: Double] = [:]
        if let info = root["stage_info"] as? [String: Any] {
            for (name, v) in info {
                if let g = (v as? [String: Any])?["gflop"] as? Double, g.isFinite, g > 0 { gflop[name] = g }
            }
        }
        var reference = TorchReference(path: path, isa: isa, torch: torch, cpu: cpu, seconds: seconds, gflop: gflop)
        reference.isaRequested = (root["isa_requested"] as? String)?.lowercased()
        reference.threads = (root["threads"] as? NSNumber).map(\.intValue)
        return reference
    }

    /// ATen's name for the level of a run under `pytorchCap(ofKernelLevel:)`: both AVX-512 caps
    /// report `avx512`, `auto` on a CPU the generic level serves `default`; nil for the ARM
    /// levels, whose counterpart ATen names differently per build (`default`, `sve256`).
    static func pytorchLevel(ofKernelLevel level: String) -> String? {
        switch pytorchCap(ofKernelLevel: level) {
        case "avx512", "avx512-novnni": return "avx512"
        case "auto": return "default"
        case let cap: return cap
        }
    }

    /// The bench_torch.py `--isa` that matches a kernel level, as side-by-side.sh pairs them:
    /// `avx512vnni` and `amx` with `avx512` (VNNI on), `avx512` with `avx512-novnni`, `avxvnni`
    /// and `avx2` with `avx2`, `generic` with `auto`; nil for the ARM levels (no cap there).
    static func pytorchCap(ofKernelLevel level: String) -> String? {
        switch level {
        case "avx512vnni", "amx", "amx-emulated": return "avx512"
        case "avx512": return "avx512-novnni"
        case "avx2", "avxvnni": return "avx2"
        case "generic": return "auto"
        default: return nil
        }
    }

    /// Warning lines for this file against a run at kernel level `level` with these stage GFLOP
    /// counts: another instruction level, or a stage whose FLOP count differs by more than 1 %
    /// (another model size; PyTorch's generator computes its output row and time embedding for every
    /// row and sample, ≈ 0.2 % more at the release size).
    func warnings(kernelLevel level: String, threads ourThreads: Int, gflop ours: [String: Double]) -> [String] {
        var out: [String] = []
        if let wanted = TorchReference.pytorchLevel(ofKernelLevel: level), isa != wanted {
            out.append("\(path) was measured at PyTorch level \(isa), this run's kernels are \(level) (PyTorch level \(wanted)): the ratios compare different instruction sets")
        } else if let asked = isaRequested, let cap = TorchReference.pytorchCap(ofKernelLevel: level), asked != cap {
            out.append("\(path) was measured with --isa \(asked), this run's kernels are \(level) (PyTorch --isa \(cap)): the ratios compare different instruction sets")
        }
        if let threads, threads != ourThreads {
            out.append("\(path) was measured with \(threads) threads, this run uses \(ourThreads): the ratios compare different thread counts")
        }
        for (name, theirs) in gflop.sorted(by: { $0.key < $1.key }) {
            guard let mine = ours[name], abs(theirs / mine - 1) > 0.01 else { continue }
            out.append(String(format: "%@: PyTorch's %@ does %.3g GFLOP, ours %.3g: not the same model size", path, name, theirs, mine))
        }
        return out
    }

    /// The PyTorch precisions our `mode` is compared with: w8a32 with fp32; w8a8 with int8 and fp32.
    static func precisions(for mode: MatrixMode) -> [Precision] {
        mode == .w8a8 ? [.int8, .fp32] : [.fp32]
    }

    /// For one stage and mode: PyTorch's seconds and our ratio (ours / PyTorch) per compared
    /// precision that the file has.
    func comparison(stage: Stage, mode: MatrixMode, ours: Double) -> [(Precision, seconds: Double, ratio: Double)] {
        TorchReference.precisions(for: mode).compactMap { p in
            seconds[stage.rawValue]?[p].map { (p, $0, ours / $0) }
        }
    }

    /// The `compare` object of the JSON report.
    func json(warnings: [String]) -> [String: Any] {
        ["file": path, "isa": isa, "torch": torch, "cpu": cpu, "warnings": warnings]
    }
}

/// Seconds for the report: 3 decimals from 0.1 s up, else 3 significant digits (the tiny preset's
/// stages take microseconds).
func formatSeconds(_ s: Double) -> String {
    String(format: s >= 0.1 ? "%.3f" : "%.3g", s)
}

/// A ratio with 3 significant digits and a × sign.
func formatRatio(_ r: Double) -> String { String(format: "%.3g×", r) }
