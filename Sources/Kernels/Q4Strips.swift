// int4 weights repacked at load time for the W4A8 kernels of `avx512vnni`.
//
// The row form (m ≤ 8 activation rows, the generator) is bound by how fast it turns Q4_0
// blocks into `vpdpbusd` operands: read from the file's layout, every group of 16 columns
// needs sixteen 128-bit loads, an in-lane transpose and a gather of the scales before its 48
// dot products. Repacked once into 16-column strips (the registers' order, see `rtk_q4x16_repack`
// in ckernels.h), a group is five plain loads, so the product streams its weights at memory speed.
// The strips hold the same bytes as the blocks (groups · 288 per 16 columns), and the kernel
// computes the same integer group sums and the same float steps, so results are bit-identical.
// The panel form (more rows: the decoder) reads two strips as one 32-column panel in place,
// instead of unpacking the blocks into a panel of bytes twice their size on every call.
import CKernels

/// int4 weights in 16-column strips, owned; `matrix` is the original matrix with the strips
/// attached (`WeightMatrix.strips`), valid as long as this object lives.
public final class Q4Strips {
    /// Bytes of one group of 16 columns: 16 fp16 scales and 16 · 16 bytes of nibbles.
    static let groupBytes = 288

    public let matrix: WeightMatrix
    /// The strips: as many bytes as the Q4_0 blocks, rounded up to whole strips.
    private let memory: PageMemory

    /// Whether `ctx`'s level reads strips (so repacking pays) in W4A8 products of few
    /// activation rows (the row form, ≤ 8 rows: `avx512vnni`) or of many (`panelForm`: every
    /// x86 level).
    public static func used(by ctx: ComputeContext, panelForm: Bool) -> Bool {
        panelForm ? ctx.kernels.q4.strips != nil : ctx.kernels.q4.rows == .vnni
    }

    /// Repacks int4 weights `w` (threads of `ctx`); nil when `w` is not int4 or no memory is left.
    public init?(repacking w: WeightMatrix, ctx: ComputeContext) {
        guard case .q4(let blocks) = w.storage else { return nil }
        let groups = w.k / 32, strips = (w.n + 15) / 16
        guard let memory = PageMemory(bytes: strips * groups * Q4Strips.groupBytes) else { return nil }
        self.memory = memory
        let out = memory.base.assumingMemoryBound(to: UInt8.self)
        let src = blocks.assumingMemoryBound(to: UInt8.self), rowBytes = WeightMatrix.q4RowBytes(k: w.k)
        ctx.parallelFor(strips) { range in
            rtk_q4x16_repack(src, rowBytes, w.n, groups, range.lowerBound, range.upperBound, out)
        }
        matrix = w.withStrips(UnsafeRawPointer(memory.base))
    }

    deinit { memory.release() }
}
