//! `gauntlet compare`: regression verdicts between runs, with intervals that can fail.

use serde_json::Value;

use super::support::{gauntlet, write};

const BASE: &str = r#"[scenario]
name = "cmp"
seed = 4

[target.components.ml-scorer]
timeout = "1s"
SLOWER
[[phase]]
name = "steady"
duration = "40s"
load = { pattern = "constant", rate = 800 }

[[failure]]
name = "blip"
kind = "latency"
component = "rules-engine"
at = "20s"
duration = "5s"
delay = "5ms"

[compare]
max_regression = "latency.p95=10%,error_rate=0.1pt,fraud.recall=-2pt"
"#;

/// Runs the scenario (the scorer three times slower when `slower`) into a fresh folder.
fn run(slower: bool) -> (super::support::Written, std::path::PathBuf) {
    let text = BASE.replace(
        "SLOWER\n",
        if slower {
            "service_time = { median = \"75ms\", p99 = \"270ms\" }\n"
        } else {
            ""
        },
    );
    let w = write("s.toml", &text);
    let out = w.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    (w, out)
}

fn compare_json(a: &std::path::Path, b: &std::path::Path, code: i32) -> (Value, String) {
    let out = gauntlet()
        .arg("compare")
        .arg(a)
        .arg(b)
        .args(["--format", "json"])
        .assert()
        .code(code);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    (serde_json::from_str(&text).unwrap(), text)
}

fn row<'c>(c: &'c Value, scope: &str, metric: &str) -> &'c Value {
    c["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope"] == scope)
        .and_then(|s| {
            s["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["metric"] == metric)
        })
        .unwrap_or_else(|| panic!("no {metric} in {scope}"))
}

#[test]
fn same_seed_runs_do_not_regress_and_a_three_times_slower_scorer_does() {
    let (_a, base) = run(false);
    let (_b, again) = run(false);
    let (_c, slower) = run(true);

    // The same plan twice: paired, no change, no regression, exit 0; the same report twice.
    let (same, text) = compare_json(&base, &again, 0);
    assert_eq!(same["paired"], true);
    assert_eq!(same["verdict"], "no regression");
    assert_eq!(row(&same, "run", "latency.p95")["change"], 0.0);
    let scopes: Vec<&str> = same["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["run", "phase:steady", "failure:blip"]);
    let (_, text_again) = compare_json(&base, &again, 0);
    assert_eq!(text, text_again, "a seeded bootstrap gives the same report");

    // The slower scorer: a p95 regression whose whole interval lies beyond +10%.
    let (c, _) = compare_json(&base, &slower, 1);
    assert_eq!(
        c["paired"], false,
        "different plans (the scorer's service time)"
    );
    assert_eq!(c["verdict"], "regression");
    let p95 = row(&c, "run", "latency.p95");
    assert_eq!(p95["regression"], true, "{p95}");
    let (low, high, change) = (
        p95["low"].as_f64().unwrap(),
        p95["high"].as_f64().unwrap(),
        p95["change"].as_f64().unwrap(),
    );
    assert!(low > 0.1 && low <= change && change <= high, "{p95}");
    // What did not get worse is not called a regression.
    assert_eq!(row(&c, "run", "error_rate")["regression"], false);

    // The Markdown report, fit for a pull-request comment, shows the interval.
    let md = gauntlet()
        .arg("compare")
        .arg(&base)
        .arg(&slower)
        .assert()
        .code(1);
    let md = String::from_utf8_lossy(&md.get_output().stdout).to_string();
    let line = md
        .lines()
        .find(|l| l.starts_with("| latency.p95 |"))
        .expect("a p95 row");
    assert!(
        line.contains("**regression**") && line.contains("[+"),
        "{line}"
    );
    // HTML: both runs over time on one axis.
    let html = gauntlet()
        .arg("compare")
        .arg(&base)
        .arg(&slower)
        .args(["--format", "html"])
        .assert()
        .code(1);
    let html = String::from_utf8_lossy(&html.get_output().stdout).to_string();
    assert!(html.contains("class=\"line base\"") && html.contains("class=\"line run\""));

    // A looser limit on the command line: no regression.
    gauntlet()
        .arg("compare")
        .arg(&base)
        .arg(&slower)
        .args(["--max-regression", "latency.p95=500%"])
        .assert()
        .code(0);
}

#[test]
fn runs_that_cannot_be_compared_are_refused() {
    let (_a, base) = run(false);
    let other = write(
        "o.toml",
        "[scenario]\nname = \"other\"\nseed = 1\n\n[[phase]]\nname = \"p\"\nduration = \"5s\"\nload = { pattern = \"constant\", rate = 50 }\n",
    );
    let other_out = other.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&other.path)
        .arg("--out")
        .arg(&other_out)
        .assert()
        .code(0);
    let out = gauntlet()
        .arg("compare")
        .arg(&base)
        .arg(&other_out)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("different scenarios"), "{err}");
    gauntlet()
        .arg("compare")
        .arg(&base)
        .arg(other.dir.path().join("nowhere"))
        .assert()
        .code(2);
    let out = gauntlet()
        .arg("compare")
        .arg(&base)
        .arg(&base)
        .args(["--max-regression", "latency.p97=10%"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("did you mean"), "{err}");
}
