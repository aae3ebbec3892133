//! What a release gate must not do: mix two runs in one folder, let a template overwrite the
//! run's record, write colour codes into a log file, ignore SIGTERM, or start on a public
//! address without a word.

use super::support::{Lines, gauntlet, write};

const SMALL: &str = "[scenario]\nname = \"small\"\nseed = 3\n\n[[phase]]\nname = \"p\"\nduration = \"5s\"\nload = { pattern = \"constant\", rate = 100 }\n";

#[test]
fn a_folder_that_holds_a_run_is_refused_unless_forced() {
    let w = write("s.toml", SMALL);
    let out = w.dir.path().join("out");
    let run = || {
        let mut cmd = gauntlet();
        cmd.arg("run")
            .arg(&w.path)
            .arg("--out")
            .arg(&out)
            .arg("--quiet");
        cmd
    };
    run().assert().code(0);
    std::fs::write(out.join("stale.txt"), "from before").unwrap();
    let refused = run().assert().code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        err.contains("already holds a run") && err.contains("--force"),
        "{err}"
    );
    // The old run is untouched.
    assert!(out.join("stale.txt").exists());
    let mut forced = run();
    forced.arg("--force").assert().code(0);
    assert!(
        !out.join("stale.txt").exists(),
        "--force empties the folder"
    );
    assert!(out.join("results.json").exists());
    assert!(
        std::fs::read_dir(&out)
            .unwrap()
            .filter_map(Result::ok)
            .all(|e| !e.file_name().to_string_lossy().contains(".tmp-")),
        "no temporary file left"
    );
}

#[test]
fn a_template_named_like_the_runs_record_is_refused() {
    let w = write("s.toml", SMALL);
    let out = w.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&w.path)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .assert()
        .code(0);
    let before = std::fs::read_to_string(out.join("results.json")).unwrap();
    let templates = w.dir.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    for name in ["results.json", "run.json"] {
        std::fs::write(templates.join(name), "{{ results.scenario }}").unwrap();
        let refused = gauntlet()
            .arg("report")
            .arg(&out)
            .arg("--templates")
            .arg(&templates)
            .args(["--format", name.trim_end_matches(".json")])
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
        assert!(err.contains("may not be named"), "{err}");
        std::fs::remove_file(templates.join(name)).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(out.join("results.json")).unwrap(),
        before
    );
    // And the run's record still renders.
    gauntlet().arg("report").arg(&out).assert().code(0);
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let out = gauntlet()
        .args(["-vvv", "validate", "scenarios/investor-demo.toml"])
        .assert()
        .code(0);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("INFO") || err.contains("DEBUG"), "logs: {err}");
    assert!(
        !err.contains('\u{1b}'),
        "ANSI codes in a redirected stderr: {err:?}"
    );
}

#[test]
fn serve_warns_on_a_public_address_and_ends_cleanly_on_sigterm() {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
    cmd.args(["serve", "--listen", "0.0.0.0:0"]);
    let mut serve = Lines::stderr(cmd);
    let warning = serve.expect("warning");
    assert!(
        warning.contains("reachable from other machines"),
        "{warning}"
    );
    serve.expect("SIGTERM stops it");
    let pid = serve.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, _) = serve.finish();
    assert_eq!(code, 0, "SIGTERM ends serve as Ctrl-C does");
}

/// A 3-day run at 0.1 TPS: one timeline entry per second for the first hour, coarser beyond
/// (4 s, 8 s, ... doubling at every doubling of the run's length), so results stay a few
/// thousand entries instead of 259,200, and every figure still adds up.
#[test]
fn a_long_run_keeps_a_bounded_timeline_that_still_adds_up() {
    let text = r#"
[scenario]
name = "long"
seed = 8

[[phase]]
name = "days"
duration = "72h"
load = { pattern = "constant", rate = 0.1 }

[[failure]]
name = "scorer-errors"
kind = "errors"
component = "gateway"
at = "40h"
duration = "10m"
probability = 0.9

[[criterion]]
check = "recovery_time < 30m"

[[criterion]]
check = "error_rate < 5%"
"#;
    let (_w, out, run) = super::support::run_into(text);
    run.code(0);
    let r = super::support::results_json(&out);
    let tl = r["timeline"].as_array().unwrap();
    assert_eq!(r["timeline_full_resolution_s"], 3600);
    // 3,600 one-second entries, 900 for each doubling from 1 h to 64 h, then 8 h of
    // 256-second ones (the last one cut short by the run's end).
    assert_eq!(tl.len(), 3600 + 6 * 900 + 113);
    let mut t: u64 = 0;
    for s in tl {
        assert_eq!(s["t"], t, "entries tile the run");
        let span = s["span_s"].as_u64().unwrap_or(1);
        let expected = if t < 3600 {
            1
        } else {
            (4 << (t / 3600).ilog2()).min(72 * 3600 - t)
        };
        assert_eq!(span, expected, "entry at {t} s");
        t += span;
    }
    assert_eq!(t, 72 * 3600, "the last entry ends with the run");
    let planned: u64 = tl.iter().map(|s| s["planned"].as_u64().unwrap()).sum();
    let ok: u64 = tl.iter().map(|s| s["ok"].as_u64().unwrap()).sum();
    let totals = &r["summary"]["totals"];
    assert_eq!(planned, totals["planned"].as_u64().unwrap());
    assert_eq!(ok, totals["ok"].as_u64().unwrap());
    assert_eq!(totals["lost"], 0);
    assert!(planned > 25_000, "{planned}");
    // The failure lies in the 128-second entries: its errors show there, and recovery is
    // read from the entries after it.
    let failure = &r["failures"][0];
    assert!(failure["summary"]["totals"]["errors"].as_u64().unwrap() > 20);
    let recovery = failure["recovery_time_ms"].as_u64().expect("it recovered");
    assert!(recovery <= 2 * 128_000, "{recovery}");
    let during: u64 = tl
        .iter()
        .filter(|s| (40 * 3600..40 * 3600 + 600).contains(&s["t"].as_u64().unwrap()))
        .map(|s| s["errors"].as_u64().unwrap())
        .sum();
    assert!(during > 20, "{during}");
    let size = std::fs::metadata(out.join("results.json")).unwrap().len();
    assert!(size < 40_000_000, "results.json is {size} bytes");
}
