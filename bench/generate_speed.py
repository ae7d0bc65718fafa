#!/usr/bin/env python3
"""Tokens per second of `ortzo generate`, KV-cached against recomputing the sequence for every token.

Greedy decoding of NEW tokens after a short prompt, each mode in its own process, the median of REPEATS runs.
Models: models/stories260k (shipped) and a GPT-2-style decoder of about 11M parameters (d 384, 6 layers, 6 heads,
context 512) that `ortzo make-model tiny-gpt` builds under bench/.models/ on first use (random weights: the
text is noise, the arithmetic is the same). The time covers decoding only, not loading.

    python3 bench/generate_speed.py [--new 200] [--repeats 3] [--out bench/results/generate-speed]
    ORTZO="dotnet /path/OrtZo.Cli.dll" pins a build (default: ./ortzo)
"""
import argparse, json, os, re, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli():
    return os.environ.get("ORTZO", os.path.join(ROOT, "ortzo")).split()


def gpt10m():
    folder = os.path.join(ROOT, "bench", ".models", "gpt-10m-generate")
    if not os.path.exists(os.path.join(folder, "ortzo.json")):
        subprocess.run(cli() + ["make-model", "tiny-gpt", "--out", folder, "--corpus", os.path.join(ROOT, "README.md"),
                                "--dim", "384", "--layers", "6", "--heads", "6", "--max-length", "512", "--vocab", "512"],
                       check=True, stdout=subprocess.DEVNULL)
    return folder


def run(model, prompt, new, cached):
    cmd = cli() + ["generate", "--model", model, "--prompt", prompt, "--max-new-tokens", str(new), "--timing"]
    if not cached:
        cmd.append("--no-kv-cache")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    m = re.search(r"(\d+) tokens after a (\d+)-token prompt in ([\d.]+) s: ([\d.]+) tokens/s", out.stderr)
    if not m:
        sys.exit(f"no timing line in: {out.stderr}")
    return int(m.group(1)), int(m.group(2)), float(m.group(4))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--new", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "generate-speed"))
    a = p.parse_args()
    rows = []
    for name, model in (("stories260k", os.path.join(ROOT, "models", "stories260k")), ("gpt-10m (random)", gpt10m())):
        row = {"model": name}
        for cached in (True, False):
            runs = [run(model, "Once upon a time", a.new, cached) for _ in range(a.repeats)]
            row["tokens"], row["prompt_tokens"] = runs[0][0], runs[0][1]
            row["kv_cache" if cached else "recompute"] = statistics.median(r[2] for r in runs)
        rows.append(row)
        print(f"{name}: {row['tokens']} new tokens after {row['prompt_tokens']}: KV cache {row['kv_cache']:.0f} tokens/s, "
              f"recompute {row['recompute']:.0f} tokens/s ({row['kv_cache'] / row['recompute']:.1f}x)", flush=True)
    lines = ["| model | new tokens | KV cache tokens/s | recompute tokens/s | speed-up |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['tokens']} | {r['kv_cache']:.0f} | {r['recompute']:.0f} | {r['kv_cache'] / r['recompute']:.1f}× |" for r in rows]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(a.out + ".json", "w") as f:
        json.dump({"new_tokens": a.new, "repeats": a.repeats, "rows": rows}, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
