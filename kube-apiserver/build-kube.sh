#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager 1.20.2 from Debian bookworm's `kubernetes` source package,
# offline apart from apt, and caches the two binaries outside the repository:
#   ${KVMESH_CACHE:-$HOME/.cache/kvmesh}/k8s-1.20.2/{kube-apiserver,kube-controller-manager,.built}
# etcd and kubectl come from Debian packages (etcd-server, kubernetes-client when no kubectl is on PATH).
# Idempotent: when the cached binaries exist it only checks that etcd and kubectl are there and exits.
# Progress goes to stderr; on success the binary directory is printed on stdout.
set -euo pipefail

K8S_VERSION=1.20.2
DEB_VERSION=1.20.5+really1.20.2-1.1+deb12u1
CACHE=${KVMESH_CACHE:-$HOME/.cache/kvmesh}
OUT=$CACHE/k8s-$K8S_VERSION
STAMP=$OUT/.built
MIRROR=${KVMESH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
REFLECT2=/usr/share/gocode/src/github.com/modern-go/reflect2

say() { echo "build-kube: $*" >&2; }
fail() { echo "build-kube: FAILED: $*" >&2; exit 1; }

have_runtime_tools() { command -v etcd >/dev/null && command -v kubectl >/dev/null && command -v openssl >/dev/null; }

if [[ -f $STAMP && -x $OUT/kube-apiserver && -x $OUT/kube-controller-manager ]] && have_runtime_tools; then
  echo "$OUT"
  exit 0
fi

# Debian packages: the Go toolchain and reflect2 v1.0.2 for the build; etcd and kubectl to run the server.
missing=()
command -v go >/dev/null || missing+=(golang-go)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v openssl >/dev/null || missing+=(openssl)
command -v rsync >/dev/null || missing+=(rsync)
command -v jq >/dev/null || missing+=(jq)
command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
command -v make >/dev/null || missing+=(make)
[[ -f $REFLECT2/reflect2.go ]] || missing+=(golang-github-modern-go-reflect2-dev)
if (( ${#missing[@]} > 0 )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    log=$(mktemp)
    apt-get update -qq >"$log" 2>&1 || fail "apt-get update failed (no network to the Debian mirror?): $(tail -n 3 "$log" | tr '\n' ' ')"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 ||
      fail "apt-get install ${missing[*]} failed: $(tail -n 3 "$log" | tr '\n' ' ')"
    rm -f "$log"
  else
    fail "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]}, then this script again)"
  fi
fi

# One build at a time (two `./kvmesh test` at once); whoever waited finds the binaries built.
mkdir -p "$CACHE"
exec 9>"$CACHE/.k8s-$K8S_VERSION.lock"
if ! flock -n 9; then
  say "another build-kube.sh is building; waiting for it"
  flock 9
fi
[[ -f $STAMP && -x $OUT/kube-apiserver && -x $OUT/kube-controller-manager ]] && { echo "$OUT"; exit 0; }
# A build killed before its clean-up left its tree (about 2 GB): nobody else holds the lock, so it is stale.
rm -rf "$CACHE"/k8s-build.*

started=$(date +%s)
WORK=$(mktemp -d "$CACHE/k8s-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# The source package through a private apt state: /etc/apt and the system's package lists are left alone.
say "downloading the Debian source package kubernetes=$DEB_VERSION"
mkdir -p "$WORK/apt/parts" "$WORK/apt/lists/partial" "$WORK/apt/cache/archives/partial" "$WORK/src"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$WORK/apt/parts/kvmesh-src.sources" <<SOURCES
Types: deb-src
URIs: $MIRROR
Suites: bookworm
Components: main
$( [[ -f $keyring ]] && echo "Signed-By: $keyring" )
SOURCES
apt_private=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$WORK/apt/parts"
  -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache" -o Debug::NoLocking=1)
apt-get "${apt_private[@]}" -qq update >/dev/null 2>"$WORK/apt.log" ||
  fail "apt-get update of the private deb-src list failed: $(tail -n 3 "$WORK/apt.log" | tr '\n' ' ')"
(cd "$WORK/src" && apt-get "${apt_private[@]}" -qq source --download-only "kubernetes=$DEB_VERSION" \
  >/dev/null 2>"$WORK/apt.log") ||
  fail "apt-get source kubernetes=$DEB_VERSION failed: $(tail -n 3 "$WORK/apt.log" | tr '\n' ' ')"
say "unpacking (dpkg-source applies Debian's patches)"
(cd "$WORK/src" && dpkg-source -q -x ./*.dsc tree >/dev/null 2>"$WORK/dpkg-source.log") ||
  fail "dpkg-source -x failed: $(tail -n 3 "$WORK/dpkg-source.log" | tr '\n' ' ')"
TREE=$WORK/src/tree

# The vendored reflect2 v1.0.1 crashes under Go >= 1.18 ("fatal error: fault" in mapiternext on the first
# custom-resource create); Debian's v1.0.2 has the same API and works.
say "replacing vendor/github.com/modern-go/reflect2 with Debian's v1.0.2"
VENDOR=$TREE/vendor/github.com/modern-go/reflect2
[[ -d $VENDOR ]] || fail "the source tree has no $VENDOR"
rm -f "$VENDOR"/*.go "$VENDOR"/*.s
find "$REFLECT2" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' -exec cp {} "$VENDOR"/ \;

say "compiling kube-apiserver and kube-controller-manager with $(go version | cut -d' ' -f3) (several minutes on 2 cores)"
export GOPROXY=off CGO_ENABLED=0 GOFLAGS= GOCACHE=$WORK/gocache GOPATH=$WORK/gopath
(cd "$TREE" && make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$WORK/make.log" 2>&1) ||
  fail "make failed: $(tail -n 5 "$WORK/make.log" | tr '\n' ' ')"
BIN=$TREE/_output/bin
[[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]] || BIN=$TREE/_output/local/bin/linux/amd64
[[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]] || fail "make produced no binaries in $TREE/_output"

mkdir -p "$OUT"
cp "$BIN/kube-apiserver" "$BIN/kube-controller-manager" "$OUT/"
"$OUT/kube-apiserver" --version >/dev/null || fail "the built kube-apiserver does not run"
echo "kubernetes $K8S_VERSION from Debian source $DEB_VERSION, reflect2 $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev), $(go version | cut -d' ' -f3), built $(date -u +%FT%TZ)" > "$STAMP"
say "done in $(( $(date +%s) - started )) s: $OUT (build tree removed)"
echo "$OUT"
