#!/usr/bin/env bash
# What the live dashboard costs a run, measured side by side in the same script.
#
#   bash bench/dashboard.sh            # about 6 minutes
#   RUNS=7 bash bench/dashboard.sh
#   PARTS=2 bash bench/dashboard.sh    # only the http figures
#
# Figures:
#   1. A simulated run at --pace fast (investor-demo, 2.94 million transactions), with and
#      without --dashboard, alternating: median wall seconds of RUNS runs each, and the ratio.
#   2. An http run at 5,000 TPS for 10 s against nginx (pinned to core 0; gauntlet to core 1):
#      generator lag p99 without the dashboard, with it, and with it and a headless chromium
#      showing the page the whole run (pinned to core 0, as a browser on another machine would
#      take nothing from the generator's core), with the same chromium on about:blank (the
#      control: what a browser costs the machine), and with only the event stream read
#      (curl on /api/events: what serving a client costs the generator). Medians of RUNS runs
#      each, interleaved.
# Installs nginx (Debian) and chromium (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${RUNS:-5}
PARTS=${PARTS:-"1 2"}

install_missing nginx:nginx chromium:chromium taskset:util-linux
prepare_run


if [[ " $PARTS " == *" 1 "* ]]; then
echo "== 1. simulated, --pace fast, investor-demo ($RUNS runs each, alternating)"
plain=(); dash=()
for _ in $(seq "$RUNS"); do
  s=$(date +%s.%N); "$bin" run scenarios/investor-demo.toml --quiet --out "$work/a" >/dev/null; e=$(date +%s.%N)
  plain+=("$(python3 -c "print($e - $s)")")
  s=$(date +%s.%N); "$bin" run scenarios/investor-demo.toml --quiet --out "$work/b" --dashboard --listen 127.0.0.1:0 >/dev/null 2>&1; e=$(date +%s.%N)
  dash+=("$(python3 -c "print($e - $s)")")
done
mp=$(median "${plain[@]}"); md=$(median "${dash[@]}")
echo "without the dashboard: median ${mp} s (${plain[*]})"
echo "with the dashboard:    median ${md} s (${dash[*]})"
python3 -c "print('ratio with / without: %.3f' % ($md / $mp))"
cmp -s "$work/a/results.json" "$work/b/results.json" && echo "results.json identical with and without the dashboard"
fi
[[ " $PARTS " == *" 2 "* ]] || exit 0

echo
echo "== 2. http, 5,000 TPS for 10 s: generator lag p99 ($RUNS runs each)"
port=18081
start_nginx "$work" "$port"
cat > "$work/h.toml" <<TOML
[scenario]
name = "bench-dashboard"
seed = 1
[target]
kind = "http"
url = "http://127.0.0.1:$port/score"
connections = 256
timeout = "2s"
[[phase]]
name = "load"
duration = "10s"
load = { pattern = "constant", rate = 5000 }
TOML
lag() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['generator']['lag_ms']['p99'])" "$1/results.json"; }
# http_run MODE: none | dashboard | browser | blank; prints the lag p99. `blank` is the
# control for `browser`: the same chromium on the same core, showing an empty page while the
# dashboard serves nobody, so what the browser itself costs the machine is told apart from
# what serving it costs the generator.
http_run() {
  rm -rf "$work/out"
  case $1 in
    none) taskset -c 1 "$bin" run "$work/h.toml" --quiet --out "$work/out" >/dev/null ;;
    dashboard) taskset -c 1 "$bin" run "$work/h.toml" --quiet --out "$work/out" --dashboard --listen 127.0.0.1:0 >/dev/null 2>&1 ;;
    events)
      taskset -c 1 "$bin" run "$work/h.toml" --quiet --out "$work/out" --dashboard --listen 127.0.0.1:0 >/dev/null 2>"$work/err" &
      run_pid=$!
      for _ in $(seq 100); do grep -q "dashboard: " "$work/err" 2>/dev/null && break; sleep 0.05; done
      url=$(grep -o "http://127.0.0.1:[0-9]*/" "$work/err" | head -1)
      taskset -c 0 curl -sN "${url}api/events" >/dev/null 2>&1 &
      browser_pid=$!
      wait "$run_pid" || true
      kill "$browser_pid" 2>/dev/null || true; wait "$browser_pid" 2>/dev/null || true; browser_pid=""
      ;;
    browser|blank)
      taskset -c 1 "$bin" run "$work/h.toml" --quiet --out "$work/out" --dashboard --listen 127.0.0.1:0 >/dev/null 2>"$work/err" &
      run_pid=$!
      for _ in $(seq 100); do grep -q "dashboard: " "$work/err" 2>/dev/null && break; sleep 0.05; done
      url=$(grep -o "http://127.0.0.1:[0-9]*/" "$work/err" | head -1)
      [ "$1" = blank ] && url="about:blank"
      taskset -c 0 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/chromium" --remote-debugging-port=0 "$url" >/dev/null 2>&1 &
      browser_pid=$!
      wait "$run_pid" || true
      kill "$browser_pid" 2>/dev/null || true; wait "$browser_pid" 2>/dev/null || true; browser_pid=""
      ;;
  esac
  lag "$work/out"
}
none=(); with=(); browsed=(); blank=(); events=()
for _ in $(seq "$RUNS"); do
  none+=("$(http_run none)"); with+=("$(http_run dashboard)"); events+=("$(http_run events)")
  browsed+=("$(http_run browser)"); blank+=("$(http_run blank)")
done
echo "lag p99 without the dashboard:        median $(median "${none[@]}") ms (${none[*]})"
echo "lag p99 with the dashboard:           median $(median "${with[@]}") ms (${with[*]})"
echo "lag p99 with the event stream read:   median $(median "${events[@]}") ms (${events[*]})"
echo "lag p99 with a browser on the page:   median $(median "${browsed[@]}") ms (${browsed[*]})"
echo "lag p99 with a browser on about:blank: median $(median "${blank[@]}") ms (${blank[*]})"
