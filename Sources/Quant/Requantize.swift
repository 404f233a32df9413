// A float GGUF written by the converter → the same model with other weight storage (int8,
// int4, f16), without the original checkpoint.
import Formats
import Foundation
import ModelFile
import Support

/// Errors of `requantizeGGUF`.
public enum RequantizeError: Error, CustomStringConvertible, Equatable {
    /// A weight the output quantizes is already quantized in the input (quantizing twice would
    /// add the first rounding to the second): convert from the f32 file or the checkpoint.
    case notFloat(path: String, tensor: String, type: String)
    /// The input is a GGUF file but not one of ours.
    case notReptok(path: String)
    /// An option that applies to checkpoints only (the GGUF input already holds what it would set).
    case checkpointOption(path: String, option: String)

    public var description: String {
        switch self {
        case let .notFloat(p, t, ty): return "\(p): tensor \(t) is \(ty); re-quantizing needs float weights (convert the f32 file or the checkpoint)"
        case let .notReptok(p): return "\(p): not a reptok GGUF file (general.architecture is not reptok)"
        case let .checkpointOption(p, o):
            return "\(p): \(o) applies to checkpoints only; a .gguf input keeps its own configuration, class names and weights"
        }
    }
}

/// True when the file at `path` starts with the GGUF magic.
public func isGGUFFile(_ path: String) -> Bool {
    guard let h = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? h.close() }
    return (try? h.read(upToCount: 4)) == Data("GGUF".utf8)
}

/// Re-encodes the weights of a float reptok GGUF (F32, or F16/BF16 weights) as `options.weights`,
/// with the converter's rules and its writer (`ModelFileWriter`): the same metadata (converter
/// version, weights, scheme and error keys updated, `reptok.source.requantized_from` added; keys
/// `MetadataSchema` does not know are not carried over, optional keys an older file lacks are
/// written with their defaults), the same tensors in the same order, Linear/Conv weights quantized
/// and their error reported per tensor. Other tensors are copied unchanged. Streams one tensor at a time; the output appears atomically.
public func requantizeGGUF(input: String, output: String, options: ConvertOptions) throws -> ConversionReport {
    let start = MonotonicClock.nanoseconds()
    // Options that only a checkpoint conversion reads are refused rather than silently ignored.
    let checkpointOnly: [(String, String?)] = [("--config", options.configPath), ("--vae-config", options.vaeConfigPath),
                                               ("--encoder", options.encoderPath), ("--vae", options.vaePath),
                                               ("--classes", options.classNamesPath)]
    if let (option, _) = checkpointOnly.first(where: { $0.1 != nil }) {
        throw RequantizeError.checkpointOption(path: input, option: option)
    }
    try checkOutputPath(output, inputs: [input])
    let src = try GGUFFile(path: input)
    guard src.metadata["general.architecture"]?.string == MetadataSchema.architecture else { throw RequantizeError.notReptok(path: input) }
    let arch = try ModelConfig(metadata: src.metadata, path: input)
    let layout = CheckpointLayout(encPosGrid: arch.encoder.grid, adapterNewReg: 0)
    let quantizable = Set(requiredTensors(arch, layout).filter(\.quantizable).map(\.name))
    let scaleNames = Set(quantizable.map { TensorNames.scale(of: $0) })

    func fileType(_ info: GGUFTensorInfo) -> GGMLType {
        quantizable.contains(info.name) ? storedType(name: info.name, shape: info.shape, quantizable: true, weights: options.weights) : info.type
    }
    let tensors = src.orderedTensorInfos.filter { !scaleNames.contains($0.name) }
    for t in tensors where quantizable.contains(t.name) && ![.f32, .f16, .bf16].contains(t.type) {
        throw RequantizeError.notFloat(path: input, tensor: t.name, type: t.type.description)
    }

    // The source's header with the new storage and the re-quantizer's own version.
    var origin = ModelFileOrigin(metadata: src.metadata)
    origin.converterVersion = options.converterVersion
    origin.weights = options.weights.rawValue
    origin.quantScheme = quantScheme(options.weights)
    origin.requantizedFrom = URL(fileURLWithPath: input).lastPathComponent
    let writer = try ModelFileWriter(path: output, origin: origin, config: arch,
                                     tensors: tensors.map { .init(name: $0.name, type: fileType($0), shape: $0.shape) })
    for t in tensors {
        let line: ConversionReport.TensorLine
        if fileType(t) == t.type {
            line = try writer.copy(t.name, bytes: try src.tensor(t.name).data)
        } else {
            line = try writer.write(t.name, source: t.name, values: try src.tensor(t.name).floats(),
                                    overflow: ConvertError.f16Overflow(path: input, key: t.name))
        }
        src.releasePages(of: [t.name])
        options.onTensor?(line)
    }
    let summary = try writer.finish()
    let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
    return ConversionReport(input: input, output: output, sourceSHA256: src.metadata["reptok.source.sha256"]?.string ?? "",
                            weights: options.weights, config: arch, layout: layout, configSources: [], tensors: writer.lines,
                            ignored: [:], bytesByType: writer.bytesByType, fileSize: size, maxRelativeL2: summary.maxRel,
                            meanRelativeL2: summary.meanRel, maxAbsError: summary.maxAbs, worstTensor: summary.worst,
                            seconds: Double(MonotonicClock.nanoseconds() - start) * 1e-9,
                            notes: roundedTwiceNote(tensors.filter { quantizable.contains($0.name) }))
}

/// A note when the input's weights are already f16/bf16: the new file is rounded from those
/// values, and its reported error is measured against them rather than against the checkpoint.
func roundedTwiceNote(_ weights: [GGUFTensorInfo]) -> [String] {
    guard let t = weights.first(where: { $0.type != .f32 }) else { return [] }
    return ["the input's weights are \(t.type.description), rounded once already: the errors above are measured against those values, not the checkpoint's"]
}
