// The stages `reptok bench pipeline` times: what one call of each runs, and the reference figures
// and targets it is compared with. What a call costs (FLOPs, weight bytes) is Runtime's
// `Pipeline.cost(of:)`.
import Foundation
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

    func pytorch(_ s: Stage) -> Double {
        switch (self, s) {
        case (.zen4, .encoder): 0.31
        case (.zen4, .decoderStep): 1.79
        case (.zen4, .vae): 5.87
        case (.zen4, .generatorStep): 0.31
        case (.zen1, .encoder): 0.90
        case (.zen1, .decoderStep): 5.05
        case (.zen1, .vae): 9.9
        case (.zen1, .generatorStep): 0.83
        }
    }

    func targetW8A8(_ s: Stage) -> Double {
        switch (self, s) {
        case (.zen4, .encoder): 0.155
        case (.zen4, .decoderStep): 0.9
        case (.zen4, .vae): 2.9
        case (.zen4, .generatorStep): 0.04
        // Zen 1: the target is for the faster of the two modes, and int8 is no faster there
        case (.zen1, _): targetW8A32(s)
        }
    }

    func targetW8A32(_ s: Stage) -> Double {
        switch (self, s) {
        case (.zen1, .encoder): 0.82
        case (.zen1, .decoderStep): 4.0
        case (.zen1, .vae): 9.1
        default: pytorch(s)
        }
    }
}

/// The timed stages: one call of the encoder, of the decoder (one velocity, with the adapter and
/// the time conditioning), of the VAE and of the generator (one guided velocity).
extension Stage {
    /// PyTorch float32 eager, 2 threads, on the reference machine of this CPU's class, seconds.
    var pytorchSeconds: Double { MachineClass.current.pytorch(self) }

    /// Fast-mode (w8a8) target, seconds; the accurate mode's target is `targetW8A32`.
    var targetW8A8: Double { MachineClass.current.targetW8A8(self) }
    var targetW8A32: Double { MachineClass.current.targetW8A32(self) }

    /// A closure running one call of the stage on `p`, with deterministic inputs prepared beforehand.
    func workload(_ p: Pipeline) throws -> () throws -> Void {
        let c = p.config
        switch self {
        case .encoder:
            // A smooth test pattern in [-1, 1], [3, S, S].
            let image = (0 ..< c.imageCount).map { i in sin(Float(i % 977) * 0.0131) }
            return { _ = try p.encode(image: image) }
        case .decoderStep:
            let z = NoiseGenerator.gaussian(count: c.latentCount, seed: 1, stream: .decoder)
            let token = NoiseGenerator.gaussian(count: c.tokenDim, seed: 1, stream: .generator)
            return { _ = try p.decoderVelocity(latent: z, t: 0.7, token: token) }
        case .vae:
            let z = NoiseGenerator.gaussian(count: c.latentCount, seed: 2, stream: .decoder).map { $0 * c.vae.scalingFactor }
            return { _ = try p.vaeDecode(latent: z) }
        case .generatorStep:
            let x = NoiseGenerator.gaussian(count: c.tokenDim, seed: 3, stream: .generator)
            return { _ = try p.generatorVelocity(x: x, t: 0.5, label: 1 % c.numClasses, cfgScale: c.sampling.cfgScale) }
        }
    }
}
