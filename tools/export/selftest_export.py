#!/usr/bin/env python3
"""Checks the parts of export.py that need only torch and onnx, on a small plain-torch decoder shaped like a Hugging
Face Llama/Qwen2 (no transformers needed): the traced export with dynamic axes, the Optimum-style past layout, naming
of the rotary constant and of torch's anonymous weight copies, external data, onnx.checker, atomic publishing, and the
tokenizer helpers (tokenizer.json extraction, the SentencePiece writer of verify_families.py).

Usage (from the repository root):
    /usr/bin/python3 tools/export/selftest_export.py [--keep DIR]

With --keep, the exports stay in DIR (plain/, with_past/, external/, each with byte-level vocab.json + merges.txt and
a config.json) together with task.jsonl and expected.json (torch's score of every candidate), so that `ortzo import`
and `ortzo eval --report` can be compared with torch by hand (see README.md).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import types
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in tools/export
sys.path.insert(0, HERE)
import export as ex  # noqa: E402

warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
import verify_families as vf  # noqa: E402

VOCAB = 257          # 256 byte tokens (id = byte value) and <|endoftext|>
DIM = 32
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = DIM // HEADS
INTER = 64
MAX_POS = 64
SEED = 4242


class RotaryEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        inv_freq = 1.0 / (10000 ** (torch.arange(0, HEAD_DIM, 2).float() / HEAD_DIM))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):
        # As Hugging Face computes it: an outer product by matmul with the inverse frequencies as [1, d/2, 1].
        inv = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    return torch.cat((-x[..., HEAD_DIM // 2:], x[..., :HEAD_DIM // 2]), dim=-1)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(DIM, HEADS * HEAD_DIM, bias=True)
        self.k_proj = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=True)
        self.v_proj = nn.Linear(DIM, KV_HEADS * HEAD_DIM, bias=True)
        self.o_proj = nn.Linear(HEADS * HEAD_DIM, DIM, bias=False)

    def forward(self, x, cos, sin, mask, past):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, HEADS, HEAD_DIM).transpose(1, 2)
        k = self.k_proj(x).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        v = self.v_proj(x).view(b, t, KV_HEADS, HEAD_DIM).transpose(1, 2)
        cos, sin = cos[:, None], sin[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        groups = HEADS // KV_HEADS
        k = k[:, :, None].expand(b, KV_HEADS, groups, k.shape[2], HEAD_DIM).reshape(b, HEADS, k.shape[2], HEAD_DIM)
        v = v[:, :, None].expand(b, KV_HEADS, groups, v.shape[2], HEAD_DIM).reshape(b, HEADS, v.shape[2], HEAD_DIM)
        scores = q @ k.transpose(2, 3) / math.sqrt(HEAD_DIM) + mask
        y = F.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, DIM)), present


class RMSNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(DIM))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm()
        self.self_attn = Attention()
        self.post_attention_layernorm = RMSNorm()
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(DIM, INTER, bias=False)
        self.mlp.up_proj = nn.Linear(DIM, INTER, bias=False)
        self.mlp.down_proj = nn.Linear(INTER, DIM, bias=False)

    def forward(self, x, cos, sin, mask, past):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + a
        h = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(h)) * self.mlp.up_proj(h)), present


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, DIM)
        self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
        self.norm = RMSNorm()
        self.rotary_emb = RotaryEmbedding()


class MiniCausalLM(nn.Module):
    """A decoder with Hugging Face's calling convention (keyword inputs, an output with .logits and .past_key_values
    as legacy tuples) and Qwen2's features: rotary positions, grouped-query attention, q/k/v biases, tied head."""

    def __init__(self):
        super().__init__()
        self.config = types.SimpleNamespace(num_hidden_layers=LAYERS, vocab_size=VOCAB, tie_word_embeddings=True)
        self.model = Decoder()
        self.lm_head = nn.Linear(DIM, VOCAB, bias=False)
        self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False,
                return_dict=True):
        b, t = input_ids.shape
        past_len = past_key_values[0][0].shape[2] if past_key_values is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(b, past_len + t, dtype=torch.int64)
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + t).unsqueeze(0).expand(b, -1)
        kv_len = attention_mask.shape[1]
        causal = torch.arange(kv_len)[None, :] <= (torch.arange(t) + (kv_len - t))[:, None]
        allowed = causal[None, None] & attention_mask[:, None, None, :].bool()
        mask = torch.where(allowed, torch.tensor(0.0), torch.tensor(torch.finfo(torch.float32).min))
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.model.rotary_emb(position_ids)
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, present = layer(x, cos, sin, mask, past_key_values[i] if past_key_values is not None else None)
            presents.append(present)
        logits = self.lm_head(self.model.norm(x))
        return types.SimpleNamespace(logits=logits, past_key_values=tuple(presents) if use_cache else None)


def build_model():
    torch.manual_seed(SEED)
    model = MiniCausalLM().eval()
    vf.randomize(model, SEED)
    return model


def side_file_writer(staged):
    """Byte-level vocabulary in which token id = byte value, so text encodes to its bytes; no merges."""
    alphabet = ex.gpt2_byte_alphabet()
    vocab = {alphabet[b]: b for b in range(256)}
    vocab["<|endoftext|>"] = 256
    vf.write_vocab_merges(staged, vocab, [])
    vf.write_json(os.path.join(staged, "config.json"), {
        "model_type": "llama", "vocab_size": VOCAB, "max_position_embeddings": MAX_POS,
        "bos_token_id": 256, "eos_token_id": 256, "tie_word_embeddings": True})
    return {"family": "selftest", "tokenizer": {"kind": "byte-bpe", "notes": ["selftest vocabulary"]}}


def options(**overrides):
    args = ex.parse_args(["unused-source", "unused-out"])
    for k, v in overrides.items():
        setattr(args, k, v)
    return args


# ----------------------------------------------------------------------------------------------------------------------

FAILURES = []


def check(condition, message):
    print(("  ok    " if condition else "  FAIL  ") + message, flush=True)
    if not condition:
        FAILURES.append(message)


def test_exports(root, model):
    import onnx
    runs = {
        "plain": dict(with_past=False, external_data="auto"),
        "with_past": dict(with_past=True, external_data="auto"),
        "external": dict(with_past=False, external_data="always"),
    }
    reports = {}
    for name, opts in runs.items():
        print(f"[selftest] export {name}", flush=True)
        out = os.path.join(root, name)
        reports[name] = ex.export_model(model, out, options(overwrite=True, **opts), True, side_file_writer)
        files = sorted(os.listdir(out))
        check("model.onnx" in files and "vocab.json" in files and "merges.txt" in files and ex.REPORT_FILE in files,
              f"{name}: files {files}")
        leftovers = [d for d in os.listdir(root) if ".exporting-" in d or ".replaced-" in d]
        check(not leftovers, f"{name}: no temporary folders left beside the output ({leftovers})")
        report = reports[name]
        check(report["checker"][0].endswith(": ok"), f"{name}: {report['checker'][0]}")
        proto = onnx.load(os.path.join(out, "model.onnx"), load_external_data=False)
        inputs = [i.name for i in proto.graph.input]
        outputs = [o.name for o in proto.graph.output]
        init_names = [t.name for t in proto.graph.initializer]
        expected_inputs = ["input_ids", "attention_mask", "position_ids"]
        if opts["with_past"]:
            expected_inputs += [f"past_key_values.{i}.{k}" for i in range(LAYERS) for k in ("key", "value")]
        check(inputs == expected_inputs, f"{name}: inputs {inputs}")
        check(outputs[0] == "logits" and len(outputs) == (1 + 2 * LAYERS if opts["with_past"] else 1),
              f"{name}: outputs {outputs}")
        dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input}
        check(dims["input_ids"] == ["batch_size", "sequence_length"], f"{name}: input_ids axes {dims['input_ids']}")
        if opts["with_past"]:
            check(dims["past_key_values.0.key"] == ["batch_size", KV_HEADS, "past_sequence_length", HEAD_DIM],
                  f"{name}: past axes {dims['past_key_values.0.key']} (static heads and head size, as the importer needs)")
        constants = {n: t for n, t in ex.constant_tensors(proto.graph)}
        rotary = [n for n in constants if "inv_freq" in n]
        check(len(rotary) >= 1, f"{name}: the folded inverse-frequency constant carries a name the importer keeps ({rotary}; "
                                f"renamed {report['renamed_initializers'][:2]})")
        check(not report["unmatched_constants"], f"{name}: every float constant matched a parameter or buffer "
                                                 f"({report['unmatched_constants']})")
        check(not any(n.startswith("model.model.") for n in constants), f"{name}: no wrapper prefix on weight names")
        anonymous_float = [n for n, t in constants.items() if n.startswith("onnx::") and t.data_type in ex.FLOAT_TYPES
                           and math.prod(t.dims) > 1]
        check(not anonymous_float, f"{name}: no anonymous float weights left ({anonymous_float[:3]})")
        check(any(n.endswith(".T") for n in init_names), f"{name}: torch's transposed copies named after their parameter "
                                                         f"(e.g. {[n for n in init_names if n.endswith('.T')][:2]})")
        external = [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        if opts["external_data"] == "always":
            check(os.path.exists(os.path.join(out, ex.EXTERNAL_DATA_FILE)) and len(external) > 0,
                  f"{name}: {len(external)} initializers in {ex.EXTERNAL_DATA_FILE}")
        else:
            check(not external and not os.path.exists(os.path.join(out, ex.EXTERNAL_DATA_FILE)),
                  f"{name}: weights inline")
    # The same weights either way.
    plain = onnx.load(os.path.join(root, "plain", "model.onnx"))
    external = onnx.load(os.path.join(root, "external", "model.onnx"))
    a = {t.name: ex.tensor_bytes(t) for t in plain.graph.initializer}
    b = {t.name: ex.tensor_bytes(t) for t in external.graph.initializer}
    check(a == b, f"external data holds the same {len(a)} initializers, byte for byte")
    # Publishing: refuses to replace without overwrite, replaces with it.
    try:
        ex.export_model(model, os.path.join(root, "plain"), options(overwrite=False), True, side_file_writer)
        check(False, "exporting onto an existing folder without --overwrite is refused")
    except ex.ExportError as e:
        check("already exists" in str(e), f"exporting onto an existing folder without --overwrite: {e}")
    return reports


class CatAfterEmpty(nn.Module):
    """What transformers' DynamicLayer does on its first update: keys start as torch.tensor([]) and are concatenated."""

    def __init__(self):
        super().__init__()
        self.config = types.SimpleNamespace(num_hidden_layers=1, vocab_size=2)

    def forward(self, k, x):
        keys = torch.cat([torch.tensor([], dtype=x.dtype), k], dim=-2)
        return torch.cat([keys, x], dim=-2) * 2


def test_empty_concat(root):
    import onnx
    print("[selftest] empty constants in Concat", flush=True)
    raw = os.path.join(root, "cat_raw")
    out = os.path.join(root, "cat_out")
    os.makedirs(raw)
    os.makedirs(out)
    module = CatAfterEmpty()
    ex.run_torch_export(module, [torch.randn(2, 2, 3, 4), torch.randn(2, 2, 5, 4)], os.path.join(raw, "model.onnx"),
                        ["k", "x"], ["y"], {"k": {0: "b", 2: "p"}, "x": {0: "b", 2: "t"}}, 17, "torchscript")
    before = onnx.load(os.path.join(raw, "model.onnx"))
    concat_before = [len(n.input) for n in before.graph.node if n.op_type == "Concat"]
    report = ex.finalize(os.path.join(raw, "model.onnx"), out, module, False, "never", True)
    after = onnx.load(os.path.join(out, "model.onnx"))
    concat_after = [len(n.input) for n in after.graph.node if n.op_type == "Concat"]
    check(sum(concat_after) == 2 * len(concat_after) and report["empty_concat_inputs_removed"] == sum(concat_before) - sum(concat_after),
          f"Concat inputs {concat_before} -> {concat_after} ({report['empty_concat_inputs_removed']} empty constants removed)")


def test_source_errors(root):
    print("[selftest] source folder errors", flush=True)
    src = os.path.join(root, "src")
    os.makedirs(src)

    def error_of(fn, *a):
        try:
            fn(*a)
        except ex.ExportError as e:
            return str(e)
        return None

    e = error_of(ex.inspect_source, os.path.join(root, "absent"))
    check(e is not None and "no such folder" in e, f"missing folder: {e}")
    e = error_of(ex.inspect_source, src)
    check(e is not None and "config.json" in e and "missing" in e, f"missing config.json: {e}")
    vf.write_json(os.path.join(src, "config.json"), {"model_type": "bert"})
    e = error_of(ex.inspect_source, src)
    check(e is not None and "model_type 'bert' is not supported" in e, f"unsupported family: {e}")
    vf.write_json(os.path.join(src, "config.json"), {"model_type": "llama", "architectures": ["LlamaForCausalLM"]})
    e = error_of(ex.inspect_source, src)
    check(e is not None and "no weights" in e, f"no weights: {e}")
    vf.write_json(os.path.join(src, "model.safetensors.index.json"), {"weight_map": {"a": "model-00001-of-00002.safetensors"}})
    e = error_of(ex.inspect_source, src)
    check(e is not None and "model-00001-of-00002.safetensors: missing" in e, f"missing shard: {e}")
    os.remove(os.path.join(src, "model.safetensors.index.json"))
    open(os.path.join(src, "model.safetensors"), "wb").close()
    check(ex.inspect_source(src)[1] == "llama", "a complete folder passes")
    e = error_of(ex.plan_tokenizer, src, "llama")
    check(e is not None and "no tokenizer files" in e and "tokenizer.model or vocab.json + merges.txt" in e,
          f"no tokenizer: {e}")
    vf.write_json(os.path.join(src, "tokenizer.json"), {"model": {"type": "BPE", "byte_fallback": True,
                                                                  "vocab": {"<0x00>": 0}, "merges": []}})
    e = error_of(ex.plan_tokenizer, src, "llama")
    check(e is not None and "tokenizer.model is missing" in e, f"SentencePiece tokenizer.json alone: {e}")


def test_tokenizer_extraction(root):
    print("[selftest] tokenizer.json -> vocab.json + merges.txt", flush=True)
    src = os.path.join(root, "tok_src")
    out = os.path.join(root, "tok_out")
    os.makedirs(src)
    os.makedirs(out)
    vocab, merges = vf.byte_bpe([], [], 300)
    how = vf.write_byte_bpe_tokenizer_json(src, vocab, merges, ["<|endoftext|>"])
    plan = ex.plan_tokenizer(src, "qwen2")
    check(plan == {"kind": "byte-bpe", "action": "extract", "files": ["vocab.json", "merges.txt"]}, f"plan {plan} ({how})")
    notes = ex.write_tokenizer(src, out, plan)
    with open(os.path.join(out, "vocab.json"), encoding="utf-8") as f:
        check(json.load(f) == vocab, f"vocab.json equals the tokenizer's vocabulary ({len(vocab)} tokens)")
    with open(os.path.join(out, "merges.txt"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    check(lines[0] == "#version: 0.2" and lines[1:] == [f"{a} {b}" for a, b in merges], f"merges.txt: {len(lines) - 1} merges")
    check(any("not in vocab.json" in n for n in notes), f"the added token outside the vocabulary is reported: {notes[-1]}")
    # Newer tokenizers write merges as pairs; both load the same.
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    tj["model"]["merges"] = [list(m) for m in merges]
    tj["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"(?i:'s|'t)|\p{N}"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    vf.write_json(os.path.join(src, "tokenizer.json"), tj)
    notes = ex.write_tokenizer(src, out, ex.plan_tokenizer(src, "qwen2"))
    with open(os.path.join(out, "merges.txt"), encoding="utf-8") as f:
        check(f.read().splitlines()[1:] == [f"{a} {b}" for a, b in merges], "merges given as pairs give the same merges.txt")
    check(any("GPT-2's pattern" in n for n in notes), "a pre-tokenizer regex other than GPT-2's is reported")


def parse_proto(data):
    """Minimal protobuf reader: {field: [values]} with varints as ints, fixed32 as bytes, length-delimited as bytes."""
    fields, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        elif wire == 2:
            n, i = _read_varint(data, i)
            value, i = data[i:i + n], i + n
        else:
            raise ValueError(f"wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def test_sentencepiece(root):
    print("[selftest] SentencePiece tokenizer.model writer", flush=True)
    folder = os.path.join(root, "sp")
    os.makedirs(folder)
    count = vf.write_sentencepiece(folder, 320)
    with open(os.path.join(folder, "tokenizer.model"), "rb") as f:
        model = parse_proto(f.read())
    pieces = [parse_proto(p) for p in model[1]]
    check(len(pieces) == count and count <= 320, f"{count} pieces")
    names = [p[1][0].decode("utf-8") for p in pieces]
    types_ = [p.get(3, [1])[0] for p in pieces]
    check(names[:3] == ["<unk>", "<s>", "</s>"] and types_[:3] == [2, 3, 3], "unk/bos/eos first, typed UNKNOWN/CONTROL")
    check(names[3:259] == [f"<0x{b:02X}>" for b in range(256)] and set(types_[3:259]) == {6}, "256 byte pieces")
    check(len(set(names)) == len(names), "pieces are unique")
    trainer = parse_proto(model[2][0])
    check(trainer[3] == [2] and trainer[35] == [1] and trainer[43] == [(1 << 64) - 1],
          "trainer_spec: BPE, byte_fallback, pad_id -1")
    normalizer = parse_proto(model[3][0])
    check(normalizer[1] == [b"identity"] and normalizer[3] == [1] and normalizer[4] == [0], "normalizer_spec")


def write_eval_task(root, model):
    """task.jsonl and, for each candidate, torch's sum of log-probabilities of its tokens (bytes) after the prompt."""
    examples = [
        {"prompt": "The cat sat on the", "candidates": [" mat", " dog", " moon"], "label": 0},
        {"prompt": "Rain falls from the", "candidates": [" sky", " floor"], "label": 0},
        {"prompt": "One two three", "candidates": [" four", " five!"], "label": 0},
    ]
    with open(os.path.join(root, "task.jsonl"), "w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e) + "\n")
    expected = []
    for e in examples:
        prompt_len = len(e["prompt"].strip(" ").encode("utf-8"))
        row = []
        for c in e["candidates"]:
            ids = list((e["prompt"] + c).strip(" ").encode("utf-8"))
            option = len(ids) - prompt_len
            with torch.no_grad():
                logits = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.int64)).logits
            logprobs = torch.log_softmax(logits.double(), dim=-1)[0]
            total = sum(float(logprobs[t - 1, ids[t]]) for t in range(len(ids) - option, len(ids)))
            row.append({"sum": total, "mean": total / option, "tokens": option})
        expected.append(row)
    vf.write_json(os.path.join(root, "expected.json"), expected)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", help="write the exports and the eval task here and keep them")
    args = p.parse_args(argv)
    root = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="ortzo-export-selftest-")
    if args.keep and os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root, exist_ok=True)
    try:
        model = build_model()
        test_exports(root, model)
        test_empty_concat(root)
        test_source_errors(root)
        test_tokenizer_extraction(root)
        test_sentencepiece(root)
        if args.keep:
            write_eval_task(root, model)
            print(f"[selftest] kept {root}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"[selftest] {'all checks passed' if not FAILURES else f'{len(FAILURES)} checks failed'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
