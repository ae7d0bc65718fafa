#!/usr/bin/env bash
# The one staged device run of OrtZo's CUDA path (docs/gpu.md). The GPU machine has no dotnet and no network, and each
# device call carries at most 64 MiB of files: the app, the .NET runtime and ONNX Runtime's CUDA package travel in
# parts under .gpu/ (ignored by git), unpacked under /opt/ortzo-gpu by the staging calls, then one call runs it all.
#
#   bash bench/gpu/run.sh pack        here: publish the GPU app (-p:OrtZoGpu=true), pack .gpu/p1..p4, check the limits
#   bash bench/gpu/run.sh plan        here: print the device calls, in order
#   bash bench/gpu/run.sh stage N     there: unpack part N (1..4) under /opt/ortzo-gpu
#   bash bench/gpu/run.sh device      there: run every check, write JSON and logs to $OUT (<= 8 files, <= 16 MiB each)
#   bash bench/gpu/run.sh --dry-run   here: pack (quickly, xz -0, unless ORTZO_GPU_PACK_LEVEL is set), then the device
#                                     phase with every GPU step replaced by its CPU twin, into $OUT or a temporary folder
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
stage_dir=.gpu
opt=/opt/ortzo-gpu
part_limit=$((62 * 1024 * 1024))   # under the 64 MiB a call carries, leaving room for the working tree's own files

# ---- here -------------------------------------------------------------------------------------------------------
pack() {
  local level="${ORTZO_GPU_PACK_LEVEL:-6}"
  rm -rf "$stage_dir/publish" "$stage_dir"/p[1-4]
  mkdir -p "$stage_dir"/p1 "$stage_dir"/p2 "$stage_dir"/p3 "$stage_dir"/p4
  # the CLI and the bench share one folder, so they share ORT's native libraries
  dotnet publish src/OrtZo.Cli -c Release -p:OrtZoGpu=true --no-self-contained -o "$stage_dir/publish" > "$stage_dir/publish.log"
  dotnet publish bench/OrtZo.Bench -c Release -p:OrtZoGpu=true --no-self-contained -o "$stage_dir/publish" >> "$stage_dir/publish.log"
  local native="$stage_dir/publish/runtimes/linux-x64/native"
  [ -f "$native/libonnxruntime_providers_cuda.so" ] || { echo "the publish lacks libonnxruntime_providers_cuda.so (not the GPU package?)" >&2; exit 2; }
  # parts 1-3: the CUDA execution provider (289 MB; about 185 MB after xz -6), split in three
  xz -T0 -"$level" -c "$native/libonnxruntime_providers_cuda.so" > "$stage_dir/cuda_ep.xz"
  local size; size=$(stat -c %s "$stage_dir/cuda_ep.xz")
  split -n 3 -d -a 1 "$stage_dir/cuda_ep.xz" "$stage_dir/cuda_ep.xz.part"
  for i in 1 2 3; do mv "$stage_dir/cuda_ep.xz.part$((i - 1))" "$stage_dir/p$i/cuda_ep.xz.part$((i - 1))"; done
  rm -f "$stage_dir/cuda_ep.xz"
  # part 4: the app without the EP library, and this machine's .NET runtime (host, fxr, Microsoft.NETCore.App)
  local dotnet_root; dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  local runtime; runtime="$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -1)"
  tar -C "$stage_dir/publish" --exclude=runtimes/linux-x64/native/libonnxruntime_providers_cuda.so \
      --exclude=runtimes/linux-x64/native/libonnxruntime_providers_tensorrt.so -cf - . | xz -T0 -"$level" > "$stage_dir/p4/app.tar.xz"
  tar -C "$dotnet_root" -cf - dotnet host "shared/Microsoft.NETCore.App/$(basename "$runtime")" | xz -T0 -"$level" > "$stage_dir/p4/dotnet.tar.xz"
  for i in 1 2 3 4; do
    local bytes; bytes=$(du -sb "$stage_dir/p$i" | cut -f1)
    [ "$bytes" -le "$part_limit" ] || { echo "part $i holds $bytes bytes, over the $part_limit a call may carry" >&2; exit 2; }
    echo "part $i: $((bytes / 1048576)) MiB"
  done
  echo "EP library: $((size / 1048576)) MiB compressed (xz -$level)"
}

plan() {
  cat <<'PLAN'
# here, once per change:    bash bench/gpu/run.sh pack
# then, back to back (the machine is handed back after 30 s idle), with the device tool's `run`:
run carry=[".gpu/p1"]  timeout_s=120  command="bash bench/gpu/run.sh stage 1"
run carry=[".gpu/p2"]  timeout_s=120  command="bash bench/gpu/run.sh stage 2"
run carry=[".gpu/p3"]  timeout_s=120  command="bash bench/gpu/run.sh stage 3"
run carry=[".gpu/p4"]  timeout_s=600  command="bash bench/gpu/run.sh stage 4 && bash bench/gpu/run.sh device"
# a rerun while the machine is still warm (staged files are still there):
run carry=[]           timeout_s=600  command="bash bench/gpu/run.sh device"
# files come back under files_at: env.txt, gpu-check.json, train.json, bench.json, torch.json, device.log
PLAN
}

# ---- there ------------------------------------------------------------------------------------------------------
stage() {
  local n="${1:?stage 1..4}"
  mkdir -p "$opt"
  case "$n" in
    1|2|3) cp "$stage_dir/p$n"/cuda_ep.xz.part* "$opt/" ;;
    4)
      mkdir -p "$opt/app" "$opt/dotnet"
      xz -dc "$stage_dir/p4/app.tar.xz" | tar -C "$opt/app" -xf -
      xz -dc "$stage_dir/p4/dotnet.tar.xz" | tar -C "$opt/dotnet" -xf -
      cat "$opt"/cuda_ep.xz.part0 "$opt"/cuda_ep.xz.part1 "$opt"/cuda_ep.xz.part2 | xz -dc > "$opt/app/runtimes/linux-x64/native/libonnxruntime_providers_cuda.so"
      rm -f "$opt"/cuda_ep.xz.part*
      ;;
    *) echo "stage 1..4" >&2; exit 2 ;;
  esac
  echo "staged part $n under $opt"
}

# The CUDA libraries of the machine's PyTorch venv (pip wheels): their lib folders, for ORTZO_CUDA_LIBS.
cuda_libs() {
  local py; py="$(command -v python3)"
  "$py" - <<'PY' 2>/dev/null || true
import glob, os, site
dirs = []
for s in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(s, "nvidia", "*", "lib")))
print(":".join(dirs))
PY
}

device() {
  local dry="${1:-}"
  : "${OUT:?OUT must name the folder whose files come back}"
  local ortzo bench work device
  if [ -n "$dry" ]; then
    local app="${ORTZO_GPU_APP:-$stage_dir/publish}"
    ortzo=(dotnet "$app/OrtZo.Cli.dll"); bench=(dotnet "${ORTZO_GPU_BENCH:-$app}/OrtZo.Bench.dll"); device=cpu
  else
    export DOTNET_ROOT="$opt/dotnet" PATH="$opt/dotnet:$PATH"
    ortzo=(dotnet "$opt/app/OrtZo.Cli.dll"); bench=(dotnet "$opt/app/OrtZo.Bench.dll"); device=cuda
    ORTZO_CUDA_LIBS="$(cuda_libs)"; export ORTZO_CUDA_LIBS
  fi
  work="$(mktemp -d)"
  local status=0 log="$OUT/device.log"
  : > "$log"
  step() { echo "== $* ($(date +%T))" >> "$log"; }
  {
    step environment
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not here"
    echo "ORTZO_CUDA_LIBS=${ORTZO_CUDA_LIBS:-}"
    "${ortzo[@]}" doctor 2>&1 || true
  } > "$OUT/env.txt" 2>&1

  # (a) the real kernels against the specification over the whole case table, and (b) replay and tracking runs
  step "gpu-check: pass cases, replay, tracking"
  if [ -z "$dry" ]; then
    "${ortzo[@]}" gpu-check --agreement-model models/stories260k --agreement-data data/story-feelings/train.jsonl \
      --out "$OUT/gpu-check.json" >> "$log" 2>&1 || status=1
  else
    "${ortzo[@]}" gpu-check --out "$OUT/gpu-check.json" >> "$log" 2>&1 && status=1 || true   # no driver here: must refuse
  fi

  # (c) ortzo train on stories260k and on the 10.9M-parameter model
  step "train --device $device"
  # the bench's 10.9M-parameter model (BenchModels.Medium's shape)
  "${ortzo[@]}" make-model tiny-gpt --out "$work/gpt-10m" --corpus data/story-feelings/train.jsonl --vocab 512 \
      --dim 384 --layers 6 --heads 6 --max-length 256 --seed 7 >> "$log" 2>&1 || status=1
  local runs=()
  for m in models/stories260k "$work/gpt-10m"; do
    local out="$work/run-$(basename "$m")"
    if "${ortzo[@]}" train --model "$m" --data data/story-feelings/train.jsonl --dev data/story-feelings/dev.jsonl --task jsonl \
        --optimizer sparse-mezo --lr 3e-4 --steps "${ORTZO_GPU_TRAIN_STEPS:-100}" --batch 16 --eval-every 50 --device "$device" --out "$out" >> "$log" 2>&1; then
      runs+=("$out/summary.json")
    else
      status=1
    fi
  done
  python3 - "$OUT/train.json" "${runs[@]}" <<'PY'
import json, sys
json.dump([dict(json.load(open(p)), summary=p) for p in sys.argv[2:]], open(sys.argv[1], "w"), indent=1)
PY

  # (d) OPT-1.3B-shaped fp16 decoder, random weights shared by both: OrtZo's forward and steps beside PyTorch MeZO
  step "bench: OPT-1.3B-shaped fp16"
  local tiny=(); [ -n "$dry" ] && tiny=(--tiny)
  if python3 -c "import torch, transformers" 2>/dev/null; then
    python3 bench/gpu/make_opt_model.py "$work/opt-hf" --dtype fp16 "${tiny[@]}" >> "$log" 2>&1 \
      && python3 tools/export/export.py "$work/opt-hf" "$work/opt-onnx" --dtype fp16 --no-tokenizer --verify off >> "$log" 2>&1 \
      && "${ortzo[@]}" import "$work/opt-onnx" --out "$work/opt" --verify session >> "$log" 2>&1 || status=1
    if [ -d "$work/opt" ]; then
      local batches=16,32; [ -n "$dry" ] && batches=2
      "${bench[@]}" step --model "$work/opt" --batches "$batches" --seq 256 --device "$device" --out "$work/bench" >> "$log" 2>&1 || status=1
      cp "$work/bench/$device-step.json" "$OUT/bench.json" 2>/dev/null || status=1
      if [ -z "$dry" ]; then
        for b in 16 32; do python3 bench/torch_mezo.py "$work/opt-hf" --batch "$b" --seq 256 >> "$OUT/torch.json" 2>> "$log" || status=1; done
      fi
    fi
  elif [ -n "$dry" ]; then
    # no transformers here: the bench's own invocation still runs, on the 10.9M model
    echo "torch/transformers missing: the bench runs on the 10.9M model instead of OPT-1.3B" >> "$log"
    "${bench[@]}" step --model "$work/gpt-10m" --batches 2 --seq 64 --device "$device" --out "$work/bench" >> "$log" 2>&1 || status=1
    cp "$work/bench/$device-step.json" "$OUT/bench.json" 2>/dev/null || status=1
  else
    echo "torch/transformers missing: the OPT bench cannot run" >> "$log"
    status=1
  fi
  rm -rf "$work"
  step "done (status $status)"
  tail -n 20 "$log"
  return $status
}

case "${1:-plan}" in
  pack) pack ;;
  plan) plan ;;
  stage) stage "${2:-}" ;;
  device) device ;;
  --dry-run)
    # ORTZO_GPU_APP names an already built CLI folder instead of packing (the test does; packing is `pack`)
    [ -n "${ORTZO_GPU_APP:-}" ] || ORTZO_GPU_PACK_LEVEL="${ORTZO_GPU_PACK_LEVEL:-0}" pack
    export OUT="${OUT:-$(mktemp -d)}"
    ORTZO_GPU_TRAIN_STEPS="${ORTZO_GPU_TRAIN_STEPS:-4}" device dry
    echo "dry run: results in $OUT"
    ;;
  *) echo "usage: $0 pack|plan|stage N|device|--dry-run" >&2; exit 2 ;;
esac
