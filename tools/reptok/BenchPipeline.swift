import ArgumentParser
import Foundation
import Kernels
import Quant
import Runtime
import Support
#if canImport(Glibc)
import Glibc
#endif

/// `reptok bench pipeline [--preset xl] [--json] [--cache DIR] [--threads N] [--runs N]`
///
/// Measures the whole model at release size without the release checkpoint:
/// 1. writes, once, a random-weight GGUF of the preset (`SyntheticModel`, the converter's exact
///    layout, int8) into the cache folder, and memory-maps it through `Pipeline` like a real model;
/// 2. measures the float32 FMA peak, the int8 dot peak and the read bandwidth (the kernel bench's
///    probes) in the same run;
/// 3. times each stage in both modes (w8a8, w8a32), median of `--runs` calls after one warm-up
///    call, each stage on a freshly opened `Pipeline` so its peak RSS holds only its own weights;
///    a stage whose runs did not get all their cores (CPU/wall < 0.9 × threads: the machine is
///    shared) is measured again, up to `--retries` times, keeping the least disturbed attempt;
/// 4. runs one full generate (generator steps, decoder steps, VAE) in a child process, without and
///    with `--low-memory`, and reads each child's peak RSS from `wait4`.
struct BenchPipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Time every model stage (both modes) and a full generate on a random-weight model of a preset's size.",
        discussion: """
        Stages: encoder (one image), decoder_step (one decoder velocity), vae (latent → image), generator_step \
        (one guided generator velocity: conditional + unconditional as a batch of 2). GFLOP/s counts 2·M·K·N per \
        matrix product and the attention products QKᵀ and PV (see PipelineFLOPs); "of peak" divides by the \
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

    @Option(name: .long, help: "Worker threads (default: online cores).")
    var threads: Int?

    @Option(name: .long, help: "Timed runs per stage and mode, after one warm-up (the median is reported).")
    var runs = 3

    @Option(name: .long, help: "Measure a stage again (up to this many times, keeping the attempt with the most CPU per wall second) when another process took one of its cores: CPU/wall below 0.9 × threads.")
    var retries = 2

    @Option(name: .long, help: "Seed of the synthetic weights.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Only these stages, comma-separated: encoder, decoder_step, vae, generator_step.")
    var only: String?

    @Option(name: .long, help: "Only these modes, comma-separated: w8a8, w8a32.")
    var modes: String = "w8a8,w8a32"

    @Flag(name: .long, help: "Skip the ceiling probes (no GFLOP/s fractions; for profilers).")
    var noCeilings = false

    @Flag(name: .long, help: "Skip the full generate runs.")
    var noGenerate = false

    @Option(name: .long, help: "Matrix mode of the full generate runs.")
    var generateMode = "w8a8"

    @Option(name: .long, help: "Generator steps of the full generate runs.")
    var genSteps = 50

    @Option(name: .long, help: "Decoder steps of the full generate runs.")
    var decSteps = 8

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if runs < 1 { throw ValidationError("--runs must be at least 1 (got \(runs))") }
        if retries < 0 { throw ValidationError("--retries must be at least 0 (got \(retries))") }
        if genSteps < 1 || decSteps < 1 { throw ValidationError("--gen-steps and --dec-steps must be at least 1") }
        if MatrixMode(rawValue: generateMode) == nil { throw ValidationError("--generate-mode must be w8a8 or w8a32") }
        for m in modes.split(separator: ",") where MatrixMode(rawValue: String(m)) == nil {
            throw ValidationError("--modes: unknown mode \(m) (w8a8, w8a32)")
        }
        for s in (only ?? "").split(separator: ",") where !PipelineStage.allCases.map(\.rawValue).contains(String(s)) {
            throw ValidationError("--only: unknown stage \(s) (\(PipelineStage.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        func note(_ s: String) { if !json { FileHandle.standardError.write(Data("bench: \(s)\n".utf8)) } }
        let preset: ModelPreset
        do { preset = try ModelPreset.named(self.preset) } catch { throw CLIError(oneLine(error)) }

        // 1. The synthetic model, written once per preset and seed.
        let folder = cache ?? defaultCacheFolder()
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create the cache folder \(folder): \(error.localizedDescription)")
        }
        let modelPath = (folder as NSString).appendingPathComponent("synthetic-\(preset.name)-int8-seed\(seed).gguf")
        let reused = SyntheticModel.matches(path: modelPath, preset: preset, weights: .int8, seed: seed)
        if !reused {
            note("writing \(modelPath) (once)")
            var last = -1
            do {
                let r = try SyntheticModel.write(preset: preset, output: modelPath, weights: .int8, seed: seed) { i, n, _ in
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

        // 3. Stages.
        let file = try GGUFFile(path: modelPath)
        report.modelBytes = file.fileSize
        let config = try ModelConfig.load(metadata: file.metadata, path: modelPath)
        let stages = only.map { $0.split(separator: ",").compactMap { PipelineStage(rawValue: String($0)) } } ?? PipelineStage.allCases
        let modeList = modes.split(separator: ",").compactMap { MatrixMode(rawValue: String($0)) }
        for stage in stages {
            report.stageInfo[stage] = .init(flops: stage.flops(config), weightBytes: stage.weightBytes(file, config))
        }
        for mode in modeList {
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
    func timeStage(_ stage: PipelineStage, mode: MatrixMode, threads used: Int, modelPath: String) throws -> StageTiming {
        var best: StageTiming? = nil
        for attempt in 1 ... retries + 1 {
            var timing = StageTiming()
            timing.attempt = attempt
            // Pages of earlier stages were unmapped with their pipeline; start this stage's peak afresh.
            do {
                let pipeline = try Pipeline(modelPath: modelPath, options: PipelineOptions(threads: threads, mode: mode, lowMemory: false))
                let body = try stage.workload(pipeline)
                ResourceUsage.resetPeakMemory()
                (timing.first, timing.runs, timing.cpu) = try timedRuns(runs: runs, body)
                timing.peakRSSBytes = ResourceUsage.peakMemoryBytes()
            }
            if best == nil || timing.cpuPerWall > best!.cpuPerWall { best = timing }
            // The stage had its cores: done. Otherwise another process took one; wait and measure again.
            if timing.cpuPerWall >= 0.9 * Double(used) { break }
            if attempt <= retries { sleep(2) }
        }
        return best!
    }

    /// Spawns `reptok bench generate-once` on the model and waits for it with `wait4`.
    func runGenerateChild(modelPath: String, lowMemory: Bool) throws -> GenerateTiming {
        var args = ["bench", "generate-once", "--model", modelPath, "--mode", generateMode,
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
        return GenerateTiming(seconds: seconds, wallSeconds: child.wallSeconds, cpuSeconds: child.cpuSeconds, peakRSSBytes: child.maxRSSBytes, lowMemory: lowMemory, mode: generateMode,
                              genSteps: genSteps, decSteps: decSteps)
    }
}

/// `reptok bench generate-once --model F [--low-memory]`: one full generate (generator, decoder,
/// VAE) on a model, for the pipeline bench's child processes. Prints `{"seconds", "finite",
/// "peak_rss_mb"}`; `seconds` spans opening the model to the finished image.
struct BenchGenerateOnceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-once",
        abstract: "One full generate on a model, timed (child process of `bench pipeline`).",
        shouldDisplay: false)

    @Option(name: .long, help: "Model file (.gguf).")
    var model: String

    @Option(name: .long, help: "Worker threads (default: online cores).")
    var threads: Int?

    @Option(name: .long, help: "Matrix mode: w8a8 or w8a32.")
    var mode = "w8a8"

    @Flag(name: .long, help: "Release each stage's weight pages after use.")
    var lowMemory = false

    @Option(name: .long, help: "Generator steps.")
    var genSteps = 50

    @Option(name: .long, help: "Decoder steps.")
    var decSteps = 8

    @Option(name: .long, help: "Class label.")
    var label = 1

    @Option(name: .long, help: "Noise seed.")
    var seed: UInt64 = 0

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if MatrixMode(rawValue: mode) == nil { throw ValidationError("--mode must be w8a8 or w8a32") }
        if genSteps < 1 || decSteps < 1 { throw ValidationError("--gen-steps and --dec-steps must be at least 1") }
    }

    func run() throws {
        let t0 = MonotonicClock.seconds()
        let pipeline: Pipeline
        do {
            pipeline = try Pipeline(modelPath: model, options: PipelineOptions(threads: threads, mode: MatrixMode(rawValue: mode)!, lowMemory: lowMemory))
        } catch { throw CLIError(oneLine(error)) }
        let s = pipeline.config.sampling
        guard label < pipeline.config.numClasses else { throw CLIError("--label \(label) ≥ \(pipeline.config.numClasses) classes") }
        let token = try pipeline.generate(label: label, seed: seed, steps: genSteps, cfgScale: s.cfgScale, interval: s.tInterval)
        pipeline.releaseGeneratorWeights()      // as `reptok generate` does
        let image = try pipeline.decode(token: token, seed: seed, steps: decSteps)
        let seconds = MonotonicClock.seconds() - t0
        let out: [String: Any] = ["seconds": seconds, "finite": image.allSatisfy(\.isFinite),
                                  "peak_rss_mb": Double(ResourceUsage.peakMemoryBytes()) / 1e6]
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

// MARK: - Stages and their arithmetic

/// The reference machines the targets were set on, chosen by this CPU's best level:
/// reference figures were measured there with PyTorch (float32, eager, 2 threads, random
/// weights of the release's shapes) and the other engines named below.
enum MachineClass: String {
    /// 2-vCPU AMD EPYC Zen 4 (AVX-512 VNNI).
    case zen4
    /// 2-vCPU AMD EPYC Zen 1 (AVX2 + FMA, 256-bit operations in two halves). The targets
    /// there are the fastest other engine per stage: OpenVINO 2026.4 fp32 for the decoder
    /// step (4.06 s), PyTorch dynamic int8 and fp32 for encoder and VAE.
    case zen1

    static var current: MachineClass { ISA.best == .avx2 ? .zen1 : .zen4 }

    var label: String {
        switch self {
        case .zen4: "2-core Zen 4 (AVX-512 VNNI)"
        case .zen1: "2-core Zen 1 (AVX2)"
        }
    }

    func pytorch(_ s: PipelineStage) -> Double {
        switch (self, s) {
        case (.zen4, .encoder): 0.31
        case (.zen4, .decoderStep): 1.79
        case (.zen4, .vae): 5.87
        case (.zen4, .generatorStep): 0.31
        case (.zen1, .encoder): 0.90
        case (.zen1, .decoderStep): 5.05
        case (.zen1, .vae): 9.9
        case (.zen1, .generatorStep): 0.83
        }
    }

    func targetW8A8(_ s: PipelineStage) -> Double {
        switch (self, s) {
        case (.zen4, .encoder): 0.155
        case (.zen4, .decoderStep): 0.9
        case (.zen4, .vae): 2.9
        case (.zen4, .generatorStep): 0.04
        // Zen 1: the target is for the faster of the two modes, and int8 is no faster there
        case (.zen1, _): targetW8A32(s)
        }
    }

    func targetW8A32(_ s: PipelineStage) -> Double {
        switch (self, s) {
        case (.zen1, .encoder): 0.82
        case (.zen1, .decoderStep): 4.0
        case (.zen1, .vae): 9.1
        default: pytorch(s)
        }
    }
}

/// The four timed stages.
enum PipelineStage: String, CaseIterable {
    case encoder, decoderStep = "decoder_step", vae, generatorStep = "generator_step"

    /// PyTorch float32 eager, 2 threads, on the reference machine of this CPU's class, seconds.
    var pytorchSeconds: Double { MachineClass.current.pytorch(self) }

    /// Fast-mode (w8a8) target, seconds; the accurate mode's target is `targetW8A32`.
    var targetW8A8: Double { MachineClass.current.targetW8A8(self) }
    var targetW8A32: Double { MachineClass.current.targetW8A32(self) }

    /// Floating-point operations of one call (see `PipelineFLOPs`).
    func flops(_ c: ModelConfig) -> Double {
        switch self {
        case .encoder: PipelineFLOPs.encoder(c)
        case .decoderStep: PipelineFLOPs.decoderStep(c)
        case .vae: PipelineFLOPs.vae(c)
        case .generatorStep: PipelineFLOPs.generatorStep(c, batch: 2)
        }
    }

    /// Weight bytes one call reads (every tensor of the stage once; of the label table only the two
    /// rows used).
    func weightBytes(_ f: GGUFFile, _ c: ModelConfig) -> Double {
        let prefixes: [String]
        switch self {
        case .encoder: prefixes = ["enc."]
        case .decoderStep: prefixes = ["dec.", "adapter.backbone.", "adapter.temp_pos_embed"]
        case .vae: prefixes = ["vae."]
        case .generatorStep: prefixes = ["gen."]
        }
        var total = 0.0
        for t in f.orderedTensorInfos where prefixes.contains(where: { t.name.hasPrefix($0) }) {
            total += t.name == "gen.label_embedder.embedding_table.weight" ? Double(2 * c.generator.channels * 4) : Double(t.byteCount)
        }
        return total
    }

    /// A closure running one call of the stage on `p`, with deterministic inputs prepared beforehand.
    func workload(_ p: Pipeline) throws -> () throws -> Void {
        let c = p.config
        switch self {
        case .encoder:
            // A smooth test pattern in [-1, 1], [3, S, S].
            let image = (0 ..< c.imageCount).map { i in sin(Float(i % 977) * 0.0131) }
            return { _ = try p.encode(image: image) }
        case .decoderStep:
            let z = NoiseGenerator.gaussian(count: c.latentCount, seed: 1, stream: .decoder)
            let token = NoiseGenerator.gaussian(count: c.tokenDim, seed: 1, stream: .generator)
            return { _ = try p.decoderVelocity(latent: z, t: 0.7, token: token) }
        case .vae:
            let z = NoiseGenerator.gaussian(count: c.latentCount, seed: 2, stream: .decoder).map { $0 * c.vae.scalingFactor }
            return { _ = try p.vaeDecode(latent: z) }
        case .generatorStep:
            let x = NoiseGenerator.gaussian(count: c.tokenDim, seed: 3, stream: .generator)
            return { _ = try p.generatorVelocity(x: x, t: 0.5, label: 1 % c.numClasses, cfgScale: c.sampling.cfgScale) }
        }
    }
}

/// Floating-point operation counts of one call of each stage, as functions of the model sizes.
///
/// Convention: a matrix product of [M, K] by [K, N] counts 2·M·K·N (one multiply and one add per
/// term), including the m = 1 products (conditioning vectors); attention counts its two products,
/// QKᵀ (2·T·T·d per head) and PV (2·T·T·d per head), i.e. 4·T²·width per layer. Norms, activations,
/// softmax, RoPE and residual adds are not counted (they are O(T·width), under 1 %).
enum PipelineFLOPs {
    /// Encoder on one image (docs/model.md, 'Encoder'). T = 1 + R + g² tokens (261), C width, H MLP hidden, L layers,
    /// p patch: patch embedding 2·g²·(3p²)·C, then per layer
    /// 2·T·C·3C (qkv) + 4·T²·C (attention) + 2·T·C·C (proj) + 2·T·C·H + 2·T·H·C (MLP).
    static func encoder(_ c: ModelConfig) -> Double {
        let e = c.encoder
        let g = Double(e.grid), p = Double(e.patchSize), C = Double(e.width), H = Double(e.mlpHidden), T = Double(e.tokens)
        let patch = 2 * g * g * 3 * p * p * C
        let layer = 2 * T * C * 3 * C + 4 * T * T * C + 2 * T * C * C + 4 * T * C * H
        return patch + Double(e.depth) * layer
    }

    /// One decoder velocity (docs/model.md, 'Adapter' to 'Decoder transformer'), including the adapter and the time conditioning.
    /// N = patch tokens (256), T = N + 1, W width, F SwiGLU hidden, M mapping width, P = p²·Cl (16):
    /// adapter 2·C·W; time_in_proj 2·(2F_t)·M; mapping per block 2·M·2H_m + 2·H_m·M;
    /// pre_proj 2·N·P·W; merge 2·T·W·W; per layer 2·(2·M·W) (the two AdaRMSNorm linears)
    /// + 2·T·W·3W (qkv) + 4·T²·W (attention) + 2·T·W·W (out) + 2·T·W·2F (up) + 2·T·F·W (down);
    /// post_proj 2·N·W·P.
    static func decoderStep(_ c: ModelConfig) -> Double {
        let d = c.decoder, m = c.mapping
        let N = Double(d.patchTokens), T = Double(d.tokens), W = Double(d.width), F = Double(d.ffHidden)
        let M = Double(m.width), Hm = Double(m.hidden), P = Double(d.patchValues), C = Double(c.tokenDim)
        let conditioning = 2 * C * W + 2 * (2 * Double(m.timeFeatures)) * M + Double(m.depth) * (2 * M * 2 * Hm + 2 * Hm * M)
        let layer = 2 * (2 * M * W) + 2 * T * W * 3 * W + 4 * T * T * W + 2 * T * W * W + 2 * T * W * 2 * F + 2 * T * F * W
        return conditioning + 2 * N * P * W + 2 * T * W * W + Double(d.depth) * layer + 2 * N * W * P
    }

    /// SD-VAE decoder (docs/model.md, 'VAE decoder'). A 3×3 conv at h×w from cin to cout counts 2·h·w·9·cin·cout, a 1×1
    /// conv 2·h·w·cin·cout. Mid attention over n = h·w pixels of C0 channels: 4 linears 4·2·n·C0²
    /// plus 4·n²·C0.
    static func vae(_ c: ModelConfig) -> Double {
        let chans = Array(c.vae.blockOutChannels.reversed()).map(Double.init)
        let cl = Double(c.decoder.latentChannels)
        var hw = Double(c.decoder.latentH * c.decoder.latentW)
        func conv3(_ cin: Double, _ cout: Double) -> Double { 2 * hw * 9 * cin * cout }
        func resnet(_ cin: Double, _ cout: Double) -> Double {
            conv3(cin, cout) + conv3(cout, cout) + (cin != cout ? 2 * hw * cin * cout : 0)
        }
        let c0 = chans[0]
        var total = 2 * hw * cl * cl + conv3(cl, c0)                          // post_quant_conv, conv_in
        total += resnet(c0, c0) + 4 * 2 * hw * c0 * c0 + 4 * hw * hw * c0 + resnet(c0, c0)   // mid block
        var cin = c0
        for (b, cout) in chans.enumerated() {
            for r in 0 ... c.vae.layersPerBlock { total += resnet(r == 0 ? cin : cout, cout) }
            if b < chans.count - 1 { hw *= 4; total += conv3(cout, cout) }   // nearest 2×, then 3×3 conv
            cin = cout
        }
        return total + conv3(chans.last!, 3)                                   // conv_out
    }

    /// One generator velocity for `batch` samples (2 = guided: conditional + unconditional), docs/model.md, 'Generator'.
    /// R = 3·batch rows, C token size, D width, e token expansion, H = D·e′: time embedding
    /// 2·256·C + 2·C·C (shared by the batch); in 2·R·C·D; per layer token mixing
    /// 2·(batch·D)·3·3e + 2·(batch·D)·3e·3 and channel mixing 2·R·D·H + 2·R·H·D; out 2·batch·D·C.
    static func generatorStep(_ c: ModelConfig, batch: Int) -> Double {
        let g = c.generator
        let B = Double(batch), R = 3 * B, C = Double(g.channels), D = Double(g.dim)
        let e3 = 3 * Double(g.expansionToken), H = D * Double(g.expansionChannel)
        let layer = 2 * (B * D) * 3 * e3 * 2 + 2 * R * D * H * 2
        return 2 * 256 * C + 2 * C * C + 2 * R * C * D + Double(g.depth) * layer + 2 * B * D * C
    }
}

// MARK: - Measurements

/// Timings of one stage in one mode.
struct StageTiming {
    /// Seconds of the untimed warm-up call: includes mapping the stage's weight pages (from the page
    /// cache) and first-use scratch allocation.
    var first = 0.0
    /// Seconds of each timed run (after the warm-up), in order.
    var runs: [Double] = []
    /// Process CPU seconds (user + system, all threads) of each run.
    var cpu: [Double] = []
    /// Which measurement of the stage this is (1, or more after `--retries`).
    var attempt = 1
    var peakRSSBytes = 0
    /// Index of the median run.
    private var medianIndex: Int { runs.indices.sorted { runs[$0] < runs[$1] }[runs.count / 2] }
    var median: Double { runs.isEmpty ? 0 : runs[medianIndex] }
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

/// One warm-up call, then `runs` timed calls: seconds of the warm-up, wall and CPU seconds of each run.
private func timedRuns(runs: Int, _ body: () throws -> Void) throws -> (first: Double, wall: [Double], cpu: [Double]) {
    let start = MonotonicClock.seconds()
    try body()
    let first = MonotonicClock.seconds() - start
    var wall: [Double] = [], cpu: [Double] = []
    for _ in 0 ..< runs {
        let t0 = MonotonicClock.seconds(), c0 = ResourceUsage.cpuSeconds()
        try body()
        wall.append(MonotonicClock.seconds() - t0)
        cpu.append(ResourceUsage.cpuSeconds() - c0)
    }
    return (first, wall, cpu)
}

/// `$XDG_CACHE_HOME/reptok`, else `~/.cache/reptok`.
func defaultCacheFolder() -> String {
    if let x = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"], !x.isEmpty { return (x as NSString).appendingPathComponent("reptok") }
    return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/reptok")
}

// MARK: - Report

/// Everything one `bench pipeline` run measured.
struct PipelineBenchReport {
    struct Info { var flops: Double; var weightBytes: Double }
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
    var stageInfo: [PipelineStage: Info] = [:]
    var stages: [PipelineStage: [MatrixMode: StageTiming]] = [:]
    var generate: GenerateTiming?
    var generateLowMemory: GenerateTiming?

    /// The higher of the peak measurements (other load on the machine only lowers it).
    var fp32Peak: Double { fp32PeakRuns.max() ?? 0 }

    func json() -> [String: Any] {
        var stagesJSON: [String: Any] = [:], infoJSON: [String: Any] = [:]
        for (stage, modes) in stages {
            let info = stageInfo[stage]!
            var m: [String: Any] = [:]
            for (mode, t) in modes {
                let gflops = info.flops / t.median / 1e9
                m[mode.rawValue] = ["seconds": t.median, "gflops": gflops, "peak_fraction": fp32Peak > 0 ? gflops / fp32Peak : NSNull() as Any,
                                    "peak_rss_mb": Double(t.peakRSSBytes) / 1e6, "runs": t.runs, "min_seconds": t.minimum, "first_seconds": t.first,
                                    "cpu_per_wall": t.cpuPerWall, "attempt": t.attempt,
                                    "weight_gbs": info.weightBytes / t.median / 1e9] as [String: Any]
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
        s += "\nstage            GFLOP  weights  mode    seconds    (min)  GFLOP/s  of fp32 peak  weight GB/s  CPU/wall  peak RSS"
        s += release ? "   target  PyTorch\n" : "\n"
        for stage in PipelineStage.allCases {
            guard let modes = stages[stage], let info = stageInfo[stage] else { continue }
            var first = true
            for mode in MatrixMode.allCases.reversed() {
                guard let t = modes[mode] else { continue }
                let gflops = info.flops / t.median / 1e9
                let head = first ? stage.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) + pad(f(info.flops / 1e9, 1), 7)
                    + pad(String(format: "%.0f MB", info.weightBytes / 1e6), 9) : String(repeating: " ", count: 30)
                first = false
                s += head + "  " + mode.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0) + pad(f(t.median, 3), 9)
                    + pad("(" + f(t.minimum, 3) + ")", 9)
                    + pad(f(gflops, 1), 9) + pad(fp32Peak > 0 ? f(gflops / fp32Peak, 2) + "×" : "-", 14)
                    + pad(f(info.weightBytes / t.median / 1e9, 1), 13) + pad(f(t.cpuPerWall, 2) + (t.attempt > 1 ? "#\(t.attempt)" : "  "), 10)
                    + pad(mb(t.peakRSSBytes), 10)
                if release {
                    let target = mode == .w8a8 ? stage.targetW8A8 : stage.targetW8A32
                    s += pad("≤" + f(target, 3), 9) + pad(f(stage.pytorchSeconds, 2), 9) + (t.median <= target ? "  met" : "  missed")
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
        return s
    }
}
