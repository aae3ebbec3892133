#!/usr/bin/env bash
# User-space instructions per request: gauntlet's http generator beside oha, counted by
# valgrind's callgrind. Counting instructions, not seconds, gives the same figure whatever
# else the machine does (this VM's CPU seconds move by ±30% from one run to the next), so it
# is the figure to trust for a change to the per-request path. Kernel time (TCP, syscalls,
# wake-ups) is not in it: bench/peers.sh measures that, noisily.
#
#   bash bench/instructions.sh            # about 2 minutes
#   RATE=1000 SECONDS_RUN=5 bash bench/instructions.sh
#   BASELINE=/path/to/older/gauntlet bash bench/instructions.sh   # and an older build's
#
# Each tool POSTs the same generated transaction (gauntlet its own, one per arrival; oha
# transaction 0 of peak-load's plan) to nginx on loopback over 256 connections, RATE per
# second for SECONDS_RUN seconds, under callgrind (slow, hence a low rate). Its start-up
# (gauntlet: scenario checks, plan; oha: its set-up) is counted in a run of one request and
# subtracted.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RATE=${RATE:-2000}
SECONDS_RUN=${SECONDS_RUN:-3}
install_missing valgrind:valgrind
start_peers_bench 18080

peers_body


# counted COMMAND...: the instructions callgrind counts for COMMAND.
counted() {
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$@" > "$work/out.txt" 2> "$work/cg.txt" || true
  grep -o 'Collected : [0-9]*' "$work/cg.txt" | grep -o '[0-9]*$'
}

ok_of_gauntlet() { python3 -c "import json; print(json.load(open('$work/out/results.json'))['summary']['totals']['ok'])"; }
ok_of_oha() { python3 -c "import json; print(sum(json.load(open('$work/out.txt'))['statusCodeDistribution'].values()))"; }

# per_request BIN: BIN's instructions per request (its run of one request subtracted).
per_request() {
  local start start_ok all ok
  peers_scenario 1 1s 256
  rm -rf "$work/out"
  start=$(counted "$1" run "$work/s.toml" --out "$work/out" --quiet)
  start_ok=$(ok_of_gauntlet)
  peers_scenario "$RATE" "${SECONDS_RUN}s" 256
  rm -rf "$work/out"
  all=$(counted "$1" run "$work/s.toml" --out "$work/out" --quiet)
  ok=$(ok_of_gauntlet)
  echo "$(( (all - start) / (ok - start_ok) )) $ok"
}
read -r g g_ok < <(per_request "$bin")
if [ -n "${BASELINE:-}" ]; then read -r b b_ok < <(per_request "$BASELINE"); fi

oha_args=(-m POST -T application/json -D "$work/body.json" -c 256 --no-tui --output-format json)
o_start=$(counted oha "$url" "${oha_args[@]}" -n 1)
o_start_ok=$(ok_of_oha)
o_all=$(counted oha "$url" "${oha_args[@]}" -q "$RATE" -z "${SECONDS_RUN}s")
o_ok=$(ok_of_oha)

python3 - "$g" "$g_ok" "$o_start" "$o_start_ok" "$o_all" "$o_ok" "$RATE" "${b:-}" "${b_ok:-}" <<'PY'
import sys
g, go, os_, oso, oa, oo = map(int, sys.argv[1:7])
rate, b, bo = sys.argv[7], sys.argv[8], sys.argv[9]
o = (oa - os_) / max(oo - oso, 1)
print(f"user-space instructions per request at {rate} TPS (callgrind, start-up subtracted):")
print(f"  gauntlet {g:,.0f} ({go:,} requests answered)")
if b:
    print(f"  baseline {int(b):,.0f} ({int(bo):,} requests answered): gauntlet / baseline {g / int(b):.2f}")
print(f"  oha      {o:,.0f} ({oo:,} requests answered)")
print(f"  gauntlet / oha: {g / o:.2f}")
PY
