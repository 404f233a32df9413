// Weights repacked at a component's first use, for the kernels of the level it runs on.
//
// Two components run the same products many times per image: the generator (50 steps, few
// rows) and the decoder (8–50 velocities, 257 rows). Their kernels read weights faster in their
// own order than in the file's, so they copy the products that matter once (`Q4Strips` for the
// generator's int4 weights in W4A8, `I8Panels` for the decoder's int8 weights in W8A8), drop
// each source tensor's file pages once copied (resident memory grows by one tensor at most)
// and free the copies when the component's weights are released. The kernels compute the same
// values from either form, bit for bit.
import Formats
import Kernels

/// The products of one component worth repacking, and their copies once built.
final class RepackedWeights {
    /// Which repacking a component uses.
    enum Kind {
        /// int4 weights into 16-column strips, for few-row W4A8 products (`Q4Strips`).
        case int4Strips
        /// int8 weights into the level's W8A8 panels, for many-row products (`I8Panels`).
        case int8Panels
    }

    let kind: Kind
    private let candidates: [(linear: Linear, name: String)]
    private let file: GGUFFile
    /// The copies, by the address of the source weights; each owner keeps its copy alive.
    private var copies: [UnsafeRawPointer: (owner: AnyObject, matrix: WeightMatrix)] = [:]
    private var built = false

    /// `candidates`: the products and their weight tensors' names in `file`.
    init(_ kind: Kind, candidates: [(linear: Linear, name: String)], file: GGUFFile) {
        self.kind = kind
        self.candidates = candidates
        self.file = file
    }

    /// Whether copies would be used with `mode` on `ctx`'s level.
    func applies(mode: MatrixMode, ctx: ComputeContext) -> Bool {
        guard mode == .w8a8 else { return false }
        switch kind {
        case .int4Strips: return Q4Strips.used(by: ctx)
        case .int8Panels: return I8Panels.used(by: ctx)
        }
    }

    /// Builds the copies if they are not built and would be used (a no-op otherwise).
    func build(mode: MatrixMode, ctx: ComputeContext) {
        guard !built, applies(mode: mode, ctx: ctx) else { return }
        built = true
        for (linear, name) in candidates {
            guard let key = RepackedWeights.key(linear.weight), copies[key] == nil else { continue }
            let copy: (AnyObject, WeightMatrix)?
            switch kind {
            case .int4Strips: copy = Q4Strips(repacking: linear.weight, ctx: ctx).map { ($0, $0.matrix) }
            case .int8Panels: copy = I8Panels(packing: linear.weight, ctx: ctx).map { ($0, $0.matrix) }
            }
            guard let copy else { continue }
            copies[key] = copy
            file.releasePages(of: [name])
        }
    }

    /// The matrix a product reads: its copy when there is one.
    func weight(_ l: Linear) -> WeightMatrix {
        if let key = RepackedWeights.key(l.weight), let copy = copies[key] { return copy.matrix }
        return l.weight
    }

    /// Frees the copies (rebuilt from the file at the next `build`).
    func release() {
        copies = [:]
        built = false
    }

    /// The address of quantized weights (the key of their copy); nil for float weights.
    private static func key(_ w: WeightMatrix) -> UnsafeRawPointer? {
        switch w.storage {
        case .q4(let blocks): return blocks
        case .i8(let q, _): return UnsafeRawPointer(q)
        case .f32: return nil
        }
    }
}
