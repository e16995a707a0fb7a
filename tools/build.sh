#!/usr/bin/env bash
# Builds the pinned tools the end-to-end tests need into .tools/bin (repo root).
# Each tool is skipped when its stamp (.tools/stamps/<tool>) matches the tool's
# recipe (version, ldflags, go.sum hash, Go version), so a bump rebuilds it.
# Usage: tools/build.sh [tool...]   (default: all, in the order below)
# Needs only Go and the Go module proxy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
BIN="$ROOT/.tools/bin"
STAMPS="$ROOT/.tools/stamps"
mkdir -p "$BIN" "$STAMPS"

export GOFLAGS="-mod=mod ${GOFLAGS:-}"
# CGO is left at its default so compiled packages are shared with the test builds.
# Builds are sequential; -p bounds the compile parallelism on small machines.
PARALLEL="${TOOLS_BUILD_P:-$(nproc 2>/dev/null || echo 2)}"

PULUMI_VERSION=v3.274.1
K8S_PROVIDER_MODULE=v4.0.0-20260115033456-f47bc2d6f199  # github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PROVIDER_VERSION=4.32.0   # what the provider reports; = the program's pulumi-kubernetes sdk
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12
KOPS_VERSION=v1.36.2   # real kops: contract and differential tests of the kops layer

log() { printf '[tools] %s\n' "$*" >&2; }

# stamp_of <dir> <extra...>: what a built tool depends on.
stamp_of() {
  local dir="$1"; shift
  { go env GOVERSION; echo "$*"; cat "$dir/go.mod" "$dir/go.sum" 2>/dev/null; \
    find "$dir" -name '*.go' -print0 2>/dev/null | sort -z | xargs -0 cat 2>/dev/null; } | sha256sum | cut -d' ' -f1
}

# pinned <module dir> <module> <version>: fail when the tool module's go.mod
# does not pin the version this script names (bump both together).
pinned() {
  if ! grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2 $3([[:space:]]|\$)" "$1/go.mod"; then
    echo "tools/build.sh: $1/go.mod does not require $2 $3; update one of them (cd $1 && go get $2@$3 && go mod tidy)" >&2
    exit 1
  fi
}

# build_tool <name> <module dir> <recipe> <command...>
build_tool() {
  local name="$1" dir="$2" recipe="$3"; shift 3
  local stamp; stamp="$(stamp_of "$dir" "$recipe" "$*")"
  if [[ -x "$BIN/$name" && -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$stamp" ]]; then
    log "$name: up to date ($recipe)"
    return 0
  fi
  log "$name: building ($recipe)"
  local start=$SECONDS
  ( cd "$dir" && "$@" )
  echo "$stamp" > "$STAMPS/$name"
  log "$name: built in $((SECONDS - start))s, $(du -h "$BIN/$name" | cut -f1)"
}

# go_mod_dir <module dir> <module path>: where the pinned module sits in the module cache.
go_mod_dir() { (cd "$1" && go list -m -f '{{.Dir}}' "$2"); }

build_pulumi() {
  pinned "$TOOLS/pulumi" github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
  build_tool pulumi "$TOOLS/pulumi" "pulumi $PULUMI_VERSION" \
    go build -p "$PARALLEL" -o "$BIN/pulumi" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
}

build_k8s_provider() {
  local dir="$TOOLS/k8sprovider"
  pinned "$dir" github.com/pulumi/pulumi-kubernetes/provider/v4 "$K8S_PROVIDER_MODULE"
  build_tool pulumi-resource-kubernetes "$dir" "pulumi-resource-kubernetes $K8S_PROVIDER_VERSION" \
    bash -c '
      set -euo pipefail
      go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
      src="$(go list -m -f "{{.Dir}}" github.com/pulumi/pulumi-kubernetes/provider/v4)"
      go run gen.go "$src" "$0"
      go build -p "$1" -o "$2/pulumi-resource-kubernetes" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$0" .
    ' "$K8S_PROVIDER_VERSION" "$PARALLEL" "$BIN"
}

build_etcd() {
  pinned "$TOOLS/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  build_tool etcd "$TOOLS/etcd" "etcd $ETCD_VERSION" \
    go build -p "$PARALLEL" -o "$BIN/etcd" -ldflags "-s -w" .
}

build_kube() {
  local cmd="$1"
  local vp=k8s.io/component-base/version
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  pinned "$TOOLS/kube" k8s.io/kubernetes "$KUBE_VERSION"
  build_tool "$cmd" "$TOOLS/kube" "$cmd $KUBE_VERSION" \
    go build -p "$PARALLEL" -o "$BIN/$cmd" \
      -ldflags "-s -w -X $vp.gitVersion=$KUBE_VERSION -X $vp.gitMajor=1 -X $vp.gitMinor=$minor -X $vp.gitTreeState=clean -X $vp.buildDate=1970-01-01T00:00:00Z" \
      "k8s.io/kubernetes/cmd/$cmd"
}

build_kwok() {
  pinned "$TOOLS/kwok" sigs.k8s.io/kwok "$KWOK_VERSION"
  build_tool kwok "$TOOLS/kwok" "kwok $KWOK_VERSION" \
    go build -p "$PARALLEL" -o "$BIN/kwok" -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok
  # The stages that make kwok play the kubelet: nodes go Ready and keep their
  # lease, pods get IPs and run. Copied so tests need no module cache.
  local src share="$ROOT/.tools/share/kwok"
  src="$(go_mod_dir "$TOOLS/kwok" sigs.k8s.io/kwok)/kustomize/stage"
  rm -rf "$share" && mkdir -p "$share"
  cp -f "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "$src"/pod/fast/pod-*.yaml "$share"/
  chmod u+w "$share"/*.yaml
}

build_actionlint() {
  pinned "$TOOLS/actionlint" github.com/rhysd/actionlint "$ACTIONLINT_VERSION"
  build_tool actionlint "$TOOLS/actionlint" "actionlint $ACTIONLINT_VERSION" \
    go build -p "$PARALLEL" -o "$BIN/actionlint" \
      -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
      github.com/rhysd/actionlint/cmd/actionlint
}

build_kops() {
  pinned "$TOOLS/kops" k8s.io/kops "$KOPS_VERSION"
  local v="${KOPS_VERSION#v}"
  build_tool kops "$TOOLS/kops" "kops $KOPS_VERSION" \
    go build -p "$PARALLEL" -o "$BIN/kops" \
      -ldflags "-s -w -X k8s.io/kops.Version=$v -X k8s.io/kops.GitVersion=$KOPS_VERSION" \
      k8s.io/kops/cmd/kops
}

ALL=(pulumi pulumi-resource-kubernetes etcd kube-apiserver kube-controller-manager kube-scheduler kwok actionlint kops)
want=("$@"); [[ ${#want[@]} -gt 0 ]] || want=("${ALL[@]}")
total=$SECONDS
for t in "${want[@]}"; do
  case "$t" in
    pulumi) build_pulumi ;;
    pulumi-resource-kubernetes) build_k8s_provider ;;
    etcd) build_etcd ;;
    kube-apiserver|kube-controller-manager|kube-scheduler) build_kube "$t" ;;
    kwok) build_kwok ;;
    actionlint) build_actionlint ;;
    kops) build_kops ;;
    *) echo "unknown tool $t (known: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
log "all requested tools ready in $((SECONDS - total))s: $BIN"
