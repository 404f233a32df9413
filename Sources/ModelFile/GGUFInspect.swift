// Human-readable summary of a converted file (`reptok inspect FILE.gguf`).
import Foundation
import Formats
import Support

/// Describes a GGUF file: metadata, components (tensor counts, bytes, types) and the stored
/// quantization-error summary. With `tensors: true`, one line per tensor follows.
public func describeGGUF(path: String, tensors: Bool = false) throws -> String {
    let g = try GGUFFile(path: path)
    var out: [String] = []
    out.append("\(path): GGUF v\(g.version), \(formatBytes(g.fileSize)), \(g.orderedTensorInfos.count) tensors, alignment \(g.alignment)")

    out.append("metadata:")
    let width = g.metadataKeys.map(\.count).max() ?? 0
    for k in g.metadataKeys { out.append("  \(k.padding(toLength: width, withPad: " ", startingAt: 0))  \(g.metadata[k].map { "\($0)" } ?? "")") }

    out.append("components:")
    let known = Component.allCases.map { ($0.prefix, $0.title) }
    var groups: [(String, String)] = known
    let other = g.orderedTensorInfos.filter { t in !known.contains { t.name.hasPrefix($0.0) } }
    if !other.isEmpty { groups.append(("", "other")) }
    for (prefix, title) in groups {
        let ts = prefix.isEmpty ? other : g.orderedTensorInfos.filter { $0.name.hasPrefix(prefix) }
        guard !ts.isEmpty else { out.append("  \(title.padding(toLength: 42, withPad: " ", startingAt: 0))  missing"); continue }
        var byType: [GGMLType: Int] = [:]
        for t in ts { byType[t.type, default: 0] += t.byteCount }
        let params = ts.filter { !$0.name.hasSuffix(TensorNames.scaleSuffix) || $0.type != .f32 || g.tensorInfos[String($0.name.dropLast(TensorNames.scaleSuffix.count))]?.type != .i8 }
            .reduce(0) { $0 + $1.count }
        let types = byType.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \(formatBytes($0.value))" }.joined(separator: ", ")
        out.append("  \(title.padding(toLength: 42, withPad: " ", startingAt: 0))  \(String(format: "%4d", ts.count)) tensors  \(String(format: "%7.2f", Double(params) / 1e6)) M params  \(formatBytes(byType.values.reduce(0, +)))  (\(types))")
    }
    var total: [GGMLType: Int] = [:]
    for t in g.orderedTensorInfos { total[t.type, default: 0] += t.byteCount }
    out.append("bytes by type: " + total.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key) \(formatBytes($0.value))" }.joined(separator: ", "))

    if let scheme = g.metadata["reptok.quant.scheme"]?.string {
        var line = "quantization: \(scheme)"
        if let m = g.metadata["reptok.quant.mean_rel_l2"]?.float, let x = g.metadata["reptok.quant.max_rel_l2"]?.float {
            line += String(format: ", relative L2 error mean %.3e, max %.3e", m, x)
        }
        if let a = g.metadata["reptok.quant.max_abs_err"]?.float { line += String(format: ", max abs error %.3e", a) }
        out.append(line)
    }
    if tensors {
        out.append("tensors:")
        for t in g.orderedTensorInfos {
            out.append("  \(t.name.padding(toLength: 58, withPad: " ", startingAt: 0))  \(t.type.description.padding(toLength: 4, withPad: " ", startingAt: 0))  \(t.shape)")
        }
    }
    return out.joined(separator: "\n")
}
