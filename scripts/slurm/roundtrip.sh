#!/usr/bin/env bash
# The Slurm round trip of CI: start a single-node cluster, run a sweep
# locally and as a job array, and require the two merged results to be
# identical, byte for byte. The cluster is stopped however this ends.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cohsim="$root/target/release/cohsim"
grid="$root/sweeps/example.toml"
work="$(mktemp -d /tmp/cohsim-roundtrip.XXXXXX)"
cluster="$work/cluster"
trap '"$here/stop.sh" "$cluster"' EXIT
eval "$("$here/start.sh" "$cluster")"
"$cohsim" sweep "$grid" --out "$work/local" --quiet --jobs 2
"$cohsim" sweep "$grid" --out "$work/slurm" --submit --wait --tasks 3
cmp "$work/local/results.csv" "$work/slurm/results.csv"
cmp "$work/local/results.json" "$work/slurm/results.json"
cells=$(($(wc -l < "$work/local/results.csv") - 1))
tasks=$(ls "$work/slurm/slurm/"*.out | wc -l)
echo "roundtrip: $cells cells, local and Slurm ($tasks array tasks) identical"
