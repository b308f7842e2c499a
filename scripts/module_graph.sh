#!/usr/bin/env bash
# The top-level module graph: an arrow A -> B for every `crate::B` named in
# src/A (a file src/A.rs or a folder src/A/), and any circle between two of
# them. Prints the arrows, then "no dependency circle" or the circles found.
set -euo pipefail
cd "$(dirname "$0")/../src"
edges=$(for path in */ *.rs; do
  m=${path%/}
  m=${m%.rs}
  if [ "$m" = main ] || [ "$m" = lib ]; then continue; fi
  grep -rhv '^ *//' "$path" | grep -oE 'crate::[a-z_]+' | sed 's/crate:://' | sort -u | while read -r d; do
    if [ "$d" != "$m" ]; then echo "$m -> $d"; fi
  done || true
done | sort -u)
echo "$edges"
circles=0
while read -r a _ b; do
  if echo "$edges" | grep -qx "$b -> $a"; then
    if [[ "$a" < "$b" ]]; then echo "CIRCLE: $a <-> $b"; circles=1; fi
  fi
done <<< "$edges"
if [ $circles = 0 ]; then echo "no dependency circle between two modules"; fi
exit $circles
