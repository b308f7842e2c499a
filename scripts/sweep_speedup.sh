#!/usr/bin/env bash
# The local sweep's speed-up: a grid of equal cells (one generated trace,
# replayed under the same settings by every cell; only the unused seed
# differs; --no-classify keeps each cell on one thread) run with --jobs 1 and with --jobs N (default: the host's cores).
# Prints the wall time of each and the ratio. Usage: scripts/sweep_speedup.sh [CELLS] [OPS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cohsim="$root/target/release/cohsim"
cells="${1:-8}"
ops="${2:-150000}"
jobs="$(nproc)"
work="$(mktemp -d /tmp/cohsim-speedup.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# The compact binary format: a CSV replay decodes on a second thread, which
# would let one cell use more than one core.
"$cohsim" gen uniform-random --cores 4 --ops "$ops" --seed 1 --format bin -o "$work/t.bin" > /dev/null 2>&1
seeds="$(seq -s, 1 "$cells")"
cat > "$work/grid.toml" << GRID
[sweep]
command = "run"
inputs = ["t.bin"]
out = "out"
metrics = ["cycles"]
# One thread per cell: a replay that classifies misses also runs decoder threads.
args = ["--no-classify"]
[axes]
seed = [${seeds}]
GRID
wall() {
  local start end
  start=$(date +%s.%N)
  "$cohsim" sweep "$work/grid.toml" --quiet --jobs "$1" --out "$work/out$1" 2> /dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
one=$(wall 1)
many=$(wall "$jobs")
cmp "$work/out1/results.csv" "$work/out$jobs/results.csv"
printf 'sweep of %d equal cells (%d records each): --jobs 1 %.2f s, --jobs %d %.2f s, speed-up %.2fx (results identical)\n' \
  "$cells" "$((ops * 4))" "$one" "$jobs" "$many" "$(awk -v a="$one" -v b="$many" 'BEGIN { print a / b }')"
