//! `gauntlet run` and `gauntlet report` as a user meets them.

use predicates::prelude::*;
use serde_json::Value;

use super::support::{gauntlet, read, results_json, run_into, write};

const PASSING: &str = r#"[scenario]
name = "small"
description = "A short healthy run"
seed = 3

[[phase]]
name = "steady"
duration = "30s"
load = { pattern = "constant", rate = 200 }

[[failure]]
name = "blip"
kind = "crash"
component = "ml-scorer"
at = "10s"
duration = "5s"

[[criterion]]
check = "latency.p95 < 2s"

[[criterion]]
check = "lost == 0"

[report]
formats = ["md", "html", "junit", "summary"]
"#;

#[test]
fn a_passing_run_exits_0_and_writes_every_file() {
    let (_w, out, assert) = run_into(PASSING);
    assert
        .code(0)
        .stdout(predicate::str::starts_with(
            "small: PASSED (2 of 2 criteria passed), 6,000 transactions",
        ))
        .stdout(predicate::str::contains("pass  latency.p95 < 2s [run]"));
    for f in [
        "results.json",
        "run.json",
        "report.md",
        "report.html",
        "junit.xml",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let results: Value = results_json(&out);
    assert_eq!(results["verdict"]["passed"], true);
    assert_eq!(results["summary"]["totals"]["lost"], 0);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["passed"], true);
    assert_eq!(summary["planned"], 6000);
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(run["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        results.get("started_at").is_none(),
        "wall-clock facts stay out of results.json"
    );
}

#[test]
fn a_failing_criterion_exits_1_and_every_report_names_it() {
    let text = PASSING.replace("latency.p95 < 2s", "latency.p95 < 1ms");
    let (_w, out, assert) = run_into(&text);
    assert
        .code(1)
        .stdout(predicate::str::contains("FAIL  latency.p95 < 1ms [run]"));
    let results: Value = results_json(&out);
    assert_eq!(results["verdict"]["passed"], false);
    assert_eq!(results["criteria"][0]["passed"], false);
    assert_eq!(results["criteria"][1]["passed"], true);

    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).expect("junit.xml is well-formed XML");
    let cases: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(failed, vec!["latency.p95 < 1ms"]);
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("failures"), Some("1"));

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# small: FAILED"));
    assert!(
        md.contains("| ❌ **fail** | `latency.p95 < 1ms` | run |"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("FAILED") && html.contains("<code>latency.p95 &lt; 1ms</code>"));
}

#[test]
fn the_html_report_is_self_contained() {
    let (_w, out, assert) = run_into(PASSING);
    assert.code(0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for forbidden in ["http://", "https://", "<script src", "<link"] {
        assert!(
            !html.contains(forbidden),
            "the report reaches out with {forbidden}"
        );
    }
    assert_eq!(
        html.matches("<svg").count(),
        6,
        "four charts over time, the percentile spectrum and the component health"
    );
    assert!(html.contains("Latency by percentile"));
    assert!(
        html.contains("class=\"band\""),
        "failure windows are shaded"
    );
}

#[test]
fn reports_are_snapshots_of_a_deterministic_run() {
    let (_w, out, assert) = run_into(PASSING);
    assert.code(0);
    insta::assert_snapshot!(
        "small_report_md",
        std::fs::read_to_string(out.join("report.md")).unwrap()
    );
    // JUnit's `time` is the wall time, which varies: it is checked apart from the snapshot.
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let time: f64 = suite.attribute("time").unwrap().parse().unwrap();
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(time, run["wall_ms"].as_f64().unwrap() / 1000.0);
    let stable = junit.replace(
        &format!("time=\"{}\"", suite.attribute("time").unwrap()),
        "time=\"[wall]\"",
    );
    insta::assert_snapshot!("small_junit_xml", stable);
}

#[test]
fn results_json_is_byte_identical_between_runs_and_matches_its_schema() {
    let (_w1, out1, a1) = run_into(PASSING);
    let (_w2, out2, a2) = run_into(PASSING);
    a1.code(0);
    a2.code(0);
    let r1 = std::fs::read(out1.join("results.json")).unwrap();
    assert_eq!(r1, std::fs::read(out2.join("results.json")).unwrap());
    let schema: Value = serde_json::from_str(&read("schemas/results.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: Value = serde_json::from_slice(&r1).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn report_re_renders_from_a_run_folder() {
    let (w, out, assert) = run_into(PASSING);
    assert.code(0);
    std::fs::remove_file(out.join("report.md")).unwrap();
    gauntlet()
        .arg("report")
        .arg(&out)
        .args(["--format", "md"])
        .assert()
        .success();
    assert!(out.join("report.md").is_file());
    // Results written before `reloads` existed still render.
    let path = out.join("results.json");
    let mut old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(old.as_object_mut().unwrap().remove("reloads").is_some());
    std::fs::write(&path, old.to_string()).unwrap();
    gauntlet()
        .arg("report")
        .arg(&out)
        .args(["--format", "html"])
        .assert()
        .success();
    // A custom template adds a format; the built-in ones can be replaced by file name.
    let templates = w.dir.path().join("tpl");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(templates.join("slack.txt"), "{{ results.scenario }} {{ 'passed' if results.verdict.passed else 'failed' }} p95={{ results.summary.latency_ms.p95 | ms }}\n").unwrap();
    gauntlet()
        .arg("report")
        .arg(&out)
        .args(["--format", "slack", "--templates"])
        .arg(&templates)
        .assert()
        .success();
    let slack = std::fs::read_to_string(out.join("slack.txt")).unwrap();
    assert!(slack.starts_with("small passed p95="), "{slack}");
}

#[test]
fn a_broken_template_is_a_clear_error_with_exit_2() {
    let (w, out, assert) = run_into(PASSING);
    assert.code(0);
    let templates = w.dir.path().join("bad");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("report.md"),
        "line one\n{{ results.scenario }\n",
    )
    .unwrap();
    gauntlet()
        .arg("report")
        .arg(&out)
        .arg("--templates")
        .arg(&templates)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("report.md:2:21: syntax error"));
    std::fs::write(templates.join("report.md"), "{{ results.no_such_field }}\n").unwrap();
    gauntlet()
        .arg("report")
        .arg(&out)
        .args(["--format", "md", "--templates"])
        .arg(&templates)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "report.md:1:4: undefined value: `results.no_such_field`; results has no \"no_such_field\"; it has: aborted, business",
        ));
}

#[test]
fn report_of_something_that_is_not_a_run_exits_2() {
    let w = write("results.json", "{\"not\": \"results\"}");
    gauntlet()
        .arg("report")
        .arg(&w.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a gauntlet results file"));
    gauntlet().args(["report", "no/such/dir"]).assert().code(2);
}

#[test]
fn run_of_an_invalid_scenario_exits_2_and_writes_nothing() {
    let w = write("s.toml", &PASSING.replace("\"constant\"", "\"constnat\""));
    let out = w.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean \"constant\"?"));
    assert!(!out.exists());
}

#[test]
fn a_run_without_criteria_says_it_judged_nothing() {
    let (_w, out, assert) = super::support::run_into(
        "[scenario]\nname = \"bare\"\nseed = 1\n\n[[phase]]\nname = \"a\"\nduration = \"2s\"\nload = { pattern = \"constant\", rate = 50 }\n",
    );
    assert
        .code(0)
        .stderr(predicate::str::contains("no [[criterion]]"));
    let r = super::support::results_json(&out);
    assert_eq!(
        r["verdict"]["headline"],
        "PASSED (no criteria: nothing was judged)"
    );
}

#[test]
fn an_out_that_is_a_file_is_refused_with_exit_2() {
    let w = write("s.toml", PASSING);
    let file = w.dir.path().join("taken");
    std::fs::write(&file, "mine").unwrap();
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a folder"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn without_out_the_run_goes_under_the_report_dir() {
    let w = write(
        "s.toml",
        &PASSING.replace("[report]", "[report]\ndir = \"runs\""),
    );
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .current_dir(w.dir.path())
        .assert()
        .code(0);
    let runs: Vec<_> = std::fs::read_dir(w.dir.path().join("runs/small"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 1);
    let dir = runs[0].as_ref().unwrap().path();
    assert!(
        dir.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("-seed3")
    );
    assert!(dir.join("results.json").is_file());
}

#[test]
fn the_investor_demo_passes_its_own_criteria() {
    let w = write("unused", "");
    let out = w.dir.path().join("demo");
    gauntlet()
        .args(["run", "scenarios/investor-demo.toml", "--out"])
        .arg(&out)
        .assert()
        .code(0);
    let r: Value = results_json(&out);
    assert_eq!(r["summary"]["totals"]["planned"], 2_940_000);
    assert_eq!(r["summary"]["totals"]["lost"], 0);
    let crash = &r["failures"][0]["summary"];
    let degraded = crash["decisions"]["degraded"].as_f64().unwrap();
    assert!(degraded > 0.5 * crash["totals"]["ok"].as_f64().unwrap());
    assert!(
        crash["fraud"]["recall"].as_f64().unwrap()
            < r["summary"]["fraud"]["recall"].as_f64().unwrap()
    );
    // Serving rules-only decisions is not recovered: the recovery lasts at least as long as
    // the stretch of seconds after the crash where more than 1% of decisions are degraded.
    let failure = &r["failures"][0];
    let end_s = failure["end_ms"].as_u64().unwrap() / 1000;
    let degraded_stretch = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .skip_while(|s| s["t"].as_u64().unwrap() < end_s)
        .take_while(|s| {
            let ok = s["ok"].as_f64().unwrap();
            ok > 0.0 && s["degraded"].as_f64().unwrap() / ok > 0.01
        })
        .count() as u64;
    assert!(degraded_stretch > 0, "the crash leaves degraded seconds");
    let recovery_ms = failure["recovery_time_ms"].as_u64().expect("it recovers");
    assert!(
        recovery_ms >= degraded_stretch * 1000,
        "recovered after {recovery_ms} ms, degraded for {degraded_stretch} s after the crash"
    );
    assert_eq!(failure["recovery_held_back_by"], "degradation");
}

/// Regression: a run started in the background by a shell (SIGINT ignored) ignored SIGTERM too,
/// and died without its results; now it ends cleanly with exit 130.
#[test]
fn sigterm_ends_a_background_run_cleanly_with_its_results() {
    let w = write(
        "long.toml",
        "[scenario]\nname = \"long\"\nseed = 1\n\n[[phase]]\nname = \"main\"\nduration = \"10m\"\nload = { pattern = \"constant\", rate = 50 }\n\n[[criterion]]\ncheck = \"lost == 0\"\n",
    );
    let out = w.dir.path().join("out");
    // As a shell starts a background job: SIGINT ignored (an ignored signal stays ignored
    // across exec).
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("trap '' INT; exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin("gauntlet"))
        .args(["run", "--pace", "realtime", "--quiet"])
        .arg(&w.path)
        .arg("--out")
        .arg(&out);
    let child = super::support::Lines::stderr(cmd);
    // A realtime run prints nothing until it ends: its results folder says it has started.
    let started = std::time::Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the run never started"
        );
        std::thread::yield_now();
    }
    let pid = child.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, _) = child.finish();
    assert_eq!(code, 130);
    let r: Value = results_json(&out);
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["verdict"]["status"], "interrupted");
    assert_eq!(r["summary"]["totals"]["lost"], 0);
}

/// In CI (stderr not a terminal) a run writes a plain progress line every 10 s of the run,
/// the last at its end; `--progress none` and `--quiet` write none.
#[test]
fn piped_progress_is_a_line_every_ten_seconds() {
    let w = write(
        "s.toml",
        "[scenario]\nname = \"sixty\"\nseed = 1\n\n[[phase]]\nname = \"hold\"\nduration = \"60s\"\nload = { pattern = \"constant\", rate = 100 }\n\n[[failure]]\nname = \"slow-rules\"\nkind = \"latency\"\ncomponent = \"rules-engine\"\nat = \"15s\"\nduration = \"10s\"\ndelay = \"100ms\"\n",
    );
    let lines_of = |extra: &[&str]| -> Vec<String> {
        let out = w.dir.path().join("out");
        let assert = gauntlet()
            .arg("run")
            .arg(&w.path)
            .args(["--pace", "30x", "--out"])
            .arg(&out)
            .arg("--force")
            .args(extra)
            .assert()
            .success();
        String::from_utf8_lossy(&assert.get_output().stderr)
            .lines()
            .filter(|l| l.starts_with('['))
            .map(str::to_string)
            .collect()
    };
    let lines = lines_of(&[]);
    assert_eq!(lines.len(), 6, "{lines:#?}");
    for (i, line) in lines.iter().enumerate() {
        let at = if i == 5 {
            "1m".to_string()
        } else {
            format!("{}s", (i + 1) * 10)
        };
        assert!(
            line.starts_with(&format!("[{at} / 1m] sixty: phase hold, planned 100/s")),
            "{line}"
        );
    }
    assert!(lines[1].ends_with("failures slow-rules"), "{}", lines[1]);
    assert!(lines[2].ends_with("failures slow-rules"), "{}", lines[2]);
    assert!(lines[0].ends_with("failures none"), "{}", lines[0]);
    assert_eq!(
        lines_of(&["--progress", "lines"]),
        lines,
        "the same run, the same lines"
    );
    assert!(lines_of(&["--progress", "none"]).is_empty());
    assert!(lines_of(&["--quiet"]).is_empty());
}

/// Regression: the line a stopped run ends with showed the planned rate of the whole rest of
/// the plan (a stop counts every arrival not sent as planned and cancelled), as if it had been
/// planned in the seconds since the line before.
#[test]
fn the_line_a_stopped_run_ends_with_shows_the_rate_planned() {
    let w = write(
        "s.toml",
        "[scenario]\nname = \"stops\"\nseed = 1\n\n[[phase]]\nname = \"hold\"\nduration = \"60s\"\nload = { pattern = \"constant\", rate = 100 }\n\n[[failure]]\nname = \"down\"\nkind = \"crash\"\ncomponent = \"gateway\"\nat = \"15s\"\nduration = \"30s\"\n\n[[criterion]]\ncheck = \"error_rate < 1%\"\nabort = true\n",
    );
    let out = w.dir.path().join("out");
    let assert = gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    let last = lines.last().expect("a progress line");
    assert!(
        !last.starts_with("[1m / 1m]"),
        "the run stopped early: {stderr}"
    );
    assert!(last.contains("planned 100/s"), "{last}");
    assert!(
        results_json(&out)["aborted"].is_object(),
        "it stopped by abort"
    );
}
