#!/usr/bin/env bash
# HTTPS and HTTP/2 against nginx with a self-signed certificate, beside oha over the same TLS
# server in the same run. nginx (one worker) is pinned to core 0, every generator to core 1.
# Installs nginx and openssl (Debian) and oha (crates.io) if missing.
#
#   bash bench/https.sh          # about 2 minutes
#   RUNS=5 bash bench/https.sh
#
# Figures:
#   1. 5,000 TPS for 10 s over TLS with the certificate as [target.tls] ca: ok = planned, lost
#      0, generator lag p99; the same without ca (tls-certificate errors and the message); the
#      same with http = "2".
#   2. CPU seconds per 100,000 requests at 10,000 TPS (user + system; medians of RUNS):
#      gauntlet over plain HTTP and over TLS, and oha over the same two; the TLS/plain ratio of
#      each.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${RUNS:-3}
install_missing nginx:nginx openssl:openssl taskset:util-linux
export PATH="$HOME/.cargo/bin:$PATH"
need oha || cargo install oha --locked --quiet
prepare_run

# A self-signed server certificate (not a CA: webpki refuses a CA certificate as the server's).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=digitalSignature" -addext "extendedKeyUsage=serverAuth" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
plain=18090; tls=18443
start_nginx "$work" "$plain" "$tls" "$work/cert.pem" "$work/key.pem"

scenario() { # url rate duration [target extra]
  cat > "$work/s.toml" <<TOML
[scenario]
name = "bench-https"
seed = 1
[target]
kind = "http"
url = "$1"
connections = 256
max_in_flight = 100000
timeout = "2s"
decision = { pointer = "/decision", block = ["block"] }
${4:-}
[[phase]]
name = "load"
duration = "$3"
load = { pattern = "constant", rate = $2 }
TOML
}
# prints "planned ok lost lagp99 cpu errors_by_kind"
gauntlet_run() {
  rm -rf "$work/out"
  taskset -c 1 /usr/bin/time -f '%U %S' -o "$work/time" "$bin" run "$work/s.toml" --out "$work/out" --quiet >/dev/null 2>"$work/stderr" || true
  if [ ! -f "$work/out/results.json" ]; then echo "the run failed: $(cat "$work/stderr")" >&2; exit 1; fi
  python3 - "$work/out/results.json" "$work/time" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); u, s = open(sys.argv[2]).read().split()
t = r["summary"]["totals"]
other = {k: t[k] for k in ("timeouts", "dropped") if t[k]}
kinds = dict(r["errors_by_kind"], **other)
print(t["planned"], t["ok"], t["lost"], r["generator"]["lag_ms"]["p99"], round(float(u) + float(s), 3), json.dumps(kinds, separators=(",", ":")))
PY
}
oha_cpu() { # url
  taskset -c 1 /usr/bin/time -f '%U %S' -o "$work/time" oha "$1" -m POST -d '{}' -q 10000 -n 100000 -c 256 --insecure --no-tui --output-format json > "$work/oha.json" 2>/dev/null || true
  python3 -c "u, s = open('$work/time').read().split(); print(round(float(u) + float(s), 3))"
}

echo "== 1. 5,000 TPS for 10 s over TLS (nginx on core 0, gauntlet on core 1)"
cp "$work/cert.pem" "$work/ca.pem"
scenario "https://127.0.0.1:$tls/score" 5000 10s "[target.tls]
ca = \"$work/ca.pem\""
read -r planned ok lost lag cpu kinds < <(gauntlet_run)
echo "with ca: planned $planned, ok $ok, lost $lost, generator lag p99 ${lag} ms"
scenario "https://127.0.0.1:$tls/score" 5000 10s
read -r planned ok lost lag cpu kinds < <(gauntlet_run)
echo "without ca: planned $planned, ok $ok, lost $lost, errors $kinds; stderr: $(head -1 "$work/stderr")"
scenario "https://127.0.0.1:$tls/score" 5000 10s "http = \"2\"
[target.tls]
ca = \"$work/ca.pem\""
sed -i 's/^connections = 256$/connections = 8/' "$work/s.toml"
read -r planned ok lost lag cpu kinds < <(gauntlet_run)
echo "http = \"2\" (8 connections): planned $planned, ok $ok, lost $lost, generator lag p99 ${lag} ms"

echo
echo "== 2. CPU seconds per 100,000 requests at 10,000 TPS (medians of $RUNS)"
g_plain=(); g_tls=(); o_plain=(); o_tls=()
for _ in $(seq "$RUNS"); do
  scenario "http://127.0.0.1:$plain/score" 10000 10s
  read -r planned ok lost lag cpu kinds < <(gauntlet_run); g_plain+=("$cpu")
  scenario "https://127.0.0.1:$tls/score" 10000 10s "[target.tls]
ca = \"$work/ca.pem\""
  read -r planned ok lost lag cpu kinds < <(gauntlet_run); g_tls+=("$cpu")
  o_plain+=("$(oha_cpu "http://127.0.0.1:$plain/score")")
  o_tls+=("$(oha_cpu "https://127.0.0.1:$tls/score")")
done
gp=$(median "${g_plain[@]}"); gt=$(median "${g_tls[@]}"); op=$(median "${o_plain[@]}"); ot=$(median "${o_tls[@]}")
echo "gauntlet: plain ${gp} s (${g_plain[*]}), TLS ${gt} s (${g_tls[*]})"
echo "oha:      plain ${op} s (${o_plain[*]}), TLS ${ot} s (${o_tls[*]})"
python3 -c "print('TLS / plain: gauntlet %.2f, oha %.2f; gauntlet / oha over TLS %.2f' % ($gt / $gp, $ot / $op, $gt / $ot))"
