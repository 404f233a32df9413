#!/usr/bin/env python3
"""Trains reptok's demo model on scikit-learn's handwritten digits, on the CPU, in three stages
(as the paper trains RepTok), and writes a Lightning-layout checkpoint that `reptok convert` reads.

    python3 tools/train-demo/train.py [--out DIR] [--seed 0] [--scale 1.0]

Writes into DIR (default build-digits/, git-ignored):
    reptok-digits.ckpt   state_dict + hyper_parameters, the release checkpoint's layout
    model.yaml           the sizes `reptok convert --config` reads (encoder input, latent, decoder)
    vae-config.json      the autoencoder's config (`--vae-config`)
    classes.txt          class names, one per line (index order), for `reptok convert --classes`
    train-log.tsv        stage, step, loss, seconds
Then (the commands are printed at the end):
    reptok convert DIR/reptok-digits.ckpt --config DIR/model.yaml --vae-config DIR/vae-config.json \
        --classes DIR/classes.txt -o models/reptok-digits-int8.gguf          (and --weights f32)

Data: `sklearn.datasets.load_digits` (1,797 images of 8x8 pixels, 17 grey levels 0..16, 10
classes; UCI "Optical Recognition of Handwritten Digits", CC BY 4.0), bundled with scikit-learn,
so nothing is downloaded. A stratified 80/20 split (random_state 0) holds out 360 images for
evaluation; training uses only the other 1,437. Each digit becomes a 32x32 RGB image by
`digits_to_images` (bilinear, half-pixel centres, grey copied to the three channels).

Stages:
  a  autoencoder (encoder + decoder, KL-regularised, MSE), on randomly shifted digits
  b  ViT encoder + adapter + time conditioning + decoder transformer: flow matching on the
     autoencoder's (frozen, scaled) latents; the encoder trains from scratch (no pretrained DINOv2)
  c  class-conditional MLP-Mixer generator on the frozen encoder's tokens, labels dropped 10 % of
     the time (classifier-free guidance), with an EMA copy
Deterministic for a given seed and thread count (torch.use_deterministic_algorithms).
"""
import argparse
import copy
import json
import math
import os
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reptok_torch as rt  # noqa: E402

# The demo model's sizes. Image 32x32; the autoencoder downsamples 4x (latent 4x8x8, 16 patches
# of 2x2); the encoder sees a 56x56 input (4x4 patches of 14).
CFG = dict(
    image_size=32, encoder_input=56, enc_width=128, enc_depth=4, enc_pos_grid=4,
    vae_channels=[32, 64, 64], vae_layers=1, vae_groups=32, latent=4,
    dec_width=192, dec_depth=4, dec_head_dim=24, dec_hidden=576,
    map_width=64, map_depth=1, map_hidden=192, time_features=64,
    gen_dim=256, gen_depth=4, gen_token_exp=3, gen_channel_exp=4, classes=10,
    num_steps=25, cfg_scale=1.5, t_interval=[0.3, 0.9],
)
# Display name first; `--class 7` is an index, so the digit itself is only a synonym.
CLASS_NAMES = ["zero, 0", "one, 1", "two, 2", "three, 3", "four, 4", "five, 5", "six, 6", "seven, 7", "eight, 8", "nine, 9"]


def digits_to_images(d8, size):
    """[N,8,8] values 0..16 -> [N,3,size,size] in [-1, 1]: bilinear upsampling with half-pixel
    centres and edge clamping (align_corners=False), grey copied to RGB."""
    u = torch.as_tensor(d8, dtype=torch.float32).unsqueeze(1) / 16.0
    u = F.interpolate(u, size=(size, size), mode="bilinear", align_corners=False)
    return (u * 2 - 1).repeat(1, 3, 1, 1)


def load_data(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    idx = np.arange(len(d.target))
    train, test = train_test_split(idx, test_size=0.2, random_state=seed, stratify=d.target)
    return d.images.astype(np.uint8), d.target.astype(np.int64), np.sort(train), np.sort(test)


SHIFT = 2  # augmentation: every image is shifted by -2..2 pixels in x and y


def shifted(x, k):
    """x shifted by shift number k (0 ..< (2·SHIFT+1)²; k = 12 is no shift), background (-1) filled."""
    n = 2 * SHIFT + 1
    dy, dx = divmod(int(k), n)
    h, w = x.shape[-2:]
    pad = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT), value=-1.0)
    return pad[..., dy:dy + h, dx:dx + w]


def shift(x, gen):
    """Each image shifted by a random one of the (2·SHIFT+1)² shifts."""
    ks = torch.randint(0, (2 * SHIFT + 1) ** 2, (len(x),), generator=gen)
    return torch.stack([shifted(x[i], ks[i]) for i in range(len(x))])


class Log:
    def __init__(self, path):
        self.f = open(path, "w")
        self.f.write("stage\tstep\tloss\tseconds\n")
        self.t0 = time.monotonic()

    def step(self, stage, i, total, loss, every):
        self.f.write(f"{stage}\t{i}\t{loss:.6f}\t{time.monotonic() - self.t0:.1f}\n")
        self.f.flush()
        if i % every == 0 or i == total:
            width = 30
            done = int(width * i / total)
            sys.stderr.write(f"\r[{stage}] [{'#' * done}{'.' * (width - done)}] {i}/{total} loss {loss:.4f} "
                             f"{time.monotonic() - self.t0:6.0f}s")
            if i == total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def batches(n, size, gen):
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - size + 1, size):
            yield perm[i:i + size]


def cosine_lr(opt, base, i, total, warmup=100):
    lr = base * min(1.0, (i + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(i, total) / total))
    for g in opt.param_groups:
        g["lr"] = lr


def train_autoencoder(x, steps, log, gen, batch=64):
    c = CFG
    ae = rt.Autoencoder(c["vae_channels"], c["vae_layers"], c["vae_groups"], c["latent"])
    opt = torch.optim.AdamW(ae.parameters(), lr=2e-3, weight_decay=0.0)
    it = batches(len(x), batch, gen)
    for i in range(1, steps + 1):
        xb = shift(x[next(it)], gen)
        mean, logvar = ae.encode(xb)
        z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=gen)
        rec = ae.decode(z)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        loss = F.mse_loss(rec, xb) + 1e-4 * kl
        cosine_lr(opt, 2e-3, i, steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        log.step("a autoencoder", i, steps, loss.item(), 10)
    return ae.eval()


def train_decoder(x, latents, steps, log, gen, batch=128):
    """Flow matching, decoder time: z_t = t·noise + (1-t)·z0, target noise - z0 (t=1 is noise).
    latents[k, i]: the scaled autoencoder latent of image i under shift k."""
    c = CFG
    enc = rt.ViTEncoder(c["enc_width"], c["enc_depth"], pos_grid=c["enc_pos_grid"])
    adapter = rt.Adapter(c["enc_width"], c["dec_width"])
    tcond = rt.TimeConditioning(c["map_width"], c["map_depth"], c["map_hidden"], c["time_features"])
    dec = rt.DecoderBackbone(c["dec_width"], c["dec_depth"], c["dec_head_dim"], c["dec_hidden"], c["map_width"], c["latent"])
    params = [*enc.parameters(), *adapter.parameters(), *tcond.parameters(), *dec.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    it = batches(len(x), batch, gen)
    for i in range(1, steps + 1):
        idx = next(it)
        ks = torch.randint(0, latents.shape[0], (len(idx),), generator=gen)
        xb = torch.stack([shifted(x[i], k) for i, k in zip(idx, ks)])
        z0 = latents[ks, idx]
        token = enc(rt.encoder_input(xb, c["encoder_input"]))
        token = token + 0.05 * torch.randn(token.shape, generator=gen)   # robustness to generated tokens
        t = torch.rand(len(xb), generator=gen)
        noise = torch.randn(z0.shape, generator=gen)
        zt = t.view(-1, 1, 1, 1) * noise + (1 - t.view(-1, 1, 1, 1)) * z0
        v = dec(zt, tcond(t), adapter(token))
        loss = F.mse_loss(v, noise - z0)
        cosine_lr(opt, 1e-3, i, steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        log.step("b encoder+decoder", i, steps, loss.item(), 10)
    return enc.eval(), adapter.eval(), tcond.eval(), dec.eval()


def train_generator(tokens, labels, steps, log, gen, batch=256, ema_decay=0.999):
    """Flow matching, generator time: x_t = (1-t)·noise + t·x1, target x1 - noise (t=1 is data)."""
    c = CFG
    net = rt.MixerGenerator(c["enc_width"], c["gen_dim"], c["gen_depth"], c["gen_token_exp"], c["gen_channel_exp"], c["classes"])
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
    it = batches(len(tokens), batch, gen)
    for i in range(1, steps + 1):
        idx = next(it)
        x1, y = tokens[idx], labels[idx].clone()
        y[torch.rand(len(y), generator=gen) < 0.1] = c["classes"]
        t = torch.rand(len(idx), generator=gen)
        noise = torch.randn(x1.shape, generator=gen)
        xt = (1 - t.view(-1, 1)) * noise + t.view(-1, 1) * x1
        loss = F.mse_loss(net(xt, t, y), x1 - noise)
        cosine_lr(opt, 1e-3, i, steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            d = min(ema_decay, (1 + i) / (10 + i))
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(p, alpha=1 - d)
        log.step("c generator", i, steps, loss.item(), 100)
    return net.eval(), ema.eval()


def state_dict(ae, enc, adapter, tcond, dec, net, ema):
    sd = OrderedDict()

    def put(prefix, module, compiled=False):
        s = module.state_dict()
        if compiled:
            s = rt.rename_mixer_keys(s, compiled=True)
        for k, v in s.items():
            sd[prefix + k] = v.detach().clone().contiguous()
    put(rt.PREFIX["generator_ema"], ema, compiled=True)
    put(rt.PREFIX["generator"], net, compiled=True)
    put(rt.PREFIX["encoder"], enc)
    put(rt.PREFIX["adapter"], adapter)
    put(rt.PREFIX["time"], tcond)
    put(rt.PREFIX["decoder"], dec)
    put(rt.PREFIX["vae"], ae)
    return sd


def hyper_parameters(scale_factor):
    c = CFG
    hp = rt.hyper_parameters(c["enc_width"], c["gen_dim"], c["gen_depth"], c["gen_token_exp"], c["gen_channel_exp"],
                             c["classes"], c["image_size"], scale_factor,
                             {"num_steps": c["num_steps"], "cfg_scale": c["cfg_scale"], "t_interval": c["t_interval"]})
    hp.update({
        "cond_stage_key": "label", "cond_dropout_prob": 0.1,
        "class_names": CLASS_NAMES,
        "dataset": "scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits, CC BY 4.0)",
    })
    return hp


def model_yaml():
    c = CFG
    lat = c["image_size"] // 2 ** (len(c["vae_channels"]) - 1)
    return f"""# Sizes of reptok's digits demo model, in the schema of the official model.yaml (only the keys
# `reptok convert --config` reads). Written by tools/train-demo/train.py.
model:
  val_shape: [{c['latent']}, {lat}, {lat}]
  mapping:
    depth: {c['map_depth']}
    width: {c['map_width']}
    d_ff: {c['map_hidden']}
  encoder:
    dino:
      model_size: {c['encoder_input']}
      embed_dim: {c['enc_width']}
  backbone:
    in_features: {c['latent']}
    out_features: {c['latent']}
    main_level:
      width: {c['dec_width']}
      depth: {c['dec_depth']}
      layer_params:
        d_head: {c['dec_head_dim']}
"""


def vae_config(scaling_factor):
    c = CFG
    n = len(c["vae_channels"])
    return {"_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3,
            "down_block_types": ["DownEncoderBlock2D"] * n, "up_block_types": ["UpDecoderBlock2D"] * n,
            "block_out_channels": c["vae_channels"], "layers_per_block": c["vae_layers"], "act_fn": "silu",
            "latent_channels": c["latent"], "norm_num_groups": c["vae_groups"], "sample_size": c["image_size"],
            "scaling_factor": scaling_factor}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="build-digits")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every stage's step count (0.05 for a smoke run)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(args.seed)
    log = Log(os.path.join(args.out, "train-log.tsv"))
    steps = {k: max(2, int(v * args.scale)) for k, v in dict(a=300, b=1000, c=3000).items()}

    d8, labels, train, test = load_data()
    x = digits_to_images(d8[train], CFG["image_size"])
    y = torch.as_tensor(labels[train])

    ae = train_autoencoder(x, steps["a"], log, gen)
    with torch.no_grad():
        mu = torch.cat([ae.encode(x[i:i + 256])[0] for i in range(0, len(x), 256)])
        scaling = float(1.0 / mu.std())
    for p in ae.parameters():
        p.requires_grad_(False)

    with torch.no_grad():  # every shift of every image, once: [shifts, N, 4, h, w]
        latents = torch.stack([torch.cat([ae.encode(shifted(x[i:i + 256], k))[0] for i in range(0, len(x), 256)]) * scaling
                               for k in range((2 * SHIFT + 1) ** 2)])
    enc, adapter, tcond, dec = train_decoder(x, latents, steps["b"], log, gen)
    with torch.no_grad():
        raw = torch.cat([enc(rt.encoder_input(x[i:i + 256], CFG["encoder_input"])) for i in range(0, len(x), 256)])
    scale_factor = float(raw.std())
    net, ema = train_generator(raw / scale_factor, y, steps["c"], log, gen)

    ckpt = {"epoch": 0, "global_step": sum(steps.values()), "pytorch-lightning_version": "2.4.0",
            "state_dict": state_dict(ae, enc, adapter, tcond, dec, net, ema),
            "hyper_parameters": hyper_parameters(scale_factor)}
    path = os.path.join(args.out, "reptok-digits.ckpt")
    torch.save(ckpt, path + ".tmp")
    os.replace(path + ".tmp", path)
    with open(os.path.join(args.out, "model.yaml"), "w") as f:
        f.write(model_yaml())
    with open(os.path.join(args.out, "vae-config.json"), "w") as f:
        json.dump(vae_config(scaling), f, indent=1)
    with open(os.path.join(args.out, "classes.txt"), "w") as f:
        f.write("".join(n + "\n" for n in CLASS_NAMES))
    print(f"wrote {path}: VAE scaling factor {scaling:.5f}, token scale factor {scale_factor:.5f}, "
          f"{time.monotonic() - log.t0:.0f} s in all")
    o = args.out
    print(f"next: reptok convert {o}/reptok-digits.ckpt --config {o}/model.yaml --vae-config {o}/vae-config.json "
          f"--classes {o}/classes.txt -o models/reptok-digits-int8.gguf  (and --weights f32 -o models/reptok-digits-f32.gguf)")


if __name__ == "__main__":
    main()
