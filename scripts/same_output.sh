#!/usr/bin/env bash
# Does a change move any number users see? Runs two cohsim binaries on the same
# inputs and compares their JSON (host timings removed) and check state counts:
#
#   scripts/same_output.sh OLD_BINARY NEW_BINARY [--ignore-miss-split]
#
# Inputs: the bundled traces (MESI and MOESI, `run` and `compare`), both PARSEC
# traces of ../shared under MESI and MOESI with the course cache (skipped, and
# said so, when ../shared is absent), generated 64-core traces (uniform-random,
# zipf, migratory), `check` on 3 caches x 1 line, and 300 `stress` seeds per
# protocol. `--ignore-miss-split`
# compares every field but the split of misses among the five classes (their
# sum, the misses, must still agree), and prints how far the split moved.
# Exit status 0 when everything agrees, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1
new=$2
ignore_split=${3:-}
work=target/same_output
mkdir -p "$work"
shared=../shared/traces/parsec

differ=0
# Normalise: drop host fields; optionally replace each miss_classes object by
# the sum of its counts.
normalise() {
  if [ "$ignore_split" = "--ignore-miss-split" ]; then
    jq -S 'del(.host) | del(.. | .host?)
      | (.. | objects | select(has("miss_classes")) | .miss_classes) |= (to_entries | map(.value) | add)
      | if has("rows") then .rows |= with_entries(select(.key | contains("miss_classes.") | not)) else . end'
  else
    jq -S 'del(.host) | del(.. | .host?)'
  fi
}
# The miss-class totals, for the report of how far the split moved.
split() {
  jq -c '[.. | objects | select(has("totals")) | .totals.miss_classes] | .[0] // empty'
}

compare_json() { # name, args...
  local name=$1
  shift
  "$old" "$@" --json > "$work/$name.old.json" 2> "$work/$name.old.err" || true
  "$new" "$@" --json > "$work/$name.new.json" 2> "$work/$name.new.err" || true
  if cmp -s <(normalise < "$work/$name.old.json") <(normalise < "$work/$name.new.json"); then
    echo "same     $name"
  else
    echo "DIFFERS  $name"
    differ=1
  fi
  if [ "$ignore_split" = "--ignore-miss-split" ]; then
    local a b
    a=$(split < "$work/$name.old.json")
    b=$(split < "$work/$name.new.json")
    [ "$a" = "$b" ] || echo "         split: $a -> $b"
  fi
}

for t in traces/*.csv; do
  n=$(basename "$t" .csv)
  for p in mesi moesi; do
    compare_json "run-$n-$p" run --protocol "$p" "$t"
  done
  compare_json "compare-$n" compare --protocols mesi,moesi "$t"
done

if [ -e "$shared/blackscholes/blackscholes_0.data.gz" ]; then
  for n in blackscholes bodytrack_short; do
    for p in mesi moesi; do
      compare_json "parsec-$n-$p" run --quiet --protocol "$p" --l1 4KiB:2:32 "$shared/$n/$n"
    done
  done
else
  echo "skipped  PARSEC traces: $shared not found"
fi

for pattern in uniform-random zipf migratory; do
  f=$work/gen64-$pattern.csv
  [ -s "$f" ] || "$new" gen "$pattern" --cores 64 --ops 2000 --seed 7 -o "$f" 2> /dev/null
  for p in mesi moesi; do
    compare_json "gen64-$pattern-$p" run --quiet --protocol "$p" --cores 64 "$f"
  done
done

for p in msi mesi moesi; do
  a=$("$old" check --protocol "$p" --caches 3 --lines 1 --values 2 | head -2 | tail -1 | awk '{print $1, $3}')
  b=$("$new" check --protocol "$p" --caches 3 --lines 1 --values 2 | head -2 | tail -1 | awk '{print $1, $3}')
  if [ "$a" = "$b" ]; then echo "same     check-$p ($a states, transitions)"; else echo "DIFFERS  check-$p: $a -> $b"; differ=1; fi
done

# The random tester: the same seeds, the same operations and messages (the
# summary line without its time).
for p in mesi moesi; do
  a=$("$old" stress --protocol "$p" --cores 4 --seeds 300 | tail -1 | sed 's/ in [0-9.]* s$//')
  b=$("$new" stress --protocol "$p" --cores 4 --seeds 300 | tail -1 | sed 's/ in [0-9.]* s$//')
  if [ "$a" = "$b" ]; then echo "same     stress-$p ($b)"; else echo "DIFFERS  stress-$p: $a -> $b"; differ=1; fi
done

exit $differ
