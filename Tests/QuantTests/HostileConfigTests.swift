// Sizes from hostile configs and tensor shapes: each is refused as a conflict with a one-line
// typed error naming the key, before any size is multiplied, shifted or allocated (several of
// these trapped the converter on an overflow, a NaN → Int conversion or an index).
import Formats
import Foundation
import Quant
import TestSupport
import XCTest

final class HostileConfigTests: XCTestCase {
    /// Converts the tiny fixture with `yaml` / `vae` config text (nil: the fixture's own) and
    /// `edit` applied to its tensors; returns the conflicts the converter reported.
    func conflicts(yaml: String? = nil, vae: String? = nil,
                   edit: (inout [(name: String, shape: [Int], values: [Float])]) -> Void = { _ in }) throws -> [String] {
        let dir = try TestSupport.makeTempDir("hostile-config", removedAfter: self).path
        var yamlPath = Repo.tinyYAML, vaePath: String? = nil
        if let y = yaml { yamlPath = dir + "/model.yaml"; try y.write(toFile: yamlPath, atomically: true, encoding: .utf8) }
        if let v = vae { vaePath = dir + "/vae-config.json"; try v.write(toFile: vaePath!, atomically: true, encoding: .utf8) }
        let src = try SafeTensorsFile(path: Repo.tinySafetensors)
        var tensors = try src.names.map { (name: $0, shape: try src.info($0).shape, values: try src.floats($0)) }
        edit(&tensors)
        let input = dir + "/in.safetensors"
        try SafeTensorsWriter.write(path: input, tensors: tensors)
        do {
            _ = try convertCheckpoint(input: input, output: dir + "/out.gguf",
                                      options: ConvertOptions(configPath: yamlPath, vaeConfigPath: vaePath))
        } catch let ConvertError.configConflicts(_, problems) {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.gguf"), "nothing written")
            return problems
        }
        XCTFail("converted without a conflict")
        return []
    }

    func fixtureYAML(replacing old: String, with new: String) throws -> String {
        let text = try String(contentsOfFile: Repo.tinyYAML, encoding: .utf8)
        XCTAssertTrue(text.contains(old), old)
        return text.replacingOccurrences(of: old, with: new)
    }

    func assertMentions(_ problems: [String], _ words: String..., file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(problems.contains { p in words.allSatisfy(p.contains) }, "\(words) not in \(problems)", file: file, line: line)
    }

    /// An input size of 14·2^32 (a multiple of the patch size) would overflow grid² in the
    /// positional table's shape; a head size of 2^60 would overflow heads × head_dim.
    func testOutOfRangeSizesFromModelYAML() throws {
        let size = try conflicts(yaml: fixtureYAML(replacing: "model_size: 56", with: "model_size: 60129542144"))
        assertMentions(size, "reptok.encoder.input_size", "60129542144", "outside 1...8192")
        let head = try conflicts(yaml: fixtureYAML(replacing: "d_head: ", with: "d_head: 1152921504606846976 #"))
        assertMentions(head, "reptok.decoder.head_dim", "outside 1...4096")
    }

    /// 65 VAE blocks would make the upsampling factor 1 << 64 = 0 and divide by it.
    func testTooManyVAEBlocks() throws {
        let ones = Array(repeating: "1", count: 65).joined(separator: ", ")
        let problems = try conflicts(vae: "{\"block_out_channels\": [\(ones)], \"layers_per_block\": 1, \"norm_num_groups\": 32}")
        assertMentions(problems, "reptok.vae.block_out_channels", "expected 1 to 16 integers")
    }

    /// An empty positional table (1 × 0 × C) is not 1 + a square grid (√−1 trapped as Int(NaN)); a
    /// scalar in place of a VAE convolution has no output channels (s[0] trapped).
    func testDegenerateTensorShapes() throws {
        let pos = "first_stage.encoder.encoder.pos_embed"
        let empty = try conflicts { t in
            let i = t.firstIndex { $0.name == pos }!
            t[i] = (pos, [1, 0, t[i].shape[2]], [])
        }
        assertMentions(empty, "pos_embed", "0 rows is not 1 + a square grid")
        let conv = "first_stage.decoder.decoder.ae.ae.decoder.up_blocks.0.resnets.0.conv2.weight"
        let scalar = try conflicts { t in
            let i = t.firstIndex { $0.name == conv }!
            t[i] = (conv, [], [0.5])
        }
        assertMentions(scalar, "up_blocks.0.resnets.0.conv2.weight", "expected rank 4")
    }
}
