// The five parts of a RepTok model file, named once for the converter, the loader, progress and the bench.
import Foundation

/// The model parts a converted file holds: the one name for them in the converter (key table,
/// report), the runtime's loader (which tensors each part read, released by `--low-memory`), the
/// progress callback and `reptok bench pipeline`.
public enum Component: String, CaseIterable, Sendable {
    case encoder, adapter, decoder, vae, generator

    /// What the part does, as progress bars and timing summaries name it: encode, adapter, decode,
    /// vae, generate.
    public var activity: String {
        switch self {
        case .encoder: return "encode"
        case .adapter: return "adapter"
        case .decoder: return "decode"
        case .vae: return "vae"
        case .generator: return "generate"
        }
    }

    /// GGUF name prefix (every name in `TensorNames` starts with its component's).
    public var prefix: String {
        switch self {
        case .encoder: return "enc."
        case .adapter: return "adapter."
        case .decoder: return "dec."
        case .vae: return "vae."
        case .generator: return "gen."
        }
    }

    /// Human name used in reports and errors.
    public var title: String {
        switch self {
        case .encoder: return "encoder (DINOv2)"
        case .adapter: return "adapter"
        case .decoder: return "decoder (time conditioning + transformer)"
        case .vae: return "VAE decoder"
        case .generator: return "generator (MLP-Mixer)"
        }
    }
}
