#!/usr/bin/env bash
# Measures `reachability diff -o markdown BASE HEAD` of this checkout beside
# the same command at another commit (default d09c437, the review before the
# class model), on the same generated trees, with /usr/bin/time under a
# memory cap and a time limit.
#   internal/reachability/reachtest/sidebyside.sh [REV] [SIZES...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
REV="${1:-d09c437}"; shift || true
SIZES=("${@:-25 100 400 1000}")
CAP_KB=$((6 * 1024 * 1024))   # 6 GiB of address space
LIMIT=120                     # seconds
WORK="$(mktemp -d)"
trap 'git -C "$ROOT" worktree remove --force "$WORK/old" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

git -C "$ROOT" worktree add --detach "$WORK/old" "$REV" >/dev/null 2>&1
(cd "$WORK/old" && go build -o "$WORK/reach-old" ./cmd/reachability)
(cd "$ROOT" && go build -o "$WORK/reach-new" ./cmd/reachability)

measure() { # binary dir -> "wall s, peak MB" or why it stopped
  local out rc
  out=$( ( ulimit -v "$CAP_KB"; /usr/bin/time -f '%e %M' timeout "$LIMIT" "$1" diff --demo ns-000 -o markdown "$2/base" "$2/head" >/dev/null 2>"$WORK/err" ); tail -1 "$WORK/err") || true
  rc=$(grep -c 'Command exited with non-zero status' "$WORK/err" || true)
  if grep -q 'status 124' "$WORK/err"; then echo "over ${LIMIT} s"; return; fi
  if [[ "$rc" != 0 ]]; then echo "failed: $(grep -v 'Command exited' "$WORK/err" | head -1 | cut -c1-60)"; return; fi
  awk '{printf "%.2f s, %d MB", $1, $2/1024}' <<<"$out"
}

echo "| policies | $REV | $(git -C "$ROOT" rev-parse --short HEAD) |"
echo "|---|---|---|"
for n in ${SIZES[@]}; do
  (cd "$ROOT" && go run ./internal/reachability/reachtest/gentree -policies "$n" -namespaces $(( n < 100 ? n : 100 )) "$WORK/t$n")
  echo "| $n | $(measure "$WORK/reach-old" "$WORK/t$n") | $(measure "$WORK/reach-new" "$WORK/t$n") |"
done
