#!/usr/bin/env bash
# Packs what the GPU machine (the `device` tool; bare: no JDK, no Maven, no network) needs to run the cuda tests and
# benchmark into .gpu-bundle/bundle.tar.xz at the repository root (git-ignored; carry it, 64 MiB at most): a jlinked
# JDK 25 runtime, the module's classes and test classes, the few jars they load (JCuda's natives cut to the driver
# binding: its NVRTC/PTX-compiler libraries are 24 MB and unused), the JUnit console launcher and the Llama-2 fixture.
# Then, on the device: bash gpu-runtime-service/src/test/device/gpu-check.sh (see there).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../../.." && pwd)"
cd "$root"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[ -x "$JAVA_HOME/bin/jlink" ] || { echo "make-bundle.sh: JDK 25 not found (set JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME
./mvnw -B -ntp -o -q -pl gpu-runtime-service -am install -DskipTests
./mvnw -B -ntp -o -q -pl gpu-runtime-service test-compile dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile="$root/gpu-runtime-service/target/test-classpath.txt"
./mvnw -B -ntp -o -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 \
    || ./mvnw -B -ntp -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4
repo="${M2_REPO:-$HOME/.m2/repository}"
stage="$root/.gpu-bundle/stage"
rm -rf "$root/.gpu-bundle" && mkdir -p "$stage/lib" "$stage/tmp"
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.xml,java.naming,java.sql,jdk.incubator.vector,jdk.unsupported \
    --strip-debug --no-header-files --no-man-pages --compress zip-9 --output "$stage/jre" 2>/dev/null
cp -r gpu-runtime-service/target/classes "$stage/classes"
cp -r gpu-runtime-service/target/test-classes "$stage/test-classes"
# What the cuda tests and the benchmark load (the engine, the model reader, hashing, logging, JCuda, AssertJ).
for jar in $(tr ':' '\n' < gpu-runtime-service/target/test-classpath.txt | grep -E \
    '/(model-format|prefix-index|fastutil-core|zero-allocation-hashing|jboss-logging|jcuda|assertj-core|byte-buddy|jtokkit)-[0-9]'); do
  cp "$jar" "$stage/lib/"
done
natives="$(tr ':' '\n' < gpu-runtime-service/target/test-classpath.txt | grep 'jcuda-natives' || true)"
[ -n "$natives" ] || natives="$repo/org/jcuda/jcuda-natives/12.6.0/jcuda-natives-12.6.0-linux-x86_64.jar"
rm -f "$stage/lib/$(basename "$natives")"
(cd "$stage/tmp" && unzip -q "$natives" 'lib/libJCudaDriver-*' && "$JAVA_HOME/bin/jar" --create --file "$stage/lib/jcuda-driver-natives.jar" lib && rm -rf lib)
cp "$repo/org/junit/platform/junit-platform-console-standalone/1.13.4/junit-platform-console-standalone-1.13.4.jar" "$stage/junit-console.jar"
cp ../shared/fixtures/llama-2-tiny-random.gguf "$stage/" 2>/dev/null || cp "$root/../shared/fixtures/llama-2-tiny-random.gguf" "$stage/"
tar -C "$stage" -cJf "$root/.gpu-bundle/bundle.tar.xz" .
rm -rf "$stage"
du -h "$root/.gpu-bundle/bundle.tar.xz"
