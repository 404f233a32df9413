// int8 weights packed once, at load, into the W8A8 panels of one level's panel kernel.
//
// The panel form of W8A8 (more than `Blocking.smallM` rows: the decoder's and encoder's
// 257-token products) packs every weight block into its kernel's operand order (`vpdpbusd`,
// the pair form, NEON) before its microkernels run: each call transposes all of W once, and
// the first read of each weight byte waits on memory. A model that runs the same products many times (the decoder:
// one call per velocity, 8 to 50 per image) can pack them once instead; the kernels then
// read the same panels, so the results are unchanged, bit for bit.
import CKernels

/// int8 weights in one level's W8A8 panels, owned; `matrix` is the original matrix with the
/// panels attached (`WeightMatrix.panels`), valid as long as this object lives and read only
/// by contexts of the same level.
///
/// Layout: column blocks of `Blocking.nc` columns one after another; in each, the K blocks of
/// `uniformBlocks(k:kc: Blocking.kcI8)` in order, each two 32-column panels of
/// `ceil(kc/4) · 128` bytes (what the level's `I8.pack` writes; a second panel past n is left
/// unwritten and never read).
public final class I8Panels {
    public let matrix: WeightMatrix
    private let memory: PageMemory
    /// Bytes held: about n · k, rounded up to whole 64-column blocks and 4-byte groups of K.
    public let bytes: Int

    /// Whether `ctx`'s level packs W8A8 panels that can be kept: levels with an int8 panel
    /// kernel and no tiles (the generic level packs floats; the AMX driver packs its own tiles).
    public static func used(by ctx: ComputeContext) -> Bool {
        ctx.kernels.i8.kernel != nil && ctx.kernels.tiles == nil
    }

    /// Packs int8 weights `w` for `ctx`'s level (threads of `ctx`); nil when `w` is not int8,
    /// has no columns, the level does not use kept panels, or no memory is left.
    public init?(packing w: WeightMatrix, ctx: ComputeContext) {
        guard case .i8(let q, _) = w.storage, w.k > 0, w.n > 0, I8Panels.used(by: ctx) else { return nil }
        let n = w.n, k = w.k, blocks = uniformBlocks(k: k, kc: Blocking.kcI8)
        let nBlocks = (n + Blocking.nc - 1) / Blocking.nc
        bytes = nBlocks * I8Panels.columnBlockBytes(k: k)
        guard let memory = PageMemory(bytes: bytes) else { return nil }
        self.memory = memory
        let out = memory.base, pack = ctx.kernels.i8.pack, count = blocks.count
        ctx.parallelFor(nBlocks * count) { range in
            for t in range {
                let nb = t / count, bi = t % count, blk = blocks[bi]
                let n0 = nb * Blocking.nc, nc = min(n, n0 + Blocking.nc) - n0
                pack(q + n0 * k + blk.k0, k, nc, blk.kc, out + I8Panels.offset(nb: nb, block: bi, k: k))
            }
        }
        matrix = w.withPanels(UnsafeRawPointer(memory.base), level: ctx.isa)
    }

    deinit { memory.release() }

    /// Bytes of one column block: two panels of ceil(kc/4) · 128 bytes per K block.
    static func columnBlockBytes(k: Int) -> Int {
        let full = k / Blocking.kcI8, rest = k % Blocking.kcI8
        return 2 * 128 * (full * Blocking.kcI8 / 4 + (rest + 3) / 4)
    }

    /// Where the panels of column block nb and K block `block` start (all K blocks before the
    /// last are `Blocking.kcI8` long).
    static func offset(nb: Int, block: Int, k: Int) -> Int {
        nb * columnBlockBytes(k: k) + 2 * 128 * (block * Blocking.kcI8 / 4)
    }
}
