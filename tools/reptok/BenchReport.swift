// What `reptok bench pipeline` measured, and its JSON and table renderings.
import Foundation
import Runtime
import Support

/// Timings of one stage in one mode.
struct StageTiming {
    /// Seconds of the first untimed warm-up call: includes mapping the stage's weight pages (from
    /// the page cache) and first-use scratch allocation.
    var first = 0.0
    /// Seconds of each timed run (after the warm-up), in order.
    var runs: [Double] = []
    /// Process CPU seconds (user + system, all threads) of each run.
    var cpu: [Double] = []
    /// Which measurement of the stage this is (1, or more after `--retries`).
    var attempt = 1
    var peakRSSBytes = 0
    /// Index of the median run (of an even count, the upper of the two middle runs: the run
    /// whose CPU seconds `cpuPerWall` reads).
    private var medianIndex: Int { runs.indices.sorted { runs[$0] < runs[$1] }[runs.count / 2] }
    /// The median seconds: the middle run, or the mean of the two middle runs of an even count,
    /// as Python's `statistics.median` (bench_torch.py) takes it.
    var median: Double { medianOf(runs) }
    var minimum: Double { runs.min() ?? 0 }
    /// CPU seconds per second of the median run: ≈ threads when the stage had the cores to itself,
    /// lower when other processes took them (or when the stage does not use every thread).
    var cpuPerWall: Double { runs.isEmpty ? 0 : cpu[medianIndex] / runs[medianIndex] }
}

/// One full generate in a child process.
struct GenerateTiming {
    /// Seconds from opening the model to the finished image (measured by the child).
    var seconds: Double
    /// The child's whole life: wall seconds (measured by the parent) and CPU seconds (wait4).
    var wallSeconds: Double
    var cpuSeconds: Double
    var peakRSSBytes: Int
    var lowMemory: Bool
    var mode: String
    var genSteps, decSteps: Int
}


/// Everything one `bench pipeline` run measured.
struct PipelineBenchReport {
    var preset: String
    var model: String
    var cacheReused: Bool
    var modelBytes = 0
    var threads = 1
    /// The kernels' instruction level (`REPTOK_ISA`, else the CPU's best).
    var isa = ""
    /// FMA peak measured at the start and at the end of the run.
    var fp32PeakRuns: [Double] = []
    var int8Peak = 0.0
    var readBandwidth = 0.0
    var stageInfo: [Stage: StageCost] = [:]
    var stages: [Stage: [MatrixMode: StageTiming]] = [:]
    var generate: GenerateTiming?
    var generateLowMemory: GenerateTiming?
    /// PyTorch's times from `--compare`, and the warnings about them.
    var torch: TorchReference?
    var compareWarnings: [String] = []

    /// The higher of the peak measurements (other load on the machine only lowers it).
    var fp32Peak: Double { fp32PeakRuns.max() ?? 0 }

    func json() -> [String: Any] {
        var stagesJSON: [String: Any] = [:], infoJSON: [String: Any] = [:]
        for (stage, modes) in stages {
            guard let info = stageInfo[stage] else { continue }
            var m: [String: Any] = [:]
            for (mode, t) in modes {
                let gflops = info.flops / t.median / 1e9
                m[mode.rawValue] = ["seconds": t.median, "gflops": gflops, "peak_fraction": fp32Peak > 0 ? gflops / fp32Peak : NSNull() as Any,
                                    "peak_rss_mb": Double(t.peakRSSBytes) / 1e6, "runs": t.runs, "min_seconds": t.minimum, "first_seconds": t.first,
                                    "cpu_per_wall": t.cpuPerWall, "attempt": t.attempt,
                                    "weight_gbs": info.weightBytes / t.median / 1e9] as [String: Any]
                if let torch {
                    var c: [String: Any] = [:]
                    for (p, secs, ratio) in torch.comparison(stage: stage, mode: mode, ours: t.median) {
                        c["\(p.rawValue)_seconds"] = secs
                        c["ratio_\(p.rawValue)"] = ratio
                    }
                    m[mode.rawValue] = (m[mode.rawValue] as? [String: Any] ?? [:]).merging(["pytorch": c]) { $1 }
                }
            }
            stagesJSON[stage.rawValue] = m
            infoJSON[stage.rawValue] = ["gflop": info.flops / 1e9, "weight_mb": info.weightBytes / 1e6,
                                        "pytorch_seconds": stage.pytorchSeconds, "target_w8a8_seconds": stage.targetW8A8,
                                        "target_w8a32_seconds": stage.targetW8A32] as [String: Any]
        }
        var out: [String: Any] = [
            "preset": preset, "model": model, "model_bytes": modelBytes, "cache_reused": cacheReused, "threads": threads, "isa": isa,
            "reference_machine": MachineClass.current.rawValue,
            "fp32_peak_gflops": fp32Peak, "fp32_peak_gflops_runs": fp32PeakRuns, "int8_peak_gops": int8Peak,
            "read_bandwidth_gbs": readBandwidth, "stages": stagesJSON, "stage_info": infoJSON,
        ]
        func gen(_ g: GenerateTiming) -> [String: Any] {
            ["seconds": g.seconds, "peak_rss_mb": Double(g.peakRSSBytes) / 1e6, "mode": g.mode,
             "cpu_per_wall": g.cpuSeconds / max(g.wallSeconds, 1e-9),
             "gen_steps": g.genSteps, "dec_steps": g.decSteps]
        }
        if let g = generate { out["generate"] = gen(g) }
        if let g = generateLowMemory { out["generate_low_memory"] = gen(g) }
        if let torch { out["compare"] = torch.json(warnings: compareWarnings) }
        return out
    }

    func table() -> String {
        func f(_ x: Double, _ d: Int = 2) -> String { String(format: "%.\(d)f", x) }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        func mb(_ b: Int) -> String { String(format: "%.0f MB", Double(b) / 1e6) }
        let release = preset == "xl"
        var s = "preset \(preset), model \(model) (\(formatBytes(modelBytes))\(cacheReused ? ", cached" : ", written now")), threads \(threads), kernels \(isa)\n"
        if release { s += "targets and PyTorch figures: reference machine \(MachineClass.current.label)\n" }
        if fp32Peak > 0 {
            s += "ceilings: float32 FMA peak \(f(fp32Peak, 1)) GFLOP/s (runs \(fp32PeakRuns.map { f($0, 1) }.joined(separator: ", ")))"
            if int8Peak > 0 { s += ", int8 dot peak \(f(int8Peak, 1)) GOP/s" }
            s += ", read bandwidth \(f(readBandwidth, 1)) GB/s\n"
        }
        s += "\nstage            GFLOP  weights  mode    seconds      (min)  GFLOP/s  of fp32 peak  weight GB/s  CPU/wall  peak RSS"
        s += release ? "   target  PyTorch" : ""
        if torch != nil { s += "  torch fp32  ours/fp32  torch int8  ours/int8" }
        s += "\n"
        for stage in Stage.allCases {
            guard let modes = stages[stage], let info = stageInfo[stage] else { continue }
            var first = true
            for mode in MatrixMode.allCases.reversed() {
                guard let t = modes[mode] else { continue }
                let gflops = info.flops / t.median / 1e9
                let head = first ? stage.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) + pad(f(info.flops / 1e9, 1), 7)
                    + pad(String(format: "%.0f MB", info.weightBytes / 1e6), 9) : String(repeating: " ", count: 30)
                first = false
                s += head + "  " + mode.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0) + pad(formatSeconds(t.median), 9)
                    + pad("(" + formatSeconds(t.minimum) + ")", 11)
                    + pad(f(gflops, 1), 9) + pad(fp32Peak > 0 ? f(gflops / fp32Peak, 2) + "×" : "-", 14)
                    + pad(f(info.weightBytes / t.median / 1e9, 1), 13) + pad(f(t.cpuPerWall, 2) + (t.attempt > 1 ? "#\(t.attempt)" : "  "), 10)
                    + pad(mb(t.peakRSSBytes), 10)
                if release {
                    let target = mode == .w8a8 ? stage.targetW8A8 : stage.targetW8A32
                    s += pad("≤" + f(target, 3), 9) + pad(f(stage.pytorchSeconds, 2), 9) + (t.median <= target ? "  met   " : "  missed")
                }
                if let torch {
                    let c = torch.comparison(stage: stage, mode: mode, ours: t.median)
                    for p in TorchReference.Precision.allCases {
                        let hit = c.first { $0.0 == p }
                        s += pad(hit.map { formatSeconds($0.seconds) } ?? "-", 12) + pad(hit.map { formatRatio($0.ratio) } ?? "-", 11)
                    }
                }
                s += "\n"
            }
        }
        for g in [generate, generateLowMemory].compactMap({ $0 }) {
            s += "\ngenerate\(g.lowMemory ? " --low-memory" : "") (\(g.genSteps) generator steps, \(g.decSteps) decoder steps, VAE; \(g.mode)): "
            s += "\(f(g.seconds, 1)) s (CPU/wall \(f(g.cpuSeconds / max(g.wallSeconds, 1e-9), 2))), peak RSS \(mb(g.peakRSSBytes))"
            if release { s += " (target ≤ \(g.lowMemory ? "700 MB" : "1000 MB"))" }
        }
        s += "\n\n(seconds: median of the runs after a warm-up; of fp32 peak = GFLOP/s ÷ float32 FMA peak; weight GB/s = stage weight bytes ÷ seconds;\n"
        s += " CPU/wall = process CPU seconds per second, ≈ threads when undisturbed, #n = kept the n-th measurement)"
        if let torch {
            s += "\n(torch: PyTorch \(torch.torch) from \(torch.path), level \(torch.isa), \(torch.cpu); ours/… = our seconds ÷ PyTorch's;"
            s += " w8a32 is compared with fp32, w8a8 with int8 and fp32)"
        }
        return s
    }
}
