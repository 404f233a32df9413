@testable import Kernels
import TestSupport
import XCTest

/// Winograd F(2×2, 3×3) (`conv3x3(..., algorithm: .winograd)`) against the double-precision
/// direct convolution in `Reference`, its weight transform against exact arithmetic, its
/// thread-count independence, and the automatic choice of path.
final class ConvWinogradTests: XCTestCase {
    /// One random problem: input, float and int8 weights, row scales, bias.
    struct Problem {
        let h: Int, w: Int, cin: Int, cout: Int
        let x: [Float], wf: [Float], wq: [Int8], ws: [Float], bias: [Float]
        init(h: Int, w: Int, cin: Int, cout: Int, seed: UInt64) {
            self.h = h; self.w = w; self.cin = cin; self.cout = cout
            var rng = TestRNG(seed)
            x = rng.floats(h * w * cin)
            wf = rng.floats(cout * 9 * cin)
            wq = rng.int8s(cout * 9 * cin)
            ws = (0..<cout).map { _ in 0.001 + abs(rng.float()) * 0.01 }
            bias = rng.floats(cout)
        }

        /// Runs `body` with the weights as a WeightMatrix ("f32" or "i8").
        func withWeights<R>(_ kind: String, _ body: (WeightMatrix) -> R) -> R {
            wf.withUnsafeBufferPointer { f in wq.withUnsafeBufferPointer { q in ws.withUnsafeBufferPointer { s in
                body(kind == "f32" ? WeightMatrix(f32: f.baseAddress!, n: cout, k: 9 * cin)
                                   : WeightMatrix(i8: q.baseAddress!, scales: s.baseAddress!, n: cout, k: 9 * cin))
            } } }
        }

        /// conv3x3 into a buffer with 19 sentinels past the output; returns the output and
        /// whether the sentinels survived.
        func run(_ kind: String, _ algorithm: ConvAlgorithm, ctx: ComputeContext) -> (out: [Float], sentinelsOK: Bool) {
            let count = h * w * cout, sentinel = Float(-12345.5)
            var buf = [Float](repeating: .nan, count: count + 19)
            for i in count..<(count + 19) { buf[i] = sentinel }
            withWeights(kind) { wm in
                conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: bias, out: &buf, mode: .w8a32, ctx: ctx,
                        algorithm: algorithm)
            }
            return (Array(buf[0..<count]), buf[count...].allSatisfy { $0 == sentinel })
        }

        /// The float64 reference, and Σ |x|·|w| + |bias| per output (the scale of its rounding error).
        func reference(_ kind: String) -> (ref: [Float], magnitude: [Double]) {
            var ref = [Float](repeating: .nan, count: h * w * cout), mag = ref
            withWeights(kind) { wm in
                Reference.conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: bias, out: &ref, mode: .w8a32)
            }
            let ax = x.map { abs($0) }, ab = bias.map { abs($0) }
            let aw: [Float] = kind == "f32" ? wf.map { abs($0) }
                : (0..<(cout * 9 * cin)).map { abs(Float(wq[$0])) * ws[$0 / (9 * cin)] }
            aw.withUnsafeBufferPointer { awp in
                Reference.conv3x3(ax, height: h, width: w, inChannels: cin, WeightMatrix(f32: awp.baseAddress!, n: cout, k: 9 * cin),
                                  bias: ab, out: &mag, mode: .w8a32)
            }
            return (ref, mag.map { Double($0) })
        }
    }

    /// Largest |fast − ref| / (Σ |x|·|w| + |bias|), in units of float32's ε = 2^−23; infinity
    /// when an output is not finite (`max` would pass over a NaN, and the outputs start as NaN,
    /// so an output left unwritten must show here).
    static func errorUlps(_ fast: [Float], _ ref: [Float], _ mag: [Double]) -> Double {
        var e = 0.0
        for i in fast.indices {
            guard fast[i].isFinite else { return .infinity }
            if mag[i] > 0 { e = max(e, abs(Double(fast[i]) - Double(ref[i])) / mag[i]) }
        }
        return e / Double(Float.ulpOfOne)
    }

    /// Error bound, in ε of the output's Σ |x|·|w| + |bias| (see `errorUlps`). Rounding in
    /// the three stages: the input transform adds 4 pixel values per entry (relative error
    /// ≤ 2ε, magnitude ≤ 4× the input), the weight transform adds up to 9 halved values (≤ 2ε;
    /// exact for int8), the GEMM sums cin products (as the direct path), and the output
    /// transform adds 9 of the 16 M entries (≤ 4ε). The transformed terms are up to
    /// 4 · 2.25 = 9× larger than the direct products they replace and cancel in the output
    /// transform: that is where Winograd loses against the direct path. The scale above only
    /// counts taps that meet the image, while the weights of taps over the zero padding still
    /// pass through the transforms and cancel, so the worst case is a tiny image with one input
    /// channel. Measured at the sizes below (every level, f32 and int8 weights): Winograd
    /// 10.6 ε at 1 × 1 pixels, 1 → 130 channels, ≤ 5.1 ε elsewhere (≈ 1 ε with 33+ input
    /// channels, where the sums' random signs make the error grow like √cin against a scale
    /// growing like cin); the direct path ≤ 1.8 ε. The bound 24 ε is 2.3× the worst
    /// measurement and still catches a wrong coefficient or a missing tap (errors of order 1/ε).
    static let boundUlps = 24.0

    func testAgainstDoubleReference() {
        let sizes = [(1, 1), (2, 2), (1, 17), (17, 2), (3, 5), (5, 3), (7, 7), (17, 17)]
        let channels = [(1, 1), (3, 17), (17, 3), (33, 64), (64, 33), (130, 130), (1, 130), (130, 1)]
        var worst = (winograd: 0.0, direct: 0.0)
        for (si, (h, w)) in sizes.enumerated() {
            for (ci, (cin, cout)) in channels.enumerated() {
                if h * w * cin * cout > 17 * 17 * 64 * 64 && !(h == 7 && w == 7) && !(h == 17 && w == 2) { continue }
                let p = Problem(h: h, w: w, cin: cin, cout: cout, seed: UInt64(100 * si + ci))
                for kind in ["f32", "i8"] {
                    let (ref, mag) = p.reference(kind)
                    let direct = p.run(kind, .direct, ctx: levelContexts()[0])
                    worst.direct = max(worst.direct, Self.errorUlps(direct.out, ref, mag))
                    for ctx in levelContexts() {
                        let r = p.run(kind, .winograd, ctx: ctx)
                        let what = "\(ctx.isa) \(h)x\(w) \(cin)->\(cout) \(kind)"
                        XCTAssertTrue(r.sentinelsOK, "\(what): wrote past the output")
                        XCTAssertFalse(r.out.contains { !$0.isFinite }, "\(what): unwritten or non-finite output")
                        let e = Self.errorUlps(r.out, ref, mag)
                        worst.winograd = max(worst.winograd, e)
                        XCTAssertLessThanOrEqual(e, Self.boundUlps, "\(what): error \(e) ε")
                    }
                }
            }
        }
        print("ConvWinogradTests: largest error, in ε of Σ|x||w|: winograd \(worst.winograd), direct \(worst.direct)")
    }

    /// Several chunks (24 × 21 pixels = 132 tiles), two column blocks (cout 70), two channel
    /// blocks (cin 200 > kcF32): identical bits for 1, 2 and 3 threads on every level.
    func testThreadCountIndependence() {
        let p = Problem(h: 24, w: 21, cin: 200, cout: 70, seed: 77)
        for isa in ISA.supported {
            for kind in ["f32", "i8"] {
                let one = p.run(kind, .winograd, ctx: ComputeContext(threads: 1, isa: isa)).out
                for t in [2, 3] {
                    let other = p.run(kind, .winograd, ctx: ComputeContext(threads: t, isa: isa)).out
                    XCTAssertTrue(bitsEqual(one, other), "\(isa) \(kind): \(t) threads differ from 1")
                }
            }
        }
    }

    /// The weight transform of int8 weights is exact: every U entry equals G g Gᵀ computed in
    /// float64, read back from the packed panels (two column blocks, a partial panel, two
    /// channel blocks); for float weights it is within a few ulp of the float64 product.
    func testWeightTransform() {
        let cout = 70, cin = 200
        let p = Problem(h: 1, w: 1, cin: cin, cout: cout, seed: 5)
        let blocks = uniformBlocks(k: cin, kc: Blocking.kcF32)
        let uStride = prepackedF32Count(n: cout, blocks: blocks)
        let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        for kind in ["i8", "f32"] {
            var u = [Float](repeating: .nan, count: 16 * uStride)
            let value: (Int, Int) -> Double = { i, t in kind == "i8" ? Double(p.wq[i * 9 * cin + t]) : Double(p.wf[i * 9 * cin + t]) }
            p.wf.withUnsafeBufferPointer { f in p.wq.withUnsafeBufferPointer { q in
                let src: WeightSource = kind == "i8" ? .i8(q.baseAddress!) : .f32(f.baseAddress!)
                winogradWeights(src, n: cout, cin: cin, blocks: blocks, into: &u, stride: uStride,
                                ctx: ComputeContext(threads: 2))
            } }
            var worst = 0.0, nonFinite = 0
            for j in 0..<cout {
                for c in 0..<cin {
                    let k0 = c / Blocking.kcF32 * Blocking.kcF32, kc = min(Blocking.kcF32, cin - k0)
                    let jl = j % Blocking.nc
                    let at = Blocking.nc * (j / Blocking.nc * cin + k0) + (jl / 32) * kc * 32 + (c - k0) * 32 + jl % 32
                    for r in 0..<4 {
                        for s in 0..<4 {
                            var e = 0.0, mag = 0.0
                            for ty in 0..<3 {
                                for tx in 0..<3 {
                                    let term = g[r][ty] * value(j, (3 * ty + tx) * cin + c) * g[s][tx]
                                    e += term; mag += abs(term)
                                }
                            }
                            let got = Double(u[(4 * r + s) * uStride + at])
                            if !got.isFinite { nonFinite += 1 }
                            if kind == "i8" {
                                XCTAssertEqual(got, e, "U[\(4 * r + s)][\(j), \(c)]")
                            } else if mag > 0 {
                                worst = max(worst, abs(got - e) / mag)
                            }
                        }
                    }
                }
            }
            // float: two stages of 3-term sums (2 roundings each, halving is exact), so the
            // error is at most about 4ε of Σ |terms|; 8ε leaves room for the bound's slack
            if kind == "f32" { XCTAssertLessThanOrEqual(worst, 8 * Double(Float.ulpOfOne), "float weight transform") }
            // (`max` passes over NaN, the value U starts with: count entries left unwritten)
            XCTAssertEqual(nonFinite, 0, "\(kind): U entries not finite (unwritten)")
            // columns 70 ..< 96 (the last panel's padding) are zero for every ξ and channel
            for xi in 0..<16 {
                for k0 in stride(from: 0, to: cin, by: Blocking.kcF32) {
                    let kc = min(Blocking.kcF32, cin - k0), base = xi * uStride + Blocking.nc * (cin + k0)
                    for c in 0..<kc { for jj in (cout - Blocking.nc)..<32 { XCTAssertEqual(u[base + c * 32 + jj], 0) } }
                }
            }
        }
    }

    /// `.automatic` takes Winograd for the VAE's wide convolutions and the direct path for its
    /// conv_in (4 inputs) and conv_out (3 outputs): bit-identical to the forced path in each case.
    func testAutomaticChoice() {
        let ctx = ComputeContext(threads: 2)
        for (cin, cout, expected) in [(64, 64, ConvAlgorithm.winograd), (4, 64, .direct), (64, 3, .direct)] {
            let p = Problem(h: 9, w: 10, cin: cin, cout: cout, seed: UInt64(cin + cout))
            for kind in ["f32", "i8"] {
                let auto = p.run(kind, .automatic, ctx: ctx).out
                let forced = p.run(kind, expected, ctx: ctx).out
                let other = p.run(kind, expected == .winograd ? .direct : .winograd, ctx: ctx).out
                XCTAssertTrue(bitsEqual(auto, forced), "\(cin)->\(cout) \(kind): automatic is not \(expected)")
                XCTAssertFalse(bitsEqual(auto, other), "\(cin)->\(cout) \(kind): both paths gave the same bits")
            }
        }
    }

    /// int4 weights have no convolution kernel: they are dequantized and take the float path,
    /// so with 32 → 20 channels `.automatic` is Winograd (same bits as forced) and within the
    /// bound of the double reference, with the sentinels past the output intact.
    func testInt4WeightsTakeWinograd() {
        let h = 7, w = 9, cin = 32, cout = 20, count = h * w * cout
        var rng = TestRNG(321)
        let x = rng.floats(h * w * cin), bias = rng.floats(cout)
        let q4 = Q4MatmulTests.blocks(n: cout, k: 9 * cin, rng: &rng)
        let ctx = ComputeContext(threads: 2)
        q4.withUnsafeBytes { qp in
            let wm = WeightMatrix(q4: qp.baseAddress!, n: cout, k: 9 * cin)
            func run(_ algorithm: ConvAlgorithm) -> [Float] {
                var buf = [Float](repeating: .nan, count: count + 5)
                for i in count..<(count + 5) { buf[i] = 7.25 }
                conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: bias, out: &buf, mode: .w8a32, ctx: ctx,
                        algorithm: algorithm)
                XCTAssertEqual(Array(buf[count...]), [Float](repeating: 7.25, count: 5), "\(algorithm): wrote past the output")
                return Array(buf[0..<count])
            }
            let auto = run(.automatic), wino = run(.winograd), direct = run(.direct)
            XCTAssertTrue(bitsEqual(auto, wino), "int4 weights: automatic is not Winograd")
            XCTAssertFalse(bitsEqual(wino, direct), "int4 weights: both paths gave the same bits")
            var ref = [Float](repeating: .nan, count: count), mag = ref
            Reference.conv3x3(x, height: h, width: w, inChannels: cin, wm, bias: bias, out: &ref, mode: .w8a32)
            let aw = (0..<(cout * 9 * cin)).map { abs(wm.value($0 / (9 * cin), $0 % (9 * cin))) }
            aw.withUnsafeBufferPointer { awp in
                Reference.conv3x3(x.map { abs($0) }, height: h, width: w, inChannels: cin,
                                  WeightMatrix(f32: awp.baseAddress!, n: cout, k: 9 * cin), bias: bias.map { abs($0) },
                                  out: &mag, mode: .w8a32)
            }
            let e = Self.errorUlps(auto, ref, mag.map { Double($0) })
            XCTAssertLessThanOrEqual(e, Self.boundUlps, "int4 weights: error \(e) ε")
        }
    }
}
