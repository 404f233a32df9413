// The model sizes and sampling defaults, read from the GGUF metadata (docs/gguf-format.md) by
// Quant's `ModelArchitecture`; the sizes the runtime derives from them.
import Foundation
import Quant

/// Every size the runtime needs: the `ModelArchitecture` (Quant) the converter wrote into the file's
/// `reptok.*` metadata. Sizes are element counts; images and latents are square or rectangular grids
/// as noted on the fields.
public typealias ModelConfig = ModelArchitecture

extension ModelArchitecture {
    /// Reads and checks the metadata of a converted file (`init(metadata:path:)`), with its errors as
    /// the matching `RuntimeError` cases (each names the file, and the key where there is one).
    public static func load(metadata md: [String: GGUFValue], path: String) throws -> ModelConfig {
        do {
            return try ModelConfig(metadata: md, path: path)
        } catch let e as ArchitectureError {
            throw RuntimeError(e)
        }
    }

    /// RepTok token size (C = encoder width).
    public var tokenDim: Int { encoder.width }
    /// Classes of the generator (K).
    public var numClasses: Int { generator.numClasses }
    /// Latent shape [channels, height, width].
    public var latentShape: [Int] { [decoder.latentChannels, decoder.latentH, decoder.latentW] }
    /// Values in one latent.
    public var latentCount: Int { decoder.latentChannels * decoder.latentH * decoder.latentW }
    /// Values in one output image [3, S, S].
    public var imageCount: Int { 3 * imageSize * imageSize }
}

extension ModelArchitecture.Encoder {
    /// Head size = width / heads (64).
    public var headDim: Int { width / heads }
    /// Sequence length 1 + R + g² (261).
    public var tokens: Int { 1 + registers + grid * grid }
}

extension ModelArchitecture.Decoder {
    /// Patch tokens (latentH/p × latentW/p = 256).
    public var patchTokens: Int { (latentH / patchSize) * (latentW / patchSize) }
    /// Values per patch: p × p × latent channels (16).
    public var patchValues: Int { patchSize * patchSize * latentChannels }
    /// Sequence length: conditioning token + patch tokens (257).
    public var tokens: Int { 1 + patchTokens }
}

extension RuntimeError {
    /// The same failure as a runtime loading error (`inconsistent` problems joined with "; ").
    public init(_ e: ArchitectureError) {
        switch e {
        case let .wrongArchitecture(path, found): self = .wrongArchitecture(path: path, found: found)
        case let .unsupportedFormatVersion(path, found, supported): self = .unsupportedFormatVersion(path: path, found: found, supported: supported)
        case let .missingMetadata(path, key): self = .missingMetadata(path: path, key: key)
        case let .badMetadata(path, key, reason): self = .badMetadata(path: path, key: key, reason: reason)
        case let .inconsistent(path, problems): self = .inconsistentConfig(path: path, reason: problems.joined(separator: "; "))
        }
    }
}
