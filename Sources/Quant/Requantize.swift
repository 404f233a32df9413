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

    public var description: String {
        switch self {
        case let .notFloat(p, t, ty): return "\(p): tensor \(t) is \(ty); re-quantizing needs float weights (convert the f32 file or the checkpoint)"
        case let .notReptok(p): return "\(p): not a reptok GGUF file (general.architecture is not reptok)"
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
/// with the converter's rules: the same metadata (weights, scheme and error keys updated), the same
/// tensors in the same order, Linear/Conv weights quantized and their error reported per tensor.
/// Other tensors are copied unchanged. Streams one tensor at a time; the output appears atomically.
public func requantizeGGUF(input: String, output: String, options: ConvertOptions) throws -> ConversionReport {
    let start = MonotonicClock.nanoseconds()
    if let a = try? FileManager.default.attributesOfItem(atPath: input), let b = try? FileManager.default.attributesOfItem(atPath: output),
       (a[.systemFileNumber] as? Int) == (b[.systemFileNumber] as? Int), (a[.systemNumber] as? Int) == (b[.systemNumber] as? Int) {
        throw ConvertError.sameInputAndOutput(path: output)
    }
    let src = try GGUFFile(path: input)
    guard src.metadata["general.architecture"]?.string == "reptok" else { throw RequantizeError.notReptok(path: input) }
    let arch = try ModelConfig(metadata: src.metadata, path: input)
    let layout = CheckpointLayout(encPosGrid: arch.encoder.grid, adapterNewReg: 0)
    let quantizable = Set(requiredTensors(arch, layout).filter(\.quantizable).map(\.name))
    let scaleNames = Set(quantizable.map { TensorNames.scale(of: $0) })

    func fileType(_ info: GGUFTensorInfo) -> GGMLType {
        guard quantizable.contains(info.name) else { return info.type }
        switch options.weights {
        case .int8: return .i8
        case .int4: return int4FileType(name: info.name, outputShape: info.shape)
        case .f16: return .f16
        case .f32: return .f32
        }
    }
    let tensors = src.orderedTensorInfos.filter { !scaleNames.contains($0.name) }
    for t in tensors where quantizable.contains(t.name) && ![.f32, .f16, .bf16].contains(t.type) {
        throw RequantizeError.notFloat(path: input, tensor: t.name, type: t.type.description)
    }

    let writer = GGUFWriter(path: output, alignment: 64)
    for k in src.metadataKeys where k != "general.alignment" { writer.set(k, src.metadata[k]!) }
    writer.set("reptok.converter.version", .string(options.converterVersion))
    writer.set("reptok.weights", .string(options.weights.rawValue))
    writer.set("reptok.quant.scheme", .string(quantScheme(options.weights)))
    writer.set("reptok.source.requantized_from", .string(URL(fileURLWithPath: input).lastPathComponent))
    for k in ["reptok.quant.max_rel_l2", "reptok.quant.mean_rel_l2", "reptok.quant.max_abs_err"] { writer.set(k, .float32(0)) }
    for t in tensors {
        let type = fileType(t)
        try writer.declareTensor(name: t.name, type: type, shape: t.shape)
        if type == .i8 && quantizable.contains(t.name) {
            try writer.declareTensor(name: TensorNames.scale(of: t.name), type: .f32, shape: [t.shape[0]])
        }
    }
    try writer.begin()

    var lines: [ConversionReport.TensorLine] = []
    var bytesByType: [GGMLType: Int] = [:]
    for t in tensors {
        let type = fileType(t)
        var error: QuantError?
        var bytes = 0
        if !quantizable.contains(t.name) || type == t.type {
            let data = try src.tensor(t.name).data
            try writer.writeTensor(name: t.name, bytes: data)
            bytes = data.count
            bytesByType[t.type, default: 0] += bytes
        } else {
            let values = try src.tensor(t.name).floats()
            (bytes, error) = try writeEncodedTensor(values, rows: t.shape[0], name: t.name, as: type, to: writer,
                                                    bytesByType: &bytesByType,
                                                    overflow: ConvertError.f16Overflow(path: input, key: t.name))
        }
        src.releasePages(of: [t.name])
        let line = ConversionReport.TensorLine(name: t.name, source: t.name, type: type, shape: t.shape, bytes: bytes, error: error)
        lines.append(line)
        options.onTensor?(line)
    }
    let summary = ErrorSummary(lines)
    try summary.patch(into: writer)
    try writer.finish()
    let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
    return ConversionReport(input: input, output: output, sourceSHA256: src.metadata["reptok.source.sha256"]?.string ?? "",
                            weights: options.weights, config: arch, layout: layout, configSources: [], tensors: lines,
                            ignored: [:], bytesByType: bytesByType, fileSize: size, maxRelativeL2: summary.maxRel,
                            meanRelativeL2: summary.meanRel, maxAbsError: summary.maxAbs, worstTensor: summary.worst,
                            seconds: Double(MonotonicClock.nanoseconds() - start) * 1e-9)
}
