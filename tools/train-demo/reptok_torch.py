"""RepTok's inference architecture as PyTorch modules, written for this project's demo trainer.

Parameter names follow the release checkpoint's key suffixes, so a module's `state_dict()` placed
under the right prefix (see `PREFIX`) is a Lightning-layout checkpoint that `reptok convert` reads,
and the random tiny test fixture loads into these modules unchanged (`check_arch.py`).

Each part matches a section of docs/model.md:
  ViTEncoder        DINOv2 ViT with registers; output = final LayerNorm of the cls row
  Adapter           token -> one conditioning row for the decoder
  TimeConditioning  Fourier features + SwiGLU mapping network (RMSNorms)
  DecoderBackbone   transformer over 2x2 patches of the VAE latent: AdaRMSNorm, cosine-scaled
                    attention with axial RoPE, SwiGLU feed-forward
  VAEDecoder/VAEEncoder  diffusers-style AutoencoderKL halves (GroupNorm, resnets, mid attention)
  MixerGenerator    MLP-Mixer over the 3 rows [noisy token, label, time]

Shapes in comments: B batch, C channels, T tokens.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# Where each module's state dict lives in the release checkpoint.
PREFIX = {
    "encoder": "first_stage.encoder.encoder.",
    "adapter": "first_stage.decoder.decoder.encoder.dino.",
    "time": "first_stage.decoder.decoder.",
    "decoder": "first_stage.decoder.decoder.backbone.",
    "vae": "first_stage.decoder.decoder.ae.ae.",
    "generator_ema": "ema_model.net.",
    "generator": "model.net.",
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------------------------------------
# Encoder (DINOv2 with registers)

class _Mlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact (erf) GELU


class _LayerScale(nn.Module):
    def __init__(self, d, init=1e-1):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((d,), init))

    def forward(self, x):
        return x * self.gamma


class _ViTAttention(nn.Module):
    def __init__(self, d, head_dim=64):
        super().__init__()
        self.heads, self.head_dim = d // head_dim, head_dim
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):                                      # x [B, T, d]
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, t, d))


class _ViTBlock(nn.Module):
    def __init__(self, d, mlp_ratio=4):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = _ViTAttention(d)
        self.ls1 = _LayerScale(d)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = _Mlp(d, mlp_ratio * d)
        self.ls2 = _LayerScale(d)

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class ViTEncoder(nn.Module):
    """Image [B,3,S,S] (already resized to the encoder input size and normalised) -> [B, width]."""

    def __init__(self, width, depth, registers=4, patch=14, pos_grid=37):
        super().__init__()
        self.patch, self.pos_grid = patch, pos_grid
        self.cls_token = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.register_tokens = nn.Parameter(torch.randn(1, registers, width) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + pos_grid * pos_grid, width) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(1, width))  # unused at inference; kept for the layout
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, width, patch, stride=patch)
        self.blocks = nn.ModuleList([_ViTBlock(width) for _ in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-6)

    def pos_table(self, grid):
        """cls row + the learned grid resized to grid x grid (antialiased bicubic, a = -0.5)."""
        n, w = self.pos_grid, self.pos_embed.shape[-1]
        table = self.pos_embed[:, 1:].reshape(1, n, n, w).permute(0, 3, 1, 2)
        if grid != n:
            table = F.interpolate(table, size=(grid, grid), mode="bicubic", antialias=True, align_corners=False)
        return torch.cat([self.pos_embed[:, :1], table.permute(0, 2, 3, 1).reshape(1, grid * grid, w)], dim=1)

    def tokens_in(self, x):                                    # -> [B, 1 + R + g*g, width]
        p = self.patch_embed.proj(x)                           # [B, w, g, g]
        g = p.shape[-1]
        p = p.flatten(2).transpose(1, 2)                       # patches row by row
        pos = self.pos_table(g)
        cls = self.cls_token.expand(x.shape[0], -1, -1) + pos[:, :1]
        reg = self.register_tokens.expand(x.shape[0], -1, -1)
        return torch.cat([cls, reg, p + pos[:, 1:]], dim=1)

    def forward(self, x):
        h = self.tokens_in(x)
        for blk in self.blocks:
            h = blk(h)
        return self.norm(h)[:, 0]


def encoder_input(image, size):
    """Image in [-1, 1], [B,3,H,W] -> encoder input [B,3,size,size]: bilinear (no antialias),
    then ImageNet normalisation of (x + 1) / 2."""
    x = F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x + 1) / 2 - mean) / std


# ---------------------------------------------------------------------------------------------
# Adapter and time conditioning

class _ResidualProjection(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.fc = nn.Linear(d_in, d_out)
        self.ln = nn.LayerNorm(d_out, eps=1e-5)


class Adapter(nn.Module):
    """Decoder token t [B, d_enc] -> conditioning row c [B, d_dec] = LN(fc(u)) + zero-pad(u), u = t + temp_pos."""

    def __init__(self, d_enc, d_dec):
        super().__init__()
        self.new_reg = nn.Parameter(torch.randn(1, 2, d_enc) * 0.02)  # only affects rows the decoder drops
        self.temp_pos_embed = nn.Parameter(torch.zeros(1, 1, 1, d_enc))
        self.backbone = _ResidualProjection(d_enc, d_dec)

    def forward(self, t):
        u = t + self.temp_pos_embed.view(1, -1)
        return self.backbone.ln(self.backbone.fc(u)) + F.pad(u, (0, self.backbone.fc.out_features - u.shape[-1]))


class _RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * self.scale * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


def _swiglu(h):
    a, g = h.chunk(2, dim=-1)
    return a * F.silu(g)


class _MappingBlock(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.norm = _RMSNorm(d)
        self.up_proj = nn.Linear(d, 2 * hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)

    def forward(self, h):
        return h + self.down_proj(_swiglu(self.up_proj(self.norm(h))))


class _Mapping(nn.Module):
    def __init__(self, d, depth, hidden):
        super().__init__()
        self.in_norm = _RMSNorm(d)
        self.blocks = nn.ModuleList([_MappingBlock(d, hidden) for _ in range(depth)])
        self.out_norm = _RMSNorm(d)

    def forward(self, h):
        h = self.in_norm(h)
        for b in self.blocks:
            h = b(h)
        return self.out_norm(h)


class TimeConditioning(nn.Module):
    """Decoder time t [B] -> cond [B, d]: e = [cos 2πtW, sin 2πtW], time_in_proj, mapping network."""

    def __init__(self, d, depth, hidden, features):
        super().__init__()
        self.time_emb = nn.Linear(1, features // 2, bias=False)  # weight [features/2, 1]
        nn.init.normal_(self.time_emb.weight, std=1.0)
        self.time_in_proj = nn.Linear(features, d, bias=False)
        self.mapping = _Mapping(d, depth, hidden)

    def forward(self, t):
        f = 2 * math.pi * t.view(-1, 1) * self.time_emb.weight[:, 0].view(1, -1)
        return self.mapping(self.time_in_proj(torch.cat([torch.cos(f), torch.sin(f)], dim=-1)))


# ---------------------------------------------------------------------------------------------
# Decoder transformer

class _AdaRMSNorm(nn.Module):
    def __init__(self, d, d_cond):
        super().__init__()
        self.linear = nn.Linear(d_cond, d, bias=False)
        nn.init.zeros_(self.linear.weight)

    def forward(self, x, cond):                                # x [B,T,d], cond [B,d_cond]
        return x * (1 + self.linear(cond)).unsqueeze(1) * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


def default_rope_freqs(heads, head_dim):
    """[2, heads, head_dim/8] angular frequencies, log-spaced from π to 10π across heads and
    dims: positions span [-1, 1], so the slowest turns half a circle over the canvas."""
    n = head_dim // 8
    f = torch.exp(torch.linspace(math.log(math.pi), math.log(10 * math.pi), heads * n + 1)[:-1])
    f = f.view(n, heads).T.contiguous()                        # interleave heads over the range
    return torch.stack([f, f])


class _PosEmb(nn.Module):
    def __init__(self, heads, head_dim):
        super().__init__()
        self.register_buffer("freqs", default_rope_freqs(heads, head_dim))


class _SelfAttention(nn.Module):
    def __init__(self, d, head_dim, d_cond):
        super().__init__()
        self.heads, self.head_dim = d // head_dim, head_dim
        self.norm = _AdaRMSNorm(d, d_cond)
        self.qkv_proj = nn.Linear(d, 3 * d, bias=False)
        self.scale = nn.Parameter(torch.full((self.heads,), 10.0))
        self.pos_emb = _PosEmb(self.heads, head_dim)
        self.out_proj = nn.Linear(d, d, bias=False)
        nn.init.zeros_(self.out_proj.weight)

    def _rope(self, v, pos):                                   # v [B,H,T,dh], pos [T,2] (y, x)
        f = self.pos_emb.freqs                                 # [2, H, n]
        theta = torch.cat([pos[:, 0].view(1, -1, 1) * f[0].unsqueeze(1),
                           pos[:, 1].view(1, -1, 1) * f[1].unsqueeze(1)], dim=-1)  # [H, T, 2n]
        r = theta.shape[-1]
        a, b, rest = v[..., :r], v[..., r:2 * r], v[..., 2 * r:]
        cos, sin = torch.cos(theta), torch.sin(theta)
        return torch.cat([a * cos - b * sin, b * cos + a * sin, rest], dim=-1)

    def forward(self, x, cond, pos):
        b, t, d = x.shape
        q, k, v = self.qkv_proj(self.norm(x, cond)).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        s = self.scale.sqrt().view(1, -1, 1, 1)
        q = q * s * torch.rsqrt(q.pow(2).sum(-1, keepdim=True) + 1e-6)
        k = k * s * torch.rsqrt(k.pow(2).sum(-1, keepdim=True) + 1e-6)
        q, k = self._rope(q, pos), self._rope(k, pos)
        a = torch.softmax(q @ k.transpose(-1, -2), dim=-1)     # scale 1: the cosine scaling sets it
        return x + self.out_proj((a @ v).transpose(1, 2).reshape(b, t, d))


class _FeedForward(nn.Module):
    def __init__(self, d, hidden, d_cond):
        super().__init__()
        self.norm = _AdaRMSNorm(d, d_cond)
        self.up_proj = nn.Linear(d, 2 * hidden, bias=False)
        self.down_proj = nn.Linear(hidden, d, bias=False)
        nn.init.zeros_(self.down_proj.weight)

    def forward(self, x, cond):
        return x + self.down_proj(_swiglu(self.up_proj(self.norm(x, cond))))


class _Layer(nn.Module):
    def __init__(self, d, head_dim, hidden, d_cond):
        super().__init__()
        self.self_attn = _SelfAttention(d, head_dim, d_cond)
        self.ff = _FeedForward(d, hidden, d_cond)

    def forward(self, x, cond, pos):
        return self.ff(self.self_attn(x, cond, pos), cond)


class DecoderBackbone(nn.Module):
    """Velocity v [B,4,H,W] of the latent z at time t, given cond [B,d_cond] and the row c [B,d]."""

    def __init__(self, d, depth, head_dim, hidden, d_cond, latent_channels=4):
        super().__init__()
        lc = latent_channels
        self.mid_merge = nn.Module()
        self.mid_merge.pre_proj = nn.Module()
        self.mid_merge.pre_proj.proj = nn.Linear(4 * lc, d, bias=False)
        self.mid_merge.proj = nn.Linear(d, d, bias=False)
        self.mid_level = nn.ModuleList([_Layer(d, head_dim, hidden, d_cond) for _ in range(depth)])
        self.mid_split = nn.Module()
        self.mid_split.post_proj = nn.Module()
        self.mid_split.post_proj.norm = _RMSNorm(d)
        self.mid_split.post_proj.proj = nn.Linear(d, 4 * lc, bias=False)

    @staticmethod
    def positions(h, w):
        """[1 + (h/2)(w/2), 2] (y, x): the conditioning row at (0,0), then each 2x2 patch at the mean of its cells."""
        ys = -1 + (2 * torch.arange(h, dtype=torch.float32) + 1) / h
        xs = -1 + (2 * torch.arange(w, dtype=torch.float32) + 1) / w
        py = ys.view(-1, 2).mean(1)
        px = xs.view(-1, 2).mean(1)
        grid = torch.stack(torch.meshgrid(py, px, indexing="ij"), dim=-1).reshape(-1, 2)
        return torch.cat([torch.zeros(1, 2), grid], dim=0)

    def forward(self, z, cond, c):
        b, ch, h, w = z.shape
        patches = z.view(b, ch, h // 2, 2, w // 2, 2).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // 2) * (w // 2), 4 * ch)
        x = torch.cat([c.unsqueeze(1), self.mid_merge.pre_proj.proj(patches)], dim=1)
        x = self.mid_merge.proj(x)
        pos = self.positions(h, w).to(z.dtype)
        for layer in self.mid_level:
            x = layer(x, cond, pos)
        out = self.mid_split.post_proj.proj(self.mid_split.post_proj.norm(x[:, 1:]))  # [B, N, 4ch]
        return out.view(b, h // 2, w // 2, 2, 2, ch).permute(0, 5, 1, 3, 2, 4).reshape(b, ch, h, w)


# ---------------------------------------------------------------------------------------------
# VAE (diffusers AutoencoderKL layout)

class _Resnet(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class _VAEAttention(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        a = torch.softmax(self.to_q(n) @ self.to_k(n).transpose(1, 2) / math.sqrt(c), dim=-1)
        return x + self.to_out[0](a @ self.to_v(n)).transpose(1, 2).view(b, c, h, w)


class _Mid(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.resnets = nn.ModuleList([_Resnet(c, c, groups), _Resnet(c, c, groups)])
        self.attentions = nn.ModuleList([_VAEAttention(c, groups)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class _Sampler(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=stride, padding=1 if stride == 1 else 0)


class VAEDecoder(nn.Module):
    def __init__(self, channels, layers_per_block, groups, latent_channels=4):
        super().__init__()
        rev = list(reversed(channels))
        self.conv_in = nn.Conv2d(latent_channels, rev[0], 3, padding=1)
        self.mid_block = _Mid(rev[0], groups)
        self.up_blocks = nn.ModuleList()
        prev = rev[0]
        for i, c in enumerate(rev):
            blk = nn.Module()
            blk.resnets = nn.ModuleList([_Resnet(prev if r == 0 else c, c, groups) for r in range(layers_per_block + 1)])
            if i < len(rev) - 1:
                blk.upsamplers = nn.ModuleList([_Sampler(c, 1)])
            self.up_blocks.append(blk)
            prev = c
        self.conv_norm_out = nn.GroupNorm(groups, channels[0], eps=1e-6)
        self.conv_out = nn.Conv2d(channels[0], 3, 3, padding=1)

    def forward(self, z):
        h = self.mid_block(self.conv_in(z))
        for blk in self.up_blocks:
            for r in blk.resnets:
                h = r(h)
            if hasattr(blk, "upsamplers"):
                h = blk.upsamplers[0].conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class VAEEncoder(nn.Module):
    """Only for training the autoencoder: image [B,3,H,W] -> (mean, logvar) [B,2*latent,...] before quant_conv."""

    def __init__(self, channels, layers_per_block, groups, latent_channels=4):
        super().__init__()
        self.conv_in = nn.Conv2d(3, channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        prev = channels[0]
        for i, c in enumerate(channels):
            blk = nn.Module()
            blk.resnets = nn.ModuleList([_Resnet(prev if r == 0 else c, c, groups) for r in range(layers_per_block)])
            if i < len(channels) - 1:
                blk.downsamplers = nn.ModuleList([_Sampler(c, 2)])
            self.down_blocks.append(blk)
            prev = c
        self.mid_block = _Mid(channels[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, channels[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(channels[-1], 2 * latent_channels, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for blk in self.down_blocks:
            for r in blk.resnets:
                h = r(h)
            if hasattr(blk, "downsamplers"):
                h = blk.downsamplers[0].conv(F.pad(h, (0, 1, 0, 1)))
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(h))))


class Autoencoder(nn.Module):
    """`encoder`, `quant_conv`, `post_quant_conv`, `decoder`: the keys under `...ae.ae.`."""

    def __init__(self, channels, layers_per_block, groups, latent_channels=4):
        super().__init__()
        self.encoder = VAEEncoder(channels, layers_per_block, groups, latent_channels)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.decoder = VAEDecoder(channels, layers_per_block, groups, latent_channels)

    def encode(self, x):
        mean, logvar = self.quant_conv(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30, 20)

    def decode(self, z):                                       # z: unscaled latent
        return self.decoder(self.post_quant_conv(z))


# ---------------------------------------------------------------------------------------------
# Generator (MLPMixer1D, one token)

class _PreNormResidual(nn.Module):
    def __init__(self, d, fn):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.fn = fn

    def forward(self, x):
        return x + self.fn(self.norm(x))


class _TimeEmbedder(nn.Module):
    def __init__(self, c, features=256):
        super().__init__()
        self.features = features
        self.mlp = nn.Sequential(nn.Linear(features, c), nn.SiLU(), nn.Linear(c, c))

    def forward(self, t):
        half = self.features // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        a = t.view(-1, 1).float() * freqs.view(1, -1)
        return self.mlp(torch.cat([torch.cos(a), torch.sin(a)], dim=-1))


class _LabelEmbedder(nn.Module):
    def __init__(self, classes, c):
        super().__init__()
        self.embedding_table = nn.Embedding(classes + 1, c)   # row `classes` = unconditional


class MixerGenerator(nn.Module):
    """Velocity of the token x [B, C] at time t [B] for labels y [B] (y = num_classes: unconditional)."""

    def __init__(self, c, d, depth, token_expansion, channel_expansion, classes, rows=3):
        super().__init__()
        self.classes = classes
        self.pos_embed = nn.Parameter(torch.zeros(1, 1, c))
        self.t_embedder = _TimeEmbedder(c)
        self.label_embedder = _LabelEmbedder(classes, c)
        layers = [nn.Linear(c, d)]
        for _ in range(depth):
            layers.append(nn.Sequential(
                _PreNormResidual(d, nn.Sequential(nn.Conv1d(rows, rows * token_expansion, 1), nn.GELU(), nn.Dropout(0.0),
                                                  nn.Conv1d(rows * token_expansion, rows, 1))),
                _PreNormResidual(d, nn.Sequential(nn.Linear(d, d * channel_expansion), nn.GELU(), nn.Dropout(0.0),
                                                  nn.Linear(d * channel_expansion, d)))))
        layers += [nn.LayerNorm(d, eps=1e-5), nn.Linear(d, c)]
        self.mixer = nn.Sequential(*layers)

    def forward(self, x, t, y):
        seq = torch.stack([x + self.pos_embed.view(1, -1), self.label_embedder.embedding_table(y), self.t_embedder(t)], dim=1)
        return self.mixer(seq)[:, 0]


def rename_mixer_keys(state, compiled=True):
    """`mixer.<i>...` <-> `mixer._orig_mod.<i>...` (the release's generator was torch.compile'd)."""
    out = {}
    for k, v in state.items():
        if compiled and k.startswith("mixer.") and not k.startswith("mixer._orig_mod."):
            k = "mixer._orig_mod." + k[len("mixer."):]
        elif not compiled:
            k = k.replace("mixer._orig_mod.", "mixer.")
        out[k] = v
    return out


def hyper_parameters(channels, dim, depth, expansion_token, expansion_channel, num_classes, image_size, scale_factor,
                     sample_kwargs):
    """The `hyper_parameters` a Lightning checkpoint of the release's layout carries, as far as
    `reptok convert` reads them: the generator's sizes, the image size, the token scale factor and
    the sampling defaults (docs/model.md)."""
    return {
        "flow_cfg": {"target": "reptok.flow.FlowModel", "params": {"schedule": "linear", "sigma_min": 0.0, "net_cfg": {
            "target": "reptok.models.mlp-mixer.MLPMixer1D", "params": {
                "n_channels": 1, "channels": channels, "dim": dim, "depth": depth,
                "expansion_factor": expansion_token, "expansion_factor_token": expansion_channel,
                "num_classes": num_classes}}}},
        "first_stage_cfg": {"target": "reptok.trainer.TrainerAutoencoder", "params": {
            "image_size": image_size, "scale_factor": scale_factor}},
        "sample_kwargs": dict(sample_kwargs),
    }
