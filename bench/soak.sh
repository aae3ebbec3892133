#!/usr/bin/env bash
# Memory over run length: three long runs, the generator's resident memory sampled every
# second, and whether it stays flat (RSS at the end within 10% of RSS at 10% of the run).
#
#   bash bench/soak.sh                     # about 35 minutes
#   HTTP_DURATION=60s bash bench/soak.sh   # a shorter http run (and peers)
#   ONLY=sim bash bench/soak.sh            # the three simulated runs only
#
# 1. A 2-hour simulated run at 10,000 TPS (72 million transactions, in virtual time).
# 2. A 30-day simulated run at 1 TPS (2.6 million transactions over 2.6 million seconds).
# 3. A 30-day simulated daily wave with a 10-minute rolling latency window (see below).
# 4. An http run of HTTP_DURATION (10 minutes) at 20,000 TPS with 1,000 connections against a
#    local nginx (one worker, core 0; the generator on core 1), then oha at the same rate,
#    connections and duration, and wrk (closed loop, same connections and duration), each
#    with its peak RSS.
#
# "At 10%" and "at the end" are the samples at 10% and at 100% of the run (samples are taken
# every 0.2 s; "at 10%" is never earlier than 2 s in, so that a run of a few seconds is not
# judged against its start-up, when the process is still loading and allocating): of gauntlet's run
# until it logs that the run is over (then it writes results and reports, which take memory
# by the size of the timeline, itself bounded; checkpoints rewrite results.json every 10 s
# all along, so that memory is in both samples); of the whole process for oha and wrk. Peak
# RSS is /usr/bin/time's maximum resident set size, writing included.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
HTTP_DURATION=${HTTP_DURATION:-10m}
ONLY=${ONLY:-all}
install_missing nginx:nginx wrk:wrk taskset:util-linux
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$ONLY" != sim ]; then
  need oha || cargo install oha --locked --quiet
fi
prepare_run

# sampled NAME CMD...: runs CMD, writing its RSS (kB) every 0.2 s to $work/NAME.rss as
# "milliseconds rss over" (over: 1 once gauntlet said the run is over) and /usr/bin/time's
# figures to $work/NAME.time.
sampled() {
  local name=$1
  shift
  : > "$work/$name.rss"
  /usr/bin/time -f '%U %S %M %e' -o "$work/$name.time" "$@" > "$work/$name.out" 2>&1 &
  local pid=$! start=${EPOCHREALTIME/./} child
  # /usr/bin/time's child is the measured process.
  for _ in $(seq 100); do
    child=$(pgrep -P "$pid" | head -1 || true)
    [ -n "$child" ] && break
    sleep 0.05
  done
  while kill -0 "$child" 2>/dev/null; do
    local rss over=0
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null || echo "")
    grep -q "the run is over" "$work/$name.out" 2>/dev/null && over=1
    [ -n "$rss" ] && echo "$(((${EPOCHREALTIME/./} - start) / 1000)) $rss $over" >> "$work/$name.rss"
    sleep 0.2
  done
  wait "$pid" || true
}

# report NAME: prints samples, RSS at 10% and at the end of the run, growth, peak.
report() {
  python3 - "$work/$1.rss" "$work/$1.time" "$1" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
u, s, peak_kb, wall = open(sys.argv[2]).read().split()[-4:]
run = [r for r in rows if r[2] == 0] or rows
n = len(run)
ref_ms = max(run[-1][0] * 0.1, 2000)
at10 = next((r for r in run if r[0] >= ref_ms), run[-1])[1]
end = run[-1][1]
growth = (end - at10) / at10 * 100
print(f"{sys.argv[3]}: {n} samples over {float(wall):.0f} s; RSS at 10% (at least 2 s in) {at10/1024:.1f} MB, "
      f"at the end {end/1024:.1f} MB, growth {growth:+.1f}% "
      f"({'flat' if abs(growth) < 10 else 'NOT flat'}); peak {int(peak_kb)/1024:.1f} MB; "
      f"CPU {float(u) + float(s):.1f} s")
PY
}

sim_scenario() { # name duration rate
  cat > "$work/$1.toml" <<TOML
[scenario]
name = "$1"
seed = 5
[[phase]]
name = "steady"
duration = "$2"
load = { pattern = "constant", rate = $3 }
[[criterion]]
check = "error_rate < 1%"
[report]
formats = ["md", "html", "junit"]
TOML
}

echo "== gauntlet $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(date -u +%Y-%m-%d)"
sim_scenario sim-2h 2h 10000
sampled sim-2h "$bin" run "$work/sim-2h.toml" --out "$work/out-sim-2h" --quiet -v
report sim-2h
sim_scenario sim-30d 720h 1
sampled sim-30d "$bin" run "$work/sim-30d.toml" --out "$work/out-sim-30d" --quiet -v
report sim-30d
python3 - "$work/out-sim-30d/results.json" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
print(f"   30-day results.json: {os.path.getsize(sys.argv[1]) / 1e6:.1f} MB, "
      f"{len(r['timeline'])} timeline entries, one per second for the first "
      f"{r.get('timeline_full_resolution_s')} s; planned {r['summary']['totals']['planned']}, "
      f"lost {r['summary']['totals']['lost']}")
PY
# 3. The same month as a daily wave judged over rolling 10-minute latency windows: what each
#    second costs when closing it means counting a wave's arrivals and sliding a window (it
#    took over 20 minutes before both were made incremental; 45 s on 2026-12-07).
cat > "$work/sim-30d-wave.toml" <<TOML
[scenario]
name = "sim-30d-wave"
seed = 5
[[phase]]
name = "month"
duration = "720h"
load = { pattern = "wave", base = 2, amplitude = 1, period = "24h" }
[[criterion]]
check = "latency.p99 < 1s"
window = "10m"
[report]
formats = ["md", "html", "junit"]
TOML
sampled sim-30d-wave "$bin" run "$work/sim-30d-wave.toml" --out "$work/out-sim-30d-wave" --quiet -v
report sim-30d-wave
[ "$ONLY" = sim ] && exit 0

port=18080
start_nginx "$work" "$port"
url="http://127.0.0.1:$port/score"
cat > "$work/http.toml" <<TOML
[scenario]
name = "http"
seed = 1
[target]
kind = "http"
url = "$url"
connections = 1000
timeout = "2s"
decision = { pointer = "/decision", block = ["block"] }
[[phase]]
name = "load"
duration = "$HTTP_DURATION"
load = { pattern = "constant", rate = 20000 }
[report]
formats = ["md", "html", "junit"]
TOML
secs=$(python3 -c "import re,sys; v=sys.argv[1]; n=int(re.match(r'\d+', v).group()); print(n*60 if v.endswith('m') else n)" "$HTTP_DURATION")
sampled http taskset -c 1 "$bin" run "$work/http.toml" --out "$work/out-http" --quiet -v
report http
python3 - "$work/out-http/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = r["summary"]["totals"]
print(f"   http: planned {t['planned']}, ok {t['ok']}, lost {t['lost']}, "
      f"generator lag p99 {r['generator']['lag_ms']['p99']} ms")
PY
sampled oha taskset -c 1 oha "$url" -m POST -d '{}' -q 20000 -z "${secs}s" -c 1000 --no-tui --output-format json
report oha
sampled wrk taskset -c 1 wrk -t1 -c1000 -d"${secs}s" "$url"
report wrk
echo
echo "peak RSS (MB): gauntlet $(awk '{printf "%.1f", $3/1024}' "$work/http.time"), oha $(awk '{printf "%.1f", $3/1024}' "$work/oha.time"), wrk $(awk '{printf "%.1f", $3/1024}' "$work/wrk.time")"
