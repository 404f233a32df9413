// The converter end to end on the tiny fixture: equality with the source, int8 bounds, the independent
// Python reader, bad inputs (API and CLI), configuration resolution.
import Formats
import Foundation
import ModelFile
import Quant
import TestSupport
import XCTest

/// Checkpoint key of a GGUF name, written out independently of the converter's rule table
/// (docs/gguf-format.md, "Tensor names"; the tiny fixture wraps the generator's mixer in `_orig_mod`).
func tinySourceKey(_ name: String) -> String {
    let rules: [(String, String)] = [
        ("enc.", "first_stage.encoder.encoder."),
        ("adapter.", "first_stage.decoder.decoder.encoder.dino."),
        ("dec.", "first_stage.decoder.decoder."),
        ("vae.", "first_stage.decoder.decoder.ae.ae."),
        ("gen.mixer.", "ema_model.net.mixer._orig_mod."),
        ("gen.", "ema_model.net."),
    ]
    for (g, s) in rules where name.hasPrefix(g) { return s + name.dropFirst(g.count) }
    return name
}

/// `true` for the VAE 3×3 convolutions that the file stores as [O,3,3,I].
func isVAE3x3(_ name: String, _ sourceShape: [Int]) -> Bool {
    name.hasPrefix("vae.") && sourceShape.count == 4 && sourceShape[2] == 3 && sourceShape[3] == 3
}

final class ConverterTests: XCTestCase {
    func convert(_ input: String, _ out: String, _ w: WeightFormat, config: String? = Repo.tinyYAML, vae: String? = nil) throws -> ConversionReport {
        try convertCheckpoint(input: input, output: out, options: ConvertOptions(weights: w, configPath: config, vaeConfigPath: vae))
    }

    /// The torch .ckpt and the .safetensors of the tiny fixture give byte-identical tensor data (int8 and f32),
    /// and the same metadata apart from the source's name and digest.
    func testCkptAndSafetensorsGiveIdenticalTensors() throws {
        let dir = try TestSupport.makeTempDir("conv-same", removedAfter: self).path
        for w in [WeightFormat.int8, .f32] {
            _ = try convert(Repo.tinyCkpt, dir + "/a.gguf", w)
            _ = try convert(Repo.tinySafetensors, dir + "/b.gguf", w)
            let a = try GGUFFile(path: dir + "/a.gguf"), b = try GGUFFile(path: dir + "/b.gguf")
            XCTAssertEqual(a.orderedTensorInfos.map(\.name), b.orderedTensorInfos.map(\.name))
            XCTAssertEqual(a.dataOffset, b.dataOffset)
            for t in a.orderedTensorInfos {
                let x = try a.tensor(t.name), y = try b.tensor(t.name)
                XCTAssertEqual(x.type, y.type, t.name)
                XCTAssertEqual(x.shape, y.shape, t.name)
                XCTAssertTrue(x.data.elementsEqual(y.data), "\(w) \(t.name): data differs")
            }
            var differing = Set<String>()
            for k in Set(a.metadataKeys).union(b.metadataKeys) where a.metadata[k] != b.metadata[k] { differing.insert(k) }
            // The checkpoint has hyper_parameters (image size 32, sampling); the safetensors derives the same values.
            XCTAssertEqual(differing, ["general.name", "reptok.source.file", "reptok.source.sha256"], "\(w)")
        }
    }

    /// f32 output equals the source exactly (bitwise), after the documented layout changes; the derived
    /// positional table matches the official implementation's `enc_pos_embed`; the generator is the EMA copy.
    func testF32EqualsSource() throws {
        let dir = try TestSupport.makeTempDir("conv-f32", removedAfter: self).path
        let report = try convert(Repo.tinySafetensors, dir + "/f.gguf", .f32)
        XCTAssertEqual(report.maxRelativeL2, 0)
        let g = try GGUFFile(path: dir + "/f.gguf")
        let src = try SafeTensorsFile(path: Repo.tinySafetensors)
        let golden = try SafeTensorsFile(path: Repo.tinyGolden)
        XCTAssertEqual(g.orderedTensorInfos.count, 174)
        for info in g.orderedTensorInfos {
            let t = try g.tensor(info.name)
            XCTAssertEqual(t.type, .f32, info.name)
            let got = t.floats()
            if info.name == "enc.pos_embed" {
                let want = try golden.floats("enc_pos_embed")
                XCTAssertEqual(t.shape, [17, 128], "1 + (56/14)² rows")
                XCTAssertEqual(got.count, want.count)
                for i in want.indices {
                    // Golden: torch float32 bicubic-AA; ours: float64 rounded once. 2e-7 absolute covers a few
                    // float32 ulps of values up to ~0.2.
                    XCTAssertEqual(got[i], want[i], accuracy: 2e-7, "enc.pos_embed[\(i)]")
                }
                continue
            }
            let key = tinySourceKey(info.name)
            let sInfo = try src.info(key)
            var want = try src.floats(key)
            XCTAssertEqual(info.count, sInfo.count, info.name)
            if isVAE3x3(info.name, sInfo.shape) {
                // [O,I,3,3] → [O,3,3,I]: file[o,y,x,i] = source[o,i,y,x].
                let s = sInfo.shape
                XCTAssertEqual(t.shape, [s[0], 3, 3, s[1]], info.name)
                var p = [Float](repeating: .nan, count: want.count)
                for o in 0 ..< s[0] { for i in 0 ..< s[1] { for y in 0 ..< 3 { for x in 0 ..< 3 {
                    p[((o * 3 + y) * 3 + x) * s[1] + i] = want[((o * s[1] + i) * 3 + y) * 3 + x]
                } } } }
                want = p
            }
            XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), info.name)
        }
        // The raw generator differs from the EMA one, so the test above would have caught the wrong copy.
        XCTAssertNotEqual(try src.floats("model.net.mixer._orig_mod.0.weight"), try src.floats("ema_model.net.mixer._orig_mod.0.weight"))
        // Documented layouts of a few tensors.
        XCTAssertEqual(g.tensorInfos["enc.patch_embed.proj.weight"]?.shape, [128, 3 * 14 * 14])
        XCTAssertEqual(g.tensorInfos["enc.cls_token"]?.shape, [128])
        XCTAssertEqual(g.tensorInfos["enc.register_tokens"]?.shape, [4, 128])
        XCTAssertEqual(g.tensorInfos["adapter.temp_pos_embed"]?.shape, [128])
        XCTAssertEqual(g.tensorInfos["adapter.new_reg"]?.shape, [2, 128])
        XCTAssertEqual(g.tensorInfos["dec.time_emb.weight"]?.shape, [32])
        XCTAssertEqual(g.tensorInfos["vae.post_quant_conv.weight"]?.shape, [4, 4])
        XCTAssertEqual(g.tensorInfos["vae.decoder.up_blocks.1.resnets.0.conv_shortcut.weight"]?.shape, [64, 128])
        XCTAssertEqual(g.tensorInfos["gen.pos_embed"]?.shape, [128])
        XCTAssertEqual(g.tensorInfos["gen.mixer.1.0.fn.0.weight"]?.shape, [9, 3])
        XCTAssertNil(g.tensorInfos["enc.mask_token"])
    }

    /// Every int8 weight dequantizes to within scale/2 of its source; scales are max|w|/127 per output row.
    func testInt8WithinHalfScale() throws {
        let dir = try TestSupport.makeTempDir("conv-i8", removedAfter: self).path
        _ = try convert(Repo.tinyCkpt, dir + "/q.gguf", .int8)
        _ = try convert(Repo.tinyCkpt, dir + "/f.gguf", .f32)
        let q = try GGUFFile(path: dir + "/q.gguf"), f = try GGUFFile(path: dir + "/f.gguf")
        var quantized = 0
        for info in q.orderedTensorInfos where info.type == .i8 {
            quantized += 1
            let w = try f.tensor(info.name).floats()   // source values in file layout (bitwise, see testF32EqualsSource)
            let qt = try q.tensor(info.name)
            let scales = try q.tensor(info.name + ".scale")
            XCTAssertEqual(scales.type, .f32)
            XCTAssertEqual(scales.shape, [info.shape[0]], info.name)
            let s = scales.floats(), codes = qt.floats()
            let cols = info.count / info.shape[0]
            for r in 0 ..< info.shape[0] {
                let row = w[r * cols ..< (r + 1) * cols]
                let m = Double(row.map { abs($0) }.max()!)
                // scale = max|w|/127 rounded once to float32: relative error ≤ 2^-24.
                XCTAssertEqual(Double(s[r]), m > 0 ? m / 127 : 1, accuracy: max(m / 127, 1e-30) * 1.2e-7, "\(info.name) row \(r)")
                for c in 0 ..< cols {
                    let code = codes[r * cols + c]
                    XCTAssertTrue(abs(code) <= 127, "\(info.name): code \(code) outside [-127, 127]")
                    let err = abs(Double(code) * Double(s[r]) - Double(w[r * cols + c]))
                    // Rounding to the nearest code is off by at most scale/2; w/scale is computed in float32
                    // (|w/scale| ≤ 127, so ≤ 127·2^-24 ≈ 7.6e-6 code units extra), hence scale·(0.5 + 1e-5).
                    if err > Double(s[r]) * (0.5 + 1e-5) { XCTFail("\(info.name)[\(r),\(c)]: error \(err) > scale/2 = \(s[r] / 2)"); return }
                }
            }
        }
        // Linear/Conv weights of the tiny model: encoder 1 + 2×4, adapter 1, decoder 1 + 2 + 2 + 2×6 + 1,
        // VAE 1 + 1 + 2×2 + 4 + 5 + 5 + 1, generator 2 + 1 + 2×4 + 1.
        XCTAssertEqual(quantized, 61, "every Linear/Conv weight of the tiny model is int8")
        // Kept in float32: embeddings, time_emb, norms, biases, tokens, tables, freqs, scales.
        for n in ["gen.label_embedder.embedding_table.weight", "dec.time_emb.weight", "enc.pos_embed", "enc.cls_token",
                  "dec.backbone.mid_level.0.self_attn.pos_emb.freqs", "dec.backbone.mid_level.0.self_attn.scale",
                  "enc.blocks.0.ls1.gamma", "enc.norm.weight", "enc.blocks.0.attn.qkv.bias", "gen.mixer.3.weight"] {
            XCTAssertEqual(q.tensorInfos[n]?.type, .f32, n)
        }
        XCTAssertEqual(q.metadata["reptok.quant.scheme"], .string("per_channel_symmetric_int8"))
        XCTAssertEqual(q.metadata["reptok.weights"], .string("int8"))
    }

    /// f16 weights are exactly Float16(w) of the source.
    func testF16IsRoundedSource() throws {
        let dir = try TestSupport.makeTempDir("conv-f16", removedAfter: self).path
        _ = try convert(Repo.tinySafetensors, dir + "/h.gguf", .f16)
        _ = try convert(Repo.tinySafetensors, dir + "/f.gguf", .f32)
        let h = try GGUFFile(path: dir + "/h.gguf"), f = try GGUFFile(path: dir + "/f.gguf")
        var n = 0
        for info in h.orderedTensorInfos where info.type == .f16 {
            n += 1
            let bits = try h.tensor(info.name).data.bindMemory(to: UInt16.self)
            let want = try f.tensor(info.name).floats().map { Float16($0).bitPattern }
            XCTAssertEqual(Array(bits), want, info.name)
        }
        XCTAssertEqual(n, 61, "the Linear/Conv weights (see testInt8WithinHalfScale)")
        XCTAssertNil(h.tensorInfos["enc.blocks.0.attn.qkv.weight.scale"])
    }

    /// The PyPI `gguf` reader lists the same tensors, types, shapes, offsets and data as our reader, and
    /// the metadata round-trips.
    func testPythonReaderAgrees() throws {
        let dir = try TestSupport.makeTempDir("conv-py", removedAfter: self).path
        let path = dir + "/t.gguf"
        let report = try convert(Repo.tinyCkpt, path, .int8)
        let g = try GGUFFile(path: path)
        let py = try pyReadGGUF(path)
        XCTAssertEqual(py.alignment, 64)
        XCTAssertEqual(py.tensors.map(\.name), g.orderedTensorInfos.map(\.name))
        XCTAssertEqual(py.tensors.map(\.type), g.orderedTensorInfos.map { $0.type.description })
        XCTAssertEqual(py.tensors.map(\.shape), g.orderedTensorInfos.map(\.shape))
        XCTAssertEqual(py.tensors.map(\.offset), g.orderedTensorInfos.map(\.fileOffset))
        for t in py.tensors { XCTAssertEqual(t.sha256, SHA256.hash(Array(try g.tensor(t.name).data)), t.name) }
        XCTAssertEqual(Set(py.metadata.keys), Set(g.metadataKeys))
        XCTAssertEqual(py.metadata["general.architecture"], .string("reptok"))
        XCTAssertEqual(py.metadata["reptok.encoder.input_size"], .int(56))
        XCTAssertEqual(py.metadata["reptok.decoder.latent_h"], .int(16))
        XCTAssertEqual(py.metadata["reptok.vae.block_out_channels"], .array([.int(64), .int(128)]))
        XCTAssertEqual(py.metadata["reptok.source.sha256"], .string(report.sourceSHA256))
        if case let .double(m)? = py.metadata["reptok.quant.max_rel_l2"] {
            XCTAssertEqual(m, Double(Float(report.maxRelativeL2)), "patched after streaming")
        } else { XCTFail("max_rel_l2 missing") }
        let r = try TestSupport.runPython(["-c", "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", Repo.tinyCkpt])
        XCTAssertEqual(report.sourceSHA256, r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `--classes`: the names reach the metadata as an array of strings (read back by the Python
    /// reader); a list whose length is not the generator's class count is refused before any file
    /// is written.
    func testClassNamesFromAFileReachTheMetadata() throws {
        let dir = try TestSupport.makeTempDir("conv-classes", removedAfter: self).path
        let names = (0..<10).map { "class \($0), c\($0)" }
        try ("# a comment\n\n" + names.joined(separator: "\n") + "\n").write(toFile: dir + "/ten.txt", atomically: true, encoding: .utf8)
        try convertCheckpoint(input: Repo.tinyCkpt, output: dir + "/t.gguf",
                              options: ConvertOptions(weights: .int8, configPath: Repo.tinyYAML, classNamesPath: dir + "/ten.txt"))
        let py = try pyReadGGUF(dir + "/t.gguf")
        XCTAssertEqual(py.metadata[MetadataSchema.classNamesKey], .array(names.map { .string($0) }))
        try names.dropLast().joined(separator: "\n").write(toFile: dir + "/nine.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try convertCheckpoint(input: Repo.tinyCkpt, output: dir + "/n.gguf",
                                                   options: ConvertOptions(weights: .int8, configPath: Repo.tinyYAML, classNamesPath: dir + "/nine.txt"))) { e in
            guard case let ConvertError.badClassNames(path, reason) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(path, dir + "/nine.txt")
            XCTAssertTrue(reason.contains("9 names") && reason.contains("10 classes"), reason)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/n.gguf"))
        // Without --classes, and with no hyper_parameters.class_names in the checkpoint, there is no key.
        _ = try convert(Repo.tinyCkpt, dir + "/plain.gguf", .int8)
        XCTAssertNil(try pyReadGGUF(dir + "/plain.gguf").metadata[MetadataSchema.classNamesKey])
    }

    /// The report: per-tensor error lines, bytes per type, ignored keys by category; inspect shows the
    /// components and the error summary stored in the metadata.
    func testReportAndInspect() throws {
        let dir = try TestSupport.makeTempDir("conv-report", removedAfter: self).path
        var streamed: [String] = []
        let report = try convertCheckpoint(input: Repo.tinyCkpt, output: dir + "/t.gguf",
                                           options: ConvertOptions(weights: .int8, configPath: Repo.tinyYAML, onTensor: { streamed.append($0.name) }))
        XCTAssertEqual(streamed, report.tensors.map(\.name))
        XCTAssertEqual(report.ignored[.encoderCopy]?.count, 36)
        XCTAssertEqual(report.ignored[.targetModel]?.count, 36)
        XCTAssertEqual(report.ignored[.vaeEncoder]?.count, 54)
        XCTAssertEqual(report.ignored[.nonEMAGenerator]?.count, 36)
        XCTAssertEqual(report.ignored[.unusedByInference], ["first_stage.encoder.encoder.mask_token"])
        XCTAssertEqual(report.ignored[.trainingState], ["epoch", "global_step", "pytorch-lightning_version"])
        XCTAssertEqual(report.bytesByType[.i8].map { $0 > 0 }, true)
        let i8 = report.tensors.filter { $0.type == .i8 }
        XCTAssertEqual(i8.count, 61)
        // Uniform random weights: rounding error ≈ (scale/√12)/rms(w) ≈ 0.0045 at worst; 0.01 leaves margin.
        XCTAssertTrue(i8.allSatisfy { ($0.error?.relativeL2 ?? 1) < 0.01 && ($0.error?.relativeL2 ?? 0) > 0 })
        XCTAssertTrue(report.tensors.filter { $0.type == .f32 }.allSatisfy { $0.error == nil })
        let text = report.rendered
        XCTAssertTrue(text.contains("rel_l2"))
        XCTAssertTrue(text.contains("36 frozen target model"))
        XCTAssertTrue(text.contains("reptok.encoder.input_size = 56  [model.yaml]"))
        let inspect = try describeGGUF(path: dir + "/t.gguf")
        for s in ["encoder (DINOv2)", "VAE decoder", "generator (MLP-Mixer)", "per_channel_symmetric_int8", "relative L2 error mean",
                  "reptok.decoder.heads", "bytes by type: F32"] {
            XCTAssertTrue(inspect.contains(s), "inspect output lacks \(s):\n\(inspect)")
        }
        let g = try GGUFFile(path: dir + "/t.gguf")
        XCTAssertEqual(g.metadata["reptok.quant.max_rel_l2"]?.float, Float(report.maxRelativeL2))
        XCTAssertEqual(g.metadata["reptok.quant.mean_rel_l2"]?.float, Float(report.meanRelativeL2))
    }

    /// Size resolution: without --config the release constants (input 224, latent 32×32) apply and the
    /// image size follows the latent; the checkpoint's hyper_parameters (image 32) give latent 16.
    /// A --vae-config or model.yaml that contradicts the tensors stops the conversion naming both values.
    func testConfigResolution() throws {
        let dir = try TestSupport.makeTempDir("conv-cfg", removedAfter: self).path
        let r1 = try convert(Repo.tinySafetensors, dir + "/a.gguf", .int8, config: nil)
        XCTAssertEqual(r1.config.encoder.inputSize, 224)
        XCTAssertEqual([r1.config.decoder.latentH, r1.config.decoder.latentW], [32, 32])
        XCTAssertEqual(r1.config.imageSize, 64, "32 × VAE factor 2")
        XCTAssertEqual(try GGUFFile(path: dir + "/a.gguf").tensorInfos["enc.pos_embed"]?.shape, [257, 128], "16×16 grid at 224")
        let r2 = try convert(Repo.tinyCkpt, dir + "/b.gguf", .int8, config: nil)
        XCTAssertEqual(r2.config.imageSize, 32)
        XCTAssertEqual(r2.config.decoder.latentH, 16)
        XCTAssertEqual(r2.config.generator.dim, 96)
        XCTAssertEqual(r2.config.encoder.inputSize, 224)
        XCTAssertTrue(r2.configSources.contains { $0.key == "reptok.encoder.input_size" && $0.source == .releaseConstant })
        let r3 = try convert(Repo.tinyCkpt, dir + "/c.gguf", .int8, vae: Repo.tiny + "/vae-config.json")
        XCTAssertEqual(r3.config.vae.blockOutChannels, [64, 128])
        XCTAssertTrue(r3.configSources.contains { $0.key == "reptok.vae.scaling_factor" && $0.source == .vaeConfig })

        let badVAE = dir + "/vae.json"
        try #"{"block_out_channels": [64, 256], "layers_per_block": 1, "norm_num_groups": 32}"#.write(toFile: badVAE, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try convert(Repo.tinyCkpt, dir + "/d.gguf", .int8, vae: badVAE)) { e in
            guard case let .configConflicts(_, p)? = e as? ConvertError else { return XCTFail("\(e)") }
            XCTAssertTrue(p.contains { $0.contains("[64, 256]") && $0.contains("[64, 128]") }, "\(p)")
        }
        let badYAML = dir + "/model.yaml"
        let yaml = try String(contentsOfFile: Repo.tinyYAML, encoding: .utf8).replacingOccurrences(of: "width: 144", with: "width: 160")
        try yaml.write(toFile: badYAML, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try convert(Repo.tinyCkpt, dir + "/e.gguf", .int8, config: badYAML)) { e in
            guard case let .configConflicts(_, p)? = e as? ConvertError else { return XCTFail("\(e)") }
            XCTAssertTrue(p.contains { $0.contains("reptok.decoder.width") && $0.contains("160") && $0.contains("144") }, "\(p)")
        }
        XCTAssertEqual(filesIn(dir).filter { $0.hasSuffix(".gguf") }.sorted(), ["a.gguf", "b.gguf", "c.gguf"])
    }

    /// A zip64 checkpoint with bfloat16 storages and transposed strides converts to the same data as
    /// the float32 safetensors holding the same (bf16-rounded) values.
    func testZip64BFloat16CheckpointConverts() throws {
        let dir = try TestSupport.makeTempDir("conv-bf16", removedAfter: self).path
        let r = try TestSupport.runPython([Repo.path("Tests/python/make_ckpt.py"), Repo.tinySafetensors, dir + "/bf.ckpt", "--dtype", "bf16", "--transpose",
                               "--zip64", "--lightning", "--hparams", Repo.tiny + "/hparams.json", "--expected", dir + "/bf.safetensors"])
        XCTAssertEqual(r.status, 0, r.stderr)
        _ = try convert(dir + "/bf.ckpt", dir + "/a.gguf", .int8)
        _ = try convert(dir + "/bf.safetensors", dir + "/b.gguf", .int8)
        let a = try GGUFFile(path: dir + "/a.gguf"), b = try GGUFFile(path: dir + "/b.gguf")
        XCTAssertEqual(a.orderedTensorInfos.map(\.name), b.orderedTensorInfos.map(\.name))
        for t in a.orderedTensorInfos { XCTAssertTrue(try a.tensor(t.name).data.elementsEqual(try b.tensor(t.name).data), t.name) }
    }

    /// VAE keys in the original LDM naming (up.<3-b>.block, mid.attn_1 1×1 convs, nin_shortcut) convert to
    /// the same file as the diffusers names.
    func testLDMVAENamesAreRenamed() throws {
        let dir = try TestSupport.makeTempDir("conv-ldm", removedAfter: self).path
        let src = try SafeTensorsFile(path: Repo.tinySafetensors)
        let ups = 2
        func ldm(_ k: String) -> (String, [Int]?) {
            let p = "first_stage.decoder.decoder.ae.ae.decoder."
            guard k.hasPrefix(p) else { return (k, nil) }
            var r = String(k.dropFirst(p.count))
            var reshape: [Int]? = nil
            let map = [("mid_block.resnets.0.", "mid.block_1."), ("mid_block.resnets.1.", "mid.block_2."),
                       ("mid_block.attentions.0.group_norm.", "mid.attn_1.norm."), ("mid_block.attentions.0.to_q.", "mid.attn_1.q."),
                       ("mid_block.attentions.0.to_k.", "mid.attn_1.k."), ("mid_block.attentions.0.to_v.", "mid.attn_1.v."),
                       ("mid_block.attentions.0.to_out.0.", "mid.attn_1.proj_out."), ("conv_norm_out.", "norm_out.")]
            for (a, b) in map where r.hasPrefix(a) {
                r = b + r.dropFirst(a.count)
                if a.contains("attentions"), r.hasSuffix(".weight"), !a.contains("group_norm") { reshape = [128, 128, 1, 1] }
            }
            if r.hasPrefix("up_blocks.") {
                let parts = r.split(separator: ".").map(String.init)
                var rest = Array(parts[2...])
                if rest[0] == "resnets" { rest[0] = "block" }
                if rest[0] == "upsamplers" { rest.removeFirst(2); rest.insert("upsample", at: 0) }
                r = (["up", String(ups - 1 - Int(parts[1])!)] + rest).joined(separator: ".").replacingOccurrences(of: "conv_shortcut", with: "nin_shortcut")
            }
            return (p + r, reshape)
        }
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
        for n in src.names {
            let (k, reshape) = ldm(n)
            let shape = try src.info(n).shape
            tensors.append((k, reshape ?? shape, try src.floats(n)))
        }
        XCTAssertTrue(tensors.contains { $0.name.hasSuffix("decoder.up.1.block.0.conv1.weight") })
        try SafeTensorsWriter.write(path: dir + "/ldm.safetensors", tensors: tensors)
        _ = try convert(dir + "/ldm.safetensors", dir + "/a.gguf", .int8)
        _ = try convert(Repo.tinySafetensors, dir + "/b.gguf", .int8)
        let a = try GGUFFile(path: dir + "/a.gguf"), b = try GGUFFile(path: dir + "/b.gguf")
        XCTAssertEqual(a.orderedTensorInfos.map(\.name), b.orderedTensorInfos.map(\.name))
        for t in a.orderedTensorInfos { XCTAssertTrue(try a.tensor(t.name).data.elementsEqual(try b.tensor(t.name).data), t.name) }
    }

    /// A checkpoint without encoder and VAE, plus a DINOv2-hub-style encoder file and a diffusers VAE file
    /// (with its encoder half, which is ignored), converts to the same tensors as the full checkpoint.
    func testSeparateComponentFiles() throws {
        let dir = try TestSupport.makeTempDir("conv-parts", removedAfter: self).path
        let src = try SafeTensorsFile(path: Repo.tinySafetensors)
        let encP = "first_stage.encoder.encoder.", vaeP = "first_stage.decoder.decoder.ae.ae."
        func part(_ names: [String], strip: String) throws -> [(name: String, shape: [Int], values: [Float])] {
            try names.map { (String($0.dropFirst(strip.count)), try src.info($0).shape, try src.floats($0)) }
        }
        try SafeTensorsWriter.write(path: dir + "/main.safetensors",
                                    tensors: try part(src.names.filter { !$0.hasPrefix(encP) && !$0.hasPrefix(vaeP) }, strip: ""))
        try SafeTensorsWriter.write(path: dir + "/dinov2.safetensors", tensors: try part(src.names.filter { $0.hasPrefix(encP) }, strip: encP))
        try SafeTensorsWriter.write(path: dir + "/vae.safetensors", tensors: try part(src.names.filter { $0.hasPrefix(vaeP) }, strip: vaeP))
        XCTAssertThrowsError(try convert(dir + "/main.safetensors", dir + "/x.gguf", .int8)) { e in
            guard case let .missingComponents(_, c)? = e as? ConvertError else { return XCTFail("\(e)") }
            XCTAssertEqual(c.count, 2, "encoder and VAE: \(c)")
        }
        let report = try convertCheckpoint(input: dir + "/main.safetensors", output: dir + "/a.gguf",
                                           options: ConvertOptions(weights: .int8, configPath: Repo.tinyYAML,
                                                                   encoderPath: dir + "/dinov2.safetensors", vaePath: dir + "/vae.safetensors"))
        XCTAssertEqual(report.ignored[.vaeEncoder]?.count, 54)
        _ = try convert(Repo.tinySafetensors, dir + "/b.gguf", .int8)
        let a = try GGUFFile(path: dir + "/a.gguf"), b = try GGUFFile(path: dir + "/b.gguf")
        XCTAssertEqual(a.orderedTensorInfos.map(\.name), b.orderedTensorInfos.map(\.name))
        for t in a.orderedTensorInfos { XCTAssertTrue(try a.tensor(t.name).data.elementsEqual(try b.tensor(t.name).data), t.name) }
        XCTAssertEqual(a.metadata["reptok.source.encoder.file"], .string("dinov2.safetensors"))
        XCTAssertEqual(a.metadata["reptok.source.vae.sha256"], .string(try SHA256.hashFile(path: dir + "/vae.safetensors")))
    }
}
