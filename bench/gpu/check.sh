#!/usr/bin/env bash
# Staged GPU check of the CUDA weight-pass kernels against the scalar C# oracle (docs/gpu.md).
#   bench/gpu/check.sh plan     print the four `device run` calls (default)
#   bench/gpu/check.sh build    (retired: the 1.29 binding-source build; see docs/gpu.md)
#   bench/gpu/check.sh device   on the GPU machine, after staging: run the checks, write results under $OUT
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

case "${1:-plan}" in
  build)
    # The GPU app was built against ORT 1.29's C# binding sources; that route was removed with the engine
    # redesign. The CUDA backend issue builds it on ONNX Runtime 1.32's official GPU package instead.
    echo "the ORT 1.29 source route is gone; the GPU build on Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32 replaces it (docs/gpu.md)" >&2
    exit 2
    ;;
  device)
    : "${OUT:?OUT must name the folder whose files come back}"
    test -f /opt/ortgpu/env.sh || { echo "not staged: run the three stage.sh commands first" >&2; exit 3; }
    . /opt/ortgpu/env.sh
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
    status=0
    # (a) the embedded (clang-built) PTX against the oracle
    dotnet .gpu/app/OrtZo.Cli.dll gpu-check --out "$OUT/gpu-check-embedded.json" > "$OUT/gpu-check-embedded.txt" 2>&1 || status=1
    # (b) the PTX regenerated with nvcc (-fmad=false), then the same check with it
    export PATH="$PATH:/usr/local/cuda/bin"
    if bash tools/gpu/build_ptx.sh nvcc "$OUT/zo_passes.nvcc.ptx" > "$OUT/nvcc.txt" 2>&1; then
      dotnet .gpu/app/OrtZo.Cli.dll gpu-check --ptx "$OUT/zo_passes.nvcc.ptx" --out "$OUT/gpu-check-nvcc.json" > "$OUT/gpu-check-nvcc.txt" 2>&1 || status=1
    else
      status=1
    fi
    tail -n 5 "$OUT"/gpu-check-*.txt "$OUT/nvcc.txt" || true
    exit $status
    ;;
  plan)
    cat <<'PLAN'
# 1. here, once per change (and bash ../shared/gpu/prepare.sh once per machine):
bench/gpu/check.sh build
# 2. the device runs, back to back (no pause over 25 s between them), with `run`:
run carry=[".gpu/p1"]               command="bash .gpu/p1/stage.sh"
run carry=[".gpu/p2"]               command="bash .gpu/p2/stage.sh"
run carry=[".gpu/p3"]               command="bash .gpu/p3/stage.sh"
run carry=[".gpu/p4", ".gpu/app"]   command="bash .gpu/p4/stage.sh && bash bench/gpu/check.sh device"  timeout_s=600
# 3. while the machine is still warm, a re-run needs only:
run carry=[".gpu/app"]              command="bash bench/gpu/check.sh device"
# Results come back under files_at: gpu-check-{embedded,nvcc}.{json,txt}, zo_passes.nvcc.ptx, nvcc.txt, nvidia-smi.csv.
# If the nvcc PTX passes, it may replace the embedded one: copy it to src/OrtZo.Cuda/Kernels/zo_passes.ptx
# (its first line carries the source hash the unit tests check).
PLAN
    ;;
  *) echo "usage: $0 [plan|build|device]" >&2; exit 2 ;;
esac
