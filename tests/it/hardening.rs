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
