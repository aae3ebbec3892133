#!/usr/bin/env bash
# Fuzzes the scenario loader (bytes -> diagnostics or a plan) and the criterion parser (and
# compare's limits) with cargo-fuzz on the nightly toolchain, SECONDS each (60 by default),
# seeded from scenarios/ and tests/broken/. Prints each target's executions per second and
# corpus size; exits non-zero on a crash, a hang (10 s per input) or an allocation beyond
# 2 GB (the reproducer is kept under fuzz/artifacts/).
#
#   bash bench/fuzz.sh            # 60 s each
#   SECONDS_EACH=300 bash bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-60}

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

corpus=fuzz/corpus
mkdir -p "$corpus/scenario" "$corpus/criterion"
cp scenarios/*.toml tests/broken/*.toml "$corpus/scenario/"
# Each check of the shipped scenarios, one file each.
grep -ho 'check = "[^"]*"' scenarios/*.toml tests/broken/*.toml docs/*.md 2>/dev/null \
  | sed 's/^check = "//; s/"$//' | sort -u | while IFS= read -r c; do
    printf '%s' "$c" > "$corpus/criterion/$(printf '%s' "$c" | sha1sum | cut -c1-16)"
  done

for target in scenario criterion; do
  log=$(mktemp)
  if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz $target: FAILED (reproducer under fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1)
  rate=$(grep -o 'exec/s: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -o 'cov: *[0-9]*' "$log" | tail -1 | awk '{print $2}')
  size=$(find "$corpus/$target" -type f | wc -l)
  printf 'fuzz %-9s ok: %s s, %s executions (%s per second), coverage %s, corpus %s inputs\n' \
    "$target" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$size"
  rm -f "$log"
done
