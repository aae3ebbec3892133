#!/usr/bin/env bash
# Rewrites tests/pinned-results.sha256: the sha256 of results.json of every shipped simulated
# scenario, run as shipped. Only for a change that means to alter results (a model fix, a new
# field); speed work must leave the file as it is (tests/it/determinism.rs and
# bench/simulate.sh check it).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin gauntlet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
{
  sed -n '1,3p' tests/pinned-results.sha256
  for s in scenarios/*.toml; do
    grep -q 'kind = "http"' "$s" && continue
    name=$(basename "$s" .toml)
    target/release/gauntlet run "$s" --out "$out/$name" --quiet >/dev/null || true
    echo "$(sha256sum "$out/$name/results.json" | cut -d' ' -f1)  $name"
  done
} > "$out/pinned"
mv "$out/pinned" tests/pinned-results.sha256
cat tests/pinned-results.sha256
