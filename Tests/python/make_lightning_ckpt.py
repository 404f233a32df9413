#!/usr/bin/env python3
"""Writes Tests/Fixtures/lightning/: checkpoints saved by real PyTorch Lightning from a Hydra-composed
config, with the tiny fixture's tensor names and shapes (needs torch, lightning, hydra-core, omegaconf,
numpy; CI only uses the committed files).

    python3 Tests/python/make_lightning_ckpt.py [OUT_DIR]

Every parameter is a view (its own offset) into one shared float32 storage of random values, so a
checkpoint of the 337 tensors stays under 1 MB; the encoder positional tables have the tiny grid
(4x4 + 1 rows) instead of the fixture's 37x37 grid. Training runs one step with SGD at lr 0, so
every checkpoint holds the same weights.

Files (each `trainer.fit` for one step, then `trainer.save_checkpoint`):
  hydra.ckpt        @hydra.main config (lightning_conf/): hparams are an AttributeDict of DictConfig
                    children of the Hydra root (`${data.image_size}`, `${oc.env:...}`, a filled
                    `${now:...}` resolver cache) plus a plain dict with a numpy float64 cfg_scale;
                    a defaultdict under `loops`; an unused expanded (stride-0) buffer; and the state
                    dict's `_metadata` attribute
  plain.ckpt        torch.save(model.state_dict()) of the same weights (the reference)
  bf16-true.ckpt, 16-true.ckpt   the same run in half precision (tensors stored as bf16 / f16)
  *.pkl             only the data.pkl of runs whose storages equal hydra.ckpt's (the test zips them
                    with hydra.ckpt's data/ members): dictconfig (DictConfig hparams, no
                    interpolations), dictconfig-interp (a standalone DictConfig with interpolations),
                    whole-dictconfig (save_hyperparameters(cfg) of one DictConfig), 16-mixed (with
                    GradScaler state), bf16-mixed, attributedict (Lightning AttributeDicts of plain
                    values, one holding the numpy cfg_scale)
  expected.json     what the test checks, as torch/OmegaConf read it back
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import hydra
import lightning as L
from lightning.fabric.utilities.data import AttributeDict
from lightning.pytorch.plugins import MixedPrecision
import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 and not sys.argv[1].startswith(("hydra", "+")) else \
    os.path.join(HERE, "..", "Fixtures", "lightning")
TINY = os.path.join(HERE, "..", "Fixtures", "tiny", "reptok.safetensors")
STORAGE = 150_000  # elements; the largest tiny tensor has 147,456
CFG_SCALE = np.float64(1.75)  # not the release constant (1.5), so a test can tell it was read


def tiny_shapes():
    with open(TINY, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    shapes = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        shape = list(v["shape"])
        if k.endswith("pos_embed") and len(shape) == 3 and shape[1] > 17:
            shape[1] = 17  # 4x4 grid + cls
        shapes[k] = shape
    return shapes


SHAPES = tiny_shapes()


def offsets():
    out, i = {}, 0
    for k, shape in SHAPES.items():
        n = int(np.prod(shape))
        out[k] = (i * 1031) % (STORAGE - n + 1)
        i += 1
    return out


OFFSETS = offsets()


class TinyRepTok(L.LightningModule):
    """The tiny fixture's tensors as views into one storage; one trainable step at lr 0."""

    def __init__(self, first_stage_cfg=None, flow_cfg=None, sample_kwargs=None, tokenizer_cfg=None, cond_stage_key="label"):
        super().__init__()
        self.save_hyperparameters()
        self._init_tensors()

    def _init_tensors(self):
        g = torch.Generator().manual_seed(7)
        self._base = torch.randn(STORAGE, generator=g) * 0.02
        self._views = []
        for key, shape in SHAPES.items():
            *path, leaf = key.split(".")
            mod = self
            for p in path:
                if not hasattr(mod, p) or not isinstance(getattr(mod, p), nn.Module):
                    mod.add_module(p, nn.Module())
                mod = getattr(mod, p)
            self._views.append((mod, leaf, OFFSETS[key], shape))
        self._rebind()
        # An unused buffer stored expanded (stride 0): a reader must skip it, not fail on it.
        self.register_buffer("metrics_expanded", torch.arange(3.0).expand(4, 3))

    def _rebind(self):
        for mod, leaf, off, shape in self._views:
            n = int(np.prod(shape))
            mod._parameters[leaf] = nn.Parameter(self._base[off:off + n].view(shape))

    def _apply(self, fn, recurse=True):
        # Device/dtype moves (e.g. bf16-true) convert the shared storage once and keep the views.
        self._base = fn(self._base)
        self._rebind()
        for name, b in list(self._buffers.items()):
            if b is not None and b.dtype.is_floating_point and fn(torch.zeros(1)).dtype != b.dtype:
                self._buffers[name] = fn(b)
        return self

    def training_step(self, batch, _):
        w = self.model.net.pos_embed if hasattr(self, "model") else next(self.parameters())
        return (batch[0].sum() * 0 + w.float().sum()) * 1.0

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def loader():
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(1, 4)), batch_size=1)


def run(model, path, precision="32-true", loops_extra=False):
    kw = {"precision": precision}
    if precision == "16-mixed":
        # Lightning turns 16-mixed into bf16-mixed on a CPU unless given the plugin and its GradScaler.
        kw = {"plugins": [MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))]}
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", devices=1, **kw)
    trainer.fit(model, loader())
    if loops_extra:
        # A defaultdict with items in the loop state (as custom loops and progress trackers leave).
        orig = trainer.fit_loop.state_dict

        def with_extra(*a, **k):
            d = orig(*a, **k)
            d["batch_progress_by_dataloader"] = collections.defaultdict(int, {0: 1, 1: 0})
            return d
        trainer.fit_loop.state_dict = with_extra
    trainer.save_checkpoint(path)


def data_pkl(path):
    with zipfile.ZipFile(path) as z:
        return z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])


@hydra.main(config_path="lightning_conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig):
    os.makedirs(OUT, exist_ok=True)
    _ = cfg.run_name  # resolving ${now:...} fills the resolver cache that the root config pickles
    m = cfg.model
    sample_kwargs = dict(OmegaConf.to_container(m.sample_kwargs), cfg_scale=CFG_SCALE)
    hydra_model = TinyRepTok(first_stage_cfg=m.first_stage_cfg, flow_cfg=m.flow_cfg, sample_kwargs=sample_kwargs)
    run(hydra_model, os.path.join(OUT, "hydra.ckpt"), loops_extra=True)
    sd = hydra_model.state_dict()
    assert hasattr(sd, "_metadata")
    torch.save(sd, os.path.join(OUT, "plain.ckpt"))
    for precision in ["bf16-true", "16-true"]:
        run(TinyRepTok(first_stage_cfg=m.first_stage_cfg, flow_cfg=m.flow_cfg, sample_kwargs=sample_kwargs),
            os.path.join(OUT, precision + ".ckpt"), precision=precision)

    resolved = OmegaConf.create(OmegaConf.to_container(m, resolve=True))
    standalone = OmegaConf.create({"data": {"image_size": 32}, "model": OmegaConf.to_container(m, resolve=False)})
    standalone.model.first_stage_cfg.params.scale_factor = 1.0
    variants = {
        "dictconfig": lambda: TinyRepTok(first_stage_cfg=resolved.first_stage_cfg, flow_cfg=resolved.flow_cfg,
                                         sample_kwargs=resolved.sample_kwargs),
        "dictconfig-interp": lambda: TinyRepTok(first_stage_cfg=standalone.model.first_stage_cfg, flow_cfg=standalone.model.flow_cfg,
                                                sample_kwargs=standalone.model.sample_kwargs),
        "whole-dictconfig": lambda: WholeConfig(resolved),
        "16-mixed": lambda: TinyRepTok(first_stage_cfg=resolved.first_stage_cfg, flow_cfg=resolved.flow_cfg,
                                       sample_kwargs=resolved.sample_kwargs),
        "bf16-mixed": lambda: TinyRepTok(first_stage_cfg=resolved.first_stage_cfg, flow_cfg=resolved.flow_cfg,
                                         sample_kwargs=resolved.sample_kwargs),
        "attributedict": lambda: TinyRepTok(first_stage_cfg=AttributeDict(OmegaConf.to_container(resolved.first_stage_cfg)),
                                            flow_cfg=OmegaConf.to_container(resolved.flow_cfg), sample_kwargs=AttributeDict(sample_kwargs)),
    }
    tmp = os.path.join(OUT, "tmp.ckpt")
    for name, make in variants.items():
        precision = name if name.endswith("mixed") else "32-true"
        run(make(), tmp, precision=precision)
        with open(os.path.join(OUT, name + ".pkl"), "wb") as f:
            f.write(data_pkl(tmp))
        ck = torch.load(tmp, weights_only=False)
        if name == "16-mixed":
            assert "MixedPrecision" in ck or "native_amp_scaling_state" in ck, sorted(ck)  # GradScaler state
    os.remove(tmp)

    # What the test checks, from torch's own reading of the files.
    hy = torch.load(os.path.join(OUT, "hydra.ckpt"), weights_only=False)
    assert isinstance(hy["loops"]["fit_loop"]["batch_progress_by_dataloader"], collections.defaultdict)
    assert OmegaConf.is_config(hy["hyper_parameters"]["first_stage_cfg"])
    assert hy["state_dict"]["metrics_expanded"].stride() == (0, 1)
    expected = {
        "storage_elements": STORAGE,
        "tensors": len(SHAPES),
        "hparams_type": type(hy["hyper_parameters"]).__module__ + "." + type(hy["hyper_parameters"]).__name__,
        "image_size": int(OmegaConf.select(cfg, "model.first_stage_cfg.params.image_size")),
        "cfg_scale": float(CFG_SCALE),
        "num_steps": int(cfg.model.sample_kwargs.num_steps),
        "lightning": L.__version__, "torch": torch.__version__, "hydra": hydra.__version__,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    print("wrote", OUT)


class WholeConfig(TinyRepTok):
    """save_hyperparameters(cfg) of one DictConfig: the hparams are the DictConfig itself."""

    def __init__(self, cfg):
        L.LightningModule.__init__(self)
        self.save_hyperparameters(cfg)
        self._init_tensors()

if __name__ == "__main__":
    sys.argv += ["hydra.run.dir=" + os.path.join(OUT, ".hydra-run"), "hydra.output_subdir=null", "hydra/job_logging=disabled",
                 "hydra/hydra_logging=disabled"]
    try:
        main()
    finally:
        import shutil
        shutil.rmtree(os.path.join(OUT, ".hydra-run"), ignore_errors=True)
