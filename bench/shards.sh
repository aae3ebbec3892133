#!/usr/bin/env bash
# Shards side by side on this machine against a local nginx: 3,000 TPS for 10 s in all, as
# SHARDS generators (3 by default) started with one --start-at, then merged; beside one
# unsharded run of the same plan. Prints the merged totals, both digests, and whether the
# merged per-second planned counts equal the unsharded run's (which come from the plan).
#
#   bash bench/shards.sh
#   SHARDS=4 RATE=8000 bash bench/shards.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
SHARDS=${SHARDS:-3}
RATE=${RATE:-3000}
PORT=${PORT:-18181}

install_missing nginx:nginx curl:curl
prepare_run
start_nginx "$work" "$PORT"
cat > "$work/shards.toml" <<TOML
[scenario]
name = "shards-nginx"
seed = 17

[target]
kind = "http"
url = "http://127.0.0.1:$PORT/score"
method = "POST"
timeout = "2s"
connections = 64
decision = { pointer = "/decision", block = ["block"], review = ["review"] }

[[phase]]
name = "steady"
duration = "10s"
load = { pattern = "constant", rate = $RATE }

[[criterion]]
check = "lost == 0"

[[criterion]]
check = "latency.p99 < 50ms"

[report]
formats = ["md", "html", "junit"]
TOML

start=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
pids=()
for k in $(seq 0 $((SHARDS - 1))); do
  core=$(( 1 + k % ($(nproc) - 1 > 0 ? $(nproc) - 1 : 1) ))
  taskset -c "$core" "$bin" run "$work/shards.toml" --shard "$k/$SHARDS" --start-at "$start" \
    --quiet --out "$work/s$k" > "$work/s$k.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
dirs=()
for k in $(seq 0 $((SHARDS - 1))); do dirs+=("$work/s$k"); done
"$bin" merge "${dirs[@]}" --out "$work/merged" | sed 's/^/  /'
taskset -c 1 "$bin" run "$work/shards.toml" --quiet --out "$work/whole" > "$work/whole.log" 2>&1 || true

python3 - "$work" "$SHARDS" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
m = json.load(open(f"{work}/merged/results.json"))
w = json.load(open(f"{work}/whole/results.json"))
t = m["summary"]["totals"]
print(f"merged: planned {t['planned']:,} ok {t['ok']:,} errors {t['errors']} timeouts {t['timeouts']} dropped {t['dropped']} lost {t['lost']}")
print(f"merged digest {m['digest'][:16]}  unsharded digest {w['digest'][:16]}  equal: {m['digest'] == w['digest']}")
mp = [s["planned"] for s in m["timeline"]]
wp = [s["planned"] for s in w["timeline"]]
print(f"per-second planned, merged:    {mp}")
print(f"per-second planned, unsharded: {wp}  equal: {mp == wp}")
for s in m["shards"]:
    print(f"  shard {s['shard']}/{n}: sent {s['sent']:,} ok {s['ok']:,} lag p99 {s['lag_p99_ms']} ms start lag {s['start_lag_ms']} ms")
print(f"merged latency p50 {m['summary']['latency_ms']['p50']} ms p99 {m['summary']['latency_ms']['p99']} ms; unsharded p99 {w['summary']['latency_ms']['p99']} ms")
PY
