#!/usr/bin/env bash
# Zero-shot vs MeZO vs Sparse-MeZO on the demo task (stories260k, story-feelings), 3 seeds, same step budget.
# Prints a markdown table; each run's folder is left under runs/table/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-400}
common=(--model models/stories260k --data data/story-feelings/train.jsonl --dev data/story-feelings/dev.jsonl
        --test data/story-feelings/test.jsonl --task jsonl --steps "$steps" --batch 16 --eps 1e-3 --eval-every 100 --log-every 10)
zero=$(./ortzo eval --model models/stories260k --data data/story-feelings/test.jsonl --task jsonl --batch 50 | grep -o 'accuracy [0-9.]* %' | grep -o '[0-9.]*')
echo "| method | lr | test accuracy (seeds 0, 1, 2) | mean ± sd | s/run |"
echo "|---|---|---|---|---|"
echo "| zero-shot | – | $zero | $zero | – |"
for spec in "mezo 1e-4" "sparse-mezo 3e-4"; do
  set -- $spec
  accs=(); secs=()
  for seed in 0 1 2; do
    out=runs/table/$1-seed$seed
    ./ortzo train "${common[@]}" --optimizer "$1" --lr "$2" --seed "$seed" --out "$out" > /dev/null
    accs+=($(python3 -c "import json;print(round(100*json.load(open('$out/summary.json'))['test_accuracy'],1))"))
    secs+=($(python3 -c "import json;print(round(json.load(open('$out/summary.json'))['seconds']))"))
  done
  stats=$(python3 -c "import statistics as s;a=[${accs[0]},${accs[1]},${accs[2]}];print(f'{s.mean(a):.1f} ± {s.stdev(a):.1f}')")
  echo "| $1 | $2 | ${accs[*]} | $stats | ${secs[*]} |"
done
