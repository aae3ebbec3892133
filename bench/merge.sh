#!/usr/bin/env bash
# How long `gauntlet merge` takes on the shard results of a 30-minute run split over SHARDS
# generators (10 by default): bench/merge.toml, 7.4 million transactions, with every scope's and
# every second's histograms. The shard files are made by examples/shard_fixture.rs (the same
# recorder and file format a real shard uses, without a network). Prints the median wall time
# of RUNS merges (5 by default) beside reading the same files with `cat` (the floor), and the
# files' total size.
#
#   bash bench/merge.sh
#   SHARDS=20 RUNS=9 bash bench/merge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-10}
RUNS=${RUNS:-5}

cargo build --release --quiet --bin gauntlet --example shard_fixture
bin=target/release/gauntlet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

t0=$(date +%s%N)
target/release/examples/shard_fixture bench/merge.toml "$SHARDS" "$dir"
t1=$(date +%s%N)
echo "made $SHARDS shard files in $(( (t1 - t0) / 1000000 )) ms; total $(du -ch "$dir"/shard-*/shard.json | tail -1 | cut -f1)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
shards=("$dir"/shard-*)
merges=(); cats=()
for i in $(seq "$RUNS"); do
  rm -rf "$dir/merged"
  t0=$(date +%s%N)
  "$bin" merge "${shards[@]}" --out "$dir/merged" >/dev/null || true
  t1=$(date +%s%N)
  merges+=($(( (t1 - t0) / 1000000 )))
  t0=$(date +%s%N)
  cat "$dir"/shard-*/shard.json >/dev/null
  t1=$(date +%s%N)
  cats+=($(( (t1 - t0) / 1000000 )))
done
test -s "$dir/merged/results.json" || { echo "merge wrote no results" >&2; exit 1; }
planned=$(grep -m1 -o '"planned": [0-9]*' "$dir/merged/results.json" | awk '{print $2}')
echo "merged planned: $planned"
printf 'gauntlet merge of %s shards: %6s ms median (runs: %s)\n' "$SHARDS" "$(printf '%s\n' "${merges[@]}" | median)" "${merges[*]}"
printf 'cat of the same files:       %6s ms median (runs: %s)\n' "$(printf '%s\n' "${cats[@]}" | median)" "${cats[*]}"
