#!/usr/bin/env python3
"""Builds a tiny random model of each supported family inside transformers, exports it with export.py, and writes
the oracle OrtZo's importer test compares against.

Usage (on a machine with torch, transformers and onnx; no network is used):
    python3 tools/export/verify_families.py <out-dir> [--cases gpt2,opt,...] [--python PY]

For each case it writes <out-dir>/<case>/ (export.py's output: model.onnx, tokenizer and config files,
hf_export.json) plus <out-dir>/<case>/oracle.json, in the schema of make_torch_fixture.py's torch_tiny_gpt.json:
two fixed batches (one full, one right-padded) with, per row, token_logprobs[t] = log p(ids[t] | ids[:t]) for t >= 1
(null at t = 0), computed from transformers' own float32 logits with log_softmax in float64. It also writes
<out-dir>/summary.json (per case: status, sizes, and the same comparison done in Python with onnxruntime or onnx's
reference evaluator when one is installed), <out-dir>/logs/<case>.txt, and <out-dir>/families.tar.gz holding all of
that under families/ (the device brings back only a few files). The Hugging Face checkpoints it built stay in
<out-dir>/_hf/ and are not packed.

Cases: gpt2, opt, llama, mistral (GQA), qwen2 (GQA, q/k/v biases, tied head, tokenizer.json only), plus
mistral_with_past and gpt2_with_past (Optimum-style past inputs), llama_external (external data forced) and
llama_fp16 (an fp16 export checked against the float32 oracle with a loose tolerance).

Tokenizers are built here without downloads: byte-level BPE vocab.json + merges.txt (GPT-2, OPT), a byte-level
tokenizer.json (Qwen2, so export.py's extraction path runs), and a SentencePiece tokenizer.model written directly in
the protobuf wire format (Llama, Mistral): BPE with byte fallback, like Llama's.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # importing export.py leaves no __pycache__ in tools/export
EXPORT_PY = os.path.join(HERE, "export.py")

VOCAB = 320
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
INTERMEDIATE = 128
MAX_POSITIONS = 64
SEED = 20250214

# case name -> (family, extra export.py arguments, oracle tolerance on summed log-probabilities)
CASES = {
    "gpt2": ("gpt2", [], 1e-4),
    "opt": ("opt", [], 1e-4),
    "llama": ("llama", [], 1e-4),
    "mistral": ("mistral", [], 1e-4),
    "qwen2": ("qwen2", [], 1e-4),
    "mistral_with_past": ("mistral", ["--with-past"], 1e-4),
    "gpt2_with_past": ("gpt2", ["--with-past"], 1e-4),
    "llama_external": ("llama", ["--external-data", "always"], 1e-4),
    "llama_fp16": ("llama", ["--dtype", "fp16"], 0.25),
}

# A few sentences to learn merges from (any English text would do).
CORPUS = (
    "the cat sat on the mat and the dog sat by the door. they were there the whole day, and then the rain came. "
    "she said that the garden was green in the spring and brown in the winter. he read the letter twice before "
    "he answered it. there is a tree on the hill where the children play when the weather is warm. "
    "what is the name of the river that runs through the town? it is the one with the old stone bridge. "
)

# ----------------------------------------------------------------------------------------------------------------------
# Byte-level BPE (GPT-2 style) built from CORPUS
# ----------------------------------------------------------------------------------------------------------------------


def byte_alphabet():
    sys.path.insert(0, HERE)
    from export import gpt2_byte_alphabet
    return gpt2_byte_alphabet()


def learn_merges(words, count):
    """Greedy BPE on lists of symbols: merges the most frequent adjacent pair (ties: the smallest pair) count times."""
    words = [list(w) for w in words]
    merges = []
    for _ in range(count):
        pairs = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + 1
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = best[0] + best[1]
        for i, w in enumerate(words):
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
    return merges


def byte_bpe(front, back, budget):
    """vocab (token -> id) and merges: front specials, the 256 byte symbols, learned merges, back specials."""
    alphabet = byte_alphabet()
    pieces = re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", CORPUS)
    words = [[alphabet[b] for b in p.encode("utf-8")] for p in pieces]
    merges = learn_merges(words, budget - len(front) - 256 - len(back))
    vocab = {}
    for token in front + [alphabet[b] for b in range(256)] + [a + b for a, b in merges] + back:
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab, merges


def write_vocab_merges(folder, vocab, merges):
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")


def write_byte_bpe_tokenizer_json(folder, vocab, merges, added):
    """tokenizer.json of a byte-level BPE with `added` special tokens after the vocabulary; through the tokenizers
    library when it is installed (it comes with transformers), else written by hand in the same layout."""
    path = os.path.join(folder, "tokenizer.json")
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
        tok = Tokenizer(models.BPE(vocab=dict(vocab), merges=[tuple(m) for m in merges]))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.add_special_tokens(list(added))  # ids follow the vocabulary's
        tok.save(path)
        return "tokenizers library"
    except ImportError:
        pass
    data = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": len(vocab) + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, t in enumerate(added)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": [f"{a} {b}" for a, b in merges]},
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    return "written by hand"


# ----------------------------------------------------------------------------------------------------------------------
# SentencePiece tokenizer.model, written in protobuf wire format (field numbers of sentencepiece_model.proto)
# ----------------------------------------------------------------------------------------------------------------------

def _varint(n):
    if n < 0:
        n += 1 << 64  # int32/int64 negatives take ten bytes, two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number, wire, payload):
    return _varint((number << 3) | wire) + payload


def _int(number, value):
    return _field(number, 0, _varint(int(value)))


def _bytes(number, data):
    return _field(number, 2, _varint(len(data)) + data)


def _str(number, text):
    return _bytes(number, text.encode("utf-8"))


def _float(number, value):
    return _field(number, 5, struct.pack("<f", value))


PIECE_NORMAL, PIECE_UNKNOWN, PIECE_CONTROL, PIECE_BYTE = 1, 2, 3, 6
SP_SPACE = "\u2581"


def sentencepiece_pieces(budget):
    """Llama's layout: <unk>, <s>, </s>, the 256 byte pieces, merged pieces by decreasing score, then the single
    characters (lowercase letters and the space mark) with the lowest scores. Anything else falls back to bytes."""
    words = [SP_SPACE + w for w in re.findall(r"[a-z]+", CORPUS)]
    chars = [SP_SPACE] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    merges = learn_merges([list(w) for w in words], budget - 3 - 256 - len(chars))
    pieces = [("<unk>", 0.0, PIECE_UNKNOWN), ("<s>", 0.0, PIECE_CONTROL), ("</s>", 0.0, PIECE_CONTROL)]
    pieces += [(f"<0x{b:02X}>", 0.0, PIECE_BYTE) for b in range(256)]
    seen = {p[0] for p in pieces}
    for i, (a, b) in enumerate(merges):
        if a + b not in seen:
            pieces.append((a + b, -float(i), PIECE_NORMAL))
            seen.add(a + b)
    for i, c in enumerate(chars):
        pieces.append((c, -1000.0 - i, PIECE_NORMAL))
    return pieces


def sentencepiece_model_bytes(pieces):
    body = b"".join(_bytes(1, _str(1, p) + _float(2, s) + _int(3, t)) for p, s, t in pieces)
    trainer = (_int(3, 2)                      # model_type BPE
               + _int(4, len(pieces))          # vocab_size
               + _int(35, 1)                   # byte_fallback
               + _int(40, 0) + _int(41, 1) + _int(42, 2) + _int(43, -1)   # unk, bos, eos, pad ids
               + _str(45, "<unk>") + _str(46, "<s>") + _str(47, "</s>"))
    normalizer = _str(1, "identity") + _int(3, 1) + _int(4, 0) + _int(5, 1)  # dummy prefix, keep spaces, escape them
    return body + _bytes(2, trainer) + _bytes(3, normalizer)


def write_sentencepiece(folder, budget):
    pieces = sentencepiece_pieces(budget)
    with open(os.path.join(folder, "tokenizer.model"), "wb") as f:
        f.write(sentencepiece_model_bytes(pieces))
    return len(pieces)


# ----------------------------------------------------------------------------------------------------------------------
# The tiny Hugging Face models
# ----------------------------------------------------------------------------------------------------------------------

def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


def tokenizer_files(family, folder):
    """Writes the family's tokenizer; returns the special ids the config should carry."""
    if family == "gpt2":
        vocab, merges = byte_bpe([], ["<|endoftext|>"], VOCAB)
        write_vocab_merges(folder, vocab, merges)
        eot = vocab["<|endoftext|>"]
        write_json(os.path.join(folder, "tokenizer_config.json"), {
            "tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "add_prefix_space": False, "model_max_length": MAX_POSITIONS})
        return {"bos_token_id": eot, "eos_token_id": eot}
    if family == "opt":
        vocab, merges = byte_bpe(["<s>", "<pad>", "</s>", "<unk>"], [], VOCAB)
        write_vocab_merges(folder, vocab, merges)
        write_json(os.path.join(folder, "tokenizer_config.json"), {
            "tokenizer_class": "GPT2Tokenizer", "bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>",
            "pad_token": "<pad>", "add_bos_token": True, "add_prefix_space": False, "model_max_length": MAX_POSITIONS})
        return {"bos_token_id": 2, "eos_token_id": 2, "pad_token_id": 1}
    if family == "qwen2":
        vocab, merges = byte_bpe([], [], VOCAB - 1)
        how = write_byte_bpe_tokenizer_json(folder, vocab, merges, ["<|endoftext|>"])
        write_json(os.path.join(folder, "tokenizer_config.json"), {
            "tokenizer_class": "Qwen2Tokenizer", "bos_token": None, "eos_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>", "unk_token": None, "add_prefix_space": False,
            "model_max_length": MAX_POSITIONS, "_ortzo_note": f"tokenizer.json {how}"})
        # As Qwen2's own config: BOS and EOS both <|endoftext|> (the tokenizer adds neither).
        return {"eos_token_id": len(vocab), "bos_token_id": len(vocab)}
    # llama, mistral: SentencePiece
    write_sentencepiece(folder, VOCAB)
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "add_bos_token": True, "add_eos_token": False, "legacy": True, "model_max_length": MAX_POSITIONS})
    return {"bos_token_id": 1, "eos_token_id": 2}


def tiny_config(family, special):
    import transformers as tf
    common = dict(vocab_size=VOCAB, **{k: v for k, v in special.items() if v is not None})
    if family == "gpt2":
        return tf.GPT2Config(n_layer=LAYERS, n_embd=HIDDEN, n_head=HEADS, n_positions=MAX_POSITIONS,
                             resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **common)
    if family == "opt":
        return tf.OPTConfig(num_hidden_layers=LAYERS, hidden_size=HIDDEN, word_embed_proj_dim=HIDDEN,
                            num_attention_heads=HEADS, ffn_dim=INTERMEDIATE, max_position_embeddings=MAX_POSITIONS,
                            do_layer_norm_before=True, dropout=0.0, attention_dropout=0.0, **common)
    if family == "llama":
        return tf.LlamaConfig(num_hidden_layers=LAYERS, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                              num_attention_heads=HEADS, num_key_value_heads=HEADS, max_position_embeddings=MAX_POSITIONS,
                              tie_word_embeddings=False, **common)
    if family == "mistral":
        return tf.MistralConfig(num_hidden_layers=LAYERS, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                                num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                                max_position_embeddings=MAX_POSITIONS, tie_word_embeddings=False, **common)
    if family == "qwen2":
        return tf.Qwen2Config(num_hidden_layers=LAYERS, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                              num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                              max_position_embeddings=MAX_POSITIONS, tie_word_embeddings=True,
                              use_sliding_window=False, **common)
    raise ValueError(family)


def randomize(model, seed):
    """Weights larger than the default initialisation (std 0.2, norm scales 1 +- 0.1) so that log-probabilities differ
    clearly between tokens and a wrong op cannot hide inside near-uniform outputs."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def build_hf_model(family, folder):
    import torch
    from transformers import AutoModelForCausalLM
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    special = tokenizer_files(family, folder)
    config = tiny_config(family, special)
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(config)
    model.eval()
    randomize(model, SEED + sorted(CASES).index(family))
    model.save_pretrained(folder)
    return model


def load_float32(folder):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM
    sys.path.insert(0, HERE)
    from export import version_tuple
    key = "dtype" if version_tuple(transformers.__version__) >= (4, 56) else "torch_dtype"
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, **{key: torch.float32})
    return model.eval()


def fixed_batches():
    """One full batch of 2 x 12 and one right-padded batch of 3 x 8 (5, 8 and 2 real tokens); padding id 0."""
    import torch
    g = torch.Generator().manual_seed(SEED)
    full = torch.randint(0, VOCAB, (2, 12), generator=g).tolist()
    padded = torch.randint(0, VOCAB, (3, 8), generator=g).tolist()
    lengths = [5, 8, 2]
    padded = [[t if i < n else 0 for i, t in enumerate(row)] for row, n in zip(padded, lengths)]
    return [
        {"input_ids": full, "attention_mask": [[1] * 12, [1] * 12]},
        {"input_ids": padded, "attention_mask": [[1] * n + [0] * (8 - n) for n in lengths]},
    ]


def oracle(folder, family, case, tolerance, export_args):
    """transformers' own per-token log-probabilities: float32 logits from a fresh from_pretrained (default attention
    implementation), log_softmax in float64."""
    import torch
    import transformers
    model = load_float32(folder)
    batches = fixed_batches()
    for batch in batches:
        ids = torch.tensor(batch["input_ids"], dtype=torch.int64)
        mask = torch.tensor(batch["attention_mask"], dtype=torch.int64)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        logprobs = torch.log_softmax(logits.double(), dim=-1)
        batch["token_logprobs"] = [[None] + [float(logprobs[b, t - 1, ids[b, t]]) for t in range(1, ids.shape[1])]
                                   for b in range(ids.shape[0])]
    cfg = model.config
    return {
        "description": f"transformers' own per-token log-probs for tools/export/verify_families.py's tiny {family} "
                       f"(case {case})",
        "torch_version": torch.__version__, "transformers_version": transformers.__version__,
        "family": family, "case": case, "export_args": export_args, "seed": SEED,
        "vocab_size": VOCAB, "d_model": HIDDEN, "layers": LAYERS, "heads": HEADS,
        "kv_heads": getattr(cfg, "num_key_value_heads", HEADS), "max_length": MAX_POSITIONS,
        "tie_word_embeddings": bool(getattr(cfg, "tie_word_embeddings", False)),
        "tolerance": tolerance,
        "batches": batches,
    }


# ----------------------------------------------------------------------------------------------------------------------
# Checks in Python (what the C# test does, when a runtime is at hand)
# ----------------------------------------------------------------------------------------------------------------------

def python_scores(case_dir, oracle_data):
    """Runs the exported graph on the oracle's batches (past inputs empty, as `ortzo import` makes them) and compares
    each row's summed log-probability of real tokens after the first with the oracle's."""
    import numpy as np
    import onnx
    sys.path.insert(0, HERE)
    from export import OnnxRunner
    path = os.path.join(case_dir, "model.onnx")
    runner = OnnxRunner(path)
    if runner.kind is None:
        return {"status": "skipped", "reason": runner.reason}
    graph = onnx.load(path, load_external_data=False).graph
    inputs = {i.name: i for i in graph.input}
    worst, rows = 0.0, 0
    for batch in oracle_data["batches"]:
        ids = np.array(batch["input_ids"], dtype=np.int64)
        mask = np.array(batch["attention_mask"], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "position_ids" in inputs:
            feeds["position_ids"] = np.broadcast_to(np.arange(ids.shape[1], dtype=np.int64), ids.shape).copy()
        for name, info in inputs.items():
            if name.startswith("past_key_values."):
                dims = [d.dim_value for d in info.type.tensor_type.shape.dim]
                dims[0], dims[2] = ids.shape[0], 0
                np_type = {1: np.float32, 10: np.float16}[info.type.tensor_type.elem_type]
                feeds[name] = np.zeros(dims, dtype=np_type)
        logits = runner.run(feeds)[0].astype(np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        logprobs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        for b in range(ids.shape[0]):
            ours = sum(logprobs[b, t - 1, ids[b, t]] for t in range(1, ids.shape[1]) if mask[b, t])
            theirs = sum(v for t, v in enumerate(batch["token_logprobs"][b]) if t >= 1 and mask[b, t])
            worst = max(worst, abs(ours - theirs))
            rows += 1
    ok = worst <= oracle_data["tolerance"]
    return {"status": "ok" if ok else "mismatch", "runtime": runner.kind, "rows": rows,
            "max_abs_diff_of_row_sums": worst, "tolerance": oracle_data["tolerance"]}


# ----------------------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------------------

def versions():
    found = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "onnx", "onnxruntime", "tokenizers", "numpy"):
        try:
            found[name] = __import__(name).__version__
        except Exception:
            found[name] = None
    return found


def run_case(case, out, python, hf_models):
    family, extra, tolerance = CASES[case]
    hf_dir = os.path.join(out, "_hf", family)
    if family not in hf_models:
        build_hf_model(family, hf_dir)
        hf_models[family] = oracle(hf_dir, family, family, CASES[family][2], [])
    case_dir = os.path.join(out, case)
    log_path = os.path.join(out, "logs", f"{case}.txt")
    command = [python, EXPORT_PY, hf_dir, case_dir, "--overwrite"] + extra
    started = time.time()
    env = dict(os.environ, ORTZO_EXPORT_TRACEBACK="1")
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    with open(log_path, "w", encoding="utf-8") as f:
        f.write("$ " + " ".join(command) + "\n" + proc.stdout)
    result = {"family": family, "export_args": extra, "export_rc": proc.returncode,
              "export_seconds": round(time.time() - started, 1)}
    if proc.returncode != 0:
        result["status"] = "export failed"
        result["export_tail"] = proc.stdout[-3000:]
        print(proc.stdout[-3000:], flush=True)
        return result
    data = dict(hf_models[family])
    data.update(case=case, export_args=extra, tolerance=tolerance,
                description=data["description"].replace(f"(case {family})", f"(case {case})"))
    if "--dtype" in extra:
        data["export_dtype"] = extra[extra.index("--dtype") + 1]
        data["note"] = "the oracle is the float32 model's; the export runs in half precision, hence the loose tolerance"
    write_json(os.path.join(case_dir, "oracle.json"), data)
    sizes = {name: os.path.getsize(os.path.join(case_dir, name)) for name in sorted(os.listdir(case_dir))}
    result["files"] = sizes
    with open(os.path.join(case_dir, "hf_export.json"), encoding="utf-8") as f:
        report = json.load(f)
    result["export_report"] = {k: report.get(k) for k in ("exporter", "opset", "inputs", "outputs", "external_data",
                                                          "renamed_initializers", "unmatched_constants",
                                                          "numeric_check", "checker", "tokenizer", "past")}
    onnx_bytes = sizes.get("model.onnx", 0) + sizes.get("model.onnx.data", 0)
    if onnx_bytes > 1_200_000:
        result["size_warning"] = f"model is {onnx_bytes} bytes; the fixtures should stay near 1 MB"
    try:
        result["python_check"] = python_scores(case_dir, data)
    except Exception as e:
        result["python_check"] = {"status": "error", "reason": f"{type(e).__name__}: {e}"}
    check = result["python_check"]["status"]
    result["status"] = "ok" if check in ("ok", "skipped") else f"python check {check}"
    return result


def pack(out):
    path = os.path.join(out, "families.tar.gz")
    with tarfile.open(path + ".tmp", "w:gz") as tar:
        for name in sorted(os.listdir(out)):
            if name.startswith("_") or name.startswith(".") or name.startswith("families.tar.gz"):
                continue
            tar.add(os.path.join(out, name), arcname=f"families/{name}")
    os.replace(path + ".tmp", path)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="output folder (created; cases inside are replaced)")
    p.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {', '.join(CASES)}")
    p.add_argument("--python", default=sys.executable, help="interpreter that runs export.py")
    args = p.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        print(f"error: unknown cases {unknown}; expected some of {', '.join(CASES)}", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    summary = {"versions": versions(), "cases": {}}
    print(f"[verify] {summary['versions']}", flush=True)
    hf_models = {}
    for case in cases:
        print(f"[verify] === {case} ===", flush=True)
        try:
            summary["cases"][case] = run_case(case, out, args.python, hf_models)
        except Exception as e:
            summary["cases"][case] = {"status": "error", "error": f"{type(e).__name__}: {e}",
                                      "traceback": traceback.format_exc()[-4000:]}
            traceback.print_exc()
        print(f"[verify] {case}: {summary['cases'][case]['status']}", flush=True)
    failed = [c for c, r in summary["cases"].items() if r["status"] != "ok"]
    summary["failed"] = failed
    write_json(os.path.join(out, "summary.json"), summary)
    tar = pack(out)
    print(f"[verify] {len(cases) - len(failed)}/{len(cases)} cases ok; packed {tar} ({os.path.getsize(tar)} bytes)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
