#!/usr/bin/env python3
"""PyTorch CPU reference numbers for the cribo engine benchmark.

Prints, per thread count, the same table the Swift benchmark prints:
raw sgemm GFLOP/s on ViT-S/16 training shapes, ViT-S/16 inference images/s,
DINO training-step images/s (vit_small, vit_tiny, demo) and peak RSS per model.
Imports nothing from cribo. Each model config runs in a fresh subprocess
(this script re-invoked with --_worker) so peak RSS is per config.

  python engine_torch.py [--threads 1,2] [--quick] [--models vit_small,vit_tiny,demo]
"""
import argparse, json, os, platform, re, resource, statistics, subprocess, sys, time, warnings

import torch

# Full-run / --quick iteration counts: (warm-up, timed repeats).
ITERS = {"full": {"gemm": (3, 15), "fwd": (2, 10), "train": (2, 6)},
         "quick": {"gemm": (1, 3), "fwd": (1, 2), "train": (1, 2)}}

# Model configs. img/patch/dim/depth/heads -> timm VisionTransformer kwargs;
# hid/bot/out -> DINO head; batch counts images (the student sees 2 views).
MODELS = {
    "vit_small": dict(img=224, patch=16, dim=384, depth=12, heads=6, hid=2048, bot=256, out=65536, batch=8),
    "vit_tiny": dict(img=224, patch=16, dim=192, depth=12, heads=3, hid=2048, bot=256, out=65536, batch=8),
    "demo": dict(img=64, patch=8, dim=96, depth=4, heads=3, hid=512, bot=128, out=4096, batch=16),
}


def timed(fn, warm, reps, inner=1):
    """Median seconds per call of fn() after `warm` warm-up calls."""
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def import_timm():
    """timm, imported after the CUDA-torchvision workaround (Tests/CriboTestSupport/Golden/reference_env.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "CriboTestSupport", "Golden"))
    from reference_env import tolerate_cuda_torchvision
    tolerate_cuda_torchvision()
    import timm
    return timm


class DINOHead(torch.nn.Module):
    """3-layer MLP (GELU) -> L2 normalise -> weight-normed bias-free Linear, g trainable."""

    def __init__(self, dim, hid, bot, out):
        super().__init__()
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(dim, hid), torch.nn.GELU(),
            torch.nn.Linear(hid, hid), torch.nn.GELU(),
            torch.nn.Linear(hid, bot))
        with warnings.catch_warnings():  # weight_norm is deprecated in favour of parametrizations
            warnings.simplefilter("ignore")
            self.last = torch.nn.utils.weight_norm(torch.nn.Linear(bot, out, bias=False))
        self.last.weight_g.data.fill_(1.0)

    def forward(self, x):
        x = torch.nn.functional.normalize(self.mlp(x), dim=-1, p=2)
        return self.last(x)


def build(timm, c, drop_path):
    """Backbone ([CLS] after final norm, no classifier) + DINO head."""
    vit = timm.models.vision_transformer.VisionTransformer(
        img_size=c["img"], patch_size=c["patch"], embed_dim=c["dim"], depth=c["depth"],
        num_heads=c["heads"], num_classes=0, global_pool="token", drop_path_rate=drop_path)
    return torch.nn.Sequential(vit, DINOHead(c["dim"], c["hid"], c["bot"], c["out"]))


def gemm_rows(it):
    """Raw float32 torch.mm throughput on the ViT-S/16 b8x2-view training shapes."""
    R = 16 * 197  # 8 images x 2 views x 197 tokens
    shapes = [("qkv", R, 384, 1152), ("proj", R, 384, 384), ("fc1", R, 384, 1536),
              ("fc2", R, 1536, 384), ("attn q.kT/head", 197, 64, 197),
              # the small models' shapes (ViT-Ti/16 b8x2v: 3152 rows, dim 192; demo b16x2v: 2080 rows, dim 96)
              ("ti qkv", R, 192, 576), ("ti fc2", R, 768, 192), ("demo qkv", 2080, 96, 288), ("demo fc2", 2080, 384, 96)]
    rows = []
    for name, M, K, N in shapes:
        a, b = torch.randn(M, K), torch.randn(K, N)
        out = torch.empty(M, N)
        inner = max(1, int(2e8 // (2 * M * N * K)))  # >= ~0.2 GFLOP per timed sample
        s = timed(lambda: torch.mm(a, b, out=out), *it["gemm"], inner=inner)
        rows.append(("sgemm " + name, f"[{M},{K}]x[{K},{N}]", 2 * M * N * K / s / 1e9, "GFLOP/s"))
    return rows


def train_step_fn(timm, c):
    """Returns a closure performing one full DINO training step."""
    student = build(timm, c, drop_path=0.1).train()
    teacher = build(timm, c, drop_path=0.0).eval()
    teacher.load_state_dict(student.state_dict())
    for p in teacher.parameters():
        p.requires_grad_(False)
    # DINO param groups: no weight decay for biases and other 1-D params.
    decay = [p for n, p in student.named_parameters() if p.ndim > 1 and not n.endswith(".bias")]
    no_decay = [p for n, p in student.named_parameters() if p.ndim <= 1 or n.endswith(".bias")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.04},
                             {"params": no_decay, "weight_decay": 0.0}], lr=5e-4)
    s_params, t_params = list(student.parameters()), list(teacher.parameters())
    center = torch.zeros(1, c["out"])
    B = c["batch"]
    crops = torch.randn(2 * B, 3, c["img"], c["img"])  # two global views, view-major

    def step():
        nonlocal center
        s_out = student(crops) / 0.1
        with torch.no_grad():
            t_raw = teacher(crops)
            t_prob = torch.softmax((t_raw - center) / 0.04, dim=-1).chunk(2)
        s_logp = torch.log_softmax(s_out, dim=-1).chunk(2)
        # Cross-view terms only: teacher view iq vs student view 1-iq.
        loss = sum((-t_prob[iq] * s_logp[1 - iq]).sum(-1).mean() for iq in range(2)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_mul_(t_params, 0.996)  # EMA: t = m t + (1-m) s
            torch._foreach_add_(t_params, s_params, alpha=1 - 0.996)
            center = center * 0.9 + t_raw.mean(0, keepdim=True) * 0.1
    return step


def worker(name, threads, quick):
    """Runs one config in this (fresh) process; prints a JSON list of rows."""
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    it = ITERS["quick" if quick else "full"]
    if name == "sgemm":
        rows = gemm_rows(it)
    else:
        timm = import_timm()
        c = MODELS[name]
        cfg = f"{name}/{c['patch']} {c['img']}px b{c['batch']}"
        rows = []
        if name == "vit_small":  # inference row: backbone only, eval, no_grad
            vit = build(timm, c, 0.1)[0].eval()
            x = torch.randn(c["batch"], 3, c["img"], c["img"])

            def fwd():
                with torch.no_grad():
                    vit(x)
            rows.append(("ViT forward (inference)", cfg, c["batch"] / timed(fwd, *it["fwd"]), "img/s"))
            del vit
        step = train_step_fn(timm, c)
        rows.append(("DINO train step *", cfg + "x2v", c["batch"] / timed(step, *it["train"]), "img/s"))
        rows.append(("peak RSS", cfg, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MiB"))
    par = [l.strip() for l in torch.__config__.parallel_info().splitlines() if "_threads()" in l]
    print("ROWS " + json.dumps({"rows": rows, "par": "; ".join(par)}))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            return m.group(1) if m else platform.processor()
    except OSError:
        return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models", default="vit_small,vit_tiny,demo")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    if a._worker:
        return worker(a._worker, threads[0], a.quick)
    models = [m for m in a.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            sys.exit(f"unknown model {m!r}; choose from {','.join(MODELS)}")

    # Environment header.
    cfg = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", cfg)
    lapack = re.search(r"LAPACK_INFO=(\w+)", cfg)
    pinfo = torch.__config__.parallel_info().splitlines()
    print(f"torch {torch.__version__}  python {platform.python_version()}")
    print("CPU:", cpu_model(), f"({os.cpu_count()} logical CPUs)")
    print("parallel:", "; ".join(l.strip() for l in pinfo if "backend" in l or "Math Kernel" in l))
    print(f"BLAS_INFO={blas.group(1) if blas else '?'} LAPACK_INFO={lapack.group(1) if lapack else '?'}"
          f"  mkldnn.is_available()={torch.backends.mkldnn.is_available()}")
    print("mode:", "quick" if a.quick else "full", " timing: median of repeats after warm-up")

    for t in threads:
        rows, par = [], ""
        for job in ["sgemm"] + models:  # one fresh process per config
            cmd = [sys.executable, os.path.abspath(__file__), "--_worker", job, "--threads", str(t)]
            res = subprocess.run(cmd + (["--quick"] if a.quick else []),
                                 stdout=subprocess.PIPE, text=True, check=True)
            out = json.loads(res.stdout.split("ROWS ", 1)[1])
            rows, par = rows + out["rows"], par or out["par"]
        # Group rows: sgemm, inference, training, RSS.
        order = ["sgemm", "ViT forward", "DINO train", "peak RSS"]
        rows.sort(key=lambda r: next(i for i, p in enumerate(order) if r[0].startswith(p)))
        print(f"\n== PyTorch CPU, threads={t} (interop=1) ==\n   worker parallel_info: {par}")
        print(f"{'metric':<24} | {'shape/config':<26} | {'value':>10} | unit")
        print("-" * 24 + "-+-" + "-" * 26 + "-+-" + "-" * 10 + "-+-" + "-" * 7)
        for metric, shape, val, unit in rows:
            print(f"{metric:<24} | {shape:<26} | {val:>10.2f} | {unit}")
    print("\n* DINO train step: img/s = images per step / step time, counting images "
          "(batch), not crops;\n  each image gives 2 global views (x2v), so the student "
          "and teacher each process 2*batch crops.\n  Step = student fwd+bwd (drop_path 0.1) "
          "+ teacher fwd (no grad) + DINO loss + AdamW + EMA (m=0.996).")


if __name__ == "__main__":
    main()
