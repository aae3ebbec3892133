//! The live dashboard and control of a running test, through the binary as a user meets them:
//! `run --dashboard` on an ephemeral loopback port, its JSON and OpenMetrics answers, pause,
//! resume and stop from `POST /api/control` and from signals, and `gauntlet demo`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http_server::{Behaviour, Server};
use super::support::{Lines, results_json, write};

/// One HTTP/1.1 exchange with the dashboard: (status, content type, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("the dashboard accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (ctype, data) = body.unwrap_or(("", ""));
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    if body.is_some() {
        req.push_str(&format!(
            "content-type: {ctype}\r\ncontent-length: {}\r\n",
            data.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(data);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head[9..12].parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    // Chunked bodies (hyper's for streamed answers) are not read by these tests.
    (status, ctype, rest.to_string())
}

fn live(addr: SocketAddr) -> Value {
    let (status, _, body) = http(addr, "GET", "/api/live", None);
    assert_eq!(status, 200);
    serde_json::from_str(&body).expect("/api/live is JSON")
}

fn control(addr: SocketAddr, action: &str) -> (u16, String) {
    let body = format!("{{\"action\":\"{action}\"}}");
    let (status, _, text) = http(
        addr,
        "POST",
        "/api/control",
        Some(("application/json", &body)),
    );
    (status, text)
}

/// Polls `/api/live` (every 20 ms, up to 30 s) until `done` holds; the answer that did.
fn wait_live(addr: SocketAddr, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let l = live(addr);
        if done(&l) {
            return l;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} never came; last /api/live: {l}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `gauntlet run FILE --dashboard --listen 127.0.0.1:0 ARGS…` and reads where it
/// serves.
fn start(file: &std::path::Path, out: &std::path::Path, args: &[&str]) -> (Lines, SocketAddr) {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
    cmd.arg("run")
        .arg(file)
        .args(["--dashboard", "--listen", "127.0.0.1:0", "--quiet", "--out"])
        .arg(out)
        .args(args);
    let mut child = Lines::stderr(cmd);
    let addr = serving_at(&mut child);
    (child, addr)
}

/// Where the dashboard of `child` serves, from its `dashboard: http://ADDR/` line.
fn serving_at(child: &mut Lines) -> SocketAddr {
    let line = child.expect("dashboard: http://");
    line.trim()
        .trim_start_matches("dashboard: http://")
        .trim_end_matches('/')
        .parse()
        .expect("an address")
}

/// Sends `signal` (`-INT`, `-USR1`, ...) to the process `child`.
fn signal(child: &Lines, signal: &str) {
    let pid = child.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
}

fn sim(duration: &str, rate: u32, extra: &str) -> String {
    format!(
        "[scenario]\nname = \"dash\"\nseed = 3\n\n[[phase]]\nname = \"main\"\nduration = \"{duration}\"\nload = {{ pattern = \"constant\", rate = {rate} }}\n{extra}\n[[criterion]]\ncheck = \"lost == 0\"\n\n[[criterion]]\ncheck = \"latency.p95 < 2s\"\n"
    )
}

fn accounted(r: &Value) {
    let t = &r["summary"]["totals"];
    let g = |k: &str| t[k].as_u64().unwrap();
    assert_eq!(
        g("planned"),
        g("ok") + g("errors") + g("timeouts") + g("dropped") + g("cancelled"),
        "{t}"
    );
    assert_eq!(t["lost"], 0);
}

#[test]
fn a_paced_run_serves_live_figures_that_grow_and_stops_from_the_dashboard() {
    let w = write(
        "s.toml",
        &sim(
            "2m",
            200,
            "\n[[failure]]\nname = \"scorer-down\"\nkind = \"crash\"\ncomponent = \"ml-scorer\"\nat = \"2s\"\nduration = \"1m\"\n",
        ),
    );
    let out = w.dir.path().join("out");
    let (child, addr) = start(&w.path, &out, &["--pace", "4x"]);

    let first = wait_live(addr, "a second with traffic", |l| {
        l["throughput"].as_u64().is_some_and(|t| t > 0)
    });
    assert_eq!(first["state"], "running");
    assert_eq!(first["duration_ms"], 120_000);
    assert_eq!(first["phase"], "main");
    assert_eq!(first["planned_rate"], 200.0);
    for key in ["p50", "p95", "p99"] {
        assert!(first["latency_ms"][key].is_number(), "{first}");
    }
    assert_eq!(first["components"].as_array().unwrap().len(), 5);
    assert_eq!(first["criteria"].as_array().unwrap().len(), 2);
    let later = wait_live(addr, "elapsed time growing", |l| {
        l["elapsed_ms"].as_u64() > first["elapsed_ms"].as_u64()
            && !l["active_failures"].as_array().unwrap().is_empty()
    });
    assert_eq!(later["active_failures"][0], "scorer-down");
    let scorer = later["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "ml-scorer")
        .unwrap()
        .clone();
    assert!(
        scorer["health"].as_f64().unwrap() < 0.5,
        "a crashed scorer is not healthy: {scorer}"
    );

    // The page and its routes.
    let (status, ctype, page) = http(addr, "GET", "/", None);
    assert_eq!((status, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains("id=\"failure-banner\"") && page.contains("EventSource"));
    // The only outside address is the SVG namespace of the inline icon, which is never fetched.
    let outside = page.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !outside.contains("http://") && !outside.contains("https://") && !outside.contains("//cdn"),
        "the page fetches nothing from another host"
    );
    let (status, _, _) = http(addr, "GET", "/report", None);
    assert_eq!(status, 404, "no report before the run is over");
    let (status, ctype, metrics) = http(addr, "GET", "/metrics", None);
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/openmetrics-text; version=1.0.0"));
    assert!(metrics.ends_with("# EOF\n"));
    assert!(metrics.contains(
        "gauntlet_failure_active{failure=\"scorer-down\",component=\"ml-scorer\",kind=\"crash\"} 1"
    ));

    let (status, _) = control(addr, "stop");
    assert_eq!(status, 202);
    let (code, _) = child.finish();
    assert_eq!(
        code, 130,
        "a stop from the dashboard ends the run as Ctrl-C does"
    );
    let r = results_json(&out);
    assert_eq!(r["interrupted"], true);
    accounted(&r);
    assert!(r["summary"]["totals"]["cancelled"].as_u64().unwrap() > 0);
    let controls = r["controls"].as_array().unwrap();
    assert_eq!(controls.len(), 1);
    assert_eq!(controls[0]["action"], "stop");
    assert!(controls[0]["at_ms"].as_u64().unwrap() >= later["elapsed_ms"].as_u64().unwrap());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("class=\"event stop\""),
        "the stop is marked on the charts"
    );
}

#[test]
fn pausing_an_http_run_sends_nothing_while_paused_and_loses_nothing() {
    let server = Server::start(Behaviour::Normal);
    let text = format!(
        "[scenario]\nname = \"paused\"\nseed = 5\n\n[target]\nkind = \"http\"\nurl = \"http://{}/score\"\ntimeout = \"1s\"\n\n[[phase]]\nname = \"load\"\nduration = \"6s\"\nload = {{ pattern = \"constant\", rate = 200 }}\n\n[[criterion]]\ncheck = \"lost == 0\"\n",
        server.addr
    );
    let w = write("s.toml", &text);
    let out = w.dir.path().join("out");
    let (child, addr) = start(&w.path, &out, &[]);
    wait_live(addr, "traffic", |l| {
        l["totals"]["ok"].as_u64().is_some_and(|n| n > 100)
    });
    let (status, _) = control(addr, "pause");
    assert_eq!(status, 202);
    let paused = wait_live(addr, "the pause", |l| l["state"] == "paused");
    assert_eq!(paused["throughput"], 0);
    assert_eq!(paused["planned_rate"], 0.0);
    // What was handed out just before the pause may still arrive; give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let at_pause = server.seen.lock().unwrap().requests;
    let paused_at = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let during = server
        .seen
        .lock()
        .unwrap()
        .arrived
        .iter()
        .filter(|t| **t > paused_at)
        .count();
    assert_eq!(during, 0, "requests were sent while paused");
    assert_eq!(server.seen.lock().unwrap().requests, at_pause);
    let still = live(addr);
    assert_eq!(
        still["elapsed_ms"], paused["elapsed_ms"],
        "plan time stands still"
    );
    let (status, _) = control(addr, "resume");
    assert_eq!(status, 202);
    let (code, _) = child.finish();
    assert_eq!(code, 0);

    let r = results_json(&out);
    accounted(&r);
    let t = &r["summary"]["totals"];
    assert_eq!(
        t["planned"], 1200,
        "the pause shifts the plan, it does not shorten it"
    );
    assert_eq!(t["cancelled"], 0);
    assert_eq!(server.seen.lock().unwrap().requests, 1200);
    let controls = r["controls"].as_array().unwrap();
    let actions: Vec<&str> = controls
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["pause", "resume"]);
    assert_eq!(
        controls[0]["at_ms"], controls[1]["at_ms"],
        "plan time stood still"
    );
    let paused_for =
        controls[1]["wall_ms"].as_u64().unwrap() - controls[0]["wall_ms"].as_u64().unwrap();
    assert!(
        paused_for >= 3_000,
        "paused for {paused_for} ms of wall time"
    );
    // The pause is not latency: nothing waited through it.
    let max = r["summary"]["latency_ms"]["max"].as_f64().unwrap();
    assert!(max < 1_000.0, "the pause is not latency: max {max} ms");
}

#[test]
fn ctrl_c_ends_a_dashboard_run_with_130_and_its_results() {
    let w = write("s.toml", &sim("5m", 100, ""));
    let out = w.dir.path().join("out");
    let (child, addr) = start(&w.path, &out, &["--pace", "realtime"]);
    wait_live(addr, "a first second", |l| {
        l["elapsed_ms"].as_u64().is_some_and(|t| t >= 1000)
    });
    signal(&child, "-INT");
    let (code, _) = child.finish();
    assert_eq!(code, 130);
    let r = results_json(&out);
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["verdict"]["status"], "interrupted");
    accounted(&r);
    assert!(
        r["controls"].as_array().unwrap().is_empty(),
        "Ctrl-C is not a control action"
    );
}

#[test]
fn sigusr1_pauses_and_sigusr2_resumes_a_run_without_a_dashboard() {
    let w = write("s.toml", &sim("4s", 100, ""));
    let out = w.dir.path().join("out");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
    cmd.arg("run")
        .arg(&w.path)
        .args(["--pace", "realtime", "--out"])
        .arg(&out);
    let mut child = Lines::stderr(cmd);
    // The results folder is made once the run is ready to start.
    let started = Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never started"
        );
        std::thread::yield_now();
    }
    signal(&child, "-USR1");
    child.expect("paused at");
    signal(&child, "-USR2");
    child.expect("resumed at");
    let (code, _) = child.finish();
    assert_eq!(code, 0);
    let r = results_json(&out);
    accounted(&r);
    assert_eq!(r["summary"]["totals"]["planned"], 400);
    let actions: Vec<&str> = r["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["pause", "resume"]);
}

#[test]
fn the_control_route_refuses_what_it_cannot_take() {
    let w = write("s.toml", &sim("1m", 50, ""));
    let out = w.dir.path().join("out");
    let (child, addr) = start(&w.path, &out, &["--pace", "realtime"]);
    wait_live(addr, "the run starting", |l| l["state"] == "running");
    let (status, body) = control(addr, "explode");
    assert_eq!(status, 400);
    assert!(body.contains("unknown action \\\"explode\\\""), "{body}");
    let (status, _, _) = http(
        addr,
        "POST",
        "/api/control",
        Some(("text/plain", "{\"action\":\"stop\"}")),
    );
    assert_eq!(
        status, 415,
        "only JSON: another site's page cannot post it without asking"
    );
    let (status, _, _) = http(
        addr,
        "POST",
        "/api/control",
        Some(("application/json", "pause")),
    );
    assert_eq!(status, 400);
    let (status, _, _) = http(addr, "GET", "/api/control", None);
    assert_eq!(status, 405);
    let (status, _, _) = http(addr, "GET", "/nothing", None);
    assert_eq!(status, 404);
    assert_eq!(
        live(addr)["state"],
        "running",
        "nothing above changed the run"
    );
    drop(child);
}

#[test]
fn a_public_address_is_warned_about_and_a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let w = write("s.toml", &sim("2s", 10, ""));
    super::support::gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--dashboard", "--listen", &format!("127.0.0.1:{port}")])
        .assert()
        .code(3)
        .stderr(predicates::str::contains(format!(
            "--listen 127.0.0.1:{port}: the dashboard cannot listen there"
        )));
    let out = w.dir.path().join("out");
    super::support::gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--dashboard", "--listen", "0.0.0.0:0", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: the dashboard listens on 0.0.0.0:0, reachable from other machines",
        ));
}

#[test]
fn pace_factors_are_checked() {
    let w = write("s.toml", &sim("2s", 10, ""));
    for bad in ["0x", "-2x", "fastest", "1e9x"] {
        super::support::gauntlet()
            .arg("run")
            .arg(&w.path)
            .args(["--pace", bad])
            .assert()
            .code(2);
    }
    let http = write(
        "h.toml",
        "[scenario]\nname = \"h\"\nseed = 1\n[target]\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\n[[phase]]\nname = \"p\"\nduration = \"1s\"\nload = { pattern = \"constant\", rate = 1 }\n",
    );
    super::support::gauntlet()
        .arg("run")
        .arg(&http.path)
        .args(["--pace", "10x"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "an http target runs in real time",
        ));
}

#[test]
fn a_paced_run_takes_its_virtual_time_over_the_factor() {
    let w = write("s.toml", &sim("20s", 20, ""));
    let out = w.dir.path().join("out");
    let started = Instant::now();
    super::support::gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--pace", "10x", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    // A lower bound only: 20 virtual seconds at 10x cannot end before 2 wall seconds (a
    // busy machine only makes it longer).
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    accounted(&results_json(&out));
}

#[test]
fn demo_runs_from_an_empty_folder_and_writes_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let assert = super::support::gauntlet()
        .current_dir(dir.path())
        .args([
            "demo",
            "--no-open",
            "--pace",
            "120x",
            "--listen",
            "127.0.0.1:0",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("dashboard: http://127.0.0.1:"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("investor-demo: PASSED"), "{stdout}");
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("results/investor-demo"))
        .expect("results/investor-demo is made")
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].as_ref().unwrap().path();
    let r = results_json(&run);
    assert_eq!(r["scenario"], "investor-demo");
    accounted(&r);
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["scenario_file"], "investor-demo.toml (built in)");
}

/// Reads a server-sent event stream until a frame of `event` whose data contains `needle`.
fn expect_event(stream: &mut std::io::BufReader<TcpStream>, event: &str, needle: &str) -> String {
    use std::io::BufRead;
    let mut current = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = stream
            .read_line(&mut line)
            .expect("the event stream stays open");
        assert!(
            n > 0,
            "the event stream ended before a {event} event with {needle}"
        );
        let l = line.trim_end();
        if let Some(name) = l.strip_prefix("event: ") {
            current = name.to_string();
        } else if let Some(data) = l.strip_prefix("data: ")
            && current == event
            && data.contains(needle)
        {
            return data.to_string();
        }
    }
}

#[test]
fn the_event_stream_tells_of_every_second_failures_and_controls() {
    let w = write(
        "s.toml",
        &sim(
            "2m",
            100,
            "\n[[failure]]\nname = \"rules-slow\"\nkind = \"latency\"\ncomponent = \"rules-engine\"\nat = \"3s\"\nduration = \"2s\"\ndelay = \"50ms\"\n",
        ),
    );
    let out = w.dir.path().join("out");
    let (child, addr) = start(&w.path, &out, &["--pace", "2x"]);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(format!("GET /api/events HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    let mut events = std::io::BufReader::new(s);
    let first = expect_event(&mut events, "live", "\"state\":\"running\"");
    let first: Value = serde_json::from_str(&first).unwrap();
    assert!(first["totals"].is_object() && first["criteria"].is_array());
    let start = expect_event(&mut events, "failure", "\"edge\":\"start\"");
    assert!(
        start.contains("\"name\":\"rules-slow\"") && start.contains("\"at_ms\":3000"),
        "{start}"
    );
    let end = expect_event(&mut events, "failure", "\"edge\":\"end\"");
    assert!(end.contains("\"at_ms\":5000"), "{end}");
    let later = expect_event(&mut events, "live", "\"points\":[{");
    let later: Value = serde_json::from_str(&later).unwrap();
    assert!(later["elapsed_ms"].as_u64() > first["elapsed_ms"].as_u64());
    assert_eq!(control(addr, "pause").0, 202);
    let paused = expect_event(&mut events, "control", "\"action\":\"pause\"");
    let paused: Value = serde_json::from_str(&paused).unwrap();
    assert!(paused["at_ms"].as_u64().unwrap() >= 5_000);
    expect_event(&mut events, "live", "\"state\":\"paused\"");
    assert_eq!(control(addr, "stop").0, 202);
    expect_event(&mut events, "control", "\"action\":\"stop\"");
    expect_event(&mut events, "finished", "\"verdict\":\"interrupted\"");
    let (code, _) = child.finish();
    assert_eq!(code, 130);
}

#[test]
fn linger_keeps_serving_the_final_state_and_the_report() {
    let w = write("s.toml", &sim("3s", 50, ""));
    let out = w.dir.path().join("out");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
    cmd.arg("run")
        .arg(&w.path)
        .args([
            "--dashboard",
            "--listen",
            "127.0.0.1:0",
            "--linger",
            "5m",
            "--quiet",
            "--out",
        ])
        .arg(&out);
    let mut child = Lines::stderr(cmd);
    let addr = serving_at(&mut child);
    child.expect("serving the final state");
    let l = live(addr);
    assert_eq!(l["state"], "finished");
    assert_eq!(l["verdict"], "passed");
    assert_eq!(l["totals"]["planned"], 150);
    assert_eq!(l["totals"]["ok"], 150);
    let (status, ctype, html) = http(addr, "GET", "/report", None);
    assert_eq!((status, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert!(html.contains("PASSED"));
    assert_eq!(
        control(addr, "pause").0,
        409,
        "a finished run takes no control"
    );
    signal(&child, "-INT");
    let (code, _) = child.finish();
    assert_eq!(
        code, 0,
        "Ctrl-C while lingering ends the dashboard, not the verdict"
    );
}

/// A secret planted in the environment and another given with `--env` reach the service and
/// nothing else: no file of the run, no log line (at the most verbose level), no page or feed
/// of the dashboard.
#[test]
fn a_planted_secret_reaches_the_service_and_no_output_log_or_dashboard() {
    const A: &str = "pl4nted-s3cret-a";
    const B: &str = "pl4nted-s3cret-b";
    let server = Server::start(Behaviour::Normal);
    let text = format!(
        "[scenario]\nname = \"secret\"\nseed = 2\n\n[target]\nkind = \"http\"\nurl = \"{}\"\nheaders = {{ authorization = \"Bearer ${{PLANTED_A}}\", x-api-key = \"${{PLANTED_B}}\" }}\n\n[[phase]]\nname = \"p\"\nduration = \"3s\"\nload = {{ pattern = \"constant\", rate = 50 }}\n\n[[failure]]\nname = \"slow\"\nkind = \"latency\"\ncomponent = \"upstream\"\nat = \"1s\"\nduration = \"1s\"\ndelay = \"5ms\"\n\n[report]\nformats = [\"md\", \"html\", \"junit\", \"summary\"]\n",
        server.url("/score")
    );
    let w = write("s.toml", &text);
    let out = w.dir.path().join("out");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
    cmd.args(["-vvv", "run"])
        .arg(&w.path)
        .args(["--dashboard", "--listen", "127.0.0.1:0", "--linger", "2s"])
        .args(["--env", &format!("PLANTED_B={B}"), "--out"])
        .arg(&out)
        .env("PLANTED_A", A);
    let mut child = Lines::stderr(cmd);
    let addr = serving_at(&mut child);
    let mut pages = String::new();
    for path in ["/", "/api/live", "/metrics"] {
        pages.push_str(&http(addr, "GET", path, None).2);
    }
    child.expect("dashboard: serving the final state");
    for path in ["/api/live", "/metrics", "/report"] {
        pages.push_str(&http(addr, "GET", path, None).2);
    }
    let (code, lines) = child.finish();
    assert_eq!(code, 0, "{lines:?}");
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.headers.iter().any(|h| h.contains(A) && h.contains(B)),
        "the service got both secrets"
    );
    let mut outputs = vec![
        ("dashboard".to_string(), pages),
        ("stderr".to_string(), lines.join("\n")),
    ];
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        outputs.push((
            path.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&path).unwrap()).to_string(),
        ));
    }
    assert!(
        outputs.len() >= 7,
        "results, run and four reports: {}",
        outputs.len()
    );
    for (what, text) in &outputs {
        assert!(!text.contains(A) && !text.contains(B), "a secret in {what}");
    }
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(
        run["command"].to_string().contains("PLANTED_B=***"),
        "{}",
        run["command"]
    );
}
