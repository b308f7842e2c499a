#!/usr/bin/env bash
# Replay speed and peak memory on blackscholes (4 cores, 4 KiB 2-way 32 B lines),
# MESI and MOESI, from uncompressed text, gzip and the binary format, against the
# bare loop of ../shared/bench (no coherence, no timing: the floor).
# Prints input records per second (every line of the text trace, compute lines
# included, as the bare loop counts them), peak RSS, and the ratio to the bare loop;
# best of 5 runs (a shared machine is noisy).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
trace=$shared/traces/parsec/blackscholes/blackscholes
if [ ! -e "${trace}_0.data.gz" ]; then
  echo "skipping: $shared/traces not found" >&2
  exit 0
fi
cargo build --release --quiet
work=target/bench
mkdir -p "$work"
gcc -O2 -o "$work/limit" "$shared/bench/limit.c"
for i in 0 1 2 3; do
  [ -s "$work/b_$i.data" ] || zcat "${trace}_$i.data.gz" > "$work/b_$i.data"
done
[ -s "$work/b.bin" ] || ./target/release/cohsim convert "$work/b" -o "$work/b.bin"
records=$(cat "$work"/b_?.data | wc -l)

measure() { # label, command...
  local label=$1; shift
  local best=""
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" > /dev/null
    read -r secs rss < "$work/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; best_rss=$rss; fi
  done
  printf '%-28s %7.3f s  %7.1f M records/s  peak RSS %6.1f MB' "$label" "$best" \
    "$(awk "BEGIN{print $records / $best / 1e6}")" "$(awk "BEGIN{print $best_rss / 1024}")"
  if [ -n "${bare:-}" ]; then printf '  %5.2fx the bare loop' "$(awk "BEGIN{print $best / $bare}")"; fi
  printf '\n'
  last=$best
}

echo "blackscholes: $records input records, 4 cores, 4KiB:2:32"
measure "bare loop (limit.c)" "$work/limit" 4096 2 32 "$work"/b_0.data "$work"/b_1.data "$work"/b_2.data "$work"/b_3.data
bare=$last
for p in mesi moesi; do
  measure "$p, text" ./target/release/cohsim run -q --protocol $p --l1 4KiB:2:32 "$work/b"
  measure "$p, gzip" ./target/release/cohsim run -q --protocol $p --l1 4KiB:2:32 "$trace"
  measure "$p, bin" ./target/release/cohsim run -q --protocol $p --l1 4KiB:2:32 "$work/b.bin"
done
