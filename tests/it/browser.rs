//! The dashboard in a real browser: `tests/browser/dashboard.py` drives Debian's chromium
//! through chromedriver and Selenium, and parses /metrics with prometheus_client's strict
//! OpenMetrics parser; `tests/browser/report.py` looks at the HTML report's component-health
//! chart. Their screenshots are kept in `target/tmp/browser/`.
//!
//! It needs chromium, chromium-driver, python3-selenium and python3-prometheus-client
//! (`bash .ci/run` installs them). Without them it says so and passes, except under CI
//! (`CI` set), where a missing browser is a failure: CI must not pass without this test.

use std::path::Path;
use std::process::Command;

const PYTHON: &str = "/usr/bin/python3";

fn browser_tools() -> Result<(), String> {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", PYTHON] {
        if !Path::new(tool).exists() {
            return Err(format!("{tool} is missing"));
        }
    }
    let imports = Command::new(PYTHON)
        .args(["-c", "import selenium, prometheus_client"])
        .output()
        .map_err(|e| e.to_string())?;
    if !imports.status.success() {
        return Err("python3-selenium or python3-prometheus-client is missing".into());
    }
    Ok(())
}

/// Whether the browser and its driver are here; under CI their absence is a failure.
fn have_browser() -> bool {
    if let Err(why) = browser_tools() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the browser test cannot run under CI: {why}; install chromium chromium-driver python3-selenium python3-prometheus-client"
        );
        eprintln!("browser test skipped: {why} (bash .ci/run installs what it needs)");
        return false;
    }
    true
}

#[test]
fn the_dashboard_works_in_chromium() {
    if !have_browser() {
        return;
    }
    let script = super::support::root().join("tests/browser/dashboard.py");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let out = Command::new(PYTHON)
        .arg(&script)
        .arg(assert_cmd::cargo::cargo_bin("gauntlet"))
        .arg(&shots)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("dashboard in chromium: ok"), "{stdout}");
    assert!(shots.join("dashboard-failure.png").exists());
}

#[test]
fn the_component_health_chart_shows_the_spread_in_chromium() {
    if !have_browser() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The severe failure spreads, so the run fails on purpose.
    super::support::gauntlet()
        .args(["run", "scenarios/cascade.toml", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(1);
    let script = super::support::root().join("tests/browser/report.py");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let result = Command::new(PYTHON)
        .arg(&script)
        .arg(out.join("report.html"))
        .arg(&shots)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "the report's browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("report in chromium: ok"), "{stdout}");
    assert!(shots.join("report-component-health.png").exists());
}
