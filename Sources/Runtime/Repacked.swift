// Weights repacked at a component's first use (the encoder's: its second), for the kernels of
// the level it runs on.
//
// Two components run the same products many times per image: the generator (50 steps, few
// rows) and the decoder (8–50 velocities, 257 rows); the encoder (261 rows) runs once per
// image, but `eval` and `interpolate` encode several. Their kernels read weights faster in their
// own order than in the file's, so they copy the products that matter once (`Q4Strips` for
// int4 weights in W4A8, `I8Panels` for the decoder's and encoder's int8 weights in W8A8), drop
// each source tensor's file pages once copied (resident memory grows by one tensor at most)
// and free the copies when the component's weights are released. The generator's int8
// weights in W8A8 at the avx2 level keep their place and gain their row terms (`I8RowTerms`),
// which that level's kernel would otherwise sum at every step. The kernels compute the same
// values from either form, bit for bit.
import Formats
import Kernels

/// The products of one component worth repacking, and their copies once built.
final class RepackedWeights {
    /// How many activation rows a component's products have, which decides what pays.
    enum Kind {
        /// Few rows (≤ 8: the generator): int4 weights into 16-column strips for W4A8
        /// (`Q4Strips`); int8 weights stay as they are (the row form reads them once anyway),
        /// with their row terms for W8A8 at the avx2 level (`I8RowTerms`: its kernel would
        /// otherwise sum them at every step).
        case fewRows
        /// Many rows (the decoder's 257 tokens, the encoder's 261): int8 weights into the level's
        /// W8A8 panels (`I8Panels`), int4 weights into strips that the panel form reads in place.
        case manyRows
    }

    let kind: Kind
    private let candidates: [Linear]
    private let file: GGUFFile
    /// The use (`build` call, 1 = the first since load or `release`) at which the copies are built.
    private let buildAtUse: Int
    private var uses = 0
    /// The copies, by the address of the source weights; each owner keeps its copy alive.
    private var copies: [UnsafeRawPointer: (owner: AnyObject, matrix: WeightMatrix)] = [:]
    private var built = false

    /// `candidates`: the products worth copying, whose weights lie in `file`'s map.
    /// `buildAtUse`: 1 for a component whose every use repeats the products (the decoder's and
    /// generator's steps); 2 for one that runs once per image (the encoder): a single use then
    /// packs within its own tasks as before, and only a second one, which shows that more
    /// images follow, pays for the copies.
    init(_ kind: Kind, candidates: [Linear], file: GGUFFile, buildAtUse: Int = 1) {
        self.kind = kind
        self.candidates = candidates
        self.file = file
        self.buildAtUse = max(1, buildAtUse)
    }

    /// Products that currently read a copy.
    var count: Int { copies.count }

    /// The copy of `w` that `ctx`'s kernels would read in `mode`, or nil when none pays; with
    /// whether it replaces the source weights (false for row terms: the kernel still reads them).
    private func copy(of w: WeightMatrix, mode: MatrixMode, ctx: ComputeContext)
        -> (owner: AnyObject, matrix: WeightMatrix, replacesSource: Bool)? {
        guard mode == .w8a8 else { return nil }
        switch w.storage {
        case .q4 where Q4Strips.used(by: ctx, panelForm: kind == .manyRows):
            return Q4Strips(repacking: w, ctx: ctx).map { ($0, $0.matrix, true) }
        case .i8 where kind == .manyRows && I8Panels.used(by: ctx):
            return I8Panels(packing: w, ctx: ctx).map { ($0, $0.matrix, true) }
        case .i8 where kind == .fewRows && I8RowTerms.used(by: ctx):
            return I8RowTerms(of: w, ctx: ctx).map { ($0, $0.matrix, false) }
        default:
            return nil
        }
    }

    /// Counts a use of the component, and builds the copies that pay at the use `buildAtUse`
    /// (a no-op before it and once built).
    func build(mode: MatrixMode, ctx: ComputeContext) {
        uses += 1
        guard !built, uses >= buildAtUse else { return }
        built = true
        for linear in candidates {
            guard let source = RepackedWeights.source(linear.weight), let key = source.baseAddress, copies[key] == nil,
                  let copy = copy(of: linear.weight, mode: mode, ctx: ctx) else { continue }
            copies[key] = (copy.owner, copy.matrix)
            if copy.replacesSource { file.releasePages(of: source) }
        }
    }

    /// The matrix a product reads: its copy when there is one.
    func weight(_ l: Linear) -> WeightMatrix {
        if let key = RepackedWeights.source(l.weight)?.baseAddress, let copy = copies[key] { return copy.matrix }
        return l.weight
    }

    /// Frees the copies; uses count again from zero (so the copies come back at the
    /// `buildAtUse`-th `build` from now).
    func release() {
        copies = [:]
        built = false
        uses = 0
    }

    /// The bytes of quantized weights (their address is the key of their copy); nil for float weights.
    private static func source(_ w: WeightMatrix) -> UnsafeRawBufferPointer? {
        switch w.storage {
        case .q4(let blocks): return UnsafeRawBufferPointer(start: blocks, count: w.n * WeightMatrix.q4RowBytes(k: w.k))
        case .i8(let q, _): return UnsafeRawBufferPointer(start: q, count: w.n * w.k)
        case .f32: return nil
        }
    }
}
