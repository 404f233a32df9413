// Checkpoint → one GGUF file: map keys, resolve sizes, check shapes, then stream tensor by tensor
// (read, check finite, change layout, quantize, write, release pages).
import Formats
import Foundation
import ModelFile
import Support

/// Version string written as `reptok.converter.version`.
public let quantConverterVersion = "0.1.0"

/// Storage of Linear/Conv weights in the output.
public enum WeightFormat: String, CaseIterable, Sendable {
    /// int4 is GGML Q4_0 (groups of 32 inputs) for Linear layers, int8 for the VAE (`int4FileType`).
    case int8, int4, f16, f32
}

/// Conversion settings.
public struct ConvertOptions {
    public var weights: WeightFormat
    /// Official `model.yaml` (`--config`).
    public var configPath: String?
    /// diffusers `vae-config.json` (`--vae-config`).
    public var vaeConfigPath: String?
    /// Separate DINOv2 weights (hub `.pth` or safetensors, keys `cls_token`, `blocks.0…`); replaces the
    /// checkpoint's encoder (`--encoder`).
    public var encoderPath: String?
    /// Separate SD-VAE weights (diffusers safetensors, keys `decoder.…`, `post_quant_conv.…`, or LDM
    /// names); replaces the checkpoint's VAE decoder (`--vae`).
    public var vaePath: String?
    /// Class names (`--classes`): a class-name file (`ClassNames`: one class per line in label order,
    /// `name, synonym, ...`). Without it the checkpoint's `hyper_parameters.class_names` (a list of
    /// such strings) is used.
    public var classNamesPath: String?
    /// Called after each tensor is written (for streaming the report).
    public var onTensor: ((ConversionReport.TensorLine) -> Void)?
    /// Called once if, after the last tensor, the conversion still waits for the inputs' SHA-256
    /// (computed alongside; slow on a CPU without SHA instructions), saying so.
    public var onWait: ((String) -> Void)?
    /// Converter version recorded in the file (the CLI passes its own version).
    public var converterVersion: String

    public init(weights: WeightFormat = .int8, configPath: String? = nil, vaeConfigPath: String? = nil,
                encoderPath: String? = nil, vaePath: String? = nil, classNamesPath: String? = nil,
                converterVersion: String = quantConverterVersion, onTensor: ((ConversionReport.TensorLine) -> Void)? = nil,
                onWait: ((String) -> Void)? = nil) {
        self.weights = weights
        self.configPath = configPath
        self.vaeConfigPath = vaeConfigPath
        self.encoderPath = encoderPath
        self.vaePath = vaePath
        self.classNamesPath = classNamesPath
        self.converterVersion = converterVersion
        self.onTensor = onTensor
        self.onWait = onWait
    }
}

/// Errors that stop a conversion. No output file is left behind.
public enum ConvertError: Error, CustomStringConvertible, Equatable {
    case sameInputAndOutput(path: String)
    case missingComponents(path: String, components: [String])
    case duplicateKeys(path: String, keys: [String])
    case missingTensors(path: String, keys: [String])
    case wrongShapes(path: String, problems: [String])
    case configConflicts(path: String, problems: [String])
    case nonFinite(path: String, key: String, index: Int, value: Float)
    case f16Overflow(path: String, key: String)
    case unsupportedDType(path: String, key: String, dtype: String)
    case refusedHyperParameters(path: String, problems: [String])
    case badClassNames(path: String, reason: String)

    public var description: String {
        func list(_ a: [String]) -> String { a.prefix(12).joined(separator: ", ") + (a.count > 12 ? ", … (\(a.count) in all)" : "") }
        switch self {
        case let .sameInputAndOutput(p): return "output \(p) is the input file"
        case let .missingComponents(p, c): return "\(p): missing component(s): \(c.joined(separator: "; "))"
        case let .duplicateKeys(p, k): return "\(p): keys collide after stripping _orig_mod./module. wrappers: \(list(k))"
        case let .missingTensors(p, k): return "\(p): \(k.count) required tensor(s) missing: \(list(k))"
        case let .wrongShapes(p, s): return "\(p): \(s.count) tensor(s) with the wrong shape: \(list(s))"
        case let .configConflicts(p, s): return "\(p): inconsistent architecture: \(list(s))"
        case let .nonFinite(p, k, i, v): return "\(p): tensor \(k) has a non-finite value (\(v)) at element \(i)"
        case let .f16Overflow(p, k): return "\(p): tensor \(k) has values beyond the float16 range (|w| > 65504, or a group scale |w|/8 beyond it for int4); use --weights int8 or f32"
        case let .unsupportedDType(p, k, d): return "\(p): tensor \(k) has dtype \(d); expected a float type"
        case let .refusedHyperParameters(p, s): return "\(p): \(list(s))"
        case let .badClassNames(p, r): return "\(p): class names: \(r)"
        }
    }
}

/// What a conversion did.
public struct ConversionReport {
    /// One written tensor.
    public struct TensorLine: Sendable {
        public let name: String
        /// Checkpoint key it came from.
        public let source: String
        public let type: GGMLType
        /// File shape (PyTorch order).
        public let shape: [Int]
        /// Bytes in the file (weight + scale tensor for int8).
        public let bytes: Int
        /// Error of the stored weights, for int8/f16 weights.
        public let error: QuantError?

        /// `name  TYPE  [shape]  bytes  rel_l2  max_abs`.
        public var rendered: String {
            let shp = "[" + shape.map(String.init).joined(separator: ",") + "]"
            var s = "\(name.padding(toLength: max(name.count, 58), withPad: " ", startingAt: 0))  \(type.description.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shp.padding(toLength: max(shp.count, 16), withPad: " ", startingAt: 0))  \(formatBytes(bytes))"
            if let e = error { s += String(format: "  rel_l2 %.3e  max_abs %.3e", e.relativeL2, e.maxAbs) }
            return s
        }
    }

    public var input: String
    public var output: String
    public var sourceSHA256: String
    public var weights: WeightFormat
    public var config: ModelConfig
    /// The source checkpoint's positional grid and adapter extra tokens.
    public var layout: CheckpointLayout
    /// (metadata key, value, where it came from).
    public var configSources: [(key: String, value: String, source: ConfigSource)]
    public var tensors: [TensorLine]
    /// Ignored checkpoint keys by category.
    public var ignored: [IgnoredCategory: [String]]
    /// Bytes of tensor data per GGML type (scale tensors count as F32).
    public var bytesByType: [GGMLType: Int]
    public var fileSize: Int
    /// Over quantized tensors (0 when none).
    public var maxRelativeL2: Double
    public var meanRelativeL2: Double
    public var maxAbsError: Double
    public var worstTensor: String?
    public var seconds: Double
    /// Hyper-parameters that could not be read, each with the value used instead.
    public var warnings: [String] = []
    /// How the input files were read (e.g. zip members without a CRC, or weights that were f16 already).
    public var notes: [String] = []

    /// The summary block (sources, bytes per type, ignored keys, errors).
    public var summary: String {
        var s: [String] = []
        s.append("converted \(input) -> \(output) (\(weights.rawValue), \(formatBytes(fileSize)), \(String(format: "%.1f", seconds)) s)")
        s.append("source sha256 \(sourceSHA256)")
        s.append("architecture:")
        for c in configSources { s.append("  \(c.key) = \(c.value)  [\(c.source.rawValue)]") }
        s.append("tensors: \(tensors.count)")
        for (t, bytes) in bytesByType.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            s.append("  \(t.description.padding(toLength: 4, withPad: " ", startingAt: 0)) \(formatBytes(bytes))")
        }
        let ign = IgnoredCategory.allCases.filter { !(ignored[$0] ?? []).isEmpty }
        s.append("ignored keys: \(ign.reduce(0) { $0 + (ignored[$1] ?? []).count })")
        for c in ign {
            let k = ignored[c]!
            var line = "  \(k.count) \(c.rawValue)"
            if c == .unrecognized || c == .unusedByInference { line += ": " + k.prefix(6).joined(separator: ", ") + (k.count > 6 ? ", …" : "") }
            s.append(line)
        }
        if let w = worstTensor {
            s.append(String(format: "quantization error: mean rel_l2 %.3e, max rel_l2 %.3e (%@), max abs %.3e", meanRelativeL2, maxRelativeL2, w, maxAbsError))
        } else {
            s.append("quantization error: none (f32 weights)")
        }
        return s.joined(separator: "\n")
    }

    /// Per-tensor lines followed by the summary.
    public var rendered: String { (tensors.map(\.rendered) + [summary]).joined(separator: "\n") }
}

/// Converts a RepTok checkpoint (`.ckpt`/`.pt`/`.pth` torch zip, or `.safetensors`) to one GGUF file.
///
/// Streams: only one tensor (plus its converted copy) is in memory at a time, and the source pages of
/// each tensor are released after use. The output appears atomically; on any error nothing is left.
public func convertCheckpoint(input: String, output: String, options: ConvertOptions) throws -> ConversionReport {
    let start = MonotonicClock.nanoseconds()
    let source = try openTensorSource(path: input)
    try checkOutputPath(output, inputs: [input, options.encoderPath, options.vaePath].compactMap { $0 })
    // Separate component files (DINOv2 hub weights, SD-VAE safetensors).
    let encoderSource = try options.encoderPath.map { try openTensorSource(path: $0) }
    let vaeSource = try options.vaePath.map { try openTensorSource(path: $0) }

    // 1. Map every key (rule table, wrappers stripped, EMA preferred).
    var keys = try MappedKeys(source: source, encoder: encoderSource, vae: vaeSource, input: input)
    // 2. Every component must be there.
    try keys.checkComponents(input: input)
    // 3. Sizes: hyper_parameters → model.yaml → vae-config.json → tensor shapes → docs/model.md, 'Release sizes'.
    let resolver = try resolveConfig(keys, hyperParameters: source.hyperParameters, options: options, input: input)
    let arch = resolver.config, layout = resolver.layout
    // 4. The full tensor list, checked against the checkpoint before anything is written.
    let specs = try keys.fileTensors(arch, layout, input: input)
    let classNames = try resolveClassNames(options.classNamesPath, hyperParameters: source.hyperParameters,
                                           numClasses: arch.generator.numClasses, input: input)

    // 5. Header: metadata and the tensor table. The inputs' digests are computed on another thread
    //    while the tensors stream, and patched in over placeholders at the end.
    var hashed: [(PartialKeyPath<ModelFileOrigin>, String)] = [(\ModelFileOrigin.sourceSHA256, input)]
    if let file = encoderSource { hashed.append((\ModelFileOrigin.encoderSHA256, file.path)) }
    if let file = vaeSource { hashed.append((\ModelFileOrigin.vaeSHA256, file.path)) }
    let digests = BackgroundDigests(paths: hashed.map(\.1))
    let placeholder = ModelFileWriter.digestPlaceholder
    let fileName = URL(fileURLWithPath: input).lastPathComponent
    var origin = ModelFileOrigin(name: fileName, converterVersion: options.converterVersion, sourceFile: fileName, sourceSHA256: placeholder,
                                 weights: options.weights.rawValue, quantScheme: quantScheme(options.weights))
    if let file = encoderSource {
        origin.encoderFile = URL(fileURLWithPath: file.path).lastPathComponent
        origin.encoderSHA256 = placeholder
    }
    if let file = vaeSource {
        origin.vaeFile = URL(fileURLWithPath: file.path).lastPathComponent
        origin.vaeSHA256 = placeholder
    }
    origin.classNames = classNames
    let writer = try ModelFileWriter(path: output, origin: origin, config: arch, tensors: specs.map {
        .init(name: $0.name, type: storedType(name: $0.name, shape: $0.outputShape, quantizable: $0.quantizable, weights: options.weights),
              shape: $0.outputShape)
    })

    // 6. Stream the data.
    for s in specs {
        guard let t = keys.kept[s.name] else { throw ConvertError.missingTensors(path: input, keys: [s.name]) }
        let file = keys.origin[s.name] ?? source
        let values = try fileLayout(try file.floats(t.name), of: t, spec: s, arch: arch, layout: layout, input: input)
        file.release(t.name)
        let line = try writer.write(s.name, source: t.name, values: values, overflow: ConvertError.f16Overflow(path: input, key: t.name))
        options.onTensor?(line)
    }

    // 7. Digests and error summary into the header, then fsync + rename.
    if !digests.isFinished {
        let names = hashed.map { URL(fileURLWithPath: $0.1).lastPathComponent }.joined(separator: ", ")
        options.onWait?("tensors written; finishing the SHA-256 of \(names)"
                        + (SHA256.instructionsAvailable ? "" : " (this CPU has no SHA instructions: about 0.25 GB/s)"))
    }
    let shas = try digests.wait()
    for ((field, _), hex) in zip(hashed, shas) { try writer.patchDigest(field, hex) }
    let sha = shas[0]
    let summary = try writer.finish()

    let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
    return ConversionReport(input: input, output: output, sourceSHA256: sha, weights: options.weights, config: arch, layout: layout,
                            configSources: resolver.provenance, tensors: writer.lines, ignored: keys.ignored, bytesByType: writer.bytesByType,
                            fileSize: size, maxRelativeL2: summary.maxRel, meanRelativeL2: summary.meanRel, maxAbsError: summary.maxAbs,
                            worstTensor: summary.worst, seconds: Double(MonotonicClock.nanoseconds() - start) * 1e-9, warnings: resolver.warnings,
                            notes: [source, encoderSource, vaeSource].compactMap { $0 }.flatMap(\.notes))
}

/// Step 3: the configuration from the checkpoint's hyper-parameters, `--config`, `--vae-config`
/// and the kept tensors' shapes; throws the missing keys, refusals or conflicts.
private func resolveConfig(_ keys: MappedKeys, hyperParameters: ConfigValue?, options: ConvertOptions, input: String) throws -> ConfigResolver {
    let yaml = try options.configPath.map { try MiniYAML.load(path: $0) }
    let vae = try options.vaeConfigPath.map { try ConfigValue.loadJSON(path: $0) }
    var resolver = ConfigResolver(hparams: hyperParameters, yaml: yaml, vae: vae, shapes: keys.kept.mapValues(\.shape))
    resolver.resolve()
    guard resolver.missing.isEmpty else { throw ConvertError.missingTensors(path: input, keys: Array(Set(resolver.missing)).sorted(by: naturalLess)) }
    guard resolver.refused.isEmpty else { throw ConvertError.refusedHyperParameters(path: input, problems: resolver.refused) }
    guard resolver.conflicts.isEmpty else { throw ConvertError.configConflicts(path: input, problems: resolver.conflicts) }
    // The reader's own rules, checked before any size is used: a file that the reader would refuse
    // is refused here, before tensors are laid out from its sizes.
    let problems = resolver.config.problems()
    guard problems.isEmpty else { throw ConvertError.configConflicts(path: input, problems: problems) }
    return resolver
}

/// Step 6: a checkpoint tensor's values in file layout, refused when a value is not finite.
private func fileLayout(_ raw: [Float], of t: SourceTensor, spec s: TensorSpec, arch: ModelConfig, layout: CheckpointLayout,
                        input: String) throws -> [Float] {
    if let i = raw.firstIndex(where: { !$0.isFinite }) {
        throw ConvertError.nonFinite(path: input, key: t.name, index: i, value: raw[i])
    }
    switch s.layout {
    case .reshape: return raw
    case .convToOHWI: return permuteToOHWI(raw, t.shape)
    case .positionalTable:
        guard layout.encPosGrid != arch.encoder.grid else { return raw }
        return resizePositionalTable(raw, grid: layout.encPosGrid, channels: arch.encoder.width, to: arch.encoder.grid)
    }
}

/// The checkpoint's tensors under their file names (steps 1, 2 and 4 of `convertCheckpoint`).
struct MappedKeys {
    /// GGUF name → source tensor.
    var kept: [String: SourceTensor] = [:]
    /// GGUF name → its file, when not the main input.
    var origin: [String: TensorSource] = [:]
    /// Ignored checkpoint keys by category.
    var ignored: [IgnoredCategory: [String]] = [:]

    /// Step 1: every key of the input and the component files mapped by the rule table, wrappers
    /// stripped, the EMA generator preferred, LDM VAE names renamed. Throws on colliding keys and on
    /// an unreadable entry that a kept key names.
    init(source: TensorSource, encoder encoderSource: TensorSource?, vae vaeSource: TensorSource?, input: String) throws {
        var raw: [String: SourceTensor] = [:]         // non-EMA generator
        var duplicates: [String] = []
        for t in source.tensors {
            switch target(forKey: t.name) {
            case let .ignore(cat): ignored[cat, default: []].append(t.name)
            case let .keep(component, name, ema):
                if (component == .encoder && encoderSource != nil) || (component == .vae && vaeSource != nil) {
                    ignored[.replacedByComponentFile, default: []].append(t.name)
                } else if name.hasPrefix(Component.generator.prefix), !ema {
                    if raw[name] != nil { duplicates.append(t.name) }
                    raw[name] = t
                } else {
                    if kept[name] != nil { duplicates.append(t.name) }
                    kept[name] = t
                }
            }
        }
        if kept.keys.contains(where: { $0.hasPrefix(Component.generator.prefix) }) {
            ignored[.nonEMAGenerator, default: []] += raw.values.map(\.name)
        } else {
            for (k, v) in raw { kept[k] = v }
        }
        for (file, component) in [(encoderSource, Component.encoder), (vaeSource, Component.vae)] {
            guard let file else { continue }
            for t in file.tensors {
                switch componentFileTarget(forKey: t.name, component: component) {
                case let .ignore(cat): ignored[cat, default: []].append(t.name)
                case let .keep(_, name, _):
                    if kept[name] != nil { duplicates.append(t.name) }
                    kept[name] = t
                    origin[name] = file
                }
            }
        }
        guard duplicates.isEmpty else { throw ConvertError.duplicateKeys(path: input, keys: duplicates.sorted()) }
        for (from, to) in remapLDMUpBlocks(Array(kept.keys)) {
            kept[to] = kept.removeValue(forKey: from)
            origin[to] = origin.removeValue(forKey: from)
        }
        // Entries that are not readable tensors fail the conversion only when a kept key names them.
        for (file, component) in [(Optional(source), Component?.none), (encoderSource, .encoder), (vaeSource, .vae)] {
            guard let file else { continue }
            for e in file.unreadableEntries {
                let t = component.map { componentFileTarget(forKey: e.name, component: $0) } ?? target(forKey: e.name)
                if case .keep = t { throw e.error }
                ignored[.unusedByInference, default: []].append(e.name)
            }
        }
        for e in source.nonTensorEntries { ignored[.unusedByInference, default: []].append(e.name) }
        for k in source.otherTopLevelKeys { ignored[.trainingState, default: []].append(k) }
    }

    /// Step 2: throws `missingComponents` naming every component with no kept key.
    func checkComponents(input: String) throws {
        let presence: [(Component, String)] = [(.encoder, TensorNames.Encoder.blocks), (.adapter, TensorNames.Adapter.backbone),
                                               (.decoder, TensorNames.Decoder.backbone), (.decoder, TensorNames.TimeConditioning.timeInProj.prefix + "."),
                                               (.vae, TensorNames.VAE.decoder), (.generator, TensorNames.Generator.mixer)]
        var absent: [String] = []
        for (comp, p) in presence where !kept.keys.contains(where: { $0.hasPrefix(p) }) {
            let text = "\(comp.title) (no keys under \(comp.checkpointPrefixes))"
            if !absent.contains(text) { absent.append(text) }
        }
        guard absent.isEmpty else { throw ConvertError.missingComponents(path: input, components: absent) }
    }

    /// Step 4: the file's tensors in file order (`requiredTensors`), each required one present with
    /// the right shape and a float type, optional ones kept only when present and well-shaped;
    /// every other kept key is counted as unused.
    mutating func fileTensors(_ arch: ModelConfig, _ layout: CheckpointLayout, input: String) throws -> [TensorSpec] {
        var specs = requiredTensors(arch, layout)
        var missing: [String] = [], wrong: [String] = []
        for s in specs where !s.optional {
            guard let t = kept[s.name] else { missing.append(s.name); continue }
            let ok = s.layout == .convToOHWI ? t.shape == s.sourceShape : sameSqueezed(t.shape, s.sourceShape)
            if !ok { wrong.append("\(t.name) is \(t.shape), expected \(s.sourceShape)") }
            if !t.dtype.isConvertible { throw ConvertError.unsupportedDType(path: input, key: t.name, dtype: t.dtype.rawValue) }
        }
        specs.removeAll { s in s.optional && !(kept[s.name].map { sameSqueezed($0.shape, s.sourceShape) } ?? false) }
        guard missing.isEmpty else { throw ConvertError.missingTensors(path: input, keys: missing) }
        guard wrong.isEmpty else { throw ConvertError.wrongShapes(path: input, problems: wrong) }
        let specNames = Set(specs.map(\.name))
        for (n, t) in kept where !specNames.contains(n) { ignored[.unusedByInference, default: []].append(t.name) }
        for k in ignored.keys { ignored[k]?.sort(by: naturalLess) }
        return specs.sorted { naturalLess($0.name, $1.name) }
    }
}

/// Class names for the file (`ClassNames.list`): from the class-name file at `path`, or else from
/// `hyper_parameters.class_names` (a list of `name, synonym, ...` strings); nil when neither gives
/// any. The count must equal the generator's class count.
func resolveClassNames(_ path: String?, hyperParameters: ConfigValue?, numClasses: Int, input: String) throws -> [String]? {
    let names: ClassNames
    let origin: String
    do {
        if let path {
            names = try ClassNames.load(path)
            origin = path
        } else if let list = hyperParameters?[path: "class_names"]?.list {
            var strings: [String] = []
            for (i, v) in list.enumerated() {
                guard let s = v.string else { throw ConvertError.badClassNames(path: input, reason: "hyper_parameters.class_names[\(i)] is not a string") }
                strings.append(s)
            }
            names = try ClassNames(list: strings, path: input)
            origin = input
        } else {
            return nil
        }
    } catch let e as ClassNamesError {
        throw ConvertError.badClassNames(path: path ?? input, reason: e.reason)
    }
    guard names.entries.count == numClasses else {
        throw ConvertError.badClassNames(path: origin, reason: "\(names.entries.count) names for a generator with \(numClasses) classes")
    }
    return names.list
}

/// SHA-256 digests of files, computed on a background thread (started by `init`) while the caller
/// does other work: hashing the release checkpoint (about 8 GB) takes about 4 s with a CPU's SHA
/// instructions and 30 s without, as long as converting it or longer.
final class BackgroundDigests: @unchecked Sendable {
    private let done = DispatchGroup()
    /// Written by the background thread only, read only after `done` is reached.
    private var results: [Result<String, Error>] = []

    init(paths: [String]) {
        DispatchQueue.global(qos: .userInitiated).async(group: done) { [self] in
            results = paths.map { path in Result { try SHA256.hashFile(path: path) } }
        }
    }

    /// Whether every digest is ready (`wait` would not block).
    var isFinished: Bool { done.wait(timeout: .now()) == .success }

    /// The digests in the order of `paths` (lower-case hex), or the first file's error.
    func wait() throws -> [String] {
        done.wait()
        return try results.map { try $0.get() }
    }
}
