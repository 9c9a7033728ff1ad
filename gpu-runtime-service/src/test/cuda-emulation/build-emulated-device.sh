#!/usr/bin/env bash
# Builds emulated_device.cpp (kvmesh.cu's kernels on the cpu emulation, launched through kvmesh_emu_launch) into
# target/cuda-emulation/libkvmesh_emulated_gpu.so, for the JVM's foreign-function API (EmulatedGpuDevice). Usable
# from any directory; rebuilds only when a source (or this script) is newer than the library. Prints the library's
# absolute path on its last line. Environment: CXX (default g++), KVMESH_CU (another file named kvmesh.cu: built into
# a library of its own, libkvmesh_emulated_gpu-<checksum of its path>.so).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/paths.sh"
if [[ -n "${KVMESH_CU:-}" ]]; then
    # Another source (a mutation test, say) gets its own library: it never replaces the one of the shipped source.
    library="$out/libkvmesh_emulated_gpu-$(printf '%s' "$source_dir/kvmesh.cu" | cksum | cut -d ' ' -f 1).so"
else
    library="$out/libkvmesh_emulated_gpu.so"
fi
mkdir -p "$out"

stale=false
if [[ ! -f "$library" ]]; then
    stale=true
fi
for input in "$here/emulated_device.cpp" "$here/cuda_emulation.h" "$here/cuda_fp16.h" "$source_dir/kvmesh.cu" \
        "$here/build-emulated-device.sh"; do
    if [[ "$input" -nt "$library" ]]; then
        stale=true
    fi
done

if [[ "$stale" == true ]]; then
    cxx="${CXX:-g++}"
    # -fno-extern-tls-init: dynamic shared memory is an extern thread_local (see cuda_emulation.h). Hidden
    # visibility: only kvmesh_emu_launch is exported, so nothing of the library can clash with its host's symbols.
    flags=(-std=c++17 -O2 -fPIC -shared -pthread -fno-extern-tls-init -fvisibility=hidden -fvisibility-inlines-hidden
        -Wall -Wno-unknown-pragmas -I"$here" -I"$source_dir")
    # Built beside the library and renamed over it: a process that has the old one loaded keeps its copy.
    partial="$(mktemp "$library.XXXXXX")"
    trap 'rm -f "$partial"' EXIT
    "$cxx" "${flags[@]}" -include cuda_emulation.h "$here/emulated_device.cpp" -o "$partial"
    chmod 755 "$partial"
    mv -f "$partial" "$library"
    trap - EXIT
    echo "built $library" >&2
fi
echo "$library"
