// Generate and decode requests: the defaults a file records fill every field not given, a given
// field wins, and what a stage costs agrees with the file's tensor table.
import Formats
import Foundation
import Quant
import Runtime
import TestSupport
import XCTest

final class RequestTests: XCTestCase {
    /// The sampling defaults of a file as its metadata holds them, read with the GGUF reader alone
    /// (not through `ModelConfig`, which the resolution uses).
    struct FileDefaults { var steps: Int; var cfg: Float; var interval: [Float] }

    func fileDefaults(_ path: String) throws -> FileDefaults {
        let md = try GGUFFile(path: path).metadata
        return FileDefaults(steps: try XCTUnwrap(md["reptok.sample.num_steps"]?.int, path),
                            cfg: try XCTUnwrap(md["reptok.sample.cfg_scale"]?.float, path),
                            interval: try XCTUnwrap(md["reptok.sample.t_interval"]?.floatArray, path))
    }

    /// The demo digits model (25 steps), the tiny fixture (50) and a copy of it whose three
    /// sampling keys were changed to values no code path defaults to (7 steps, scale 2.25,
    /// interval 0.125…0.75): the resolved request takes each from the file.
    func testDefaultsAreTheFilesSamplingMetadata() throws {
        let tiny = try TinyFixture.model(.int8)
        let edited = TinyFixture.tmp + "/sampling-edited.gguf"
        try TinyFixture.rewrite(tiny, edited, metadata: {
            $0["reptok.sample.num_steps"] = .uint32(7)
            $0["reptok.sample.cfg_scale"] = .float32(2.25)
            $0["reptok.sample.t_interval"] = .array([.float32(0.125), .float32(0.75)])
        })
        let digits = TestSupport.path("models/reptok-digits-int8.gguf")
        var seenSteps = Set<Int>()
        for path in [digits, tiny, edited] {
            let file = try fileDefaults(path)
            seenSteps.insert(file.steps)
            let p = try Pipeline(modelPath: path, options: PipelineOptions(threads: 1))
            let r = try GenerateRequest(classes: .labels([1]), seed: 3).resolved(for: p)
            XCTAssertEqual(r.generatorSteps, file.steps, path)
            XCTAssertEqual(r.decoderSteps, file.steps, path)
            XCTAssertEqual(r.cfgScale, file.cfg, path)
            XCTAssertEqual([r.cfgInterval.lowerBound, r.cfgInterval.upperBound], file.interval, path)
            // Fields the file has no say in.
            XCTAssertEqual(r.count, 1)
            XCTAssertEqual(r.rng, .reptok)
            XCTAssertEqual(r.sampler, .euler)
            XCTAssertNil(r.decoderSeed)
            XCTAssertEqual(r.model, (path as NSString).lastPathComponent)
            XCTAssertEqual(r.mode, .w8a32)
            let d = try DecodeRequest(seed: 3).resolved(for: p)
            XCTAssertEqual([d.seed, UInt64(d.steps)], [3, UInt64(file.steps)], path)
            XCTAssertEqual(d.sampler, .euler)
            XCTAssertEqual(d.rng, .reptok)
        }
        XCTAssertEqual(seenSteps, [25, 50, 7], "three files with three different defaults")
    }

    /// Every field given explicitly wins over the file's default, each on its own, and resolving
    /// the resolved request again gives it back unchanged.
    func testExplicitFieldsOverrideTheDefaults() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.int8), options: PipelineOptions(threads: 1, mode: .w8a8))
        let base = GenerateRequest(classes: .labels([4]), seed: 1)
        let defaults = try base.resolved(for: p).request
        var edits: [(String, (inout GenerateRequest) -> Void)] = [
            ("generatorSteps", { $0.generatorSteps = 3 }), ("decoderSteps", { $0.decoderSteps = 2 }),
            ("cfgScale", { $0.cfgScale = 2.5 }), ("cfgInterval", { $0.cfgInterval = 0.1 ... 0.6 }),
            ("sampler", { $0.sampler = .heun }), ("rng", { $0.rng = .torch }), ("seed", { $0.seed = 99 }),
            ("count", { $0.count = 3 }), ("classes", { $0.classes = .random }),
        ]
        edits.append(("decoderSeed", { $0.rng = .torch; $0.decoderSeed = 5 }))
        for (name, edit) in edits {
            var given = base
            edit(&given)
            let resolved = try given.resolved(for: p)
            var expected = defaults
            edit(&expected)
            XCTAssertEqual(resolved.request, expected, name)
            XCTAssertNotEqual(resolved.request, defaults, "\(name) changes the request")
            XCTAssertEqual(try resolved.request.resolved(for: p), resolved, "\(name): resolving again")
            XCTAssertEqual(resolved.mode, .w8a8)
        }
        // The Codable form carries every field.
        let all = try GenerateRequest(classes: .labels([2, 4]), seed: 9, rng: .torch, decoderSeed: 5, generatorSteps: 3,
                                      decoderSteps: 2, cfgScale: 2.5, cfgInterval: 0.1 ... 0.6, sampler: .heun).resolved(for: p)
        let json = try JSONEncoder().encode(all.request)
        XCTAssertEqual(try JSONDecoder().decode(GenerateRequest.self, from: json), all.request)
        XCTAssertEqual(all.count, 2, "count from the class list")
    }

    /// Requests the model cannot run are refused when resolved, before any work.
    func testBadRequestsAreRefused() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.int8), options: PipelineOptions(threads: 1))
        let k = p.config.numClasses
        let bad: [(String, GenerateRequest, RuntimeError)] = [
            ("label", GenerateRequest(classes: .labels([k])), .labelOutOfRange(label: k, numClasses: k)),
            ("steps", GenerateRequest(classes: .random, generatorSteps: 0), .invalidSteps(0)),
            ("list", GenerateRequest(classes: .labels([1, 2]), count: 3),
             .invalidArgument("2 classes given for 3 images: give one per image, or one for all")),
            ("decoder seed", GenerateRequest(classes: .random, decoderSeed: 1),
             .invalidArgument("a decoder seed needs the torch noise")),
            ("overflow", GenerateRequest(classes: .random, count: 2, seed: .max),
             .invalidArgument("seed \(UInt64.max) + 2 images overflows 64 bits")),
        ]
        for (name, request, error) in bad {
            XCTAssertThrowsError(try request.resolved(for: p), name) { XCTAssertEqual($0 as? RuntimeError, error, name) }
        }
        XCTAssertThrowsError(try DecodeRequest(steps: 0).resolved(for: p)) { XCTAssertEqual($0 as? RuntimeError, .invalidSteps(0)) }
    }

    /// A request's images are those of the lower-level calls with the same settings: image i of a
    /// `.reptok` batch is `generate(label:seed: seed + i)` then `decode(seed: seed + i)`.
    func testGenerateRunsWhatTheRequestSays() throws {
        let p = try Pipeline(modelPath: try TinyFixture.model(.int8), options: PipelineOptions(threads: 1))
        let request = try GenerateRequest(classes: .labels([2, 6]), seed: 40, generatorSteps: 3, decoderSteps: 2,
                                          cfgScale: 2, cfgInterval: 0.2 ... 0.8, sampler: .heun).resolved(for: p)
        var events: [Component] = []
        let batch = try p.generate(request) { component, _, _ in events.append(component); return true }
        XCTAssertEqual(batch.labels, [2, 6])
        XCTAssertTrue(batch.allFinite)
        for i in 0 ..< 2 {
            let token = try p.generate(label: batch.labels[i], seed: 40 + UInt64(i), steps: 3, cfgScale: 2, interval: 0.2 ... 0.8)
            let image = try p.decode(token: token, seed: 40 + UInt64(i), steps: 2, sampler: .heun)
            XCTAssertEqual(batch.images[i], Pipeline.toRGB8(image, size: p.config.imageSize), "image \(i)")
        }
        XCTAssertEqual(events.filter { $0 == .generator }.count, 6, "3 steps per token")
        XCTAssertEqual(events.filter { $0 == .decoder }.count, 8, "2 Heun steps, 2 evaluations each, per image")
        // A progress callback that says stop cancels the request.
        XCTAssertThrowsError(try p.generate(request) { _, _, _ in false }) { XCTAssertEqual($0 as? RuntimeError, .cancelled) }
    }

    /// The weight bytes of each stage (the tensors its parts loaded) against an independent sum
    /// over the file's tensor table by name prefix; the label table counts two float32 rows. The
    /// file's `adapter.new_reg` is read by no stage (the runtime never loads it), so the decoder
    /// step names the adapter's prefixes it does read.
    func testStageWeightBytesMatchTheTensorTable() throws {
        for weights in [WeightFormat.int8, .int4] {
            let path = try TinyFixture.model(weights)
            let p = try Pipeline(modelPath: path, options: PipelineOptions(threads: 1))
            let file = try GGUFFile(path: path)
            let prefixes: [Stage: [String]] = [.encoder: ["enc."], .decoderStep: ["adapter.backbone.", "adapter.temp_pos_embed", "dec."], .vae: ["vae."],
                                               .generatorStep: ["gen."]]
            for stage in Stage.allCases {
                var expected = 0
                for t in file.orderedTensorInfos where prefixes[stage, default: []].contains(where: { t.name.hasPrefix($0) }) {
                    expected += t.name == "gen.label_embedder.embedding_table.weight" ? 2 * p.config.generator.channels * 4 : t.byteCount
                }
                XCTAssertGreaterThan(expected, 0)
                XCTAssertEqual(p.cost(of: stage).weightBytes, Double(expected), "\(weights) \(stage)")
                XCTAssertGreaterThan(p.cost(of: stage).flops, 0)
            }
        }
    }
}
