#!/usr/bin/env python3
"""An OPT-1.3B-shaped causal LM with random weights (seed 0), saved as a Hugging Face folder: the model both
OrtZo (after tools/export/export.py and `ortzo import`) and bench/torch_mezo.py load, so the two time the very
same weights. --tiny makes a 2-layer model of the same shape family for a dry run.

    python3 bench/gpu/make_opt_model.py <out-dir> [--dtype fp16] [--tiny]
"""
import argparse

import torch
from transformers import OPTConfig, OPTForCausalLM


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--dtype", choices=("fp16", "bf16", "fp32"), default="fp16")
    p.add_argument("--tiny", action="store_true")
    a = p.parse_args()
    size = dict(hidden_size=64, num_hidden_layers=2, ffn_dim=256, num_attention_heads=4) if a.tiny else \
        dict(hidden_size=2048, num_hidden_layers=24, ffn_dim=8192, num_attention_heads=32)
    config = OPTConfig(vocab_size=50272, max_position_embeddings=2048, word_embed_proj_dim=size["hidden_size"], **size)
    torch.manual_seed(0)
    model = OPTForCausalLM(config).to({"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[a.dtype])
    model.save_pretrained(a.out)
    print(f"{a.out}: {sum(q.numel() for q in model.parameters()):,} parameters, {a.dtype}")


if __name__ == "__main__":
    main()
