// `reptok bench pipeline`: the command and its measuring loop. The stages it times are in
// BenchStages.swift, the report it prints in BenchReport.swift, the child it runs in
// BenchGenerateOnce.swift.
import ArgumentParser
import Foundation
import Kernels
import Quant
import Runtime
import Support
#if canImport(Glibc)
import Glibc
#endif

/// `reptok bench pipeline [--preset xl] [--json] [--cache DIR] [--threads N] [--runs N] [--compare FILE.json]`
///
/// Measures the whole model at release size without the release checkpoint:
/// 1. writes, once, a random-weight GGUF of the preset (`SyntheticModel`, the converter's exact
///    layout, int8) into the cache folder, and memory-maps it through `Pipeline` like a real model;
/// 2. measures the float32 FMA peak, the int8 dot peak and the read bandwidth (the kernel bench's
///    probes) in the same run;
/// 3. times each stage in both modes (w8a8, w8a32), median of `--runs` calls after one warm-up
///    call (the encoder two: it keeps packed panels from its second image), each stage on a freshly opened `Pipeline` so its peak RSS holds only its own weights;
///    a stage whose runs did not get all their cores (CPU/wall < 0.9 × threads: the machine is
///    shared) is measured again, up to `--retries` times, keeping the least disturbed attempt;
/// 4. runs one full generate (generator steps, decoder steps, VAE) in a child process, without and
///    with `--low-memory`, and reads each child's peak RSS from `wait4`.
/// With `--compare`, a result of tools/bench-torch/bench_torch.py is read (and refused, before any
/// measuring, if malformed) and every stage and mode gets PyTorch's seconds and the ratio ours / PyTorch.
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Time every model stage (both modes) and a full generate on a random-weight model of a preset's size.",
        discussion: """
        Stages: encoder (one image), decoder_step (one decoder velocity), vae (latent → image), generator_step \
        (one guided generator velocity: conditional + unconditional as a batch of 2). GFLOP/s counts 2·M·K·N per \
        matrix product and the attention products QKᵀ and PV (see Runtime's FLOPs); "of peak" divides by the \
        float32 FMA peak measured in the same run. Peak RSS per stage is the process's VmHWM, reset \
        (/proc/self/clear_refs) before the stage.
        """)

    @Option(name: .long, help: "Preset: a built-in name (xl, tiny) or a preset .json file (models/presets/).")
    var preset = "xl"

    @Flag(name: .long, help: "Print one JSON object instead of the table.")
    var json = false

    @Option(name: .long, help: "Also write the JSON object to this file.")
    var save: String?

    @Option(name: .long, help: "Folder for the synthetic model (default: $XDG_CACHE_HOME/reptok or ~/.cache/reptok).")
    var cache: String?

    @Option(name: .long, help: ArgumentHelp(threadHelp))
    var threads: Int?

    @Option(name: .long, help: "Timed runs per stage and mode, after one warm-up, two for the encoder (the median is reported).")
    var runs = 3

    @Option(name: .long, help: "Measure a stage again (up to this many times, keeping the attempt with the most CPU per wall second) when another process took one of its cores: CPU/wall below 0.9 × threads.")
    var retries = 2

    @Option(name: .long, help: "Seed of the synthetic weights.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Weight storage of the synthetic model: int8 or int4 (Q4_0 Linear layers, int8 VAE).")
    var weights: SyntheticWeights = .int8

    @Option(name: .long, help: "Only these stages, comma-separated: encoder, decoder_step, vae, generator_step.")
    var only: CommaList<Stage>?

    @Option(name: .long, help: "Only these modes, comma-separated: w8a8, w8a32.")
    var modes = CommaList<MatrixMode>([.w8a8, .w8a32])

    @Option(name: .long, help: ArgumentHelp(
        "PyTorch's times from tools/bench-torch/bench_torch.py --json: print PyTorch's seconds and the ratio ours / PyTorch beside each stage and mode.",
        discussion: "w8a32 is compared with PyTorch fp32, w8a8 with PyTorch dynamic int8 and with fp32. A file measured at another instruction level than this run's kernels gives a warning; a malformed file is an error."))
    var compare: String?

    @Flag(name: .long, help: "Skip the ceiling probes (no GFLOP/s fractions; for profilers).")
    var noCeilings = false

    @Flag(name: .long, help: "Skip the full generate runs.")
    var noGenerate = false

    @Option(name: .long, help: "Matrix mode of the full generate runs.")
    var generateMode: MatrixMode = .w8a8

    @Option(name: .long, help: "Generator steps of the full generate runs.")
    var genSteps = 50

    @Option(name: .long, help: "Decoder steps of the full generate runs.")
    var decSteps = 8

    func validate() throws {
        try checkOption("--threads", threads, in: threadRange)
        try checkOption("--runs", runs, in: 1 ... 1000)
        try checkOption("--retries", retries, in: 0 ... 10)
        try checkOption("--gen-steps", genSteps, in: stepRange)
        try checkOption("--dec-steps", decSteps, in: stepRange)
    }

    func run() throws {
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("bench: \(s)\n".utf8)) } }
        let preset: ModelPreset
        do { preset = try ModelPreset.named(self.preset) } catch { throw CLIError(oneLine(error)) }
        // Read and checked before anything is measured: a bad file fails in a second, not after the run.
        let reference = try compare.map { try TorchReference.load(path: $0) }
        if let save { try checkOutputs([save]) }

        // 1. The synthetic model, written once per preset and seed.
        let folder = cache ?? defaultCacheFolder()
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create the cache folder \(folder): \(error.localizedDescription)")
        }
        let format = weights.format
        let modelPath = (folder as NSString).appendingPathComponent("synthetic-\(preset.name)-\(format.rawValue)-seed\(seed).gguf")
        let reused = SyntheticModel.matches(path: modelPath, preset: preset, weights: format, seed: seed)
        if !reused {
            note("writing \(modelPath) (once)")
            var last = -1
            do {
                let r = try SyntheticModel.write(preset: preset, output: modelPath, weights: format, seed: seed) { i, n, _ in
                    let pct = 100 * i / max(n, 1)
                    if pct / 10 != last / 10 { last = pct; note("  \(pct) %") }
                }
                note(String(format: "wrote %@ in %.1f s", formatBytes(r.fileSize), r.seconds))
            } catch { throw CLIError(oneLine(error)) }
        }

        // 2. Ceilings.
        var report = PipelineBenchReport(preset: preset.name, model: modelPath, cacheReused: reused)
        let ctx = ComputeContext(threads: threads)
        report.threads = ctx.threads
        report.isa = ctx.isa.rawValue
        let ceilings = BenchKernels(ctx: ctx, reps: max(runs, 3))
        if !noCeilings {
            note("ceilings")
            let (fp32, int8) = ceilings.peaks()
            report.fp32PeakRuns.append(fp32)
            report.int8Peak = int8
            report.readBandwidth = ceilings.readBandwidth()
        }

        // 3. Stages, and what one call of each costs.
        var pytorchGflop: [String: Double] = [:]
        report.modelBytes = try fileSize(modelPath)
        let stages = Stage.allCases.filter { only?.items.contains($0) ?? true }
        do {
            let pipeline = try Pipeline(modelPath: modelPath, options: PipelineOptions(threads: threads))
            for stage in stages { report.stageInfo[stage] = pipeline.cost(of: stage) }
            // What PyTorch's program should count per stage: ours, except that its encoder runs
            // the last layer over every row (ours over the cls row only).
            for (stage, cost) in report.stageInfo {
                pytorchGflop[stage.rawValue] = (stage == .encoder ? FLOPs.encoder(pipeline.config, everyRowInLastLayer: true) : cost.flops) / 1e9
            }
        }
        for mode in modes.items {
            for stage in stages {
                note("\(stage.rawValue) \(mode.rawValue)")
                report.stages[stage, default: [:]][mode] = try timeStage(stage, mode: mode, threads: report.threads, modelPath: modelPath)
            }
        }

        // 4. Full generate, each in its own child process (peak RSS of that child alone).
        if !noGenerate {
            for low in [false, true] {
                note("generate\(low ? " --low-memory" : "") (\(genSteps) generator steps, \(decSteps) decoder steps, VAE) in a child process")
                let r = try runGenerateChild(modelPath: modelPath, lowMemory: low)
                if low { report.generateLowMemory = r } else { report.generate = r }
            }
        }

        // 5. The peak once more: the machine is shared, so the higher of the two is the better estimate.
        if !noCeilings {
            note("ceilings again")
            report.fp32PeakRuns.append(ceilings.peaks().0)
        }

        if let reference {
            report.torch = reference
            report.compareWarnings = reference.warnings(kernelLevel: report.isa, threads: report.threads, gflop: pytorchGflop)
            for w in report.compareWarnings { FileHandle.standardError.write(Data("reptok: warning: \(w)\n".utf8)) }
        }

        let data = try JSONSerialization.data(withJSONObject: report.json(), options: [.sortedKeys])
        if let save {
            do {
                let f = try AtomicFile(path: save)
                try f.write([UInt8](data))
                try f.commit()
            } catch { throw CLIError(oneLine(error)) }
        }
        print(json ? String(decoding: data, as: UTF8.self) : report.table())
    }

    /// Median seconds and peak RSS of one stage on a freshly opened pipeline.
    func timeStage(_ stage: Stage, mode: MatrixMode, threads used: Int, modelPath: String) throws -> StageTiming {
        var best = StageTiming()
        for attempt in 1 ... retries + 1 {
            var timing = StageTiming()
            timing.attempt = attempt
            // Pages of earlier stages were unmapped with their pipeline; start this stage's peak afresh.
            do {
                let pipeline = try Pipeline(modelPath: modelPath, options: PipelineOptions(threads: threads, mode: mode, lowMemory: false))
                let body = try stage.workload(pipeline)
                ResourceUsage.resetPeakMemory()
                // The encoder builds its kept panels at its second image: warm up past it.
                let warmups = stage == .encoder ? 2 : 1
                (timing.first, timing.runs, timing.cpu) = try timedRuns(runs: runs, warmups: warmups, body)
                timing.peakRSSBytes = ResourceUsage.peakMemoryBytes()
            }
            if attempt == 1 || timing.cpuPerWall > best.cpuPerWall { best = timing }
            // The stage had its cores: done. Otherwise another process took one; wait and measure again.
            if timing.cpuPerWall >= 0.9 * Double(used) { break }
            if attempt <= retries { sleep(2) }
        }
        return best
    }

    /// Spawns `reptok bench generate-once` on the model and waits for it with `wait4`.
    func runGenerateChild(modelPath: String, lowMemory: Bool) throws -> GenerateTiming {
        var args = ["bench", "generate-once", "--model", modelPath, "--compute", generateMode.rawValue,
                    "--gen-steps", "\(genSteps)", "--dec-steps", "\(decSteps)"]
        if let threads { args += ["--threads", "\(threads)"] }
        if lowMemory { args.append("--low-memory") }
        let child: ChildProcess
        do {
            child = try ChildProcess.run(ResourceUsage.executablePath() ?? CommandLine.arguments[0], args)
        } catch { throw CLIError(oneLine(error)) }
        guard child.exitStatus == 0 else {
            throw CLIError("generate child exited with status \(child.exitStatus): \(child.stderr.split(separator: "\n").last ?? "")")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(child.stdout.utf8)) as? [String: Any],
              let seconds = obj["seconds"] as? Double, let finite = obj["finite"] as? Bool else {
            throw CLIError("generate child printed no result: \(child.stdout.prefix(200))")
        }
        guard finite else { throw CLIError("generate child produced a non-finite image") }
        return GenerateTiming(seconds: seconds, wallSeconds: child.wallSeconds, cpuSeconds: child.cpuSeconds, peakRSSBytes: child.maxRSSBytes, lowMemory: lowMemory, mode: generateMode.rawValue,
                              genSteps: genSteps, decSteps: decSteps)
    }
}

/// `$XDG_CACHE_HOME/reptok`, else `~/.cache/reptok`.
func defaultCacheFolder() -> String {
    if let x = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"], !x.isEmpty { return (x as NSString).appendingPathComponent("reptok") }
    return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/reptok")
}

/// `warmups` untimed calls, then `runs` timed calls: seconds of the first call, wall and CPU
/// seconds of each timed run.
private func timedRuns(runs: Int, warmups: Int, _ body: () throws -> Void) throws -> (first: Double, wall: [Double], cpu: [Double]) {
    let start = MonotonicClock.seconds()
    try body()
    let first = MonotonicClock.seconds() - start
    for _ in 1 ..< max(1, warmups) { try body() }
    var wall: [Double] = [], cpu: [Double] = []
    for _ in 0 ..< runs {
        let t0 = MonotonicClock.seconds(), c0 = ResourceUsage.cpuSeconds()
        try body()
        wall.append(MonotonicClock.seconds() - t0)
        cpu.append(ResourceUsage.cpuSeconds() - c0)
    }
    return (first, wall, cpu)
}

/// Size of the file at `path`, bytes.
private func fileSize(_ path: String) throws -> Int {
    do {
        return (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    } catch { throw CLIError("\(path): \(error.localizedDescription)") }
}
