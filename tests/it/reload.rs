//! Hot reload while a test runs: in-process with edits at given instants (the engine's own
//! contract), and through `run --watch` with a real file, a real watcher and, for http, an
//! in-process server. The process tests wait for the run's own lines or the server's request
//! count, never for a fixed time.

use gauntlet::engine::control::Control;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc;

use gauntlet::engine::live::{Edit, Scripted};
use gauntlet::engine::{Pace, Quiet, Snapshot};
use gauntlet::results::{self, Results};
use serde_json::Value;

use super::http_server::{Behaviour, Server};
use super::simulation::run_edited;
use super::support::{Lines, compile, save_by_rename, write};

const S: u64 = 1_000_000_000;

fn sim(rate: u32, duration: &str, extra: &str) -> String {
    format!(
        "[scenario]\nname = \"live\"\nseed = 5\n\n[[phase]]\nname = \"main\"\nduration = \"{duration}\"\nload = {{ pattern = \"constant\", rate = {rate} }}\n{extra}"
    )
}

fn valid(text: &str) -> Edit {
    Edit::Valid(Arc::new(compile(text)))
}

fn scripted(text: &str, pace: Pace, edits: Vec<(u64, Edit)>) -> Results {
    run_edited(
        text,
        pace,
        &mut Scripted(VecDeque::from(edits)),
        &mut Quiet,
        &Control::new(),
    )
}

/// Planned transactions per second of the timeline.
fn rates(r: &Results) -> Vec<u64> {
    r.timeline.iter().map(|s| s.planned).collect()
}

fn assert_nothing_lost(r: &Results) {
    let t = &r.summary.totals;
    assert_eq!(t.lost, 0);
    assert_eq!(
        t.planned,
        t.ok + t.errors + t.timeouts + t.dropped + t.cancelled
    );
    assert_eq!(
        t.planned,
        r.timeline.iter().map(|s| s.planned).sum::<u64>(),
        "every transaction is in its second"
    );
    assert_eq!(
        t.planned,
        r.phases
            .iter()
            .map(|p| p.summary.totals.planned)
            .sum::<u64>(),
        "every transaction is in its phase"
    );
}

#[test]
fn a_reload_changes_the_rate_from_its_instant_and_numbers_continue() {
    let before = sim(100, "10s", "");
    let r = scripted(
        &before,
        Pace::Fast,
        vec![(5 * S, valid(&sim(300, "10s", "")))],
    );
    assert_eq!(
        rates(&r),
        [100, 100, 100, 100, 100, 300, 300, 300, 300, 300]
    );
    assert_eq!(r.summary.totals.planned, 2_000);
    assert_nothing_lost(&r);
    assert_eq!(r.reloads.len(), 1);
    let reload = &r.reloads[0];
    assert!(reload.accepted);
    assert_eq!(reload.at_ms, 5_000);
    assert!(
        reload
            .changes
            .iter()
            .any(|c| c.contains("~ phase \"main\": load constant 100 TPS → constant 300 TPS")),
        "{:#?}",
        reload.changes
    );
    // The phase under way kept its measurements and took the new load.
    assert_eq!(r.phases.len(), 1);
    assert_eq!(r.phases[0].summary.totals.planned, 2_000);
}

#[test]
fn a_realtime_run_follows_the_wall_clock_and_matches_a_fast_run_with_the_same_reloads() {
    // Realtime: an edit sent (over the channel a file watcher uses) once the run has seen
    // its first whole second; it lands at the next millisecond of the wall clock.
    let text = sim(100, "3s", "");
    let (tx, rx) = mpsc::channel();
    let mut sent = false;
    let mut observer = |t: u64, _: &Snapshot<'_>| {
        if t >= S && !sent {
            sent = true;
            tx.send(valid(&sim(400, "3s", ""))).unwrap();
        }
    };
    let started = std::time::Instant::now();
    let mut edits = rx;
    let live = run_edited(
        &text,
        Pace::REALTIME,
        &mut edits,
        &mut observer,
        &Control::new(),
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "virtual time follows the wall clock"
    );
    assert_eq!(live.reloads.len(), 1);
    let at = live.reloads[0].at_ms;
    assert!((1_000..3_000).contains(&at), "reloaded at {at} ms");
    assert_nothing_lost(&live);
    // Seconds wholly before the reload at the old rate, wholly after it at the new one.
    for s in &live.timeline {
        if (s.t + 1) * 1_000 <= at {
            assert_eq!(s.planned, 100, "second {}", s.t);
        } else if s.t * 1_000 >= at {
            assert_eq!(s.planned, 400, "second {}", s.t);
        }
    }
    assert_eq!(live.timeline[0].planned, 100);

    // The same edit at the same virtual instant, fast: the same results, byte for byte.
    let fast = scripted(
        &text,
        Pace::Fast,
        vec![(at * 1_000_000, valid(&sim(400, "3s", "")))],
    );
    assert_eq!(results::to_json(&fast), results::to_json(&live));
}

#[test]
fn removing_a_failure_under_way_ends_it_at_the_reload() {
    let crash = "[[failure]]\nname = \"down\"\nkind = \"crash\"\ncomponent = \"gateway\"\nat = \"2s\"\nduration = \"6s\"\n";
    let r = scripted(
        &sim(200, "10s", crash),
        Pace::Fast,
        vec![(4 * S, valid(&sim(200, "10s", "")))],
    );
    assert_nothing_lost(&r);
    assert!(r.reloads[0].accepted);
    assert!(
        r.reloads[0]
            .changes
            .contains(&"- failure \"down\"".to_string()),
        "{:#?}",
        r.reloads[0].changes
    );
    let f = &r.failures[0];
    assert_eq!(
        (f.name.as_str(), f.start_ms, f.end_ms),
        ("down", 2_000, 4_000)
    );
    let errors: Vec<u64> = r.timeline.iter().map(|s| s.errors).collect();
    assert_eq!(errors[2], 200, "the gateway is down: {errors:?}");
    assert_eq!(errors[3], 200, "{errors:?}");
    assert!(
        errors[4..].iter().all(|&e| e == 0),
        "no crash after the reload: {errors:?}"
    );
    // Without the reload the crash runs its course.
    let whole = scripted(&sim(200, "10s", crash), Pace::Fast, vec![]);
    assert_eq!(whole.timeline[6].errors, 200);
}

#[test]
fn a_failure_added_ahead_follows_the_file_and_criteria_are_replaced() {
    let latency = "[[failure]]\nname = \"slow\"\nkind = \"latency\"\ncomponent = \"gateway\"\ndelay = \"300ms\"\nat = \"6s\"\nduration = \"2s\"\n[[criterion]]\ncheck = \"latency.p50 > 250ms\"\nduring = \"slow\"\n";
    let r = scripted(
        &sim(100, "10s", "[[criterion]]\ncheck = \"lost == 0\"\n"),
        Pace::Fast,
        vec![(3 * S, valid(&sim(100, "10s", latency)))],
    );
    assert_nothing_lost(&r);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(
        (r.failures[0].start_ms, r.failures[0].end_ms),
        (6_000, 8_000)
    );
    let checks: Vec<&str> = r.criteria.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(checks, ["latency.p50 > 250ms"]);
    assert!(
        r.criteria[0].passed == Some(true),
        "the added failure slowed its window: {:?}",
        r.criteria[0]
    );
}

#[test]
fn a_refused_edit_is_recorded_and_the_plan_goes_on() {
    let text = sim(100, "4s", "");
    let r = scripted(
        &text,
        Pace::Fast,
        vec![(
            2 * S,
            Edit::Refused {
                digest: None,
                errors: vec!["s.toml:3:1: oops".into()],
            },
        )],
    );
    assert_eq!(rates(&r), [100, 100, 100, 100]);
    assert_eq!(r.reloads.len(), 1);
    assert!(!r.reloads[0].accepted);
    assert_eq!(r.reloads[0].errors, ["s.toml:3:1: oops"]);
    assert_eq!(r.reloads[0].at_ms, 2_000);
    // Without any edit the results are the same but for the record of it.
    let mut plain = scripted(&text, Pace::Fast, vec![]);
    plain.reloads = r.reloads.clone();
    assert_eq!(results::to_json(&plain), results::to_json(&r));
}

// ---- Through the binary: `run --watch` with a real file. ----

fn start_watched(path: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> Lines {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
    cmd.arg("run")
        .arg(path)
        .arg("--watch")
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .args(extra);
    let mut lines = Lines::stderr(cmd);
    lines.expect("watching");
    lines
}

fn results_json(out: &std::path::Path) -> Value {
    super::support::results_json(out)
}

#[test]
fn run_watch_on_a_realtime_simulation_takes_valid_saves_and_refuses_bad_ones() {
    // The second criterion fails whatever happens: the exit code is the criteria's verdict.
    let criteria =
        "[[criterion]]\ncheck = \"lost == 0\"\n[[criterion]]\ncheck = \"throughput > 10000\"\n";
    let text = sim(50, "6s", criteria);
    let w = write("live.toml", &text);
    let out = w.dir.path().join("out");
    let mut run = start_watched(&w.path, &out, &["--pace", "realtime"]);

    // A burst of saves, the last one by rename (as vim saves): one reload, of the last.
    for rate in [60, 70, 80, 90] {
        std::fs::write(&w.path, sim(rate, "6s", criteria)).unwrap();
    }
    save_by_rename(&w.path, &sim(150, "6s", criteria));
    run.expect("accepted");
    std::fs::write(
        &w.path,
        format!("{}\n[[phase]]\nname = \"x\"\n", sim(150, "6s", criteria)),
    )
    .unwrap();
    run.expect("refused");
    std::fs::write(
        &w.path,
        sim(150, "6s", criteria).replace("seed = 5", "seed = 6"),
    )
    .unwrap();
    let line = run.expect("refused");
    let (code, lines) = run.finish();
    assert!(line.contains("refused"), "{line}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("the seed changed from 5 to 6")),
        "{lines:#?}"
    );

    let r = results_json(&out);
    assert_eq!(code, 1, "the criteria's verdict: {lines:#?}");
    assert_eq!(r["verdict"]["passed"], false);
    assert_eq!(r["verdict"]["criteria_passed"], 1);
    let reloads = r["reloads"].as_array().unwrap();
    assert_eq!(reloads.len(), 3, "{reloads:#?}");
    assert_eq!(reloads[0]["accepted"], true);
    let changes: Vec<&str> = reloads[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        changes[0].contains("constant 50 TPS → constant 150 TPS"),
        "the burst is one reload of its last save: {changes:#?}"
    );
    assert_eq!(reloads[1]["accepted"], false);
    assert_eq!(reloads[1]["digest"], Value::Null);
    let error = reloads[1]["errors"][0].as_str().unwrap();
    assert!(error.contains("live.toml:"), "file:line:col: {error}");
    assert_eq!(reloads[2]["accepted"], false);
    assert!(reloads[2]["errors"][0].as_str().unwrap().contains("seed"));
    assert_eq!(r["seed"], 5);
    let at = reloads[0]["at_ms"].as_u64().unwrap();
    for s in r["timeline"].as_array().unwrap() {
        let (t, planned) = (s["t"].as_u64().unwrap(), s["planned"].as_u64().unwrap());
        if t * 1_000 >= at {
            assert_eq!(planned, 150, "second {t} after the reload at {at} ms");
        }
    }
    assert_eq!(r["summary"]["totals"]["lost"], 0);

    // The reports show the reloads: marked on the HTML charts, listed in Markdown, counted in
    // JUnit.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(
        html.matches("<g class=\"reload accepted\">").count(),
        5,
        "one per chart"
    );
    assert_eq!(html.matches("<g class=\"reload refused\">").count(), 10);
    assert!(html.contains("the seed changed from 5 to 6"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Reloads"), "{md}");
    assert_eq!(md.matches("| **refused** |").count(), 2, "{md}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("<property name=\"reloads_accepted\" value=\"1\"/>"));
    assert!(junit.contains("<property name=\"reloads_refused\" value=\"2\"/>"));
}

fn http(url: &str, rate: u32, duration: &str) -> String {
    format!(
        r#"[scenario]
name = "http-live"
seed = 3

[target]
kind = "http"
url = "{url}"
timeout = "500ms"

[[phase]]
name = "load"
duration = "{duration}"
load = {{ pattern = "constant", rate = {rate} }}

[[criterion]]
check = "lost == 0"
"#
    )
}

/// Waits until the server has seen `n` requests (polling its counter).
fn wait_for_requests(server: &Server, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.seen.lock().unwrap().requests < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the server saw too few requests"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn run_watch_against_http_changes_the_rate_at_the_reload_and_survives_an_invalid_save() {
    let server = Server::start(Behaviour::Normal);
    let url = server.url("/score");
    let w = write("h.toml", &http(&url, 200, "8s"));
    let out = w.dir.path().join("out");
    let mut run = start_watched(&w.path, &out, &[]);
    // Two seconds of load at the first rate, then the rewrite.
    wait_for_requests(&server, 400);
    save_by_rename(&w.path, &http(&url, 600, "8s"));
    run.expect("accepted");
    std::fs::write(
        &w.path,
        http(&url, 600, "8s").replace("rate = 600", "rate = -1"),
    )
    .unwrap();
    run.expect("refused");
    let (code, lines) = run.finish();

    let r = results_json(&out);
    assert_eq!(code, 0, "{lines:#?}");
    assert_eq!(r["summary"]["totals"]["lost"], 0);
    let reloads = r["reloads"].as_array().unwrap();
    assert_eq!(reloads.len(), 2, "{reloads:#?}");
    assert_eq!(reloads[0]["accepted"], true);
    assert_eq!(reloads[1]["accepted"], false);
    assert!(!reloads[1]["errors"].as_array().unwrap().is_empty());
    let at = reloads[0]["at_ms"].as_u64().unwrap();
    assert!(at >= 2_000, "reloaded at {at} ms");
    let (mut before, mut after) = (0, 0);
    for s in r["timeline"].as_array().unwrap() {
        let (t, planned) = (s["t"].as_u64().unwrap(), s["planned"].as_u64().unwrap());
        if (t + 1) * 1_000 <= at {
            assert_eq!(planned, 200, "second {t} before the reload at {at} ms");
            before += 1;
        } else if t * 1_000 >= at && t < 8 {
            assert_eq!(planned, 600, "second {t} after the reload at {at} ms");
            after += 1;
        }
    }
    assert!(before >= 2 && after >= 1, "before {before}, after {after}");
    let seen = server.seen.lock().unwrap();
    assert_eq!(
        seen.requests,
        r["summary"]["totals"]["ok"].as_u64().unwrap(),
        "every answered request reached the server"
    );
    // Transaction numbers continue across the reload: each used once, none skipped.
    let mut numbers = seen.tx_numbers.clone();
    numbers.sort_unstable();
    let planned = r["summary"]["totals"]["planned"].as_u64().unwrap();
    assert_eq!(numbers, (0..planned).collect::<Vec<_>>());
}

#[test]
fn pace_fast_is_refused_for_an_http_target_and_a_missing_file_is_invalid() {
    let w = write("h.toml", &http("http://127.0.0.1:9/score", 10, "1s"));
    let out = super::support::gauntlet()
        .arg("run")
        .arg(&w.path)
        .args(["--pace", "fast", "--quiet"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("an http target runs in real time"),
        "{stderr}"
    );
    assert!(!w.dir.path().join("results").exists());

    let out = super::support::gauntlet()
        .arg("run")
        .arg(w.dir.path().join("missing.toml"))
        .args(["--watch", "--quiet"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("missing.toml: cannot read the scenario"),
        "{stderr}"
    );
}

#[test]
fn a_watched_http_run_lasts_through_a_closing_pause_so_a_save_can_extend_it() {
    let server = Server::start(Behaviour::Normal);
    let url = server.url("/score");
    let pause = "\n[[phase]]\nname = \"rest\"\nduration = \"3s\"\nload = { pattern = \"pause\" }\n";
    let w = write("p.toml", &format!("{}{pause}", http(&url, 100, "1s")));
    let out = w.dir.path().join("out");
    let mut run = start_watched(&w.path, &out, &[]);
    // Every request of the first phase has been answered: the run is in its closing pause.
    wait_for_requests(&server, 100);
    let busy = pause.replace(
        "{ pattern = \"pause\" }",
        "{ pattern = \"constant\", rate = 100 }",
    );
    save_by_rename(&w.path, &format!("{}{busy}", http(&url, 100, "1s")));
    run.expect("accepted");
    let (code, lines) = run.finish();

    let r = results_json(&out);
    assert_eq!(code, 0, "{lines:#?}");
    let at = r["reloads"][0]["at_ms"].as_u64().unwrap();
    assert!((1_000..4_000).contains(&at), "reloaded at {at} ms");
    let planned = r["summary"]["totals"]["planned"].as_u64().unwrap();
    let expected = 100 + (4_000 - at) / 10;
    assert!(
        planned.abs_diff(expected) <= 1,
        "planned {planned}, expected about {expected}"
    );
    assert_eq!(r["summary"]["totals"]["lost"], 0);
    assert_eq!(r["phases"][1]["name"], "rest");
    assert_eq!(r["phases"][1]["pattern"], "constant");
}
