#!/usr/bin/env python3
"""Writes the Hugging Face tokenizer.json fixtures under hf-json/ (run by hand; standard library only).

Byte-level BPE (gpt2, qwen2, llama3): the vocabulary and merges in hf-json/vocab.json + merges.txt (the 1024-token
byte-level BPE the hf-exports ship, trained on Python source by the project) with each family's pre-tokenizer,
normalizer and added tokens as transformers writes them. SentencePiece-style BPE (llama2): the stories260K
vocabulary (stories260k/tokenizer.bin, llama2.c, MIT) as transformers' LlamaConverter turns a SentencePiece BPE
model into tokenizer.json: byte_fallback, merges of every vocabulary piece ordered by the piece's score,
Prepend("▁") + Replace(" ", "▁") normalizer."""
import json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hf-json")

GPT2_PATTERN = None  # ByteLevel(use_regex=True) is GPT-2's split
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def added(i, content, special=True, rstrip=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": rstrip,
            "normalized": not special, "special": special}


def byte_level(name, pattern, specials, config):
    vocab = json.load(open(os.path.join(OUT, "vocab.json"), encoding="utf-8"))
    merges = [l.rstrip("\n") for l in open(os.path.join(OUT, "merges.txt"), encoding="utf-8") if l.strip() and not l.startswith("#version")]
    n = len(vocab)
    if pattern is None:
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        normalizer = None
    else:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
        normalizer = {"type": "NFC"} if name == "qwen2" else None
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(n + i, s) for i, s in enumerate(specials)],
        "normalizer": normalizer, "pre_tokenizer": pre,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": name == "llama3",
                  "vocab": vocab, "merges": merges if name != "qwen2" else [m.split(" ") for m in merges]},
    }
    write(name, tokenizer, config)


def llama2():
    with open(os.path.join(HERE, "stories260k", "tokenizer.bin"), "rb") as f:
        data = f.read()
    at = 4
    pieces = []
    while at < len(data):
        score, length = struct.unpack_from("<fi", data, at)
        at += 8
        text = data[at:at + length].decode("utf-8")
        at += length
        pieces.append((text, score))
    vocab = {}
    for i, (text, _) in enumerate(pieces):
        if i == 0: text = "<unk>"
        elif i == 1: text = "<s>"
        elif i == 2: text = "</s>"
        else: text = text.replace(" ", "\u2581")
        vocab[text] = i
    scores = {t: pieces[i][1] for t, i in vocab.items()}
    # transformers' SentencePieceExtractor: every split of a piece into two pieces, ordered by the piece's id (score order).
    merges = []
    for piece, pid in sorted(vocab.items(), key=lambda kv: kv[1]):
        if pid < 3 or piece.startswith("<0x"): continue
        local = []
        for k in range(1, len(piece)):
            a, b = piece[:k], piece[k:]
            if a in vocab and b in vocab:
                local.append((vocab[a], vocab[b], a, b))
        local.sort()
        merges.extend(((pid, va, vb), f"{a} {b}") for va, vb, a, b in local)
    merges = [m for _, m in sorted(merges, key=lambda x: x[0])]
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>", special=False, rstrip=True)],  # as Phi-3 has it
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                          {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                     {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False, "vocab": vocab, "merges": merges},
    }
    write("llama2", tokenizer, {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False,
                                "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
                                "legacy": False, "model_max_length": 512})


def write(name, tokenizer, config):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
        f.write("\n")


byte_level("gpt2", GPT2_PATTERN, ["<|endoftext|>"],
           {"tokenizer_class": "GPT2Tokenizer", "add_bos_token": False, "add_prefix_space": False,
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "model_max_length": 1024})
byte_level("qwen2", QWEN2_PATTERN, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
           {"tokenizer_class": "Qwen2Tokenizer", "add_prefix_space": False, "bos_token": None, "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>", "unk_token": None, "errors": "replace", "model_max_length": 32768})
byte_level("llama3", LLAMA3_PATTERN, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
           {"tokenizer_class": "PreTrainedTokenizerFast", "add_bos_token": True, "bos_token": "<|begin_of_text|>",
            "eos_token": "<|end_of_text|>", "model_max_length": 131072})
llama2()
