#!/usr/bin/env python3
"""Write a random-weight checkpoint in the release's layout and size, to time `reptok convert`.

    python3 tools/bench-torch/release_ckpt.py OUT.ckpt [--preset xl] [--seed 0]
    /usr/bin/time -v .build/release/reptok convert OUT.ckpt -o /tmp/model.gguf

The release checkpoint is not public test data, so this builds its stand-in: a Lightning-style dict
({'state_dict', 'hyper_parameters', 'epoch', 'global_step'}, written by torch.save) holding every
part the release holds, at a preset's size (models/presets/), with tensors under the release's
prefixes (tools/train-demo/reptok_torch.py PREFIX; docs/model.md, 'Checkpoint layout'):
  - what inference uses: the encoder (positional table for 37x37 patches, as released), the
    adapter, the time conditioning, the decoder, the VAE decoder and the EMA generator;
  - what the converter reads past: the raw generator, the decoder's two encoder copies (the
    fine-tuned one and the frozen target) and the VAE encoder.
At XL that is 1.98 G float32 parameters, a 7.9 GB file (about a minute to write, and as much RAM).
Weights are drawn as bench_torch.py draws them; the values do not matter for conversion speed.
Needs torch (see README.md here); nothing in CI runs it.
"""
import argparse
import copy
import os
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "train-demo"))
import bench_torch  # noqa: E402  (load_preset, random_init)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--preset", default="xl", help="models/presets/<name>.json or a preset file (default xl)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import torch
    import reptok_torch as rt
    name, a = bench_torch.load_preset(args.preset)
    e, d, m, v, g = a["encoder"], a["decoder"], a["mapping"], a["vae"], a["generator"]
    parts = OrderedDict()
    with torch.no_grad():
        parts["generator_ema"] = rt.MixerGenerator(g["channels"], g["dim"], g["depth"], g["expansion_token"],
                                                   g["expansion_channel"], g["num_classes"])
        parts["encoder"] = rt.ViTEncoder(e["width"], e["depth"], e["registers"], e["patch_size"], pos_grid=37)
        for blk in parts["encoder"].blocks:
            blk.mlp = rt._Mlp(e["width"], e["mlp_hidden"])
        parts["adapter"] = rt.Adapter(e["width"], a["adapter"]["width"])
        parts["time"] = rt.TimeConditioning(m["width"], m["depth"], m["hidden"], 2 * m["time_features"])
        parts["decoder"] = rt.DecoderBackbone(d["width"], d["depth"], d["head_dim"], d["ff_hidden"], m["width"], d["latent_channels"])
        parts["vae"] = rt.Autoencoder(v["block_out_channels"], v["layers_per_block"], v["norm_groups"], d["latent_channels"])
        for i, mod in enumerate(parts.values()):
            bench_torch.random_init(mod, rt, torch, args.seed + i)
    # The copies the release carries beside them.
    prefixes = dict(rt.PREFIX)
    extra = {"generator": parts["generator_ema"],
             "encoder_copy": parts["encoder"], "encoder_target": parts["encoder"]}
    prefixes["encoder_copy"] = "first_stage.decoder.decoder.encoder.dino.model."
    prefixes["encoder_target"] = "first_stage.decoder.decoder.encoder.dino.target_model."
    sd = OrderedDict()
    for key, mod in list(parts.items()) + list(extra.items()):
        state = mod.state_dict()
        if key.startswith("generator"):
            state = rt.rename_mixer_keys(state, compiled=True)
        for k, t in state.items():
            sd[prefixes[key] + k] = t.detach().clone().contiguous()  # own storage each, as in the release
    hparams = rt.hyper_parameters(g["channels"], g["dim"], g["depth"], g["expansion_token"], g["expansion_channel"],
                                  g["num_classes"], a["image_size"], a["scale_factor"], a["sampling"])
    count = sum(t.numel() for t in sd.values())
    tmp = args.out + ".tmp"
    torch.save({"epoch": 0, "global_step": 0, "state_dict": sd, "hyper_parameters": hparams}, tmp)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: preset {name}, {len(sd)} tensors, {count / 1e9:.2f} G parameters, "
          f"{os.path.getsize(args.out) / 1e9:.2f} GB", file=sys.stderr)


if __name__ == "__main__":
    main()
