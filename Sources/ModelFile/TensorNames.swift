// Every GGUF tensor name, once: the converter's tensor list (`requiredTensors`), its size lookups
// (`ConfigResolver`) and the runtime's model files all take their names from here.
//
// Names are the component prefix (`Component.prefix`) plus the key relative to that component's
// checkpoint prefix (the key table, `keyRules` in KeyMapping.swift; docs/gguf-format.md, 'Tensor names').
import Foundation

/// The GGUF tensor names, component by component, in the order of the model files.
public enum TensorNames {
    /// A Linear, Conv or norm layer: `<prefix>.weight` and `<prefix>.bias`.
    public struct Layer: Sendable, Equatable {
        public let prefix: String
        public init(_ prefix: String) { self.prefix = prefix }
        public var weight: String { prefix + ".weight" }
        public var bias: String { prefix + ".bias" }
        /// Per-row scales of the int8 weight (`<prefix>.weight.scale`).
        public var weightScale: String { TensorNames.scale(of: weight) }
    }

    /// The F32 per-row scales stored next to an int8 tensor `name` (docs/gguf-format.md).
    public static func scale(of name: String) -> String { name + scaleSuffix }
    /// The suffix of those scales.
    public static let scaleSuffix = ".scale"

    /// DINOv2 encoder (`Sources/Runtime/Encoder.swift`).
    public enum Encoder {
        static let p = Component.encoder.prefix
        public static let clsToken = p + "cls_token"
        public static let registerTokens = p + "register_tokens"
        public static let posEmbed = p + "pos_embed"
        public static let patchEmbed = Layer(p + "patch_embed.proj")
        /// Prefix of every block (`enc.blocks.<i>.`).
        public static let blocks = p + "blocks."
        public static func block(_ i: Int) -> Block { Block(blocks + "\(i).") }
        public static let norm = Layer(p + "norm")

        public struct Block: Sendable {
            public let norm1, qkv, proj: Layer
            public let ls1: String
            public let norm2, fc1, fc2: Layer
            public let ls2: String
            init(_ k: String) {
                norm1 = Layer(k + "norm1")
                qkv = Layer(k + "attn.qkv")
                proj = Layer(k + "attn.proj")
                ls1 = k + "ls1.gamma"
                norm2 = Layer(k + "norm2")
                fc1 = Layer(k + "mlp.fc1")
                fc2 = Layer(k + "mlp.fc2")
                ls2 = k + "ls2.gamma"
            }
        }
    }

    /// Adapter (`Sources/Runtime/Adapter.swift`).
    public enum Adapter {
        static let p = Component.adapter.prefix
        /// Extra tokens, written when the checkpoint has them; the runtime does not read them.
        public static let newReg = p + "new_reg"
        public static let tempPosEmbed = p + "temp_pos_embed"
        /// Prefix of the projection (`fc`, `ln`).
        public static let backbone = p + "backbone."
        public static let fc = Layer(backbone + "fc")
        public static let ln = Layer(backbone + "ln")
    }

    /// Time conditioning and mapping network, under `dec.` (`Sources/Runtime/TimeConditioning.swift`).
    public enum TimeConditioning {
        static let p = Component.decoder.prefix
        public static let timeEmb = p + "time_emb.weight"
        public static let timeInProj = Layer(p + "time_in_proj")
        public static let inNorm = p + "mapping.in_norm.scale"
        /// Prefix of every mapping block (`dec.mapping.blocks.<i>.`).
        public static let blocks = p + "mapping.blocks."
        public static func block(_ i: Int) -> Block { Block(blocks + "\(i).") }
        public static let outNorm = p + "mapping.out_norm.scale"

        public struct Block: Sendable {
            /// RMSNorm scale.
            public let norm: String
            public let up, down: Layer
            init(_ k: String) {
                norm = k + "norm.scale"
                up = Layer(k + "up_proj")
                down = Layer(k + "down_proj")
            }
        }
    }

    /// Decoder transformer, under `dec.backbone.` (`Sources/Runtime/DecoderTransformer.swift`).
    public enum Decoder {
        public static let backbone = Component.decoder.prefix + "backbone."
        public static let preProj = Layer(backbone + "mid_merge.pre_proj.proj")
        public static let mergeProj = Layer(backbone + "mid_merge.proj")
        /// Prefix of every layer (`dec.backbone.mid_level.<i>.`).
        public static let layers = backbone + "mid_level."
        public static func layer(_ i: Int) -> LayerNames { LayerNames(layers + "\(i).") }
        /// RMSNorm scale of the split.
        public static let splitNorm = backbone + "mid_split.post_proj.norm.scale"
        public static let splitProj = Layer(backbone + "mid_split.post_proj.proj")

        /// The tensors of one transformer layer.
        public struct LayerNames: Sendable {
            /// AdaRMSNorm projections (weight only).
            public let attnNorm: Layer
            public let qkv: Layer
            /// Cosine-attention temperature per head.
            public let headScale: String
            /// Axial RoPE frequencies.
            public let ropeFreqs: String
            public let outProj: Layer
            public let ffNorm: Layer
            public let up, down: Layer
            init(_ k: String) {
                attnNorm = Layer(k + "self_attn.norm.linear")
                qkv = Layer(k + "self_attn.qkv_proj")
                headScale = k + "self_attn.scale"
                ropeFreqs = k + "self_attn.pos_emb.freqs"
                outProj = Layer(k + "self_attn.out_proj")
                ffNorm = Layer(k + "ff.norm.linear")
                up = Layer(k + "ff.up_proj")
                down = Layer(k + "ff.down_proj")
            }
        }
    }

    /// SD-VAE decoder, diffusers names (`Sources/Runtime/VAEDecoder.swift`).
    public enum VAE {
        static let p = Component.vae.prefix
        public static let postQuantConv = Layer(p + "post_quant_conv")
        /// Prefix of everything but `post_quant_conv`.
        public static let decoder = p + "decoder."
        static let d = decoder
        public static let convIn = Layer(d + "conv_in")
        public static func midResnet(_ i: Int) -> Resnet { Resnet(d + "mid_block.resnets.\(i)") }
        public static let midAttention = Attention(d + "mid_block.attentions.0.")
        /// Prefix of every up block (`vae.decoder.up_blocks.<b>.`).
        public static let upBlocks = d + "up_blocks."
        public static func upBlock(_ b: Int) -> UpBlock { UpBlock(upBlocks + "\(b).") }
        public static let convNormOut = Layer(d + "conv_norm_out")
        public static let convOut = Layer(d + "conv_out")

        public struct Resnet: Sendable {
            public let norm1, conv1, norm2, conv2: Layer
            /// Present only when the channel count changes.
            public let convShortcut: Layer
            init(_ k: String) {
                norm1 = Layer(k + ".norm1")
                conv1 = Layer(k + ".conv1")
                norm2 = Layer(k + ".norm2")
                conv2 = Layer(k + ".conv2")
                convShortcut = Layer(k + ".conv_shortcut")
            }
        }
        public struct Attention: Sendable {
            public let groupNorm, toQ, toK, toV, toOut: Layer
            init(_ k: String) {
                groupNorm = Layer(k + "group_norm")
                toQ = Layer(k + "to_q")
                toK = Layer(k + "to_k")
                toV = Layer(k + "to_v")
                toOut = Layer(k + "to_out.0")
            }
        }
        public struct UpBlock: Sendable {
            /// Prefix of the block's resnets (`…up_blocks.<b>.resnets.`).
            public let resnets: String
            public func resnet(_ r: Int) -> Resnet { Resnet(resnets + "\(r)") }
            /// Nearest 2× then this 3×3 conv (every block but the last).
            public let upsampler: Layer
            init(_ k: String) {
                resnets = k + "resnets."
                upsampler = Layer(k + "upsamplers.0.conv")
            }
        }
    }

    /// Generator MLP-Mixer (`Sources/Runtime/Generator.swift`): `mixer.0` is the input projection,
    /// `mixer.1 … mixer.<depth>` the layers, `mixer.<depth+1>` the final LayerNorm and
    /// `mixer.<depth+2>` the output projection.
    public enum Generator {
        static let p = Component.generator.prefix
        public static let posEmbed = p + "pos_embed"
        public static let timeFc1 = Layer(p + "t_embedder.mlp.0")
        public static let timeFc2 = Layer(p + "t_embedder.mlp.2")
        public static let labelTable = p + "label_embedder.embedding_table.weight"
        /// Prefix of every mixer entry (`gen.mixer.<i>`).
        public static let mixer = p + "mixer."
        public static let inProj = Layer(mixer + "0")
        /// Mixer layer `i`, 1 … depth.
        public static func layer(_ i: Int) -> LayerNames { LayerNames(mixer + "\(i).") }
        public static func outNorm(depth: Int) -> Layer { Layer(mixer + "\(depth + 1)") }
        public static func outProj(depth: Int) -> Layer { Layer(mixer + "\(depth + 2)") }

        /// The tensors of one mixer layer.
        public struct LayerNames: Sendable {
            /// Token mixing: LayerNorm, then two Conv1d (kernel 1) over the rows.
            public let tokenNorm, tokenFc1, tokenFc2: Layer
            /// Channel mixing: LayerNorm, then two Linear.
            public let channelNorm, channelFc1, channelFc2: Layer
            init(_ k: String) {
                tokenNorm = Layer(k + "0.norm")
                tokenFc1 = Layer(k + "0.fn.0")
                tokenFc2 = Layer(k + "0.fn.3")
                channelNorm = Layer(k + "1.norm")
                channelFc1 = Layer(k + "1.fn.0")
                channelFc2 = Layer(k + "1.fn.3")
            }
        }
    }
}
