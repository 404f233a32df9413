// The one declaration of a reptok file's metadata (docs/gguf-format.md, 'Metadata'): every key in
// file order with its GGUF type, where its value comes from, how the reader checks it, the value a
// file written before the key existed is read with, and where the converter looks for it. The
// writer (`MetadataSchema.header`), the reader (`ModelConfig(metadata:path:)`), the reader's error
// messages, `ModelConfig.problems()` and the converter's resolver all walk this table, so a new key
// is one entry here.
import Formats

/// A metadata value's GGUF type, named as in docs/gguf-format.md.
public enum MetadataType: String, Sendable, CaseIterable {
    case string, u32, f32
    case u32Array = "array of u32"
    case f32Array = "array of f32"
    case stringArray = "array of strings"
}

/// Where the converter found a configuration value (shown in the conversion report).
public enum ConfigSource: String, Sendable {
    case hyperParameters = "hyper_parameters"
    case modelYAML = "model.yaml"
    case vaeConfig = "vae-config.json"
    case tensorShapes = "tensor shapes"
    case derived = "derived"
    case releaseConstant = "release constant"
}

/// One place the converter looks for a key's value: a dotted path (numeric segments index lists)
/// in the checkpoint's `hyper_parameters`, in `model.yaml` (under its `model:` root), or in
/// `vae-config.json`.
public struct ConfigLookup: Sendable, Equatable {
    public let source: ConfigSource
    public let path: String
    public static func hyper(_ path: String) -> ConfigLookup { ConfigLookup(source: .hyperParameters, path: path) }
    public static func yaml(_ path: String) -> ConfigLookup { ConfigLookup(source: .modelYAML, path: path) }
    public static func vae(_ path: String) -> ConfigLookup { ConfigLookup(source: .vaeConfig, path: path) }
}

/// The header keys that describe where a file came from and how its weights are stored (not the
/// model's configuration). Strings are written as given; nil optional keys are not written.
public struct ModelFileOrigin: Equatable, Sendable {
    /// `general.name`: the source file's name, or `synthetic-<preset>`.
    public var name: String
    /// `reptok.converter.version`.
    public var converterVersion: String
    /// `reptok.source.file` and `reptok.source.sha256` (hex).
    public var sourceFile: String
    public var sourceSHA256: String
    /// `reptok.weights`: `int8`, `int4`, `f16` or `f32`.
    public var weights: String
    /// `reptok.quant.scheme`.
    public var quantScheme: String
    /// `reptok.source.{encoder,vae}.{file,sha256}`: separate component files, when used.
    public var encoderFile: String?
    public var encoderSHA256: String?
    public var vaeFile: String?
    public var vaeSHA256: String?
    /// `reptok.class_names`: one entry per class, `name, synonym, ...` (`ClassNames.metadataEntries`).
    public var classNames: [String]?
    /// `reptok.source.requantized_from`: the float (f32, f16 or bf16) file a re-quantized file was made from.
    public var requantizedFrom: String?

    public init(name: String, converterVersion: String, sourceFile: String, sourceSHA256: String, weights: String,
                quantScheme: String) {
        self.name = name; self.converterVersion = converterVersion; self.sourceFile = sourceFile
        self.sourceSHA256 = sourceSHA256; self.weights = weights; self.quantScheme = quantScheme
    }

    /// The origin keys of an existing file; an absent string key reads as "".
    public init(metadata md: [String: GGUFValue]) {
        self.init(name: "", converterVersion: "", sourceFile: "", sourceSHA256: "", weights: "", quantScheme: "")
        for entry in MetadataSchema.entries {
            switch entry.value {
            case let .text(path): self[keyPath: path] = md[entry.key]?.string ?? ""
            case let .optionalText(path): self[keyPath: path] = md[entry.key]?.string
            case .classNames: classNames = md[entry.key]?.stringArray
            default: break
            }
        }
    }
}

/// One metadata key: its name, type, value source and rules.
public struct MetadataEntry: Sendable {
    /// How a number read from a file is checked.
    public enum Rule: Sendable, Equatable {
        /// Finite.
        case finite
        /// Finite and not 0 (scale factors).
        case nonzero
        /// Finite and ≥ 0 (normalization epsilons).
        case epsilon
    }

    /// The quantization-error statistics a file records (docs/gguf-format.md, 'Metadata').
    public enum QuantStatistic: Sendable, CaseIterable {
        /// Largest per-tensor relative L2 error over the quantized weights.
        case maxRelativeL2
        /// Mean of the same.
        case meanRelativeL2
        /// Largest absolute weight error.
        case maxAbsError
    }

    /// Where the value comes from (and, for configuration fields, which `ModelConfig` field it is).
    public enum Value: @unchecked Sendable {
        /// `general.alignment`: the GGUF writer writes it.
        case alignment
        /// A constant the reader requires (the file's identity).
        case fixed(GGUFValue)
        /// A string of the origin, always written.
        case text(WritableKeyPath<ModelFileOrigin, String>)
        /// A string of the origin, written when not nil.
        case optionalText(WritableKeyPath<ModelFileOrigin, String?>)
        /// `ModelFileOrigin.classNames`, written when not nil.
        case classNames
        /// A quantization-error statistic: written as 0, patched once every tensor is written.
        case errorSummary(QuantStatistic)
        /// An integer in `min...max`.
        case size(WritableKeyPath<ModelConfig, Int>, min: Int, max: Int)
        /// A float checked by `Rule`.
        case number(WritableKeyPath<ModelConfig, Float>, Rule)
        /// 1 to 16 integers, each in 1...65536.
        case sizes(WritableKeyPath<ModelConfig, [Int]>)
        /// Two finite floats [lo, hi], lo ≤ hi.
        case interval(WritableKeyPath<ModelConfig, ClosedRange<Float>>)
    }

    public let key: String
    public let value: Value
    /// The release's value (docs/model.md, 'Release sizes'): what the converter writes when no
    /// configuration gives the key, and, for an `optional` key, what a file without it is read with.
    public let release: GGUFValue?
    /// A file may lack the key (it was written before the key existed): a configuration key is then
    /// read as `release`. The keys that are not configuration (origin, statistics) are optional for
    /// the model reader, which does not read them.
    public let optional: Bool
    /// Where the converter looks for the value, in order, before tensor shapes and `release`.
    public let from: [ConfigLookup]

    /// The GGUF type of the value.
    public var type: MetadataType {
        switch value {
        case .alignment, .size: return .u32
        case let .fixed(v): return v.string != nil ? .string : .u32
        case .text, .optionalText: return .string
        case .classNames: return .stringArray
        case .errorSummary, .number: return .f32
        case .sizes: return .u32Array
        case .interval: return .f32Array
        }
    }

    /// True for the keys that hold a `ModelConfig` field.
    public var isConfiguration: Bool {
        switch value {
        case .size, .number, .sizes, .interval: return true
        default: return false
        }
    }

    /// The key without `reptok.`, as `ModelConfig.problems()` and the preset JSON name the field.
    public var fieldName: String { key.hasPrefix("reptok.") ? String(key.dropFirst(7)) : key }

    /// `config`'s value of this key (nil for keys that are not configuration fields).
    public func value(in config: ModelConfig) -> GGUFValue? {
        switch value {
        case let .size(path, _, _): return .uint32(UInt32(clamping: config[keyPath: path]))
        case let .number(path, _): return .float32(config[keyPath: path])
        case let .sizes(path): return .array(config[keyPath: path].map { .uint32(UInt32(clamping: $0)) })
        case let .interval(path):
            let r = config[keyPath: path]
            return .array([.float32(r.lowerBound), .float32(r.upperBound)])
        default: return nil
        }
    }

    /// Why `v` is not a valid value of this key, or nil when it is. Configuration fields only.
    public func problem(with v: GGUFValue) -> String? {
        switch value {
        case let .size(_, lo, hi):
            guard let i = v.int else { return "expected an integer, found \(v)" }
            return (lo ... hi).contains(i) ? nil : "\(i) is outside \(lo)...\(hi)"
        case let .number(_, rule):
            guard let f = v.float, f.isFinite else { return "expected a finite number, found \(v)" }
            switch rule {
            case .finite: return nil
            case .nonzero: return f != 0 ? nil : "must not be 0"
            case .epsilon: return f >= 0 ? nil : "expected a finite number ≥ 0, found \(v)"
            }
        case .sizes:
            guard let a = v.intArray, !a.isEmpty, a.count <= 16, a.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
                return "expected 1 to 16 integers in 1...65536, found \(v)"
            }
            return nil
        case .interval:
            guard let a = v.floatArray, a.count == 2, a.allSatisfy(\.isFinite), a[0] <= a[1] else {
                return "expected two finite numbers [lo, hi] with lo ≤ hi, found \(v)"
            }
            return nil
        default:
            return nil
        }
    }

    /// Why `config`'s value of this key is not valid, or nil (the reader's rule, on the value
    /// before it is narrowed to uint32).
    public func problem(in config: ModelConfig) -> String? {
        if case let .size(path, lo, hi) = value {
            let i = config[keyPath: path]
            return (lo ... hi).contains(i) ? nil : "\(i) is outside \(lo)...\(hi)"
        }
        return value(in: config).flatMap(problem(with:))
    }

    /// Stores a value that `problem(with:)` accepted into `config`.
    func store(_ v: GGUFValue, into config: inout ModelConfig) {
        switch value {
        case let .size(path, _, _): config[keyPath: path] = v.int ?? 0
        case let .number(path, _): config[keyPath: path] = v.float ?? 0
        case let .sizes(path): config[keyPath: path] = v.intArray ?? []
        case let .interval(path):
            let a = v.floatArray ?? [0, 0]
            config[keyPath: path] = a[0] ... a[1]
        default: break
        }
    }

    /// The `ModelConfig` field this key holds, as an `AnyKeyPath` (for looking an entry up by field).
    var field: AnyKeyPath? {
        switch value {
        case let .size(path, _, _): return path
        case let .number(path, _): return path
        case let .sizes(path): return path
        case let .interval(path): return path
        default: return nil
        }
    }
}

/// Builders that keep the table below one line per key.
extension MetadataEntry {
    static func size(_ key: String, _ path: WritableKeyPath<ModelConfig, Int>, max: Int = 1 << 20, min: Int = 1,
                     from: [ConfigLookup] = [], release: Int? = nil, optional: Bool = false) -> MetadataEntry {
        MetadataEntry(key: key, value: .size(path, min: min, max: max), release: release.map { .uint32(UInt32($0)) },
                      optional: optional, from: from)
    }

    static func number(_ key: String, _ path: WritableKeyPath<ModelConfig, Float>, _ rule: Rule = .finite,
                       from: [ConfigLookup] = [], release: Float? = nil, optional: Bool = false) -> MetadataEntry {
        MetadataEntry(key: key, value: .number(path, rule), release: release.map { .float32($0) }, optional: optional, from: from)
    }

    /// A normalization epsilon: the release's value, no configuration gives it.
    static func epsilon(_ key: String, _ path: WritableKeyPath<ModelConfig, Float>, _ release: Float, optional: Bool = true) -> MetadataEntry {
        number(key, path, .epsilon, release: release, optional: optional)
    }

    static func origin(_ key: String, _ value: Value) -> MetadataEntry {
        MetadataEntry(key: key, value: value, release: nil, optional: true, from: [])
    }
}

/// Every metadata key of a reptok file, in file order (docs/gguf-format.md lists the same keys in
/// the same order; `MetadataSchemaTests` checks it).
public enum MetadataSchema {
    /// `general.architecture` of every reptok file.
    public static let architecture = "reptok"
    /// The GGUF key of the class names (`ModelFileOrigin.classNames`).
    public static let classNamesKey = "reptok.class_names"
    /// The key of a quantization-error statistic (patched after the tensors are written).
    public static func key(of statistic: MetadataEntry.QuantStatistic) -> String {
        for e in entries { if case let .errorSummary(s) = e.value, s == statistic { return e.key } }
        return "reptok.quant.\(statistic)"  // unreachable: the table names every statistic (tested)
    }

    /// The key of an origin string (`\.sourceSHA256` → `reptok.source.sha256`), or nil when the
    /// table writes no such field.
    public static func key(of field: PartialKeyPath<ModelFileOrigin>) -> String? {
        for e in entries {
            switch e.value {
            case let .text(k) where k == field: return e.key
            case let .optionalText(k) where k == field: return e.key
            default: continue
            }
        }
        return nil
    }

    private typealias E = MetadataEntry
    private static let generatorConfig = "flow_cfg.params.net_cfg.params."

    /// The table. Sizes are bounded so that an absurd file is refused before anything is allocated.
    public static let entries: [MetadataEntry] = [
        E.origin("general.alignment", .alignment),
        E.origin("general.architecture", .fixed(.string(architecture))),
        E.origin("general.name", .text(\.name)),
        E.origin("reptok.format_version", .fixed(.uint32(UInt32(ModelConfig.supportedFormatVersion)))),
        E.origin("reptok.converter.version", .text(\.converterVersion)),
        E.origin("reptok.source.file", .text(\.sourceFile)),
        E.origin("reptok.source.sha256", .text(\.sourceSHA256)),
        E.origin("reptok.weights", .text(\.weights)),
        E.origin("reptok.quant.scheme", .text(\.quantScheme)),
        E.origin("reptok.source.encoder.file", .optionalText(\.encoderFile)),
        E.origin("reptok.source.encoder.sha256", .optionalText(\.encoderSHA256)),
        E.origin("reptok.source.vae.file", .optionalText(\.vaeFile)),
        E.origin("reptok.source.vae.sha256", .optionalText(\.vaeSHA256)),

        .size("reptok.image_size", \.imageSize, max: 8192, from: [.hyper("first_stage_cfg.params.image_size")]),
        .number("reptok.scale_factor", \.scaleFactor, .nonzero, from: [.hyper("first_stage_cfg.params.scale_factor")], release: 1),
        .size("reptok.encoder.width", \.encoder.width, from: [.yaml("encoder.dino.embed_dim")]),
        .size("reptok.encoder.depth", \.encoder.depth, max: 1024),
        .size("reptok.encoder.heads", \.encoder.heads, max: 1024),
        .size("reptok.encoder.patch_size", \.encoder.patchSize, max: 1024),
        .size("reptok.encoder.input_size", \.encoder.inputSize, max: 8192, from: [.yaml("encoder.dino.model_size")], release: 224),
        .size("reptok.encoder.registers", \.encoder.registers, max: 1 << 20, min: 0, release: 0, optional: true),
        .size("reptok.encoder.mlp_hidden", \.encoder.mlpHidden),
        .epsilon("reptok.encoder.ln_eps", \.encoder.lnEps, 1e-6, optional: false),
        .size("reptok.adapter.width", \.adapter.width),
        .epsilon("reptok.adapter.ln_eps", \.adapter.lnEps, 1e-5),
        .size("reptok.decoder.width", \.decoder.width, from: [.yaml("backbone.main_level.width")]),
        .size("reptok.decoder.depth", \.decoder.depth, max: 1024, from: [.yaml("backbone.main_level.depth")]),
        .size("reptok.decoder.heads", \.decoder.heads, max: 1024),
        .size("reptok.decoder.head_dim", \.decoder.headDim, max: 4096, from: [.yaml("backbone.main_level.layer_params.d_head")]),
        .size("reptok.decoder.ff_hidden", \.decoder.ffHidden),
        .size("reptok.decoder.rope_freqs", \.decoder.ropeFreqs, max: 4096),
        .size("reptok.decoder.latent_channels", \.decoder.latentChannels, max: 1024,
              from: [.yaml("val_shape.0"), .vae("latent_channels")]),
        .size("reptok.decoder.latent_h", \.decoder.latentH, max: 1024, from: [.yaml("val_shape.1")], release: 32),
        .size("reptok.decoder.latent_w", \.decoder.latentW, max: 1024, from: [.yaml("val_shape.2")], release: 32),
        .size("reptok.decoder.patch_size", \.decoder.patchSize, max: 64,
              from: [.yaml("backbone.main_level.proj_params.in_params.pre_proj_params.patch_size.0"),
                     .yaml("backbone.main_level.proj_params.in_params.pre_proj_params.patch_size")]),
        .epsilon("reptok.decoder.rms_eps", \.decoder.rmsEps, 1e-6),
        .epsilon("reptok.decoder.qk_eps", \.decoder.qkEps, 1e-6),
        .size("reptok.mapping.width", \.mapping.width, from: [.yaml("mapping.width")]),
        .size("reptok.mapping.depth", \.mapping.depth, max: 1024, from: [.yaml("mapping.depth")]),
        .size("reptok.mapping.hidden", \.mapping.hidden, from: [.yaml("mapping.d_ff")]),
        .size("reptok.mapping.time_features", \.mapping.timeFeatures),
        .epsilon("reptok.mapping.rms_eps", \.mapping.rmsEps, 1e-6),
        E(key: "reptok.vae.block_out_channels", value: .sizes(\.vae.blockOutChannels), release: nil, optional: false,
          from: [.vae("block_out_channels")]),
        .size("reptok.vae.layers_per_block", \.vae.layersPerBlock, max: 64, from: [.vae("layers_per_block")]),
        .size("reptok.vae.norm_groups", \.vae.normGroups, max: 1 << 16, from: [.vae("norm_num_groups")], release: 32),
        .number("reptok.vae.scaling_factor", \.vae.scalingFactor, .nonzero, from: [.vae("scaling_factor")], release: 0.18215),
        .number("reptok.vae.shift_factor", \.vae.shiftFactor, from: [.vae("shift_factor")], release: 0, optional: true),
        .epsilon("reptok.vae.norm_eps", \.vae.normEps, 1e-6),
        .size("reptok.generator.channels", \.generator.channels, from: [.hyper(generatorConfig + "channels")]),
        .size("reptok.generator.dim", \.generator.dim, from: [.hyper(generatorConfig + "dim")]),
        .size("reptok.generator.depth", \.generator.depth, max: 1024, from: [.hyper(generatorConfig + "depth")]),
        .size("reptok.generator.expansion_token", \.generator.expansionToken, max: 1024,
              from: [.hyper(generatorConfig + "expansion_factor")]),
        .size("reptok.generator.expansion_channel", \.generator.expansionChannel, max: 1024,
              from: [.hyper(generatorConfig + "expansion_factor_token")]),
        .size("reptok.generator.num_classes", \.generator.numClasses, from: [.hyper(generatorConfig + "num_classes")]),
        .epsilon("reptok.generator.ln_eps", \.generator.lnEps, 1e-5),
        .size("reptok.sample.num_steps", \.sampling.numSteps, from: [.hyper("sample_kwargs.num_steps")], release: 50, optional: true),
        .number("reptok.sample.cfg_scale", \.sampling.cfgScale, from: [.hyper("sample_kwargs.cfg_scale")], release: 1.5, optional: true),
        E(key: "reptok.sample.t_interval", value: .interval(\.sampling.tInterval), release: .array([.float32(0.3), .float32(0.9)]),
          optional: true, from: [.hyper("sample_kwargs.t_interval")]),

        E.origin(classNamesKey, .classNames),
        E.origin("reptok.quant.max_rel_l2", .errorSummary(.maxRelativeL2)),
        E.origin("reptok.quant.mean_rel_l2", .errorSummary(.meanRelativeL2)),
        E.origin("reptok.quant.max_abs_err", .errorSummary(.maxAbsError)),
        E.origin("reptok.source.requantized_from", .optionalText(\.requantizedFrom)),
    ]

    /// The configuration keys, in file order.
    public static let configuration: [MetadataEntry] = entries.filter(\.isConfiguration)

    /// The entry holding `field` of `ModelConfig`, or nil when no key holds it.
    public static func entry(for field: AnyKeyPath) -> MetadataEntry? {
        configuration.first { $0.field == field }
    }

    /// The whole header of a file, in file order (without `general.alignment`, which the GGUF
    /// writer writes): identity, `origin`, `config`, and 0 for the error statistics.
    public static func header(origin: ModelFileOrigin, config: ModelConfig) -> [(key: String, value: GGUFValue)] {
        var out: [(key: String, value: GGUFValue)] = []
        for entry in entries {
            let v: GGUFValue?
            switch entry.value {
            case .alignment: v = nil
            case let .fixed(x): v = x
            case let .text(path): v = .string(origin[keyPath: path])
            case let .optionalText(path): v = origin[keyPath: path].map { .string($0) }
            case .classNames: v = origin.classNames.map { .array($0.map { .string($0) }) }
            case .errorSummary: v = .float32(0)
            case .size, .number, .sizes, .interval: v = entry.value(in: config)
            }
            if let v { out.append((entry.key, v)) }
        }
        return out
    }

    /// Checks the file's identity: `general.architecture` is `reptok` and `reptok.format_version`
    /// is `ModelConfig.supportedFormatVersion`.
    static func checkIdentity(_ md: [String: GGUFValue], path: String) throws {
        func value(_ key: String) throws -> GGUFValue {
            guard let v = md[key] else { throw ModelConfigError.missingMetadata(path: path, key: key) }
            return v
        }
        let arch = try value("general.architecture")
        guard let name = arch.string else {
            throw ModelConfigError.badMetadata(path: path, key: "general.architecture", reason: "expected a string, found \(arch)")
        }
        guard name == architecture else { throw ModelConfigError.wrongArchitecture(path: path, found: name) }
        let versionValue = try value("reptok.format_version")
        guard let version = versionValue.int else {
            throw ModelConfigError.badMetadata(path: path, key: "reptok.format_version", reason: "expected an integer, found \(versionValue)")
        }
        guard version == ModelConfig.supportedFormatVersion else {
            throw ModelConfigError.unsupportedFormatVersion(path: path, found: version, supported: ModelConfig.supportedFormatVersion)
        }
    }
}
