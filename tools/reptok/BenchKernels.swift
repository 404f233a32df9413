import ArgumentParser
import Foundation
import Kernels
import Support

/// `reptok bench kernels [--json] [--threads N] [--reps R]`
///
/// Measures, in one run:
/// 1. the two ceilings — float32 FMA peak (register-only loop on every thread) and streaming
///    read bandwidth (a 512 MB buffer, 16× the 32 MB L3) — before and after the kernels,
///    keeping the higher of the two (other load on a shared machine only lowers them);
/// 2. GFLOP/s of `matmul` in both modes at the model's GEMM shapes;
/// 3. GB/s of weight bytes for the generator-shaped (6, 1536, 6144) product, cycling through
///    8 distinct weight matrices (75 MB) so the L3 cannot hold them;
/// 4. GFLOP/s of `conv3x3` at the VAE's 32×32×512 and 256×256×128 (W8A32 on the direct and the
///    Winograd path, W8A8), counted as the direct convolution's flops;
/// 5. the ratios to the ceilings and to the GEMM figure of the same mode.
/// Every figure is the median of `--reps` timed repetitions after one warm-up.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GEMM, gemv, conv3x3 and attention throughput against the measured float32 peak and read bandwidth.")

    @Flag(name: .long, help: "Print one JSON object instead of the table.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(threadHelp))
    var threads: Int?

    @Option(name: .long, help: "Timed repetitions per figure (the median is reported).")
    var reps: Int = 7

    @Flag(name: .long, help: "Report the fastest repetition instead of the median (less sensitive to other load on a shared machine; not the official figure).")
    var best = false

    @Option(name: .long, help: "Only these sections, comma-separated: ceilings, gemm, gemv, conv, attention (for profiling; ratios need ceilings).")
    var only: CommaList<KernelBenchSection>?

    func validate() throws {
        try checkOption("--threads", threads, in: threadRange)
        try checkOption("--reps", reps, in: 1 ... 10_000)
    }

    func run() throws {
        let ctx = ComputeContext(threads: threads)
        let sections = only.map { Set($0.items) }
        let report = BenchKernels(ctx: ctx, reps: reps, sections: sections, best: best).run(progress: !json)
        if json {
            let data = try JSONSerialization.data(withJSONObject: report.json(), options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(report.table())
        }
    }
}

/// The parts of `bench kernels` that `--only` can pick.
enum KernelBenchSection: String, CaseIterable, ExpressibleByArgument {
    case ceilings, gemm, gemv, conv, attention
}

/// Median (or, with `best`, minimum) of the timings of `reps` calls of `body` after one
/// warm-up call.
private func medianTime(reps: Int, best: Bool = BenchKernels.reportBest, _ body: () -> Void) -> Double {
    body()
    var t: [Double] = []
    for _ in 0..<reps {
        let t0 = MonotonicClock.seconds()
        body()
        t.append(MonotonicClock.seconds() - t0)
    }
    return best ? t.min()! : medianOf(t)
}

/// The median of `values` (0 for none): the middle one, or the mean of the two middle ones of
/// an even count, as Python's `statistics.median` takes it.
func medianOf(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let t = values.sorted(), h = t.count / 2
    return t.count % 2 == 1 ? t[h] : (t[h - 1] + t[h]) / 2
}

/// Everything one run measures.
struct KernelBenchReport {
    struct Gemm { let m, k, n: Int; let mode: MatrixMode; let gflops: Double }
    struct Gemv { let m, k, n: Int; let mode: MatrixMode; let gbs: Double; let gflops: Double }
    /// path: which algorithm ran ("direct" or "winograd" for W8A32, "int8" for W8A8).
    struct Conv { let h, w, c: Int; let mode: MatrixMode; let path: String; let gflops: Double }
    struct Attn { let tokens, heads, headDim: Int; let gflops: Double }
    var threads = 1
    var isa = ISA.generic
    var fp32Probe = "", int8Probe = ""
    var statistic = "median"
    var fp32Peak = 0.0, int8Peak = 0.0, readBW = 0.0
    /// The AMX int8 probe (four tdpbssd accumulator tiles, all threads), GOP/s; nil when this
    /// process cannot run tiles (no AMX, or the OS refused the tile state).
    var amxPeak: Double?
    var amxProbe = ""
    /// (fp32 peak, read bandwidth) measured before and after the kernels; the reported
    /// ceilings are the higher of the two.
    var ceilingsStart = (0.0, 0.0), ceilingsEnd = (0.0, 0.0)
    /// Plain streaming read of the gemv's 75 MB weight cycle (context, not a ceiling).
    var gemvSetReadBW = 0.0
    var gemm: [Gemm] = [], gemv: [Gemv] = [], conv: [Conv] = [], attention: [Attn] = []

    func gemmFigure(_ mode: MatrixMode) -> Double {
        let v = gemm.filter { $0.mode == mode }.map(\.gflops).sorted()
        return v.isEmpty ? 0 : v[v.count / 2]
    }

    /// a / b, or JSON null when the ceiling was not measured (`--only`).
    private func ratio(_ a: Double, _ b: Double) -> Any { b > 0 ? a / b : NSNull() }

    func json() -> [String: Any] {
        [
            "fp32_peak_gflops": fp32Peak, "read_bandwidth_gbs": readBW,
            "int8_peak_gops": int8Peak, "threads": threads, "isa": isa.rawValue, "vnni": isa == .avx512vnni,
            "amx_int8_peak_gops": amxPeak.map { $0 as Any } ?? NSNull(), "amx_probe": amxProbe,
            "fp32_probe": fp32Probe, "int8_probe": int8Probe, "statistic": statistic,
            "ceilings_start": ["fp32_peak_gflops": ceilingsStart.0, "read_bandwidth_gbs": ceilingsStart.1],
            "ceilings_end": ["fp32_peak_gflops": ceilingsEnd.0, "read_bandwidth_gbs": ceilingsEnd.1],
            "gemv_weight_set_read_gbs": gemvSetReadBW,
            "gemm": gemm.map { g -> [String: Any] in
                var e: [String: Any] = ["m": g.m, "k": g.k, "n": g.n, "mode": g.mode.rawValue, "gflops": g.gflops,
                                        "ratio_to_fp32_peak": ratio(g.gflops, fp32Peak)]
                if g.mode == .w8a8,
                   let base = gemm.first(where: { $0.m == g.m && $0.k == g.k && $0.n == g.n && $0.mode == .w8a32 }) {
                    e["ratio_to_w8a32"] = g.gflops / base.gflops
                }
                return e
            },
            "gemv": gemv.map { ["m": $0.m, "k": $0.k, "n": $0.n, "mode": $0.mode.rawValue, "gbs": $0.gbs,
                                "gflops": $0.gflops, "ratio_to_read_bandwidth": ratio($0.gbs, readBW)] as [String: Any] },
            "conv3x3": conv.map { ["h": $0.h, "w": $0.w, "c": $0.c, "mode": $0.mode.rawValue, "path": $0.path,
                                   "gflops": $0.gflops,
                                   "ratio_to_fp32_peak": ratio($0.gflops, fp32Peak),
                                   "ratio_to_gemm_same_mode": ratio($0.gflops, gemmFigure($0.mode))] as [String: Any] },
            "attention": attention.map { ["tokens": $0.tokens, "heads": $0.heads, "head_dim": $0.headDim,
                                          "gflops": $0.gflops, "ratio_to_fp32_peak": ratio($0.gflops, fp32Peak)] as [String: Any] },
        ]
    }

    func table() -> String {
        func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
        func pct(_ x: Double) -> String { x.isFinite ? String(format: "%5.1f %%", 100 * x) : "n/a" }
        var s = "threads \(threads), instruction level \(isa) (CPU: \(ISA.cpuSummary))\n"
        s += "ceilings: float32 peak \(f(fp32Peak)) GFLOP/s (\(fp32Probe)); read bandwidth \(f(readBW)) GB/s"
        if int8Peak > 0 { s += "; int8 peak \(f(int8Peak)) GOP/s (\(int8Probe))" }
        s += "\n  (higher of start \(f(ceilingsStart.0)) / \(f(ceilingsStart.1)) and end \(f(ceilingsEnd.0)) / \(f(ceilingsEnd.1)))"
        s += "\nAMX int8 probe: " + (amxPeak.map { "\(f($0)) GOP/s (\(amxProbe))" } ?? amxProbe)
        s += "\n\nGEMM (M, K, N)          mode    GFLOP/s   of fp32 peak   w8a8/w8a32\n"
        for g in gemm {
            let other = gemm.first { $0.m == g.m && $0.k == g.k && $0.n == g.n && $0.mode == .w8a32 }
            let speedup = g.mode == .w8a8 ? other.map { f(g.gflops / $0.gflops, 2) + "x" } ?? "" : ""
            s += "(\(g.m), \(g.k), \(g.n))".padding(toLength: 24, withPad: " ", startingAt: 0)
                + g.mode.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                + f(g.gflops).leftPad(7) + "   " + pct(g.gflops / fp32Peak).leftPad(12) + "   " + speedup.leftPad(10) + "\n"
        }
        s += "\ngemv (M, K, N), 8 matrices   mode    weight GB/s   of read bandwidth   GFLOP/s\n"
        for g in gemv {
            s += "(\(g.m), \(g.k), \(g.n))".padding(toLength: 29, withPad: " ", startingAt: 0)
                + g.mode.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                + f(g.gbs).leftPad(11) + "   " + pct(g.gbs / readBW).leftPad(17) + "   " + f(g.gflops).leftPad(7) + "\n"
        }
        if gemvSetReadBW > 0 { s += "(plain streaming read of the same 8 matrices: \(f(gemvSetReadBW)) GB/s)\n" }
        s += "\nconv3x3 (H, W, C)       mode    path      GFLOP/s   of fp32 peak   of GEMM (same mode)\n"
        for c in conv {
            s += "(\(c.h), \(c.w), \(c.c))".padding(toLength: 24, withPad: " ", startingAt: 0)
                + c.mode.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                + c.path.padding(toLength: 10, withPad: " ", startingAt: 0)
                + f(c.gflops).leftPad(7) + "   " + pct(c.gflops / fp32Peak).leftPad(12) + "   "
                + pct(c.gflops / gemmFigure(c.mode)).leftPad(19) + "\n"
        }
        s += "\nattention (tokens, heads, head)   GFLOP/s   of fp32 peak\n"
        for a in attention {
            s += "(\(a.tokens), \(a.heads), \(a.headDim))".padding(toLength: 34, withPad: " ", startingAt: 0)
                + f(a.gflops).leftPad(7) + "   " + pct(a.gflops / fp32Peak).leftPad(12) + "\n"
        }
        s += "\n(GEMM figure per mode = median over the three shapes; each figure the \(statistic) of repeated runs;"
        s += "\n conv3x3 GFLOP/s count the direct convolution's 2·9·C·C per pixel on every path)"
        return s
    }
}

private extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

/// Deterministic pseudo-random fill (xorshift), fast enough for hundreds of MB.
private func fill(_ p: UnsafeMutablePointer<Float>, _ n: Int, seed: UInt64) {
    var s = seed | 1
    for i in 0..<n {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        p[i] = Float(Int32(truncatingIfNeeded: s >> 40) & 0xFFFF) / 32768 - 1
    }
}

private func fill(_ p: UnsafeMutablePointer<Int8>, _ n: Int, seed: UInt64) {
    var s = seed | 1
    for i in 0..<n {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17
        p[i] = Int8(truncatingIfNeeded: s >> 32)
    }
}

final class BenchKernels {
    let ctx: ComputeContext
    let reps: Int
    /// nil = everything.
    var sections: Set<KernelBenchSection>? = nil
    /// Fastest instead of median repetition.
    var best = false
    nonisolated(unsafe) static var reportBest = false
    /// Plain read bandwidth over the gemv's 8-matrix set (set by `gemv`).
    var setReadBW = 0.0

    init(ctx: ComputeContext, reps: Int, sections: Set<KernelBenchSection>? = nil, best: Bool = false) {
        self.ctx = ctx; self.reps = reps; self.sections = sections; self.best = best
    }

    private func wants(_ s: KernelBenchSection) -> Bool { sections?.contains(s) ?? true }

    func run(progress: Bool) -> KernelBenchReport {
        BenchKernels.reportBest = best
        var r = KernelBenchReport()
        r.threads = ctx.threads
        r.statistic = best ? "min" : "median"
        r.isa = ctx.isa
        r.fp32Probe = Probes.fp32(ctx.isa).name
        r.int8Probe = Probes.int8(ctx.isa)?.name
            ?? (ctx.isa == .generic ? "none: the generic level runs W8A8 on float FMAs"
                                    : "none: \(ctx.isa) runs its int8 products on a scalar model of the tiles")
        r.amxProbe = Probes.amx?.name
            ?? (ISA.amxRefused ? "not available (this CPU has AMX but the OS refused the tile state)"
                               : "not available (this CPU has no AMX)")
        func note(_ s: String) {
            if progress { FileHandle.standardError.write(Data("bench: \(s)\n".utf8)) }
        }
        if wants(.ceilings) {
            note("ceilings (start)")
            (r.fp32Peak, r.int8Peak) = peaks()
            r.amxPeak = Probes.amx.map(measurePeak)
            r.readBW = readBandwidth()
            r.ceilingsStart = (r.fp32Peak, r.readBW)
        }
        for (m, k, n) in [(257, 1152, 3456), (257, 3456, 1152), (261, 768, 3072)] where wants(.gemm) {
            for mode in MatrixMode.allCases {
                note("gemm \(m)x\(k)x\(n) \(mode.rawValue)")
                r.gemm.append(.init(m: m, k: k, n: n, mode: mode, gflops: gemm(m: m, k: k, n: n, mode: mode)))
            }
        }
        for mode in MatrixMode.allCases where wants(.gemv) {
            note("gemv \(mode.rawValue)")
            let (gbs, gflops) = gemv(m: 6, k: 1536, n: 6144, mode: mode)
            r.gemv.append(.init(m: 6, k: 1536, n: 6144, mode: mode, gbs: gbs, gflops: gflops))
            r.gemvSetReadBW = max(r.gemvSetReadBW, setReadBW)
        }
        for (h, w, c) in [(32, 32, 512), (256, 256, 128)] where wants(.conv) {
            for (mode, path) in [(MatrixMode.w8a32, ConvAlgorithm.direct), (.w8a32, .winograd), (.w8a8, .automatic)] {
                let name = mode == .w8a8 ? "int8" : path.rawValue
                note("conv3x3 \(h)x\(w)x\(c) \(mode.rawValue) \(name)")
                r.conv.append(.init(h: h, w: w, c: c, mode: mode, path: name,
                                    gflops: conv(h: h, w: w, c: c, mode: mode, algorithm: path)))
            }
        }
        for (t, hd, d) in [(261, 12, 64), (257, 16, 72), (1024, 1, 512)] where wants(.attention) {
            note("attention \(t)x\(hd)x\(d)")
            r.attention.append(.init(tokens: t, heads: hd, headDim: d, gflops: attention(tokens: t, heads: hd, headDim: d)))
        }
        if wants(.ceilings) {
            // Other load on a shared machine only lowers a ceiling: keep the higher of the
            // measurements taken before and after the kernels (so ratios are conservative).
            note("ceilings (end)")
            let (peak, int8) = peaks()
            let bw = readBandwidth()
            r.ceilingsEnd = (peak, bw)
            r.fp32Peak = max(r.fp32Peak, peak); r.int8Peak = max(r.int8Peak, int8); r.readBW = max(r.readBW, bw)
        }
        return r
    }

    /// Float32 FMA peak (GFLOP/s) and int8 multiply-add peak (GOP/s; 0 for the generic
    /// level) of the context's level, all threads.
    func peaks() -> (Double, Double) {
        (measurePeak(Probes.fp32(ctx.isa)), Probes.int8(ctx.isa).map(measurePeak) ?? 0)
    }

    /// One probe loop on all threads: 2 × multiply-adds per second, in G.
    func measurePeak(_ loop: Probes.Loop) -> Double {
        // 9.6 G multiply-adds per thread and repetition, whatever the loop's width
        let iters = 600_000_000 / loop.macsPerIteration * 16
        let sink = UnsafeMutablePointer<Double>.allocate(capacity: ctx.threads)
        defer { sink.deallocate() }
        let t = medianTime(reps: reps) {
            ctx.parallelFor(ctx.threads) { r in for th in r { sink[th] = loop.run(iters) } }
        }
        return Double(ctx.threads) * Double(iters) * Double(loop.macsPerIteration) * 2 / t / 1e9
    }

    /// Streaming read bandwidth (GB/s) over a 512 MB buffer, all threads.
    func readBandwidth() -> Double {
        let count = 128 << 20
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buf.deallocate() }
        ctx.parallelFor(count / 4096) { r in fill(buf + r.lowerBound * 4096, r.count * 4096, seed: UInt64(r.lowerBound + 1)) }
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: ctx.threads)
        defer { sink.deallocate() }
        let t = medianTime(reps: reps) {
            ctx.parallelFor(ctx.threads) { r in
                for part in r {
                    let lo = count * part / ctx.threads, hi = count * (part + 1) / ctx.threads
                    sink[part] = Probes.streamRead(buf + lo, count: hi - lo)
                }
            }
        }
        return Double(count * 4) / t / 1e9
    }

    func gemm(m: Int, k: Int, n: Int, mode: MatrixMode) -> Double {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k); defer { a.deallocate() }
        let w = alignedWeights(n * k); defer { UnsafeMutableRawPointer(w).deallocate() }
        let s = UnsafeMutablePointer<Float>.allocate(capacity: n); defer { s.deallocate() }
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n); defer { c.deallocate() }
        fill(a, m * k, seed: 1); fill(w, n * k, seed: 2); s.initialize(repeating: 0.01, count: n)
        let plain = WeightMatrix(i8: w, scales: s, n: n, k: k)
        // W8A8 on the weights the encoder and decoder run it on: packed once into the level's
        // panels (`I8Panels`, as the runtime keeps them), not packed again by every call
        let panels = mode == .w8a8 ? I8Panels(packing: plain, ctx: ctx) : nil
        let wm = panels?.matrix ?? plain
        let t = withExtendedLifetime(panels) {
            medianTime(reps: reps) {
                matmul(a, lda: k, m: m, wm, bias: nil, into: c, ldc: n, mode: mode, ctx: ctx)
            }
        }
        return 2 * Double(m) * Double(k) * Double(n) / t / 1e9
    }

    /// int8 weights at a 64-byte boundary, as a model file's tensors are (malloc's 16 bytes
    /// past one made every other zmm load of a weight row split two cache lines). Raw
    /// memory: free it as `UnsafeMutableRawPointer(w).deallocate()`.
    func alignedWeights(_ count: Int) -> UnsafeMutablePointer<Int8> {
        UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64).bindMemory(to: Int8.self, capacity: count)
    }

    /// Weight GB/s and GFLOP/s of (m, k, n) cycling over 8 distinct weight matrices.
    func gemv(m: Int, k: Int, n: Int, mode: MatrixMode) -> (Double, Double) {
        let count = 8
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k); defer { a.deallocate() }
        let w = alignedWeights(count * n * k); defer { UnsafeMutableRawPointer(w).deallocate() }
        let s = UnsafeMutablePointer<Float>.allocate(capacity: n); defer { s.deallocate() }
        let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n); defer { c.deallocate() }
        fill(a, m * k, seed: 3); s.initialize(repeating: 0.01, count: n)
        ctx.parallelFor(count) { r in for i in r { fill(w + i * n * k, n * k, seed: UInt64(10 + i)) } }
        let t = medianTime(reps: reps) {
            for i in 0..<count {
                let wm = WeightMatrix(i8: w + i * n * k, scales: s, n: n, k: k)
                matmul(a, lda: k, m: m, wm, bias: nil, into: c, ldc: n, mode: mode, ctx: ctx)
            }
        } / Double(count)
        // plain streaming read of the same 8 matrices, for context (part of a 75 MB cycle
        // may survive in the L3; the 512 MB figure is the ceiling used for the ratios)
        let sink = UnsafeMutablePointer<Float>.allocate(capacity: ctx.threads)
        defer { sink.deallocate() }
        let tr = medianTime(reps: reps) {
            for i in 0..<count {
                let base = UnsafeRawPointer(w + i * n * k).assumingMemoryBound(to: Float.self)
                let floats = n * k / 4
                ctx.parallelFor(ctx.threads) { r in
                    for part in r {
                        let lo = floats * part / ctx.threads, hi = floats * (part + 1) / ctx.threads
                        sink[part] = Probes.streamRead(base + lo, count: hi - lo)
                    }
                }
            }
        } / Double(count)
        setReadBW = Double(n * k) / tr / 1e9
        return (Double(n * k) / t / 1e9, 2 * Double(m * n * k) / t / 1e9)
    }

    /// GFLOP/s counted as the direct convolution's 2 · 9 · c · c per pixel, whatever the path.
    func conv(h: Int, w: Int, c: Int, mode: MatrixMode, algorithm: ConvAlgorithm) -> Double {
        let x = UnsafeMutablePointer<Float>.allocate(capacity: h * w * c); defer { x.deallocate() }
        let wt = UnsafeMutablePointer<Int8>.allocate(capacity: c * 9 * c); defer { wt.deallocate() }
        let s = UnsafeMutablePointer<Float>.allocate(capacity: c); defer { s.deallocate() }
        let b = UnsafeMutablePointer<Float>.allocate(capacity: c); defer { b.deallocate() }
        let o = UnsafeMutablePointer<Float>.allocate(capacity: h * w * c); defer { o.deallocate() }
        fill(x, h * w * c, seed: 4); fill(wt, c * 9 * c, seed: 5); fill(b, c, seed: 6)
        s.initialize(repeating: 0.01, count: c)
        let wm = WeightMatrix(i8: wt, scales: s, n: c, k: 9 * c)
        let t = medianTime(reps: max(3, reps / 2)) {
            conv3x3(x, height: h, width: w, inChannels: c, wm, bias: b, out: o, mode: mode, ctx: ctx,
                    algorithm: algorithm)
        }
        return 2 * Double(h * w) * Double(c) * Double(9 * c) / t / 1e9
    }

    func attention(tokens: Int, heads: Int, headDim: Int) -> Double {
        let width = heads * headDim
        let q = UnsafeMutablePointer<Float>.allocate(capacity: tokens * 3 * width); defer { q.deallocate() }
        let o = UnsafeMutablePointer<Float>.allocate(capacity: tokens * width); defer { o.deallocate() }
        fill(q, tokens * 3 * width, seed: 7)
        let t = medianTime(reps: reps) {
            Kernels.attention(q: q, qStride: 3 * width, k: q + width, kStride: 3 * width, v: q + 2 * width,
                              vStride: 3 * width, out: o, outStride: width, tokens: tokens, heads: heads,
                              headDim: headDim, scale: 1 / Float(headDim).squareRoot(), ctx: ctx)
        }
        return 4 * Double(tokens) * Double(tokens) * Double(width) / t / 1e9
    }
}
