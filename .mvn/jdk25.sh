# Selects a JDK 25 (or newer) for kvmesh builds; sourced by ./mvnw and ./kvmesh (POSIX sh).
# The machine's default java may be older, so a JAVA_HOME that is too old is replaced, not trusted.
# Order: KVMESH_JAVA_HOME, JAVA_HOME, the usual JDK folders, then `java` on PATH.

kvmesh_java_major() {
  # Prints the feature version of the JDK at $1 (e.g. 25), or nothing when $1 is not a JDK.
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -r "$1/release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release"
  else
    "$1/bin/java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p'
  fi
}

kvmesh_select_jdk25() {
  # ./mvnw runs with `set -f`; the search needs globbing.
  case $- in *f*) kvmesh_noglob=1; set +f ;; *) kvmesh_noglob=0 ;; esac
  for kvmesh_candidate in ${KVMESH_JAVA_HOME-} ${JAVA_HOME-} \
      /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home \
      "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    kvmesh_major=$(kvmesh_java_major "$kvmesh_candidate")
    if [ -n "$kvmesh_major" ] && [ "$kvmesh_major" -ge 25 ]; then
      JAVA_HOME=$kvmesh_candidate
      export JAVA_HOME
      [ "$kvmesh_noglob" = 0 ] || set -f
      return 0
    fi
  done
  [ "$kvmesh_noglob" = 0 ] || set -f
  echo "kvmesh needs a JDK 25 or newer and found none (looked at KVMESH_JAVA_HOME, JAVA_HOME, /usr/lib/jvm, /opt, ~/.sdkman and java on PATH): install Temurin 25 and set JAVA_HOME to it." >&2
  return 1
}
