#!/usr/bin/env python3
"""Pretrains OrtZo's own default model: a Llama-architecture decoder (RMSNorm, rotary positions, SwiGLU, tied
embeddings) on the token files `ortzo make-model encode` writes, then exports it to ONNX with tools/export's
pipeline for `ortzo import`. Plain PyTorch (no transformers); runs with torch 1.13 on a CPU and torch 2.x on CUDA
(bf16 autocast, fused attention when torch has it).

    train.py train  --tokens train.u16 --heldout heldout.u16 --tokenizer DIR --out DIR [--config small|tiny]
                    [--steps N --batch B --seq T --lr X --seed S --time-limit SECONDS --device auto|cpu|cuda]
    train.py export --checkpoint DIR --out DIR [--dtype fp32|fp16]    # ONNX for `ortzo import` (tools/export)
    train.py score  --checkpoint DIR --rows rows.json --out scores.json   # float64 log-probs of given token rows
    train.py perplexity --checkpoint DIR --tokens heldout.u16 [--seq T]
    train.py hf-check --checkpoint DIR                 # transformers' LlamaForCausalLM gives the same logits

A checkpoint folder is a Hugging Face Llama folder: config.json (LlamaConfig), the weights as fp16 safetensors
shards of at most --shard-mib MiB with model.safetensors.index.json, the tokenizer (vocab.json + merges.txt), and
train.json (what was run, losses, held-out perplexity, timings, versions).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import struct
import sys
import time
import types
import uuid

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True

# name -> (dim, layers, heads, kv heads, SwiGLU hidden, max positions)
CONFIGS = {
    # 22.4M parameters with a 12,288 vocabulary: fp32 weights 89.6 MB (one file under GitHub's 100 MB), fp16 42.7 MiB
    # (three shards of <= 15 MiB from the GPU machine)
    "small": dict(dim=384, layers=10, heads=6, kv_heads=6, hidden=1024, max_positions=512),
    # the CPU dry run's: a few hundred thousand parameters
    "tiny": dict(dim=32, layers=2, heads=4, kv_heads=2, hidden=64, max_positions=128),
}
ROPE_THETA = 10000.0
NORM_EPS = 1e-5
EOT = "<|endoftext|>"


# ---------------------------------------------------------------------------------------------------------------------
# The model, with Hugging Face Llama's parameter names and calling convention (what tools/export traces)
# ---------------------------------------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # in float32 and cast back, as Hugging Face's LlamaRMSNorm does under half precision
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + NORM_EPS)
        return self.weight * h.to(x.dtype)


class Rotary(nn.Module):
    def __init__(self, head_dim):
        super().__init__()
        inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):
        inv = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c.heads, c.kv_heads, c.dim // c.heads
        self.q_proj = nn.Linear(c.dim, c.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c.dim, c.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c.dim, c.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(c.heads * self.head_dim, c.dim, bias=False)

    def forward(self, x, cos, sin, mask, fused):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = cos[:, None].to(q.dtype), sin[:, None].to(q.dtype)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        if groups > 1:
            k = k[:, :, None].expand(b, self.kv_heads, groups, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
            v = v[:, :, None].expand(b, self.kv_heads, groups, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        if fused:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim) + mask
            y = F.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c.dim)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.dim)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(c.dim, c.hidden, bias=False)
        self.mlp.up_proj = nn.Linear(c.dim, c.hidden, bias=False)
        self.mlp.down_proj = nn.Linear(c.hidden, c.dim, bias=False)

    def forward(self, x, cos, sin, mask, fused):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, fused)
        h = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(h)) * self.mlp.up_proj(h))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.dim)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.layers)])
        self.norm = RMSNorm(c.dim)
        self.rotary_emb = Rotary(c.dim // c.heads)


class LlamaLM(nn.Module):
    """forward(input_ids, attention_mask=None, position_ids=None, ...) -> an object with .logits, as transformers'
    LlamaForCausalLM is called; `fused` (training) uses torch's causal scaled_dot_product_attention and ignores
    attention_mask, the default path builds the additive mask from attention_mask with plain ops (export, scoring)."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.config = types.SimpleNamespace(num_hidden_layers=c.layers, vocab_size=c.vocab_size, tie_word_embeddings=True)
        self.model = Decoder(c)
        self.lm_head = nn.Linear(c.dim, c.vocab_size, bias=False)
        self.lm_head.weight = self.model.embed_tokens.weight
        self.fused = False

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                return_dict=True):
        b, t = input_ids.shape
        device = input_ids.device
        if position_ids is None:
            position_ids = torch.arange(t, device=device).unsqueeze(0).expand(b, -1)
        fused = self.fused and attention_mask is None
        mask = None
        if not fused:
            if attention_mask is None:
                attention_mask = torch.ones(b, t, dtype=torch.int64, device=device)
            causal = torch.arange(t, device=device)[None, :] <= torch.arange(t, device=device)[:, None]
            allowed = causal[None, None] & attention_mask[:, None, None, :].bool()
            mask = torch.where(allowed, torch.tensor(0.0, device=device),
                               torch.tensor(torch.finfo(torch.float32).min, device=device))
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.model.rotary_emb(position_ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask, fused)
        logits = self.lm_head(self.model.norm(x))
        return types.SimpleNamespace(logits=logits, past_key_values=None)


def init_weights(model, c, seed):
    """GPT-2/Llama practice: N(0, 0.02), the two residual projections scaled by 1/sqrt(2 * layers); norms 1."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            nn.init.ones_(p)
            continue
        std = 0.02 / math.sqrt(2 * c.layers) if name.endswith(("o_proj.weight", "down_proj.weight")) else 0.02
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def make_config(name, vocab_size, eot_id, overrides=None):
    c = dict(CONFIGS[name])
    c.update({k: v for k, v in (overrides or {}).items() if v is not None})
    c.update(vocab_size=vocab_size, eot_id=eot_id, name=name)
    return types.SimpleNamespace(**c)


def hf_config(c):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": c.vocab_size, "hidden_size": c.dim, "intermediate_size": c.hidden,
        "num_hidden_layers": c.layers, "num_attention_heads": c.heads, "num_key_value_heads": c.kv_heads,
        "head_dim": c.dim // c.heads, "max_position_embeddings": c.max_positions, "rms_norm_eps": NORM_EPS,
        "rope_theta": ROPE_THETA, "hidden_act": "silu", "tie_word_embeddings": True,
        "attention_bias": False, "mlp_bias": False,
        "bos_token_id": c.eot_id, "eos_token_id": c.eot_id, "pad_token_id": c.eot_id,
        "torch_dtype": "float16", "ortzo_config": c.name,
    }


def config_from_hf(d):
    return types.SimpleNamespace(dim=d["hidden_size"], layers=d["num_hidden_layers"], heads=d["num_attention_heads"],
                                 kv_heads=d["num_key_value_heads"], hidden=d["intermediate_size"],
                                 max_positions=d["max_position_embeddings"], vocab_size=d["vocab_size"],
                                 eot_id=d["eos_token_id"], name=d.get("ortzo_config", "custom"))


# ---------------------------------------------------------------------------------------------------------------------
# Files: token files, safetensors (written and read here; the format is a JSON header and raw little-endian data)
# ---------------------------------------------------------------------------------------------------------------------

def read_tokens(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if len(data) % 2:
        raise SystemExit(f"error: {path}: odd size; expected uint16 token ids")
    # torch before 2.3 has no uint16: read as int16 and undo the sign
    return (torch.frombuffer(data, dtype=torch.int16).to(torch.int64) & 0xFFFF).contiguous()


def read_tokenizer(folder):
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    if EOT not in vocab:
        raise SystemExit(f"error: {folder}/vocab.json has no {EOT}")
    return max(vocab.values()) + 1, vocab[EOT]


ST_DTYPES = {torch.float16: "F16", torch.float32: "F32"}
ST_TORCH = {v: k for k, v in ST_DTYPES.items()}


def tensor_bytes(t):
    try:
        return t.numpy().tobytes()
    except (ImportError, RuntimeError):
        # torch 2.x wheels do not require numpy; slower, but the same little-endian bytes
        return bytes(t.reshape(-1).view(torch.uint8).tolist())


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors:
        b = tensor_bytes(t.detach().cpu().contiguous())
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dtype = ST_TORCH[info["dtype"]]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=dtype).reshape(info["shape"]).clone()
    return out


def save_checkpoint(model, c, folder, shard_mib, tokenizer_dir, extra_files=()):
    """fp16 shards of at most shard_mib MiB (Hugging Face's sharded layout), config.json and the tokenizer."""
    os.makedirs(folder, exist_ok=True)
    tensors = [(n, p.detach().to(torch.float16)) for n, p in model.named_parameters()]   # lm_head is tied: not listed
    limit = shard_mib * 2 ** 20
    shards, current, size = [], [], 0
    for name, t in tensors:
        nbytes = t.numel() * 2
        if current and size + nbytes > limit:
            shards.append(current)
            current, size = [], 0
        current.append((name, t))
        size += nbytes
    shards.append(current)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(folder, fname), shard)
        for name, t in shard:
            weight_map[name] = fname
            total += t.numel() * 2
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(hf_config(c), f, indent=1)
    if tokenizer_dir:
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(folder, name))
    return [os.path.join(folder, f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors") for i in range(len(shards))]


def load_checkpoint(folder, dtype=torch.float32):
    with open(os.path.join(folder, "config.json")) as f:
        c = config_from_hf(json.load(f))
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        index = json.load(f)
    state = {}
    for fname in sorted(set(index["weight_map"].values())):
        state.update(read_safetensors(os.path.join(folder, fname)))
    model = LlamaLM(c)
    missing = [n for n, _ in model.named_parameters() if n not in state]
    if missing:
        raise SystemExit(f"error: {folder}: weights missing from the shards: {missing[:3]}")
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(state[n].to(torch.float32))
    return model.to(dtype).eval(), c


# ---------------------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------------------

def pick_device(name):
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def batches(tokens, batch, seq, generator):
    """Random windows of seq + 1 tokens (inputs and shifted targets), uniformly over the token stream."""
    starts = torch.randint(0, len(tokens) - seq - 1, (batch,), generator=generator)
    rows = torch.stack([tokens[s:s + seq + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]


def lr_at(step, steps, peak, warmup, floor=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def heldout_loss(model, tokens, seq, batch, device, autocast):
    """Mean next-token cross-entropy over the held-out stream cut into consecutive windows (every token once)."""
    model.eval()
    n = (len(tokens) - 1) // seq
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, n, batch):
            rows = torch.stack([tokens[j * seq:j * seq + seq + 1] for j in range(i, min(n, i + batch))]).to(device)
            with autocast():
                logits = model(rows[:, :-1]).logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1), reduction="sum")
            total += float(loss)
            count += rows[:, 1:].numel()
    model.train()
    return total / max(1, count), count


def cmd_train(args):
    started = time.time()
    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    vocab, eot = read_tokenizer(args.tokenizer)
    overrides = {"dim": args.dim, "layers": args.layers, "heads": args.heads, "kv_heads": args.kv_heads,
                 "hidden": args.hidden, "max_positions": args.seq if args.seq else None}
    c = make_config(args.config, vocab, eot, overrides)
    if c.kv_heads is None or c.heads % c.kv_heads:
        c.kv_heads = c.heads
    seq = min(args.seq or c.max_positions, c.max_positions)
    train_tokens = read_tokens(args.tokens)
    held_tokens = read_tokens(args.heldout) if args.heldout else None
    if int(train_tokens.max()) >= vocab:
        raise SystemExit(f"error: {args.tokens} holds id {int(train_tokens.max())} >= vocabulary {vocab}")

    model = LlamaLM(c)
    init_weights(model, c, args.seed)
    model.to(device).train()
    fused_available = hasattr(F, "scaled_dot_product_attention")
    bf16 = device.startswith("cuda") and args.precision in ("auto", "bf16")
    if device.startswith("cuda"):
        # the check below compares in true float32; training may use TF32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    def autocast():
        if bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False) if hasattr(torch, "autocast") else _null()

    # the fused attention must give the plain path's numbers (the plain path is what is exported)
    check_rows = train_tokens[:min(len(train_tokens) - 1, seq)].unsqueeze(0).to(device)
    with torch.no_grad():
        model.fused = False
        plain = model(check_rows).logits.float()
        model.fused = fused_available
        fused = model(check_rows).logits.float()
    attention_check = float((plain - fused).abs().max())
    if attention_check > 1e-3 * max(1.0, float(plain.abs().max())):
        raise SystemExit(f"error: fused and plain attention differ by {attention_check}")

    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt_kwargs = {"fused": True} if device.startswith("cuda") and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames else {}
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.95), eps=1e-8, **opt_kwargs)
    generator = torch.Generator().manual_seed(args.seed)
    tokens_dev = train_tokens.to(device) if device.startswith("cuda") else train_tokens
    steps = args.steps
    log_lines, losses = [], []

    def log(message):
        line = f"[{time.time() - started:7.1f}s] {message}"
        print(line, flush=True)
        log_lines.append(line)

    log(f"config {c.name}: dim {c.dim}, layers {c.layers}, heads {c.heads}/{c.kv_heads}, hidden {c.hidden}, vocab {vocab}, "
        f"seq {seq}; {param_count(model):,} parameters; device {device}{' (bf16 autocast)' if bf16 else ''}; "
        f"torch {torch.__version__}; fused attention {model.fused} (max diff to plain {attention_check:.2e})")
    log(f"train tokens {len(train_tokens):,}; held out {len(held_tokens) if held_tokens is not None else 0:,}; "
        f"{steps} steps x {args.batch} x {seq} = {steps * args.batch * seq:,} tokens "
        f"({steps * args.batch * seq / len(train_tokens):.2f} epochs)")
    train_started = time.time()
    measured_from = (0, train_started)
    step = 0
    while step < steps:
        lr = lr_at(step, steps, args.lr, args.warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batches(train_tokens, args.batch, seq, generator) if not device.startswith("cuda") else \
            _gpu_batches(tokens_dev, args.batch, seq, generator)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast():
            logits = model(x).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        step += 1
        if step % args.log_every == 0 or step == 1 or step == steps:
            value = float(loss)
            losses.append({"step": step, "loss": round(value, 4), "lr": lr, "grad_norm": round(float(norm), 3)})
            log(f"step {step}/{steps} loss {value:.4f} lr {lr:.2e} grad-norm {float(norm):.2f}")
        if args.time_limit and step in (args.calibrate_at // 5, args.calibrate_at):
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if step == args.calibrate_at // 5:
                # the first steps carry CUDA's start-up (kernel loading, allocator): measure from here
                measured_from = (step, time.time())
                continue
            # one look at the speed, still inside the warm-up: shorten the run (and its schedule) to fit the time limit
            per_step = (time.time() - measured_from[1]) / (step - measured_from[0])
            fit = int((args.time_limit - (time.time() - started) - 30) / per_step) + step
            if fit < steps:
                shortened = max(fit, step + 1)
                log(f"{per_step * 1000:.0f} ms/step: {steps} steps would pass the {args.time_limit} s limit; "
                    f"training {shortened} steps instead")
                steps = shortened
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    train_seconds = time.time() - train_started
    result = {"format": "ortzo-pretrain-run", "version": 1, "command": " ".join(sys.argv),
              "config": vars(c), "parameters": param_count(model), "seq": seq, "batch": args.batch,
              "steps": step, "steps_requested": args.steps, "tokens_seen": step * args.batch * seq,
              "train_tokens": len(train_tokens), "epochs": step * args.batch * seq / len(train_tokens),
              "lr": args.lr, "warmup": args.warmup, "weight_decay": args.weight_decay, "clip": args.clip,
              "seed": args.seed, "device": device, "precision": "bf16-autocast" if bf16 else "fp32",
              "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
              "train_seconds": round(train_seconds, 1), "tokens_per_second": round(step * args.batch * seq / train_seconds),
              "attention_check_max_diff": attention_check, "losses": losses,
              "versions": {"torch": torch.__version__, "python": platform.python_version()},
              "token_files": {"train": os.path.abspath(args.tokens), "heldout": os.path.abspath(args.heldout) if args.heldout else None}}
    for side in ("tokens", "heldout"):
        path = getattr(args, side)
        if path and os.path.exists(path + ".json"):
            with open(path + ".json") as f:
                result["token_files"][f"{side}_description"] = json.load(f)
    model.fused = False
    if held_tokens is not None and len(held_tokens) > seq + 1:
        if bf16:
            loss, count = heldout_loss(model, held_tokens, seq, args.batch, device, autocast)
            result["heldout_bf16_autocast"] = {"loss": loss, "perplexity": math.exp(loss), "tokens": count}
            log(f"held-out loss {loss:.4f}, perplexity {math.exp(loss):.2f} (bf16 autocast, as trained)")
    # what ships: the weights rounded to fp16, here computed in float32 as OrtZo's fp32 graph computes them (no TF32)
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(p.dtype))
    if held_tokens is not None and len(held_tokens) > seq + 1:
        loss, count = heldout_loss(model, held_tokens, seq, args.batch, device, _null)
        result["heldout"] = {"loss": loss, "perplexity": math.exp(loss), "tokens": count,
                             "precision": "fp32 compute, fp16-rounded weights (the shipped checkpoint)",
                             "windows": f"consecutive windows of {seq} tokens, every held-out token predicted once"}
        log(f"held-out loss {loss:.4f}, perplexity {math.exp(loss):.2f} over {count:,} tokens (fp32, shipped fp16 weights)")
    model.cpu()
    shards = save_checkpoint(model, c, args.out, args.shard_mib, args.tokenizer if args.copy_tokenizer else None)
    result["shards"] = [{"file": os.path.basename(s), "bytes": os.path.getsize(s)} for s in shards]
    result["seconds"] = round(time.time() - started, 1)
    result["log"] = log_lines
    with open(os.path.join(args.out, "train.json"), "w") as f:
        json.dump(result, f, indent=1)
    log(f"wrote {args.out}: {', '.join(sorted(os.listdir(args.out)))}")
    return 0


def _gpu_batches(tokens, batch, seq, generator):
    starts = torch.randint(0, len(tokens) - seq - 1, (batch,), generator=generator).to(tokens.device)
    index = starts[:, None] + torch.arange(seq + 1, device=tokens.device)[None, :]
    rows = tokens[index]
    return rows[:, :-1], rows[:, 1:]


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Export, scoring, perplexity
# ---------------------------------------------------------------------------------------------------------------------

def cmd_export(args):
    sys.path.insert(0, os.path.join(REPO, "tools", "export"))
    import export as ex
    dtype = {"fp32": torch.float32, "fp16": torch.float16}[args.dtype]
    model, c = load_checkpoint(args.checkpoint, dtype)

    def side_files(staged):
        for name in ("vocab.json", "merges.txt", "config.json"):
            shutil.copyfile(os.path.join(args.checkpoint, name), os.path.join(staged, name))
        return {"family": "llama (tools/pretrain/train.py)", "source": os.path.abspath(args.checkpoint),
                "tokenizer": {"kind": "byte-bpe", "notes": ["trained by `ortzo make-model bpe` on the pretraining corpus"]}}

    options = ex.parse_args(["unused", args.out, "--dtype", args.dtype, "--verify", args.verify]
                            + (["--overwrite"] if args.overwrite else []))
    report = ex.export_model(model, args.out, options, True, side_files)
    print(f"exported {param_count(model):,} parameters to {args.out} (numeric check: {report['numeric_check'].get('status', 'ran')})")
    return 0


def cmd_score(args):
    """rows.json: [{"ids": [...], "scored_from": k}, ...] -> per row the sum and mean of log p(ids[t] | ids[:t]) for
    t >= scored_from, from float32 logits through a float64 log_softmax (one row at a time: no padding involved)."""
    model, _ = load_checkpoint(args.checkpoint)
    with open(args.rows) as f:
        rows = json.load(f)
    out = []
    with torch.no_grad():
        for r in rows:
            ids = torch.tensor([r["ids"]])
            logprobs = torch.log_softmax(model(ids).logits.double(), dim=-1)[0]
            picked = [float(logprobs[t - 1, r["ids"][t]]) for t in range(r["scored_from"], len(r["ids"]))]
            out.append({"sum": sum(picked), "mean": sum(picked) / len(picked), "tokens": len(picked)})
    with open(args.out, "w") as f:
        json.dump(out, f)
    return 0


def cmd_perplexity(args):
    model, c = load_checkpoint(args.checkpoint)
    tokens = read_tokens(args.tokens)
    loss, count = heldout_loss(model, tokens, min(args.seq, c.max_positions), args.batch, "cpu", _null)
    print(json.dumps({"loss": loss, "perplexity": math.exp(loss), "tokens": count, "precision": "fp32 (fp16 weights)"}))
    return 0


def cmd_hf_check(args):
    """Loads the checkpoint with transformers' LlamaForCausalLM (when transformers is installed) and compares its
    float32 logits with this file's model on random tokens: the folder is meant to be a Hugging Face checkpoint too."""
    try:
        import transformers
    except ImportError:
        print(json.dumps({"hf_check": "skipped", "reason": "transformers is not installed"}))
        return 0
    model, c = load_checkpoint(args.checkpoint)
    try:
        hf = transformers.LlamaForCausalLM.from_pretrained(args.checkpoint, dtype=torch.float32).eval()
    except TypeError:   # transformers before 4.56 names it torch_dtype
        hf = transformers.LlamaForCausalLM.from_pretrained(args.checkpoint, torch_dtype=torch.float32).eval()
    ids = torch.randint(0, c.vocab_size, (2, 48), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = model(ids).logits
        theirs = hf(input_ids=ids).logits
    diff = float((ours - theirs).abs().max())
    result = {"hf_check": "ok" if diff <= 1e-3 * max(1.0, float(ours.abs().max())) else "MISMATCH",
              "max_abs_diff": diff, "transformers": transformers.__version__}
    print(json.dumps(result))
    return 0 if result["hf_check"] == "ok" else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--tokens", required=True)
    t.add_argument("--heldout")
    t.add_argument("--tokenizer", required=True, help="folder with vocab.json and merges.txt")
    t.add_argument("--out", required=True)
    t.add_argument("--config", choices=sorted(CONFIGS), default="small")
    for name in ("dim", "layers", "heads", "kv-heads", "hidden"):
        t.add_argument(f"--{name}", type=int)
    t.add_argument("--seq", type=int, default=0, help="context length (default: the config's)")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--weight-decay", type=float, default=0.1)
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto")
    t.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    t.add_argument("--time-limit", type=float, default=0, help="seconds; the step count shrinks to fit (0: none)")
    t.add_argument("--calibrate-at", type=int, default=50, help="step at which the speed is measured for --time-limit")
    t.add_argument("--log-every", type=int, default=100)
    t.add_argument("--shard-mib", type=int, default=15)
    t.add_argument("--no-copy-tokenizer", dest="copy_tokenizer", action="store_false",
                   help="leave vocab.json/merges.txt out of --out (the device run: fewer files come back)")
    e = sub.add_parser("export")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--dtype", choices=("fp32", "fp16"), default="fp32")
    e.add_argument("--verify", choices=("auto", "ort", "reference", "off"), default="auto")
    e.add_argument("--overwrite", action="store_true")
    s = sub.add_parser("score")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--rows", required=True)
    s.add_argument("--out", required=True)
    q = sub.add_parser("perplexity")
    q.add_argument("--checkpoint", required=True)
    q.add_argument("--tokens", required=True)
    q.add_argument("--seq", type=int, default=512)
    q.add_argument("--batch", type=int, default=8)
    h = sub.add_parser("hf-check")
    h.add_argument("--checkpoint", required=True)
    args = p.parse_args(argv)
    return {"hf-check": cmd_hf_check, "train": cmd_train, "export": cmd_export, "score": cmd_score, "perplexity": cmd_perplexity}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
