// Shared set-up: the tiny fixture (Tests/Fixtures/tiny) converted once per test run into a
// temporary folder through Quant's converter, and traces cached per (weights, mode).
import Formats
import Foundation
import Quant
import Runtime
import TestSupport
import XCTest

enum TinyFixture {
    /// Tests/Fixtures/tiny in this repository.
    static let dir = TestSupport.path("Tests/Fixtures/tiny")
    static var golden: String { dir + "/golden.safetensors" }

    /// Temporary folder of this test process, removed at exit.
    static let tmp: String = {
        let path = try! TestSupport.makeTempDir("runtimeTests").path
        atexit { try? FileManager.default.removeItem(atPath: TinyFixture.tmp) }
        return path
    }()

    private static var converted: [String: String] = [:]
    private static var traces: [String: [String: [Float]]] = [:]
    private static var goldenFile: SafeTensorsFile?

    /// The tiny checkpoint converted with `--weights <weights>` (done once).
    static func model(_ weights: WeightFormat) throws -> String {
        let key = "\(weights)"
        if let p = converted[key] { return p }
        let out = tmp + "/tiny-\(key).gguf"
        let options = ConvertOptions(weights: weights, configPath: dir + "/model.yaml", vaeConfigPath: dir + "/vae-config.json")
        _ = try convertCheckpoint(input: dir + "/reptok.ckpt", output: out, options: options)
        converted[key] = out
        return out
    }

    static func goldenTensors() throws -> SafeTensorsFile {
        if let g = goldenFile { return g }
        let g = try SafeTensorsFile(path: golden)
        goldenFile = g
        return g
    }

    static func goldenFloats(_ name: String) throws -> [Float] { try goldenTensors().floats(name) }

    /// `reptok trace` outputs (the same code path) for a converted file, matrix mode and
    /// kernel level (nil: the default level).
    static func trace(_ weights: WeightFormat, mode: MatrixMode = .w8a32, isa: ISA? = nil) throws -> [String: [Float]] {
        let key = "\(weights)-\(mode)-\(isa.map(\.rawValue) ?? "default")"
        if let t = traces[key] { return t }
        let p = try Pipeline(modelPath: try model(weights), options: PipelineOptions(mode: mode, isa: isa))
        var out: [String: [Float]] = [:]
        for t in try Trace.run(pipeline: p, inputs: try goldenTensors()) { out[t.name] = t.values }
        traces[key] = out
        return out
    }

    /// Copies `source` into a new GGUF with edited metadata and without `drop`.
    static func rewrite(_ source: String, _ out: String, metadata edit: (inout [String: GGUFValue]) -> Void = { _ in },
                        drop: String? = nil) throws {
        let src = try GGUFFile(path: source)
        var md = src.metadata
        edit(&md)
        let w = GGUFWriter(path: out)
        for key in src.metadataKeys { if let value = md[key] { w.set(key, value) } }
        for (key, value) in md where !src.metadataKeys.contains(key) { w.set(key, value) }
        let infos = src.orderedTensorInfos.filter { $0.name != drop }
        for i in infos { try w.declareTensor(name: i.name, type: i.type, shape: i.shape) }
        try w.begin()
        for i in infos { try w.writeTensor(name: i.name, bytes: try src.tensor(i.name).data) }
        try w.finish()
    }
}
