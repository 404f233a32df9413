// Weight access: every tensor comes straight from the memory map of the GGUF file.
//
// - F32 tensors are used in place (the file aligns data to 64 bytes).
// - I8 tensors (with their F32 `.scale` companion) are used in place by the int8 kernels; they are
//   never copied into float arrays.
// - Q4_0 tensors (int4, scales inside the blocks) are used in place by the int4 kernels.
// - F16/BF16 tensors are widened to float32 once, at load; the copies live as long as the loader.
import Formats
import Foundation
import Kernels
import ModelFile

/// A Linear or convolution layer as the kernels see it: `y = x Wᵀ + b`.
/// Convolutions are flattened to `[out, kh·kw·in]` (the file already stores them that way).
public struct Linear {
    /// W [n, k], f32 or int8 with per-row scales.
    public let weight: WeightMatrix
    /// b [n], or nil for layers without bias.
    public let bias: UnsafePointer<Float>?
    /// Output features.
    public var n: Int { weight.n }
    /// Input features.
    public var k: Int { weight.k }

    public init(weight: WeightMatrix, bias: UnsafePointer<Float>?) {
        self.weight = weight
        self.bias = bias
    }
}

/// Loads the tensors of one GGUF file, checking name, type and shape, and remembers which
/// tensors each component used so that `--low-memory` can release their pages afterwards.
/// Every pointer it hands out stays valid as long as the loader is alive.
final class WeightLoader {
    let file: GGUFFile
    /// Component → tensor names it loaded.
    private(set) var componentTensors: [Component: [String]] = [:]
    /// The component that the next loads are recorded under.
    var component = Component.encoder
    /// Widened copies of F16/BF16 tensors, freed in `deinit`.
    private var owned: [UnsafeMutableBufferPointer<Float>] = []

    init(file: GGUFFile) { self.file = file }

    deinit { for b in owned { b.deallocate() } }

    private func tensor(_ name: String) throws -> GGUFTensor {
        guard file.tensorInfos[name] != nil else { throw RuntimeError.missingTensor(path: file.path, name: name) }
        componentTensors[component, default: []].append(name)
        return try file.tensor(name)
    }

    private func checkShape(_ t: GGUFTensor, _ shape: [Int]) throws {
        guard t.shape == shape else {
            throw RuntimeError.tensorShape(path: file.path, name: t.name, expected: shape, actual: t.shape)
        }
    }

    /// The first byte of a tensor's data in the map; an empty tensor is refused as misshapen.
    private func start(_ t: GGUFTensor) throws -> UnsafeRawPointer {
        guard t.count > 0, let base = t.data.baseAddress else {
            throw RuntimeError.tensorShape(path: file.path, name: t.name, expected: [1], actual: t.shape)
        }
        return base
    }

    /// Float data of a tensor: in place for F32, widened once for F16/BF16.
    private func floatData(_ t: GGUFTensor) throws -> UnsafePointer<Float> {
        switch t.type {
        case .f32:
            return try start(t).assumingMemoryBound(to: Float.self)
        case .f16, .bf16:
            let values = t.floats()
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(values.count, 1))
            _ = buffer.initialize(from: values)
            owned.append(buffer)
            guard let widened = buffer.baseAddress else { throw RuntimeError.tensorShape(path: file.path, name: t.name, expected: [1], actual: t.shape) }
            return UnsafePointer(widened)
        default:
            throw RuntimeError.tensorType(path: file.path, name: t.name, expected: "F32, F16 or BF16", actual: t.type.description)
        }
    }

    /// A float tensor of exactly `shape` (PyTorch order): norms, biases, tokens, tables.
    func floats(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
        let t = try tensor(name)
        try checkShape(t, shape)
        return try floatData(t)
    }

    /// The layer `names` with weight `names.weight` of `shape` ([out, ...] — all dims after the
    /// first are flattened into k) and, when `bias` is true, `names.bias` [out].
    /// int8 weights need `names.weightScale` [out] (F32); Q4_0 weights carry their scales in their blocks.
    func linear(_ names: TensorNames.Layer, _ shape: [Int], bias: Bool) throws -> Linear {
        let n = shape[0]
        let k = shape.dropFirst().reduce(1, *)
        let t = try tensor(names.weight)
        try checkShape(t, shape)
        let weight: WeightMatrix
        if t.type == .q4_0 {
            guard k % 32 == 0, shape.count == 2 else {
                throw RuntimeError.tensorType(path: file.path, name: t.name, expected: "I8 or F32 (Q4_0 needs an input width that is a multiple of 32)", actual: "Q4_0")
            }
            weight = WeightMatrix(q4: try start(t), n: n, k: k)
        } else if t.type == .i8 {
            let scales = try floats(names.weightScale, [n])
            weight = WeightMatrix(i8: try start(t).assumingMemoryBound(to: Int8.self), scales: scales, n: n, k: k)
        } else {
            weight = WeightMatrix(f32: try floatData(t), n: n, k: k)
        }
        let b = bias ? try floats(names.bias, [n]) : nil
        return Linear(weight: weight, bias: b)
    }

    /// Drops the resident pages of every tensor `component` loaded (they are re-read on next use).
    func releasePages(of component: Component) {
        if let names = componentTensors[component] { file.releasePages(of: names) }
    }
}
