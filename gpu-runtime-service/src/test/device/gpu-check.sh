#!/usr/bin/env bash
# Runs on the GPU machine (the `device` tool), from the repository root, with .gpu-bundle carried (make-bundle.sh):
# the cuda tests through the JUnit console (reports under $OUT/reports), then `bench engine --backend cuda` on a
# generated model (preset ${PRESET:-small}, Q8_0). Everything it prints is also in $OUT/gpu-check.log.
set -uo pipefail
out="${OUT:-/tmp/kvmesh-gpu-out}"
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
root="$(pwd)"
work=/tmp/kvmesh-gpu
rm -rf "$work" && mkdir -p "$work/tmp"
tar -C "$work" -xJf .gpu-bundle/bundle.tar.xz
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv || true
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
java=("$work/jre/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
      --add-modules jdk.incubator.vector -Djava.io.tmpdir="$work/tmp")
classpath="$work/classes:$work/test-classes:$(ls "$work"/lib/*.jar | tr '\n' ':')"
echo "== cuda tests"
# From the module folder: CudaKernelsTest reads src/main/cuda (and rebuilds it where nvcc matches the shipped one).
(cd "$root/gpu-runtime-service" && timeout "${TEST_SECONDS:-240}" "${java[@]}" -Dkvmesh.fixture="$work/llama-2-tiny-random.gguf" \
    -jar "$work/junit-console.jar" execute --class-path "$classpath" --select-package io.kvmesh.runtime.cuda \
    --select-class io.kvmesh.runtime.app.BackendChoiceTest --exclude-classname ".*Emulat.*" --reports-dir "$out/reports" --details=tree --disable-banner --disable-ansi-colors)
echo "tests exit status: $?"
echo "== bench engine --backend cuda"
(cd "$work" && timeout "${BENCH_SECONDS:-240}" "${java[@]}" -Dio.kvmesh.root="$work" -cp "$classpath" \
    io.kvmesh.runtime.bench.EngineBenchmark --backend cuda --preset "${PRESET:-small}" --type Q8_0 ${BENCH_ARGS:-})
echo "bench exit status: $?"
cp "$work"/bench-results/engine-cuda.csv "$out/" 2>/dev/null || true
