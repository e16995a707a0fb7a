#!/usr/bin/env bash
# Runs every test (make test). tools/build.sh first builds every tool but
# kops, the CPU-bound part. Then the tests run, end-to-end ones included, in
# one go test, while beside them kops builds (nice: the tests come first) and
# the packages that run real kops (those linking internal/testing/realkops)
# are tested once it is built: the end-to-end tests run one at a time and
# mostly wait, which leaves the second core to these.
# KOPSCALICO_E2E=1 throughout: a test wanting a missing tool fails. Beside
# the build, tools/align -check holds go.mod and tools/go.mod to the same
# versions (else the tests recompile what the tools compiled); a difference
# fails the run at the end, naming the fix.
# Usage: tools/test.sh [go test flags...]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export KOPSCALICO_E2E=1

tools/build.sh pulumi pulumi-resource-kubernetes etcd kube-apiserver kube-controller-manager kube-scheduler kwok actionlint & build=$!
align_out="$(mktemp)"; trap 'rm -f "$align_out"' EXIT
(cd tools && go run ./align -check) >"$align_out" 2>&1 & align=$!

realkops=github.com/kopscalico/kopscalico/internal/testing/realkops
# a dependency may be listed as its test variant, "path [pkg.test]"
list="$(go list -test -f '{{if .ForTest}}{{else}}{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{end}}' ./...)" || { wait "$build"; exit 1; }
declare -A needs_kops
while read -r pkg deps; do
  [[ "$pkg" == *.test && " ${pkg%.test} $deps " == *" $realkops "* ]] && needs_kops[${pkg%.test}]=1
done <<< "$list"
pkgs="$(go list ./...)" || { wait "$build"; exit 1; }
rest=() kops=()
for pkg in $pkgs; do
  if [[ -n "${needs_kops[$pkg]:-}" ]]; then kops+=("$pkg"); else rest+=("$pkg"); fi
done

wait "$build"; build_rc=$?
[[ $build_rc -eq 0 ]] || { echo "make test: tools/build.sh: rc=$build_rc; no test run" >&2; exit 1; }

# The real-kops wave, beside the others; its exit codes go to $kops_status.
kops_wave() {
  nice -n 10 tools/build.sh kops >&2; echo "kops_build_rc=$?"
  grep -q "kops_build_rc=0" "$kops_status" || return 0
  go test "$@" "${kops[@]}" >&2; echo "kops_rc=$?"
}
kops_status="$(mktemp)"; trap 'rm -f "$kops_status" "$align_out"' EXIT
kops_build_rc=skipped kops_rc=skipped
kops_wave "$@" >>"$kops_status" & kops_wave_pid=$!

go test "$@" "${rest[@]}"; rest_rc=$?
wait "$kops_wave_pid"
while IFS='=' read -r k v; do printf -v "$k" '%s' "$v"; done < "$kops_status"
wait "$align"; align_rc=$?
[[ $align_rc == 0 ]] || cat "$align_out" >&2
echo "make test: tools/build.sh: rc=$build_rc; tests: rc=$rest_rc; tools/build.sh kops: rc=$kops_build_rc;" \
  "tests with real kops: rc=$kops_rc; tools/align -check: rc=$align_rc" >&2
[[ $rest_rc == 0 && $kops_build_rc == 0 && $kops_rc == 0 && $align_rc == 0 ]]
