// One float tensor written in the file type chosen for it: the step the converter and the
import Formats
import ModelFile
// re-quantizer (f32 GGUF → int8/int4/f16) share.

/// Writes `values` (a [rows, values.count / rows] matrix, row-major) as tensor `name` in
/// `type`:
/// - `.i8`: int8 rows and the f32 row scales as `TensorNames.scale(of: name)`;
/// - `.q4_0`: GGML Q4_0 blocks (32 values of one row per block);
/// - `.f16`: IEEE half precision;
/// - anything else: f32 as given.
/// Adds the bytes written per stored type to `bytesByType`.
/// - Returns: the bytes written and the quantization error (nil for f32).
/// - Throws: `overflow` when a value or a Q4_0 scale does not fit in f16; the writer's errors.
func writeEncodedTensor(_ values: [Float], rows: Int, name: String, as type: GGMLType, to writer: GGUFWriter,
                        bytesByType: inout [GGMLType: Int], overflow: @autoclosure () -> Error)
    throws -> (bytes: Int, error: QuantError?) {
    let cols = values.count / max(rows, 1)
    switch type {
    case .i8:
        let (q, scales, e) = quantizeInt8PerRow(values, rows: rows, cols: cols)
        try writer.writeTensor(name: name, values: q)
        try writer.writeTensor(name: TensorNames.scale(of: name), values: scales.map { $0.bitPattern.littleEndian })
        bytesByType[.i8, default: 0] += q.count
        bytesByType[.f32, default: 0] += 4 * scales.count
        return (q.count + 4 * scales.count, e)
    case .q4_0:
        guard let (blocks, e) = quantizeQ4_0(values, rows: rows, cols: cols) else { throw overflow() }
        try writer.writeTensor(name: name, values: blocks)
        bytesByType[.q4_0, default: 0] += blocks.count
        return (blocks.count, e)
    case .f16:
        guard let (bits, e) = toFloat16(values) else { throw overflow() }
        try writer.writeTensor(name: name, values: bits.map { $0.littleEndian })
        bytesByType[.f16, default: 0] += 2 * bits.count
        return (2 * bits.count, e)
    default:
        try writer.writeTensor(name: name, values: values.map { $0.bitPattern.littleEndian })
        bytesByType[.f32, default: 0] += 4 * values.count
        return (4 * values.count, nil)
    }
}

/// The conversion's error summary: the largest and mean relative L2 over the quantized
/// tensors (the report lines with an error), the largest absolute error, and the tensor with
/// the largest relative L2.
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

    /// Into the header, patched in place: `reptok.quant.max_rel_l2`, `mean_rel_l2`, `max_abs_err`.
    func patch(into writer: GGUFWriter) throws {
        try writer.patch("reptok.quant.max_rel_l2", .float32(Float(maxRel)))
        try writer.patch("reptok.quant.mean_rel_l2", .float32(Float(meanRel)))
        try writer.patch("reptok.quant.max_abs_err", .float32(Float(maxAbs)))
    }
}
