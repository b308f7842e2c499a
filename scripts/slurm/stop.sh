#!/usr/bin/env bash
# Stops the cluster scripts/slurm/start.sh started in DIR (default
# /tmp/cohsim-slurm): slurmd, slurmctld, then munged, each by its pid file.
set -uo pipefail
dir="${1:-/tmp/cohsim-slurm}"
for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  kill "$pid" 2> /dev/null || continue
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2> /dev/null || true
done
exit 0
