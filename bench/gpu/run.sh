#!/usr/bin/env bash
# The one staged device run of OrtZo's CUDA path (docs/gpu.md). The GPU machine has no dotnet and no network, and each
# device call carries at most 64 MiB, the working tree included: the app (with ONNX Runtime's CUDA package) and this
# machine's .NET runtime travel as one xz bundle cut into parts under .gpu/ (ignored by git), reassembled under
# /opt/ortzo-gpu by the staging calls; then two calls run the checks and the benchmark.
#
#   bash bench/gpu/run.sh pack          here: publish the GPU app (-p:OrtZoGpu=true), cut the bundle into .gpu/p1..pN so
#                                       that each call (part + working tree) fits, print each call's size
#   bash bench/gpu/run.sh plan          here: print the device calls, in order
#   bash bench/gpu/run.sh stage N       there: put part N under /opt/ortzo-gpu; the last part reassembles and unpacks
#   bash bench/gpu/run.sh device checks there: environment, kernels vs the specification, replay and tracking runs,
#                                       train --device cuda on two models (files to $OUT)
#   bash bench/gpu/run.sh device bench  there: OPT-1.3B-shaped fp16 forward/MeZO/Sparse-MeZO beside PyTorch MeZO
#   bash bench/gpu/run.sh --dry-run     here: both device phases with every GPU step replaced by its CPU twin, into $OUT
#                                       or a temporary folder (packs first, at xz -0, unless ORTZO_GPU_APP names a build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
stage_dir=.gpu
call_limit=$((64 * 1024 * 1024))   # what one device call carries: the working tree plus its carried paths
margin=$((1024 * 1024))

# ---- here -------------------------------------------------------------------------------------------------------
# Bytes of the working tree that travel with every call (tracked and untracked files that git does not ignore).
tree_bytes() {
  git ls-files -z -co --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

pack() {
  local level="${ORTZO_GPU_PACK_LEVEL:-6}"
  rm -rf "$stage_dir/publish" "$stage_dir"/p[0-9]* "$stage_dir/bundle"
  mkdir -p "$stage_dir/bundle"
  # the CLI and the bench share one folder, so they share ORT's native libraries
  dotnet publish src/OrtZo.Cli -c Release -p:OrtZoGpu=true --no-self-contained -o "$stage_dir/publish" > "$stage_dir/publish.log"
  dotnet publish bench/OrtZo.Bench -c Release -p:OrtZoGpu=true --no-self-contained -o "$stage_dir/publish" >> "$stage_dir/publish.log"
  local native="$stage_dir/publish/runtimes/linux-x64/native"
  [ -f "$native/libonnxruntime_providers_cuda.so" ] || { echo "the publish lacks libonnxruntime_providers_cuda.so (not the GPU package?)" >&2; exit 2; }
  # one bundle: app/ (the publish without TensorRT, which OrtZo never loads) and dotnet/ (host, fxr, Microsoft.NETCore.App)
  local dotnet_root runtime
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  runtime="$(ls -d "$dotnet_root"/shared/Microsoft.NETCore.App/10.* | sort -V | tail -1)"
  mkdir -p "$stage_dir/bundle/dotnet/shared/Microsoft.NETCore.App"
  ln -sfn "$(readlink -f "$stage_dir/publish")" "$stage_dir/bundle/app"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$stage_dir/bundle/dotnet/"
  cp -a "$runtime" "$stage_dir/bundle/dotnet/shared/Microsoft.NETCore.App/"
  tar -C "$stage_dir/bundle" --dereference --exclude='app/runtimes/linux-x64/native/libonnxruntime_providers_tensorrt.so' -cf - app dotnet \
    | xz -T0 -"$level" > "$stage_dir/bundle.tar.xz"
  rm -rf "$stage_dir/bundle"
  local size tree budget parts
  size=$(stat -c %s "$stage_dir/bundle.tar.xz")
  tree=$(tree_bytes)
  budget=$((call_limit - tree - margin))
  [ "$budget" -gt 0 ] || { echo "the working tree alone ($tree bytes) leaves no room in a $call_limit-byte call" >&2; exit 2; }
  parts=$(( (size + budget - 1) / budget ))
  split -n "$parts" -d -a 1 "$stage_dir/bundle.tar.xz" "$stage_dir/bundle.part"
  local sum; sum=$(sha256sum "$stage_dir/bundle.tar.xz" | cut -d' ' -f1)
  for ((i = 1; i <= parts; i++)); do
    mkdir -p "$stage_dir/p$i"
    mv "$stage_dir/bundle.part$((i - 1))" "$stage_dir/p$i/"
    printf '%s %s\n' "$parts" "$sum" > "$stage_dir/p$i/bundle.manifest"
  done
  rm -f "$stage_dir/bundle.tar.xz"
  echo "bundle: $((size / 1048576)) MiB (xz -$level), $parts parts; working tree $((tree / 1048576)) MiB travels with each call"
  for ((i = 1; i <= parts; i++)); do
    local bytes; bytes=$(du -sb "$stage_dir/p$i" | cut -f1)
    [ $((bytes + tree)) -le "$call_limit" ] || { echo "call $i would carry $((bytes + tree)) bytes, over $call_limit" >&2; exit 2; }
    echo "call $i: part $((bytes / 1048576)) MiB + tree = $(((bytes + tree) / 1048576)) MiB of 64"
  done
  [ "$parts" -le 4 ] || echo "warning: $parts staging calls; with the bench call that is over the five calls planned" >&2
}

plan() {
  # (a glob, not ls: under pipefail a failing ls with nothing packed ended the script before the hint)
  local parts=0 d
  for d in "$stage_dir"/p[0-9]*; do [ -d "$d" ] && parts=$((parts + 1)); done
  [ "$parts" -gt 0 ] || { echo "# pack first: bash bench/gpu/run.sh pack"; parts=4; }
  echo "# here, once per change:  bash bench/gpu/run.sh pack"
  echo "# then, back to back (the machine is handed back after 30 s idle), with the device tool's run:"
  for ((i = 1; i < parts; i++)); do
    echo "run carry=[\".gpu/p$i\"]  timeout_s=180  command=\"bash bench/gpu/run.sh stage $i\""
  done
  echo "run carry=[\".gpu/p$parts\"]  timeout_s=420  command=\"bash bench/gpu/run.sh stage $parts && bash bench/gpu/run.sh device checks\""
  echo "run carry=[]  timeout_s=480  command=\"bash bench/gpu/run.sh device bench\"          # warm machine: staged files still there"
  echo "# back from the checks call: env.txt, gpu-check.json, train.json, generate.txt, checks.log; from the bench call: bench.json, torch.jsonl, bench.log"
  echo "# a rerun while warm skips staging: run carry=[] command=\"bash bench/gpu/run.sh device checks\""
}

# ---- there ------------------------------------------------------------------------------------------------------
# Where the staged app lives: /opt/ortzo-gpu, or /tmp/ortzo-gpu where /opt is not writable.
opt_root() {
  if [ -n "${ORTZO_GPU_ROOT:-}" ]; then echo "$ORTZO_GPU_ROOT"; return; fi
  if mkdir -p /opt/ortzo-gpu 2>/dev/null && [ -w /opt/ortzo-gpu ]; then echo /opt/ortzo-gpu; else echo /tmp/ortzo-gpu; fi
}

stage() {
  local n="${1:?stage N}" opt; opt="$(opt_root)"
  mkdir -p "$opt"
  [ -f "$stage_dir/p$n/bundle.manifest" ] || { echo "part $n is not here (carry .gpu/p$n)" >&2; exit 2; }
  cp "$stage_dir/p$n"/bundle.part* "$opt/"
  local parts sum; read -r parts sum < "$stage_dir/p$n/bundle.manifest"
  local have; have=$(ls "$opt"/bundle.part* | wc -l)
  echo "staged part $n of $parts under $opt ($have present)"
  [ "$have" -eq "$parts" ] || return 0
  cat $(ls "$opt"/bundle.part* | sort -V) > "$opt/bundle.tar.xz"
  echo "$sum  $opt/bundle.tar.xz" | sha256sum -c --quiet - || { echo "the reassembled bundle's sha256 differs" >&2; exit 2; }
  rm -rf "$opt/app" "$opt/dotnet"
  xz -dc "$opt/bundle.tar.xz" | tar -C "$opt" -xf -
  rm -f "$opt"/bundle.part* "$opt/bundle.tar.xz"
  echo "unpacked the app and the .NET runtime under $opt"
}

# The Python that has torch (the GPU machine's PyTorch venv, with the CUDA 13 and cuDNN 9 wheels); empty if none.
torch_python() {
  local c
  for c in ${VIRTUAL_ENV:+"$VIRTUAL_ENV/bin/python"} python3 python /opt/*/bin/python3 /root/*/bin/python3 /home/*/*/bin/python3; do
    command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || continue
    if "$c" -c "import torch" >/dev/null 2>&1; then echo "$c"; return; fi
  done
}

# The lib folders of the NVIDIA wheels under that Python (for ORTZO_CUDA_LIBS), then the toolkit's lib64.
cuda_libs() {
  local py="$1" dirs=""
  if [ -n "$py" ]; then
    dirs=$("$py" - <<'PY' 2>/dev/null || true
import glob, os, site
dirs = []
for s in site.getsitepackages() + [site.getusersitepackages()]:
    dirs += sorted(glob.glob(os.path.join(s, "nvidia", "*", "lib")))
print(":".join(dirs))
PY
)
  fi
  [ -d /usr/local/cuda/lib64 ] && dirs="${dirs:+$dirs:}/usr/local/cuda/lib64"
  echo "$dirs"
}

# Sets ortzo/bench/py/device for a real or a dry run (dry: the CPU build here, device cpu), a fresh $work folder, and
# $log in $OUT with step() writing its section lines.
setup() {
  local dry="$1"
  log="$OUT/$2"
  work="$(mktemp -d)"
  : > "$log"
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 NO_COLOR=1
  py="$(torch_python)"
  if [ -n "$dry" ]; then
    local app="${ORTZO_GPU_APP:-$stage_dir/publish}"
    ortzo=(dotnet "$app/OrtZo.Cli.dll"); bench=(dotnet "${ORTZO_GPU_BENCH:-$app}/OrtZo.Bench.dll"); device=cpu
  else
    local opt; opt="$(opt_root)"
    [ -f "$opt/app/OrtZo.Cli.dll" ] || { echo "nothing staged under $opt: run the stage calls first" >&2; exit 2; }
    export DOTNET_ROOT="$opt/dotnet" PATH="$opt/dotnet:$PATH"
    ortzo=(dotnet "$opt/app/OrtZo.Cli.dll"); bench=(dotnet "$opt/app/OrtZo.Bench.dll"); device=cuda
    ORTZO_CUDA_LIBS="$(cuda_libs "$py")"; export ORTZO_CUDA_LIBS
    # the loader also finds them by path (cuDNN's sub-libraries, anything ORT opens by soname later)
    export LD_LIBRARY_PATH="$ORTZO_CUDA_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
}

step() { echo "== $* ($(date +%T))" >> "$log"; }

checks() {
  local dry="$1" status=0
  setup "$dry" checks.log
  step environment
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv 2>&1 || echo "nvidia-smi: not here"
    echo "python with torch: ${py:-none}"
    if [ -n "$py" ]; then "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1 || true; fi
    local libs="${ORTZO_CUDA_LIBS:-}"
    echo "ORTZO_CUDA_LIBS=$libs"
    for d in ${libs//:/ }; do
      echo "$d: $(ls "$d" 2>/dev/null | tr '\n' ' ')"
      if [ -f "$d/libcudnn.so.9" ]; then echo "libcudnn.so.9 dynamic section:"; readelf -d "$d/libcudnn.so.9" 2>&1 | grep -iE 'runpath|rpath|needed' || true; fi
    done
    "${ortzo[@]}" doctor 2>&1 || true
  } > "$OUT/env.txt" 2>&1

  # (a) the real kernels against the specification over the whole case table, (b) replay and tracking runs
  step "gpu-check: pass cases, the EP on our stream, replay, tracking"
  if [ -z "$dry" ]; then
    "${ortzo[@]}" gpu-check --agreement-model models/stories260k --agreement-data data/story-feelings/train.jsonl \
      --out "$OUT/gpu-check.json" >> "$log" 2>&1 || status=1
  else
    "${ortzo[@]}" gpu-check --out "$OUT/gpu-check.json" >> "$log" 2>&1 && status=1 || true   # no driver here: must refuse
  fi

  # (c) ortzo train on stories260k and on the 10.9M-parameter model; train.json rewritten after each run
  step "train --device $device"
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
    python3 - "$OUT/train.json" "${runs[@]}" <<'PY'
import json, sys
json.dump([dict(json.load(open(p)), summary=p) for p in sys.argv[2:]], open(sys.argv[1], "w"), indent=1)
PY
  done

  # (c2) KV-cached generation on the device (decoder binds the device weights; the cache goes through host memory)
  # against recomputing the sequence: the same greedy text, and tokens/s of both
  step "generate --device $device, KV cache vs recompute"
  for m in models/stories260k "$work/gpt-10m"; do
    local a="$work/generate-kv.txt" b="$work/generate-recompute.txt"
    "${ortzo[@]}" generate --model "$m" --prompt "Once upon a time" --max-new-tokens 200 --timing --device "$device" > "$a" 2>> "$OUT/generate.txt" || status=1
    "${ortzo[@]}" generate --model "$m" --prompt "Once upon a time" --max-new-tokens 200 --timing --no-kv-cache --device "$device" > "$b" 2>> "$OUT/generate.txt" || status=1
    if cmp -s "$a" "$b"; then echo "$m: same text with and without the cache" >> "$OUT/generate.txt"
    else echo "$m: TEXT DIFFERS with and without the cache" >> "$OUT/generate.txt"; status=1; fi
  done
  rm -rf "$work"
  step "checks done (status $status)"
  tail -n 20 "$log"
  return $status
}

bench_run() {
  local dry="$1" status=0
  setup "$dry" bench.log
  # (d) OPT-1.3B-shaped fp16 decoder, random weights shared by both: OrtZo's forward and steps beside PyTorch MeZO
  step "bench: OPT-1.3B-shaped fp16 (python: ${py:-none})"
  if [ -n "$py" ] && "$py" -c "import transformers, onnx" 2>/dev/null; then
    local tiny=(); [ -n "$dry" ] && tiny=(--tiny)
    "$py" bench/gpu/make_opt_model.py "$work/opt-hf" --dtype fp16 "${tiny[@]}" >> "$log" 2>&1 \
      && "$py" tools/export/export.py "$work/opt-hf" "$work/opt-onnx" --dtype fp16 --no-tokenizer --verify off >> "$log" 2>&1 \
      && "${ortzo[@]}" import "$work/opt-onnx" --out "$work/opt" --verify structure >> "$log" 2>&1 || status=1
    if [ -d "$work/opt" ]; then
      local batches=16,32; [ -n "$dry" ] && batches=2
      step "ortzo bench step"
      "${bench[@]}" step --model "$work/opt" --batches "$batches" --seq 256 --device "$device" --out "$work/bench" >> "$log" 2>&1 || status=1
      cp "$work/bench/$device-step.json" "$OUT/bench.json" 2>/dev/null || status=1
      if [ -z "$dry" ]; then
        step "torch MeZO"
        for b in 16 32; do "$py" bench/torch_mezo.py "$work/opt-hf" --batch "$b" --seq 256 >> "$OUT/torch.jsonl" 2>> "$log" || status=1; done
      fi
    fi
  elif [ -n "$dry" ]; then
    # no torch/transformers here: the bench's own invocation still runs, on a small model of the project's own
    echo "torch/transformers missing: the bench runs on a small tiny-gpt model instead of OPT-1.3B" >> "$log"
    "${ortzo[@]}" make-model tiny-gpt --out "$work/gpt" --corpus data/story-feelings/train.jsonl --vocab 512 \
        --dim 64 --layers 2 --heads 4 --max-length 128 --seed 7 >> "$log" 2>&1 || status=1
    "${bench[@]}" step --model "$work/gpt" --batches 2 --seq 64 --device "$device" --out "$work/bench" >> "$log" 2>&1 || status=1
    cp "$work/bench/$device-step.json" "$OUT/bench.json" 2>/dev/null || status=1
  else
    echo "no Python with torch, transformers and onnx: the OPT bench cannot run" >> "$log"
    status=1
  fi
  rm -rf "$work"
  step "bench done (status $status)"
  tail -n 20 "$log"
  return $status
}

device() {
  local phase="${1:?device checks|bench}" dry="${2:-}"
  : "${OUT:?OUT must name the folder whose files come back}"
  case "$phase" in
    checks) checks "$dry" ;;
    bench) bench_run "$dry" ;;
    *) echo "device checks|bench" >&2; exit 2 ;;
  esac
}

case "${1:-plan}" in
  pack) pack ;;
  plan) plan ;;
  stage) stage "${2:-}" ;;
  device) device "${2:-}" ;;
  --dry-run)
    # ORTZO_GPU_APP names an already built CLI folder instead of packing (the test does; packing is `pack`)
    if [ -z "${ORTZO_GPU_APP:-}" ]; then ORTZO_GPU_PACK_LEVEL="${ORTZO_GPU_PACK_LEVEL:-0}" pack; fi
    export OUT="${OUT:-$(mktemp -d)}"
    rc=0
    ORTZO_GPU_TRAIN_STEPS="${ORTZO_GPU_TRAIN_STEPS:-4}" device checks dry || rc=1
    device bench dry || rc=1
    echo "dry run: results in $OUT"
    exit $rc
    ;;
  *) echo "usage: $0 pack|plan|stage N|device checks|device bench|--dry-run" >&2; exit 2 ;;
esac
