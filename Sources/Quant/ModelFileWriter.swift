// The one writer of reptok model files. The converter, the re-quantizer and the synthetic models
// give it the file's origin, its configuration and its tensors; it writes the header
// (`MetadataSchema.header`), chooses each tensor's stored type, quantizes, and patches the
// quantization-error summary into the header at the end.
import Formats
import Foundation
import ModelFile
import Support

/// The type a tensor is stored in: F32 unless it is `quantizable` (a Linear/Conv weight); a
/// quantizable weight as `weights` says (int4 only where `int4FileType` allows Q4_0).
func storedType(name: String, shape: [Int], quantizable: Bool, weights: WeightFormat) -> GGMLType {
    guard quantizable else { return .f32 }
    switch weights {
    case .int8: return .i8
    case .int4: return int4FileType(name: name, outputShape: shape)
    case .f16: return .f16
    case .f32: return .f32
    }
}

/// Refuses an output whose folder does not exist, that is a folder, or that is one of `inputs`
/// (`AtomicFile.sameFile`: any spelling or link of the same file), before any work is done.
func checkOutputPath(_ output: String, inputs: [String]) throws {
    var isDir: ObjCBool = false
    let outDir = URL(fileURLWithPath: output).deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: outDir, isDirectory: &isDir), isDir.boolValue else {
        throw FileAccessError.writeFailed(path: output, reason: "folder \(outDir) does not exist")
    }
    if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
        throw FileAccessError.isDirectory(path: output)
    }
    if inputs.contains(where: { AtomicFile.sameFile(output, $0) }) { throw ConvertError.sameInputAndOutput(path: output) }
}

/// Writes one model file, streaming: `init` writes the header and the tensor table, `write` or
/// `copy` each tensor in table order, `finish` patches the error summary and renames the file into
/// place (nothing is left behind when `finish` is not reached).
final class ModelFileWriter {
    /// One file tensor: name, stored type, shape in PyTorch order. An int8 tensor gets its
    /// `.scale` companion [rows] (F32) in the table right after it.
    struct Planned {
        let name: String
        let type: GGMLType
        let shape: [Int]
    }

    private let writer: GGUFWriter
    private let plan: [Planned]
    private var next = 0
    /// One line per tensor written, in order.
    private(set) var lines: [ConversionReport.TensorLine] = []
    /// Bytes of tensor data per stored type (int8 scales count as F32).
    private(set) var bytesByType: [GGMLType: Int] = [:]

    /// Writes the header (`MetadataSchema.header(origin:config:)`, error statistics 0) and the table.
    init(path: String, origin: ModelFileOrigin, config: ModelConfig, tensors: [Planned]) throws {
        writer = GGUFWriter(path: path, alignment: 64)
        plan = tensors
        for (k, v) in MetadataSchema.header(origin: origin, config: config) { writer.set(k, v) }
        for t in tensors {
            try writer.declareTensor(name: t.name, type: t.type, shape: t.shape)
            if t.type == .i8 { try writer.declareTensor(name: TensorNames.scale(of: t.name), type: .f32, shape: [t.shape[0]]) }
        }
        try writer.begin()
    }

    /// Tensors in the file, int8 scale companions included.
    var tensorCount: Int { writer.declaredTensors.count }

    /// The next planned tensor, which must be `name`.
    private func take(_ name: String) throws -> Planned {
        guard next < plan.count, plan[next].name == name else {
            throw GGUFWriterError.unexpectedTensor(expected: next < plan.count ? plan[next].name : nil, got: name)
        }
        next += 1
        return plan[next - 1]
    }

    /// Encodes `values` (the tensor in file layout, row-major [rows, values.count / rows]) in the
    /// planned type and writes it: `.i8` int8 rows plus the f32 row scales, `.q4_0` GGML Q4_0 blocks
    /// (32 values of one row each), `.f16` IEEE half, anything else f32 as given. `source` is the
    /// checkpoint key for the report. Throws `overflow` when a value or a Q4_0 scale does not fit in
    /// f16, and the GGUF writer's errors.
    @discardableResult
    func write(_ name: String, source: String, values: [Float], overflow: @autoclosure () -> Error) throws -> ConversionReport.TensorLine {
        let t = try take(name)
        let rows = t.shape[0]
        let cols = values.count / max(rows, 1)
        let bytes: Int
        var error: QuantError?
        switch t.type {
        case .i8:
            let (q, scales, e) = quantizeInt8PerRow(values, rows: rows, cols: cols)
            try writer.writeTensor(name: name, values: q)
            try writer.writeTensor(name: TensorNames.scale(of: name), values: scales.map { $0.bitPattern.littleEndian })
            bytesByType[.i8, default: 0] += q.count
            bytesByType[.f32, default: 0] += 4 * scales.count
            (bytes, error) = (q.count + 4 * scales.count, e)
        case .q4_0:
            guard let (blocks, e) = quantizeQ4_0(values, rows: rows, cols: cols) else { throw overflow() }
            try writer.writeTensor(name: name, values: blocks)
            bytesByType[.q4_0, default: 0] += blocks.count
            (bytes, error) = (blocks.count, e)
        case .f16:
            guard let (bits, e) = toFloat16(values) else { throw overflow() }
            try writer.writeTensor(name: name, values: bits.map { $0.littleEndian })
            bytesByType[.f16, default: 0] += 2 * bits.count
            (bytes, error) = (2 * bits.count, e)
        default:
            try writer.writeTensor(name: name, values: values.map { $0.bitPattern.littleEndian })
            bytesByType[.f32, default: 0] += 4 * values.count
            bytes = 4 * values.count
        }
        return record(ConversionReport.TensorLine(name: name, source: source, type: t.type, shape: t.shape, bytes: bytes, error: error))
    }

    /// Writes the next tensor's stored bytes unchanged (its planned type is the stored one).
    @discardableResult
    func copy(_ name: String, bytes: UnsafeRawBufferPointer) throws -> ConversionReport.TensorLine {
        let t = try take(name)
        try writer.writeTensor(name: name, bytes: bytes)
        bytesByType[t.type, default: 0] += bytes.count
        return record(ConversionReport.TensorLine(name: name, source: name, type: t.type, shape: t.shape, bytes: bytes.count, error: nil))
    }

    private func record(_ line: ConversionReport.TensorLine) -> ConversionReport.TensorLine {
        lines.append(line)
        return line
    }

    /// A digest for a placeholder `digestPlaceholder` in the header (`field`: `\.sourceSHA256`,
    /// `\.encoderSHA256` or `\.vaeSHA256`), once it is known.
    func patchDigest(_ field: PartialKeyPath<ModelFileOrigin>, _ hex: String) throws {
        // A field the schema does not write would leave the placeholder in the file: refuse it.
        guard let key = MetadataSchema.key(of: field) else {
            throw GGUFWriterError.patchNotAllowed(key: "\(field)", reason: "no metadata key writes this origin field")
        }
        try writer.patch(key, .string(hex))
    }

    /// What the header holds for a SHA-256 digest until `patchDigest` writes it: 64 hex digits, the
    /// size of any digest, so the patch fits in place.
    static let digestPlaceholder = String(repeating: "0", count: 64)

    /// Patches the error summary of the written tensors into the header, then fsyncs and renames.
    func finish() throws -> ErrorSummary {
        let summary = ErrorSummary(lines)
        for (statistic, value) in [(MetadataEntry.QuantStatistic.maxRelativeL2, summary.maxRel), (.meanRelativeL2, summary.meanRel),
                                   (.maxAbsError, summary.maxAbs)] {
            try writer.patch(MetadataSchema.key(of: statistic), .float32(Float(value)))
        }
        try writer.finish()
        return summary
    }
}

/// The error summary of a file: the largest and mean relative L2 over the quantized tensors (the
/// report lines with an error), the largest absolute error, and the tensor with the largest
/// relative L2. In the file as `reptok.quant.max_rel_l2`, `mean_rel_l2`, `max_abs_err`.
struct ErrorSummary {
    var maxRel = 0.0, meanRel = 0.0, maxAbs = 0.0
    var worst: String?

    init(_ lines: [ConversionReport.TensorLine]) {
        let errors = lines.compactMap { line in line.error.map { (line.name, $0) } }
        let w = errors.max { $0.1.relativeL2 < $1.1.relativeL2 }
        worst = w?.0
        maxRel = w?.1.relativeL2 ?? 0
        meanRel = errors.isEmpty ? 0 : errors.reduce(0) { $0 + $1.1.relativeL2 } / Double(errors.count)
        maxAbs = errors.map(\.1.maxAbs).max() ?? 0
    }
}
