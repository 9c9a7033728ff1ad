#!/usr/bin/env bash
# Compiles kvmesh.cu as plain C++ against cuda_emulation.h and runs every kernel on emulated threads against naive
# references (kernels_check.cpp); then builds the library the JVM launches the kernels through
# (build-emulated-device.sh) and checks it against direct launches (emulated_device_check.cpp). Usable from any
# directory; arguments are passed to the check program.
# Environment: CXX (default g++), EMU_WORKERS (os threads running blocks; default the cpu count), EMU_ORDER
# (random|forward|reverse: the order a block's threads run between barriers), KVMESH_CU (another file named kvmesh.cu to check).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/paths.sh"
mkdir -p "$out"

cxx="${CXX:-g++}"
# -fno-extern-tls-init: dynamic shared memory is an extern thread_local (see cuda_emulation.h).
flags=(-std=c++17 -O1 -pthread -fno-extern-tls-init -Wall -Wno-unknown-pragmas -I"$here")

# The kernel source on its own, as its own translation unit.
"$cxx" "${flags[@]}" -include cuda_emulation.h -x c++ -c "$source_file" -o "$out/kvmesh.o"
# The checks #include "kvmesh.cu" (found through -I), so every launch is type-checked against the kernel.
"$cxx" "${flags[@]}" -I"$source_dir" "$here/kernels_check.cpp" -o "$out/kernels_check"
"$cxx" "${flags[@]}" -I"$source_dir" "$here/emulated_device_check.cpp" -o "$out/emulated_device_check" -ldl
library="$("$here/build-emulated-device.sh" | tail -n 1)"

# The kernels the library must know: every extern "C" __global__ function of kvmesh.cu, the attention entry points
# (attention_decode_##HEAD_DIM, ...) once per ATTENTION_ENTRY_POINTS(lane_dims, head_dim) expansion.
kernels=()
head_dims=($(grep -oE '^ATTENTION_ENTRY_POINTS\([0-9]+, *[0-9]+\)' "$source_file" | sed -E 's/.*, *([0-9]+)\)/\1/'))
for name in $(grep -oE 'extern "C" __global__ void [A-Za-z0-9_#]+' "$source_file" | awk '{print $5}'); do
    if [[ "$name" == *'##HEAD_DIM' ]]; then
        for head_dim in "${head_dims[@]}"; do
            kernels+=("${name%'##HEAD_DIM'}$head_dim")
        done
    else
        kernels+=("$name")  # a name still holding ## fails the check: this script must learn the new macro
    fi
done

status=0
"$out/kernels_check" "$@" || status=$?
"$out/emulated_device_check" "$library" "${kernels[@]}" || status=$?
exit "$status"
