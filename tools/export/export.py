#!/usr/bin/env python3
"""Exports a Hugging Face causal-LM checkpoint (a local folder) to an ONNX causal LM that `ortzo import` accepts.

Usage:
    python3 tools/export/export.py <hf-model-dir> <out-dir> [--dtype fp32|fp16|bf16] [--opset N] [--with-past]
                                   [--position-ids auto|yes|no] [--external-data auto|always|never]
                                   [--exporter auto|torchscript|dynamo] [--device auto|cpu|cuda]
                                   [--verify auto|ort|reference|off] [--keep-torch-names] [--overwrite] [--no-tokenizer]

What it writes into <out-dir> (built in a hidden sibling folder and renamed into place at the end, so a failed
export never leaves a half-written <out-dir>):
    model.onnx            inputs input_ids, attention_mask [, position_ids] [, past_key_values.<i>.key/value],
                          outputs logits [, present.<i>.key/value]; weights as initializers
    model.onnx.data       the weights, when external data is used (above 2 GB, or --external-data always)
    vocab.json+merges.txt byte-level BPE tokenizers (GPT-2, OPT, Qwen2, Llama 3), extracted from tokenizer.json if needed
    tokenizer.model       SentencePiece tokenizers (Llama 1/2, Mistral), copied
    config.json, generation_config.json, tokenizer_config.json, special_tokens_map.json, tokenizer.json
                          copied when present: the importer reads special ids, max length and vocab size from them
    hf_export.json        what was exported and how, the checks run, and anything the importer should know

Supported families (config.json "model_type"): gpt2, opt, llama, mistral, qwen2. See tools/export/README.md for
what is handled per family. The module's helpers that need only torch and onnx (graph export, initializer naming,
external data, checks, tokenizer files, atomic publishing) are importable without transformers; selftest_export.py
exercises them on a plain torch model.

Exit codes: 0 success; 2 bad input (the message names the file and what was expected); 3 the export ran but a
check failed (nothing is published).
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import re
import shutil
import sys
import time
import traceback
import uuid

# ----------------------------------------------------------------------------------------------------------------------
# Families
# ----------------------------------------------------------------------------------------------------------------------

FAMILIES = {
    # position_ids: whether the plain (no-past) export takes a position_ids input when --position-ids auto.
    # past_position_ids: the same for --with-past (Optimum's layout).
    "gpt2": {"position_ids": True, "past_position_ids": True, "tokenizer": "byte-bpe"},
    "opt": {"position_ids": False, "past_position_ids": False, "tokenizer": "byte-bpe"},
    "llama": {"position_ids": True, "past_position_ids": True, "tokenizer": "either"},
    "mistral": {"position_ids": True, "past_position_ids": True, "tokenizer": "sentencepiece"},
    "qwen2": {"position_ids": True, "past_position_ids": True, "tokenizer": "byte-bpe"},
}

DTYPES = ("fp32", "fp16", "bf16")
DEFAULT_OPSET = 17
DYNAMO_MIN_OPSET = 18
# Protobuf refuses messages of 2 GiB or more; keep a margin for the graph itself.
PROTOBUF_LIMIT = 2 ** 31 - 1
EXTERNAL_MARGIN = 64 * 2 ** 20
EXTERNAL_DATA_FILE = "model.onnx.data"
MODEL_FILE = "model.onnx"
REPORT_FILE = "hf_export.json"
COPIED_CONFIG_FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "special_tokens_map.json",
                       "tokenizer.json")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")

# GPT-2's pre-tokenizer split, which OrtZo's byte-level BPE uses (written out here only to compare against).
GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"

# Names the importer (WeightPromotion) already keeps as non-trainable constants.
IMPORTER_CONSTANT_NAME = re.compile(
    r"(^|[._/:])(rotary[^./:]*|rope[^./:]*|inv_freq|freqs_cis|(cos|sin)(_cached|_cache)?)([._/:]|$)"
    r"|(^|[._/:])([a-z_]*mask[a-z_]*|masked_bias)([._/:]|$)", re.IGNORECASE)


class ExportError(Exception):
    """A problem with the input: the message names the file (or folder) and says what was expected."""

    def __init__(self, where, message, hint=None):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.hint = hint


class CheckFailed(Exception):
    """The export ran, but a check of its result failed."""


def log(message):
    print(f"[export] {message}", flush=True)


# ----------------------------------------------------------------------------------------------------------------------
# Source folder
# ----------------------------------------------------------------------------------------------------------------------

def read_json(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ExportError(path, "missing")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ExportError(path, f"not valid JSON ({e})")


def inspect_source(src):
    """Checks the folder before anything heavy is imported; returns (config dict, family name)."""
    if not os.path.isdir(src):
        raise ExportError(src, "no such folder; expected a Hugging Face model folder (config.json, weights, tokenizer files)")
    config_path = os.path.join(src, "config.json")
    if not os.path.isfile(config_path):
        raise ExportError(config_path, "missing; expected the model's Hugging Face config with a model_type",
                          hint="pass the folder that save_pretrained wrote (or a snapshot folder of the hub cache)")
    config = read_json(config_path)
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type not in FAMILIES:
        raise ExportError(config_path, f"model_type {model_type!r} is not supported; expected one of {', '.join(FAMILIES)}")
    architectures = config.get("architectures") or []
    if architectures and not any(str(a).endswith("ForCausalLM") or str(a).endswith("LMHeadModel") for a in architectures):
        log(f"warning: {config_path}: architectures {architectures} name no *ForCausalLM class; "
            "AutoModelForCausalLM will add a language-model head if the checkpoint lacks one")
    present = [f for f in WEIGHT_FILES if os.path.isfile(os.path.join(src, f))]
    if not present:
        raise ExportError(src, f"no weights; expected one of {', '.join(WEIGHT_FILES)}")
    for index_name in (f for f in present if f.endswith(".index.json")):
        index_path = os.path.join(src, index_name)
        index = read_json(index_path)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise ExportError(index_path, "has no weight_map; expected {\"weight_map\": {tensor: shard file}}")
        for shard in sorted(set(weight_map.values())):
            if not os.path.isfile(os.path.join(src, shard)):
                raise ExportError(os.path.join(src, shard), f"missing; {index_name} lists it as a weight shard")
    return config, model_type


# ----------------------------------------------------------------------------------------------------------------------
# Tokenizer files
# ----------------------------------------------------------------------------------------------------------------------

def gpt2_byte_alphabet():
    """byte -> the printable character GPT-2's byte-level BPE spells it with."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def _walk(node):
    """Every dict inside a tokenizer.json component (Sequence components nest)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def classify_tokenizer_json(tj):
    """'byte-bpe', 'sentencepiece-bpe' or 'other', from the model type and the byte handling."""
    model = tj.get("model") or {}
    if model.get("type") not in (None, "BPE") or not isinstance(model.get("vocab"), dict):
        return "other"
    parts = [tj.get("pre_tokenizer"), tj.get("decoder"), tj.get("post_processor")]
    if any(d.get("type") == "ByteLevel" for p in parts for d in _walk(p)):
        return "byte-bpe"
    vocab = model["vocab"]
    if model.get("byte_fallback") or "<0x00>" in vocab or any(d.get("type") == "Metaspace" for p in parts for d in _walk(p)) \
            or "\u2581" in json.dumps(tj.get("normalizer")):
        return "sentencepiece-bpe"
    return "other"


def plan_tokenizer(src, family):
    """Decides which tokenizer files the importer will get; raises ExportError naming what is missing."""
    def has(name):
        return os.path.isfile(os.path.join(src, name))

    if has("vocab.json") and has("merges.txt"):
        return {"kind": "byte-bpe", "action": "copy", "files": ["vocab.json", "merges.txt"]}
    if has("vocab.json") != has("merges.txt") and not has("tokenizer.json") and not has("tokenizer.model"):
        missing = "merges.txt" if has("vocab.json") else "vocab.json"
        raise ExportError(os.path.join(src, missing), "missing; a byte-level BPE tokenizer needs vocab.json and merges.txt")
    if has("tokenizer.model"):
        return {"kind": "sentencepiece", "action": "copy", "files": ["tokenizer.model"]}
    if has("tokenizer.json"):
        path = os.path.join(src, "tokenizer.json")
        tj = read_json(path)
        kind = classify_tokenizer_json(tj)
        if kind == "byte-bpe":
            return {"kind": "byte-bpe", "action": "extract", "files": ["vocab.json", "merges.txt"]}
        if kind == "sentencepiece-bpe":
            raise ExportError(path, "is a SentencePiece-style BPE (byte fallback, '\u2581' for spaces) and tokenizer.model is "
                                    "missing; OrtZo reads such tokenizers only from tokenizer.model",
                              hint="copy tokenizer.model from the original checkpoint into the folder")
        raise ExportError(path, f"model type {tj.get('model', {}).get('type')!r} is not a BPE OrtZo reads; expected a "
                                "byte-level BPE (vocab.json + merges.txt) or a SentencePiece tokenizer.model")
    expected = {"sentencepiece": "tokenizer.model", "byte-bpe": "vocab.json + merges.txt"}.get(
        FAMILIES[family]["tokenizer"], "tokenizer.model or vocab.json + merges.txt")
    raise ExportError(src, f"no tokenizer files; expected {expected}, or a byte-level BPE tokenizer.json "
                           "(pass --no-tokenizer to export the graph alone)")


def extract_byte_bpe(tokenizer_json_path, out_dir):
    """Writes vocab.json and merges.txt from a byte-level BPE tokenizer.json; returns notes for the report."""
    tj = read_json(tokenizer_json_path)
    model = tj.get("model") or {}
    vocab = model.get("vocab")
    merges = model.get("merges")
    if not isinstance(vocab, dict) or not isinstance(merges, list):
        raise ExportError(tokenizer_json_path, "model.vocab (object) and model.merges (list) are required for a BPE")
    alphabet = gpt2_byte_alphabet()
    missing = [b for b in range(256) if alphabet[b] not in vocab]
    if missing:
        raise ExportError(tokenizer_json_path, f"model.vocab lacks {len(missing)} of the 256 byte symbols (first: byte "
                                               f"0x{missing[0]:02X}, spelled {alphabet[missing[0]]!r}); a byte-level BPE needs all")
    lines = []
    for i, merge in enumerate(merges):
        # tokenizers < 0.20 stores "a b", later versions ["a", "b"].
        pair = merge.split(" ") if isinstance(merge, str) else list(merge)
        if len(pair) != 2 or any((not isinstance(p, str)) or p == "" or " " in p for p in pair):
            raise ExportError(tokenizer_json_path, f"model.merges[{i}] = {merge!r}; expected two space-free symbols")
        lines.append(f"{pair[0]} {pair[1]}")
    ordered = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(ordered, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for line in lines:
            f.write(line + "\n")
    notes = [f"vocab.json ({len(vocab)} tokens) and merges.txt ({len(lines)} merges) extracted from tokenizer.json"]
    notes.extend(byte_bpe_differences(tj))
    return notes


def byte_bpe_differences(tj):
    """Where a byte-level tokenizer.json does more than GPT-2's byte-level BPE, which is all OrtZo implements."""
    notes = []
    splits = [d for d in _walk(tj.get("pre_tokenizer")) if d.get("type") == "Split"]
    for d in splits:
        pattern = d.get("pattern") or {}
        regex = pattern.get("Regex") if isinstance(pattern, dict) else None
        if regex is not None and regex != GPT2_SPLIT:
            notes.append(f"the pre-tokenizer splits with {regex!r}, not GPT-2's pattern that OrtZo uses: runs of digits, "
                         "case-insensitive contractions and newlines may tokenize differently from Hugging Face")
    if tj.get("normalizer"):
        notes.append(f"tokenizer.json has a normalizer ({json.dumps(tj['normalizer'])[:120]}) that OrtZo does not apply")
    added = [t.get("content") for t in tj.get("added_tokens") or [] if isinstance(t, dict)]
    vocab = (tj.get("model") or {}).get("vocab") or {}
    outside = [t for t in added if t not in vocab]
    if outside:
        notes.append(f"{len(outside)} added tokens (e.g. {outside[0]!r}) are not in vocab.json; the importer finds their ids "
                     "in the copied tokenizer.json, and OrtZo's encoder does not split them out of text")
    if (tj.get("model") or {}).get("ignore_merges"):
        notes.append("model.ignore_merges is set (whole words found in the vocabulary skip the merges); OrtZo always merges")
    return notes


def write_tokenizer(src, out_dir, plan):
    notes = []
    if plan["action"] == "copy":
        for name in plan["files"]:
            shutil.copyfile(os.path.join(src, name), os.path.join(out_dir, name))
        notes.append(f"copied {' + '.join(plan['files'])}")
        if plan["kind"] == "byte-bpe" and os.path.isfile(os.path.join(src, "tokenizer.json")):
            try:
                notes.extend(byte_bpe_differences(read_json(os.path.join(src, "tokenizer.json"))))
            except ExportError:
                pass
    else:
        notes.extend(extract_byte_bpe(os.path.join(src, "tokenizer.json"), out_dir))
    return notes


def copy_config_files(src, out_dir):
    copied = []
    for name in COPIED_CONFIG_FILES:
        path = os.path.join(src, name)
        if os.path.isfile(path):
            shutil.copyfile(path, os.path.join(out_dir, name))
            copied.append(name)
    return copied


# ----------------------------------------------------------------------------------------------------------------------
# Loading the Hugging Face model
# ----------------------------------------------------------------------------------------------------------------------

def version_tuple(text):
    parts = []
    for piece in re.split(r"[.+-]", str(text)):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def torch_dtype(name):
    import torch
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]


def load_hf(src, dtype, device, attn_implementation):
    """AutoModelForCausalLM and AutoTokenizer from the local folder only (no network)."""
    try:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM
    except ImportError as e:
        raise ExportError("python", f"cannot import torch/transformers ({e}); this script needs both")
    target = torch_dtype(dtype)
    kwargs = {"local_files_only": True}
    # transformers 4.56 renamed torch_dtype to dtype (the old name is deprecated in 5.x). Loading straight into the
    # target dtype matters: buffers the model builds in float32 (rotary inverse frequencies) stay float32, as when
    # Hugging Face itself runs the model in half precision; model.to(half) would round them.
    kwargs["dtype" if version_tuple(transformers.__version__) >= (4, 56) else "torch_dtype"] = target
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(src, **kwargs)
    except (TypeError, ValueError) as e:
        if "attn_implementation" not in kwargs:
            raise
        log(f"warning: loading with attn_implementation={attn_implementation!r} failed ({e}); retrying with the default")
        kwargs.pop("attn_implementation")
        model = AutoModelForCausalLM.from_pretrained(src, **kwargs)
    model.eval()
    model.to(device)
    if next(model.parameters()).dtype != target:
        log(f"warning: transformers loaded {next(model.parameters()).dtype}; casting to {target}")
        model.to(target)
    tokenizer, tokenizer_error = None, None
    try:
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=True)
    except Exception as e:  # only the files matter to the importer; loading is a consistency check
        tokenizer_error = f"{type(e).__name__}: {e}"
        log(f"warning: AutoTokenizer could not load the tokenizer ({tokenizer_error}); its files are still written")
    return model, tokenizer, tokenizer_error, transformers.__version__


def model_dims(model):
    config = model.config
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    vocab = getattr(config, "vocab_size", None)
    return int(layers), int(vocab)


# ----------------------------------------------------------------------------------------------------------------------
# Wrappers: what torch.onnx.export traces
# ----------------------------------------------------------------------------------------------------------------------

def call_options(model):
    """{'return_dict': True} when model.forward takes it (every transformers version these families exist in does,
    directly or through **kwargs); empty otherwise, for plain modules."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return {"return_dict": True}
    if any(p.name == "return_dict" or p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
        return {"return_dict": True}
    return {}


def explicit_forward(input_names):
    """A forward(self, <one parameter per graph input>) calling self.run(*inputs): torch.export matches dynamic shapes
    to named parameters, and the TorchScript tracer is indifferent."""
    params = [re.sub(r"\W", "_", n) for n in input_names]
    namespace = {}
    exec(f"def forward(self, {', '.join(params)}):\n    return self.run({', '.join(params)})\n", namespace)
    return namespace["forward"]


def make_logits_wrapper(model, use_position_ids):
    """forward(input_ids, attention_mask[, position_ids]) -> logits, with the KV cache off."""
    import torch
    extra = call_options(model)

    class LogitsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def run(self, input_ids, attention_mask, position_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "use_cache": False, **extra}
            if use_position_ids:
                kwargs["position_ids"] = position_ids
            return self.model(**kwargs).logits

    LogitsOnly.forward = explicit_forward(["input_ids", "attention_mask"] + (["position_ids"] if use_position_ids else []))
    return LogitsOnly()


def cache_from_pairs(pairs, strategy):
    """The past in the form this transformers version takes: a DynamicCache filled layer by layer, or legacy tuples."""
    if strategy == "tuples":
        return tuple((k, v) for k, v in pairs)
    from transformers import DynamicCache
    cache = DynamicCache()
    for i, (k, v) in enumerate(pairs):
        cache.update(k, v, i)
    return cache


def layer_kv(past, i):
    """Layer i's (key, value) from whatever the model returned as past_key_values."""
    layers = getattr(past, "layers", None)
    if layers is not None and len(layers) > i and hasattr(layers[i], "keys") and hasattr(layers[i], "values") \
            and not callable(layers[i].keys):
        return layers[i].keys, layers[i].values
    key_cache = getattr(past, "key_cache", None)
    if isinstance(key_cache, list) and len(key_cache) > i:
        return key_cache[i], past.value_cache[i]
    entry = past[i]
    return entry[0], entry[1]


def make_past_wrapper(model, layers, use_position_ids, strategy):
    """Optimum's decoder layout: (input_ids, attention_mask[, position_ids], past key, past value per layer)
    -> (logits, present key, present value per layer); attention_mask covers past + current tokens."""
    import torch
    extra = call_options(model)

    class WithPast(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def run(self, input_ids, attention_mask, *rest):
            position_ids = rest[0] if use_position_ids else None
            flat = rest[1:] if use_position_ids else rest
            pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(layers)]
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask, "use_cache": True, **extra,
                      "past_key_values": cache_from_pairs(pairs, strategy)}
            if use_position_ids:
                kwargs["position_ids"] = position_ids
            out = self.model(**kwargs)
            result = [out.logits]
            for i in range(layers):
                k, v = layer_kv(out.past_key_values, i)
                result.extend([k, v])
            return tuple(result)

    WithPast.forward = explicit_forward(io_spec(layers, use_position_ids, True)[0])
    return WithPast()


def example_ids(vocab, batch, seq, seed):
    import torch
    g = torch.Generator().manual_seed(seed)
    high = max(2, min(vocab, 1000))
    return torch.randint(1, high, (batch, seq), generator=g, dtype=torch.int64)


def choose_past_strategy(model, layers, use_position_ids, device):
    """Runs the model eagerly with a real past (from a prefix) both ways the transformers API has taken it, and keeps
    the first whose logits equal a full forward's. Returns (strategy, kv heads, head dim, max |diff|)."""
    import torch
    vocab = model_dims(model)[1]
    extra = call_options(model)
    ids = example_ids(vocab, 2, 7, 11).to(device)
    mask = torch.ones_like(ids)
    prefix = 3
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=mask, use_cache=False, **extra).logits.float()
        first = model(input_ids=ids[:, :prefix], attention_mask=mask[:, :prefix], use_cache=True, **extra)
        pairs = [tuple(t.detach().clone() for t in layer_kv(first.past_key_values, i)) for i in range(layers)]
    heads, head_dim = int(pairs[0][0].shape[1]), int(pairs[0][0].shape[3])
    errors = []
    for strategy in ("cache", "tuples"):
        try:
            if strategy == "cache":
                from transformers import DynamicCache  # noqa: F401  (absent before 4.36)
            kwargs = {"input_ids": ids[:, prefix:], "attention_mask": mask, "use_cache": True, **extra,
                      "past_key_values": cache_from_pairs([(k.clone(), v.clone()) for k, v in pairs], strategy)}
            if use_position_ids:
                kwargs["position_ids"] = torch.arange(prefix, ids.shape[1], device=device).unsqueeze(0).expand(ids.shape[0], -1)
            with torch.no_grad():
                out = model(**kwargs)
            k0, _ = layer_kv(out.past_key_values, 0)
            if tuple(k0.shape) != (ids.shape[0], heads, ids.shape[1], head_dim):
                errors.append(f"{strategy}: present key shape {tuple(k0.shape)}")
                continue
            diff = float((out.logits.float() - full[:, prefix:]).abs().max())
            scale = max(1.0, float(full.abs().max()))
            if diff > 1e-3 * scale and next(model.parameters()).dtype == torch.float32:
                errors.append(f"{strategy}: logits with the past differ from a full forward by {diff:.3g}")
                continue
            return strategy, heads, head_dim, diff
        except Exception as e:  # the next strategy may suit this transformers version
            errors.append(f"{strategy}: {type(e).__name__}: {e}")
    raise CheckFailed("the model runs with past key/values in none of the known ways: " + "; ".join(errors))


# ----------------------------------------------------------------------------------------------------------------------
# torch.onnx.export
# ----------------------------------------------------------------------------------------------------------------------

def io_spec(layers, use_position_ids, with_past):
    """Input names, output names and dynamic axes in Optimum's naming."""
    inputs = ["input_ids", "attention_mask"] + (["position_ids"] if use_position_ids else [])
    outputs = ["logits"]
    seq = {0: "batch_size", 1: "sequence_length"}
    axes = {"input_ids": dict(seq), "logits": dict(seq)}
    if use_position_ids:
        axes["position_ids"] = dict(seq)
    if with_past:
        axes["attention_mask"] = {0: "batch_size", 1: "total_sequence_length"}
        for i in range(layers):
            for kind in ("key", "value"):
                inputs.append(f"past_key_values.{i}.{kind}")
                outputs.append(f"present.{i}.{kind}")
                axes[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
                axes[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    else:
        axes["attention_mask"] = dict(seq)
    return inputs, outputs, axes


def run_torch_export(wrapper, args, path, input_names, output_names, dynamic_axes, opset, exporter):
    """Exports with the TorchScript-based exporter (dynamo=False) or torch.export (dynamo=True); returns the one used.
    'auto' tries TorchScript first: it is what Optimum uses and what the importer's tests were written against."""
    import torch
    params = inspect.signature(torch.onnx.export).parameters
    has_dynamo = "dynamo" in params
    order = {"auto": ["torchscript", "dynamo"], "torchscript": ["torchscript"], "dynamo": ["dynamo"]}[exporter]
    if not has_dynamo:
        order = [e for e in order if e == "torchscript"]
        if not order:
            raise ExportError("torch", f"torch {torch.__version__} has no dynamo exporter; use --exporter torchscript")
    failures = []
    for which in order:
        if os.path.exists(os.path.dirname(path)):
            for name in os.listdir(os.path.dirname(path)):
                os.remove(os.path.join(os.path.dirname(path), name))
        try:
            with torch.no_grad():
                if which == "torchscript":
                    kwargs = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                                  opset_version=opset, do_constant_folding=True, export_params=True)
                    if has_dynamo:
                        kwargs["dynamo"] = False
                    torch.onnx.export(wrapper, tuple(args), path, **kwargs)
                else:
                    kwargs = dict(input_names=input_names, output_names=output_names,
                                  opset_version=max(opset, DYNAMO_MIN_OPSET), dynamo=True)
                    if "dynamic_shapes" in params:
                        kwargs["dynamic_shapes"] = dynamo_shapes(args, input_names, dynamic_axes)
                    else:
                        kwargs["dynamic_axes"] = dynamic_axes
                    if "external_data" in params:
                        kwargs["external_data"] = True
                    program = torch.onnx.export(wrapper, tuple(args), **kwargs)
                    program.save(path)
            return which
        except Exception as e:
            failures.append(f"{which}: {type(e).__name__}: {e}")
            log(f"the {which} exporter failed: {type(e).__name__}: {str(e)[:2000]}")
            if os.environ.get("ORTZO_EXPORT_TRACEBACK"):
                traceback.print_exc()
    raise CheckFailed("torch.onnx.export failed: " + " | ".join(failures))


def dynamo_shapes(args, input_names, dynamic_axes):
    """torch.export's dynamic shapes for each positional argument (axes named in dynamic_axes become dynamic)."""
    from torch.export import Dim
    dynamic = getattr(Dim, "DYNAMIC", None) or getattr(Dim, "AUTO")
    return {re.sub(r"\W", "_", name): {axis: dynamic for axis in dynamic_axes.get(name, {})}
            for name in input_names[:len(args)]}


# ----------------------------------------------------------------------------------------------------------------------
# Post-processing the exported graph
# ----------------------------------------------------------------------------------------------------------------------

FLOAT_TYPES = {1: "float32", 10: "float16", 16: "bfloat16"}


def tensor_bytes(tensor):
    """The tensor's little-endian element bytes, whichever field holds them."""
    import numpy as np
    from onnx import numpy_helper
    if tensor.HasField("raw_data") or tensor.data_type in (10, 16) and len(tensor.int32_data) == 0:
        return bytes(tensor.raw_data)
    if tensor.data_type in (10, 16):  # float16/bfloat16 kept as uint16 bit patterns in int32_data
        return np.asarray(tensor.int32_data, dtype=np.uint16).tobytes()
    return numpy_helper.to_array(tensor).tobytes()


def tensor_as_float32(tensor):
    import numpy as np
    raw = tensor_bytes(tensor)
    shape = tuple(tensor.dims)
    if tensor.data_type == 1:
        return np.frombuffer(raw, dtype="<f4").reshape(shape)
    if tensor.data_type == 10:
        return np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(shape)
    if tensor.data_type == 16:
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    raise ValueError("not a float tensor")


def torch_bytes(t):
    """A torch tensor's bytes as an ONNX initializer of the same dtype holds them."""
    import torch
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def constant_tensors(graph):
    """(value name, TensorProto) of every initializer and every Constant node holding a tensor."""
    for tensor in graph.initializer:
        yield tensor.name, tensor
    for node in graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and len(node.output) == 1:
            for attribute in node.attribute:
                if attribute.name == "value" and attribute.HasField("t"):
                    yield node.output[0], attribute.t


def describe_initializers(model_proto, torch_model):
    """Matches every float constant (initializer or Constant node) to the torch parameter or buffer it came from, by
    its bytes.

    Returns a list of dicts {name, kind, source, transposed}: kind 'parameter' (the exporter kept the name or stored an
    anonymous copy, e.g. a pre-transposed nn.Linear weight), 'buffer' (rotary inverse frequencies, causal masks, ...,
    possibly reshaped by constant folding), 'scalar', or 'unknown' (a constant the exporter computed; the importer will
    treat it as a weight unless it recognises its values). Only unambiguous matches (one parameter with those bytes)
    name a source."""
    import torch
    param_hashes, buffer_hashes = {}, {}

    def digest(data):
        return hashlib.blake2b(data, digest_size=16).digest()

    def add(table, key, value):
        table.setdefault(key, []).append(value)

    for name, p in torch_model.named_parameters():
        add(param_hashes, (tuple(p.shape), digest(torch_bytes(p))), (name, False))
        if p.dim() == 2:
            t = p.detach().t()
            add(param_hashes, (tuple(t.shape), digest(torch_bytes(t))), (name, True))
    for name, b in torch_model.named_buffers():
        if b.is_floating_point() and b.numel() > 1:
            for cast in (b.dtype, torch.float32, torch.float16, torch.bfloat16):
                add(buffer_hashes, (b.numel(), digest(torch_bytes(b.to(cast)))), name)
    result = []
    for value_name, tensor in constant_tensors(model_proto.graph):
        if tensor.data_type not in FLOAT_TYPES:
            continue
        count = 1
        for d in tensor.dims:
            count *= d
        entry = {"name": value_name, "shape": list(tensor.dims), "dtype": FLOAT_TYPES[tensor.data_type],
                 "kind": "unknown", "source": None, "transposed": False}
        if count <= 1:
            entry["kind"] = "scalar"
            result.append(entry)
            continue
        key = digest(tensor_bytes(tensor))
        params = param_hashes.get((tuple(tensor.dims), key), [])
        buffers = sorted(set(buffer_hashes.get((count, key), [])))
        if len(params) == 1:
            entry.update(kind="parameter", source=params[0][0], transposed=params[0][1])
        elif len(params) > 1:
            entry.update(kind="parameter", source=None)
        elif buffers:
            entry.update(kind="buffer", source=buffers[0])
        result.append(entry)
    return result


def rename_tensor(graph, old, new):
    """Renames a value everywhere it is read or declared (subgraphs included)."""
    for tensor in graph.initializer:
        if tensor.name == old:
            tensor.name = new
    for collection in (graph.input, graph.output, graph.value_info):
        for info in collection:
            if info.name == old:
                info.name = new
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
        for attribute in node.attribute:
            if attribute.HasField("g"):
                rename_tensor(attribute.g, old, new)
            for g in attribute.graphs:
                rename_tensor(g, old, new)


def name_initializers(model_proto, described, rename_parameters, prefix="model."):
    """Names constants after the torch tensors they hold:
    * a parameter traced through export's wrapper module carries the wrapper's attribute as a prefix
      ('model.model.layers.0...'); it gets the model's own name back;
    * buffers the importer would not recognise by name get their torch name when that is one it does
      ('model.rotary_emb.inv_freq' for the [1, d/2, 1] inverse frequencies torch folds into a Constant node);
    * with rename_parameters, anonymous copies of parameters ('onnx::MatMul_123', torch's pre-transposed nn.Linear
      weights and tied head) get '<parameter>' or '<parameter>.T'.
    Returns the renames as (old, new) pairs."""
    graph = model_proto.graph
    taken = {t.name for t in graph.initializer} | {i.name for i in graph.input} | {o.name for o in graph.output}
    for node in graph.node:
        taken.update(node.output)
    renames = []
    for d in described:
        old, source = d["name"], d["source"]
        if not source:
            continue
        if d["kind"] == "buffer":
            # Only worth it where the buffer's own name is one the importer recognises (inv_freq, cos_cached, ...);
            # GPT-2's causal-mask buffer 'attn.bias' is recognised by its values instead.
            if old in (source, prefix + source) or IMPORTER_CONSTANT_NAME.search(old) \
                    or not IMPORTER_CONSTANT_NAME.search(source):
                continue
            base = source
        elif d["kind"] == "parameter":
            if old == source:
                continue
            if old == prefix + source and not d["transposed"]:
                base = source
            elif rename_parameters:
                base = source + (".T" if d["transposed"] else "")
            else:
                continue
        else:
            continue
        new, k = base, 1
        while new in taken:
            new, k = f"{base}.{k}", k + 1
        rename_tensor(graph, old, new)
        taken.add(new)
        d["name"] = new
        renames.append((old, new))
    return renames


def drop_empty_concat_inputs(model_proto):
    """Removes constant inputs with no elements from Concat nodes. torch.cat skips an empty 1-D tensor (what
    transformers' DynamicLayer starts its keys from: torch.tensor([])), but an ONNX Concat of inputs of different ranks
    is invalid; some torch versions trace that constant straight into the Concat. Returns how many were removed."""
    graph = model_proto.graph
    empty = {name for name, t in constant_tensors(graph) if any(d == 0 for d in t.dims)}
    removed = 0
    for node in graph.node:
        if node.op_type != "Concat":
            continue
        keep = [i for i in node.input if i not in empty]
        if keep and len(keep) < len(node.input):
            removed += len(node.input) - len(keep)
            del node.input[:]
            node.input.extend(keep)
    if removed:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if n.op_type == "Constant" and n.output[0] in empty and n.output[0] not in used]
        for n in dead:
            graph.node.remove(n)
        for t in [t for t in graph.initializer if t.name in empty and t.name not in used]:
            graph.initializer.remove(t)
    return removed


def canonical_dim_names(model_proto, with_past):
    """Names the symbolic axes as the importer expects them (batch axes all one name); the dynamo exporter writes
    s0, s1, ... Returns the mapping applied."""
    graph = model_proto.graph
    by_name = {i.name: i for i in graph.input}
    mapping = {}

    def param(info, axis):
        dims = info.type.tensor_type.shape.dim
        return dims[axis].dim_param if len(dims) > axis and dims[axis].HasField("dim_param") else None

    ids = by_name.get("input_ids")
    if ids is not None:
        for axis, name in ((0, "batch_size"), (1, "sequence_length")):
            p = param(ids, axis)
            if p:
                mapping.setdefault(p, name)
    if with_past:
        past = next((i for i in graph.input if i.name.startswith("past_key_values.")), None)
        mask = by_name.get("attention_mask")
        if past is not None and param(past, 2):
            mapping.setdefault(param(past, 2), "past_sequence_length")
        if mask is not None and param(mask, 1):
            mapping.setdefault(param(mask, 1), "total_sequence_length")
    mapping = {k: v for k, v in mapping.items() if k != v}
    if mapping:
        for collection in (graph.input, graph.output, graph.value_info):
            for info in collection:
                for d in info.type.tensor_type.shape.dim:
                    if d.HasField("dim_param") and d.dim_param in mapping:
                        d.dim_param = mapping[d.dim_param]
    return mapping


def initializer_bytes(model_proto):
    total = 0
    for t in model_proto.graph.initializer:
        total += len(t.raw_data) + 4 * len(t.float_data) + 4 * len(t.int32_data) + 8 * len(t.int64_data)
    return total


def save_onnx(model_proto, path, external):
    """Writes model.onnx, with every initializer over 1 KB in one model.onnx.data beside it when external."""
    import onnx
    if external:
        data_path = os.path.join(os.path.dirname(path), EXTERNAL_DATA_FILE)
        if os.path.exists(data_path):
            os.remove(data_path)
        onnx.save_model(model_proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=EXTERNAL_DATA_FILE, size_threshold=1024)
    else:
        onnx.save_model(model_proto, path)


def check_onnx(path):
    """onnx.checker on the file (by path, so external data and models over 2 GB work), then strict shape inference.
    Returns notes; raises CheckFailed when the checker rejects the model."""
    import onnx
    notes = []
    try:
        onnx.checker.check_model(path)
        notes.append("onnx.checker.check_model(path): ok")
    except Exception as e:
        raise CheckFailed(f"{path}: onnx.checker rejected the model: {e}")
    try:
        onnx.checker.check_model(path, full_check=True)
        notes.append("onnx.checker full_check (strict shape inference): ok")
    except Exception as e:  # ORT and the importer do not need strict inference; say so, do not fail
        notes.append(f"onnx.checker full_check failed (not required by the importer): {str(e)[:300]}")
    return notes


# ----------------------------------------------------------------------------------------------------------------------
# Running the exported graph (numeric check)
# ----------------------------------------------------------------------------------------------------------------------

class OnnxRunner:
    """onnxruntime when installed, else onnx's reference evaluator (slow; small models only)."""

    def __init__(self, path, preference="auto", max_reference_bytes=256 * 2 ** 20):
        self.kind = None
        self.reason = None
        if preference in ("auto", "ort"):
            try:
                import onnxruntime as ort
                options = ort.SessionOptions()
                options.log_severity_level = 3
                self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
                self.kind = f"onnxruntime {ort.__version__} CPU"
                return
            except ImportError:
                self.reason = "onnxruntime is not installed"
            except Exception as e:
                self.reason = f"onnxruntime could not load the model: {str(e)[:300]}"
            if preference == "ort":
                return
        if preference in ("auto", "reference"):
            size = os.path.getsize(path)
            data = os.path.join(os.path.dirname(path), EXTERNAL_DATA_FILE)
            if os.path.exists(data):
                size += os.path.getsize(data)
            if size > max_reference_bytes:
                self.reason = (self.reason + "; " if self.reason else "") + \
                    f"the model ({size >> 20} MB) is too large for onnx's reference evaluator"
                return
            try:
                from onnx.reference import ReferenceEvaluator
                self.session = ReferenceEvaluator(path)
                self.kind = "onnx.reference.ReferenceEvaluator"
            except ImportError:
                self.reason = (self.reason + "; " if self.reason else "") + "onnx has no reference evaluator (onnx < 1.13)"
            except Exception as e:
                self.reason = (self.reason + "; " if self.reason else "") + f"reference evaluator: {str(e)[:300]}"

    def run(self, feeds):
        # Both take (output names or None, feeds) and return the outputs in graph order.
        return self.session.run(None, feeds)


def numeric_check(path, wrapper_logits, vocab, layers, use_position_ids, with_past, past_shape, dtype, device,
                  preference, model=None):
    """Runs the exported graph on inputs unlike the traced ones (batch 3, length 7, one row right-padded) and compares
    its logits on real tokens with PyTorch's. With past inputs: once with an empty past (what `ortzo import` feeds)
    against a full forward, once with a real 2-token past. Returns a dict for the report; raises CheckFailed on a
    float32 mismatch."""
    import numpy as np
    import torch
    if preference == "off":
        return {"status": "skipped", "reason": "--verify off"}
    runner = OnnxRunner(path, preference)
    if runner.kind is None:
        log(f"numeric check skipped: {runner.reason}")
        return {"status": "skipped", "reason": runner.reason}
    batch, seq = 3, 7
    ids = example_ids(vocab, batch, seq, 5)
    mask = torch.ones_like(ids)
    mask[2, 4:] = 0
    positions = torch.arange(seq).unsqueeze(0).expand(batch, -1).contiguous()
    with torch.no_grad():
        expected = wrapper_logits.run(ids.to(device), mask.to(device), positions.to(device)).float().cpu().numpy()
    results = {"runtime": runner.kind, "cases": []}
    tolerance = {"fp32": 1e-3, "fp16": 5e-2, "bf16": 2.5e-1}[dtype]
    scale = max(1.0, float(np.abs(expected).max()))
    real = mask.numpy().astype(bool)

    def compare(label, logits, reference, rows_mask):
        diff = np.abs(logits.astype(np.float32) - reference)[rows_mask]
        worst = float(diff.max()) if diff.size else 0.0
        ok = worst <= tolerance * scale
        results["cases"].append({"case": label, "max_abs_diff": worst, "tolerance": tolerance * scale, "ok": ok})
        log(f"numeric check [{label}] on {runner.kind}: max |onnx - torch| = {worst:.3g} (tolerance {tolerance * scale:.3g})")
        return ok

    feeds = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    if use_position_ids:
        feeds["position_ids"] = positions.numpy()
    np_dtype = {"fp32": np.float32, "fp16": np.float16, "bf16": None}[dtype]
    all_ok = True
    try:
        if with_past:
            if np_dtype is None:
                return {"status": "skipped", "reason": "numpy has no bfloat16 to feed an empty bf16 past", **results}
            heads, head_dim = past_shape
            for i in range(layers):
                for kind in ("key", "value"):
                    feeds[f"past_key_values.{i}.{kind}"] = np.zeros((batch, heads, 0, head_dim), dtype=np_dtype)
        outputs = runner.run(feeds)
        all_ok &= compare("empty past" if with_past else "no past", outputs[0], expected, real)
        if with_past:
            for i, out in enumerate(outputs[1:]):
                if out.shape != (batch, past_shape[0], seq, past_shape[1]):
                    raise CheckFailed(f"present output {i} has shape {out.shape}; expected {(batch, past_shape[0], seq, past_shape[1])}")
            # A real past: the first 2 tokens through torch, the other 5 through the graph.
            prefix = 2
            with torch.no_grad():
                first = model(input_ids=ids[:, :prefix].to(device), attention_mask=mask[:, :prefix].to(device),
                              use_cache=True, **call_options(model))
            feeds2 = {"input_ids": ids[:, prefix:].numpy(), "attention_mask": mask.numpy()}
            if use_position_ids:
                feeds2["position_ids"] = positions[:, prefix:].numpy()
            for i in range(layers):
                k, v = layer_kv(first.past_key_values, i)
                feeds2[f"past_key_values.{i}.key"] = k.float().cpu().numpy().astype(np_dtype)
                feeds2[f"past_key_values.{i}.value"] = v.float().cpu().numpy().astype(np_dtype)
            outputs2 = runner.run(feeds2)
            all_ok &= compare("2-token past", outputs2[0], expected[:, prefix:], real[:, prefix:])
    except CheckFailed:
        raise
    except Exception as e:
        message = f"{type(e).__name__}: {str(e)[:500]}"
        if dtype == "fp32" and runner.kind.startswith("onnxruntime"):
            raise CheckFailed(f"the exported graph did not run on {runner.kind}: {message}")
        # onnx's reference evaluator lacks some ops in some versions, and CPU kernels for half types are incomplete:
        # neither says the graph is wrong.
        log(f"numeric check could not run on {runner.kind} ({message})")
        return {"status": "skipped", "reason": message, **results}
    results["status"] = "ok" if all_ok else "mismatch"
    if not all_ok:
        if dtype == "fp32":
            raise CheckFailed("the exported graph's logits differ from PyTorch's: " + json.dumps(results["cases"]))
        log(f"warning: {dtype} logits differ from PyTorch's beyond the loose tolerance")
    return results


# ----------------------------------------------------------------------------------------------------------------------
# Atomic publishing
# ----------------------------------------------------------------------------------------------------------------------

def work_folder(out_dir):
    parent = os.path.dirname(os.path.abspath(out_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    path = os.path.join(parent, f".{os.path.basename(os.path.abspath(out_dir))}.exporting-{uuid.uuid4().hex[:12]}")
    os.makedirs(path)
    return path


def publish(staged, out_dir, overwrite):
    """Renames the finished folder into place; an existing out_dir is replaced only with overwrite, and only after
    the new one is complete (moved aside, the new one renamed in, then the old one deleted)."""
    out_dir = os.path.abspath(out_dir)
    if not os.path.exists(out_dir):
        os.rename(staged, out_dir)
        return
    if not overwrite:
        raise ExportError(out_dir, "already exists; pass --overwrite to replace it")
    old = os.path.join(os.path.dirname(out_dir), f".{os.path.basename(out_dir)}.replaced-{uuid.uuid4().hex[:12]}")
    os.rename(out_dir, old)
    try:
        os.rename(staged, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def finalize(raw_path, staged_dir, torch_model, with_past, external_mode, rename_parameters):
    """Loads the raw export (with any external data torch wrote), names its constants, writes model.onnx (and
    model.onnx.data) into staged_dir and checks it. Returns the report fields."""
    import onnx
    model_proto = onnx.load(raw_path, load_external_data=True)
    described = describe_initializers(model_proto, torch_model)
    renames = name_initializers(model_proto, described, rename_parameters)
    dims = canonical_dim_names(model_proto, with_past)
    empty_concat_inputs = drop_empty_concat_inputs(model_proto)
    size = initializer_bytes(model_proto)
    limit = PROTOBUF_LIMIT - EXTERNAL_MARGIN
    external = external_mode == "always" or (external_mode == "auto" and size > limit)
    if external_mode == "never" and size > limit:
        raise ExportError("--external-data never", f"the weights take {size / 2 ** 30:.2f} GiB; protobuf cannot hold more "
                                                   "than 2 GiB in one file, so external data is required")
    path = os.path.join(staged_dir, MODEL_FILE)
    save_onnx(model_proto, path, external)
    notes = check_onnx(path)
    unknown = [d for d in described if d["kind"] == "unknown"]
    buffers = [d for d in described if d["kind"] == "buffer"]
    return {
        "external_data": EXTERNAL_DATA_FILE if external else None,
        "initializer_bytes": size,
        "checker": notes,
        "wrapper_prefix_removed": sum(1 for a, b in renames if a == "model." + b),
        "renamed_initializers": [{"from": a, "to": b} for a, b in renames if a != "model." + b],
        "dim_names": dims,
        "empty_concat_inputs_removed": empty_concat_inputs,
        "buffers_kept_as_constants": [{"name": d["name"], "source": d["source"], "shape": d["shape"]} for d in buffers],
        "unmatched_constants": [{"name": d["name"], "shape": d["shape"], "dtype": d["dtype"]} for d in unknown],
        "opset": max((o.version for o in model_proto.opset_import if o.domain in ("", "ai.onnx")), default=None),
        "inputs": [i.name for i in model_proto.graph.input],
        "outputs": [o.name for o in model_proto.graph.output],
    }


# ----------------------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="Export a local Hugging Face causal LM (GPT-2, OPT, Llama, Mistral, Qwen2) "
                                            "to an ONNX causal LM for `ortzo import`.")
    p.add_argument("source", help="Hugging Face model folder (config.json, weights, tokenizer files)")
    p.add_argument("out", help="output folder (must not exist unless --overwrite)")
    p.add_argument("--dtype", choices=DTYPES, default="fp32", help="weight and compute dtype of the graph (default fp32)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET}; the dynamo "
                                                                       f"exporter uses at least {DYNAMO_MIN_OPSET})")
    p.add_argument("--with-past", action="store_true", help="Optimum-style decoder with past_key_values.<i>.key/value "
                                                            "inputs and present.<i>.key/value outputs")
    p.add_argument("--position-ids", choices=("auto", "yes", "no"), default="auto",
                   help="add a position_ids input (auto: per family, see README)")
    p.add_argument("--external-data", choices=("auto", "always", "never"), default="auto",
                   help="weights in model.onnx.data: auto = when they exceed 2 GB")
    p.add_argument("--exporter", choices=("auto", "torchscript", "dynamo"), default="auto",
                   help="torch.onnx exporter: auto tries TorchScript (dynamo=False), then dynamo")
    p.add_argument("--device", default="auto", help="device to load and trace on: auto (cuda for fp16/bf16 when "
                                                     "available, else cpu), cpu, cuda, cuda:1, ...; the graph is the same")
    p.add_argument("--attn-implementation", default="eager",
                   help="transformers attention implementation to trace (default eager: plain MatMul/Softmax ops)")
    p.add_argument("--verify", choices=("auto", "ort", "reference", "off"), default="auto",
                   help="run the graph and compare logits with PyTorch (auto: onnxruntime, else onnx's reference evaluator)")
    p.add_argument("--keep-torch-names", action="store_true",
                   help="leave anonymous initializers (onnx::MatMul_*) as torch named them instead of naming them "
                        "after their parameter")
    p.add_argument("--no-tokenizer", action="store_true", help="write the graph and configs without tokenizer files")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    return p.parse_args(argv)


def export(args):
    """The command: checks the source folder, loads the model through transformers, then export_model."""
    started = time.time()
    src = os.path.abspath(args.source)
    out_dir = os.path.abspath(args.out)
    if os.path.exists(out_dir) and not args.overwrite:
        raise ExportError(out_dir, "already exists; pass --overwrite to replace it")
    if out_dir == src:
        raise ExportError(out_dir, "is the source folder; write the export elsewhere")
    config, family = inspect_source(src)
    traits = FAMILIES[family]
    plan = None if args.no_tokenizer else plan_tokenizer(src, family)
    use_position_ids = {"yes": True, "no": False}.get(args.position_ids)
    if use_position_ids is None:
        use_position_ids = traits["past_position_ids" if args.with_past else "position_ids"]
    check_options(args)

    log(f"{family} from {src}: loading ({args.dtype}, attention {args.attn_implementation}, device {args.device})")
    model, tokenizer, tokenizer_error, tf_version = load_hf(src, args.dtype, args.device, args.attn_implementation)
    if use_position_ids and "position_ids" not in inspect.signature(model.forward).parameters:
        raise ExportError(os.path.join(src, "config.json"), f"this transformers' {type(model).__name__}.forward takes no "
                                                            "position_ids; pass --position-ids no")
    head = model.get_output_embeddings()
    embed = model.get_input_embeddings()

    def write_side_files(staged):
        notes = write_tokenizer(src, staged, plan) if plan else ["--no-tokenizer: no tokenizer files written"]
        if tokenizer_error:
            notes.append(f"AutoTokenizer could not load the tokenizer: {tokenizer_error}")
        elif tokenizer is not None:
            notes.append(f"AutoTokenizer loaded {type(tokenizer).__name__} ({len(tokenizer)} tokens)")
        return {
            "family": family, "source": src,
            "source_config_sha256": hashlib.sha256(open(os.path.join(src, "config.json"), "rb").read()).hexdigest(),
            "attn_implementation": args.attn_implementation,
            "tie_word_embeddings": bool(getattr(model.config, "tie_word_embeddings", False)),
            "head_shares_embedding_tensor": head is not None and embed is not None
                                            and head.weight.data_ptr() == embed.weight.data_ptr(),
            "tokenizer": {"kind": plan["kind"] if plan else None, "notes": notes},
            "copied_files": copy_config_files(src, staged),
            "transformers_version": tf_version,
        }

    return export_model(model, out_dir, args, use_position_ids, write_side_files, started)


def resolve_device(args):
    """'auto': half precision traces on CUDA when there is one (CPU kernels for fp16 are incomplete in older torch),
    float32 on CPU, whose numbers the oracles and the numeric check are computed with."""
    if args.device == "auto":
        import torch
        args.device = "cuda" if args.dtype != "fp32" and torch.cuda.is_available() else "cpu"
    return args.device


def check_options(args):
    resolve_device(args)
    if args.opset < 14:
        raise ExportError("--opset", f"{args.opset} is too old; opset 14 or later is needed (the importer needs 11, "
                                     "Trilu and the attention ops of these models need 14)")


def export_model(model, out_dir, args, use_position_ids, write_side_files, started=None):
    """Traces `model` (anything with forward(input_ids, attention_mask, position_ids, past_key_values, use_cache,
    return_dict) returning .logits and .past_key_values, and config.num_hidden_layers/vocab_size), exports, names
    constants, writes external data if needed, checks, runs the graph against torch, lets write_side_files(staged)
    add tokenizer and config files (it returns report fields), and publishes out_dir atomically. Uses from args:
    with_past, dtype, opset, exporter, device, external_data, verify, keep_torch_names, overwrite."""
    import torch
    started = started or time.time()
    resolve_device(args)
    layers, vocab = model_dims(model)
    work = work_folder(out_dir)
    try:
        raw_dir = os.path.join(work, "raw")
        staged = os.path.join(work, "out")
        os.makedirs(raw_dir)
        os.makedirs(staged)
        raw_path = os.path.join(raw_dir, MODEL_FILE)
        input_names, output_names, axes = io_spec(layers, use_position_ids, args.with_past)

        batch, seq = 2, 5
        ids = example_ids(vocab, batch, seq, 7).to(args.device)
        trace_args = [ids, torch.ones_like(ids)]
        past_info = None
        if args.with_past:
            strategy, heads, head_dim, diff = choose_past_strategy(model, layers, use_position_ids, args.device)
            past_info = {"strategy": strategy, "kv_heads": heads, "head_dim": head_dim, "eager_past_vs_full_max_diff": diff}
            log(f"past key/values: {layers} layers x [batch, {heads}, past, {head_dim}], passed as "
                f"{'a DynamicCache' if strategy == 'cache' else 'legacy tuples'}")
            past_len = 3
            trace_args[1] = torch.ones(batch, past_len + seq, dtype=torch.int64, device=args.device)
            if use_position_ids:
                trace_args.append(torch.arange(past_len, past_len + seq, device=args.device).unsqueeze(0).expand(batch, -1).contiguous())
            g = torch.Generator().manual_seed(3)
            dtype = next(model.parameters()).dtype
            for _ in range(layers):
                for _kind in ("key", "value"):
                    trace_args.append(torch.randn(batch, heads, past_len, head_dim, generator=g).to(dtype).to(args.device))
            wrapper = make_past_wrapper(model, layers, use_position_ids, strategy)
        else:
            if use_position_ids:
                trace_args.append(torch.arange(seq, device=args.device).unsqueeze(0).expand(batch, -1).contiguous())
            wrapper = make_logits_wrapper(model, use_position_ids)
        wrapper.eval()

        log(f"exporting: inputs {', '.join(input_names[:4])}{' ...' if len(input_names) > 4 else ''}; opset {args.opset}")
        exporter = run_torch_export(wrapper, trace_args, raw_path, input_names, output_names, axes, args.opset, args.exporter)
        log(f"exported with the {exporter} exporter; post-processing")
        report = finalize(raw_path, staged, model, args.with_past, args.external_data, not args.keep_torch_names)
        shutil.rmtree(raw_dir)
        missing = [n for n in input_names if n not in report["inputs"]]
        if missing:
            raise CheckFailed(f"the exporter dropped the inputs {missing} (unused by the traced graph); "
                              "the importer would not feed them")

        past_shape = (past_info["kv_heads"], past_info["head_dim"]) if past_info else None
        numeric = numeric_check(os.path.join(staged, MODEL_FILE), make_logits_wrapper(model, use_position_ids), vocab,
                                layers, use_position_ids, args.with_past, past_shape, args.dtype, args.device,
                                args.verify, model)
        side = write_side_files(staged)
        tf_version = side.pop("transformers_version", None)
        report = {"format": "ortzo-hf-export", "version": 1, **side, **report}
        report.update({
            "dtype": args.dtype, "exporter": exporter, "requested_opset": args.opset,
            "with_past": args.with_past, "past": past_info, "position_ids_input": use_position_ids,
            "layers": layers, "vocab_size": vocab, "numeric_check": numeric,
            "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": tf_version,
                         "onnx": __import__("onnx").__version__},
            "seconds": round(time.time() - started, 1),
        })
        with open(os.path.join(staged, REPORT_FILE), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        publish(staged, out_dir, args.overwrite)
        log(f"wrote {out_dir} ({', '.join(sorted(os.listdir(out_dir)))}) in {time.time() - started:.1f} s")
        if report["unmatched_constants"]:
            log(f"note: {len(report['unmatched_constants'])} float constants match no parameter or buffer "
                f"(see {REPORT_FILE}); the importer keeps them only if it recognises their values")
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        export(args)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 2
    except CheckFailed as e:
        print(f"error: {e}", file=sys.stderr)
        print("hint: nothing was written; set ORTZO_EXPORT_TRACEBACK=1 for the exporter's traceback", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
