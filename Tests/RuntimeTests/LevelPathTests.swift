// Every kernel level this CPU runs, on the whole pipeline of the tiny fixture: the goldens
// are met on each, W8A8 outputs are bit-identical across levels and float outputs agree.
import Foundation
import Quant
import Runtime
import XCTest

final class LevelPathTests: XCTestCase {
    /// Float paths on two levels may differ only by summation order: 1e-5 relative L2 on
    /// every traced tensor (the microkernels of all levels run the same FMA chains, so
    /// this machine's levels are in fact identical; the bound is for levels that are not).
    static let floatTol = 1e-5

    /// W4A8 on every level, bit for bit: the generator's int4 products run from strips
    /// repacked at load on `avx512vnni` and from the Q4_0 blocks elsewhere.
    func testInt4W4A8IsBitIdenticalOnEveryLevel() throws {
        let base = try TinyFixture.trace(.int4, mode: .w8a8, isa: .generic)
        for isa in ISA.supported where isa != .generic {
            let ours = try TinyFixture.trace(.int4, mode: .w8a8, isa: isa)
            XCTAssertEqual(Set(ours.keys), Set(base.keys))
            for (name, values) in ours {
                XCTAssertEqual(values.map(\.bitPattern), base[name]!.map(\.bitPattern), "\(name) W4A8: \(isa) differs from generic")
            }
        }
    }

    /// The decoder's int4 products in W4A8 (the tiny fixture's decoder is 144 wide, so its
    /// weights stay int8): a synthetic model of the tiny sizes with a 192-wide decoder, where
    /// `avx512vnni` reads strips repacked at the first velocity in the panel form. Every level
    /// and 1 or 2 threads give the same image bits, and again after the weights are released.
    func testInt4DecoderIsBitIdenticalOnEveryLevel() throws {
        var preset = ModelPreset.tiny
        preset.architecture.adapter = .init(width: 192)
        preset.architecture.decoder = .init(width: 192, depth: 1, heads: 6, headDim: 32, ffHidden: 384, ropeFreqs: 3,
                                            latentChannels: 4, latentH: 16, latentW: 16, patchSize: 2)
        let path = NSTemporaryDirectory() + "reptok-levelpath-\(getpid())-int4-decoder.gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SyntheticModel.write(preset: preset, output: path, weights: .int4, seed: 11)
        let token = (0..<preset.architecture.generator.channels).map { Float(($0 * 37) % 19) / 19 - 0.5 }
        func image(_ isa: ISA, threads: Int) throws -> [UInt32] {
            let p = try Pipeline(modelPath: path, options: PipelineOptions(threads: threads, mode: .w8a8, isa: isa))
            let first = try p.decode(token: token, seed: 4, steps: 2)
            p.releaseDecoderWeights()
            XCTAssertEqual(try p.decode(token: token, seed: 4, steps: 2).map(\.bitPattern), first.map(\.bitPattern),
                           "\(isa): released and rebuilt")
            return first.map(\.bitPattern)
        }
        let base = try image(.generic, threads: 1)
        for isa in ISA.supported {
            for threads in [1, 2] {
                XCTAssertEqual(try image(isa, threads: threads), base, "W4A8 decode: \(isa), \(threads) threads differs from generic")
            }
        }
    }

    func testEveryLevelMeetsTheGoldensAndAgrees() throws {
        // every level this CPU runs, amx-emulated (the AMX path on the tile model) included
        let reference = ISA.generic
        let levels = [reference] + ISA.supported.filter { $0 != reference }
        for weights in [WeightFormat.f32, .int8] {
            for mode in (weights == .f32 ? [MatrixMode.w8a32] : MatrixMode.allCases) {
                let base = try TinyFixture.trace(weights, mode: mode, isa: reference)
                for isa in levels.dropFirst() {
                    let ours = try TinyFixture.trace(weights, mode: mode, isa: isa)
                    XCTAssertEqual(Set(ours.keys), Set(base.keys))
                    for (name, values) in ours.sorted(by: { $0.key < $1.key }) {
                        let other = base[name]!
                        if weights == .int8 && mode == .w8a8 {
                            XCTAssertTrue(values.count == other.count && zip(values, other).allSatisfy { $0.bitPattern == $1.bitPattern },
                                          "\(name) W8A8: \(isa) differs from \(reference)")
                        } else {
                            XCTAssertLessThanOrEqual(Metrics.relativeL2(values, other), Self.floatTol,
                                                     "\(name) \(weights) \(mode): \(isa) vs \(reference)")
                        }
                    }
                }
                // the goldens on every level: float within the float path's bounds, int8 within its minimums
                for isa in levels {
                    let ours = try TinyFixture.trace(weights, mode: mode, isa: isa)
                    if weights == .f32 {
                        for name in FloatPathTests.single + FloatPathTests.loops {
                            let tol = FloatPathTests.single.contains(name) ? FloatPathTests.singleTolerance : FloatPathTests.loopTolerance
                            XCTAssertLessThanOrEqual(Metrics.relativeL2(ours[name]!, try TinyFixture.goldenFloats(name)), tol,
                                                     "\(name) f32 on \(isa)")
                        }
                    } else {
                        let min = mode == .w8a8 ? Int8PathTests.w8a8 : Int8PathTests.w8a32
                        let g = TinyFixture.goldenFloats
                        XCTAssertGreaterThanOrEqual(Metrics.cosine(ours["token"]!, try g("token")), min.cosine, "token \(mode) \(isa)")
                        XCTAssertLessThanOrEqual(Metrics.relativeL2(ours["dec_velocity"]!, try g("dec_velocity")), min.velocity,
                                                 "velocity \(mode) \(isa)")
                        XCTAssertGreaterThanOrEqual(Metrics.psnr(ours["dec_image"]!, try g("dec_image")), min.imagePSNR,
                                                    "dec_image \(mode) \(isa)")
                        XCTAssertGreaterThanOrEqual(Metrics.psnr(ours["vae_image_out"]!, try g("vae_image_out")), min.vaePSNR,
                                                    "vae \(mode) \(isa)")
                    }
                }
            }
        }
    }
}
