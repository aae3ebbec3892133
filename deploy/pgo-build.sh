#!/usr/bin/env bash
# The release binary, built with profile-guided optimisation (PGO) into target/pgo/gauntlet.
#
#   bash deploy/pgo-build.sh          # about 2 release builds and a minute of training
#
# Three steps, as rustc, Chrome and CPython build theirs: an instrumented build; a training
# run of it on what gauntlet spends its time on (every shipped simulated scenario, peak-load's
# 18 million transactions among them, and an http run against `gauntlet serve` on loopback,
# through the fault proxy); and the build that uses the profile, so the compiler lays out and
# inlines the hot paths as they were measured. The code is the same code: floating point is
# not reordered, so results are byte for byte those of `cargo build --release` (`.ci/run`
# checks it on shipped scenarios). On `peak-load` it runs about 1.13 times as fast
# (docs/architecture.md, "Speed").
#
# Needs rustup's llvm-tools (for llvm-profdata matching rustc's LLVM): added when missing.
# PGO_DIR (default target/pgo) holds the builds; the profile is kept beside the binary
# (gauntlet-<digest>.profdata) for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${PGO_DIR:-target/pgo}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

host=$(rustc -vV | awk '/^host:/ {print $2}')
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
  rustup component add llvm-tools >&2
fi

train=$(mktemp -d)
serve_pid=
cleanup() {
  [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$train"
}
trap cleanup EXIT

# The profile's raw files go to a fixed place, so that an instrumented build of unchanged code
# is not built again.
raw=$dir/raw
rm -rf "$raw"
echo "pgo: instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$raw" \
  cargo build --release --locked --quiet --bin gauntlet --target-dir "$dir/instrumented"
bin=$dir/instrumented/release/gauntlet

echo "pgo: training" >&2
# Every shipped scenario the built-in simulation runs. A run whose criteria fail (some
# scenarios break the system on purpose) trains as well as one that passes; a run that writes
# no results means the training went wrong.
for s in scenarios/*.toml; do
  name=$(basename "$s" .toml)
  if grep -q '^kind = "http"' "$s"; then
    continue
  fi
  "$bin" run "$s" --quiet --out "$train/runs/$name" >/dev/null 2>&1 || true
  [[ -f "$train/runs/$name/results.json" ]] || { echo "pgo: training on $s wrote no results" >&2; exit 1; }
done

# The http generator and the fault proxy, against the built-in service on loopback.
"$bin" serve --listen 127.0.0.1:0 2>"$train/serve.log" &
serve_pid=$!
url=
for _ in $(seq 100); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/score' "$train/serve.log" || true)
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "pgo: gauntlet serve did not start" >&2; cat "$train/serve.log" >&2; exit 1; }
cat >"$train/http.toml" <<TOML
[scenario]
name = "pgo-http"
seed = 1

[target]
kind = "http"
url = "$url"
method = "POST"
timeout = "2s"
connections = 256
headers = { content-type = "application/json" }
decision = { pointer = "/decision", block = ["block"], review = ["review"] }

[[phase]]
name = "steady"
duration = "12s"
load = { pattern = "constant", rate = 4000 }

[[failure]]
name = "slow"
kind = "latency"
component = "upstream"
at = "6s"
duration = "3s"
delay = "20ms"
TOML
"$bin" run "$train/http.toml" --quiet --out "$train/runs/http" >/dev/null 2>&1 || true
[[ -f "$train/runs/http/results.json" ]] || { echo "pgo: the http training run wrote no results" >&2; exit 1; }
kill "$serve_pid" 2>/dev/null || true
wait "$serve_pid" 2>/dev/null || true
serve_pid=

"$profdata" merge -o "$train/merged.profdata" "$raw"
# Named by its digest: cargo sees a new profile as new flags and builds again.
sum=$(sha256sum "$train/merged.profdata" | cut -c1-16)
rm -f "$dir"/gauntlet-*.profdata
profile=$dir/gauntlet-$sum.profdata
mv "$train/merged.profdata" "$profile"

echo "pgo: optimised build" >&2
RUSTFLAGS="-Cprofile-use=$profile" \
  cargo build --release --locked --quiet --bin gauntlet --target-dir "$dir/build"
cp "$dir/build/release/gauntlet" "$dir/gauntlet"
echo "$dir/gauntlet"
