#!/usr/bin/env python3
"""MeZO's reference step in PyTorch, timed beside OrtZo on the same model and batch shapes.

The loop is MeZO's own (large_models/trainer.py, zo_perturb_parameters / zo_step / zo_update): for each step a
seed, torch.manual_seed(seed) before each of the three perturbation sweeps (+1, -2, +1), one torch.normal per
parameter of the parameter's shape and dtype, two forwards, the projected gradient (L+ - L-) / 2eps, then the
update sweep regenerating z from the same seed. Prints one JSON object (times in ms, peak memory in bytes).

    python3 bench/torch_mezo.py <hf-model-dir> --batch 16 --seq 256 [--steps 10] [--dtype fp16]
"""
import argparse, json, time

import torch
from transformers import AutoModelForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--dtype", choices=("fp16", "bf16", "fp32"), default="fp16")
    p.add_argument("--eps", type=float, default=1e-3)
    p.add_argument("--lr", type=float, default=1e-6)
    a = p.parse_args()
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[a.dtype]
    model = AutoModelForCausalLM.from_pretrained(a.model, torch_dtype=dtype, local_files_only=True).cuda().eval()
    params = [(n, q) for n, q in model.named_parameters() if q.requires_grad]
    g = torch.Generator(device="cpu").manual_seed(1)
    ids = torch.randint(3, model.config.vocab_size, (a.batch, a.seq), generator=g).cuda()

    @torch.inference_mode()
    def loss():
        out = model(input_ids=ids, labels=ids)
        return out.loss.item()

    def perturb(seed, scale):
        torch.manual_seed(seed)
        for _, q in params:
            z = torch.normal(mean=0, std=1, size=q.data.size(), device=q.data.device, dtype=q.data.dtype)
            q.data = q.data + scale * z * a.eps

    def step(seed):
        perturb(seed, 1)
        lp = loss()
        perturb(seed, -2)
        lm = loss()
        perturb(seed, 1)
        grad = (lp - lm) / (2 * a.eps)
        torch.manual_seed(seed)
        for _, q in params:
            z = torch.normal(mean=0, std=1, size=q.data.size(), device=q.data.device, dtype=q.data.dtype)
            q.data = q.data - a.lr * grad * z

    def timed(fn, n):
        torch.cuda.synchronize()
        t = time.perf_counter()
        for i in range(n):
            fn(i)
        torch.cuda.synchronize()
        return (time.perf_counter() - t) / n * 1e3

    for i in range(2):
        loss(); step(100 + i)
    torch.cuda.reset_peak_memory_stats()
    forward_ms = timed(lambda i: loss(), a.steps)
    forward_peak = torch.cuda.max_memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    step_ms = timed(lambda i: step(1000 + i), a.steps)
    print(json.dumps({
        "framework": f"torch {torch.__version__}", "device": torch.cuda.get_device_name(), "dtype": a.dtype,
        "params": sum(q.numel() for _, q in params), "batch": a.batch, "seq": a.seq,
        "torch_forward_ms": forward_ms, "torch_mezo_step_ms": step_ms,
        "torch_forward_peak_mem_bytes": forward_peak, "torch_peak_mem_bytes": torch.cuda.max_memory_allocated(),
    }))


if __name__ == "__main__":
    main()
