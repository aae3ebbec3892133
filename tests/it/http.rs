//! Real services: the http target, the open-model scheduler, the fault proxy and misbehaving
//! servers. Every test talks to an in-process server on 127.0.0.1, for a few seconds at most;
//! assertions are about counts and outcomes, with latency only where a stall forces it.

use serde_json::Value;

use super::http_server::{Behaviour, Server};
use super::support::{gauntlet, write};

fn scenario(url: &str, rate: u32, duration: &str, extra: &str) -> String {
    format!(
        r#"[scenario]
name = "http-test"
seed = 11

[target]
kind = "http"
url = "{url}"
timeout = "500ms"
decision = {{ pointer = "/verdict/action", block = ["deny"] }}

[[phase]]
name = "load"
duration = "{duration}"
load = {{ pattern = "constant", rate = {rate} }}
{extra}
[report]
formats = ["md", "html", "junit"]
"#
    )
}

/// Runs a scenario with the binary; (exit code, results.json, output folder guard).
fn run(text: &str) -> (i32, Value, super::support::Written) {
    let (w, out, assert) = super::support::run_into(text);
    let code = assert.get_output().status.code().unwrap_or(-1);
    let results = std::fs::read_to_string(out.join("results.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (code, results, w)
}

fn totals(r: &Value) -> (u64, u64, u64, u64, u64, u64) {
    let t = &r["summary"]["totals"];
    let g = |k: &str| t[k].as_u64().unwrap();
    (
        g("planned"),
        g("ok"),
        g("errors"),
        g("timeouts"),
        g("dropped"),
        g("cancelled"),
    )
}

fn assert_accounted(r: &Value) {
    let (planned, ok, errors, timeouts, dropped, cancelled) = totals(r);
    assert_eq!(
        planned,
        ok + errors + timeouts + dropped + cancelled,
        "{:?}",
        r["summary"]["totals"]
    );
    assert_eq!(r["summary"]["totals"]["lost"], 0);
}

#[test]
fn a_healthy_service_answers_everything_with_decisions_read_by_pointer() {
    let server = Server::start(Behaviour::Normal);
    let (code, r, w) = run(&scenario(
        &server.url("/score"),
        200,
        "2s",
        "\n[[criterion]]\ncheck = \"fraud.recall == 100%\"\n",
    ));
    assert_eq!(code, 0, "{r}");
    assert_accounted(&r);
    assert_eq!(totals(&r), (400, 400, 0, 0, 0, 0));
    // The server blocks exactly the fraudulent transactions: recall 1, no false positives.
    assert_eq!(r["summary"]["fraud"]["recall"], 1.0);
    assert_eq!(r["summary"]["fraud"]["false_positive_rate"], 0.0);
    assert_eq!(server.seen.lock().unwrap().requests, 400);
    for f in ["report.md", "report.html", "junit.xml"] {
        assert!(w.dir.path().join("out").join(f).is_file());
    }
    assert_eq!(r["target"], "http");
    // Every answer gave a decision: no `unread` count.
    assert!(r["summary"]["decisions"].get("unread").is_none(), "{r}");
}

/// An http run ends once its last answer is in, which is before the plan's end: a run that
/// went to its end is still judged over its planned windows, so the run and its one phase
/// agree on throughput (8 ok over 2 s, not over the 1.75 s or so to the last answer).
#[test]
fn a_complete_run_is_judged_over_its_whole_plan_though_its_last_answer_came_earlier() {
    let server = Server::start(Behaviour::Normal);
    let (code, r, _w) = run(&scenario(
        &server.url("/score"),
        4,
        "2s",
        "\n[[criterion]]\ncheck = \"throughput == 4\"\n",
    ));
    assert_eq!(code, 0, "{r}");
    assert_eq!(totals(&r), (8, 8, 0, 0, 0, 0));
    assert!(r["ended_ms"].as_u64().unwrap() < 2_000, "{}", r["ended_ms"]);
    assert_eq!(r["summary"]["throughput"], 4.0);
    assert_eq!(r["phases"][0]["summary"]["throughput"], 4.0);
    assert_eq!(r["criteria"][0]["observed"], 4.0, "{}", r["criteria"][0]);
}

/// `http = "2"` against a service that speaks only HTTP/1.1: one that answers the HTTP/2
/// preface in HTTP/1.x gives `bad-response`, one that hangs up stays `reset`; either way the
/// terminal says once what is likely wrong.
#[test]
fn http2_to_a_service_without_it_says_so() {
    for (behaviour, kind, said) in [
        (
            Behaviour::Status(400),
            "bad-response",
            "answered HTTP/2 in HTTP/1.x",
        ),
        (
            Behaviour::Reset,
            "reset",
            "closed an HTTP/2 connection without answering it",
        ),
    ] {
        let server = Server::start(behaviour);
        let text = scenario(&server.url("/score"), 20, "1s", "")
            .replace("timeout = \"500ms\"", "timeout = \"500ms\"\nhttp = \"2\"");
        let (_w, out, assert) = super::support::run_into(&text);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert_eq!(stderr.matches(said).count(), 1, "{stderr}");
        let r = super::support::results_json(&out);
        assert_accounted(&r);
        assert_eq!(r["errors_by_kind"][kind], 20, "{}", r["errors_by_kind"]);
    }
}

#[test]
fn answers_without_a_decision_are_counted_and_left_out_of_the_fraud_figures() {
    let server = Server::start(Behaviour::Body("<html>not json</html>"));
    let (w, out, assert) =
        super::support::run_into(&scenario(&server.url("/score"), 100, "1s", ""));
    let _keep = w;
    let assert = assert.code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("decisions: 100 ok answers had no decision to read"),
        "{stdout}"
    );
    let r = super::support::results_json(&out);
    assert_eq!(totals(&r), (100, 100, 0, 0, 0, 0));
    let d = &r["summary"]["decisions"];
    assert_eq!(
        (d["unread"].as_u64(), d["approve"].as_u64()),
        (Some(100), Some(0)),
        "{d}"
    );
    let f = &r["summary"]["fraud"];
    assert_eq!(
        (f["fraud"].as_u64(), f["legit"].as_u64()),
        (Some(0), Some(0)),
        "{f}"
    );
    assert!(f["recall"].is_null(), "{f}");
    for report in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(out.join(report)).unwrap();
        assert!(text.contains("100 with no decision to read"), "{report}");
    }
}

#[test]
fn headers_expand_the_environment_and_templates_shape_the_body() {
    let server = Server::start(Behaviour::Normal);
    let w = write(
        "body.j2",
        r#"{"id": {{ tx.id | tojson }}, "cents": {{ tx.amount_usd_cents }}, "fraud": {{ tx.is_fraud | tojson }}}"#,
    );
    let text = scenario(&server.url("/score"), 50, "1s", "")
        .replace("timeout = \"500ms\"", "timeout = \"500ms\"\nheaders = { authorization = \"Bearer ${GAUNTLET_TEST_SECRET}\", x-team = \"fraud\" }\nbody = { template = \"body.j2\" }");
    let path = w.dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let out = w.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .env("GAUNTLET_TEST_SECRET", "t0ps3cret")
        .assert()
        .code(0);
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.headers[0]
            .to_ascii_lowercase()
            .contains("authorization: bearer t0ps3cret"),
        "{}",
        seen.headers[0]
    );
    assert!(
        seen.headers[0]
            .to_ascii_lowercase()
            .contains("x-gauntlet-tx: ")
    );
    let body: Value = serde_json::from_str(&seen.bodies[0]).unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("tx-"));
    assert!(body["cents"].is_u64());
    // The secret reaches the service, never the results or the logs.
    let results = std::fs::read_to_string(out.join("results.json")).unwrap();
    let run = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(!results.contains("t0ps3cret") && !run.contains("t0ps3cret"));
    // Without the variable the run does not start.
    gauntlet()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(w.dir.path().join("out2"))
        .env_remove("GAUNTLET_TEST_SECRET")
        .assert()
        .code(3);
}

#[test]
fn a_stall_shows_in_the_tail_because_latency_counts_from_the_planned_start() {
    let server = Server::start(Behaviour::StallOnce {
        at: std::time::Duration::from_secs(2),
        stall: std::time::Duration::from_secs(1),
    });
    let text = scenario(&server.url("/"), 1000, "4s", "")
        .replace("timeout = \"500ms\"", "timeout = \"5s\"");
    let (_, r, _w) = run(&text);
    assert_accounted(&r);
    let (planned, ok, ..) = totals(&r);
    assert_eq!((planned, ok), (4000, 4000));
    let l = &r["summary"]["latency_ms"];
    assert!(l["p95"].as_f64().unwrap() >= 300.0, "{l}");
    assert!(l["p99"].as_f64().unwrap() >= 700.0, "{l}");
    assert!(l["max"].as_f64().unwrap() >= 900.0, "{l}");
}

#[test]
fn misbehaving_services_are_counted_by_kind_and_the_run_completes() {
    let cases = [
        (Behaviour::Garbage, "bad-response"),
        (Behaviour::Truncated, "reset"),
        (Behaviour::Reset, "reset"),
        (Behaviour::Huge, "too-large"),
        (Behaviour::Unavailable, "status-5xx"),
    ];
    for (behaviour, kind) in cases {
        let server = Server::start(behaviour);
        let (code, r, w) = run(&scenario(&server.url("/"), 40, "1s", ""));
        assert_eq!(code, 0, "{behaviour:?}: no criteria, so the verdict passes");
        assert_accounted(&r);
        let (planned, _, errors, ..) = totals(&r);
        assert_eq!(errors, planned, "{behaviour:?}: every request fails");
        assert_eq!(
            r["errors_by_kind"][kind], planned,
            "{behaviour:?}: {}",
            r["errors_by_kind"]
        );
        assert!(w.dir.path().join("out/report.html").is_file());
    }
}

/// The rest of the ways a server misbehaves: each request still ends in a counted outcome
/// (an error or a timeout, none ok, none lost), and the run writes its report.
#[test]
fn servers_that_stop_halfway_or_never_finish_end_in_counted_outcomes() {
    for behaviour in [
        Behaviour::CloseAfterHeaders,
        Behaviour::EndlessChunks,
        Behaviour::NeverReads,
        Behaviour::Body100MB,
    ] {
        let server = Server::start(behaviour);
        let (code, r, w) = run(&scenario(&server.url("/"), 10, "1s", ""));
        assert_eq!(code, 0, "{behaviour:?}: no criteria, so the verdict passes");
        assert_accounted(&r);
        let (planned, ok, errors, timeouts, ..) = totals(&r);
        assert_eq!(planned, 10);
        assert_eq!(ok, 0, "{behaviour:?}: {}", r["errors_by_kind"]);
        assert_eq!(errors + timeouts, planned, "{behaviour:?}");
        assert!(w.dir.path().join("out/report.html").is_file());
    }
}

/// The kind a user reads is the kind the service caused, whether or not requests go through
/// the fault proxy (a 1 ms latency failure puts the proxy in the path without failing any
/// request itself).
#[test]
fn error_kinds_are_the_services_with_or_without_the_fault_proxy() {
    let idle_fault = "\n[[failure]]\nname = \"slight\"\ncomponent = \"upstream\"\nkind = \"latency\"\ndelay = \"1ms\"\nat = \"0s\"\nduration = \"1s\"\n";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}/");
    let servers = [
        (Server::start(Behaviour::Garbage), "bad-response"),
        (Server::start(Behaviour::Huge), "too-large"),
        (Server::start(Behaviour::Status(302)), "status-3xx"),
        (Server::start(Behaviour::Status(404)), "status-4xx"),
        (Server::start(Behaviour::Status(999)), "status-other"),
    ];
    let mut cases: Vec<(String, &str)> = vec![(closed, "refused")];
    cases.extend(servers.iter().map(|(s, kind)| (s.url("/"), *kind)));
    for (url, kind) in cases {
        for extra in ["", idle_fault] {
            let (_, r, _w) = run(&scenario(&url, 30, "1s", extra));
            assert_accounted(&r);
            let proxied = if extra.is_empty() {
                "direct"
            } else {
                "through the proxy"
            };
            assert_eq!(
                r["errors_by_kind"],
                serde_json::json!({ kind: 30 }),
                "{url} {proxied}"
            );
        }
    }
}

#[test]
fn answers_that_fail_expect_are_check_errors_with_their_reason() {
    let expect = "expect = { status = [200], json = { \"/decision\" = [\"approve\", \"review\", \"block\"] }, max_body = \"1KiB\" }\n";
    let cases = [
        (
            Behaviour::Body(r#"{"decision": "maybe"}"#),
            "value-not-allowed",
        ),
        (
            Behaviour::Body(r#"{"verdict": "block"}"#),
            "missing-pointer",
        ),
        (Behaviour::Body("<html>ok</html>"), "not-json"),
        (Behaviour::Status(201), "wrong-status"),
    ];
    for (behaviour, why) in cases {
        let server = Server::start(behaviour);
        let text = scenario(&server.url("/"), 30, "1s", "").replace(
            "timeout = \"500ms\"\n",
            &format!("timeout = \"500ms\"\n{expect}"),
        );
        let (_, r, _w) = run(&text);
        assert_accounted(&r);
        assert_eq!(
            r["errors_by_kind"],
            serde_json::json!({ "check": 30 }),
            "{behaviour:?}"
        );
        assert_eq!(
            r["check_failures"],
            serde_json::json!({ why: 30 }),
            "{behaviour:?}"
        );
        assert_eq!(r["summary"]["totals"]["ok"], 0);
    }
    // A good answer passes, and a 5xx keeps its own kind.
    let server = Server::start(Behaviour::Body(r#"{"decision": "review"}"#));
    let text = scenario(&server.url("/"), 30, "1s", "").replace(
        "timeout = \"500ms\"\n",
        &format!("timeout = \"500ms\"\n{expect}"),
    );
    let (_, r, _w) = run(&text);
    assert_eq!(r["summary"]["totals"]["ok"], 30);
    assert!(r.get("check_failures").is_none(), "absent when none failed");
    let server = Server::start(Behaviour::Unavailable);
    let text = scenario(&server.url("/"), 30, "1s", "").replace(
        "timeout = \"500ms\"\n",
        &format!("timeout = \"500ms\"\n{expect}"),
    );
    let (_, r, _w) = run(&text);
    assert_eq!(r["errors_by_kind"], serde_json::json!({ "status-5xx": 30 }));
}

#[test]
fn a_slow_body_is_a_timeout() {
    let server = Server::start(Behaviour::SlowBody);
    let (_, r, _w) = run(&scenario(&server.url("/"), 20, "1s", ""));
    assert_accounted(&r);
    let (planned, _, _, timeouts, ..) = totals(&r);
    assert_eq!(timeouts, planned);
}

#[test]
fn refused_connections_and_a_server_that_dies_mid_run_are_errors() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, r, _w) = run(&scenario(
        &format!("http://127.0.0.1:{port}/"),
        40,
        "1s",
        "",
    ));
    assert_accounted(&r);
    assert_eq!(r["errors_by_kind"]["refused"], 40);

    let server = Server::start(Behaviour::DiesAfter(std::time::Duration::from_millis(500)));
    let (_, r, _w) = run(&scenario(&server.url("/"), 100, "2s", ""));
    assert_accounted(&r);
    let (planned, ok, errors, ..) = totals(&r);
    assert_eq!(planned, 200);
    assert!(
        ok > 20 && errors > 50,
        "ok {ok}, errors {errors}: {}",
        r["errors_by_kind"]
    );
}

#[test]
fn an_in_flight_limit_drops_instead_of_losing() {
    let server = Server::start(Behaviour::SlowBody);
    let text = scenario(&server.url("/"), 100, "1s", "").replace(
        "timeout = \"500ms\"",
        "timeout = \"500ms\"\nmax_in_flight = 10",
    );
    let (_, r, _w) = run(&text);
    assert_accounted(&r);
    let (_, _, _, timeouts, dropped, _) = totals(&r);
    assert!(
        dropped > 0 && timeouts > 0,
        "dropped {dropped}, timeouts {timeouts}"
    );
}

#[test]
fn bad_targets_stop_the_run_before_it_starts() {
    for (url, phrase) in [
        ("http://127.0.0.1:99999/", "port"),
        ("http://u:p@127.0.0.1/", "no user:password@"),
    ] {
        let w = write("s.toml", &scenario(url, 10, "1s", ""));
        let out = w.dir.path().join("out");
        gauntlet()
            .arg("run")
            .arg(&w.path)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(3)
            .stderr(predicates::str::contains(phrase));
        assert!(!out.exists(), "nothing is written before the run starts");
    }
}

/// A failure window on the upstream, through the fault proxy.
fn with_fault(server: &Server, fault: &str, rate: u32) -> Value {
    let extra = format!(
        "\n[[failure]]\nname = \"f\"\ncomponent = \"upstream\"\nat = \"1s\"\nduration = \"1s\"\n{fault}\n"
    );
    let (_, r, _w) = run(&scenario(&server.url("/score"), rate, "3s", &extra));
    assert_accounted(&r);
    r
}

fn window(r: &Value) -> &Value {
    &r["failures"][0]["summary"]
}

#[test]
fn the_proxy_injects_each_failure_kind() {
    let server = Server::start(Behaviour::Normal);
    let planned_in = |r: &Value| window(r)["totals"]["planned"].as_u64().unwrap();

    let r = with_fault(
        &server,
        "kind = \"errors\"\nprobability = 1\nstatus = 502",
        200,
    );
    assert_eq!(
        window(&r)["totals"]["errors"].as_u64().unwrap(),
        planned_in(&r)
    );
    assert!(r["errors_by_kind"]["status-5xx"].as_u64().unwrap() >= planned_in(&r) - 2);

    let r = with_fault(&server, "kind = \"crash\"", 200);
    assert!(
        window(&r)["totals"]["errors"].as_u64().unwrap() >= planned_in(&r) - 2,
        "{}",
        window(&r)
    );
    assert!(r["errors_by_kind"]["reset"].as_u64().unwrap() > 0);

    let r = with_fault(&server, "kind = \"throttle\"\nlimit = 50", 200);
    let errors = window(&r)["totals"]["errors"].as_u64().unwrap();
    assert!(
        (100..=160).contains(&errors),
        "throttled {errors} of {}",
        planned_in(&r)
    );
    assert!(r["errors_by_kind"]["status-4xx"].as_u64().unwrap() >= errors);

    let r = with_fault(&server, "kind = \"hang\"", 100);
    assert!(window(&r)["totals"]["timeouts"].as_u64().unwrap() >= planned_in(&r) - 2);

    let r = with_fault(&server, "kind = \"packet-loss\"\nprobability = 0.5", 200);
    let lost = window(&r)["totals"]["timeouts"].as_u64().unwrap();
    assert!(
        (60..=140).contains(&lost),
        "timed out {lost} of {}",
        planned_in(&r)
    );

    let r = with_fault(&server, "kind = \"latency\"\ndelay = \"200ms\"", 100);
    assert!(
        window(&r)["latency_ms"]["p50"].as_f64().unwrap() >= 190.0,
        "{}",
        window(&r)["latency_ms"]
    );
    assert!(r["phases"][0]["summary"]["totals"]["ok"].as_u64().unwrap() == 300);

    let r = with_fault(&server, "kind = \"bandwidth\"\nbytes_per_second = 200", 50);
    // A ~30-byte answer at 200 B/s takes over 100 ms.
    assert!(
        window(&r)["latency_ms"]["p50"].as_f64().unwrap() >= 100.0,
        "{}",
        window(&r)["latency_ms"]
    );

    // A 30 ms upstream slowed five times answers in 150 ms.
    let slow = Server::start(Behaviour::Delay(std::time::Duration::from_millis(30)));
    let r = with_fault(&slow, "kind = \"slowdown\"\nfactor = 5", 50);
    assert_eq!(r["summary"]["totals"]["ok"], 150);
    assert!(
        window(&r)["latency_ms"]["p50"].as_f64().unwrap() >= 140.0,
        "{}",
        window(&r)["latency_ms"]
    );
    assert!(
        r["phases"][0]["summary"]["latency_ms"]["p50"]
            .as_f64()
            .unwrap()
            < 140.0
    );
}

/// `${NAME}` and `${NAME:-default}` in the url and headers, from the environment or `--env`;
/// a missing one stops the run naming it; `plan` shows the URL expanded, never a header value.
#[test]
fn urls_and_headers_come_from_the_environment_or_env_flags() {
    let server = Server::start(Behaviour::Normal);
    let text = scenario("http://${GAUNTLET_T_HOST}/score", 20, "1s", "").replace(
        "timeout = \"500ms\"\n",
        "timeout = \"500ms\"\nheaders = { authorization = \"Bearer ${GAUNTLET_T_TOKEN}\", x-env = \"${GAUNTLET_T_UNSET:-staging}\" }\n",
    );
    let w = write("s.toml", &text);
    let out = w.dir.path().join("out");
    let host = server.addr.to_string();
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .args([
            "--quiet",
            "--env",
            &format!("GAUNTLET_T_HOST={host}"),
            "--out",
        ])
        .arg(&out)
        .env("GAUNTLET_T_TOKEN", "s3cret")
        .assert()
        .success();
    let r = super::support::results_json(&out);
    assert_eq!(r["summary"]["totals"]["ok"], 20);
    let seen = server.seen.lock().unwrap();
    assert!(
        seen.headers[0].contains("authorization: Bearer s3cret"),
        "{}",
        seen.headers[0]
    );
    assert!(
        seen.headers[0].contains("x-env: staging"),
        "{}",
        seen.headers[0]
    );
    drop(seen);

    // Missing, with no default: exit 3, naming it and where it is used.
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--env", &format!("GAUNTLET_T_HOST={host}")])
        .env_remove("GAUNTLET_T_TOKEN")
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "environment variable GAUNTLET_T_TOKEN is not set and has no default (used in [target] header authorization)",
        ));

    // The plan shows the URL expanded and marked, and never the header's value.
    let plan = gauntlet()
        .arg("plan")
        .arg(&w.path)
        .args([
            "--env",
            &format!("GAUNTLET_T_HOST={host}"),
            "--env",
            "GAUNTLET_T_TOKEN=s3cret",
        ])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&plan.get_output().stdout).to_string();
    assert!(
        text.contains(&format!("url: http://[GAUNTLET_T_HOST={host}]/score")),
        "{text}"
    );
    assert!(
        text.contains("GAUNTLET_T_TOKEN is set (value hidden)"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("GAUNTLET_T_UNSET is not set: its default stands in"),
        "{text}"
    );
}

/// A request's body follows its method unless the scenario says: `plan` shows it, and the
/// server sees it.
#[test]
fn a_get_sends_no_body_unless_asked_and_body_none_sends_none() {
    let server = Server::start(Behaviour::Normal);
    let text = format!(
        r#"[scenario]
name = "bodies"
seed = 5

[target]
kind = "http"
url = "{}"

[[target.request]]
name = "health"
method = "GET"
path = "/health"

[[target.request]]
name = "score"
path = "/score"

[[target.request]]
name = "forget"
method = "DELETE"
path = "/forget"
body = "transaction"

[[target.request]]
name = "ping"
path = "/ping"
body = "none"

[[phase]]
name = "load"
duration = "1s"
load = {{ pattern = "constant", rate = 80 }}
"#,
        server.url("/api")
    );
    let (w, out, run) = super::support::run_into(&text);
    run.success();
    assert_accounted(&super::support::results_json(&out));
    // The plan says what each request sends.
    let plan = gauntlet().arg("plan").arg(&w.path).assert().success();
    let plan = String::from_utf8_lossy(&plan.get_output().stdout).to_string();
    let row = |name: &str| {
        plan.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let base = server.url("/api");
    assert_eq!(
        row("health"),
        ["health", "GET", &format!("{base}/health"), "none", "25%"],
        "{plan}"
    );
    assert_eq!(
        row("forget"),
        [
            "forget",
            "DELETE",
            &format!("{base}/forget"),
            "transaction",
            "25%"
        ]
    );
    assert_eq!(row("ping")[3], "none");
    assert_eq!(row("score")[3], "transaction");
    let shapes = server.seen.lock().unwrap().shapes.clone();
    let shape = |key: &str| shapes.get(key).cloned().unwrap_or_default();
    let none = std::collections::BTreeSet::from([(false, false)]);
    let json = std::collections::BTreeSet::from([(true, true)]);
    assert_eq!(shape("GET /api/health"), none, "{shapes:?}");
    assert_eq!(shape("POST /api/score"), json, "{shapes:?}");
    assert_eq!(shape("DELETE /api/forget"), json, "{shapes:?}");
    assert_eq!(shape("POST /api/ping"), none, "{shapes:?}");
}

/// A request mix: each arrival picks its request by weight from its own seeded stream, so the
/// server sees exactly the counts `plan --arrivals` shows; results and criteria per request.
#[test]
fn a_request_mix_sends_what_the_plan_shows_and_is_judged_per_request() {
    let server = Server::start(Behaviour::FailPath("/api/feedback"));
    let text = format!(
        r#"[scenario]
name = "mix"
seed = 17

[target]
kind = "http"
url = "{}"
timeout = "500ms"
decision = {{ pointer = "/verdict/action", block = ["deny"] }}

[[target.request]]
name = "score"
weight = 9
path = "/score"

[[target.request]]
name = "feedback"
weight = 1
method = "PUT"
path = "/feedback"

[[phase]]
name = "load"
duration = "2s"
load = {{ pattern = "constant", rate = 200 }}

[[criterion]]
check = "error_rate < 1%"
request = "score"

[[criterion]]
check = "error_rate < 1%"
request = "feedback"

[[criterion]]
check = "lost == 0"
"#,
        server.url("/api")
    );
    let w = write("s.toml", &text);
    let plan = gauntlet()
        .arg("plan")
        .arg(&w.path)
        .args(["--format", "json", "--arrivals", "400"])
        .assert()
        .success();
    let plan: Value = serde_json::from_slice(&plan.get_output().stdout).unwrap();
    let planned = |name: &str| {
        plan["arrivals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["request"] == name)
            .count() as u64
    };
    let (score, feedback) = (planned("score"), planned("feedback"));
    assert_eq!(score + feedback, 400);
    assert!((340..=380).contains(&score), "9:1 of 400: {score}");

    let out = w.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(1);
    let r = super::support::results_json(&out);
    assert_accounted(&r);
    let paths = server.seen.lock().unwrap().paths.clone();
    assert_eq!(paths.get("POST /api/score"), Some(&score), "{paths:?}");
    assert_eq!(paths.get("PUT /api/feedback"), Some(&feedback), "{paths:?}");
    let requests = r["requests"].as_array().unwrap();
    assert_eq!(requests[0]["name"], "score");
    assert_eq!(requests[0]["summary"]["totals"]["planned"], score);
    assert_eq!(requests[0]["summary"]["totals"]["ok"], score);
    assert_eq!(requests[1]["summary"]["totals"]["errors"], feedback);
    let status: Vec<(&str, &str)> = r["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["scope"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("request:score", "pass"),
            ("request:feedback", "fail"),
            ("run", "pass")
        ]
    );
}
