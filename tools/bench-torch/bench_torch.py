#!/usr/bin/env python3
"""PyTorch's time for each RepTok stage at a preset's size (default: the release size, XL), with
random weights, for side-by-side runs with `reptok bench pipeline` (which reads the output through
`--compare FILE.json`). Needs torch (see README.md); not part of CI or `swift test`.

    python3 tools/bench-torch/bench_torch.py [--isa auto|avx512|avx512-novnni|avx2] [--json OUT] [--preset xl]

Stages (the ones `reptok bench pipeline` times, on the same sizes, read from models/presets/):
  encoder         one 256x256 image: bilinear resize to the encoder input, normalisation, ViT
  decoder_step    one decoder velocity, batch 1: adapter, time conditioning, decoder transformer
  vae             VAE decode of one latent (4x32x32 -> 3x256x256), latent scaling included
  generator_step  one guided generator velocity: conditional + unconditional as a batch of 2
Modes: fp32 eager; int8 = torch.ao.quantization.quantize_dynamic on every nn.Linear (weights int8
per tensor, activations quantized per call). The VAE is timed in fp32 only: its work is in
convolutions, which dynamic quantization leaves in float.

Each stage/mode: one warm-up call (under a FLOP counter, for the stage's GFLOP), then --runs
timed calls; the median is reported. torch.inference_mode(), torch.set_num_threads(--threads).

--isa caps the instruction set of every library PyTorch runs its kernels in, through their
environment variables, which are read once when torch loads: so they are set here before torch is
imported, then checked in a short child run (ATen's capability, oneDNN's verbose ISA line and
convolution kernel, FBGEMM's instruction set through its exported query, MKL's verbose header
where it names one). A cap that did not take effect stops the run.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
STAGES = ["encoder", "decoder_step", "vae", "generator_step"]
CAP_VARS = ["ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "FBGEMM_ENABLE_INSTRUCTIONS"]
# Values of the four variables per level. avx512 keeps AVX-512's VNNI extension (what the CPUs of
# this level have): FBGEMM's plain "AVX512" would drop its VNNI int8 kernels, and oneDNN's
# AVX512_CORE_BF16 allows AVX-512 up to VNNI and BF16 but not AMX. avx512-novnni is AVX-512
# without VNNI (Skylake-X class, reptok's `avx512` level): FBGEMM "AVX512", oneDNN AVX512_CORE.
CAPS = {
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "MKL_ENABLE_INSTRUCTIONS": "AVX512",
               "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16", "FBGEMM_ENABLE_INSTRUCTIONS": "AVX512_E1"},
    "avx512-novnni": {"ATEN_CPU_CAPABILITY": "avx512", "MKL_ENABLE_INSTRUCTIONS": "AVX512",
                      "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "FBGEMM_ENABLE_INSTRUCTIONS": "AVX512"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ONEDNN_MAX_CPU_ISA": "AVX2", "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"},
}
# fbgemm::inst_set_t, the value fbgemm::fbgemmInstructionSet() returns.
FBGEMM_ISA = {0: "anyarch", 1: "avx2", 2: "avx512", 3: "avx512_ymm", 4: "avx512_vnni", 5: "avx512_vnni_ymm", 6: "sve"}
PROBE_MARK = "BENCH_TORCH_PROBE "


class Refusal(Exception):
    """A run that cannot measure what was asked; printed as one line, exit status 2."""


# ---------------------------------------------------------------------------------------------
# Instruction-set cap and its check

def probe_child():
    """Runs in the child: touches oneDNN (a convolution), MKL (a matrix product) and FBGEMM, then
    prints what each reports as one JSON line (the verbose lines go to stdout around it)."""
    import ctypes
    import torch
    torch.set_num_threads(1)
    with torch.inference_mode():
        torch.nn.Conv2d(64, 64, 3, padding=1)(torch.randn(1, 64, 32, 32))
        torch.randn(64, 64) @ torch.randn(64, 64)
    out = {"aten": torch.backends.cpu.get_cpu_capability(), "fbgemm": None}
    try:
        lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        f = lib._ZN6fbgemm20fbgemmInstructionSetEv
        f.restype = ctypes.c_int
        out["fbgemm"] = FBGEMM_ISA.get(f(), str(f()))
    except (OSError, AttributeError):
        pass  # not an x86 build with FBGEMM: nothing to check
    sys.stdout.flush()
    print(PROBE_MARK + json.dumps(out), flush=True)


def check_cap(level, env):
    """Runs the probe child under `env` plus the verbose switches; returns what each library
    reported, or raises Refusal naming the library whose cap did not take effect."""
    child_env = dict(env, ONEDNN_VERBOSE="1", MKL_VERBOSE="1")
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe-isa"], env=child_env,
                       capture_output=True, text=True, timeout=300)
    probe = None
    onednn_isa = onednn_conv = mkl = None
    for line in r.stdout.splitlines():
        if line.startswith(PROBE_MARK):
            probe = json.loads(line[len(PROBE_MARK):])
        elif line.startswith("onednn_verbose") and ",info,cpu,isa:" in line:
            onednn_isa = line.split(",info,cpu,isa:", 1)[1].strip()
        elif line.startswith("onednn_verbose") and ",exec,cpu,convolution," in line:
            onednn_conv = line.split(",exec,cpu,convolution,", 1)[1].split(",")[0]
        elif line.startswith("MKL_VERBOSE") and "SGEMM" not in line and mkl is None:
            mkl = line[len("MKL_VERBOSE"):].strip()
    if r.returncode != 0 or probe is None:
        raise Refusal(f"the instruction-set probe failed (status {r.returncode}): {r.stderr.strip().splitlines()[-1:] }")
    mkl_isa = None
    if mkl:
        m = re.search(r"\((Intel\(R\) )?(AVX[-A-Z0-9_]*)\)", mkl) or re.search(r"Advanced Vector Extensions( 512| 2)?", mkl)
        if m:
            mkl_isa = m.group(0)
    seen = {"aten": probe["aten"], "onednn": onednn_isa, "onednn_convolution": onednn_conv,
            "fbgemm": probe["fbgemm"], "mkl_header": mkl, "mkl": mkl_isa or "not reported"}
    if level == "auto":
        return seen
    wide = level.startswith("avx512")
    novnni = level == "avx512-novnni"
    problems = []
    if probe["aten"].lower() != ("avx512" if wide else level):
        problems.append(f"ATen runs {probe['aten']}")
    if onednn_isa is None:
        problems.append("oneDNN printed no ISA line")
    elif ("AVX-512" in onednn_isa) != wide or (not wide and "AVX2" not in onednn_isa) \
            or (novnni and ("DL Boost" in onednn_isa or "VNNI" in onednn_isa)):
        problems.append(f"oneDNN runs {onednn_isa}")
    if onednn_conv and ("avx512" in onednn_conv) != wide:
        problems.append(f"oneDNN's convolution kernel is {onednn_conv}")
    if probe["fbgemm"] is not None and (probe["fbgemm"].startswith("avx512") != wide
                                        or (novnni and "vnni" in probe["fbgemm"])):
        problems.append(f"FBGEMM runs {probe['fbgemm']}")
    if mkl_isa and (("512" in mkl_isa) != wide):
        problems.append(f"MKL runs {mkl_isa}")
    if problems:
        raise Refusal(f"--isa {level} did not take effect ({'; '.join(problems)}): "
                      "this CPU may lack the level, or PyTorch ignores the variable")
    return seen


def cpu_info():
    """Model name, family and model numbers from /proc/cpuinfo (x86 Linux), else the platform's."""
    info = {"cpu": platform.processor() or platform.machine(), "cpu_family": None, "cpu_model": None}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k, v = k.strip(), v.strip()
                if k == "model name" and info["cpu"] in ("", platform.processor(), platform.machine()):
                    info["cpu"] = v
                elif k == "cpu family" and info["cpu_family"] is None:
                    info["cpu_family"] = int(v)
                elif k == "model" and info["cpu_model"] is None and v.isdigit():
                    info["cpu_model"] = int(v)
                elif not line.strip() and info["cpu_family"] is not None:
                    break
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------------------------------
# Models at a preset's size, random weights

def load_preset(name):
    path = name if os.path.exists(name) else os.path.join(REPO, "models", "presets", f"{name}.json")
    try:
        with open(path) as f:
            p = json.load(f)
        return p["name"], p["architecture"]
    except (OSError, ValueError, KeyError) as e:
        raise Refusal(f"{path}: not a model preset ({e})")


def random_init(model, rt, torch, seed):
    """Fills every parameter with the distributions of reptok's synthetic models (SyntheticModel):
    Linear/Conv weights U*sqrt(3/fan_in), biases 0.02U, norm gains 1+0.05U, decoder head scales 10+U,
    LayerScale 0.1+0.01U, the Fourier table sqrt(3)U, tokens/positions/labels 0.1U (U uniform on
    [-1, 1)). Buffers (the RoPE ladder) are recomputed."""
    g = torch.Generator().manual_seed(seed)

    def fill(p, base, amp):
        p.uniform_(-1, 1, generator=g).mul_(amp).add_(base)

    nn = torch.nn
    done = set()
    for mname, mod in model.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            full = f"{mname}.{pname}" if mname else pname
            if full.endswith("time_emb.weight"):
                fill(p, 0.0, 3 ** 0.5)
            elif isinstance(mod, (nn.Linear, nn.Conv1d, nn.Conv2d)) and pname == "weight":
                fill(p, 0.0, (3.0 / (p[0].numel())) ** 0.5)
            elif pname == "bias":
                fill(p, 0.0, 0.02)
            elif isinstance(mod, (nn.LayerNorm, nn.GroupNorm, rt._RMSNorm)):
                fill(p, 1.0, 0.05)
            elif full.endswith("self_attn.scale"):
                fill(p, 10.0, 1.0)
            elif pname == "gamma":
                fill(p, 0.1, 0.01)
            else:
                fill(p, 0.0, 0.1)
            done.add(full)
        if isinstance(mod, rt._PosEmb):
            heads, n = mod.freqs.shape[1], mod.freqs.shape[2]
            mod.freqs = rt.default_rope_freqs(heads, 8 * n)
    assert len(done) == len(list(model.parameters()))


def build_stage(stage, arch, rt, torch):
    """(module class, inputs, Linears to keep in float) for one stage; the module's forward is one call."""
    nn = torch.nn
    e, d, m, v, gen = arch["encoder"], arch["decoder"], arch["mapping"], arch["vae"], arch["generator"]
    if stage == "encoder":
        if e["width"] != 64 * e["heads"] or e["mlp_hidden"] % e["width"]:
            raise Refusal("encoder: reptok_torch needs heads of 64 and an MLP a whole multiple of the width")

        class Encoder(nn.Module):
            def __init__(self):
                super().__init__()
                # The positional table at the input grid already: what the converter stores.
                self.vit = rt.ViTEncoder(e["width"], e["depth"], e["registers"], e["patch_size"], e["input_size"] // e["patch_size"])
                for blk in self.vit.blocks:
                    blk.mlp = rt._Mlp(e["width"], e["mlp_hidden"])

            def forward(self, image):
                return self.vit(rt.encoder_input(image, e["input_size"]))
        s = arch["image_size"]
        return Encoder, (torch.rand(1, 3, s, s) * 2 - 1,), ()
    if stage == "decoder_step":
        if d["width"] != d["heads"] * d["head_dim"] or d["head_dim"] // 8 != d["rope_freqs"] or d["patch_size"] != 2:
            raise Refusal("decoder: reptok_torch needs width = heads*head_dim, head_dim/8 RoPE frequencies, 2x2 patches")

        class DecoderStep(nn.Module):
            def __init__(self):
                super().__init__()
                self.adapter = rt.Adapter(e["width"], arch["adapter"]["width"])
                self.time = rt.TimeConditioning(m["width"], m["depth"], m["hidden"], 2 * m["time_features"])
                self.backbone = rt.DecoderBackbone(d["width"], d["depth"], d["head_dim"], d["ff_hidden"], m["width"], d["latent_channels"])

            def forward(self, z, t, token):
                return self.backbone(z, self.time(t), self.adapter(token))
        z = torch.randn(1, d["latent_channels"], d["latent_h"], d["latent_w"])
        # time_emb is a table of Fourier frequencies stored as a Linear weight, never called as one.
        return DecoderStep, (z, torch.full((1,), 0.7), torch.randn(1, e["width"])), ("time.time_emb",)
    if stage == "vae":
        class VAEDecode(nn.Module):
            def __init__(self):
                super().__init__()
                self.post_quant_conv = nn.Conv2d(d["latent_channels"], d["latent_channels"], 1)
                self.decoder = rt.VAEDecoder(v["block_out_channels"], v["layers_per_block"], v["norm_groups"], d["latent_channels"])

            def forward(self, z):
                return self.decoder(self.post_quant_conv(z / v["scaling_factor"] + v.get("shift_factor", 0.0)))
        z = torch.randn(1, d["latent_channels"], d["latent_h"], d["latent_w"]) * v["scaling_factor"]
        return VAEDecode, (z,), ()
    if stage == "generator_step":
        cfg = arch["sampling"]["cfg_scale"]

        class GuidedStep(nn.Module):
            def __init__(self):
                super().__init__()
                self.gen = rt.MixerGenerator(gen["channels"], gen["dim"], gen["depth"], gen["expansion_token"],
                                             gen["expansion_channel"], gen["num_classes"])

            def forward(self, x, t, label):
                # Conditional and unconditional rows as one batch of 2, then the guidance mix.
                y = torch.stack([label, torch.full_like(label, self.gen.classes)])
                out = self.gen(x.expand(2, -1), t.expand(2), y)
                return out[1] + cfg * (out[0] - out[1])
        return GuidedStep, (torch.randn(1, gen["channels"]), torch.full((1,), 0.5), torch.tensor(1 % gen["num_classes"])), ()
    raise ValueError(stage)


# ---------------------------------------------------------------------------------------------
# Timing

def time_calls(fn, runs):
    """Wall and process-CPU seconds of `runs` calls of fn."""
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def timed_attempts(fn, args):
    """The timed runs, measured again (up to --retries times, 2 s apart) while the median run had
    less than 0.9 x threads CPU seconds per wall second, i.e. another process took a core; keeps the
    attempt with the most CPU per wall second (what `reptok bench pipeline` does).
    Returns (wall seconds, CPU/wall of the median run, attempt number)."""
    best = None
    for attempt in range(1, args.retries + 2):
        wall, cpu = time_calls(fn, args.runs)
        i = wall.index(sorted(wall)[len(wall) // 2])
        cpw = cpu[i] / wall[i]
        if best is None or cpw > best[1]:
            best = (wall, cpw, attempt)
        if cpw >= 0.9 * args.threads or attempt > args.retries:
            break
        time.sleep(2)
    return best


def measure_stage(stage, arch, args, rt, torch, log):
    """Times one stage in fp32 and (unless the VAE) int8; returns (seconds by mode, info)."""
    from torch.utils.flop_counter import FlopCounterMode
    torch.manual_seed(args.seed)
    ctor, inputs, keep_float = build_stage(stage, arch, rt, torch)
    with torch.device("meta"):  # no default initialisation: random_init fills every parameter once
        model = ctor()
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        random_init(model, rt, torch, args.seed)
    params = sum(p.numel() for p in model.parameters())
    info = {"params": params, "runs": {}, "cpu_per_wall": {}}
    seconds = {}
    modes = ["fp32"] + (["int8"] if stage != "vae" and not args.fp32_only else [])
    reference = None
    for mode in modes:
        if mode == "int8":
            names = {n: torch.ao.quantization.default_dynamic_qconfig for n, mod in model.named_modules()
                     if isinstance(mod, torch.nn.Linear) and n not in keep_float}
            info["int8_linears"] = len(names)
            # In place: the float weights go as each Linear is replaced (no second copy of the model).
            model = torch.ao.quantization.quantize_dynamic(model, names, dtype=torch.qint8, inplace=True)
        with torch.inference_mode():
            t0 = time.perf_counter()
            if mode == "fp32":
                with FlopCounterMode(display=False) as counter:
                    out = model(*inputs)
                info["gflop"] = counter.get_total_flops() / 1e9
            else:
                out = model(*inputs)
            first = time.perf_counter() - t0
            wall, cpw, attempt = timed_attempts(lambda: model(*inputs), args)
        median = statistics.median(wall)
        seconds[mode] = median
        info["runs"][mode] = wall
        info["cpu_per_wall"][mode] = cpw
        info.setdefault("attempt", {})[mode] = attempt
        if mode == "fp32":
            reference = out.double()
        else:
            info["int8_rel_l2"] = float((out.double() - reference).norm() / reference.norm())
        log(f"{stage:15s} {mode:5s} {median:8.3f} s  (runs {', '.join(f'{w:.3f}' for w in wall)}; warm-up {first:.2f} s; "
            f"CPU/wall {cpw:.2f}{f', attempt {attempt}' if attempt > 1 else ''})")
    del model
    return seconds, info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--isa", choices=["auto", "avx512", "avx512-novnni", "avx2"], default="auto",
                    help="cap PyTorch's libraries at this level (auto: their own choice, the caps unset; "
                         "avx512-novnni: AVX-512 without VNNI)")
    ap.add_argument("--json", metavar="OUT", help="write the results as JSON (the input of reptok bench pipeline --compare)")
    ap.add_argument("--preset", default="xl", help="models/presets/<name>.json or a preset file (default xl, the release size)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--runs", type=int, default=3, help="timed calls per stage and mode after the warm-up (default 3)")
    ap.add_argument("--retries", type=int, default=1,
                    help="time a stage again, up to this many times, when another process took one of its cores (default 1)")
    ap.add_argument("--only", help="comma-separated stages: " + ", ".join(STAGES))
    ap.add_argument("--fp32-only", action="store_true", help="skip the int8 measurements")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random weights and inputs")
    ap.add_argument("--probe-isa", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe_isa:
        probe_child()
        return 0
    stages = args.only.split(",") if args.only else STAGES
    for s in stages:
        if s not in STAGES:
            raise Refusal(f"--only: unknown stage {s} ({', '.join(STAGES)})")
    if args.threads < 1 or args.runs < 1 or args.retries < 0:
        raise Refusal("--threads and --runs must be at least 1, --retries at least 0")
    if args.isa != "auto" and platform.machine() not in ("x86_64", "AMD64"):
        raise Refusal(f"--isa {args.isa} is an x86 level; this machine is {platform.machine()} (use --isa auto)")

    def log(s):
        print(s, file=sys.stderr, flush=True)

    preset, arch = load_preset(args.preset)

    # 1. The caps, before torch is imported (each library reads its variable once, when it loads).
    for k in CAP_VARS:
        os.environ.pop(k, None)
    os.environ.update(CAPS.get(args.isa, {}))
    seen = check_cap(args.isa, dict(os.environ))
    import torch  # noqa: E402  (after the environment is final)
    sys.path.insert(0, os.path.join(REPO, "tools", "train-demo"))
    import reptok_torch as rt  # noqa: E402
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*quantiz.*")
    if torch.backends.cpu.get_cpu_capability() != seen["aten"]:
        raise Refusal(f"ATen capability {torch.backends.cpu.get_cpu_capability()} here, {seen['aten']} in the probe")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    level = seen["aten"].lower()
    cpu = cpu_info()
    log(f"torch {torch.__version__}, {cpu['cpu']}, {args.threads} threads, level {level} (requested {args.isa}); "
        f"oneDNN {seen['onednn']} ({seen['onednn_convolution']}), FBGEMM {seen['fbgemm']}, MKL {seen['mkl']}; load {os.getloadavg()[0]:.2f}")

    load_before = os.getloadavg()
    result = {"isa": level, "isa_requested": args.isa, "torch": torch.__version__, **cpu, "threads": args.threads,
              "runs": args.runs, "preset": preset, "environment": {k: os.environ.get(k) for k in CAP_VARS},
              "libraries": seen, "stages": {}, "stage_info": {}}
    for stage in stages:
        seconds, info = measure_stage(stage, arch, args, rt, torch, log)
        result["stages"][stage] = seconds
        result["stage_info"][stage] = info
    result["load_average"] = {"before": load_before[0], "after": os.getloadavg()[0]}

    log("")
    log(f"{'stage':15s} {'params':>12s} {'GFLOP':>8s} {'fp32 s':>8s} {'int8 s':>8s} {'int8 rel L2':>12s}")
    for stage in stages:
        s, i = result["stages"][stage], result["stage_info"][stage]
        int8 = f"{s['int8']:8.3f}" if "int8" in s else f"{'-':>8s}"
        rel = f"{i['int8_rel_l2']:12.4f}" if "int8_rel_l2" in i else f"{'-':>12s}"
        log(f"{stage:15s} {i['params']:12,d} {i['gflop']:8.2f} {s['fp32']:8.3f} {int8} {rel}")
    log(f"(median of {args.runs} after a warm-up; GFLOP counted by torch.utils.flop_counter: 2 per multiply-add of "
        "every matrix product and convolution; reptok bench pipeline --compare checks it against its own count)")
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
        log(f"wrote {args.json}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Refusal as e:
        print(f"bench_torch: {e}", file=sys.stderr)
        sys.exit(2)
