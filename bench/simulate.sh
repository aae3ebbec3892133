#!/usr/bin/env bash
# Simulation speed and memory on scenarios/peak-load.toml (30 minutes at 10,000 TPS, 18 million
# transactions): transactions per second of wall time and peak RSS of `gauntlet run`, median of
# RUNS runs, beside the floor measured in the same run: generating the same arrivals and
# transactions and doing nothing else (examples/generate.rs).
#
#   bash bench/simulate.sh            # 3 runs
#   RUNS=5 SCENARIO=scenarios/investor-demo.toml bash bench/simulate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SCENARIO=${SCENARIO:-scenarios/peak-load.toml}

cargo build --release --quiet --bin gauntlet --example generate
bin=target/release/gauntlet
gen=target/release/examples/generate
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

rates=(); rss=(); gens=()
for i in $(seq "$RUNS"); do
  /usr/bin/time -f '%M' -o "$out/time" "$bin" run "$SCENARIO" --out "$out/run$i" --quiet >/dev/null || true
  rates+=("$(grep -o '"transactions_per_wall_second": [0-9.]*' "$out/run$i/run.json" | awk '{print $2}')")
  rss+=("$(cat "$out/time")")
  gens+=("$("$gen" "$SCENARIO" | awk '{print $(NF-4)}')")
done

r=$(printf '%s\n' "${rates[@]}" | median)
m=$(printf '%s\n' "${rss[@]}" | median)
g=$(printf '%s\n' "${gens[@]}" | median)
echo "scenario: $SCENARIO ($RUNS runs, medians)"
printf 'gauntlet run:          %12.0f transactions per second of wall time (runs: %s)\n' "$r" "${rates[*]}"
printf 'generation only:       %12.0f transactions per second (the floor)\n' "$g"
printf 'peak RSS of the run:   %12.1f MB\n' "$(echo "$m" | awk '{print $1/1024}')"
awk -v r="$r" -v g="$g" 'BEGIN { printf "simulation / generation: %.2f of the floor\n", r / g }'
