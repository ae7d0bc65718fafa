#!/usr/bin/env python3
"""Builds the torch-exported test fixture for OrtZo's importer.

A tiny GPT-2-like decoder (random weights from a fixed seed) is exported with torch.onnx.export exactly as a
user would export a causal LM: weights as initializers, dynamic batch and sequence axes, constant folding on.
torch's own log-probabilities for a few fixed token sequences are saved beside it, so the C# test checks the
importer and its scoring head against torch rather than against OrtZo's own builder.

The model deliberately has the features that make real exports awkward to import:
  * lm_head tied to the token embedding through F.linear(h, wte.weight); constant folding stores the
    transposed copy as an anonymous initializer (onnx::MatMul_*), which the importer must fold back;
  * nn.Linear weights pre-transposed into anonymous initializers, named only by their consumer nodes;
  * LayerNorm decomposed into ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add (opset 14 has no LayerNormalization);
  * a float causal-mask buffer named like HF GPT-2's (attn.bias), recognisable only by its values.

Usage (from the repository root):
    /usr/bin/python3 tools/export/make_torch_fixture.py tests/OrtZo.Tests/Fixtures/onnx
Writes torch_tiny_gpt.onnx and torch_tiny_gpt.json into the given folder.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = 64
DIM = 32
LAYERS = 2
HEADS = 2
MAX_LEN = 32
OPSET = 14
SEED = 20240611


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(DIM, 3 * DIM)
        self.c_proj = nn.Linear(DIM, DIM)
        self.register_buffer("bias", torch.tril(torch.ones(MAX_LEN, MAX_LEN)).view(1, 1, MAX_LEN, MAX_LEN))

    def forward(self, x, padding):
        b, t, _ = x.shape
        q, k, v = self.c_attn(x).split(DIM, dim=2)
        q, k, v = (z.view(b, t, HEADS, DIM // HEADS).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(DIM // HEADS)
        causal = self.bias[:, :, :t, :t]
        scores = scores * causal + (1.0 - causal) * -1e4 + padding
        y = F.softmax(scores, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, DIM))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(DIM)
        self.attn = Attention()
        self.ln_2 = nn.LayerNorm(DIM)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(DIM, 4 * DIM))
        self.mlp.add_module("act", nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * DIM, DIM))

    def forward(self, x, padding):
        x = x + self.attn(self.ln_1(x), padding)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, DIM)
        self.wpe = nn.Embedding(MAX_LEN, DIM)
        self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(DIM)


class TinyGpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = Transformer()

    def forward(self, input_ids, attention_mask):
        tr = self.transformer
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device)
        x = tr.wte(input_ids) + tr.wpe(positions)
        padding = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e4
        for block in tr.h:
            x = block(x, padding)
        return F.linear(tr.ln_f(x), tr.wte.weight)


def randomize(model):
    # Larger than GPT-2's init so the log-probs differ clearly between tokens; norms and biases random too.
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name.endswith("ln_f.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    model = TinyGpt().eval()
    randomize(model)

    example_ids = torch.tensor([[1, 2, 3, 4, 5]], dtype=torch.int64)
    example_mask = torch.ones_like(example_ids)
    onnx_path = os.path.join(out, "torch_tiny_gpt.onnx")
    torch.onnx.export(
        model, (example_ids, example_mask), onnx_path,
        input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "attention_mask": {0: "batch_size", 1: "sequence_length"},
                      "logits": {0: "batch_size", 1: "sequence_length"}},
        opset_version=OPSET, do_constant_folding=True, export_params=True)

    # Fixed batches: one full batch and one with right padding; ids chosen to cover the vocabulary.
    batches = [
        {"input_ids": [[1, 17, 42, 5, 63, 8, 30, 2, 11, 0, 7, 55],
                       [3, 9, 27, 60, 14, 33, 1, 48, 21, 6, 39, 12]],
         "attention_mask": [[1] * 12, [1] * 12]},
        {"input_ids": [[5, 44, 19, 2, 58, 0, 0, 0],
                       [62, 10, 31, 47, 4, 25, 36, 50],
                       [8, 13, 0, 0, 0, 0, 0, 0]],
         "attention_mask": [[1, 1, 1, 1, 1, 0, 0, 0], [1] * 8, [1, 1, 0, 0, 0, 0, 0, 0]]},
    ]
    for batch in batches:
        ids = torch.tensor(batch["input_ids"], dtype=torch.int64)
        mask = torch.tensor(batch["attention_mask"], dtype=torch.int64)
        with torch.no_grad():
            logits = model(ids, mask)
        logprobs = F.log_softmax(logits.double(), dim=-1)
        # token_logprobs[b][t] = log p(ids[b][t] | ids[b][:t]) for t >= 1; None at t = 0 (nothing predicts it).
        rows = []
        for b in range(ids.shape[0]):
            row = [None]
            for t in range(1, ids.shape[1]):
                row.append(float(logprobs[b, t - 1, ids[b, t]]))
            rows.append(row)
        batch["token_logprobs"] = rows

    meta = {
        "description": "torch's own per-token log-probs for tools/export/make_torch_fixture.py's tiny GPT",
        "torch_version": torch.__version__,
        "opset": OPSET, "seed": SEED,
        "vocab_size": VOCAB, "d_model": DIM, "layers": LAYERS, "heads": HEADS, "max_length": MAX_LEN,
        "batches": batches,
    }
    with open(os.path.join(out, "torch_tiny_gpt.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes)")


if __name__ == "__main__":
    main()
