//! Server-side probes: `gauntlet serve`'s own metrics scraped during a run, on the report's
//! timeline beside the failure windows; probes that fail are counted and never stop the run.

use std::net::SocketAddr;

use crate::http_server::{Behaviour, Server};
use crate::support::{read, results_json, run_into};

/// `gauntlet serve` in this process, on an ephemeral loopback port.
struct Serve {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Serve {
    fn start() -> Serve {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(gauntlet::targets::http::serve::bind(
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(gauntlet::targets::http::serve::run(listener, 3));
        Serve {
            addr,
            _runtime: runtime,
        }
    }
}

fn series(r: &serde_json::Value, probe: usize, k: usize) -> &serde_json::Value {
    &r["probes"][probe]["series"][k]
}

fn max_of(values: &[serde_json::Value]) -> f64 {
    values
        .iter()
        .filter_map(|v| v.as_f64())
        .fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn a_probe_on_serve_shows_the_scorer_queue_rising_inside_a_latency_failure() {
    let serve = Serve::start();
    let text = format!(
        r#"
[scenario]
name = "probe-serve"
seed = 4

[target]
kind = "http"
url = "http://{addr}/score"
timeout = "3s"
decision = {{ pointer = "/decision", block = ["block"], review = ["review"] }}

[[phase]]
name = "before"
duration = "5s"
load = {{ pattern = "constant", rate = 200 }}

[[phase]]
name = "during"
duration = "7s"
load = {{ pattern = "constant", rate = 200 }}

[[failure]]
name = "slow-scorer"
kind = "latency"
component = "ml-scorer"
phase = "during"
at = "0s"
duration = "4s"
delay = "500ms"

[[probe]]
name = "serve"
url = "http://{addr}/metrics"
every = "250ms"
series = [
  'gauntlet_component_queue{{component="ml-scorer"}}',
  {{ name = "scorer-calls", select = 'gauntlet_component_calls_total{{component="ml-scorer"}}', rate = true }},
  {{ name = "front-queues", select = 'gauntlet_component_queue{{component=~"gateway|decision"}}' }},
]

[[criterion]]
check = "probe.serve.gauntlet_component_queue.max >= 20"
during = "slow-scorer"

[[criterion]]
check = "probe.serve.gauntlet_component_queue.max < 5"
phase = "before"

[[criterion]]
check = "probe.serve.scorer-calls.mean > 100"
phase = "before"

[[criterion]]
check = "lost == 0"

[report]
formats = ["md", "html"]
"#,
        addr = serve.addr
    );
    let (_w, out, assert) = run_into(&text);
    let r = results_json(&out);
    let code = assert.get_output().status.code();
    let criteria: Vec<(String, String, String)> = r["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["observed"].to_string(),
            )
        })
        .collect();
    assert_eq!(code, Some(0), "criteria: {criteria:?}");
    let p = &r["probes"][0];
    assert_eq!(p["failed"], 0, "{p}");
    // Four scrapes a second for 12 s.
    let scrapes = p["scrapes"].as_u64().unwrap();
    assert!((40..=50).contains(&scrapes), "{scrapes} scrapes");
    let queue = series(&r, 0, 0)["values"].as_array().unwrap();
    assert_eq!(queue.len(), 12);
    let (before, inside) = (max_of(&queue[..5]), max_of(&queue[5..9]));
    assert!(
        before < 5.0 && inside >= 20.0,
        "scorer queue per second: {queue:?}"
    );
    // The other components' queues stay flat: the fault was inside the scorer.
    let front = series(&r, 0, 2);
    assert_eq!(front["name"], "front-queues");
    assert!(front["max"].as_f64().unwrap() < 5.0, "{front}");
    // The report puts the series on the timeline, with the failure window shaded.
    let html = read(out.join("report.html"));
    assert!(html.contains("Probe serve: gauntlet_component_queue"));
    assert!(html.contains("Probe serve: scorer-calls (per second)"));
    let md = read(out.join("report.md"));
    assert!(md.contains("## Server-side probes"), "{md}");
}

#[test]
fn a_probe_that_cannot_scrape_is_counted_shown_and_never_stops_the_run() {
    let server = Server::start(Behaviour::FailPath("/metrics"));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let text = format!(
        r#"
[scenario]
name = "probe-fails"
seed = 2

[target]
kind = "http"
url = "{url}"

[[phase]]
name = "load"
duration = "3s"
load = {{ pattern = "constant", rate = 50 }}

[[probe]]
name = "gone"
url = "http://{closed}/metrics"
series = ["up"]

[[probe]]
name = "broken"
url = "{metrics}"
every = "500ms"
series = ["up"]

[[criterion]]
check = "probe.gone.up.last == 1"

[[criterion]]
check = "lost == 0"
"#,
        url = server.url("/score"),
        metrics = server.url("/metrics"),
    );
    let (_w, out, assert) = run_into(&text);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert.code(1);
    assert!(
        stdout.contains("probe gone: ") && stdout.contains("scrapes failed (refused "),
        "{stdout}"
    );
    let r = results_json(&out);
    assert_eq!(r["summary"]["totals"]["ok"], 150);
    assert_eq!(r["summary"]["totals"]["lost"], 0);
    let gone = &r["probes"][0];
    assert!(gone["scrapes"].as_u64().unwrap() >= 3, "{gone}");
    assert_eq!(gone["failed"], gone["scrapes"]);
    assert_eq!(gone["errors"]["refused"], gone["scrapes"]);
    let broken = &r["probes"][1];
    assert!(broken["scrapes"].as_u64().unwrap() >= 6, "{broken}");
    assert_eq!(broken["errors"]["status-5xx"], broken["scrapes"]);
    assert!(
        broken["first_error"]["message"]
            .as_str()
            .unwrap()
            .contains("503"),
        "{broken}"
    );
    let c = &r["criteria"][0];
    assert_eq!(c["status"], "fail");
    assert!(c["note"].as_str().unwrap().contains("failed"), "{c}");
    assert_eq!(r["criteria"][1]["status"], "pass");
    let md = read(out.join("report.md"));
    assert!(md.contains("gone: scrapes failed (refused"), "{md}");
}

#[test]
fn a_failure_aimed_inside_the_service_reaches_exactly_the_transactions_it_hits_in_a_header() {
    let server = Server::start(Behaviour::Normal);
    let text = format!(
        r#"
[scenario]
name = "fault-header"
seed = 9

[target]
kind = "http"
url = "{url}"

[[phase]]
name = "load"
duration = "2s"
load = {{ pattern = "constant", rate = 100 }}

[[failure]]
kind = "errors"
component = "feature-store"
at = "500ms"
duration = "1s"
probability = 0.5

[[failure]]
kind = "latency"
component = "ml-scorer"
at = "1s"
duration = "500ms"
delay = "2s"

[[criterion]]
check = "latency.max < 1s"
"#,
        url = server.url("/score"),
    );
    let plan = crate::support::compile(&text);
    let (_w, out, assert) = run_into(&text);
    // The proxy delayed nothing itself: the 2 s latency was the service's to apply.
    assert.code(0);
    let r = results_json(&out);
    assert_eq!(r["summary"]["totals"]["ok"], 200);
    let mut expected: Vec<(u64, String)> = Vec::new();
    for a in plan.arrivals() {
        let hit: Vec<String> = plan
            .failures
            .iter()
            .filter(|f| a.at_ns >= f.start_ns && a.at_ns < f.end_ns && f.hits(plan.seed, a.index))
            .map(|f| match f.component.as_str() {
                "feature-store" => "feature-store:errors".to_string(),
                _ => "ml-scorer:latency;delay_ms=2000.000".to_string(),
            })
            .collect();
        if !hit.is_empty() {
            expected.push((a.index, hit.join(", ")));
        }
    }
    let mut seen = server.seen.lock().unwrap().faults.clone();
    seen.sort();
    assert!(expected.len() > 60, "{} faulted", expected.len());
    assert_eq!(seen, expected);
}
