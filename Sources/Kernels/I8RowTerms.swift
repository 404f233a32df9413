// The row terms of int8 weights, computed once, for the few-row W8A8 products of the avx2
// level (`rtk_avx2_i8_rows_t` in avx2.c, `rtk_i8_negative_terms` in pack.c).
//
// The avx2 dot form multiplies |w| by the activations with flipped sign bits and adds back
// each weight row's term Σ_{w<0} |w|, which it otherwise sums beside the products, on the same
// integer-multiply pipes as the rows' own. The generator runs its products 50 times per image
// with the same weights, so its int8 matrices get their terms at its first use
// (`Runtime/Repacked.swift`): one pass over the weights, 4 bytes per output. Same sums, bit for bit.
import CKernels

/// The row terms of an int8 matrix, owned; `matrix` is the original matrix with them attached
/// (`WeightMatrix.rowTerms`), valid as long as this object lives. The weights themselves are
/// not copied: the kernel reads them where they are.
public final class I8RowTerms {
    public let matrix: WeightMatrix
    private let terms: UnsafeMutablePointer<Int32>
    /// Bytes held: 4 · n.
    public var bytes: Int { 4 * matrix.n }

    /// Whether `ctx`'s level has a few-row kernel that reads the terms (the avx2 level).
    public static func used(by ctx: ComputeContext) -> Bool {
        ctx.kernels.i8.rowsWithTerms != nil
    }

    /// The terms of int8 weights `w` (threads of `ctx`); nil when `w` is not int8, is empty, or
    /// the level has no kernel that reads them.
    public init?(of w: WeightMatrix, ctx: ComputeContext) {
        guard case .i8(let q, _) = w.storage, w.k > 0, w.n > 0, I8RowTerms.used(by: ctx) else { return nil }
        let n = w.n, k = w.k
        let terms = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let rowsPerTask = max(1, (1 << 20) / k)
        ctx.parallelFor((n + rowsPerTask - 1) / rowsPerTask) { range in
            for t in range {
                let j0 = t * rowsPerTask
                rtk_i8_negative_terms(min(n, j0 + rowsPerTask) - j0, k, q + j0 * k, k, terms + j0)
            }
        }
        self.terms = terms
        matrix = w.withRowTerms(UnsafePointer(terms))
    }

    deinit { terms.deallocate() }
}
