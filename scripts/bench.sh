#!/usr/bin/env bash
# Replay speed and peak memory on blackscholes (4 cores, 4 KiB 2-way 32 B lines),
# MESI and MOESI, from uncompressed text, gzip and the binary format, and both at
# once (`compare`, from text and bin), against the
# bare loop of ../shared/bench (no coherence, no timing: the floor).
# Prints input records per second (every line of the text trace, compute lines
# included, as the bare loop counts them), records per CPU-second (user + system,
# all threads: what a sweep of replays side by side gets), peak RSS, and the ratio
# to the bare loop; best of 5 interleaved rounds (a shared machine is noisy;
# BENCH_ROUNDS=N for more). The bin file is converted for 32-byte lines, so it
# carries the reuse distances these replays classify misses with.
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
[ -s "$work/b-line32.bin" ] || ./target/release/cohsim convert --line 32 "$work/b" -o "$work/b-line32.bin"
records=$(cat "$work"/b_?.data | wc -l)

# Rounds: each round runs every configuration once, so a noisy stretch of a
# shared machine hits them all alike; each configuration keeps its best run.
rounds=${BENCH_ROUNDS:-5}
labels=("bare loop (limit.c)")
commands=("$work/limit 4096 2 32 $work/b_0.data $work/b_1.data $work/b_2.data $work/b_3.data")
# BENCH_BASE=path/to/an/older/cohsim adds its runs to the same rounds, labelled
# "base", so two builds are compared under the same noise.
builds=("./target/release/cohsim")
names=("")
if [ -n "${BENCH_BASE:-}" ]; then
  builds+=("$BENCH_BASE")
  names+=("base ")
fi
for b in "${!builds[@]}"; do
  bin=${builds[$b]}
  name=${names[$b]}
  for p in mesi moesi; do
    labels+=("$name$p, text" "$name$p, gzip" "$name$p, bin")
    commands+=("$bin run -q --protocol $p --l1 4KiB:2:32 $work/b"
               "$bin run -q --protocol $p --l1 4KiB:2:32 $trace"
               "$bin run -q --protocol $p --l1 4KiB:2:32 $work/b-line32.bin")
  done
  # Both protocols side by side (two replays at once: the machine's cores are
  # shared by two simulation threads and both sets of decoders; records counted
  # once).
  labels+=("${name}compare mesi,moesi, text" "${name}compare mesi,moesi, bin")
  commands+=("$bin compare -q --protocols mesi,moesi --l1 4KiB:2:32 $work/b"
             "$bin compare -q --protocols mesi,moesi --l1 4KiB:2:32 $work/b-line32.bin")
done
declare -a best best_rss best_cpu
for _ in $(seq "$rounds"); do
  for i in "${!commands[@]}"; do
    # shellcheck disable=SC2086  # each command is a plain word list
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" ${commands[$i]} > /dev/null
    read -r secs rss user sys < "$work/time"
    cpu=$(awk "BEGIN{print $user + $sys}")
    if [ -z "${best[$i]:-}" ] || awk "BEGIN{exit !($secs < ${best[$i]})}"; then best[$i]=$secs; best_rss[$i]=$rss; fi
    if [ -z "${best_cpu[$i]:-}" ] || awk "BEGIN{exit !($cpu < ${best_cpu[$i]})}"; then best_cpu[$i]=$cpu; fi
  done
done

echo "blackscholes: $records input records, 4 cores, 4KiB:2:32 (best of $rounds interleaved rounds)"
bare=${best[0]}
for i in "${!commands[@]}"; do
  printf '%-28s %7.3f s  %7.1f M records/s  %6.1f M records/CPU-s  peak RSS %6.1f MB' "${labels[$i]}" \
    "${best[$i]}" "$(awk "BEGIN{print $records / ${best[$i]} / 1e6}")" \
    "$(awk "BEGIN{c = ${best_cpu[$i]}; if (c < 0.01) c = 0.01; print $records / c / 1e6}")" \
    "$(awk "BEGIN{print ${best_rss[$i]} / 1024}")"
  if [ "$i" -gt 0 ]; then printf '  %5.2fx the bare loop' "$(awk "BEGIN{print ${best[$i]} / $bare}")"; fi
  printf '\n'
done
