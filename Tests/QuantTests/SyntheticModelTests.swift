// The synthetic (random-weight) model writer: same layout as the converter (checked on the tiny
// fixture with the independent Python reader), preset files, determinism, cache check, value scales,
// release parameter counts against docs/model.md, 'Release sizes'.
import Formats
import Foundation
import Quant
import TestSupport
import XCTest

final class SyntheticModelTests: XCTestCase {
    /// Metadata that names where a file came from (or its measured quantization error), so it
    /// legitimately differs between a conversion and a synthetic file.
    static let provenanceKeys: Set<String> = ["general.name", "reptok.source.file", "reptok.source.sha256",
                                              "reptok.quant.max_rel_l2", "reptok.quant.mean_rel_l2", "reptok.quant.max_abs_err"]

    /// The synthetic tiny preset and the real conversion of the tiny fixture (with its model.yaml and
    /// vae-config.json) have the same tensors (names, order, types, shapes, data offsets) and the same
    /// metadata keys in the same order with the same values apart from provenance — read back by the
    /// PyPI `gguf` package, for int8 and f32 files.
    func testTinyPresetHasTheLayoutOfTheConvertedFixture() throws {
        let dir = try TestSupport.makeTempDir("synth-layout", removedAfter: self).path
        for w in [WeightFormat.int8, .f32] {
            let conv = dir + "/converted-\(w.rawValue).gguf", synth = dir + "/synthetic-\(w.rawValue).gguf"
            _ = try convertCheckpoint(input: Repo.tinySafetensors, output: conv,
                                      options: ConvertOptions(weights: w, configPath: Repo.tinyYAML, vaeConfigPath: Repo.tiny + "/vae-config.json"))
            try SyntheticModel.write(preset: ModelPreset.tiny, output: synth, weights: w, seed: 7)
            let a = try pyReadGGUF(conv), b = try pyReadGGUF(synth)
            XCTAssertEqual(a.alignment, b.alignment)
            XCTAssertEqual(a.tensors.count, b.tensors.count, "\(w)")
            XCTAssertEqual(a.tensors.map(\.name), b.tensors.map(\.name), "\(w)")
            XCTAssertEqual(a.tensors.map(\.type), b.tensors.map(\.type), "\(w)")
            XCTAssertEqual(a.tensors.map(\.shape), b.tensors.map(\.shape), "\(w)")
            XCTAssertEqual(a.tensors.map(\.n_bytes), b.tensors.map(\.n_bytes), "\(w)")
            // Same header size ⇒ same data offsets only if the provenance strings had equal lengths; compare
            // offsets relative to the first tensor instead.
            let ra = a.tensors.map { $0.offset - a.tensors[0].offset }, rb = b.tensors.map { $0.offset - b.tensors[0].offset }
            XCTAssertEqual(ra, rb, "\(w)")
            XCTAssertEqual(Set(a.metadata.keys), Set(b.metadata.keys), "\(w)")
            for (k, v) in a.metadata where !Self.provenanceKeys.contains(k) {
                XCTAssertEqual(b.metadata[k], v, "metadata \(k) (\(w))")
            }
            // Key order (the Python reader's dict loses it; our reader keeps it).
            XCTAssertEqual(try GGUFFile(path: conv).metadataKeys, try GGUFFile(path: synth).metadataKeys, "\(w)")
            XCTAssertNotEqual(a.tensors.map(\.sha256), b.tensors.map(\.sha256), "synthetic values must differ from the fixture's")
        }
    }

    /// `models/presets/*.json` decode to the built-in presets, and the canonical JSON round-trips.
    func testPresetFilesAreTheBuiltInPresets() throws {
        for (name, preset) in ModelPreset.builtIn {
            let file = try ModelPreset.load(path: Repo.path("models/presets/\(name).json"))
            XCTAssertEqual(file, preset, name)
            XCTAssertEqual(try ModelPreset.named(name), preset)
            let dir = try TestSupport.makeTempDir("synth-json-\(name)", removedAfter: self).path
            try preset.json().write(to: URL(fileURLWithPath: dir + "/p.json"))
            XCTAssertEqual(try ModelPreset.load(path: dir + "/p.json"), preset, name)
        }
        XCTAssertThrowsError(try ModelPreset.named("no-such-preset")) { e in
            guard case SyntheticModelError.unknownPreset(name: "no-such-preset", known: ["tiny", "xl"]) = e else { return XCTFail("\(e)") }
        }
    }

    /// The release preset's parameter counts equal the ones measured on the public code (docs/model.md, 'Release sizes'), to the
    /// digits docs/model.md gives. The file holds the encoder's positional table resized to 16×16 (257 rows)
    /// and no `mask_token`; the documented 86.6 M counts the 1370-row table and the mask token, so those are
    /// added back here.
    func testReleasePresetMatchesSpecParameterCounts() throws {
        let layout = SyntheticModel.tensorLayout(.xl).filter { !$0.name.hasSuffix(".weight.scale") }
        func count(_ prefix: String) -> Double {
            Double(layout.filter { $0.name.hasPrefix(prefix) }.reduce(0) { $0 + $1.shape.reduce(1, *) })
        }
        let encoder = count("enc.") + Double((1370 - 257) * 768 + 768)
        /// Tolerances: half a unit of the last digit docs/model.md prints.
        XCTAssertEqual(encoder / 1e6, 86.6, accuracy: 0.05)
        XCTAssertEqual(count("dec.backbone.mid_level.") / 1e6, 549, accuracy: 0.5)
        XCTAssertEqual(count("dec.backbone.mid_merge.") / 1e6, 1.3, accuracy: 0.05)
        XCTAssertEqual(count("dec.mapping.") / 1e6, 19, accuracy: 0.5)
        XCTAssertEqual(count("vae.") / 1e6, 49.5, accuracy: 0.05)
        XCTAssertEqual(count("gen.") / 1e6, 533, accuracy: 0.5)
        // "about 1.24 billion parameters used at inference", about 1.24 GB in int8: the tensor data is the
        // parameter count in bytes plus the float tensors' extra 3 bytes per value and the row scales.
        let parameters = layout.reduce(0.0) { $0 + Double($1.shape.reduce(1, *)) }
        let bytes = SyntheticModel.tensorLayout(.xl).reduce(0.0) { $0 + Double($1.shape.reduce(1, *) * $1.type.elementSize) }
        /// Tolerance: the documented "about 1.24" has two decimals.
        XCTAssertEqual(parameters / 1e9, 1.24, accuracy: 0.005)
        /// Float tensors (norms, biases, tables, scales) are well under 1% of the parameters.
        XCTAssertEqual(bytes / parameters, 1, accuracy: 0.01)
    }

    /// Same preset, format and seed give byte-identical files; another seed gives other values with the
    /// same layout. `matches` accepts exactly the file written for its arguments.
    func testDeterministicAndRecognizedByFingerprint() throws {
        let dir = try TestSupport.makeTempDir("synth-det", removedAfter: self).path
        let a = dir + "/a.gguf", b = dir + "/b.gguf", c = dir + "/c.gguf"
        let ra = try SyntheticModel.write(preset: .tiny, output: a, seed: 1)
        try SyntheticModel.write(preset: .tiny, output: b, seed: 1)
        try SyntheticModel.write(preset: .tiny, output: c, seed: 2)
        XCTAssertEqual(try SHA256.hashFile(path: a), try SHA256.hashFile(path: b))
        XCTAssertNotEqual(try SHA256.hashFile(path: a), try SHA256.hashFile(path: c))
        XCTAssertEqual(ra.fingerprint, SyntheticModel.fingerprint(preset: .tiny, weights: .int8, seed: 1))
        XCTAssertEqual(ra.fileSize, try GGUFFile(path: a).fileSize)
        XCTAssertEqual(filesIn(dir), ["a.gguf", "b.gguf", "c.gguf"], "no temporary files left behind")

        XCTAssertTrue(SyntheticModel.matches(path: a, preset: .tiny, weights: .int8, seed: 1))
        XCTAssertFalse(SyntheticModel.matches(path: a, preset: .tiny, weights: .int8, seed: 2))
        XCTAssertFalse(SyntheticModel.matches(path: a, preset: .tiny, weights: .f32, seed: 1))
        XCTAssertFalse(SyntheticModel.matches(path: a, preset: .xl, weights: .int8, seed: 1))
        XCTAssertFalse(SyntheticModel.matches(path: dir + "/missing.gguf", preset: .tiny, weights: .int8, seed: 1))
        // A truncated copy (an interrupted download or a full disk) is not accepted.
        let data = try Data(contentsOf: URL(fileURLWithPath: a))
        try data.prefix(data.count - 1000).write(to: URL(fileURLWithPath: dir + "/cut.gguf"))
        XCTAssertFalse(SyntheticModel.matches(path: dir + "/cut.gguf", preset: .tiny, weights: .int8, seed: 1))
        // The same preset under another name is another fingerprint.
        var renamed = ModelPreset.tiny
        renamed.name = "tiny2"
        XCTAssertNotEqual(SyntheticModel.fingerprint(preset: renamed, weights: .int8, seed: 1), ra.fingerprint)
    }

    /// Values follow the documented scales: every int8 row reaches ±127 and never -128 (the converter's
    /// quantizer on U·√(3/k) weights), dequantized weights have standard deviation 1/√k, and the float
    /// tensors sit near their documented centres.
    func testValueScales() throws {
        let dir = try TestSupport.makeTempDir("synth-values", removedAfter: self).path
        let path = dir + "/t.gguf"
        try SyntheticModel.write(preset: .tiny, output: path, seed: 3)
        let f = try GGUFFile(path: path)
        var checkedStd = 0
        for info in f.orderedTensorInfos {
            let t = try f.tensor(info.name)
            if info.type == .i8 {
                let rows = info.shape[0], k = info.count / rows
                let q = t.data.bindMemory(to: Int8.self)
                let scales = try f.tensor(info.name + ".scale").floats()
                var sum2 = 0.0
                for r in 0 ..< rows {
                    let row = q[(r * k) ..< ((r + 1) * k)]
                    XCTAssertEqual(row.map { abs(Int($0)) }.max(), 127, "\(info.name) row \(r)")
                    XCTAssertFalse(row.contains(-128), info.name)
                    for v in row { sum2 += Double(Float(v) * scales[r]) * Double(Float(v) * scales[r]) }
                }
                if info.count >= 1000 {
                    let std = (sum2 / Double(info.count)).squareRoot()
                    /// Tolerance 5%: the standard deviation of n ≥ 1000 uniform samples has relative
                    /// sampling error ≤ 0.45/√n ≈ 1.4%, plus at most 0.4% from int8 rounding.
                    XCTAssertEqual(std * Double(k).squareRoot(), 1, accuracy: 0.05, info.name)
                    checkedStd += 1
                }
                continue
            }
            let v = t.floats()
            XCTAssertTrue(v.allSatisfy(\.isFinite), info.name)
            let name = info.name
            if name.hasSuffix(".weight.scale") { continue }
            let (lo, hi): (Float, Float)
            if name.hasSuffix("self_attn.scale") { (lo, hi) = (9, 11) }
            else if name.hasSuffix(".gamma") { (lo, hi) = (0.09, 0.11) }
            else if name.hasSuffix("pos_emb.freqs") {
                // π … 10π ladder over the 3 frequencies of the tiny preset.
                for (x, want) in zip(v.prefix(3), [Double.pi, Double.pi * 10.0.squareRoot(), 10 * Double.pi]) {
                    /// Tolerance: float32 rounding of the product.
                    XCTAssertEqual(Double(x), want, accuracy: want * 1e-6, name)
                }
                continue
            }
            else if name.hasSuffix(".bias") { (lo, hi) = (-0.02, 0.02) }
            else if name == "dec.time_emb.weight" { (lo, hi) = (-1.7321, 1.7321) }
            else if name.hasSuffix(".scale") || (name.hasSuffix(".weight") && !name.contains("embedding_table")) { (lo, hi) = (0.95, 1.05) }
            else { (lo, hi) = (-0.1, 0.1) }
            XCTAssertTrue(v.allSatisfy { $0 >= lo && $0 <= hi }, "\(name) outside [\(lo), \(hi)]: \(v.min()!) … \(v.max()!)")
        }
        XCTAssertGreaterThan(checkedStd, 20, "most tiny weight matrices have ≥ 1000 elements")
        // The recorded error is the converter's statistic for uniform weights: ≈ 1/(2·127) = 0.0039.
        let meanRel = try XCTUnwrap(f.metadata["reptok.quant.mean_rel_l2"]?.float)
        /// Tolerance: rows of a few elements (the 3-row token-mixing convs) round a little better or worse.
        XCTAssertEqual(Double(meanRel), 1 / 254, accuracy: 0.0005)
    }

    /// An inconsistent preset is refused with every problem named, before any file is created.
    func testInvalidPresetIsRefusedBeforeWriting() throws {
        let dir = try TestSupport.makeTempDir("synth-bad", removedAfter: self).path
        var p = ModelPreset.tiny
        p.decoder.heads = 5
        p.generator.channels = 100
        XCTAssertThrowsError(try SyntheticModel.write(preset: p, output: dir + "/x.gguf")) { e in
            guard case let SyntheticModelError.invalidPreset(name: "tiny", problems: problems) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(problems.count, 2, "\(problems)")
            XCTAssertTrue(problems.contains { $0.contains("head_dim") }, "\(problems)")
            XCTAssertTrue(problems.contains { $0.contains("generator.channels") }, "\(problems)")
        }
        XCTAssertEqual(filesIn(dir), [])
        try Data("{\"name\": \"x\"}".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        XCTAssertThrowsError(try ModelPreset.load(path: dir + "/bad.json")) { e in
            guard case SyntheticModelError.unreadablePreset = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try SyntheticModel.write(preset: .tiny, output: dir + "/no/such/folder/x.gguf"))
    }
}
