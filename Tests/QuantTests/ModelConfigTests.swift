// The architecture's metadata writer and reader against each other, against the key table of
// docs/gguf-format.md, and against a file the converter wrote.
import Formats
import Foundation
import ModelFile
import Quant
import TestSupport
import XCTest

final class ModelConfigTests: XCTestCase {
    /// The identity keys the reader requires besides the architecture.
    static let identity: [String: GGUFValue] = ["general.architecture": .string("reptok"), "reptok.format_version": .uint32(1)]

    func metadata(_ a: ModelConfig) -> [String: GGUFValue] {
        Dictionary(a.metadata(), uniquingKeysWith: { x, _ in x }).merging(Self.identity) { x, _ in x }
    }

    /// architecture → metadata → architecture is the identity for both built-in presets and for a
    /// variant with every field changed from the tiny preset (so no field is dropped or swapped).
    func testRoundTrip() throws {
        var odd = ModelPreset.tiny.architecture
        odd.imageSize = 48
        odd.scaleFactor = 0.75
        odd.encoder = .init(width: 192, depth: 3, heads: 3, patchSize: 8, inputSize: 40, registers: 1, mlpHidden: 500, lnEps: 1e-5)
        odd.adapter.width = 200
        odd.decoder = .init(width: 200, depth: 5, heads: 5, headDim: 40, ffHidden: 333, ropeFreqs: 7,
                            latentChannels: 3, latentH: 12, latentW: 12, patchSize: 3)
        odd.mapping = .init(width: 70, depth: 4, hidden: 111, timeFeatures: 17)
        odd.vae = .init(blockOutChannels: [48, 96, 144], layersPerBlock: 3, normGroups: 16, scalingFactor: 0.5, shiftFactor: -0.25)
        odd.generator = .init(channels: 192, dim: 80, depth: 6, expansionToken: 2, expansionChannel: 5, numClasses: 7)
        odd.sampling = .init(numSteps: 9, cfgScale: 2.5, tInterval: 0.125 ... 0.75)
        odd.adapter.lnEps = 3e-5
        odd.decoder.rmsEps = 2e-6
        odd.decoder.qkEps = 3e-6
        odd.mapping.rmsEps = 4e-6
        odd.vae.normEps = 5e-6
        odd.generator.lnEps = 6e-5
        XCTAssertEqual(odd.problems(), [])
        for a in [ModelPreset.xl.architecture, ModelPreset.tiny.architecture, odd] {
            XCTAssertEqual(try ModelConfig(metadata: metadata(a), path: "m.gguf"), a)
        }
        // Every metadata entry of `odd` differs from the tiny preset's (both are u32/f32 values).
        let tiny = Dictionary(ModelPreset.tiny.architecture.metadata(), uniquingKeysWith: { x, _ in x })
        for (k, v) in odd.metadata() { XCTAssertNotEqual(tiny[k], v, k) }
    }

    /// The writer's keys, order and value types are the table of docs/gguf-format.md ("a / .b / .c"
    /// rows expand to a, prefix.b, prefix.c; u32 → uint32, f32 → float32, "array of" → array).
    func testMetadataKeysAreTheDocumentedOnes() throws {
        let doc = try String(contentsOfFile: Repo.path("docs/gguf-format.md"), encoding: .utf8)
        let groups: Set<String> = ["image_size", "scale_factor", "encoder", "adapter", "decoder", "mapping", "vae", "generator", "sample"]
        var documented: [(key: String, type: String)] = []
        for line in doc.split(separator: "\n") where line.hasPrefix("| `reptok.") {
            let cols = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let names = cols[0].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            let first = names[0]
            guard groups.contains(String(first.split(separator: ".")[1])) else { continue }
            let prefix = first.split(separator: ".").dropLast().joined(separator: ".")
            for n in names { documented.append((n.hasPrefix(".") ? prefix + n : n, cols[1])) }
        }
        let written = ModelPreset.xl.architecture.metadata()
        XCTAssertEqual(written.map(\.0), documented.map(\.key))
        for ((key, value), doc) in zip(written, documented) {
            switch value {
            case .uint32: XCTAssertEqual(doc.type, "u32", key)
            case .float32: XCTAssertEqual(doc.type, "f32", key)
            case let .array(a):
                XCTAssertEqual(doc.type, a.first.map { if case .float32 = $0 { return "array of f32" } else { return "array of u32" } }, key)
            default: XCTFail("\(key): \(value)")
            }
        }
    }

    /// The reader on the converter's file of the tiny fixture gives the fixture's sizes (model.yaml
    /// and the checkpoint's shapes, docs/model.md, 'Reference fixtures'), and writes back exactly the file's entries.
    /// The conversion report gives every one of those entries a source (the normalization epsilons
    /// theirs as release constants; latent_h and latent_w share one line).
    func testReadsTheConvertedFixture() throws {
        let dir = try TestSupport.makeTempDir("arch-fixture", removedAfter: self).path
        let report = try convertCheckpoint(input: Repo.tinySafetensors, output: dir + "/t.gguf", options: ConvertOptions(configPath: Repo.tinyYAML))
        let f = try GGUFFile(path: dir + "/t.gguf")
        let a = try ModelConfig(metadata: f.metadata, path: dir + "/t.gguf")
        XCTAssertEqual(a, ModelPreset.tiny.architecture)
        for (k, v) in a.metadata() { XCTAssertEqual(f.metadata[k], v, k) }
        let sources = Dictionary(report.configSources.map { ($0.key, $0.source) }, uniquingKeysWith: { first, _ in first })
        for (k, _) in a.metadata() {
            let line = k.hasPrefix("reptok.decoder.latent_") ? "reptok.decoder.latent_h/w" : k
            XCTAssertNotNil(sources[line], "no source for \(k)")
        }
        for k in ["reptok.encoder.ln_eps", "reptok.adapter.ln_eps", "reptok.decoder.rms_eps", "reptok.decoder.qk_eps",
                  "reptok.mapping.rms_eps", "reptok.vae.norm_eps", "reptok.generator.ln_eps"] {
            XCTAssertEqual(sources[k], .releaseConstant, k)
        }
    }

    /// Bad metadata: each error names the file and the key (or lists the contradictions).
    func testReaderErrors() throws {
        let good = metadata(ModelPreset.tiny.architecture)
        func read(_ change: (inout [String: GGUFValue]) -> Void) -> ModelConfigError? {
            var md = good
            change(&md)
            do { _ = try ModelConfig(metadata: md, path: "x.gguf"); return nil } catch { return error as? ModelConfigError }
        }
        XCTAssertEqual(read { $0["reptok.decoder.depth"] = nil }, .missingMetadata(path: "x.gguf", key: "reptok.decoder.depth"))
        XCTAssertEqual(read { $0["general.architecture"] = .string("llama") }, .wrongArchitecture(path: "x.gguf", found: "llama"))
        XCTAssertEqual(read { $0["reptok.format_version"] = .uint32(3) }, .unsupportedFormatVersion(path: "x.gguf", found: 3, supported: 1))
        XCTAssertEqual(read { $0["reptok.mapping.width"] = .uint32(0) },
                       .badMetadata(path: "x.gguf", key: "reptok.mapping.width", reason: "0 is outside 1...1048576"))
        XCTAssertEqual(read { $0["reptok.encoder.depth"] = .uint32(5000) },
                       .badMetadata(path: "x.gguf", key: "reptok.encoder.depth", reason: "5000 is outside 1...1024"))
        guard case let .badMetadata(_, key, _) = read({ $0["reptok.vae.scaling_factor"] = .string("x") }) else { return XCTFail() }
        XCTAssertEqual(key, "reptok.vae.scaling_factor")
        guard case let .badMetadata(_, key2, _) = read({ $0["reptok.sample.t_interval"] = .array([.float32(0.9), .float32(0.3)]) }) else { return XCTFail() }
        XCTAssertEqual(key2, "reptok.sample.*")
        guard case let .inconsistent(path, problems) = read({ $0["reptok.decoder.heads"] = .uint32(5); $0["reptok.generator.channels"] = .uint32(100) })
        else { return XCTFail() }
        XCTAssertEqual(path, "x.gguf")
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("head_dim") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("generator.channels") }, "\(problems)")
        // Optional keys take the documented defaults.
        var bare = good
        for k in ["reptok.encoder.registers", "reptok.vae.shift_factor", "reptok.sample.num_steps", "reptok.sample.cfg_scale", "reptok.sample.t_interval"] {
            bare[k] = nil
        }
        let a = try ModelConfig(metadata: bare, path: "x.gguf")
        XCTAssertEqual(a.encoder.registers, 0)
        XCTAssertEqual(a.vae.shiftFactor, 0)
        XCTAssertEqual(a.sampling.numSteps, 50)
        XCTAssertEqual(a.sampling.cfgScale, 1.5)
        XCTAssertEqual(a.sampling.tInterval, 0.3 ... 0.9)
    }
}
