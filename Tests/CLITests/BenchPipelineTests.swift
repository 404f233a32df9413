import Foundation
import Quant
import TestSupport
import XCTest

/// `reptok bench pipeline` end to end on the tiny preset: the JSON fields the report promises, a cached model
/// that is reused, and FLOP counts checked against an independent count from the written file's
/// weight shapes (read by the PyPI `gguf` package).
final class BenchPipelineTests: XCTestCase {
    /// Independent FLOP count per stage from the tensor table: every int8 weight [n, k] costs
    /// 2·rows·n·k, with `rows` the number of activation rows it multiplies (written per layer kind
    /// from docs/model.md), plus attention's 4·T²·width per layer. Prints JSON {stage: flops}.
    static let countScript = #"""
    import json, sys, gguf
    r = gguf.GGUFReader(sys.argv[1], "r")
    md = {k: f.parts[f.data[0]].tolist()[0] for k, f in r.fields.items()
          if f.types and f.types[0] not in (gguf.GGUFValueType.STRING, gguf.GGUFValueType.ARRAY)}
    chans = [int(r.fields["reptok.vae.block_out_channels"].parts[i][0]) for i in r.fields["reptok.vae.block_out_channels"].data][::-1]
    g = md["reptok.encoder.input_size"] // md["reptok.encoder.patch_size"]
    Te = 1 + md["reptok.encoder.registers"] + g * g
    N = (md["reptok.decoder.latent_h"] // md["reptok.decoder.patch_size"]) ** 2
    Td = N + 1
    hw = md["reptok.decoder.latent_h"] * md["reptok.decoder.latent_w"]
    D = md["reptok.generator.dim"]
    flops = {"encoder": 0, "decoder_step": 0, "vae": 0, "generator_step": 0}
    for t in r.tensors:
        if t.tensor_type.name != "I8":
            continue
        n = t.name
        numel = int(t.n_elements)
        if n.startswith("enc."):
            flops["encoder"] += 2 * numel * (g * g if "patch_embed" in n else Te)
        elif n.startswith("adapter.") or n.startswith("dec.time_in_proj") or n.startswith("dec.mapping") or ".norm.linear" in n:
            flops["decoder_step"] += 2 * numel
        elif n.startswith("dec."):
            flops["decoder_step"] += 2 * numel * (N if "pre_proj" in n or "post_proj" in n else Td)
        elif n.startswith("vae."):
            parts = n.split(".")
            if n.startswith("vae.decoder.up_blocks."):
                b = int(parts[3])
                pixels = hw * 4 ** (b + 1 if "upsamplers" in n else b)
            elif n.startswith("vae.decoder.conv_out"):
                pixels = hw * 4 ** (len(chans) - 1)
            else:
                pixels = hw
            flops["vae"] += 2 * numel * pixels
        elif n.startswith("gen."):
            if "t_embedder" in n:
                rows = 1
            elif ".0.fn." in n:
                rows = 2 * D
            elif n.startswith("gen.mixer.%d." % (md["reptok.generator.depth"] + 2)):
                rows = 2
            else:
                rows = 6
            flops["generator_step"] += 2 * numel * rows
    flops["encoder"] += md["reptok.encoder.depth"] * 4 * Te * Te * md["reptok.encoder.width"]
    flops["decoder_step"] += md["reptok.decoder.depth"] * 4 * Td * Td * md["reptok.decoder.width"]
    flops["vae"] += 4 * hw * hw * chans[0]
    print(json.dumps(flops))
    """#

    func testTinyPresetReportsEveryFieldWithCorrectFLOPs() throws {
        let reptok = CLIEndToEndTests.reptok
        XCTAssertFalse(reptok.isEmpty, "reptok executable not found next to the test bundle")
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["bench", "pipeline", "--preset", "tiny", "--json", "--cache", dir.path, "--runs", "1", "--threads", "1", "--retries", "0"]
        let run = try TestSupport.run(reptok, args)
        XCTAssertEqual(run.status, 0, run.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)

        XCTAssertGreaterThan(report["fp32_peak_gflops"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(report["read_bandwidth_gbs"] as? Double ?? 0, 0)
        XCTAssertEqual(report["cache_reused"] as? Bool, false)
        let stages = try XCTUnwrap(report["stages"] as? [String: [String: [String: Any]]])
        let info = try XCTUnwrap(report["stage_info"] as? [String: [String: Any]])
        XCTAssertEqual(Set(stages.keys), ["encoder", "decoder_step", "vae", "generator_step"])
        for (name, modes) in stages {
            XCTAssertEqual(Set(modes.keys), ["w8a8", "w8a32"], name)
            let gflop = try XCTUnwrap(info[name]?["gflop"] as? Double)
            for (mode, m) in modes {
                let seconds = try XCTUnwrap(m["seconds"] as? Double), gflops = try XCTUnwrap(m["gflops"] as? Double)
                let fraction = try XCTUnwrap(m["peak_fraction"] as? Double)
                XCTAssertGreaterThan(seconds, 0, "\(name) \(mode)")
                /// Tolerance: float rounding of the divisions only.
                XCTAssertEqual(gflops * seconds, gflop, accuracy: gflop * 1e-9, "\(name) \(mode)")
                XCTAssertEqual(fraction, gflops / (report["fp32_peak_gflops"] as! Double), accuracy: fraction * 1e-9)
                XCTAssertGreaterThan(m["peak_rss_mb"] as? Double ?? 0, 1, "\(name) \(mode)")
                XCTAssertEqual(m["attempt"] as? Int, 1, "--retries 0 measures once")
            }
        }
        for key in ["generate", "generate_low_memory"] {
            let g = try XCTUnwrap(report[key] as? [String: Any], key)
            XCTAssertGreaterThan(g["seconds"] as? Double ?? 0, 0, key)
            XCTAssertGreaterThan(g["peak_rss_mb"] as? Double ?? 0, 1, key)
        }

        // The FLOP formulas against the independent count from the file's weight shapes.
        let model = try XCTUnwrap(report["model"] as? String)
        let script = dir.appendingPathComponent("count.py").path
        try Self.countScript.write(toFile: script, atomically: true, encoding: .utf8)
        let py = try TestSupport.run(TestSupport.python3, [script, model])
        XCTAssertEqual(py.status, 0, py.stderr)
        let counts = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(py.stdout.utf8)) as? [String: Double])
        for (name, flops) in counts {
            let gflop = try XCTUnwrap(info[name]?["gflop"] as? Double, name)
            /// Exact integers well below 2^53, divided by 1e9 once.
            XCTAssertEqual(gflop * 1e9, flops, accuracy: flops * 1e-12, name)
        }

        // A second run reuses the cached model.
        let again = try TestSupport.run(reptok, args + ["--only", "generator_step", "--modes", "w8a8", "--no-generate", "--no-ceilings"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let r2 = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(r2["cache_reused"] as? Bool, true)
        XCTAssertEqual((r2["stages"] as? [String: Any])?.keys.sorted(), ["generator_step"])
    }

    /// `--weights int4`: the synthetic model is written with Q4_0 Linear layers (int8 VAE) into its
    /// own cache file, timed, and reused by the next run.
    func testInt4SyntheticModelIsWrittenAndReused() throws {
        let reptok = CLIEndToEndTests.reptok
        let dir = try TestSupport.makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["bench", "pipeline", "--preset", "tiny", "--weights", "int4", "--json", "--cache", dir.path, "--runs", "1",
                    "--threads", "1", "--retries", "0", "--only", "generator_step,decoder_step", "--no-ceilings", "--no-generate"]
        for reused in [false, true] {
            let run = try TestSupport.run(reptok, args)
            XCTAssertEqual(run.status, 0, run.stderr)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
            XCTAssertEqual(report["cache_reused"] as? Bool, reused)
            let model = try XCTUnwrap(report["model"] as? String)
            XCTAssertTrue(model.hasSuffix("synthetic-tiny-int4-seed0.gguf"), model)
            let g = try GGUFFile(path: model)
            XCTAssertEqual(g.metadata["reptok.weights"]?.string, "int4")
            XCTAssertTrue(g.orderedTensorInfos.contains { $0.type == .q4_0 && $0.name.hasPrefix("gen.") })
            XCTAssertTrue(g.orderedTensorInfos.filter { $0.name.hasPrefix("vae.") }.allSatisfy { $0.type != .q4_0 })
            let stages = try XCTUnwrap(report["stages"] as? [String: [String: [String: Any]]])
            XCTAssertEqual(Set(stages.keys), ["decoder_step", "generator_step"])
            for (name, modes) in stages { for (mode, m) in modes { XCTAssertGreaterThan(m["seconds"] as? Double ?? 0, 0, "\(name) \(mode)") } }
        }
    }
}
