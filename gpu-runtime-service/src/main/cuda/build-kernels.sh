#!/usr/bin/env bash
# Builds the cuda backend's kernels (kvmesh.cu) ahead of time into the resources the backend loads:
# kvmesh.fatbin (machine code for sm_80 and sm_90, and compute_80 PTX the driver compiles for newer chips) and
# kvmesh.ptx (the same PTX, readable), and kvmesh.nvcc-version (the compiler's build line: outputs are
# byte-for-byte reproducible with the same nvcc). JCuda's NVRTC binding needs CUDA 12 libraries these machines lack, so kernels
# are never compiled at run time. Usage: build-kernels.sh [OUTPUT_DIR] (default: the checked-in resources).
# CudaKernelsTest runs it into a temporary folder and fails when the checked-in files differ.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../resources/io/kvmesh/runtime/cuda}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
nvcc_bin="${NVCC:-nvcc}"
command -v "$nvcc_bin" >/dev/null || { echo "build-kernels.sh: nvcc not found (set NVCC or put CUDA's bin on PATH)" >&2; exit 3; }
cd "$here"  # relative source name: the outputs must not depend on where the checkout lives
"$nvcc_bin" -fatbin -O3 -std=c++17 \
    -gencode arch=compute_80,code=[compute_80,sm_80] -gencode arch=compute_90,code=sm_90 \
    kvmesh.cu -o "$out/kvmesh.fatbin"
"$nvcc_bin" -ptx -O3 -std=c++17 -arch=compute_80 kvmesh.cu -o "$out/kvmesh.ptx"
"$nvcc_bin" --version | tail -n 1 > "$out/kvmesh.nvcc-version"
