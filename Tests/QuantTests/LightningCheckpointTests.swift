// Checkpoints as PyTorch Lightning and Hydra really save them (Tests/Fixtures/lightning, written by
// Tests/python/make_lightning_ckpt.py with lightning, hydra-core and torch): each converts, with the
// sizes its config gives, to tensors identical to those of the same weights saved plainly
// (plain.ckpt: `torch.save(model.state_dict())`).
import Formats
import Foundation
import Quant
import TestSupport
import XCTest

final class LightningCheckpointTests: XCTestCase {
    static let dir = Repo.path("Tests/Fixtures/lightning")
    static let hydra = dir + "/hydra.ckpt"
    static let plain = dir + "/plain.ckpt"

    /// What the generator recorded from torch's and OmegaConf's own reading of the files.
    struct Expected: Decodable { let image_size: Int; let cfg_scale: Double; let num_steps: Int; let tensors: Int }
    static let expected: Expected = try! JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))

    /// Every tensor of two GGUF files, by name, byte for byte.
    func assertSameTensors(_ a: String, _ b: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try GGUFFile(path: a), y = try GGUFFile(path: b)
        XCTAssertEqual(x.orderedTensorInfos.map(\.name), y.orderedTensorInfos.map(\.name), what, file: file, line: line)
        for t in x.orderedTensorInfos {
            let p = try x.tensor(t.name), q = try y.tensor(t.name)
            XCTAssertEqual(p.shape, q.shape, "\(what): \(t.name)", file: file, line: line)
            XCTAssertTrue(p.data.elementsEqual(q.data), "\(what): \(t.name) differs", file: file, line: line)
        }
    }

    /// Converts with f32 weights (no rounding, so equal inputs give equal bytes).
    func convert(_ input: String, _ dir: String, _ name: String, config: Bool) throws -> ConversionReport {
        try convertCheckpoint(input: input, output: dir + "/\(name).gguf",
                              options: ConvertOptions(weights: .f32, configPath: config ? Repo.tinyYAML : nil))
    }

    /// The plain state dict converted once per test (with and without model.yaml).
    func reference(_ dir: String, config: Bool) throws -> String {
        let name = config ? "plain-config" : "plain"
        if !FileManager.default.fileExists(atPath: dir + "/\(name).gguf") { _ = try convert(Self.plain, dir, name, config: config) }
        return dir + "/\(name).gguf"
    }

    /// A checkpoint whose data.pkl is `pkl` and whose other members are hydra.ckpt's (the generator
    /// saved every `.pkl` variant from a run over the same storages).
    func assemble(_ pkl: String, _ out: String) throws {
        let script = """
        import sys, zipfile
        src, pkl, out = sys.argv[1:4]
        with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, 'w') as w:
            for i in z.infolist():
                data = open(pkl, 'rb').read() if i.filename.endswith('/data.pkl') else z.read(i.filename)
                w.writestr(i.filename, data, compress_type=zipfile.ZIP_STORED)
        """
        let r = try TestSupport.runPython(["-c", script, Self.hydra, pkl, out])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func metadata(_ path: String, _ key: String) throws -> GGUFValue? { try GGUFFile(path: path).metadata[key] }

    /// The Hydra-composed checkpoint (Lightning 2.6): `${data.image_size}` resolved against the pickled
    /// root, the numpy cfg_scale read, the `${oc.env:...}` scale factor left unknown with a warning,
    /// the defaultdict under `loops`, the expanded unused buffer and `_metadata` skipped.
    func testHydraComposedCheckpoint() throws {
        let dir = try TestSupport.makeTempDir("hydra", removedAfter: self).path
        let ck = try TorchCheckpoint(path: Self.hydra)
        XCTAssertEqual(ck.tensors.count, Self.expected.tensors + 1, "every parameter and the expanded buffer")
        XCTAssertFalse(ck.nonTensorEntries.contains { $0.name == "_metadata" })
        XCTAssertTrue(ck.otherTopLevelKeys.contains("loops"))
        let hp = try XCTUnwrap(ck.hyperParameters)
        XCTAssertEqual(hp[path: "first_stage_cfg.params.image_size"], .int(Self.expected.image_size))
        XCTAssertEqual(hp[path: "sample_kwargs.cfg_scale"], .double(Self.expected.cfg_scale))
        XCTAssertEqual(hp[path: "first_stage_cfg.params.scale_factor"], .string("${oc.env:REPTOK_TINY_SCALE_FACTOR,1.0}"))
        XCTAssertEqual(hp[path: "flow_cfg.params.net_cfg.params.dim"], .int(96))

        let plain = try convert(Self.plain, dir, "plain", config: false)
        let report = try convert(Self.hydra, dir, "hydra", config: false)
        try assertSameTensors(dir + "/hydra.gguf", dir + "/plain.gguf", "hydra vs plain")
        XCTAssertEqual(report.config.imageSize, 32)
        XCTAssertEqual(report.config.decoder.latentH, 16)
        XCTAssertEqual(report.config.decoder.latentW, 16)
        XCTAssertEqual(report.config.sampling.cfgScale, Float(Self.expected.cfg_scale))
        XCTAssertEqual(report.config.sampling.numSteps, Self.expected.num_steps)
        XCTAssertEqual(report.config.encoder.inputSize, 224, "no --config: the release constant")
        XCTAssertEqual(report.warnings, ["reptok.scale_factor: cannot read hyper_parameters value \"${oc.env:REPTOK_TINY_SCALE_FACTOR,1.0}\"; using 1.0 [release constant]"])
        XCTAssertEqual(report.notes, [])
        let ignored = report.ignored.values.flatMap { $0 }
        XCTAssertFalse(ignored.contains("_metadata"))
        XCTAssertTrue(report.ignored[.unrecognized, default: []].contains("metrics_expanded"))
        XCTAssertEqual(plain.config.sampling.cfgScale, 1.5, "the plain file has no hyper-parameters")

        // With model.yaml: the encoder input and latent come from it; tensors still identical.
        let withConfig = try convert(Self.hydra, dir, "hydra-config", config: true)
        try assertSameTensors(dir + "/hydra-config.gguf", try reference(dir, config: true), "hydra --config vs plain --config")
        XCTAssertEqual(withConfig.config.encoder.inputSize, 56)
        XCTAssertEqual(withConfig.config.decoder.latentH, 16)
        XCTAssertEqual(withConfig.config.imageSize, 32)
    }

    /// Row by row, the checkpoints whose storages are hydra.ckpt's: DictConfig hyper-parameters with
    /// and without interpolations, a whole DictConfig, 16-mixed with GradScaler state, bf16-mixed, and
    /// Lightning AttributeDicts: each converts to the plain tensors with image 32 and latent 16×16.
    func testLightningVariantsConvertToThePlainTensors() throws {
        let dir = try TestSupport.makeTempDir("variants", removedAfter: self).path
        let ref = try reference(dir, config: false)
        let cases: [(String, Float)] = [("dictconfig", 1.5), ("dictconfig-interp", 1.5), ("whole-dictconfig", 1.5),
                                        ("16-mixed", 1.5), ("bf16-mixed", 1.5), ("attributedict", Float(Self.expected.cfg_scale))]
        for (name, cfg) in cases {
            let ckpt = dir + "/\(name).ckpt"
            try assemble(Self.dir + "/\(name).pkl", ckpt)
            let r = try convert(ckpt, dir, name, config: false)
            try assertSameTensors(dir + "/\(name).gguf", ref, name)
            XCTAssertEqual(r.config.imageSize, 32, name)
            XCTAssertEqual(r.config.decoder.latentH, 16, name)
            XCTAssertEqual(r.config.decoder.latentW, 16, name)
            XCTAssertEqual(r.config.sampling.cfgScale, cfg, name)
            XCTAssertEqual(r.config.sampling.numSteps, Self.expected.num_steps, name)
            XCTAssertEqual(r.config.scaleFactor, 1, name)
            XCTAssertEqual(r.warnings, [], name)
            XCTAssertEqual(r.configSources.first { $0.key == "reptok.image_size" }?.source, .hyperParameters, name)
        }
    }

    /// bf16-true and 16-true runs store every tensor in half precision: each tensor equals the plain
    /// float32 one rounded to nearest even (done here, independently of torch's rounding in the file),
    /// and the checkpoint converts with the same sizes.
    func testHalfPrecisionRuns() throws {
        let dir = try TestSupport.makeTempDir("half", removedAfter: self).path
        let plain = try TorchCheckpoint(path: Self.plain)
        func bf16(_ x: Float) -> Float {
            let u = x.bitPattern
            return Float(bitPattern: (u &+ 0x7FFF &+ ((u >> 16) & 1)) & 0xFFFF_0000)
        }
        for (name, dtype) in [("bf16-true", SourceDType.bf16), ("16-true", SourceDType.f16)] {
            let ck = try TorchCheckpoint(path: Self.dir + "/\(name).ckpt")
            XCTAssertEqual(ck.tensors.map(\.name).sorted(), plain.tensors.map(\.name).sorted(), name)
            for t in ck.tensors where t.name != "metrics_expanded" {
                XCTAssertEqual(t.dtype, dtype, "\(name) \(t.name)")
                let want = try plain.floats(t.name).map { dtype == .bf16 ? bf16($0) : Float(Float16($0)) }
                XCTAssertEqual(try ck.floats(t.name).map(\.bitPattern), want.map(\.bitPattern), "\(name) \(t.name)")
            }
            let r = try convert(ck.path, dir, name, config: false)
            XCTAssertEqual(r.config.imageSize, 32, name)
            XCTAssertEqual(r.config.decoder.latentH, 16, name)
            XCTAssertEqual(r.config.sampling.cfgScale, Float(Self.expected.cfg_scale), name)
        }
    }

    /// Rewrites CRC fields of a zip (local headers and central directory): `zero` clears all of
    /// them (what `torch.save` writes with CRC-32 turned off); `flip` corrupts the pickle's.
    func rewriteCRC(_ src: String, _ out: String, _ mode: String) throws {
        let script = """
        import sys, struct, zipfile
        src, out, mode = sys.argv[1:4]
        b = bytearray(open(src, 'rb').read())
        infos = {i.filename: i for i in zipfile.ZipFile(src).infolist()}
        def value(i):
            return 0 if mode == 'zero' else i.CRC ^ 1
        touched = [i for i in infos.values() if mode == 'zero' or i.filename.endswith('/data.pkl')]
        for i in touched:
            struct.pack_into('<I', b, i.header_offset + 14, value(i))
        eocd = b.rfind(b'PK\\x05\\x06')
        at = struct.unpack_from('<I', b, eocd + 16)[0]
        while b[at:at + 4] == b'PK\\x01\\x02':
            n, m, k = struct.unpack_from('<HHH', b, at + 28)
            name = bytes(b[at + 46:at + 46 + n]).decode()
            if any(i.filename == name for i in touched):
                struct.pack_into('<I', b, at + 16, value(infos[name]))
            at += 46 + n + m + k
        open(out, 'wb').write(b)
        """
        let r = try TestSupport.runPython(["-c", script, src, out, mode])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// Members written without a CRC (field 0) are accepted with a one-line note; a nonzero CRC that
    /// does not match is still an error.
    func testZeroCRCIsAcceptedAndMismatchIsNot() throws {
        let dir = try TestSupport.makeTempDir("crc", removedAfter: self).path
        let noCRC = dir + "/nocrc.ckpt", bad = dir + "/badcrc.ckpt"
        try rewriteCRC(Self.hydra, noCRC, "zero")
        XCTAssertTrue(try ZipArchive(path: noCRC).entries.allSatisfy { $0.crc32 == 0 })
        let r = try convert(noCRC, dir, "nocrc", config: false)
        try assertSameTensors(dir + "/nocrc.gguf", try reference(dir, config: false), "no CRC")
        XCTAssertEqual(r.notes.count, 1)
        XCTAssertTrue(r.notes[0].contains("archive/data.pkl") && r.notes[0].contains("without a CRC-32"), r.notes[0])
        XCTAssertFalse(r.notes[0].contains("\n"))

        try rewriteCRC(Self.hydra, bad, "flip")
        XCTAssertThrowsError(try convert(bad, dir, "bad", config: false)) { e in
            XCTAssertEqual(e as? ZipError, .crcMismatch(path: bad, entry: "archive/data.pkl"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.gguf"))
    }

    /// Through `reptok convert`: the warning for the unreadable key and the CRC note are one line
    /// each on stderr, and the conversion succeeds.
    func testWarningAndNoteLinesFromTheCLI() throws {
        XCTAssertFalse(BadInputTests.reptok.isEmpty, "reptok executable not found next to the test bundle")
        let dir = try TestSupport.makeTempDir("cliwarn", removedAfter: self).path
        let noCRC = dir + "/nocrc.ckpt"
        try rewriteCRC(Self.hydra, noCRC, "zero")
        let r = try TestSupport.run(BadInputTests.reptok, ["convert", noCRC, "-o", dir + "/x.gguf", "--quiet"])
        let e = r.stderr
        XCTAssertEqual(r.status, 0, e)
        let lines = e.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, e)
        XCTAssertTrue(lines.contains { $0.hasPrefix("reptok: note: ") && $0.contains("without a CRC-32") }, e)
        XCTAssertTrue(lines.contains { $0.hasPrefix("reptok: warning: reptok.scale_factor: ") && $0.contains("${oc.env:") && $0.contains("using 1.0") }, e)
    }
}

/// Keys the converter does not use, and hyper-parameters only a call could produce.
final class UnusedAndCalledEntryTests: XCTestCase {
    /// Unused keys of every kind the reader cannot read (an expanded view, a view past its storage,
    /// a complex storage, an object built by a call) are only listed: the conversion gives the same
    /// tensors as without them.
    func testUnusedKeysCannotFailAConversion() throws {
        let dir = try TestSupport.makeTempDir("unused", removedAfter: self).path
        let extras = dir + "/extras.ckpt"
        let r = try TestSupport.runPython([Repo.path("Tests/python/make_ckpt.py"), Repo.tinySafetensors, extras, "--lightning",
                               "--hparams", Repo.tiny + "/hparams.json", "--unused-extras"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ck = try TorchCheckpoint(path: extras)
        XCTAssertEqual(Set(ck.unreadableEntries.map(\.name)), ["metrics.complex", "loss_fn"])
        XCTAssertThrowsError(try ck.floats("metrics.lying")) { e in
            guard case .badStrides? = e as? CheckpointError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try ck.floats("metrics.expanded"), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
        let report = try convertCheckpoint(input: extras, output: dir + "/extras.gguf",
                                           options: ConvertOptions(weights: .f32, configPath: Repo.tinyYAML))
        _ = try convertCheckpoint(input: Repo.tinyCkpt, output: dir + "/tiny.gguf", options: ConvertOptions(weights: .f32, configPath: Repo.tinyYAML))
        let a = try GGUFFile(path: dir + "/extras.gguf"), b = try GGUFFile(path: dir + "/tiny.gguf")
        XCTAssertEqual(a.orderedTensorInfos.map(\.name), b.orderedTensorInfos.map(\.name))
        for t in a.orderedTensorInfos { XCTAssertTrue(try a.tensor(t.name).data.elementsEqual(try b.tensor(t.name).data), t.name) }
        let ignored = Set(report.ignored.values.flatMap { $0 })
        XCTAssertTrue(ignored.isSuperset(of: ["metrics.expanded", "metrics.lying", "metrics.complex", "loss_fn"]), "\(ignored)")
    }

    /// A used hyper-parameter (cfg_scale) that only a call could produce is refused by name.
    func testCalledHyperParameterIsRefused() throws {
        let dir = try TestSupport.makeTempDir("called", removedAfter: self).path
        let path = dir + "/called.ckpt"
        let r = try TestSupport.runPython([Repo.path("Tests/python/make_ckpt.py"), Repo.tinySafetensors, path,
                               "--hparams", Repo.tiny + "/hparams.json", "--called-cfg-scale"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertThrowsError(try convertCheckpoint(input: path, output: dir + "/x.gguf", options: ConvertOptions(configPath: Repo.tinyYAML))) { e in
            guard case let .refusedHyperParameters(_, problems)? = e as? ConvertError else { return XCTFail("\(e)") }
            XCTAssertEqual(problems.count, 1)
            XCTAssertTrue(problems[0].hasPrefix("reptok.sample.cfg_scale: ") && problems[0].contains("numpy.random.uniform")
                          && problems[0].contains("nothing was executed"), problems[0])
        }
        XCTAssertEqual(filesIn(dir), ["called.ckpt"])
    }
}
