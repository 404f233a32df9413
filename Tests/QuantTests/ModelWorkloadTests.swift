// Sizes that each pass their key's range but that no machine this runs on could serve: the
// configuration check refuses them by name before the runtime allocates a buffer (they allocated
// gigabytes at load, hung in attention over a million tokens, or trapped a kernel's precondition).
import Formats
import Foundation
import ModelFile
import Quant
import TestSupport
import XCTest

final class ModelWorkloadTests: XCTestCase {
    /// The release and the tiny preset are well inside every limit.
    func testPresetsPass() {
        XCTAssertEqual(ModelPreset.xl.architecture.problems(), [])
        XCTAssertEqual(ModelPreset.tiny.architecture.problems(), [])
    }

    func testEachLimitIsNamed() {
        func problems(_ edit: (inout ModelConfig) -> Void) -> [String] {
            var c = ModelPreset.tiny.architecture
            edit(&c)
            return c.problems()
        }
        func assertRefused(_ words: String, file: StaticString = #filePath, line: UInt = #line, _ edit: (inout ModelConfig) -> Void) {
            let p = problems(edit)
            XCTAssertTrue(p.contains { $0.contains(words) }, "\(words) not in \(p)", file: file, line: line)
        }
        // Decoder tokens 1 + (1024/2)²: attention over 262 145 tokens per step.
        assertRefused("tokens") { c in
            c.decoder.latentH = 1024; c.decoder.latentW = 1024; c.imageSize = 1024 * c.vae.factor
        }
        // Encoder tokens 1 + 65 536 registers + grid².
        assertRefused("tokens") { $0.encoder.registers = 65_536 }
        // A 2^20-wide MLP over 4 021 encoder tokens (within the token limit): a 17 GB scratch buffer.
        assertRefused("encoder activations") { c in c.encoder.mlpHidden = 1 << 20; c.encoder.registers = 4000 }
        assertRefused("expansion_token 22 exceeds 21") { $0.generator.expansionToken = 22 }
        assertRefused("num_steps 10001 exceeds 10000") { $0.sampling.numSteps = 10_001 }
        assertRefused("t_interval") { $0.sampling.tInterval = -1 ... 2 }
        // Ten VAE blocks upsample 512×: 8192² × 32 channels = 2^31 floats per activation.
        assertRefused("the VAE's largest activation") { c in
            c.vae.blockOutChannels = Array(repeating: 32, count: 10); c.imageSize = c.decoder.latentH * c.vae.factor
        }
    }

    /// Arrays over all metadata keys together are capped (4 × 2^20 elements pass, 5 do not):
    /// each array alone is within its own cap, and each element costs ~24 bytes once read.
    func testMetadataElementsOverAllKeysAreCapped() throws {
        let dir = try TestSupport.makeTempDir("gguf-total", removedAfter: self).path
        for (arrays, refused) in [(4, false), (5, true)] {
            let path = dir + "/a\(arrays).gguf"
            let w = GGUFWriter(path: path)
            for i in 0 ..< arrays { w.set("a\(i)", .array([GGUFValue](repeating: .uint8(1), count: 1 << 20))) }
            try w.begin(); try w.finish()
            if refused {
                XCTAssertThrowsError(try GGUFFile(path: path)) { e in
                    guard case let .absurdCount(_, what, _, _)? = e as? GGUFError, what.contains("all keys") else { return XCTFail("\(e)") }
                }
            } else {
                let md = try GGUFFile(path: path).metadata
                XCTAssertEqual((0 ..< arrays).map { md["a\($0)"]?.intArray?.count }, Array(repeating: 1 << 20, count: arrays))
            }
        }
    }

    /// A class entry or line of 16 MB of commas split into 8 M names; entries are capped at 4 KiB.
    func testLongClassEntriesAreRefused() throws {
        let long = String(repeating: "a,", count: 4000)
        XCTAssertThrowsError(try ClassNames(list: ["zero", long])) { e in
            guard case let .badEntry(_, 1, reason)? = e as? ClassNamesError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("above 4096"), reason)
        }
        XCTAssertThrowsError(try ClassNames(parsing: "zero\n" + long + "\n")) { e in
            guard case let .badLine(_, 2, reason)? = e as? ClassNamesError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("above 4096"), reason)
        }
        XCTAssertEqual(try ClassNames(list: ["zero", String(repeating: "b", count: 4096)]).entries.count, 2)
    }
}
