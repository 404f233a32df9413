#!/usr/bin/env python3
"""PyTorch's matrix products alone, at the shapes `reptok bench kernels` times, capped like
bench_torch.py: the per-product side of a side-by-side, where bench_torch.py times whole stages.

    python3 tools/bench-torch/linears.py [--isa auto|avx512|avx512-novnni|avx2] [--threads 2] [--reps 7]

For each (M, K, N): an nn.Linear(K, N) on M random rows, in fp32 (what reptok's W8A32 is compared
with) and after torch.ao.quantization.quantize_dynamic (int8 weights, activations quantized per
call to seven bits: what W8A8 is compared with). GOP/s count 2·M·K·N per call, as `reptok bench
kernels` does; each figure is the median of --reps repetitions of 10 calls after 5 warm-up calls.
Compare with `REPTOK_ISA=LEVEL reptok bench kernels --only gemm` run just before or after, on the
same machine (docs/kernels.md uses it so). Needs torch (README.md beside this file); not in CI.
"""
import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_torch as bt  # noqa: E402  (the caps, their check and Refusal)

SHAPES = [(257, 1152, 3456), (257, 3456, 1152), (261, 768, 3072)]   # reptok bench kernels' GEMMs
CALLS = 10


def median_seconds(fn, x, reps):
    """Median seconds per call over `reps` repetitions of CALLS calls, after 5 warm-up calls."""
    for _ in range(5):
        fn(x)
    per_call = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(CALLS):
            fn(x)
        per_call.append((time.perf_counter() - t0) / CALLS)
    return statistics.median(per_call)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--isa", choices=["auto", "avx512", "avx512-novnni", "avx2"], default="auto",
                    help="cap PyTorch's libraries at this level, as bench_torch.py does")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions of 10 calls (default 7)")
    args = ap.parse_args(argv)
    if args.threads < 1 or args.reps < 1:
        raise bt.Refusal("--threads and --reps must be at least 1")
    for k in bt.CAP_VARS:
        os.environ.pop(k, None)
    os.environ.update(bt.CAPS.get(args.isa, {}))
    seen = bt.check_cap(args.isa, dict(os.environ))
    import torch  # noqa: E402  (after the environment is final)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*quantiz.*")
    if torch.backends.cpu.get_cpu_capability() != seen["aten"]:
        raise bt.Refusal(f"ATen capability {torch.backends.cpu.get_cpu_capability()} here, {seen['aten']} in the probe")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {bt.cpu_info()['cpu']}, {args.threads} threads, level {seen['aten'].lower()} "
          f"(requested {args.isa}); FBGEMM {seen['fbgemm']}, MKL {seen['mkl']}")
    print(f"{'(M, K, N)':20s} {'fp32 GFLOP/s':>13s} {'int8 GOP/s':>11s}")
    with torch.inference_mode():
        for m, k, n in SHAPES:
            linear = torch.nn.Sequential(torch.nn.Linear(k, n))
            int8 = torch.ao.quantization.quantize_dynamic(linear, {torch.nn.Linear}, dtype=torch.qint8)
            x = torch.randn(m, k)
            ops = 2 * m * k * n / 1e9
            f32, i8 = (ops / median_seconds(f, x, args.reps) for f in (linear, int8))
            print(f"{str((m, k, n)):20s} {f32:13.1f} {i8:11.1f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bt.Refusal as e:
        print(f"linears: {e}", file=sys.stderr)
        sys.exit(2)
