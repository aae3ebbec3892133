//! Figures that cannot mislead: criteria on scopes a stopped run never reached are
//! `not-reached`, rates are shares of what was due, a run that did not finish never reads as
//! passed anywhere, and `planned` comes from the plan.

use gauntlet::engine::control::Control;

use gauntlet::engine::Snapshot;
use gauntlet::report::Templates;
use gauntlet::results::{self, Results};
use serde_json::Value;

use super::simulation::{simulate, simulate_with};
use super::support::{compile, gauntlet, results_json, run_into};

/// Aborts at 20 s (the gateway fails half its calls from 19 s), with criteria on a later
/// phase and a later failure.
const ABORTS_AT_20S: &str = r#"[scenario]
name = "abort-demo"
seed = 3

[[phase]]
name = "early"
duration = "1m"
load = { pattern = "constant", rate = 1000 }

[[phase]]
name = "later"
duration = "1m"
load = { pattern = "constant", rate = 1000 }

[[failure]]
name = "flaky-gateway"
kind = "errors"
component = "gateway"
at = "19s"
duration = "10s"
probability = 0.5

[[failure]]
name = "scorer-crash"
kind = "crash"
component = "ml-scorer"
phase = "later"
at = "30s"
duration = "10s"

[[criterion]]
check = "error_rate < 1%"
abort = true

[[criterion]]
check = "latency.p95 < 2s"
phase = "later"

[[criterion]]
check = "degradation.max < 50%"
during = "scorer-crash"

[[criterion]]
check = "recovery_time < 60s"
during = "scorer-crash"

[[criterion]]
check = "lost == 0"

[[criterion]]
check = "throughput_ratio > 90%"
"#;

#[test]
fn an_aborted_run_marks_unreached_criteria_and_judges_rates_on_what_was_due() {
    let (_w, out, assert) = run_into(ABORTS_AT_20S);
    assert
        .code(1)
        .stdout(predicates::str::contains(
            "FAILED (2 of 6 criteria passed, 1 failed, 3 not reached)",
        ))
        .stdout(predicates::str::contains(
            "SKIP  latency.p95 < 2s [phase:later]",
        ));
    let r: Results = serde_json::from_value(results_json(&out)).unwrap();
    assert_eq!(r.aborted.as_ref().map(|a| a.at_ms), Some(20_000));
    let status: Vec<&str> = r.criteria.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(
        status,
        [
            "fail",
            "not-reached",
            "not-reached",
            "not-reached",
            "pass",
            "pass"
        ]
    );
    assert_eq!(r.criteria[1].passed, None);
    assert!(r.criteria[0].partial && !r.criteria[1].partial);
    assert_eq!(r.verdict.criteria_not_reached, 3);
    assert!(!r.verdict.passed);
    // The error rate is that of the transactions that were due, not diluted by the
    // cancelled ones: above the 1% that stopped the run.
    let t = &r.summary.totals;
    let due = (t.planned - t.cancelled) as f64;
    let observed = r.criteria[0].observed.unwrap();
    assert!(
        (observed - t.errors as f64 / due).abs() < 1e-6,
        "{observed}"
    );
    assert!(observed > 0.01, "{observed}");
    // So is the share answered ok: the cancelled ones were never sent.
    let ratio = r.criteria[5].observed.unwrap();
    assert!((ratio - t.ok as f64 / due).abs() < 1e-6, "{ratio}");
    assert!(ratio > 0.9, "{ratio}");
    assert!(t.cancelled > 90_000, "the rest of the plan was cancelled");
    assert_eq!((t.planned, t.lost), (120_000, 0));
    // Only the failure that started counts as injected.
    assert_eq!(r.resilience.failures_injected, 1);
    assert!(r.failures[0].injected && !r.failures[1].injected);
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let skipped = doc
        .descendants()
        .filter(|n| n.has_tag_name("skipped"))
        .count();
    assert_eq!(skipped, 3);
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("skipped"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# abort-demo: FAILED"), "{md}");
    assert_eq!(md.matches("⏭ not reached").count(), 3);
}

/// A run of two phases whose second one crashes the scorer until the very end.
const NEVER_RECOVERS: &str = r#"[scenario]
name = "never"
seed = 4

[[phase]]
name = "main"
duration = "1m"
load = { pattern = "constant", rate = 300 }

[[failure]]
name = "late-crash"
kind = "crash"
component = "ml-scorer"
at = "50s"
duration = "8s"

[[criterion]]
check = "recovery_time < 60s"
"#;

#[test]
fn a_failure_that_never_recovers_fails_recovery_time_instead_of_passing_on_zero() {
    let r = simulate(NEVER_RECOVERS);
    assert_eq!(r.failures[0].recovery_time_ms, None);
    let c = &r.criteria[0];
    assert_eq!(
        (c.status.as_str(), c.passed, c.observed),
        ("fail", Some(false), None)
    );
    assert!(
        c.note
            .as_deref()
            .unwrap()
            .contains("late-crash had not recovered"),
        "{:?}",
        c.note
    );
}

#[test]
fn an_interrupted_run_says_so_in_every_report_in_the_terminals_words() {
    let flag = Control::new();
    let mut stop_at_52s = |t: u64, _: &Snapshot<'_>| {
        if t >= 52_000_000_000 {
            flag.interrupt();
        }
    };
    let r = simulate_with(NEVER_RECOVERS, &mut stop_at_52s, &flag);
    assert_eq!(r.verdict.status, "interrupted");
    assert!(!r.verdict.passed);
    let h = &r.verdict.headline;
    assert!(
        h.starts_with("INTERRUPTED at 52s") && h.contains(" of 1m: "),
        "{h}"
    );
    // The crash was under way when the run stopped: recovery_time cannot pass.
    assert_eq!(r.criteria[0].status, "fail");
    assert!(r.criteria[0].partial);
    let dir = tempfile::tempdir().unwrap();
    let formats = ["md", "html", "junit"].map(String::from);
    Templates::load(None)
        .unwrap()
        .write(&r, &formats, dir.path())
        .unwrap();
    for f in ["report.md", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(text.contains(&r.verdict.headline), "{f} lacks the headline");
        assert!(!text.contains("PASSED"), "{f} reads as passed");
    }
}

#[test]
fn a_checkpoint_and_its_report_say_incomplete_and_never_passed() {
    // A checkpoint taken at 10 s of a run whose criteria would all pass.
    let text = "[scenario]\nname = \"cp\"\nseed = 1\n\n[[phase]]\nname = \"main\"\nduration = \"1m\"\nload = { pattern = \"constant\", rate = 200 }\n\n[[criterion]]\ncheck = \"latency.p95 < 2s\"\n";
    let mut checkpoint: Option<Results> = None;
    let mut take = |t: u64, run: &Snapshot<'_>| {
        if t == 10_000_000_000 {
            checkpoint = Some(results::build(run));
        }
    };
    let finished = simulate_with(text, &mut take, &Control::new());
    assert!(finished.verdict.passed, "the whole run passes");
    let cp = checkpoint.expect("a checkpoint at 10 s");
    assert!(!cp.complete && !cp.verdict.passed);
    assert_eq!(cp.verdict.status, "incomplete");
    assert!(cp.summary.totals.planned < 12_000 && cp.planned == 12_000);
    assert!(
        cp.verdict
            .headline
            .starts_with("INCOMPLETE: results up to 10s of 1m"),
        "{}",
        cp.verdict.headline
    );
    assert!(
        cp.verdict.headline.contains("of 12,000 planned"),
        "{}",
        cp.verdict.headline
    );
    // Rendered again later, as `gauntlet report` does after a kill -9.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("results.json"), results::to_json(&cp)).unwrap();
    gauntlet()
        .args(["report"])
        .arg(dir.path())
        .args(["--format", "md", "--format", "junit"])
        .assert()
        .code(0);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("# cp: INCOMPLETE"), "{md}");
    assert!(md.contains("of 12,000 planned"));
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        1,
        "a failing case says the run did not finish"
    );
}

#[test]
fn results_of_the_first_format_never_read_as_passed_when_incomplete() {
    // A checkpoint written by an earlier gauntlet: complete false, verdict passed true.
    let mut r = simulate(
        "[scenario]\nname = \"old\"\nseed = 1\n\n[[phase]]\nname = \"main\"\nduration = \"5s\"\nload = { pattern = \"constant\", rate = 10 }\n",
    );
    let mut v: Value = serde_json::to_value(&r).unwrap();
    v["format"] = 1.into();
    v["complete"] = false.into();
    v["verdict"] = serde_json::json!({"passed": true, "criteria_passed": 0, "criteria_failed": 0});
    r = serde_json::from_value(v).unwrap();
    r.upgrade();
    assert_eq!(r.verdict.status, "incomplete");
    assert!(!r.verdict.passed);
}

#[test]
fn planned_comes_from_the_plan_in_every_scope_and_second() {
    let text = "[scenario]\nname = \"p\"\nseed = 9\narrivals = \"poisson\"\n\n[[phase]]\nname = \"a\"\nduration = \"7500ms\"\nload = { pattern = \"ramp\", from = 10, to = 400 }\n\n[[phase]]\nname = \"b\"\nduration = \"5s\"\nload = { pattern = \"wave\", base = 200, amplitude = 150, period = \"3s\" }\n\n[[failure]]\nkind = \"latency\"\ncomponent = \"rules-engine\"\nat = \"6300ms\"\nduration = \"2100ms\"\ndelay = \"5ms\"\n";
    let plan = compile(text);
    let r = simulate(text);
    let arrivals: Vec<_> = plan.arrivals().collect();
    assert_eq!(r.summary.totals.planned, plan.planned);
    for (p, result) in plan.phases.iter().zip(&r.phases) {
        let n = arrivals
            .iter()
            .filter(|a| (p.start_ns..p.end_ns).contains(&a.at_ns))
            .count() as u64;
        assert_eq!(result.summary.totals.planned, n, "phase {}", p.name);
    }
    let f = &plan.failures[0];
    let in_window = arrivals
        .iter()
        .filter(|a| (f.start_ns..f.end_ns).contains(&a.at_ns))
        .count() as u64;
    assert_eq!(r.failures[0].summary.totals.planned, in_window);
    for s in &r.timeline {
        let n = arrivals
            .iter()
            .filter(|a| a.at_ns / 1_000_000_000 == s.t)
            .count() as u64;
        assert_eq!(s.planned, n, "second {}", s.t);
        assert_eq!(s.lost(), 0, "second {}", s.t);
    }
}

/// A ramp from 0 to 40,000 TPS: the gateway holds a worker per transaction until its answer
/// goes back, so its workers run out first (the scorer behind it works near its limit, and
/// the gateway's queue grows). The capacity names the rate where latency broke, which is
/// where the per-component timeline shows the gateway turning unhealthy.
#[test]
fn a_capacity_search_names_the_rate_where_the_front_runs_out_of_workers() {
    let (_w, out, assert) = run_into(
        "[scenario]\nname = \"cap\"\nseed = 11\n\n[[phase]]\nname = \"ramp\"\nduration = \"2m\"\nload = { pattern = \"ramp\", from = 0, to = 40000 }\n\n[[criterion]]\ncheck = \"latency.p99 < 500ms\"\n",
    );
    // The ramp goes past the break, so its latency criterion fails.
    assert.code(1);
    let r: Value = results_json(&out);
    let first_unhealthy = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["components"][0]["health"].as_f64().unwrap() < 0.9)
        .expect("the gateway saturates under this ramp");
    assert_eq!(first_unhealthy["components"][0]["name"], "gateway");
    let t = first_unhealthy["t"].as_f64().unwrap();
    let saturated_rate = 40_000.0 * (t + 0.5) / 120.0;
    let capacity = r["capacity"]["rate"].as_f64().expect("something broke");
    assert!(
        capacity >= saturated_rate && capacity <= 1.15 * saturated_rate,
        "capacity {capacity} TPS, the gateway saturated at {saturated_rate} TPS"
    );
    assert_eq!(r["capacity"]["broken_by"], "latency.p99 < 500ms");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(&format!("**{} TPS**", capacity.round())),
        "report.md names the capacity:\n{md}"
    );
    assert!(!md.contains("while failure"), "no failure to blame:\n{md}");
}

/// A step load whose first broken second is an injected failure's doing: the headline says
/// so, since the rate it names is not what the load alone would break at.
#[test]
fn a_capacity_broken_by_an_injected_failure_says_so() {
    let (_w, out, assert) = run_into(
        "[scenario]\nname = \"cap-fault\"\nseed = 3\n\n[[phase]]\nname = \"up\"\nduration = \"30s\"\nload = { pattern = \"step\", from = 100, to = 500, steps = 3 }\n\n[[failure]]\nkind = \"errors\"\ncomponent = \"gateway\"\nat = \"12s\"\nduration = \"4s\"\nprobability = 0.5\n",
    );
    assert.code(0);
    let r: Value = results_json(&out);
    assert_eq!(r["capacity"]["at_ms"], 12_000, "{}", r["capacity"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(
            "broke at 12s (error_rate), while failure errors-gateway was under way or recovering"
        ),
        "report.md blames the failure:\n{md}"
    );
}

/// A system broken from its first second of load held no rate: the reports say so instead
/// of "the last rate it held was 0 TPS".
#[test]
fn a_capacity_broken_in_the_first_second_says_no_rate_was_held() {
    let (_w, out, assert) = run_into(
        "[scenario]\nname = \"cap-first\"\nseed = 3\n\n[[phase]]\nname = \"up\"\nduration = \"6s\"\nload = { pattern = \"step\", from = 100, to = 300, steps = 3 }\n\n[[failure]]\nkind = \"errors\"\ncomponent = \"gateway\"\nat = \"0s\"\nduration = \"3s\"\nprobability = 0.5\n",
    );
    assert.code(0);
    let r: Value = results_json(&out);
    assert_eq!(r["capacity"]["at_ms"], 0, "{}", r["capacity"]);
    assert_eq!(r["capacity"]["rate"], 0.0, "{}", r["capacity"]);
    for f in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(text.contains("it never held a rate"), "{f}:\n{text}");
        assert!(!text.contains("rate it held was"), "{f}:\n{text}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("its first second of load: no rate held"),
        "{html}"
    );
}

/// Two minutes at 500 TPS with a 10 s window of 5% errors.
const TEN_SECONDS_OF_ERRORS: &str = r#"[scenario]
name = "windows"
seed = 5

[[phase]]
name = "steady"
duration = "2m"
load = { pattern = "constant", rate = 500 }

[[failure]]
name = "flaky"
kind = "errors"
component = "gateway"
at = "1m"
duration = "10s"
probability = 0.05

[[criterion]]
check = "error_rate < 0.5%"
outside = "failures"

[[criterion]]
check = "error_rate < 1%"
window = "10s"

[[criterion]]
check = "error_rate < 1%"
"#;

#[test]
fn outside_failures_and_rolling_windows_say_what_one_run_wide_figure_cannot() {
    let r = simulate(TEN_SECONDS_OF_ERRORS);
    let status: Vec<&str> = r.criteria.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(status, ["pass", "fail", "pass"]);
    assert_eq!(r.criteria[0].scope, "outside:failures");
    assert_eq!(r.criteria[0].observed, Some(0.0));
    // The worst 10 s window is the failure's own: about 5% errors.
    let worst = r.criteria[1].observed.unwrap();
    assert!((0.03..0.07).contains(&worst), "{worst}");
    assert_eq!(r.criteria[1].scope, "run, every 10s window");
    assert!(r.criteria[2].observed.unwrap() < 0.01);
}

#[test]
fn an_abort_on_a_windowed_error_rate_fires_within_3s_of_the_errors() {
    let text = "[scenario]\nname = \"w\"\nseed = 5\n\n[[phase]]\nname = \"steady\"\nduration = \"2m\"\nload = { pattern = \"constant\", rate = 1000 }\n\n[[failure]]\nkind = \"errors\"\ncomponent = \"gateway\"\nat = \"30s\"\nduration = \"30s\"\nprobability = 0.2\n\n[[criterion]]\ncheck = \"error_rate < 1%\"\nwindow = \"5s\"\nabort = true\n\n[[criterion]]\ncheck = \"throughput > 700\"\nwindow = \"5s\"\n";
    let r = simulate(text);
    let at = r.aborted.as_ref().expect("it aborts").at_ms;
    assert!((30_000..=33_000).contains(&at), "aborted at {at} ms");
    // Windows are judged over the seconds that ran, not the cancelled ones after the stop,
    // where nothing was sent: every window that ran held about 800 ok a second or more.
    let worst = r.criteria[1].observed.unwrap();
    assert!(worst > 700.0, "{}", r.criteria[1].observed_text);
    assert_eq!(r.criteria[1].status, "pass");
    // Seconds read from the timeline close as soon as their transactions are in: a
    // degradation check fires within 3 s of a scorer crash, not after the worst case.
    let crash = "[scenario]\nname = \"d\"\nseed = 5\n\n[[phase]]\nname = \"steady\"\nduration = \"2m\"\nload = { pattern = \"constant\", rate = 1000 }\n\n[[failure]]\nkind = \"crash\"\ncomponent = \"ml-scorer\"\nat = \"30s\"\nduration = \"30s\"\n\n[[criterion]]\ncheck = \"degradation.max < 50%\"\nabort = true\n";
    let at = simulate(crash).aborted.expect("it aborts").at_ms;
    assert!((30_000..=33_000).contains(&at), "aborted at {at} ms");
}

#[test]
fn a_list_of_phases_is_judged_as_one_scope() {
    let text = "[scenario]\nname = \"l\"\nseed = 2\n\n[[phase]]\nname = \"a\"\nduration = \"20s\"\nload = { pattern = \"constant\", rate = 100 }\n\n[[phase]]\nname = \"b\"\nduration = \"20s\"\nload = { pattern = \"constant\", rate = 300 }\n\n[[phase]]\nname = \"c\"\nduration = \"20s\"\nload = { pattern = \"constant\", rate = 200 }\n\n[[criterion]]\ncheck = \"throughput > 190\"\nphase = [\"a\", \"b\"]\n\n[[criterion]]\ncheck = \"requests == 8000\"\nphase = [\"a\", \"b\"]\n";
    let r = simulate(text);
    assert_eq!(r.criteria[0].scope, "phases:a,b");
    // (100 + 300) / 2 per second over the two phases' 40 s.
    let tput = r.criteria[0].observed.unwrap();
    assert!((195.0..=205.0).contains(&tput), "{tput}");
    assert_eq!(r.criteria[1].observed, Some(8000.0));
}

#[test]
fn outside_a_list_of_phases_judges_the_other_phases_together() {
    let phases = "[scenario]\nname = \"o\"\nseed = 2\n\n[[phase]]\nname = \"ramp\"\nduration = \"20s\"\nload = { pattern = \"ramp\", from = 0, to = 300 }\n\n[[phase]]\nname = \"b\"\nduration = \"20s\"\nload = { pattern = \"constant\", rate = 300 }\n\n[[phase]]\nname = \"c\"\nduration = \"20s\"\nload = { pattern = \"constant\", rate = 200 }\n";
    let criteria = |scope: &str| {
        format!(
            "{phases}\n[[criterion]]\ncheck = \"latency.p95 < 1s\"\n{scope}\n\n[[criterion]]\ncheck = \"requests == 10000\"\n{scope}\n"
        )
    };
    let outside = simulate(&criteria("outside = [\"ramp\"]"));
    let listed = simulate(&criteria("phase = [\"b\", \"c\"]"));
    assert_eq!(outside.criteria[0].scope, "phases:b,c");
    for (o, l) in outside.criteria.iter().zip(&listed.criteria) {
        assert_eq!((&o.scope, o.observed), (&l.scope, l.observed));
    }
    assert_eq!(outside.criteria[1].observed, Some(10000.0));
    assert_eq!(outside.criteria[1].status, "pass");
    // Leaving out all but one phase judges that phase.
    let one = simulate(&criteria("outside = [\"ramp\", \"c\"]"));
    assert_eq!(one.criteria[1].scope, "phase:b");
    assert_eq!(one.criteria[1].observed, Some(6000.0));
}

#[test]
fn a_latency_percentile_holds_over_every_rolling_window_or_fails_on_the_worst() {
    // Two seconds of +300 ms at the gateway in two minutes: 1.7% of transactions, under the
    // run's p95, but the whole p95 of any 10 s window that holds them.
    let text = "[scenario]\nname = \"lw\"\nseed = 8\n\n[[phase]]\nname = \"steady\"\nduration = \"2m\"\nload = { pattern = \"constant\", rate = 200 }\n\n[[failure]]\nkind = \"latency\"\ncomponent = \"gateway\"\nat = \"1m\"\nduration = \"2s\"\ndelay = \"300ms\"\n\n[[criterion]]\ncheck = \"latency.p95 < 150ms\"\n\n[[criterion]]\ncheck = \"latency.p95 < 150ms\"\nwindow = \"10s\"\n";
    let r = simulate(text);
    assert_eq!(r.criteria[0].status, "pass");
    assert_eq!(r.criteria[1].status, "fail");
    let worst = r.criteria[1].observed.unwrap();
    assert!(worst >= 300.0, "the worst window's p95 is {worst} ms");
}
