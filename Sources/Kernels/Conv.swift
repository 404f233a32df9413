// 3×3 convolution as an implicit GEMM over NHWC, and nearest 2× upsampling.
//
// The GEMM's A row for output pixel (y, x) is the 3×3 neighbourhood, tap-major
// (ty, tx, channel) — never materialized: each K block is one tap and a range of input
// channels, so the row pointer for pixel (y, x) and tap (ty, tx) points straight into the
// input at (y + ty − 1, x + tx − 1), or at a zero row outside the image.
// Float arithmetic with 16 or more channels each way runs Winograd instead (ConvWinograd.swift).

/// K blocks of a 3×3 convolution with `cin` channels, channel chunks of at most `kc`:
/// block b covers tap t = 3·ty + tx and channels [c0, c0 + kc) (`KBlocks.position`).
private func convBlocks(cin: Int, kc: Int) -> KBlocks {
    KBlocks(span: cin, kc: kc, taps: 9)
}

/// Float rows of the implicit GEMM.
private struct ConvRowsF32: F32Rows {
    let x: UnsafePointer<Float>, height: Int, width: Int, cin: Int
    let blocks: KBlocks
    let zero: UnsafePointer<Float>
    @inline(__always)
    func strip(_ i0: Int, _ count: Int, _ b: Int, _ ptrs: UnsafeMutablePointer<UnsafePointer<Float>>) {
        let blk = blocks.position(b)
        let dy = blk.tap / 3 - 1, dx = blk.tap % 3 - 1
        var oy = i0 / width, ox = i0 % width        // output pixel, advanced without division
        for z in 0..<count {
            let y = oy + dy, xx = ox + dx
            ptrs[z] = (y < 0 || y >= height || xx < 0 || xx >= width) ? zero : x + (y * width + xx) * cin + blk.c0
            ox += 1
            if ox == width { ox = 0; oy += 1 }
        }
    }
}

/// Quantized rows of the implicit GEMM: pixels quantized one by one (`rowBytes` each: cinq
/// int8, or what the level's `prepare` made of them, `inputBytes` per input), per-pixel scales
/// and per-(pixel, channel chunk) corrections.
private struct ConvRowsI8: I8Rows {
    let q: UnsafePointer<Int8>, height: Int, width: Int, rowBytes: Int, inputBytes: Int, chunks: Int, kc: Int
    let corr: UnsafePointer<Int32>, scale: UnsafePointer<Float>
    let blocks: KBlocks
    let zero: UnsafePointer<Int8>
    @inline(__always)
    func strip(_ i0: Int, _ count: Int, _ b: Int, _ ptrs: UnsafeMutablePointer<UnsafePointer<Int8>?>,
               _ corrOut: UnsafeMutablePointer<Int32>, _ scaleOut: UnsafeMutablePointer<Float>) {
        let blk = blocks.position(b)
        let dy = blk.tap / 3 - 1, dx = blk.tap % 3 - 1, chunk = blk.c0 / kc
        var oy = i0 / width, ox = i0 % width
        for z in 0..<count {
            let y = oy + dy, xx = ox + dx
            if y < 0 || y >= height || xx < 0 || xx >= width {
                ptrs[z] = zero; corrOut[z] = 0; scaleOut[z] = 0
            } else {
                let pix = y * width + xx
                ptrs[z] = q + pix * rowBytes + blk.c0 * inputBytes
                corrOut[z] = corr[pix * chunks + chunk]; scaleOut[z] = scale[pix]
            }
            ox += 1
            if ox == width { ox = 0; oy += 1 }
        }
    }
}

/// 3x3, stride 1, zero padding 1. Implicit GEMM: no full im2col buffer.
/// x: [height, width, inChannels]; weight [cout, 3, 3, cin] as WeightMatrix(n: cout, k: 9*cin);
/// out: [height, width, cout] (must not alias x). bias: [cout].
/// W8A8 (int8 weights only): each input pixel is quantized on its own (scale = max over its
/// channels / 127); every tap's Int32 sum is scaled by its pixel's scale.
/// Float arithmetic (float weights; int8 and int4 weights in W8A32) runs Winograd F(2×2, 3×3)
/// where it pays, else the implicit GEMM; `algorithm` forces one (tests, benchmarks). W8A8
/// ignores it.
public func conv3x3(_ x: UnsafePointer<Float>, height: Int, width: Int, inChannels: Int,
                    _ w: WeightMatrix, bias: UnsafePointer<Float>?,
                    out: UnsafeMutablePointer<Float>, mode: MatrixMode, ctx: ComputeContext,
                    algorithm: ConvAlgorithm = .automatic) {
    precondition(w.k == 9 * inChannels, "conv3x3: weight k must be 9 * inChannels")
    let cin = inChannels, cout = w.n, pixels = height * width
    if pixels == 0 || cout == 0 { return }
    var epilogue = Epilogue(wScale: nil, bias: bias, colScale: nil, activation: .none, accumulate: false)
    switch w.storage {
    case .q4(let blocks):
        // No int4 convolution kernel (the converter keeps convolutions in int8): the weights
        // are dequantized (exactly) and run in float32.
        let wf = UnsafeMutablePointer<Float>.allocate(capacity: max(cout * w.k, 1))
        defer { wf.deallocate() }
        dequantizeQ4(blocks, n: cout, k: w.k, into: wf)
        convF32(x, height: height, width: width, cin: cin, weights: .f32(wf), n: cout,
                epilogue: epilogue, out: out, ctx: ctx, algorithm: algorithm)
    case .f32(let wp):
        convF32(x, height: height, width: width, cin: cin, weights: .f32(wp), n: cout,
                epilogue: epilogue, out: out, ctx: ctx, algorithm: algorithm)
    case .i8(let wq, let ws):
        epilogue.wScale = ws
        if mode == .w8a32 {
            convF32(x, height: height, width: width, cin: cin, weights: .i8(wq), n: cout,
                    epilogue: epilogue, out: out, ctx: ctx, algorithm: algorithm)
            return
        }
        // Quantize every input pixel once.
        let kc = Blocking.kcI8
        let cinq = (cin + 3) / 4 * 4
        let chunks = max((cin + kc - 1) / kc, 1)
        // the panel kernel's own row form, when it has one: every pixel prepared once here,
        // each input then taking `inputBytes` bytes
        let prepare = ctx.kernels.panelRowPrepare
        let inputBytes = prepare == nil ? 1 : 2, rowBytes = cinq * inputBytes
        let preparedBytes = prepare == nil ? 0 : pixels * rowBytes + 64
        let bytes = pixels * cinq + 64 + pixels * chunks * 4 + pixels * 4 + rowBytes + 256 + preparedBytes
        let prep = ctx.prepArena().buffer(bytes: bytes)
        let q = prep.bindMemory(to: Int8.self, capacity: pixels * cinq)
        let corr = (prep + (pixels * cinq + 63) / 64 * 64).bindMemory(to: Int32.self, capacity: pixels * chunks)
        let scale = (UnsafeMutableRawPointer(corr) + pixels * chunks * 4).bindMemory(to: Float.self, capacity: pixels)
        let zero = (UnsafeMutableRawPointer(scale) + pixels * 4).bindMemory(to: Int8.self, capacity: rowBytes)
        zero.initialize(repeating: 0, count: rowBytes)
        let prepared = (UnsafeMutableRawPointer(zero) + rowBytes + 64).bindMemory(to: Int8.self, capacity: pixels * rowBytes)
        ctx.parallelFor(pixels) { range in
            for p in range {
                scale[p] = quantizeRowFast(x + p * cin, k: cin, kq: cinq, into: q + p * cinq, blockLen: kc,
                                           sums: corr + p * chunks)
                if let prepare {
                    prepareRow(prepare, q + p * cinq, k: cin, blockLen: kc, into: prepared + p * rowBytes, terms: corr + p * chunks)
                }
            }
        }
        let blocks = convBlocks(cin: cin, kc: kc)
        let rows = ConvRowsI8(q: prepare == nil ? q : prepared, height: height, width: width, rowBytes: rowBytes,
                              inputBytes: inputBytes, chunks: chunks, kc: kc,
                              corr: corr, scale: scale, blocks: blocks, zero: zero)
        panelGemmI8(m: pixels, n: cout, ldw: w.k, blocks: blocks, rows: rows, weights: wq,
                    epilogue: epilogue, c: out, ldc: cout, ctx: ctx)
    }
}

private func convF32(_ x: UnsafePointer<Float>, height: Int, width: Int, cin: Int, weights: WeightSource,
                     n: Int, epilogue: Epilogue, out: UnsafeMutablePointer<Float>, ctx: ComputeContext,
                     algorithm: ConvAlgorithm) {
    if algorithm == .winograd || (algorithm == .automatic && Winograd.pays(cin: cin, cout: n)) {
        return winogradConv3x3(x, height: height, width: width, cin: cin, weights: weights, n: n,
                               epilogue: epilogue, out: out, ctx: ctx)
    }
    let kc = Blocking.kcF32
    let blocks = convBlocks(cin: cin, kc: kc)
    // Weights packed once per call when at least 4 row blocks would each pack them (the
    // VAE's large images); the zero row beside them. Extra memory: n · 9 · cin floats
    // (9.4 MB for 512 → 512 channels), for the length of this call.
    let prepack = PanelTiling(m: height * width, n: n).mBlocks >= 4
    let zeroFloats = (kc + 15) / 16 * 16, packFloats = prepack ? prepackedF32Count(n: n, blocks: blocks) : 0
    let buffer = ctx.prepArena().buffer(bytes: (zeroFloats + packFloats) * 4)
        .bindMemory(to: Float.self, capacity: zeroFloats + packFloats)
    let zero = buffer, packed = buffer + zeroFloats
    zero.initialize(repeating: 0, count: kc)
    if prepack { prepackF32(weights: weights, n: n, ldw: 9 * cin, blocks: blocks, into: packed, ctx: ctx) }
    let rows = ConvRowsF32(x: x, height: height, width: width, cin: cin, blocks: blocks, zero: zero)
    panelGemmF32(m: height * width, n: n, ldw: 9 * cin, blocks: blocks, rows: rows, weights: weights,
                 epilogue: epilogue, c: out, ldc: n, ctx: ctx, prepacked: prepack ? UnsafePointer(packed) : nil)
}

/// out[2y + dy, 2x + dx, c] = x[y, x, c]. x: [height, width, channels]; out: [2h, 2w, channels].
public func upsampleNearest2x(_ x: UnsafePointer<Float>, height: Int, width: Int, channels: Int,
                              out: UnsafeMutablePointer<Float>) {
    let c = channels
    for y in 0..<height {
        let src = x + y * width * c
        let d0 = out + (2 * y) * (2 * width) * c
        for xx in 0..<width {
            let s = src + xx * c, d = d0 + 2 * xx * c
            d.update(from: s, count: c)
            (d + c).update(from: s, count: c)
        }
        (d0 + 2 * width * c).update(from: d0, count: 2 * width * c)
    }
}
