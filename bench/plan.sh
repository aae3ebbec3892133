#!/usr/bin/env bash
# Speed of `gauntlet validate` and `gauntlet plan` on the shipped scenarios, with peers measured
# in the same run on the same files: process start-up (`true`, the floor of any command) and
# Python's tomllib parsing the same TOML (what a scripted validator costs before it checks
# anything). Prints the median of RUNS runs of each, in milliseconds, and the ratios.
#
#   bash bench/plan.sh            # 21 runs each
#   RUNS=51 bash bench/plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-21}

cargo build --release --quiet
bin=target/release/gauntlet

# median_ms CMD...: runs CMD $RUNS times, prints the median wall time in ms.
median_ms() {
  local times=()
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'
}

printf '%-58s %10s\n' "command (median of $RUNS runs)" "ms"
floor=$(median_ms true)
printf '%-58s %10s\n' "true (process start-up floor)" "$floor"
py=$(median_ms python3 -c 'import tomllib,sys; tomllib.load(open(sys.argv[1],"rb"))' scenarios/peak-load.toml)
printf '%-58s %10s\n' "python3 tomllib parse of peak-load.toml (peer)" "$py"
for s in peak-load investor-demo flash-sale chaos-monkey; do
  v=$(median_ms "$bin" validate "scenarios/$s.toml")
  printf '%-58s %10s\n' "gauntlet validate $s.toml" "$v"
done
p=$(median_ms "$bin" plan scenarios/peak-load.toml)
printf '%-58s %10s\n' "gauntlet plan peak-load.toml (30m at 10,000 TPS, text)" "$p"
pj=$(median_ms "$bin" plan scenarios/peak-load.toml --format json)
printf '%-58s %10s\n' "gauntlet plan peak-load.toml --format json" "$pj"
pp=$(median_ms "$bin" plan scenarios/flash-sale.toml --format json)
printf '%-58s %10s\n' "gauntlet plan flash-sale.toml (poisson, counted exactly)" "$pp"
pa=$(median_ms "$bin" plan scenarios/peak-load.toml --format json --arrivals 100000)
printf '%-58s %10s\n' "gauntlet plan peak-load.toml --arrivals 100000 (json)" "$pa"
v=$(median_ms "$bin" validate scenarios/peak-load.toml)
awk -v v="$v" -v py="$py" -v p="$p" 'BEGIN {
  printf "\nratio validate(peak-load) / python tomllib parse: %.2f\n", v / py
  printf "plan of 18,000,000 transactions: %.2f ms (%s)\n", p, (p < 1000 ? "well under a second" : "OVER a second")
}'
