#!/usr/bin/env bash
# Do CPU and CUDA replicas of one distributed run agree bit for bit? Two CUDA worker processes sharing the GPU
# and one CPU worker train the same run; their replicas' digests are compared, and where they differ, the
# saved weights: how many elements differ and by how much.
#
# Runs on the GPU machine after staging (see ../shared/gpu/README.md), with a GPU build of the CLI in .gpu/app:
#   carry .gpu/p4 .gpu/app, run: bash .gpu/p4/stage.sh && . /opt/ortgpu/env.sh && bash bench/gpu-dist-check.sh
# Writes its report to $OUT (or bench/results) as gpu-distributed.txt. Loopback only.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cli=${ORTZO_CLI:-$root/.gpu/app/OrtZo.Cli.dll}
out=${OUT:-$root/bench/results}
steps=${STEPS:-40}
read -r -a devices <<< "${DEVICES:-cuda cuda cpu}"   # DEVICES="cpu cpu cpu" checks the script itself on a CPU machine
work=$(mktemp -d)
report="$out/gpu-distributed.txt"
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
cluster="dev:127.0.0.1:$port"
head -48 "$root/data/story-feelings/train.jsonl" > "$work/train.jsonl"
worker() { # name device [--port P]
  local name=$1 device=$2; shift 2
  timeout 900 dotnet "$cli" worker --cluster "$cluster" --run gpu-check --name "$name" --device "$device" --threads 1 \
    --journal "$work/journal" --save-replica "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
}
worker "${devices[0]}0" "${devices[0]}" --port "$port"
for i in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
worker "${devices[1]}1" "${devices[1]}"
worker "${devices[2]}2" "${devices[2]}"
timeout 900 dotnet "$cli" train --distributed --cluster "$cluster" --run gpu-check --model "$root/models/stories260k" \
  --data "$work/train.jsonl" --task jsonl --steps "$steps" --batch 6 --micro-batches 3 --lr 5e-4 --seed 7 \
  --out "$work/run" --checkpoint-every 20 --digest-every 1000000 > "$work/train.log" 2>&1
status=$?
sleep 5
{
  echo "distributed run, $steps steps, workers on ${devices[*]}; train exit $status"
  for f in "$work"/run/replicas/*.json; do echo "replica $(basename "$f" .json): $(cat "$f")"; done
  python3 - "$work/run/replicas" <<'PY'
import json, os, struct, sys, array
folder = sys.argv[1]
def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == '__metadata__' or t['dtype'] != 'F32':
            continue
        a, b = t['data_offsets']
        out[name] = array.array('f', data[a:b])
    return out
reps = {d: load(os.path.join(folder, d, 'weights.safetensors')) for d in sorted(os.listdir(folder)) if os.path.isdir(os.path.join(folder, d))}
names = list(reps)
for i in range(len(names)):
    for j in range(i + 1, len(names)):
        a, b = reps[names[i]], reps[names[j]]
        diff = total = 0
        worst = 0.0
        for k in a:
            for x, y in zip(a[k], b[k]):
                total += 1
                if struct.pack('<f', x) != struct.pack('<f', y):
                    diff += 1
                    worst = max(worst, abs(x - y))
        print(f"{names[i]} vs {names[j]}: {diff} of {total} weights differ, max |diff| {worst:.3e}")
PY
  echo "--- logs (tails)"
  for f in "$work"/*.log; do echo "== $(basename "$f")"; tail -5 "$f"; done
} > "$report" 2>&1
cat "$report"
