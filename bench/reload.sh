#!/usr/bin/env bash
# Hot reload of a running http test, end to end, against `gauntlet serve` on loopback.
#
#   bash bench/reload.sh
#
# 1. A 20 s scenario at 500 TPS runs with `run --watch`; about 5 s in, the file is rewritten
#    (the way vim saves: a temporary file renamed over it) to 1,500 TPS. Prints the reload
#    recorded, the mean planned and answered rate of the whole seconds before and after it,
#    the largest deviation of any of those seconds from its rate, and what was lost.
# 2. The same scenario rewritten about 5 s in with an invalid rate: prints the refused reload
#    and its diagnostics, the rate after it (the old plan's), and the exit code, which is the
#    criteria's verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/gauntlet

work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=18090
"$bin" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

scenario() { # rate
  cat <<EOF
[scenario]
name = "reload-demo"
seed = 21

[target]
kind = "http"
url = "http://127.0.0.1:$port/score"
timeout = "1s"
decision = { pointer = "/decision", block = ["block"], review = ["review"] }

[[phase]]
name = "load"
duration = "20s"
load = { pattern = "constant", rate = $1 }

[[criterion]]
check = "lost == 0"

[[criterion]]
check = "latency.p95 < 500ms"
EOF
}

save() { # text
  printf '%s\n' "$1" >"$work/s.toml.tmp~"
  mv "$work/s.toml.tmp~" "$work/s.toml"
}

summarise() { # results.json, before rate, after rate, exit code
  python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); before, after, code = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for x in r["reloads"]:
    what = x["changes"] if x["accepted"] else x["errors"]
    print(f"  reload at {x['at_ms']} ms: {'accepted' if x['accepted'] else 'REFUSED'}")
    for line in what:
        print(f"    {line}")
at = r["reloads"][0]["at_ms"]
pre = [s for s in r["timeline"] if (s["t"] + 1) * 1000 <= at]
post = [s for s in r["timeline"] if s["t"] * 1000 >= at and s["t"] < 20]
def show(name, secs, rate):
    planned = sum(s["planned"] for s in secs) / len(secs)
    ok = sum(s["ok"] for s in secs) / len(secs)
    worst = max(abs(s["planned"] - rate) / rate for s in secs)
    print(f"  {name}: {len(secs)} whole seconds, planned {planned:.1f}/s, ok {ok:.1f}/s "
          f"({(planned - rate) / rate:+.2%} of {rate}; worst second {worst:.2%})")
show("before", pre, before)
show("after ", post, after)
t = r["summary"]["totals"]
print(f"  totals: planned {t['planned']}, ok {t['ok']}, errors {t['errors']}, timeouts {t['timeouts']}, "
      f"dropped {t['dropped']}, cancelled {t['cancelled']}, lost {t['lost']}")
print(f"  verdict: {'passed' if r['verdict']['passed'] else 'failed'}; exit code {code}; "
      f"generator lag p99 {r['generator']['lag_ms']['p99']} ms")
PY
}

run_case() { # new text, before rate, after rate
  save "$(scenario 500)"
  "$bin" run "$work/s.toml" --watch --quiet --out "$work/out" >"$work/stdout" 2>"$work/stderr" &
  local pid=$!
  for _ in $(seq 200); do grep -q watching "$work/stderr" && break; sleep 0.05; done
  sleep 5
  save "$1"
  local code=0
  wait "$pid" || code=$?
  summarise "$work/out/results.json" "$2" "$3" "$code"
  rm -rf "$work/out"
}

echo "1. 500 TPS rewritten to 1,500 TPS about 5 s into a 20 s run"
run_case "$(scenario 1500)" 500 1500
echo
echo "2. 500 TPS rewritten with an invalid rate about 5 s in"
run_case "$(scenario 500 | sed 's/rate = 500/rate = "fast"/')" 500 500
