// The stages `reptok bench pipeline` times: what one call of each runs, the weight bytes it reads,
// and the reference figures and targets it is compared with.
import Formats
import Foundation
import Kernels
import ModelFile
import Runtime

/// The reference machines the targets were set on, chosen by this CPU's best level:
/// reference figures were measured there with PyTorch (float32, eager, 2 threads, random
/// weights of the release's shapes) and the other engines named below.
enum MachineClass: String {
    /// 2-vCPU AMD EPYC Zen 4 (AVX-512 VNNI).
    case zen4
    /// 2-vCPU AMD EPYC Zen 1 (AVX2 + FMA, 256-bit operations in two halves). The targets
    /// there are the fastest other engine per stage: OpenVINO 2026.4 fp32 for the decoder
    /// step (4.06 s), PyTorch dynamic int8 and fp32 for encoder and VAE.
    case zen1

    static var current: MachineClass { ISA.best == .avx2 || ISA.best == .avxvnni ? .zen1 : .zen4 }

    var label: String {
        switch self {
        case .zen4: "2-core Zen 4 (AVX-512 VNNI)"
        case .zen1: "2-core Zen 1 (AVX2)"
        }
    }

    func pytorch(_ s: Component) -> Double {
        switch (self, s) {
        case (.zen4, .encoder): 0.31
        case (.zen4, .decoder): 1.79
        case (.zen4, .vae): 5.87
        case (.zen4, .generator): 0.31
        case (.zen1, .encoder): 0.90
        case (.zen1, .decoder): 5.05
        case (.zen1, .vae): 9.9
        case (.zen1, .generator): 0.83
        case (_, .adapter): 0   // timed within the decoder step
        }
    }

    func targetW8A8(_ s: Component) -> Double {
        switch (self, s) {
        case (.zen4, .encoder): 0.155
        case (.zen4, .decoder): 0.9
        case (.zen4, .vae): 2.9
        case (.zen4, .generator): 0.04
        case (_, .adapter): 0   // timed within the decoder step
        // Zen 1: the target is for the faster of the two modes, and int8 is no faster there
        case (.zen1, _): targetW8A32(s)
        }
    }

    func targetW8A32(_ s: Component) -> Double {
        switch (self, s) {
        case (.zen1, .encoder): 0.82
        case (.zen1, .decoder): 4.0
        case (.zen1, .vae): 9.1
        default: pytorch(s)
        }
    }
}

/// The model components as timed stages: one call of the encoder, of the decoder (one velocity,
/// with the adapter and the time conditioning), of the VAE and of the generator (one guided velocity).
extension Component {
    /// The timed stages, in report order (the adapter is part of the decoder step).
    static let timedStages: [Component] = [.encoder, .decoder, .vae, .generator]

    /// The stage's name in `--only` and the report: encoder, decoder_step, vae, generator_step.
    var benchName: String {
        switch self {
        case .encoder, .adapter, .vae: rawValue
        case .decoder: "decoder_step"
        case .generator: "generator_step"
        }
    }

    /// The timed stage named `benchName`.
    init?(benchName: String) {
        guard let c = Component.timedStages.first(where: { $0.benchName == benchName }) else { return nil }
        self = c
    }

    /// PyTorch float32 eager, 2 threads, on the reference machine of this CPU's class, seconds.
    var pytorchSeconds: Double { MachineClass.current.pytorch(self) }

    /// Fast-mode (w8a8) target, seconds; the accurate mode's target is `targetW8A32`.
    var targetW8A8: Double { MachineClass.current.targetW8A8(self) }
    var targetW8A32: Double { MachineClass.current.targetW8A32(self) }

    /// Floating-point operations of one call (`Runtime.FLOPs`) of the model in `f`.
    func flops(_ f: GGUFFile, _ c: ModelConfig) -> Double {
        switch self {
        case .encoder: FLOPs.encoder(c)
        case .decoder: FLOPs.decoderStep(c)
        case .vae: FLOPs.vae(c)
        case .generator: FLOPs.generatorStep(c, timeFeatures: FLOPs.generatorTimeFeatures(f), batch: 2)
        case .adapter: 0   // counted in the decoder step
        }
    }

    /// Weight bytes one call reads (every tensor of the stage once; of the label table only the two
    /// rows used).
    func weightBytes(_ f: GGUFFile, _ c: ModelConfig) -> Double {
        let prefixes: [String]
        switch self {
        case .encoder, .vae, .generator: prefixes = [prefix]
        case .decoder: prefixes = [Component.decoder.prefix, TensorNames.Adapter.backbone, TensorNames.Adapter.tempPosEmbed]
        case .adapter: prefixes = []   // counted in the decoder step
        }
        var total = 0.0
        for t in f.orderedTensorInfos where prefixes.contains(where: { t.name.hasPrefix($0) }) {
            total += t.name == TensorNames.Generator.labelTable ? Double(2 * c.generator.channels * 4) : Double(t.byteCount)
        }
        return total
    }

    /// A closure running one call of the stage on `p`, with deterministic inputs prepared beforehand.
    func workload(_ p: Pipeline) throws -> () throws -> Void {
        let c = p.config
        switch self {
        case .encoder:
            // A smooth test pattern in [-1, 1], [3, S, S].
            let image = (0 ..< c.imageCount).map { i in sin(Float(i % 977) * 0.0131) }
            return { _ = try p.encode(image: image) }
        case .decoder:
            let z = NoiseGenerator.gaussian(count: c.latentCount, seed: 1, stream: .decoder)
            let token = NoiseGenerator.gaussian(count: c.tokenDim, seed: 1, stream: .generator)
            return { _ = try p.decoderVelocity(latent: z, t: 0.7, token: token) }
        case .vae:
            let z = NoiseGenerator.gaussian(count: c.latentCount, seed: 2, stream: .decoder).map { $0 * c.vae.scalingFactor }
            return { _ = try p.vaeDecode(latent: z) }
        case .generator:
            let x = NoiseGenerator.gaussian(count: c.tokenDim, seed: 3, stream: .generator)
            return { _ = try p.generatorVelocity(x: x, t: 0.5, label: 1 % c.numClasses, cfgScale: c.sampling.cfgScale) }
        case .adapter:
            let token = NoiseGenerator.gaussian(count: c.tokenDim, seed: 1, stream: .generator)
            return { _ = try p.conditioning(token: token) }
        }
    }
}
