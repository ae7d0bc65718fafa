#!/usr/bin/env bash
# Regenerates the embedded PTX of the weight-pass kernels from src/OrtZo.Cuda/Kernels/zo_passes.cu.
#   tools/gpu/build_ptx.sh [clang|nvcc] [output.ptx]
# clang (default here): LLVM's NVPTX back end compiles the CUDA source without a CUDA install.
# nvcc (the GPU machine): the toolkit compiler, with -fmad=false so nothing is contracted into an FMA.
# Both target sm_80 (portable PTX, JIT-compiled forward by newer drivers; never sm_90a) and stamp the
# SHA-256 of the source into the first line, which the unit tests compare to catch a stale PTX.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source_file="$root/src/OrtZo.Cuda/Kernels/zo_passes.cu"
compiler="${1:-clang}"
output="${2:-$root/src/OrtZo.Cuda/Kernels/zo_passes.ptx}"
tmp="$(mktemp --suffix=.ptx)"
trap 'rm -f "$tmp"' EXIT
case "$compiler" in
  clang)
    cc="$(command -v clang-14 || command -v clang || true)"
    [ -n "$cc" ] || { echo "clang not found (apt-get install -y clang)" >&2; exit 2; }
    "$cc" -x cuda --cuda-device-only --cuda-gpu-arch=sm_80 -nocudainc -nocudalib \
      -ffp-contract=off -fno-fast-math -O3 -S -o "$tmp" "$source_file"
    version="$("$cc" --version | head -1)"
    ;;
  nvcc)
    command -v nvcc >/dev/null || { echo "nvcc not found (CUDA toolkit: /usr/local/cuda/bin)" >&2; exit 2; }
    nvcc -ptx -arch=compute_80 -fmad=false -prec-div=true -prec-sqrt=true -ftz=false -O3 -o "$tmp" "$source_file"
    version="$(nvcc --version | tail -1)"
    ;;
  *) echo "usage: $0 [clang|nvcc] [output.ptx]" >&2; exit 2 ;;
esac
sha="$(sha256sum "$source_file" | cut -d' ' -f1)"
{
  echo "// ortzo-source-sha256: $sha"
  echo "// ortzo-compiler: $compiler ($version)"
  cat "$tmp"
} > "$output"
echo "wrote $output ($compiler, source $sha)"
