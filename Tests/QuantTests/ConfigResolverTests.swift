// The converter's resolved configuration against the file it wrote and the report's sources (the
// schema's writer and reader themselves are tested in ModelFileTests).
import Formats
import Foundation
import ModelFile
import Quant
import TestSupport
import XCTest

final class ConfigResolverTests: XCTestCase {
    /// The reader on the converter's file of the tiny fixture gives the fixture's sizes (model.yaml
    /// and the checkpoint's shapes, docs/model.md, 'Reference fixtures'), and writes back exactly the file's entries.
    /// The conversion report gives every one of those entries one source, in file order (the
    /// normalization epsilons theirs as release constants).
    func testReadsTheConvertedFixture() throws {
        let dir = try TestSupport.makeTempDir("arch-fixture", removedAfter: self).path
        let report = try convertCheckpoint(input: Repo.tinySafetensors, output: dir + "/t.gguf", options: ConvertOptions(configPath: Repo.tinyYAML))
        let f = try GGUFFile(path: dir + "/t.gguf")
        let a = try ModelConfig(metadata: f.metadata, path: dir + "/t.gguf")
        XCTAssertEqual(a, ModelPreset.tiny.architecture)
        for (k, v) in a.metadata() { XCTAssertEqual(f.metadata[k], v, k) }
        // One source per configuration key, listed in file order.
        XCTAssertEqual(report.configSources.map(\.key), MetadataSchema.configuration.map(\.key))
        let sources = Dictionary(report.configSources.map { ($0.key, $0.source) }, uniquingKeysWith: { first, _ in first })
        for k in ["reptok.encoder.ln_eps", "reptok.adapter.ln_eps", "reptok.decoder.rms_eps", "reptok.decoder.qk_eps",
                  "reptok.mapping.rms_eps", "reptok.vae.norm_eps", "reptok.generator.ln_eps"] {
            XCTAssertEqual(sources[k], .releaseConstant, k)
        }
    }
}
