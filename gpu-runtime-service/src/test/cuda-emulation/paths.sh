# Sourced by run.sh and build-emulated-device.sh (after they set $here to this directory): the module, the kernel
# source checked (KVMESH_CU or the shipped kvmesh.cu), its directory, and where builds go.
module="$(cd "$here/../../.." && pwd)"
source_file="${KVMESH_CU:-$module/src/main/cuda/kvmesh.cu}"
source_dir="$(cd "$(dirname "$source_file")" && pwd)"
out="$module/target/cuda-emulation"
