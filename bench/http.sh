#!/usr/bin/env bash
# The http generator against a fast local server, beside peers on the same machine in the same
# run. nginx (one worker) answers a small JSON on loopback, pinned to core 0; every load
# generator is pinned to core 1. Installs nginx and wrk (Debian) and oha (crates.io) if missing.
#
#   bash bench/http.sh                 # all figures (about 4 minutes)
#   RATES="5000 10000" bash bench/http.sh
#
# Figures:
#   1. 5,000 TPS for 10 s: ok = planned, lost 0, p50, generator lag p99.
#   2. The highest rate held: gauntlet with lag p99 under 1 ms and every request ok; and, by
#      the criterion oha can be judged on (it reports no lag), the highest rate each achieves
#      with every request ok (99% of the rate for oha, every planned request for gauntlet);
#      wrk's closed-loop maximum.
#   3. CPU seconds per 100,000 requests at 10,000 TPS (user + system), gauntlet and oha.
#   4. Peak RSS at 20,000 TPS with 1,000 connections, gauntlet and oha.
#   5. The fault proxy: its overhead outside failure windows, and a +200 ms latency window.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RATES=${RATES:-"5000 10000 20000 40000 60000 80000"}
start_peers_bench 18080

scenario() { # rate duration connections [extra]
  cat > "$work/s.toml" <<TOML
[scenario]
name = "bench"
seed = 1
[target]
kind = "http"
url = "$url"
connections = $3
max_in_flight = 100000
timeout = "2s"
decision = { pointer = "/decision", block = ["block"] }
[[phase]]
name = "load"
duration = "$2"
load = { pattern = "constant", rate = $1 }
${4:-}
[report]
formats = ["md", "html", "junit"]
TOML
}

# gauntlet_run: runs $work/s.toml pinned to core 1; prints "planned ok lost p50 lagp99 cpu rss_mb"
gauntlet_run() {
  rm -rf "$work/out"
  taskset -c 1 /usr/bin/time -f '%U %S %M' -o "$work/time" "$bin" run "$work/s.toml" --out "$work/out" --quiet >/dev/null || true
  python3 - "$work/out/results.json" "$work/time" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); u, s, m = open(sys.argv[2]).read().split()
t = r["summary"]["totals"]
print(t["planned"], t["ok"], t["lost"], r["summary"]["latency_ms"]["p50"], r["generator"]["lag_ms"]["p99"], round(float(u) + float(s), 2), round(int(m) / 1024, 1))
PY
}

# oha_run rate seconds|requests connections: prints "achieved_rps success_rate cpu rss_mb"
oha_run() {
  taskset -c 1 /usr/bin/time -f '%U %S %M' -o "$work/time" oha "$url" -m POST -d '{}' -q "$1" $2 -c "$3" --no-tui --output-format json > "$work/oha.json" 2>/dev/null || true
  python3 - "$work/oha.json" "$work/time" <<'PY'
import json, sys
o = json.load(open(sys.argv[1])); u, s, m = open(sys.argv[2]).read().split()
print(round(o["summary"]["requestsPerSec"]), o["summary"]["successRate"], round(float(u) + float(s), 2), round(int(m) / 1024, 1))
PY
}

echo "== 1. 5,000 TPS for 10 s (nginx on core 0, gauntlet on core 1)"
scenario 5000 10s 256
read -r planned ok lost p50 lag cpu rss < <(gauntlet_run)
echo "planned $planned, ok $ok, lost $lost, p50 ${p50} ms, generator lag p99 ${lag} ms"

echo
echo "== 2. highest rate held (5 s per rate)"
best_g=0; best_o=0; achieved_g=0
for rate in $RATES; do
  scenario "$rate" 5s 256
  read -r planned ok lost p50 lag cpu rss < <(gauntlet_run)
  held_g=$(python3 -c "print(int($ok == $planned and $lag < 1.0))")
  [ "$held_g" = 1 ] && best_g=$rate
  [ "$ok" = "$planned" ] && achieved_g=$rate
  read -r rps success ocpu orss < <(oha_run "$rate" "-z 5s" 256)
  held_o=$(python3 -c "print(int($rps >= 0.99 * $rate and $success >= 1.0))")
  [ "$held_o" = 1 ] && best_o=$rate
  echo "rate $rate: gauntlet ok $ok/$planned lag p99 ${lag} ms (held $held_g); oha $rps req/s success $success (held $held_o)"
done
taskset -c 1 wrk -t1 -c256 -d5s "$url" > "$work/wrk.txt" 2>&1 || true
wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
echo "highest rate with lag p99 under 1 ms: gauntlet $best_g (oha reports no lag)"
echo "highest rate achieved with every request ok: gauntlet $achieved_g, oha $best_o"
echo "wrk closed-loop maximum: ${wrk_rps} req/s"
python3 -c "print('ratio gauntlet / oha (achieved): %.2f' % ($achieved_g / max($best_o, 1)))"

echo
echo "== 3. CPU seconds per 100,000 requests at 10,000 TPS"
scenario 10000 10s 256
read -r planned ok lost p50 lag gcpu rss < <(gauntlet_run)
read -r rps success ocpu orss < <(oha_run 10000 "-n 100000" 256)
echo "gauntlet ${gcpu} s ($ok ok of $planned), oha ${ocpu} s"
python3 -c "print('ratio gauntlet / oha: %.2f' % ($gcpu / max($ocpu, 0.01)))"

echo
echo "== 4. peak RSS at 20,000 TPS with 1,000 connections (10 s)"
scenario 20000 10s 1000
read -r planned ok lost p50 lag cpu grss < <(gauntlet_run)
read -r rps success ocpu orss < <(oha_run 20000 "-z 10s" 1000)
echo "gauntlet ${grss} MB ($ok ok of $planned, lag p99 ${lag} ms), oha ${orss} MB ($rps req/s)"
python3 -c "print('ratio gauntlet / oha: %.2f' % ($grss / max($orss, 0.1)))"

echo
echo "== 5. the fault proxy"
scenario 2000 10s 256
read -r planned ok lost direct_p50 lag cpu rss < <(gauntlet_run)
scenario 2000 10s 256 "[[failure]]
kind = \"latency\"
component = \"upstream\"
at = \"9s\"
duration = \"1s\"
delay = \"1ms\""
rm -rf "$work/out"
taskset -c 1 "$bin" run "$work/s.toml" --out "$work/out" --quiet >/dev/null || true
proxied_p50=$(python3 -c "import json; r=json.load(open('$work/out/results.json')); print(r['timeline'][4]['latency_ms']['p50'])")
echo "p50 at 2,000 TPS direct ${direct_p50} ms; through the proxy outside its window (second 4) ${proxied_p50} ms"
cat > "$work/s.toml" <<TOML
[scenario]
name = "nginx-latency"
seed = 2
[target]
kind = "http"
url = "$url"
decision = { pointer = "/decision", block = ["block"] }
[[phase]]
name = "before"
duration = "10s"
load = { pattern = "constant", rate = 1000 }
[[phase]]
name = "during"
duration = "20s"
load = { pattern = "constant", rate = 1000 }
[[failure]]
name = "slow-upstream"
kind = "latency"
component = "upstream"
phase = "during"
at = "5s"
duration = "10s"
delay = "200ms"
[[criterion]]
check = "latency.p50 >= 190ms"
during = "slow-upstream"
[[criterion]]
check = "latency.p95 < 50ms"
phase = "before"
[[criterion]]
check = "lost == 0"
[report]
formats = ["md", "html", "junit"]
TOML
rm -rf "$work/out"
set +e; taskset -c 1 "$bin" run "$work/s.toml" --out "$work/out" --quiet; code=$?; set -e
python3 - "$work/out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
w = r["failures"][0]["summary"]["latency_ms"]["p50"]; b = r["phases"][0]["summary"]["latency_ms"]["p95"]
print(f"+200 ms window p50 {w} ms; phase before p95 {b} ms; verdict passed {r['verdict']['passed']}")
PY
echo "exit $code; reports: $(cd "$work/out" && ls report.md report.html junit.xml | tr '\n' ' ')"
