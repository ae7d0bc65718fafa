#!/usr/bin/env bash
# Zero-shot vs MeZO vs Sparse-MeZO on the spam-assassin task (stories260k, data/spam-assassin), 3 seeds each,
# same steps, batch and eps for both optimizers; the learning rates are the ones picked on dev (seed 0, see
# data/spam-assassin/README.md). Prints a markdown table; each run's folder is left under $RUNS.
#
#   bash bench/spam_table.sh                      # RUNS=runs/spam-table STEPS=400 MEZO_LR=... SPARSE_LR=...
#
# Uses the Release build of the CLI (built here when missing; ORTZO=<command> runs another one).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-400}
runs=${RUNS:-runs/spam-table}
mezo_lr=${MEZO_LR:-3e-5}
sparse_lr=${SPARSE_LR:-3e-4}
dll=src/OrtZo.Cli/bin/Release/net10.0/OrtZo.Cli.dll
if [[ -z "${ORTZO:-}" && ! -f $dll ]]; then dotnet build src/OrtZo.Cli -c Release -v q > /dev/null; fi
read -r -a cli <<< "${ORTZO:-dotnet $dll}"
data=data/spam-assassin
common=(--model models/stories260k --data $data/train.jsonl --dev $data/dev.jsonl --test $data/test.jsonl --task jsonl
        --steps "$steps" --batch 16 --eps 1e-3 --eval-every 100 --log-every 10)
field() { python3 -c "import json,sys;s=json.load(open(sys.argv[1]));print($2)" "$1/summary.json"; }

zero=$("${cli[@]}" eval --model models/stories260k --data $data/test.jsonl --task jsonl --batch 50 |
       grep -o 'accuracy [0-9.]* %' | grep -o '[0-9.]*')
echo "| method | lr | test accuracy, seeds 0 / 1 / 2 | mean ± sd | s/run | peak RSS, MiB |"
echo "|---|---|---|---|---|---|"
echo "| zero-shot | – | $zero | $zero | – | – |"
for spec in "mezo $mezo_lr MeZO" "sparse-mezo $sparse_lr Sparse-MeZO_(sparsity_0.8)"; do
  set -- $spec
  accs=(); secs=(); mems=()
  for seed in 0 1 2; do
    out=$runs/$1-seed$seed
    rm -rf "$out"
    "${cli[@]}" train "${common[@]}" --optimizer "$1" --lr "$2" --seed "$seed" --out "$out" > /dev/null
    accs+=("$(field "$out" "f\"{100*s['test_accuracy']:.1f}\"")")
    secs+=("$(field "$out" "round(s['seconds'])")")
    mems+=("$(field "$out" "round(s['peak_working_set_bytes']/2**20)")")
  done
  stats=$(python3 -c "import statistics as s,sys;a=[float(x) for x in sys.argv[1:]]
print(f'{s.mean(a):.1f} ± {s.stdev(a):.1f}')" "${accs[@]}")
  echo "| ${3//_/ } | $2 | ${accs[0]} / ${accs[1]} / ${accs[2]} | $stats | ${secs[*]} | ${mems[*]} |"
done
