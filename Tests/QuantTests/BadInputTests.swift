// Bad inputs to the converter: each gives a typed error (API), a one-line message and exit status 2
// (the `reptok convert` command), and leaves no file in the output folder.
import Formats
import Foundation
import Quant
import TestSupport
import XCTest

final class BadInputTests: XCTestCase {
    /// The `reptok` executable next to the test bundle (SwiftPM builds both into `.build/<config>/`).
    static let reptok = TestSupport.reptok

    /// One bad input: the file, what the API must throw, and words the CLI message must contain.
    struct Case {
        let name: String
        let input: String
        let check: (Error) -> Bool
        let words: [String]
    }

    func makeCases(_ dir: String) throws -> [Case] {
        var cases: [Case] = []
        let ckpt = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.tinyCkpt)))
        let st = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repo.tinySafetensors)))

        // Truncated zip: the end-of-central-directory record is gone.
        let trunc = dir + "/in/truncated.ckpt"
        try Data(ckpt.prefix(ckpt.count * 2 / 3)).write(to: URL(fileURLWithPath: trunc))
        cases.append(Case(name: "truncated zip", input: trunc, check: { ($0 as? ZipError) == .notZip(path: trunc) }, words: ["truncated"]))

        // Pickle calling a disallowed global in the state dict.
        var p = PickleBytes()
        p.op("}"); p.op("("); p.str("state_dict"); p.op("}"); p.op("(")
        p.str("first_stage.encoder.encoder.cls_token")
        p.global("subprocess", "check_output"); p.op("("); p.str("id"); p.op("t"); p.op("R")
        p.op("u"); p.op("u"); p.op(".")
        let evil = dir + "/in/evil.ckpt"
        try writeZip(evil, members: [("archive/data.pkl", p.b)])
        cases.append(Case(name: "disallowed global", input: evil, check: {
            if case .refusedEntry(_, "first_stage.encoder.encoder.cls_token", "subprocess.check_output", _)? = $0 as? CheckpointError { return true }
            return false
        }, words: ["subprocess.check_output", "pickle byte"]))

        // safetensors header whose offsets run past the end of the file.
        let past = dir + "/in/past.safetensors"
        try Data(st.prefix(st.count - 1000)).write(to: URL(fileURLWithPath: past))
        cases.append(Case(name: "offsets past the end", input: past, check: {
            if case .outOfBounds? = $0 as? SafeTensorsError { return true }
            return false
        }, words: ["data_offsets", "outside"]))

        // A NaN inside a decoder weight.
        let src = try SafeTensorsFile(path: Repo.tinySafetensors)
        let nanKey = "first_stage.decoder.decoder.backbone.mid_level.1.ff.up_proj.weight"
        let nanAt = try src.info(nanKey).fileOffset + 4 * 77
        var nanBytes = st
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { for i in 0 ..< 4 { nanBytes[nanAt + i] = $0[i] } }
        let nan = dir + "/in/nan.safetensors"
        try Data(nanBytes).write(to: URL(fileURLWithPath: nan))
        cases.append(Case(name: "NaN weight", input: nan, check: {
            if case .nonFinite(_, nanKey, 77, _)? = $0 as? ConvertError { return true }
            return false
        }, words: [nanKey, "non-finite"]))

        // The decoder transformer removed.
        let noDec = dir + "/in/nodecoder.safetensors"
        let keep = src.names.filter { !$0.hasPrefix("first_stage.decoder.decoder.backbone.") }
        try SafeTensorsWriter.write(path: noDec, tensors: try keep.map { ($0, try src.info($0).shape, try src.floats($0)) })
        cases.append(Case(name: "missing decoder", input: noDec, check: {
            if case let .missingComponents(_, c)? = $0 as? ConvertError { return c.count == 1 && c[0].contains("backbone") }
            return false
        }, words: ["missing component", "decoder"]))

        // A single missing tensor is named.
        let oneMissing = dir + "/in/onemissing.safetensors"
        let keep2 = src.names.filter { $0 != "first_stage.decoder.decoder.ae.ae.decoder.conv_out.bias" }
        try SafeTensorsWriter.write(path: oneMissing, tensors: try keep2.map { ($0, try src.info($0).shape, try src.floats($0)) })
        cases.append(Case(name: "one tensor missing", input: oneMissing, check: {
            ($0 as? ConvertError) == .missingTensors(path: oneMissing, keys: ["vae.decoder.conv_out.bias"])
        }, words: ["vae.decoder.conv_out.bias"]))

        let empty = dir + "/in/empty.ckpt"
        FileManager.default.createFile(atPath: empty, contents: Data())
        cases.append(Case(name: "empty file", input: empty, check: { ($0 as? FileAccessError) == .emptyFile(path: empty) }, words: ["empty"]))

        let folder = dir + "/in/folder.ckpt"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        cases.append(Case(name: "directory", input: folder, check: { ($0 as? FileAccessError) == .isDirectory(path: folder) }, words: ["directory"]))

        let none = dir + "/in/none.ckpt"
        cases.append(Case(name: "no such file", input: none, check: {
            if case .cannotOpen? = $0 as? FileAccessError { return true }
            return false
        }, words: ["No such file"]))
        return cases
    }

    /// Each bad input: the API throws the expected typed error and writes nothing.
    func testBadInputsThrowTypedErrorsAndWriteNothing() throws {
        let dir = try TestSupport.makeTempDir("bad-api", removedAfter: self).path
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        for c in try makeCases(dir) {
            XCTAssertThrowsError(try convertCheckpoint(input: c.input, output: dir + "/out/x.gguf",
                                                       options: ConvertOptions(weights: .int8, configPath: Repo.tinyYAML)), c.name) { e in
                XCTAssertTrue(c.check(e), "\(c.name): unexpected error \(type(of: e)): \(e)")
                XCTAssertFalse("\(e)".contains("\n"), "\(c.name): message is one line")
            }
            XCTAssertEqual(filesIn(dir + "/out"), [], "\(c.name): output folder must stay empty")
        }
    }

    /// Each bad input through `reptok convert`: exit status 2, a one-line message naming the problem,
    /// nothing on stdout's last line claiming success, and no output file.
    func testBadInputsThroughCLI() throws {
        XCTAssertFalse(Self.reptok.isEmpty, "reptok executable not found next to the test bundle")
        let dir = try TestSupport.makeTempDir("bad-cli", removedAfter: self).path
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        for c in try makeCases(dir) {
            let r = try TestSupport.run(Self.reptok, ["convert", c.input, "-o", dir + "/out/x.gguf", "--config", Repo.tinyYAML])
            TestSupport.assertRefused(r, c.name, words: c.words)
            XCTAssertFalse(r.stdout.contains("converted "), c.name)
            XCTAssertEqual(filesIn(dir + "/out"), [], "\(c.name): output folder must stay empty")
        }
    }

    /// Converting onto the input file itself is refused (the input is left intact).
    func testOutputSameAsInputIsRefused() throws {
        let dir = try TestSupport.makeTempDir("bad-same", removedAfter: self).path
        let copy = dir + "/t.safetensors"
        try FileManager.default.copyItem(atPath: Repo.tinySafetensors, toPath: copy)
        XCTAssertThrowsError(try convertCheckpoint(input: copy, output: copy, options: ConvertOptions(configPath: Repo.tinyYAML))) { e in
            XCTAssertEqual(e as? ConvertError, .sameInputAndOutput(path: copy))
        }
        XCTAssertEqual(SHA256.hash(Array(try Data(contentsOf: URL(fileURLWithPath: copy)))),
                       try SHA256.hashFile(path: Repo.tinySafetensors))
        // An output folder that does not exist, or an output path that is a folder, is refused up front.
        XCTAssertThrowsError(try convertCheckpoint(input: copy, output: dir + "/nope/x.gguf", options: ConvertOptions(configPath: Repo.tinyYAML))) { e in
            guard case .writeFailed? = e as? FileAccessError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try convertCheckpoint(input: copy, output: dir, options: ConvertOptions(configPath: Repo.tinyYAML))) { e in
            XCTAssertEqual(e as? FileAccessError, .isDirectory(path: dir))
        }
        XCTAssertEqual(filesIn(dir), ["t.safetensors"])
    }
}
