//! The system's own health: the per-component timeline, failures' cascades and the criteria
//! on them, and the payback figure.

use std::collections::BTreeMap;

use serde_json::Value;

use super::support::{gauntlet, results_json, run_into};

/// Health below this is unhealthy; an error or timeout rate this far above the baseline is a
/// spread (docs/model.md).
const HEALTHY_FROM: f64 = 0.9;
const RISE: f64 = 0.01;
const AROUND_S: usize = 30;

fn run_cascade_scenario() -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The severe failure spreads, so the run fails on purpose (exit 1).
    gauntlet()
        .args(["run", "scenarios/cascade.toml", "--out"])
        .arg(&out)
        .assert()
        .code(1);
    let results = results_json(&out);
    (dir, results)
}

fn failure<'r>(results: &'r Value, name: &str) -> &'r Value {
    results["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no failure {name}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Each failure's cascade by the definition, from the timeline alone: the components other
/// than the one hit whose health fell below 0.9, or whose error or timeout rate rose more than
/// 1 point over their rate in the 30 s before the failure, during the window or the 30 s after
/// it; each with the first second it was affected in.
fn recompute(results: &Value, f: &Value) -> BTreeMap<String, u64> {
    let timeline = results["timeline"].as_array().unwrap();
    let hit = f["component"].as_str().unwrap();
    let first = (u(&f["start_ms"]) / 1000) as usize;
    let last = (u(&f["end_ms"]).div_ceil(1000) as usize + AROUND_S).min(timeline.len());
    let before = &timeline[first.saturating_sub(AROUND_S)..first];
    let names: Vec<&str> = timeline[first]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .filter(|n| *n != hit)
        .collect();
    let of = |second: &Value, name: &str| -> Value {
        second["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    let mut spread = BTreeMap::new();
    for name in names {
        let (mut calls, mut errors, mut timeouts) = (0, 0, 0);
        for s in before {
            let c = of(s, name);
            calls += u(&c["calls"]);
            errors += u(&c["errors"]);
            timeouts += u(&c["timeouts"]);
        }
        let base = |n: u64| {
            if calls == 0 {
                0.0
            } else {
                n as f64 / calls as f64
            }
        };
        let (base_errors, base_timeouts) = (base(errors), base(timeouts));
        for second in &timeline[first..last] {
            let c = of(second, name);
            let calls = u(&c["calls"]) as f64;
            let rose = |n: &Value, base: f64| calls > 0.0 && u(n) as f64 / calls - base > RISE;
            if c["health"].as_f64().unwrap() < HEALTHY_FROM
                || rose(&c["errors"], base_errors)
                || rose(&c["timeouts"], base_timeouts)
            {
                spread.insert(name.to_string(), u(&second["t"]));
                break;
            }
        }
    }
    spread
}

#[test]
fn a_mild_failure_stays_put_and_a_severe_one_spreads_as_the_timeline_shows() {
    let (_dir, results) = run_cascade_scenario();

    // Every second carries every component of the model.
    let timeline = results["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 150);
    for second in timeline {
        let names: Vec<&str> = second["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "gateway",
                "feature-store",
                "ml-scorer",
                "rules-engine",
                "decision"
            ]
        );
    }

    let mild = failure(&results, "rules-slow");
    let severe = failure(&results, "features-slow");
    assert_eq!(mild["cascade"], serde_json::json!([]), "{mild:#}");
    let spread = severe["cascade"].as_array().unwrap();
    assert!(!spread.is_empty(), "the slow feature store spreads");
    assert_eq!(spread[0]["component"], "gateway", "{spread:?}");
    // In order of when each was first affected, none before the failure began.
    let at: Vec<u64> = spread.iter().map(|c| u(&c["at_ms"])).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert!(at.iter().all(|&a| a >= u(&severe["start_ms"])));
    for c in spread {
        assert_eq!(u(&c["after_ms"]), u(&c["at_ms"]) - u(&severe["start_ms"]));
    }

    // Each cascade agrees with the per-second component timeline, by the definition.
    for f in [mild, severe] {
        let reported: BTreeMap<String, u64> = f["cascade"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["component"].as_str().unwrap().to_string(),
                    u(&c["at_ms"]) / 1000,
                )
            })
            .collect();
        assert_eq!(reported, recompute(&results, f), "{}", f["name"]);
    }

    // cascade.max == 0 passes during the mild one and fails during the severe one.
    let status = |scope: &str| -> String {
        results["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["metric"] == "cascade.max" && c["scope"] == scope)
            .map(|c| c["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("during:rules-slow"), "pass");
    assert_eq!(status("during:features-slow"), "fail");
}

#[test]
fn component_criteria_read_the_seconds_in_their_scope() {
    let (_dir, results) = run_cascade_scenario();
    let timeline = results["timeline"].as_array().unwrap();
    let criterion = |check: &str| -> Value {
        results["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == check)
            .cloned()
            .unwrap_or_else(|| panic!("no criterion {check}"))
    };
    // The store's own error rate over the run, from its seconds.
    let (mut calls, mut failed) = (0, 0);
    for s in timeline {
        let c = &s["components"][1];
        assert_eq!(c["name"], "feature-store");
        calls += u(&c["calls"]);
        failed += u(&c["errors"]) + u(&c["timeouts"]);
    }
    let observed = criterion("component.feature-store.error_rate < 0.1%")["observed"]
        .as_f64()
        .unwrap();
    assert!(calls > 0);
    // results.json rounds shares to 6 decimals.
    assert!(
        (observed - failed as f64 / calls as f64).abs() <= 5e-7,
        "{observed}"
    );

    // Outside the failures' windows and recoveries, no component's health fell below 0.9;
    // inside the severe one, the gateway's did.
    let unhealthy = criterion("components.unhealthy == 0");
    assert_eq!(unhealthy["status"], "pass");
    let gateway_min = timeline[90..120]
        .iter()
        .map(|s| s["components"][0]["health"].as_f64().unwrap())
        .fold(1.0, f64::min);
    assert!(gateway_min < HEALTHY_FROM, "{gateway_min}");
}

#[test]
fn payback_is_the_investment_over_a_month_of_savings_at_the_runs_rate() {
    let scenario = r#"
[scenario]
name = "payback"
seed = 3

[[phase]]
name = "main"
duration = "20s"
load = { pattern = "constant", rate = 500 }

[business]
investment = 5_000_000
monthly_transactions = 10_000

[[criterion]]
check = "business.payback_months < 12"

[[criterion]]
check = "business.payback_months < 120"
"#;
    let (_w, out, assert) = run_into(scenario);
    assert.code(1);
    let results = results_json(&out);
    let b = &results["business"];
    let t = &results["summary"]["totals"];
    let handled = u(&t["ok"]) + u(&t["errors"]) + u(&t["timeouts"]);
    let saved_per_month = b["money_saved_usd"].as_f64().unwrap() / handled as f64 * 10_000.0;
    let expected = 5_000_000.0 / saved_per_month;
    let months = b["payback_months"].as_f64().unwrap();
    assert!((months - expected).abs() < 0.01, "{months} vs {expected}");
    assert_eq!(b["investment_usd"].as_f64(), Some(5_000_000.0));
    let statuses: Vec<&str> = results["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["fail", "pass"], "payback {months} months");
}
