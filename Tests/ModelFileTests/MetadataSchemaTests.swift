// The metadata schema against the writer, the reader, the reader's errors, the configuration's
// Swift defaults and the key table of docs/gguf-format.md.
import Formats
import Foundation
import ModelFile
import TestSupport
import XCTest

final class MetadataSchemaTests: XCTestCase {
    /// The architecture of a preset file in `models/presets/` (snake_case JSON).
    static func preset(_ name: String) throws -> ModelConfig {
        struct Preset: Decodable { let architecture: ModelConfig }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(Preset.self, from: Data(contentsOf: URL(fileURLWithPath: TestSupport.path("models/presets/\(name).json")))).architecture
    }

    /// Every field changed from the tiny preset's value, still consistent.
    static func odd() throws -> ModelConfig {
        var c = try preset("tiny")
        c.imageSize = 48
        c.scaleFactor = 0.75
        c.encoder = .init(width: 192, depth: 3, heads: 3, patchSize: 8, inputSize: 40, registers: 1, mlpHidden: 500, lnEps: 1e-5)
        c.adapter = .init(width: 200, lnEps: 3e-5)
        c.decoder = .init(width: 200, depth: 5, heads: 5, headDim: 40, ffHidden: 333, ropeFreqs: 7,
                          latentChannels: 3, latentH: 12, latentW: 12, patchSize: 3, rmsEps: 2e-6, qkEps: 3e-6)
        c.mapping = .init(width: 70, depth: 4, hidden: 111, timeFeatures: 17, rmsEps: 4e-6)
        c.vae = .init(blockOutChannels: [48, 96, 144], layersPerBlock: 3, normGroups: 16, scalingFactor: 0.5, shiftFactor: -0.25, normEps: 5e-6)
        c.generator = .init(channels: 192, dim: 80, depth: 6, expansionToken: 2, expansionChannel: 5, numClasses: 7, lnEps: 6e-5)
        c.sampling = .init(numSteps: 9, cfgScale: 2.5, tInterval: 0.125 ... 0.75)
        return c
    }

    /// An origin with every optional key set.
    static let fullOrigin: ModelFileOrigin = {
        var o = ModelFileOrigin(name: "m.ckpt", converterVersion: "9.9.9", sourceFile: "m.ckpt", sourceSHA256: "ab12",
                                weights: "int8", quantScheme: "per_channel_symmetric_int8")
        o.encoderFile = "dino.pth"; o.encoderSHA256 = "cd34"; o.vaeFile = "vae.safetensors"; o.vaeSHA256 = "ef56"
        o.classNames = ["a, b", "c"]
        o.requantizedFrom = "m-f32.gguf"
        return o
    }()

    static func header(_ c: ModelConfig, _ o: ModelFileOrigin = fullOrigin) -> [String: GGUFValue] {
        Dictionary(MetadataSchema.header(origin: o, config: c).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    func read(_ md: [String: GGUFValue]) -> Result<ModelConfig, ModelConfigError> {
        do { return .success(try ModelConfig(metadata: md, path: "x.gguf")) } catch {
            return .failure(error as? ModelConfigError ?? .badMetadata(path: "?", key: "?", reason: "not a ModelConfigError: \(error)"))
        }
    }

    /// config → header → config is the identity for both presets and for a variant with every field
    /// changed (so no field is dropped or swapped between keys), and the origin reads back too.
    func testEveryKeyRoundTrips() throws {
        let tiny = try Self.preset("tiny"), odd = try Self.odd()
        XCTAssertEqual(odd.problems(), [])
        for c in [try Self.preset("xl"), tiny, odd] {
            XCTAssertEqual(try ModelConfig(metadata: Self.header(c), path: "m.gguf"), c)
        }
        XCTAssertEqual(ModelFileOrigin(metadata: Self.header(odd)), Self.fullOrigin)
        let tinyHeader = Self.header(tiny)
        for e in MetadataSchema.configuration { XCTAssertNotEqual(tinyHeader[e.key], Self.header(odd)[e.key], e.key) }
    }

    /// The header holds every schema key but `general.alignment` (the GGUF writer's), in schema
    /// order, each with its declared type; optional origin keys that are nil are not written.
    func testHeaderOrderAndTypes() throws {
        let header = MetadataSchema.header(origin: Self.fullOrigin, config: try Self.preset("tiny"))
        XCTAssertEqual(header.map(\.key), MetadataSchema.entries.map(\.key).filter { $0 != "general.alignment" })
        let types = Dictionary(uniqueKeysWithValues: MetadataSchema.entries.map { ($0.key, $0.type) })
        for (key, value) in header {
            let type: MetadataType?
            switch value {
            case .string: type = .string
            case .uint32: type = .u32
            case .float32: type = .f32
            case let .array(a):
                switch a.first {
                case .uint32?: type = .u32Array
                case .float32?: type = .f32Array
                case .string?: type = .stringArray
                default: type = nil
                }
            default: type = nil
            }
            XCTAssertEqual(type, types[key], key)
        }
        let bare = ModelFileOrigin(name: "n", converterVersion: "v", sourceFile: "f", sourceSHA256: "s", weights: "f32", quantScheme: "none")
        let keys = Set(MetadataSchema.header(origin: bare, config: try Self.preset("tiny")).map(\.key))
        for k in ["reptok.source.encoder.file", "reptok.source.vae.sha256", MetadataSchema.classNamesKey, "reptok.source.requantized_from"] {
            XCTAssertFalse(keys.contains(k), k)
        }
        for s in MetadataEntry.QuantStatistic.allCases {
            XCTAssertEqual(header.first { $0.key == MetadataSchema.key(of: s) }?.value, .float32(0), "\(s) is a placeholder 0")
        }
    }

    /// A file without an optional key reads it as its release value; without a required key it is
    /// refused naming the key. The release values are also `ModelConfig()`'s Swift defaults.
    func testEveryKeyDefault() throws {
        let odd = Self.header(try Self.odd())
        let blank = ModelConfig()
        var optional = 0
        for e in MetadataSchema.configuration {
            var md = odd
            md[e.key] = nil
            switch read(md) {
            case let .success(c):
                XCTAssertTrue(e.optional, "\(e.key) read although absent")
                XCTAssertEqual(e.value(in: c), e.release, e.key)
                XCTAssertEqual(e.value(in: blank), e.release, "ModelConfig()'s \(e.key)")
                optional += 1
            case let .failure(error):
                XCTAssertFalse(e.optional, "\(e.key): \(error)")
                XCTAssertEqual(error, .missingMetadata(path: "x.gguf", key: e.key))
            }
        }
        // registers, shift_factor, the six epsilons but encoder.ln_eps, and the three sampling keys.
        XCTAssertEqual(optional, 11)
        for key in ["general.architecture", "reptok.format_version"] {
            var md = odd
            md[key] = nil
            XCTAssertEqual(read(md).failure, .missingMetadata(path: "x.gguf", key: key))
        }
    }

    /// Each kind of bad value gets an error naming the file, the key and the reason.
    func testErrorForEachKindOfBadValue() throws {
        let good = Self.header(try Self.preset("tiny"))
        func error(_ key: String, _ value: GGUFValue) -> ModelConfigError? {
            var md = good
            md[key] = value
            return read(md).failure
        }
        func bad(_ key: String, _ reason: String) -> ModelConfigError { .badMetadata(path: "x.gguf", key: key, reason: reason) }
        // Wrong type, for every configuration key.
        for e in MetadataSchema.configuration {
            guard case let .badMetadata(_, key, reason)? = error(e.key, .string("x")) else { return XCTFail(e.key) }
            XCTAssertEqual(key, e.key)
            XCTAssertTrue(reason.hasPrefix("expected ") && reason.hasSuffix("found \"x\""), "\(e.key): \(reason)")
        }
        // Out of range.
        XCTAssertEqual(error("reptok.mapping.width", .uint32(0)), bad("reptok.mapping.width", "0 is outside 1...1048576"))
        XCTAssertEqual(error("reptok.encoder.depth", .uint32(5000)), bad("reptok.encoder.depth", "5000 is outside 1...1024"))
        XCTAssertEqual(error("reptok.encoder.registers", .uint32(1 << 21)), bad("reptok.encoder.registers", "2097152 is outside 0...1048576"))
        // Not finite, zero where nonzero is required, a negative epsilon.
        XCTAssertEqual(error("reptok.vae.shift_factor", .float32(.infinity)), bad("reptok.vae.shift_factor", "expected a finite number, found inf"))
        XCTAssertEqual(error("reptok.scale_factor", .float32(0)), bad("reptok.scale_factor", "must not be 0"))
        XCTAssertEqual(error("reptok.decoder.qk_eps", .float32(-1)), bad("reptok.decoder.qk_eps", "expected a finite number ≥ 0, found -1.0"))
        // Channel lists and the guidance interval.
        for v: GGUFValue in [.array([.uint32(64), .uint32(0)]), .array(Array(repeating: .uint32(32), count: 17)), .array([.float32(1.5)])] {
            guard case let .badMetadata(_, key, reason)? = error("reptok.vae.block_out_channels", v) else { return XCTFail("\(v)") }
            XCTAssertEqual(key, "reptok.vae.block_out_channels")
            XCTAssertTrue(reason.hasPrefix("expected 1 to 16 integers in 1...65536"), reason)
        }
        for v: GGUFValue in [.array([.float32(0.9), .float32(0.3)]), .array([.float32(0.1)]), .array([.float32(0.1), .float32(.nan)])] {
            guard case let .badMetadata(_, key, reason)? = error("reptok.sample.t_interval", v) else { return XCTFail("\(v)") }
            XCTAssertEqual(key, "reptok.sample.t_interval")
            XCTAssertTrue(reason.hasPrefix("expected two finite numbers [lo, hi] with lo ≤ hi"), reason)
        }
        // Identity.
        XCTAssertEqual(error("general.architecture", .string("llama")), .wrongArchitecture(path: "x.gguf", found: "llama"))
        XCTAssertEqual(error("general.architecture", .uint32(1)), bad("general.architecture", "expected a string, found 1"))
        XCTAssertEqual(error("reptok.format_version", .uint32(3)), .unsupportedFormatVersion(path: "x.gguf", found: 3, supported: 1))
        XCTAssertEqual(error("reptok.format_version", .string("1")), bad("reptok.format_version", "expected an integer, found \"1\""))
        // Values that contradict each other: every contradiction is listed.
        var md = good
        md["reptok.decoder.heads"] = .uint32(5)
        md["reptok.generator.channels"] = .uint32(100)
        guard case let .inconsistent(path, problems)? = read(md).failure else { return XCTFail() }
        XCTAssertEqual(path, "x.gguf")
        XCTAssertEqual(problems.count, 2, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("head_dim") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("generator.channels") }, "\(problems)")
        // `problems()` applies the same rules to a configuration built in Swift.
        var c = try Self.preset("tiny")
        c.encoder.registers = -1
        c.decoder.qkEps = .nan
        XCTAssertEqual(c.problems(), ["encoder.registers: -1 is outside 0...1048576", "decoder.qk_eps: expected a finite number, found nan"])
    }

    /// The key table of docs/gguf-format.md ('Metadata') lists the schema's keys in the schema's
    /// order with the same types, and its "when absent" column says what the reader does: `required`
    /// for required configuration keys, the release value for optional ones, `—` for the rest
    /// (rows `a / .b / .c` expand to a, prefix.b, prefix.c).
    func testDocumentedKeysAreTheSchema() throws {
        let doc = try String(contentsOfFile: TestSupport.path("docs/gguf-format.md"), encoding: .utf8)
        guard let start = doc.range(of: "\n## Metadata\n"), let end = doc.range(of: "\n## ", range: start.upperBound ..< doc.endIndex) else {
            return XCTFail("no Metadata section")
        }
        var documented: [(key: String, type: String, absent: String)] = []
        for line in doc[start.upperBound ..< end.lowerBound].split(separator: "\n") where line.hasPrefix("| `") {
            let cols = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let names = cols[0].split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            let prefix = names[0].split(separator: ".").dropLast().joined(separator: ".")
            for n in names { documented.append((n.hasPrefix(".") ? prefix + n : n, cols[1], cols[2])) }
        }
        XCTAssertEqual(documented.map(\.key), MetadataSchema.entries.map(\.key))
        for (e, d) in zip(MetadataSchema.entries, documented) {
            XCTAssertEqual(d.type, e.type.rawValue, e.key)
            let expected: String
            if e.key == "general.architecture" || e.key == "reptok.format_version" {
                expected = "required"
            } else if !e.isConfiguration {
                expected = "—"
            } else if !e.optional {
                expected = "required"
            } else {
                switch e.release {
                case let .uint32(v)?: expected = "\(v)"
                case let .float32(v)?: expected = v == v.rounded() ? "\(Int(v))" : "\(v)".replacingOccurrences(of: "e-0", with: "e-")
                case let .array(a)?: expected = "[" + a.map { "\($0.float ?? .nan)" }.joined(separator: ", ") + "]"
                default: expected = "?"
                }
            }
            XCTAssertEqual(d.absent, expected, e.key)
        }
    }

    /// The committed models read through the schema, and their headers are what the schema's writer
    /// makes of what was read (same keys, order and values), except for optional keys that the
    /// older files lack (`reptok-tiny-int8` was written before the epsilons were recorded).
    func testCommittedModelsReadAndWriteBack() throws {
        for name in ["reptok-tiny-int8", "reptok-digits-int8", "reptok-digits-f32"] {
            let path = TestSupport.path("models/\(name).gguf")
            let f = try GGUFFile(path: path)
            let config = try ModelConfig(metadata: f.metadata, path: path)
            let header = MetadataSchema.header(origin: ModelFileOrigin(metadata: f.metadata), config: config)
            let stored = f.metadataKeys.filter { $0 != "general.alignment" }
            let absent = header.map(\.key).filter { f.metadata[$0] == nil }
            for k in absent { XCTAssertTrue(MetadataSchema.configuration.contains { $0.key == k && $0.optional }, "\(name) lacks \(k)") }
            XCTAssertEqual(header.map(\.key).filter { !absent.contains($0) }, stored, name)
            // The error statistics are patched after the header is built: compare the rest.
            for (k, v) in header where !k.hasPrefix("reptok.quant.m") && !absent.contains(k) {
                XCTAssertEqual(f.metadata[k], v, "\(name) \(k)")
            }
            if name == "reptok-tiny-int8" { XCTAssertEqual(absent.count, 6, "the six optional epsilons") }
        }
    }
}

extension Result {
    var failure: Failure? { if case let .failure(e) = self { return e } else { return nil } }
}
