import Formats
import Foundation
import TestSupport
import XCTest

/// `reptok bench pipeline` end to end on the tiny preset: the JSON fields the report promises, a cached model
/// that is reused, and FLOP counts checked against a count worked out by hand and an independent
/// count from the written file's weight shapes (read by the PyPI `gguf` package).
final class BenchPipelineTests: XCTestCase {
    /// Independent FLOP count per stage from the tensor table: every int8 weight [n, k] costs
    /// 2·rows·n·k, with `rows` the number of activation rows it multiplies (written per layer kind
    /// from docs/model.md; the encoder's last block runs only the cls row past its qkv), plus
    /// attention's 4·queries·keys·width per layer. Prints JSON {stage: flops}.
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
            last = n.startswith("enc.blocks.%d." % (md["reptok.encoder.depth"] - 1)) and ".attn.qkv." not in n
            flops["encoder"] += 2 * numel * (g * g if "patch_embed" in n else 1 if last else Te)
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
    flops["encoder"] += ((md["reptok.encoder.depth"] - 1) * Te + 1) * 4 * Te * md["reptok.encoder.width"]
    flops["decoder_step"] += md["reptok.decoder.depth"] * 4 * Td * Td * md["reptok.decoder.width"]
    flops["vae"] += 4 * hw * hw * chans[0]
    print(json.dumps(flops))
    """#

    /// FLOPs of one call of each stage for the tiny preset (models/presets/tiny.json), worked out
    /// by hand from docs/model.md with the count convention of `FLOPs` (2·M·K·N per product,
    /// 4·T²·width per attention layer):
    /// - encoder: grid 56/14 = 4, T = 1 + 4 + 16 = 21, C 128, MLP 512, 2 layers. Patch embedding
    ///   2·16·(3·14²)·128 = 2,408,448; per layer qkv 2·21·128·384 = 2,064,384, attention
    ///   4·21²·128 = 225,792, proj 2·21·128² = 688,128, MLP 2·(2·21·128·512) = 5,505,024, so
    ///   8,483,328. The last layer computes only the cls row past its qkv: qkv 2,064,384,
    ///   attention 4·1·21·128 = 10,752, proj 2·128² = 32,768, MLP 2·(2·128·512) = 262,144, so
    ///   2,370,048; total 2,408,448 + 8,483,328 + 2,370,048 = 13,261,824.
    /// - decoder_step: N = (16/2)² = 64 patches, T = 65, W 144, F 432, mapping 64 wide (hidden
    ///   192, 32 time features), P = 2²·4 = 16. Adapter 2·128·144 = 36,864, time_in_proj
    ///   2·64·64 = 8,192, mapping 2·64·384 + 2·192·64 = 73,728, pre_proj 2·64·16·144 = 294,912,
    ///   merge 2·65·144² = 2,695,680; per layer the two AdaRMSNorm linears 2·(2·64·144) = 36,864,
    ///   qkv 2·65·144·432 = 8,087,040, attention 4·65²·144 = 2,433,600, out 2,695,680, up
    ///   2·65·144·864 = 16,174,080, down 8,087,040, so 37,514,304; post_proj 294,912;
    ///   total 78,432,896.
    /// - vae: latent 16×16×4, channels 128 then 64, one upsampling (to 32×32). post_quant_conv
    ///   2·256·4·4 = 8,192; conv_in 2·256·9·4·128 = 2,359,296; a 3×3 128→128 conv at 16×16 is
    ///   75,497,472, so the mid block is 4 of them + attention linears 4·2·256·128² = 33,554,432
    ///   + attention 4·256²·128 = 33,554,432 = 369,098,752; up block 0: 4 such convs
    ///   (301,989,888) then the upsampler's conv at 32×32 (301,989,888); up block 1 at 32×32:
    ///   128→64 (150,994,944) + 64→64 (75,497,472) + 1×1 shortcut (16,777,216), and one 64→64
    ///   resnet (150,994,944); conv_out 2·1024·9·64·3 = 3,538,944; total 1,373,249,536.
    /// - generator_step (guided, 2 samples of 3 rows): time embedding 2·256·128 + 2·128² =
    ///   98,304; in 2·6·128·96 = 147,456; per layer token mixing 2·(2·96·3·9·2) = 20,736 and
    ///   channel mixing 2·(2·6·96·384) = 884,736, two layers 1,810,944; out 2·2·96·128 = 49,152;
    ///   total 2,105,856.
    static let tinyFLOPs: [String: Double] = [
        "encoder": 13_261_824, "decoder_step": 78_432_896, "vae": 1_373_249_536, "generator_step": 2_105_856,
    ]

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
            let byHand = try XCTUnwrap(Self.tinyFLOPs[name], name)
            // Exact integers below 2^53, divided by 1e9 once: only that division rounds.
            XCTAssertEqual(gflop * 1e9, byHand, accuracy: byHand * 1e-12, "\(name): FLOPs of the tiny preset")
            for (mode, m) in modes {
                XCTAssertGreaterThan(try XCTUnwrap(m["seconds"] as? Double), 0, "\(name) \(mode)")
                XCTAssertGreaterThan(try XCTUnwrap(m["gflops"] as? Double), 0, "\(name) \(mode)")
                XCTAssertGreaterThan(try XCTUnwrap(m["peak_fraction"] as? Double), 0, "\(name) \(mode)")
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
