#!/usr/bin/env bash
# Starts a single-node Slurm cluster in DIR (default /tmp/cohsim-slurm): its own
# munge daemon and key, slurmctld and slurmd, configured from slurm.conf.in.
# Prints the line to export (SLURM_CONF) and waits until the node is idle.
# scripts/slurm/stop.sh DIR stops everything it started.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-/tmp/cohsim-slurm}"
for cmd in munged slurmctld slurmd sinfo sbatch; do
  command -v "$cmd" > /dev/null || { echo "start.sh: $cmd not found (apt-get install slurm-wlm munge)" >&2; exit 2; }
done
rm -rf "$dir"
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
# A fresh key for this cluster alone.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$dir/munge/munge.key"
sed -e "s|@HOST@|$(hostname)|g" -e "s|@CPUS@|$(nproc)|g" -e "s|@DIR@|$dir|g" \
    -e "s|@CTLD_PORT@|${COHSIM_SLURMCTLD_PORT:-6817}|" -e "s|@SLURMD_PORT@|${COHSIM_SLURMD_PORT:-6818}|" \
    "$here/slurm.conf.in" > "$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"
# munged refuses to run as root without --force.
/usr/sbin/munged --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
  if sinfo -h -o '%t' 2> /dev/null | grep -q idle; then
    echo "export SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 1
done
echo "start.sh: the node did not become idle in 60 s; logs in $dir" >&2
"$here/stop.sh" "$dir"
exit 1
