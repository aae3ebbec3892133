#!/usr/bin/env bash
# Simulation speed and memory on scenarios/peak-load.toml (30 minutes at 10,000 TPS, 18 million
# transactions): transactions per second of wall time and peak RSS of `gauntlet run`, median of
# RUNS runs, beside the floor measured in the same run: generating the same arrivals and
# transactions and doing nothing else (examples/generate.rs).
#
#   bash bench/simulate.sh            # 3 runs of the PGO build (deploy/pgo-build.sh, ~12 min
#                                     # the first time)
#   PGO=0 bash bench/simulate.sh      # the plain `cargo build --release`
#   BIN=/path/to/gauntlet bash bench/simulate.sh
#   RUNS=5 SCENARIO=scenarios/investor-demo.toml bash bench/simulate.sh
#   BASELINE=/tmp/gauntlet-old RUNS=5 bash bench/simulate.sh
#                                     # A/B: alternates runs of BASELINE (another build of
#                                     # gauntlet, e.g. the previous commit's) with this one and
#                                     # prints both medians and their ratio
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SCENARIO=${SCENARIO:-scenarios/peak-load.toml}

# The release binary is the PGO build (deploy/pgo-build.sh); PGO=0 measures the plain
# `cargo build --release` instead, BIN any other build.
cargo build --release --quiet --bin gauntlet --example generate
if [[ -n "${BIN:-}" ]]; then bin=$BIN
elif [[ "${PGO:-1}" == 0 ]]; then bin=target/release/gauntlet
else bin=$(bash deploy/pgo-build.sh); fi
gen=target/release/examples/generate
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Transactions per wall second of one run of binary $1 into folder $2.
rate_of() {
  "$1" run "$SCENARIO" --out "$2" --quiet >/dev/null || true
  grep -o '"transactions_per_wall_second": [0-9.]*' "$2/run.json" | awk '{print $2}'
}

if [[ -n "${BASELINE:-}" ]]; then
  base=(); new=()
  for i in $(seq "$RUNS"); do
    base+=("$(rate_of "$BASELINE" "$out/base$i")")
    new+=("$(rate_of "$bin" "$out/new$i")")
  done
  b=$(printf '%s\n' "${base[@]}" | median)
  n=$(printf '%s\n' "${new[@]}" | median)
  echo "scenario: $SCENARIO ($RUNS alternating runs each, medians)"
  printf 'baseline %s: %12.0f transactions per wall second (runs: %s)\n' "$BASELINE" "$b" "${base[*]}"
  printf 'this build:            %12.0f transactions per wall second (runs: %s)\n' "$n" "${new[*]}"
  awk -v b="$b" -v n="$n" 'BEGIN { printf "ratio this / baseline:  %.3f\n", n / b }'
  exit 0
fi

rates=(); rss=(); gens=()
for i in $(seq "$RUNS"); do
  /usr/bin/time -f '%M' -o "$out/time" "$bin" run "$SCENARIO" --out "$out/run$i" --quiet >/dev/null || true
  rates+=("$(grep -o '"transactions_per_wall_second": [0-9.]*' "$out/run$i/run.json" | awk '{print $2}')")
  rss+=("$(cat "$out/time")")
  gens+=("$("$gen" "$SCENARIO" | awk '{print $(NF-4)}')")
done

# The speed must not change a byte: the results are checked against the pinned digest.
name=$(basename "$SCENARIO" .toml)
pinned=$(awk -v n="$name" '$2 == n {print $1}' tests/pinned-results.sha256)
got=$(sha256sum "$out/run1/results.json" | cut -d' ' -f1)
if [[ -z "$pinned" ]]; then verdict="not pinned"
elif [[ "$got" == "$pinned" ]]; then verdict="identical to the pinned digest"
else verdict="DIFFERENT from the pinned digest $pinned"; fi

r=$(printf '%s\n' "${rates[@]}" | median)
m=$(printf '%s\n' "${rss[@]}" | median)
g=$(printf '%s\n' "${gens[@]}" | median)
echo "scenario: $SCENARIO ($RUNS runs, medians)"
printf 'gauntlet run:          %12.0f transactions per second of wall time (runs: %s)\n' "$r" "${rates[*]}"
printf 'generation only:       %12.0f transactions per second (the floor)\n' "$g"
printf 'peak RSS of the run:   %12.1f MB\n' "$(echo "$m" | awk '{print $1/1024}')"
awk -v r="$r" -v g="$g" 'BEGIN { printf "simulation / generation: %.2f of the floor\n", r / g }'
echo "results.json: $verdict"
[[ "$verdict" != DIFFERENT* ]]
