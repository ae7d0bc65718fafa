#!/usr/bin/env python3
"""Renders the JSON under bench/results/ as the markdown tables of bench/README.md (prints them)."""
import json, os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def load(name):
    path = os.path.join(RESULTS, f"cpu-{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def forward(d):
    print(f"Forward, weights bound as graph inputs (OrtZo) vs ORT initializers holding the same values (`{d['command']}`):\n")
    print("| model | batch × seq | inputs ms | initializers ms | inputs / initializers | tok/s (inputs) | peak RSS inputs / initializers MiB |")
    print("|---|---|---|---|---|---|---|")
    runs = d["runs"]
    for a in (r for r in runs if r["binding"] == "inputs"):
        b = next(r for r in runs if r["binding"] == "initializers" and r["model"] == a["model"] and r["batch"] == a["batch"])
        print(f"| {a['model']} ({a['params']:,}) | {a['batch']} × {a['seq']} | {a['forward_ms']:.2f} | {b['forward_ms']:.2f} | "
              f"{a['forward_ms'] / b['forward_ms']:.2f} | {a['tokens_per_s']:,.0f} | {a['peak_rss_mb']:.0f} / {b['peak_rss_mb']:.0f} |")
    print()


def step(d):
    print(f"ZO step against two forwards (`{d['command']}`); a pass reads and writes every trainable weight once:\n")
    print("| model | optimizer | batch × seq | step ms | 2 × forward ms | step / 2 fwd | pass ms | pass GB/s | extra memory B | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in d["runs"]:
        print(f"| {r['model']} | {r['optimizer']} | {r['batch']} × {r['seq']} | {r['step_ms']:.1f} | {2 * r['forward_ms']:.1f} | "
              f"{r['step_over_2fwd']:.3f} | {r['pass_ms']:.2f} | {r['pass_gb_per_s']:.1f} | {r['extra_memory_bytes']:,} | {r['peak_rss_mb']:.0f} |")
    print()


def drift(d):
    r = d["runs"][0]
    print(f"Perturb/restore drift after {r['steps']} steps with lr = 0 (ε {r['epsilon']}, {r['weights']:,} weights; `{d['command']}`):\n")
    print("| dtype | OrtZo changed | OrtZo mean / max ulp | MeZO loop changed | MeZO mean / max ulp |")
    print("|---|---|---|---|---|")
    for t in r["dtypes"]:
        print(f"| {t['dtype']} | {100 * t['ortzo_changed']:.1f} % | {t['ortzo_mean_ulps']:.2f} / {t['ortzo_max_ulps']} | "
              f"{100 * t['mezo_changed']:.1f} % | {t['mezo_mean_ulps']:.2f} / {t['mezo_max_ulps']} |")
    print()


def peft(d):
    print(f"PEFT forward, frozen base weights as graph inputs vs as initializers (`{d['command']}`):\n")
    print("| model | scheme | batch × seq | adapter params | base as inputs ms | base as initializers ms | change |")
    print("|---|---|---|---|---|---|---|")
    for r in d["runs"]:
        print(f"| {r['model']} | {r['scheme']} | {r['batch']} × {r['seq']} | {r['adapter_params']:,} | {r['inputs_ms']:.1f} | "
              f"{r['initializers_ms']:.1f} | {100 * r['initializers_change']:+.1f} % |")
    print()


for name, render in [("forward", forward), ("step", step), ("drift", drift), ("peft", peft)]:
    d = load(name)
    if d:
        render(d)
