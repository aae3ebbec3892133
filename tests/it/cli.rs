//! The command line as a user meets it: output and exit codes.

use predicates::prelude::*;

use super::support::{gauntlet, read, write};

#[test]
fn validate_prints_one_summary_line_per_valid_file() {
    let out = gauntlet()
        .args([
            "validate",
            "scenarios/peak-load.toml",
            "scenarios/investor-demo.toml",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let re = regex_lite(
        r"^ok scenarios/peak-load\.toml: 3 phases, 18,000,000 transactions over 30m, digest [0-9a-f]{12}…$",
    );
    assert!(re(lines[0]), "{}", lines[0]);
    assert!(lines[1].starts_with(
        "ok scenarios/investor-demo.toml: 3 phases, 2,940,000 transactions over 10m, digest "
    ));
}

/// A tiny matcher for the one pattern above (keeps regex out of the dependencies).
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    let (prefix, rest) = pattern
        .trim_start_matches('^')
        .split_once("[0-9a-f]{12}")
        .unwrap();
    let prefix = prefix.replace('\\', "");
    let suffix = rest.trim_end_matches('$').to_string();
    move |line: &str| {
        line.strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(&suffix))
            .is_some_and(|hex| hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()))
    }
}

#[test]
fn validate_reports_valid_and_invalid_files_and_exits_2() {
    gauntlet()
        .args([
            "validate",
            "scenarios/investor-demo.toml",
            "tests/broken/unknown-pattern.toml",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "ok scenarios/investor-demo.toml",
        ))
        .stderr(predicate::str::contains(
            "error: tests/broken/unknown-pattern.toml:8:20:",
        ));
}

/// A folder stands for the .toml files in it and its subfolders, in name order; other files
/// are left alone, and a folder without one is an error.
#[test]
fn validate_takes_folders_of_scenarios() {
    let root =
        std::fs::read_to_string(super::support::root().join("scenarios/step-stress.toml")).unwrap();
    let w = write("b.toml", &root);
    let dir = w.dir.path();
    std::fs::create_dir(dir.join("more")).unwrap();
    std::fs::write(
        dir.join("more/a.toml"),
        "[scenario]\nname = \"x\"\nseed = \"42\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a scenario").unwrap();
    std::fs::create_dir(dir.join("empty")).unwrap();
    let out = gauntlet()
        .arg("validate")
        .arg(dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("more/a.toml:3:8:"))
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!("ok {}: 3 phases", w.path.display())),
        "{stdout}"
    );
    assert!(!String::from_utf8(out.stderr).unwrap().contains("notes.txt"));
    gauntlet()
        .arg("validate")
        .arg(dir.join("empty"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a folder with no .toml scenario in it",
        ));
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<String> = std::fs::read_dir(super::support::root().join("scenarios"))
        .unwrap()
        .map(|e| format!("scenarios/{}", e.unwrap().file_name().to_str().unwrap()))
        .filter(|f| f.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 7);
    let mut cmd = gauntlet();
    cmd.arg("validate").args(&files);
    let out = cmd.assert().success().get_output().stdout.clone();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), files.len());
}

#[test]
fn shipped_scenarios_use_every_pattern_and_failure_kind_and_start_with_the_schema_line() {
    let mut all = String::new();
    for e in std::fs::read_dir(super::support::root().join("scenarios")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(text.starts_with("#:schema ../schemas/scenario.schema.json\n"));
        all.push_str(&text);
    }
    for pattern in [
        "constant", "ramp", "step", "burst", "wave", "chaos", "pause",
    ] {
        assert!(
            all.contains(&format!("pattern = \"{pattern}\"")),
            "no scenario uses {pattern}"
        );
    }
    for kind in [
        "crash",
        "latency",
        "errors",
        "throttle",
        "hang",
        "packet-loss",
        "slowdown",
        "bandwidth",
    ] {
        assert!(
            all.contains(&format!("kind = \"{kind}\"")),
            "no scenario uses {kind}"
        );
    }
}

#[test]
fn plan_text_shows_the_timeline() {
    gauntlet()
        .args(["plan", "scenarios/investor-demo.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ramp-up    0s     1m   ramp 0 → 8000 TPS    240,000",
        ))
        .stdout(predicate::str::contains(
            "scorer-crash  crash  ml-scorer  5m → 5m30s",
        ))
        .stdout(predicate::str::contains(
            "error_rate < 0.1%          phase:sustained",
        ))
        .stdout(predicate::str::contains("rate (TPS)"))
        .stdout(predicate::str::contains("8000 │"));
}

#[test]
fn plan_json_has_the_contract_fields() {
    let out = gauntlet()
        .args([
            "plan",
            "scenarios/investor-demo.toml",
            "--format",
            "json",
            "--arrivals",
            "3",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["seed"], 42);
    assert_eq!(v["planned"], 2_940_000);
    assert_eq!(v["duration_ms"], 600_000);
    assert_eq!(v["digest"].as_str().unwrap().len(), 64);
    let p = &v["phases"][1];
    assert_eq!(
        (
            p["name"].as_str(),
            p["start_ms"].as_u64(),
            p["end_ms"].as_u64(),
            p["planned"].as_u64()
        ),
        (
            Some("sustained"),
            Some(60_000),
            Some(300_000),
            Some(1_200_000)
        )
    );
    let f = &v["failures"][0];
    assert_eq!(
        (
            f["name"].as_str(),
            f["kind"].as_str(),
            f["component"].as_str(),
            f["start_ms"].as_u64(),
            f["end_ms"].as_u64()
        ),
        (
            Some("scorer-crash"),
            Some("crash"),
            Some("ml-scorer"),
            Some(300_000),
            Some(330_000)
        )
    );
    assert_eq!(v["criteria"][2]["check"], "error_rate < 0.1%");
    assert_eq!(v["criteria"][2]["scope"], "phase:sustained");
    let arrivals = v["arrivals"].as_array().unwrap();
    assert_eq!(arrivals.len(), 3);
    assert_eq!(arrivals[2]["index"], 2);
    assert!(arrivals[2]["transaction"]["amount_usd_cents"].is_u64());
}

#[test]
fn plan_seed_flag_overrides_the_file() {
    let out = gauntlet()
        .args([
            "plan",
            "scenarios/investor-demo.toml",
            "--format",
            "json",
            "--seed",
            "18446744073709551615",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["seed"], u64::MAX);
}

#[test]
fn plan_of_an_invalid_file_exits_2() {
    gauntlet()
        .args(["plan", "tests/broken/failure-after-run.toml"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "failure \"scorer-crash\" ends at 1m20s",
        ));
}

#[test]
fn bad_command_lines_exit_2() {
    gauntlet().args(["plan"]).assert().code(2);
    gauntlet()
        .args(["plan", "scenarios/peak-load.toml", "--format", "xml"])
        .assert()
        .code(2);
    gauntlet()
        .args(["plan", "scenarios/peak-load.toml", "--seed", "-1"])
        .assert()
        .code(2);
    gauntlet().args(["validate"]).assert().code(2);
    gauntlet().args(["frobnicate"]).assert().code(2);
    gauntlet()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = gauntlet()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        read("schemas/scenario.schema.json")
    );
}

#[test]
fn schema_write_creates_the_files() {
    let w = write("unused", "");
    let dir = w.dir.path().join("out");
    gauntlet()
        .args(["schema", "--write"])
        .arg(&dir)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.join("scenario.schema.json")).unwrap(),
        read("schemas/scenario.schema.json")
    );
}

#[test]
fn a_scenario_path_relative_template_is_checked() {
    let text = r#"[scenario]
name = "t"
seed = 1
[target]
kind = "http"
url = "http://127.0.0.1:9/x"
body = { template = "body.j2" }
[[phase]]
name = "a"
duration = "1s"
load = { pattern = "constant", rate = 1 }
"#;
    let w = write("s.toml", text);
    gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("template \"body.j2\" not found"));
    std::fs::write(w.dir.path().join("body.j2"), "{{ tx.id }}").unwrap();
    gauntlet().arg("validate").arg(&w.path).assert().success();
}

#[test]
fn plan_arrivals_stream_as_valid_json_past_a_block() {
    let out = gauntlet()
        .args([
            "plan",
            "scenarios/flash-sale.toml",
            "--format",
            "json",
            "--arrivals",
            "2500",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");
    let arrivals = v["arrivals"].as_array().unwrap();
    assert_eq!(arrivals.len(), 2500);
    for (i, a) in arrivals.iter().enumerate() {
        assert_eq!(a["index"], i as u64);
    }
    assert!(v["phases"].as_array().is_some_and(|p| !p.is_empty()));
    // Text: every arrival once, however many blocks it takes.
    let text = gauntlet()
        .args(["plan", "scenarios/flash-sale.toml", "--arrivals", "2500"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("first 2,500 arrivals"));
    let rows = text
        .lines()
        .skip_while(|l| !l.starts_with("first 2,500 arrivals"))
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(rows, 2500);
}

#[test]
fn verbose_runs_log_each_stage_on_stderr() {
    let w = super::support::write(
        "v.toml",
        "[scenario]\nname = \"v\"\nseed = 1\n\n[[phase]]\nname = \"main\"\nduration = \"5s\"\nload = { pattern = \"constant\", rate = 50 }\n\n[[failure]]\nkind = \"crash\"\ncomponent = \"rules-engine\"\nat = \"1s\"\nduration = \"2s\"\n",
    );
    let out = gauntlet()
        .arg("-v")
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(w.dir.path().join("out"))
        .assert()
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for event in [
        "plan compiled",
        "target prepared",
        "run starting",
        "failure window opened",
        "failure window closed",
        "run finished",
        "reports written",
    ] {
        assert!(stderr.contains(event), "no {event:?} in\n{stderr}");
    }
    // Without -v, nothing of it.
    let quiet = gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(w.dir.path().join("out2"))
        .assert()
        .get_output()
        .clone();
    assert!(
        !String::from_utf8(quiet.stderr)
            .unwrap()
            .contains("run starting")
    );
}

#[test]
fn every_error_is_printed_once_with_one_prefix() {
    let w = super::support::write("missing.toml", "");
    for args in [
        vec!["run".to_string(), "nowhere.toml".to_string()],
        vec![
            "run".to_string(),
            "scenarios/investor-demo.toml".to_string(),
            "--templates".to_string(),
            w.dir.path().join("no-such-folder").display().to_string(),
        ],
        vec!["report".to_string(), "nowhere".to_string()],
    ] {
        let out = gauntlet().args(&args).assert().code(2).get_output().clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.matches("error:").count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
}
