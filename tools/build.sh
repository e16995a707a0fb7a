#!/usr/bin/env bash
# Builds the pinned tools the end-to-end tests need into .tools/bin (repo root).
# Each tool is skipped when its stamp (.tools/stamps/<tool>) matches the tool's
# recipe (version, flags, go.sum hash, Go version), so a bump rebuilds it.
# The stale tools' modules are fetched all at once in the background. Tools
# from one module build one after another as one job, and the jobs run
# TOOLS_BUILD_JOBS at a time (default 2), longest first; each build's output
# goes to .tools/logs/<unit>.log, shown when it fails.
# Usage: tools/build.sh [tool...]   (default: all)
# Needs only Go and the Go module proxy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
BIN="$ROOT/.tools/bin"
STAMPS="$ROOT/.tools/stamps"
LOGS="$ROOT/.tools/logs"
mkdir -p "$BIN" "$STAMPS" "$LOGS"

export GOFLAGS="-mod=mod ${GOFLAGS:-}"
# CGO and the compile flags are left at their defaults so compiled packages
# (the standard library, grpc, the pulumi SDK) are shared with the test builds.
PARALLEL="${TOOLS_BUILD_P:-$(nproc 2>/dev/null || echo 2)}"
JOBS="${TOOLS_BUILD_JOBS:-2}"

PULUMI_VERSION=v3.274.1
K8S_PROVIDER_MODULE=v4.0.0-20260115033456-f47bc2d6f199  # github.com/pulumi/pulumi-kubernetes/provider/v4
K8S_PROVIDER_VERSION=4.32.0   # what the provider reports; = the program's pulumi-kubernetes sdk
KUBE_VERSION=v1.36.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
ACTIONLINT_VERSION=v1.7.12
KOPS_VERSION=v1.36.2   # real kops: contract and differential tests of the kops layer

log() { printf '[tools] %s\n' "$*" >&2; }

# stamp_of <dir> <extra...>: what a built tool depends on (the module in dir,
# nested modules left out).
stamp_of() {
  local dir="$1"; shift
  { go env GOVERSION; echo "$*"; cat "$dir/go.mod" "$dir/go.sum" 2>/dev/null; \
    find "$dir" -mindepth 1 -type d -exec test -e '{}/go.mod' ';' -prune -o -name '*.go' -print0 2>/dev/null \
      | sort -z | xargs -0 cat 2>/dev/null; } | sha256sum | cut -d' ' -f1
}

# pinned <module dir> <module> <version>: fail when the tool module's go.mod
# does not pin the version this script names (bump both together).
pinned() {
  if ! grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2 $3([[:space:]]|\$)" "$1/go.mod"; then
    echo "tools/build.sh: $1/go.mod does not require $2 $3; update one of them (cd $1 && go get $2@$3 && go mod tidy)" >&2
    exit 1
  fi
}

# go_mod_dir <module dir> <module path>: where the pinned module sits in the module cache.
go_mod_dir() { (cd "$1" && go list -m -f '{{.Dir}}' "$2"); }

# Each recipe_<unit> sets DIR (the tool module), RECIPE (for the log), OUTS
# (the binaries it writes into $BIN) and CMD (run in DIR); post_<unit>, when
# defined, runs after CMD.
# pulumi and the control plane come from one module, tools/ (tools.go): the
# packages they share compile once, and tools/align keeps its
# versions equal to the root module's, so the test builds reuse them too. Each
# is its own go build, so make up builds pulumi alone.
recipe_pulumi() {
  DIR="$TOOLS"; pinned "$DIR" github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
  RECIPE="pulumi $PULUMI_VERSION"; OUTS=(pulumi)
  CMD=(go build -p "$PARALLEL" -o "$BIN/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

recipe_k8sprovider() {
  DIR="$TOOLS/k8sprovider"; pinned "$DIR" github.com/pulumi/pulumi-kubernetes/provider/v4 "$K8S_PROVIDER_MODULE"
  RECIPE="pulumi-resource-kubernetes $K8S_PROVIDER_VERSION"; OUTS=(pulumi-resource-kubernetes)
  CMD=(bash -c '
      set -euo pipefail
      go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
      src="$(go list -m -f "{{.Dir}}" github.com/pulumi/pulumi-kubernetes/provider/v4)"
      go run gen.go "$src" "$0"
      go build -p "$1" -o "$2/pulumi-resource-kubernetes" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$0" .
    ' "$K8S_PROVIDER_VERSION" "$PARALLEL" "$BIN")
}

# The control plane e2e/controlplane starts, in one go build: the links run in
# parallel.
recipe_controlplane() {
  local vp=k8s.io/component-base/version
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  DIR="$TOOLS"
  pinned "$DIR" k8s.io/kubernetes "$KUBE_VERSION"
  pinned "$DIR" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  pinned "$DIR" sigs.k8s.io/kwok "$KWOK_VERSION"
  RECIPE="kube-* $KUBE_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION"
  OUTS=(kube-apiserver kube-controller-manager kube-scheduler kwok etcd)
  CMD=(go build -p "$PARALLEL" -o "$BIN/" \
    -ldflags "-s -w -X $vp.gitVersion=$KUBE_VERSION -X $vp.gitMajor=1 -X $vp.gitMinor=$minor -X $vp.gitTreeState=clean -X $vp.buildDate=1970-01-01T00:00:00Z" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    sigs.k8s.io/kwok/cmd/kwok ./etcd)
}

# The stages that make kwok play the kubelet: nodes go Ready and keep their
# lease, pods get IPs and run. Copied so tests need no module cache.
post_controlplane() {
  local src share="$ROOT/.tools/share/kwok"
  src="$(go_mod_dir "$TOOLS" sigs.k8s.io/kwok)/kustomize/stage"
  rm -rf "$share" && mkdir -p "$share"
  cp -f "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    "$src"/pod/fast/pod-*.yaml "$share"/
  chmod u+w "$share"/*.yaml
}

recipe_actionlint() {
  # its own module: actionlint 1.7.12 does not compile with the yaml the
  # control plane's graph selects.
  DIR="$TOOLS/actionlint"; pinned "$DIR" github.com/rhysd/actionlint "$ACTIONLINT_VERSION"
  RECIPE="actionlint $ACTIONLINT_VERSION"; OUTS=(actionlint)
  CMD=(go build -p "$PARALLEL" -o "$BIN/actionlint" \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
    github.com/rhysd/actionlint/cmd/actionlint)
}

recipe_kops() {
  # its own module: kops 1.36.2 fails to start with pulumi's OpenTelemetry
  # ("conflicting Schema URL"), so it keeps the versions it was released with.
  DIR="$TOOLS/kops"; pinned "$DIR" k8s.io/kops "$KOPS_VERSION"
  local v="${KOPS_VERSION#v}"
  RECIPE="kops $KOPS_VERSION"; OUTS=(kops)
  CMD=(go build -p "$PARALLEL" -o "$BIN/kops" \
    -ldflags "-s -w -X k8s.io/kops.Version=$v -X k8s.io/kops.GitVersion=$KOPS_VERSION" \
    k8s.io/kops/cmd/kops)
}

# fresh <unit>: every binary of the unit is built with its current stamp.
fresh() {
  local stamp o; stamp="$(stamp_of "$DIR" "$RECIPE" "${CMD[*]}")"
  for o in "${OUTS[@]}"; do
    [[ -x "$BIN/$o" && -f "$STAMPS/$o" && "$(cat "$STAMPS/$o")" == "$stamp" ]] || return 1
  done
}

# build <unit> (in a subshell of its own: set -e ends it at the first
# failure): runs the unit's recipe into its log, then stamps its binaries;
# writes "<wall> <user> <sys>" seconds to the unit's .time file.
build() {
  local unit="$1" stamp o
  "recipe_$1"
  stamp="$(stamp_of "$DIR" "$RECIPE" "${CMD[*]}")"
  rm -f "${OUTS[@]/#/$STAMPS/}"
  cd "$DIR"
  TIMEFORMAT='%0R %0U %0S'
  { time {
      "${CMD[@]}"
      if declare -F "post_$unit" >/dev/null; then "post_$unit"; fi
    } >"$LOGS/$unit.log" 2>&1; } 2>"$LOGS/$unit.time"
  for o in "${OUTS[@]}"; do echo "$stamp" > "$STAMPS/$o"; done
}

# Units in cold-build order, longest first (cold CPU seconds, measured on a
# fresh clone: k8sprovider 1,511; pulumi 798, then controlplane 1,109; kops 896).
UNITS=(k8sprovider pulumi controlplane actionlint kops)
ALL=(pulumi pulumi-resource-kubernetes etcd kube-apiserver kube-controller-manager kube-scheduler kwok actionlint kops)
unit_of() {
  case "$1" in
    pulumi) echo pulumi ;;
    pulumi-resource-kubernetes) echo k8sprovider ;;
    etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok) echo controlplane ;;
    actionlint) echo actionlint ;;
    kops) echo kops ;;
    *) echo "unknown tool $1 (known: ${ALL[*]})" >&2; return 2 ;;
  esac
}

want=" "
for t in "${@:-${ALL[@]}}"; do u="$(unit_of "$t")" || exit 2; want+="$u "; done
stale=()
for u in "${UNITS[@]}"; do
  [[ "$want" == *" $u "* ]] || continue
  "recipe_$u"
  if fresh; then log "${OUTS[*]}: up to date ($RECIPE)"; else stale+=("$u"); fi
done
[[ ${#stale[@]} -gt 0 ]] || exit 0

# Jobs run in their own process groups (set -m) so that a failure or an
# interrupt stops whole builds, go and its compilers included.
set -m
pids=()
stop_all() { local p; for p in "${pids[@]}"; do kill -- -"$p" 2>/dev/null || true; done; }
trap stop_all EXIT
trap 'exit 130' INT TERM

# Units from one module make one job, built one after another: each reuses
# what the one before compiled instead of compiling it at the same time.
declare -A job_of=()
jobs=()
for u in "${stale[@]}"; do
  "recipe_$u"
  if [[ -n "${job_of[$DIR]:-}" ]]; then jobs[${job_of[$DIR]}]+=" $u"; else job_of[$DIR]=${#jobs[@]}; jobs+=("$u"); fi
done

# run_job <unit...>: builds the units in order, logging each; stops at the
# first failure, showing its log.
run_job() {
  local u start user sys
  for u in "$@"; do
    "recipe_$u"; log "${OUTS[*]}: building ($RECIPE)"; start=$SECONDS
    # in the background and waited for: in an if, set -e would not stop a
    # failing build
    build "$u" &
    if ! wait $!; then
      log "${OUTS[*]}: FAILED ($LOGS/$u.log):"; cat "$LOGS/$u.log" >&2
      return 1
    fi
    read -r _ user sys < "$LOGS/$u.time"
    log "${OUTS[*]}: built in $((SECONDS - start))s (cpu ${user}s user ${sys}s sys), $(cd "$BIN" && du -ch "${OUTS[@]}" | tail -1 | cut -f1)"
  done
}

total=$SECONDS
for d in "${!job_of[@]}"; do
  ( cd "$d" && go mod download ) >"$LOGS/$(basename "$d").download.log" 2>&1 &
  pids+=($!)
done

running=()   # pids of the jobs under way
queue=("${jobs[@]}")
while [[ ${#queue[@]} -gt 0 || ${#running[@]} -gt 0 ]]; do
  while [[ ${#queue[@]} -gt 0 && ${#running[@]} -lt $JOBS ]]; do
    # shellcheck disable=SC2086 # a job is a list of unit names
    run_job ${queue[0]} &
    pids+=($!); running+=($!); queue=("${queue[@]:1}")
  done
  still=()
  for p in "${running[@]}"; do
    if kill -0 "$p" 2>/dev/null; then still+=("$p"); continue; fi
    wait "$p" || exit 1   # the EXIT trap stops the other builds
  done
  running=("${still[@]}")
  [[ ${#running[@]} -eq 0 ]] || sleep 1
done
log "all requested tools ready in $((SECONDS - total))s: $BIN"
