#!/usr/bin/env bash
# Builds the real control plane's binaries from the Go module proxy: the unmodified upstream
# kube-apiserver and kube-controller-manager (module k8s.io/kubernetes, go/kube/go.mod) and etcd
# (module go.etcd.io/etcd/server/v3, go/etcd/go.mod, kept apart so the two graphs never merge).
#
#   bash tests/realstack/build.sh      # prints the bin folder; builds only when the pins changed
#
# The binaries go to a folder outside the repository named after the pins (a hash of both go.mod and
# go.sum files), so they are rebuilt only when a pin changes. Build figures (wall time, peak RSS) are
# written beside them in build-figures.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kube_version="v1.36.3"   # keep equal to the k8s.io/kubernetes require in go/kube/go.mod

pins="$(cat "$here"/go/kube/go.mod "$here"/go/kube/go.sum "$here"/go/etcd/go.mod "$here"/go/etcd/go.sum \
        "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
cache="${FLINK_REALSTACK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/airflow-provider-flink/realstack}"
bin="$cache/k8s-$kube_version-$pins/bin"
if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/etcd" ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: the real control plane needs Go (1.26 or newer) on PATH" >&2; exit 1; }
mkdir -p "$bin.partial"
figures="$bin.partial/build-figures.txt"
: > "$figures"

timed() {  # $1: label, rest: command; appends wall seconds and peak RSS to the figures file
  local label="$1" log="$bin.partial/$1.time"
  shift
  /usr/bin/time -f "%e %M" -o "$log" "$@"
  read -r wall rss_kb < "$log"
  echo "$label wall_s=$wall peak_rss_mb=$((rss_kb / 1024))" | tee -a "$figures" >&2
}

minor="${kube_version#v1.}"
minor="${minor%%.*}"
ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=$kube_version \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"

export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
echo "build.sh: building etcd, kube-apiserver and kube-controller-manager $kube_version into $bin" >&2
(cd "$here/go/etcd" && timed download-etcd go mod download)
(cd "$here/go/etcd" && timed build-etcd go build -trimpath -ldflags "-s -w" -o "$bin.partial/etcd" go.etcd.io/etcd/server/v3)
(cd "$here/go/kube" && timed download-kube go mod download)
(cd "$here/go/kube" && timed build-kube-apiserver go build -trimpath -ldflags "$ldflags" \
   -o "$bin.partial/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
(cd "$here/go/kube" && timed build-kube-controller-manager go build -trimpath -ldflags "$ldflags" \
   -o "$bin.partial/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager)
rm -rf "$bin"
mv "$bin.partial" "$bin"
# Builds of earlier pins are of no further use (about 230 MB each).
for old in "$cache"/k8s-*; do
  [ "$old" = "$(dirname "$bin")" ] || rm -rf "$old"
done
echo "$bin"
