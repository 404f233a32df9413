// Floating-point operation counts of the forward passes in this folder (Encoder.swift,
// Adapter.swift, TimeConditioning.swift, DecoderTransformer.swift, VAEDecoder.swift,
// Generator.swift), as functions of the sizes a converted file records. `reptok bench pipeline`
// divides them by measured times (through `Pipeline.cost(of:)`, below); Tests/CLITests/BenchPipelineTests.swift
// checks them against a count by hand and an independent count from a file's weight shapes.
import Formats
import Foundation
import ModelFile

/// Floating-point operation counts of one call of each stage, as functions of the model sizes.
///
/// Convention: a matrix product of [M, K] by [K, N] counts 2·M·K·N (one multiply and one add per
/// term), including the m = 1 products (conditioning vectors); attention counts its two products,
/// QKᵀ (2·T·T·d per head) and PV (2·T·T·d per head), i.e. 4·T²·width per layer. Norms, activations,
/// softmax, RoPE and residual adds are not counted (they are O(T·width), under 1 %).
public enum FLOPs {
    /// Encoder on one image (docs/model.md, 'Encoder'). T = 1 + R + g² tokens (261), C width, H MLP hidden, L layers,
    /// p patch: patch embedding 2·g²·(3p²)·C, then per layer with Q query rows
    /// 2·T·C·3C (qkv) + 4·Q·T·C (attention) + 2·Q·C·C (proj) + 2·Q·C·H + 2·Q·H·C (MLP),
    /// Q = T except in the last layer, which only computes the cls row past qkv (Q = 1).
    /// `everyRowInLastLayer`: the count of an implementation that runs the last layer over every
    /// row, as the official one does (6.7 % more at the release size), for comparing with it.
    public static func encoder(_ c: ModelConfig, everyRowInLastLayer: Bool = false) -> Double {
        let e = c.encoder
        let g = Double(e.grid), p = Double(e.patchSize), C = Double(e.width), H = Double(e.mlpHidden), T = Double(e.tokens)
        let patch = 2 * g * g * 3 * p * p * C
        func layer(_ Q: Double) -> Double { 2 * T * C * 3 * C + 4 * Q * T * C + 2 * Q * C * C + 4 * Q * C * H }
        return patch + Double(e.depth - 1) * layer(T) + layer(everyRowInLastLayer ? T : 1)
    }

    /// One decoder velocity (docs/model.md, 'Adapter' to 'Decoder transformer'), including the adapter and the time conditioning.
    /// N = patch tokens (256), T = N + 1, W width, F SwiGLU hidden, M mapping width, P = p²·Cl (16):
    /// adapter 2·C·W; time_in_proj 2·(2F_t)·M; mapping per block 2·M·2H_m + 2·H_m·M;
    /// pre_proj 2·N·P·W; merge 2·T·W·W; per layer 2·(2·M·W) (the two AdaRMSNorm linears)
    /// + 2·T·W·3W (qkv) + 4·T²·W (attention) + 2·T·W·W (out) + 2·T·W·2F (up) + 2·T·F·W (down);
    /// post_proj 2·N·W·P.
    public static func decoderStep(_ c: ModelConfig) -> Double {
        let d = c.decoder, m = c.mapping
        let N = Double(d.patchTokens), T = Double(d.tokens), W = Double(d.width), F = Double(d.ffHidden)
        let M = Double(m.width), Hm = Double(m.hidden), P = Double(d.patchValues), C = Double(c.tokenDim)
        let conditioning = 2 * C * W + 2 * (2 * Double(m.timeFeatures)) * M + Double(m.depth) * (2 * M * 2 * Hm + 2 * Hm * M)
        let layer = 2 * (2 * M * W) + 2 * T * W * 3 * W + 4 * T * T * W + 2 * T * W * W + 2 * T * W * 2 * F + 2 * T * F * W
        return conditioning + 2 * N * P * W + 2 * T * W * W + Double(d.depth) * layer + 2 * N * W * P
    }

    /// SD-VAE decoder (docs/model.md, 'VAE decoder'). A 3×3 conv at h×w from cin to cout counts 2·h·w·9·cin·cout, a 1×1
    /// conv 2·h·w·cin·cout. Mid attention over n = h·w pixels of C0 channels: 4 linears 4·2·n·C0²
    /// plus 4·n²·C0.
    public static func vae(_ c: ModelConfig) -> Double {
        let chans = Array(c.vae.blockOutChannels.reversed()).map(Double.init)
        let cl = Double(c.decoder.latentChannels)
        var hw = Double(c.decoder.latentH * c.decoder.latentW)
        func conv3(_ cin: Double, _ cout: Double) -> Double { 2 * hw * 9 * cin * cout }
        func resnet(_ cin: Double, _ cout: Double) -> Double {
            conv3(cin, cout) + conv3(cout, cout) + (cin != cout ? 2 * hw * cin * cout : 0)
        }
        let c0 = chans[0]
        var total = 2 * hw * cl * cl + conv3(cl, c0)                          // post_quant_conv, conv_in
        total += resnet(c0, c0) + 4 * 2 * hw * c0 * c0 + 4 * hw * hw * c0 + resnet(c0, c0)   // mid block
        var cin = c0
        for (b, cout) in chans.enumerated() {
            for r in 0 ... c.vae.layersPerBlock { total += resnet(r == 0 ? cin : cout, cout) }
            if b < chans.count - 1 { hw *= 4; total += conv3(cout, cout) }   // nearest 2×, then 3×3 conv
            cin = cout
        }
        return total + conv3(cin, 3)                                           // conv_out (cin: the last block's channels)
    }

    /// One generator velocity for `batch` samples (2 = guided: conditional + unconditional),
    /// docs/model.md, 'Generator'. R = 3·batch rows, C token size, D width, e token expansion,
    /// H = D·e′, F_g the time embedding's input width (`timeFeatures`, 256; `Pipeline.cost(of:)` reads
    /// it from the file as `Generator` does): time embedding 2·F_g·C + 2·C·C (shared by the batch); in 2·R·C·D;
    /// per layer token mixing 2·(batch·D)·3·3e + 2·(batch·D)·3e·3 and channel mixing
    /// 2·R·D·H + 2·R·H·D; out 2·batch·D·C.
    public static func generatorStep(_ c: ModelConfig, timeFeatures: Int, batch: Int) -> Double {
        let g = c.generator
        let B = Double(batch), R = 3 * B, C = Double(g.channels), D = Double(g.dim)
        let e3 = 3 * Double(g.expansionToken), H = D * Double(g.expansionChannel)
        let layer = 2 * (B * D) * 3 * e3 * 2 + 2 * R * D * H * 2
        return 2 * Double(timeFeatures) * C + 2 * C * C + 2 * R * C * D + Double(g.depth) * layer + 2 * B * D * C
    }
}

/// The unit of work `Pipeline.cost(of:)` describes: one call of a model part, as a bench times it.
/// The raw values are the names `reptok bench pipeline` prints.
public enum Stage: String, CaseIterable, Sendable {
    /// The encoder on one image.
    case encoder
    /// One decoder velocity, with the adapter and the time conditioning it needs.
    case decoderStep = "decoder_step"
    /// The VAE decoder on one latent.
    case vae
    /// One guided generator velocity: conditional and unconditional as a batch of two.
    case generatorStep = "generator_step"

    /// The file parts whose weights the stage reads.
    var components: [Component] {
        switch self {
        case .encoder: [.encoder]
        case .decoderStep: [.adapter, .decoder]
        case .vae: [.vae]
        case .generatorStep: [.generator]
        }
    }
}

/// What one call of a `Stage` costs.
public struct StageCost: Equatable, Sendable {
    /// Floating-point operations (`FLOPs`' convention: 2·M·K·N per product, attention's two products).
    public var flops: Double
    /// Bytes of weights read: every tensor the stage's parts loaded, once, as stored in the file
    /// (int8 with its scales, Q4_0 blocks, f32), except the generator's label table, of which a
    /// guided step reads two rows of float32.
    public var weightBytes: Double
}

extension Pipeline {
    /// FLOPs and weight bytes of one call of `stage` on this file. The FLOPs come from `FLOPs`;
    /// the bytes from the tensors the loader recorded under the stage's parts while building them.
    public func cost(of stage: Stage) -> StageCost {
        let flops: Double
        switch stage {
        case .encoder: flops = FLOPs.encoder(config)
        case .decoderStep: flops = FLOPs.decoderStep(config)
        case .vae: flops = FLOPs.vae(config)
        case .generatorStep: flops = FLOPs.generatorStep(config, timeFeatures: Generator.timeFeatures(in: file), batch: 2)
        }
        var names = Set<String>()
        for component in stage.components { names.formUnion(loader.componentTensors[component] ?? []) }
        var bytes = 0.0
        for name in names {
            guard let info = file.tensorInfos[name] else { continue }
            bytes += name == TensorNames.Generator.labelTable
                ? Double(2 * config.generator.channels * MemoryLayout<Float>.size) : Double(info.byteCount)
        }
        return StageCost(flops: flops, weightBytes: bytes)
    }
}
