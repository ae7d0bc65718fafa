#!/usr/bin/env python3
"""Writes the README of a pretrained model folder from what `run.sh finish` put in it: pretrain-run.json (train.py's
train.json), pretrain-corpus.json (make_corpus.py's manifest) and sample.txt. Prints nothing it did not read there.

    python3 tools/pretrain/model_readme.py models/<name>
"""
import json, os, sys


def main(folder):
    run = json.load(open(os.path.join(folder, "pretrain-run.json")))
    corpus = json.load(open(os.path.join(folder, "pretrain-corpus.json")))
    sample = open(os.path.join(folder, "sample.txt"), encoding="utf-8").read().strip()
    c = run["config"]
    tokens = run["token_files"].get("tokens_description", {})
    held = run.get("heldout")
    name = os.path.basename(os.path.normpath(folder))
    lines = [
        f"# {name}",
        "",
        f"OrtZo's own pretrained model: a Llama-architecture decoder of {run['parameters']:,} parameters ({c['layers']} layers, "
        f"width {c['dim']}, {c['heads']} heads ({c['kv_heads']} key/value), SwiGLU hidden {c['hidden']}, RMSNorm, rotary "
        f"positions, embedding tied to the head), vocabulary {c['vocab_size']:,} (byte-level BPE), context {run['seq']}; "
        f"pretrained with `tools/pretrain` (docs/pretrain.md) and imported with `ortzo import`.",
        "",
        "## Provenance",
        "",
        "| | |",
        "|---|---|",
        f"| corpus | {corpus['train_words']:,} words for training, {corpus['heldout_words']:,} held out; "
        f"sha256 `{corpus['corpus_sha256']}` (`tools/pretrain/make_corpus.py`) |",
        f"| token file | {tokens.get('tokens', run['train_tokens']):,} tokens, sha256 `{tokens.get('sha256', '?')}`; "
        f"tokenizer sha256 `{tokens.get('tokenizer_sha256', '?')}` |",
        f"| training | {run['steps']:,} steps (of {run['steps_requested']:,} requested) × batch {run['batch']} × {run['seq']} tokens "
        f"= {run['tokens_seen']:,} tokens ({run['epochs']:.2f} epochs) |",
        f"| optimizer | AdamW (0.9, 0.95), peak lr {run['lr']:g}, {run['warmup']} warm-up steps, cosine to 10 %, weight decay "
        f"{run['weight_decay']:g} (matrices), clipping {run['clip']:g} |",
        f"| precision, device | {run['precision']}, {run['device']}{' (' + run['gpu'] + ')' if run.get('gpu') else ''}; "
        f"{run['train_seconds']:,} s of training, {run['tokens_per_second']:,} tokens/s |",
        f"| seed | {run['seed']} |",
        f"| versions | torch {run['versions']['torch']}, Python {run['versions']['python']} |",
        f"| command | `{run['command']}` |",
        "",
        "## Held-out perplexity",
        "",
    ]
    if held:
        lines += [f"**{held['perplexity']:.2f}** (loss {held['loss']:.4f} nats/token) over {held['tokens']:,} tokens of the "
                  f"corpus's held-out slice; {held['precision']}; {held.get('windows', '')}."]
        if run.get("heldout_bf16_autocast"):
            b = run["heldout_bf16_autocast"]
            lines += ["", f"Under bf16 autocast as trained: {b['perplexity']:.2f}."]
    else:
        lines += ["Not measured (no held-out tokens were given)."]
    lines += ["", "## Licences of the training text", "",
              "| source | packages | words (train / held out) | licence |", "|---|---|---|---|"]
    for s in corpus["sources"]:
        packages = ", ".join(f"{'Debian ' + p['debian'] if 'debian' in p else 'npm ' + p['npm']} {p['version']}"
                             for p in s["packages"]) or "task training splits"
        lines.append(f"| {s['name']} | {packages} | {s['train_words']:,} / {s['heldout_words']:,} | {s['licence']} |")
    lines += ["", "The weights were trained on text under these terms; whether a model trained on such text is a derivative "
                  "work is not settled, so the list is given as provenance, not as a licence of the weights.", "",
              "## Sample", "", "`ortzo generate --model " + folder + " --prompt \"The\" --max-new-tokens 60 --temperature 0.8 "
              "--top-p 0.95 --seed 0`:", "", "> " + sample.replace("\n", "\n> "), ""]
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print(f"wrote {os.path.join(folder, 'README.md')}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
