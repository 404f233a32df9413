// Random-weight model files with exactly the layout of a converted checkpoint (same tensor names,
// types, shapes, order and metadata keys as `convertCheckpoint`), built from an architecture preset.
// Used by `reptok bench pipeline` to measure the release-size model without the release checkpoint.
import Formats
import Foundation
import ModelFile
import Support

/// Errors from reading a preset or writing a synthetic model (I/O failures are `FileAccessError`
/// and `GGUFWriterError`).
public enum SyntheticModelError: Error, CustomStringConvertible, Equatable {
    /// The preset file could not be read or decoded.
    case unreadablePreset(path: String, reason: String)
    /// The preset's sizes are inconsistent or absurd; every problem is listed.
    case invalidPreset(name: String, problems: [String])
    /// `ModelPreset.named` got neither a built-in name nor an existing `.json` file.
    case unknownPreset(name: String, known: [String])

    public var description: String {
        switch self {
        case let .unreadablePreset(p, r): return "\(p): not a model preset: \(r)"
        case let .invalidPreset(n, p): return "preset \(n): \(p.joined(separator: "; "))"
        case let .unknownPreset(n, k): return "unknown preset \(n) (built in: \(k.joined(separator: ", ")); or give a path to a .json preset)"
        }
    }
}

/// A named architecture for synthetic models: the `ModelConfig` a converted file records, plus
/// the one checkpoint-layout fact that is not metadata. Stored as JSON with snake_case keys in
/// `models/presets/<name>.json`; `ModelPreset.xl` is the release model of docs/model.md, 'Release sizes'.
///
/// The encoder positional table is written already resized to the input grid (as the converter does).
/// Architecture fields read and write through: `preset.decoder.heads` is `preset.architecture.decoder.heads`.
@dynamicMemberLookup
public struct ModelPreset: Codable, Equatable, Sendable {
    /// Short name (`xl`, `tiny`); used in file names and in `general.name`.
    public var name: String
    /// One line saying where the sizes come from.
    public var description: String
    /// Rows of `adapter.new_reg` the file carries (2; ≥ 0). The runtime does not use them and the
    /// metadata does not record them: the converter writes the tensor when the checkpoint has it.
    public var adapterExtraTokens: Int
    /// Every size and sampling default the file records as metadata.
    public var architecture: ModelConfig

    public init(name: String, description: String, adapterExtraTokens: Int, architecture: ModelConfig) {
        self.name = name
        self.description = description
        self.adapterExtraTokens = adapterExtraTokens
        self.architecture = architecture
    }

    /// The architecture's fields, read and written through.
    public subscript<T>(dynamicMember path: WritableKeyPath<ModelConfig, T>) -> T {
        get { architecture[keyPath: path] }
        set { architecture[keyPath: path] = newValue }
    }

    /// The release model, RepTok XL on ImageNet 256 (docs/model.md, 'Release sizes'): ≈1.24 G inference parameters.
    public static let xl: ModelPreset = {
        var a = ModelConfig()
        a.imageSize = 256
        a.scaleFactor = 1
        a.encoder = .init(width: 768, depth: 12, heads: 12, patchSize: 14, inputSize: 224, registers: 4, mlpHidden: 3072, lnEps: 1e-6)
        a.adapter = .init(width: 1152)
        a.mapping = .init(width: 1024, depth: 2, hidden: 3072, timeFeatures: 512)
        a.decoder = .init(width: 1152, depth: 28, heads: 16, headDim: 72, ffHidden: 3456, ropeFreqs: 9,
                          latentChannels: 4, latentH: 32, latentW: 32, patchSize: 2)
        a.vae = .init(blockOutChannels: [128, 256, 512, 512], layersPerBlock: 2, normGroups: 32, scalingFactor: 0.18215, shiftFactor: 0)
        a.generator = .init(channels: 768, dim: 1536, depth: 28, expansionToken: 3, expansionChannel: 4, numClasses: 1000)
        a.sampling = .init(numSteps: 50, cfgScale: 1.5, tInterval: 0.3 ... 0.9)
        return ModelPreset(name: "xl", description: "RepTok XL, ImageNet 256 (release shapes, docs/model.md)", adapterExtraTokens: 2, architecture: a)
    }()

    /// The sizes of the tiny test fixture (docs/model.md, 'Reference fixtures'), for quick runs and for checking the writer
    /// against the converter.
    public static let tiny: ModelPreset = {
        var a = ModelConfig()
        a.imageSize = 32
        a.scaleFactor = 1
        a.encoder = .init(width: 128, depth: 2, heads: 2, patchSize: 14, inputSize: 56, registers: 4, mlpHidden: 512, lnEps: 1e-6)
        a.adapter = .init(width: 144)
        a.mapping = .init(width: 64, depth: 1, hidden: 192, timeFeatures: 32)
        a.decoder = .init(width: 144, depth: 2, heads: 6, headDim: 24, ffHidden: 432, ropeFreqs: 3,
                          latentChannels: 4, latentH: 16, latentW: 16, patchSize: 2)
        a.vae = .init(blockOutChannels: [64, 128], layersPerBlock: 1, normGroups: 32, scalingFactor: 0.18215, shiftFactor: 0)
        a.generator = .init(channels: 128, dim: 96, depth: 2, expansionToken: 3, expansionChannel: 4, numClasses: 10)
        a.sampling = .init(numSteps: 50, cfgScale: 1.5, tInterval: 0.3 ... 0.9)
        return ModelPreset(name: "tiny", description: "sizes of the tiny test fixture (docs/model.md)", adapterExtraTokens: 2, architecture: a)
    }()

    /// Built-in presets by name.
    public static let builtIn: [String: ModelPreset] = ["xl": .xl, "tiny": .tiny]

    /// A built-in preset by name, or a preset JSON file by path.
    public static func named(_ nameOrPath: String) throws -> ModelPreset {
        if let p = builtIn[nameOrPath] { return p }
        guard FileManager.default.fileExists(atPath: nameOrPath) else {
            throw SyntheticModelError.unknownPreset(name: nameOrPath, known: builtIn.keys.sorted())
        }
        return try load(path: nameOrPath)
    }

    /// Reads and validates a preset JSON file (snake_case keys).
    public static func load(path: String) throws -> ModelPreset {
        // Presets are a few hundred bytes; refuse anything absurd before reading it.
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        if let size = attrs?[.size] as? Int, size > 1 << 20 {
            throw SyntheticModelError.unreadablePreset(path: path, reason: "\(size) bytes (a preset is under 1 MB)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SyntheticModelError.unreadablePreset(path: path, reason: "cannot read the file")
        }
        let preset: ModelPreset
        do {
            let d = JSONDecoder()
            d.keyDecodingStrategy = .convertFromSnakeCase
            preset = try d.decode(ModelPreset.self, from: data)
        } catch {
            throw SyntheticModelError.unreadablePreset(path: path, reason: "\(error)")
        }
        try preset.validate()
        return preset
    }

    /// Canonical JSON (snake_case, sorted keys, pretty-printed), as stored in `models/presets/`.
    public func json() -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        // Encoding plain structs of numbers and strings cannot fail.
        return (try? e.encode(self)) ?? Data()
    }

    /// Throws `invalidPreset` listing every inconsistency (`ModelConfig.problems()`, the checks
    /// the runtime makes, plus the converter's DINOv2 rule heads = width / 64), and refuses sizes
    /// above 16 G parameters.
    public func validate() throws {
        var p = architecture.problems()
        if adapterExtraTokens < 0 { p.append("adapter_extra_tokens must be ≥ 0 (is \(adapterExtraTokens))") }
        if p.isEmpty, architecture.encoder.heads * 64 != architecture.encoder.width {
            p.append("encoder.heads \(architecture.encoder.heads) ≠ encoder.width \(architecture.encoder.width) / 64 (the converter's DINOv2 head size)")
        }
        if p.isEmpty {
            // 16 G parameters (≥ 16 GB int8) is far beyond any RepTok model: refuse before writing.
            let total = SyntheticModel.tensorSpecs(self).reduce(0.0) { $0 + Double($1.outputShape.reduce(1, *)) }
            if total > 16e9 { p.append("\(Int(total)) parameters (more than 16 G)") }
        }
        if !p.isEmpty { throw SyntheticModelError.invalidPreset(name: name, problems: p) }
    }

    /// The converter's resolved configuration for these sizes (what a real conversion of a checkpoint
    /// with these shapes records).
    public var checkpointLayout: CheckpointLayout {
        CheckpointLayout(encPosGrid: architecture.encoder.grid, adapterNewReg: adapterExtraTokens)
    }
}

/// What `SyntheticModel.write` produced.
public struct SyntheticModelReport: Sendable {
    public let path: String
    /// `reptok.source.sha256` of the file: identifies preset, weight format, seed and writer version.
    public let fingerprint: String
    /// File tensors (int8 scale tensors included).
    public let tensors: Int
    /// Parameters (elements of the model tensors, scales excluded).
    public let parameters: Int
    public let fileSize: Int
    public let seconds: Double
}

/// Writes random-weight GGUF files that a `Pipeline` loads exactly as a converted checkpoint.
///
/// The tensor list, order and layouts are the converter's (`requiredTensors`), and the file is
/// written by the converter's `ModelFileWriter` (header from `MetadataSchema`); only the provenance
/// differs: `general.name` = `synthetic-<preset>`, `reptok.source.file` = `synthetic:<preset>:seed<seed>`,
/// `reptok.source.sha256` = `fingerprint`. Linear/Conv weights are drawn in float and quantized by
/// that writer, so the int8 values, scales and `reptok.quant.*` error keys are what a conversion
/// would write.
///
/// Values (U = uniform on [−1, 1), one counter-based splitmix64 stream per tensor and seed, so each
/// tensor is independent of the others and of the order of writing):
/// - Linear/Conv weights `[o, k]`: U·√(3/k) (variance 1/k: activations keep their scale layer to layer);
/// - biases: 0.02·U;
/// - norm gains (LayerNorm/GroupNorm weights, RMSNorm `scale`s): 1 + 0.05·U;
/// - decoder head scales `self_attn.scale`: 10 + U;
/// - LayerScale `ls*.gamma`: 0.1 + 0.01·U;
/// - RoPE `freqs` [2, H, F]: π·10^(k/(F−1)) for frequency k, the same for both axes and every head;
/// - `dec.time_emb.weight`: √3·U (unit variance);
/// - tokens, positional tables, label embeddings: 0.1·U.
public enum SyntheticModel {
    /// Bumped whenever the values or the layout rules change, so cached files are rewritten.
    public static let writerVersion = 1

    /// The file tensors of a preset, in file order (natural name order), before int8 scale companions.
    static func tensorSpecs(_ preset: ModelPreset) -> [TensorSpec] {
        requiredTensors(preset.architecture, preset.checkpointLayout).sorted { naturalLess($0.name, $1.name) }
    }

    /// The file's tensor table for `preset`: (name, type, shape in PyTorch order), in file order, each
    /// int8 weight followed by its `.scale` [rows] (F32).
    public static func tensorLayout(_ preset: ModelPreset, weights: WeightFormat = .int8) -> [(name: String, type: GGMLType, shape: [Int])] {
        var out: [(name: String, type: GGMLType, shape: [Int])] = []
        for s in tensorSpecs(preset) {
            let t = fileType(s, weights)
            out.append((s.name, t, s.outputShape))
            if t == .i8 { out.append((TensorNames.scale(of: s.name), .f32, [s.outputShape[0]])) }
        }
        return out
    }

    /// SHA-256 of the writer version, the canonical preset JSON, the weight format and the seed.
    public static func fingerprint(preset: ModelPreset, weights: WeightFormat, seed: UInt64) -> String {
        var h = SHA256()
        h.update(Array("reptok-synthetic/\(writerVersion)\n".utf8))
        h.update(Array(preset.json()))
        h.update(Array("\nweights=\(weights.rawValue)\nseed=\(seed)\n".utf8))
        return SHA256.hex(h.finalize())
    }

    /// `true` when `path` is a complete file written by `write` for exactly these arguments: it opens
    /// as GGUF, carries the fingerprint, and holds exactly the expected tensors (names, types, shapes).
    public static func matches(path: String, preset: ModelPreset, weights: WeightFormat, seed: UInt64) -> Bool {
        guard let f = try? GGUFFile(path: path),
              f.metadata["reptok.source.sha256"]?.string == fingerprint(preset: preset, weights: weights, seed: seed)
        else { return false }
        let expected = tensorLayout(preset, weights: weights)
        let actual = f.orderedTensorInfos
        guard actual.count == expected.count else { return false }
        for (a, e) in zip(actual, expected) where a.name != e.name || a.type != e.type || a.shape != e.shape { return false }
        return true
    }

    static func fileType(_ s: TensorSpec, _ weights: WeightFormat) -> GGMLType {
        storedType(name: s.name, shape: s.outputShape, quantizable: s.quantizable, weights: weights)
    }

    /// Writes the random-weight model of `preset` to `output` (atomically: a temporary file in the same
    /// folder, renamed at the end). Streams one tensor at a time; memory use is a few copies of the
    /// largest tensor. `onTensor(index, count, name)` is called before each tensor.
    @discardableResult
    public static func write(preset: ModelPreset, output: String, weights: WeightFormat = .int8, seed: UInt64 = 0,
                             onTensor: ((Int, Int, String) -> Void)? = nil) throws -> SyntheticModelReport {
        let start = MonotonicClock.nanoseconds()
        try preset.validate()
        try checkOutputPath(output, inputs: [])
        let specs = tensorSpecs(preset)
        let print = fingerprint(preset: preset, weights: weights, seed: seed)

        // The converter's header and tensor table, with the synthetic origin.
        let origin = ModelFileOrigin(name: "synthetic-\(preset.name)", converterVersion: quantConverterVersion,
                                     sourceFile: "synthetic:\(preset.name):seed\(seed)", sourceSHA256: print,
                                     weights: weights.rawValue, quantScheme: quantScheme(weights))
        let writer = try ModelFileWriter(path: output, origin: origin, config: preset.architecture,
                                         tensors: specs.map { .init(name: $0.name, type: fileType($0, weights), shape: $0.outputShape) })
        var parameters = 0
        for (i, s) in specs.enumerated() {
            onTensor?(i, specs.count, s.name)
            let values = syntheticValues(s, seed: seed)
            parameters += values.count
            // |values| ≤ 10 + 1: within the float16 range; Q4_0 scales are |w|/8.
            try writer.write(s.name, source: s.name, values: values, overflow: ConvertError.f16Overflow(path: output, key: s.name))
        }
        _ = try writer.finish()

        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        return SyntheticModelReport(path: output, fingerprint: print, tensors: writer.tensorCount, parameters: parameters,
                                    fileSize: size, seconds: Double(MonotonicClock.nanoseconds() - start) * 1e-9)
    }

    /// The float values of one file tensor, in file layout (the distributions are in the type's doc).
    static func syntheticValues(_ s: TensorSpec, seed: UInt64) -> [Float] {
        let count = s.outputShape.reduce(1, *)
        let name = s.name
        // RoPE frequencies are a fixed ladder, not random.
        if name.hasSuffix("pos_emb.freqs") {
            let f = s.outputShape[2]
            return (0 ..< count).map { i in
                let k = i % f
                return Float.pi * Float(pow(10.0, f > 1 ? Double(k) / Double(f - 1) : 0))
            }
        }
        let (base, amplitude): (Float, Float)
        if s.quantizable {
            base = 0; amplitude = (3 / Float(max(count / s.outputShape[0], 1))).squareRoot()
        } else if name.hasSuffix(".bias") {
            base = 0; amplitude = 0.02
        } else if name.hasSuffix("self_attn.scale") {
            base = 10; amplitude = 1
        } else if name.hasSuffix(".gamma") {
            base = 0.1; amplitude = 0.01
        } else if name == TensorNames.TimeConditioning.timeEmb {
            base = 0; amplitude = Float(3).squareRoot()
        } else if name.hasSuffix(".scale") || (name.hasSuffix(".weight") && !name.contains("embedding_table")) {
            // RMSNorm scales, LayerNorm/GroupNorm weights (including the generator's final `mixer.<L+1>`).
            base = 1; amplitude = 0.05
        } else {
            base = 0; amplitude = 0.1
        }
        // Counter-based splitmix64: element i of tensor `name` is mix(key + (i+1)·γ).
        var key = seed &* SplitMix64.gamma ^ 0xD1B5_4A32_D192_ED03
        for b in name.utf8 { key = (key ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { o in
            var rng = SplitMix64(state: key)
            for i in 0 ..< count {
                let x = rng.next()
                // Top 24 bits as a signed integer: exactly representable, U in [−1, 1).
                let u = Float(Int64(bitPattern: x) >> 40) * (1 / 8_388_608)
                o[i] = base + amplitude * u
            }
        }
        return out
    }
}
