# Shared by the benchmark scripts: `source "$(dirname "$0")/lib.sh"`.

need() { command -v "$1" >/dev/null 2>&1; }

median() { python3 -c "import statistics, sys; print(round(statistics.median(map(float, sys.argv[1:])), 3))" "$@"; }

# start_nginx DIR PORT [TLS_PORT CERT KEY]: nginx with one worker, pinned to core 0, answering
# a small JSON decision on 127.0.0.1:PORT (and over TLS and HTTP/2 on TLS_PORT); its pid file
# is DIR/nginx.pid. Waits until it answers.
start_nginx() {
  local dir=$1 port=$2 tls_port=${3:-} cert=${4:-} key=${5:-} tls=""
  if [ -n "$tls_port" ]; then
    # "listen … ssl http2" works on every nginx since 1.9.5 (1.25 prefers "http2 on").
    tls="listen 127.0.0.1:$tls_port ssl http2 reuseport backlog=4096;
    ssl_certificate $cert;
    ssl_certificate_key $key;"
  fi
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port reuseport backlog=4096;
    $tls
    default_type application/json;
    location / { return 200 '{"decision":"approve","score":0.01}'; }
  }
}
CONF
  taskset -c 0 nginx -c "$dir/nginx.conf"
  for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
}

# install_missing COMMAND:PACKAGE...: installs (Debian) the packages whose command is missing.
install_missing() {
  local missing=() pair
  for pair in "$@"; do
    need "${pair%%:*}" || missing+=("${pair#*:}")
  done
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Builds the release binary into $bin (or takes BIN, any build, such as the PGO one that
# deploy/pgo-build.sh writes to target/pgo/gauntlet), and a work folder $work removed (with
# the nginx started in it) on exit.
prepare_run() {
  if [[ -n "${BIN:-}" ]]; then
    bin=$(realpath "$BIN")
  else
    cargo build --release --quiet
    bin=$PWD/target/release/gauntlet
  fi
  work=$(mktemp -d)
  trap 'cleanup_run' EXIT
}

cleanup_run() {
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [ -n "${browser_pid:-}" ] && kill "$browser_pid" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}

# start_peers_bench PORT: what the benchmarks that put gauntlet beside oha and wrk share:
# installs nginx, wrk and taskset (Debian) and oha (crates.io) when missing, builds gauntlet
# ($bin, $work as prepare_run), starts nginx on 127.0.0.1:PORT and sets $url to it.
start_peers_bench() {
  install_missing nginx:nginx wrk:wrk taskset:util-linux
  export PATH="$HOME/.cargo/bin:$PATH"
  need oha || cargo install oha --locked --quiet
  prepare_run
  start_nginx "$work" "$1"
  url="http://127.0.0.1:$1/score"
}

# peers_scenario RATE DURATION CONNECTIONS: writes $work/s.toml, a constant RATE against $url
# for DURATION over CONNECTIONS, each answer's decision read, no reports.
peers_scenario() {
  cat > "$work/s.toml" <<TOML
[scenario]
name = "peers"
seed = 1
[target]
kind = "http"
url = "$url"
connections = $3
timeout = "2s"
decision = { pointer = "/decision", block = ["block"] }
[[phase]]
name = "load"
duration = "$2"
load = { pattern = "constant", rate = $1 }
[report]
formats = []
TOML
}

# peers_body: writes $work/body.json, the body oha and wrk send: transaction 0 of peak-load's
# plan, as gauntlet sends it.
peers_body() {
  "$bin" plan scenarios/peak-load.toml --format json --arrivals 1 |
    python3 -c "import json, sys; print(json.dumps(json.load(sys.stdin)['arrivals'][0]['transaction'], separators=(',', ':')), end='')" > "$work/body.json"
}
