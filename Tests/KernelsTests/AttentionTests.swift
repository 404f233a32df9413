import TestSupport
import XCTest
import Kernels

/// Streaming attention against the naive double-precision softmax in `Reference`.
final class AttentionTests: XCTestCase {
    /// Float32 dot products over headDim ≤ 512 and float32 sums over ≤ 300 keys with
    /// online rescaling, against a double reference: ≤ 6e-7 relative observed; 1e-5
    /// leaves margin for other inputs and still catches a single mis-weighted key (≥ 1e-3).
    static let tol = 1e-5

    /// Runs attention on a packed qkv buffer [tokens][3·heads·d] (the runtime's layout)
    /// with an output row stride wider than heads·d, against the reference.
    func check(tokens: Int, heads: Int, d: Int, logitScale: Float = 1, ctx: ComputeContext,
               file: StaticString = #filePath, line: UInt = #line) {
        let width = heads * d, qs = 3 * width, os = width + 3
        var rng = TestRNG(UInt64(tokens * 131 + heads * 17 + d))
        var qkv = rng.floats(tokens * qs)
        for t in 0..<tokens { for i in 0..<width { qkv[t * qs + i] *= logitScale } }
        var fast = [Float](repeating: 7, count: tokens * os), ref = fast
        let scale = 1 / Float(d).squareRoot()
        qkv.withUnsafeBufferPointer { p in
            let b = p.baseAddress!
            attention(q: b, qStride: qs, k: b + width, kStride: qs, v: b + 2 * width, vStride: qs,
                      out: &fast, outStride: os, tokens: tokens, heads: heads, headDim: d, scale: scale, ctx: ctx)
            Reference.attention(q: b, qStride: qs, k: b + width, kStride: qs, v: b + 2 * width, vStride: qs,
                                out: &ref, outStride: os, tokens: tokens, heads: heads, headDim: d, scale: scale)
        }
        for t in 0..<tokens { for i in width..<os { XCTAssertEqual(fast[t * os + i], 7, "padding touched", file: file, line: line) } }
        assertClose(fast, ref, relL2: Self.tol, "\(ctx.isa) attention t \(tokens) h \(heads) d \(d) x\(logitScale)", file: file, line: line)
    }

    func testSizes() {
        for ctx in levelContexts() {
            for s in kernelTestSizes + [128, 129] {
                check(tokens: s, heads: 2, d: 24, ctx: ctx)       // token counts around the 32-query and 128-key blocks
                check(tokens: 33, heads: 1, d: s, ctx: ctx)       // head sizes around the 8-row and 16-lane blocks, and
            }                                                     // every count of columns past the last 16 (1...15)
            for s in [160, 161, 288, 289] {                       // last key tile joined (≤ 160) or not
                check(tokens: s, heads: 1, d: 24, ctx: ctx)
            }
        }
    }

    /// Fewer queries than keys (the encoder's last block asks for the cls row only): the
    /// first rows bit for bit as in the full call, the rows past them untouched.
    func testFirstQueriesOnly() {
        for ctx in levelContexts() {
            for (tokens, queries) in [(261, 1), (261, 17), (70, 33), (40, 40)] {
                let heads = 3, d = 40, width = heads * d, qs = 3 * width
                var rng = TestRNG(UInt64(tokens * 7 + queries))
                let qkv = rng.floats(tokens * qs)
                var full = [Float](repeating: 7, count: tokens * width), part = full
                qkv.withUnsafeBufferPointer { p in
                    let b = p.baseAddress!
                    attention(q: b, qStride: qs, k: b + width, kStride: qs, v: b + 2 * width, vStride: qs, out: &full,
                              outStride: width, tokens: tokens, heads: heads, headDim: d, scale: 0.3, ctx: ctx)
                    attention(q: b, qStride: qs, k: b + width, kStride: qs, v: b + 2 * width, vStride: qs, out: &part,
                              outStride: width, tokens: tokens, queries: queries, heads: heads, headDim: d, scale: 0.3, ctx: ctx)
                }
                XCTAssertTrue(bitsEqual(Array(part.prefix(queries * width)), Array(full.prefix(queries * width))),
                              "\(ctx.isa) tokens \(tokens) queries \(queries)")
                XCTAssertTrue(part[(queries * width)...].allSatisfy { $0 == 7 }, "\(ctx.isa) rows past the queries written")
            }
        }
    }

    func testModelShapes() {
        for ctx in levelContexts() {
            check(tokens: 261, heads: 12, d: 64, ctx: ctx)        // encoder
            check(tokens: 257, heads: 16, d: 72, ctx: ctx)        // decoder
            check(tokens: 300, heads: 1, d: 512, ctx: ctx)        // VAE mid-block head size (fewer tokens: double reference cost)
        }
    }

    /// Logits of several hundred: exp overflows without the running max; a one-hot-like
    /// softmax exposes any error in the rescaling.
    func testLargeLogits() {
        for ctx in levelContexts() {
            check(tokens: 97, heads: 2, d: 40, logitScale: 30, ctx: ctx)
            check(tokens: 200, heads: 1, d: 64, logitScale: 100, ctx: ctx)
        }
    }

    func testPortablePath() {
        check(tokens: 70, heads: 3, d: 40, ctx: ComputeContext(threads: 2, isa: .generic))
    }
}
