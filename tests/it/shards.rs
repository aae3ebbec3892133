//! Shards: one run spread over several generators and merged back exactly; the refusals of
//! `merge`; the Kubernetes manifests, validated offline against the Kubernetes schemas.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::http_server::{Behaviour, Server};
use super::support::{compile, gauntlet, results_json, root, write};

fn scenario(url: &str, name: &str) -> String {
    format!(
        r#"[scenario]
name = "{name}"
seed = 23

[target]
kind = "http"
url = "{url}"
timeout = "1s"
connections = 32

[[phase]]
name = "ramp"
duration = "1s"
load = {{ pattern = "ramp", from = 100, to = 400 }}

[[phase]]
name = "steady"
duration = "2s"
load = {{ pattern = "constant", rate = 400 }}

[[failure]]
name = "flaky-store"
kind = "errors"
component = "feature-store"
at = "500ms"
duration = "2s"
probability = 0.3

[[criterion]]
check = "lost == 0"

[[criterion]]
check = "error_rate < 50%"

[report]
formats = ["md", "html", "junit"]
"#
    )
}

/// An instant `secs` from now, RFC 3339 with milliseconds.
fn start_in(secs: u64) -> String {
    gauntlet::clock::rfc3339_ms(SystemTime::now() + Duration::from_secs(secs))
}

/// Runs the shards of `file` side by side from one start instant, each into `dir/sK`.
fn run_shards(file: &Path, n: u64, dir: &Path) {
    let start = start_in(2);
    let bin = assert_cmd::cargo::cargo_bin("gauntlet");
    let children: Vec<_> = (0..n)
        .map(|k| {
            Command::new(&bin)
                .current_dir(root())
                .args(["run"])
                .arg(file)
                .args([
                    "--shard",
                    &format!("{k}/{n}"),
                    "--start-at",
                    &start,
                    "--quiet",
                ])
                .arg("--out")
                .arg(dir.join(format!("s{k}")))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("gauntlet starts")
        })
        .collect();
    for (k, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {k}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn sorted_faults(server: &Server) -> Vec<(u64, String)> {
    let mut f = server.seen.lock().unwrap().faults.clone();
    f.sort();
    f
}

#[test]
fn three_shards_merge_into_the_run_one_generator_would_have_made() {
    let whole_server = Server::start(Behaviour::Normal);
    let shard_server = Server::start(Behaviour::Normal);
    let whole = write(
        "whole.toml",
        &scenario(&whole_server.url("/score"), "sharded"),
    );
    let sharded = write(
        "sharded.toml",
        &scenario(&shard_server.url("/score"), "sharded"),
    );
    let plan = compile(&scenario(&shard_server.url("/score"), "sharded"));

    // One generator.
    let whole_out = whole.dir.path().join("out");
    gauntlet()
        .arg("run")
        .arg(&whole.path)
        .arg("--out")
        .arg(&whole_out)
        .assert()
        .code(0);

    // Three, then merged.
    run_shards(&sharded.path, 3, sharded.dir.path());
    let merged = sharded.dir.path().join("merged");
    let dirs: Vec<PathBuf> = (0..3)
        .map(|k| sharded.dir.path().join(format!("s{k}")))
        .collect();
    gauntlet()
        .arg("merge")
        .args(&dirs)
        .arg("--out")
        .arg(&merged)
        .assert()
        .code(0);
    let r = results_json(&merged);

    // Every planned transaction, once: counts equal the plan's.
    let totals = &r["summary"]["totals"];
    assert_eq!(totals["planned"].as_u64(), Some(plan.planned));
    let answered = ["ok", "errors", "timeouts"]
        .iter()
        .map(|k| totals[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(answered, plan.planned, "{totals}");
    assert_eq!(totals["lost"], 0);
    assert_eq!(r["digest"].as_str(), Some(plan.digest.as_str()));
    let per_second: Vec<u64> = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["planned"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (0..per_second.len() as u64)
        .map(|t| plan.count_between(t * 1_000_000_000, (t + 1) * 1_000_000_000))
        .collect();
    assert_eq!(per_second, expected);
    // Each shard sent its third, numbered i mod 3 == k.
    let shards = r["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    for (k, s) in shards.iter().enumerate() {
        assert_eq!(s["shard"], k as u64);
        let own = (0..plan.planned).filter(|i| i % 3 == k as u64).count() as u64;
        assert_eq!(s["planned"].as_u64(), Some(own));
        assert_eq!(s["sent"].as_u64(), Some(own));
    }
    let md = std::fs::read_to_string(merged.join("report.md")).unwrap();
    assert!(md.contains("## Shards"), "{md}");
    assert!(merged.join("report.html").exists() && merged.join("junit.xml").exists());

    // The faults hit the same transactions, shard by shard or whole.
    let whole_faults = sorted_faults(&whole_server);
    assert!(whole_faults.len() > 100, "{} faulted", whole_faults.len());
    assert_eq!(sorted_faults(&shard_server), whole_faults);
    // The service saw every transaction number once, across the shards.
    let mut numbers = shard_server.seen.lock().unwrap().tx_numbers.clone();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..plan.planned).collect::<Vec<_>>());
    // And the merged figures of the fault window equal the whole run's counts.
    let window = |r: &Value| -> BTreeMap<String, u64> {
        let t = &r["failures"][0]["summary"]["totals"];
        ["planned", "ok", "errors"]
            .iter()
            .map(|k| (k.to_string(), t[*k].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(
        window(&r)["planned"],
        window(&results_json(&whole_out))["planned"]
    );

    // Refusals: merging into a shard's own folder (it would overwrite its results)...
    let before = std::fs::read_to_string(dirs[1].join("results.json")).unwrap();
    let into_shard = gauntlet()
        .arg("merge")
        .args(&dirs)
        .arg("--out")
        .arg(&dirs[1])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&into_shard.get_output().stderr).to_string();
    assert!(err.contains("holds a shard's own results"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dirs[1].join("results.json")).unwrap(),
        before
    );
    // ...a missing shard, named; a duplicate; shards of another scenario.
    let missing = gauntlet()
        .arg("merge")
        .arg(&dirs[0])
        .arg(&dirs[2])
        .arg("--out")
        .arg(sharded.dir.path().join("m2"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&missing.get_output().stderr).to_string();
    assert!(err.contains("shard 1/3 is missing"), "{err}");
    let twice = gauntlet()
        .arg("merge")
        .args([&dirs[0], &dirs[1], &dirs[1], &dirs[2]])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&twice.get_output().stderr).to_string();
    assert!(err.contains("shard 1/3 is given twice"), "{err}");
    let other = write(
        "other.toml",
        &scenario(&shard_server.url("/score"), "other"),
    );
    run_shards(&other.path, 3, other.dir.path());
    let mixed = gauntlet()
        .arg("merge")
        .arg(&dirs[0])
        .arg(&dirs[1])
        .arg(other.dir.path().join("s2"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&mixed.get_output().stderr).to_string();
    assert!(err.contains("different plans"), "{err}");
}

#[test]
fn merge_refuses_another_format_version_and_files_that_are_not_shards() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shard.json");
    std::fs::write(&file, r#"{"format": "gauntlet-shard", "version": 99}"#).unwrap();
    let out = gauntlet().arg("merge").arg(dir.path()).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("format version 99"), "{err}");
    std::fs::write(&file, r#"{"planned": 3}"#).unwrap();
    let out = gauntlet().arg("merge").arg(&file).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("not a gauntlet shard file"), "{err}");
    let out = gauntlet()
        .arg("merge")
        .arg(dir.path().join("nowhere"))
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("no shard results here"), "{err}");
}

#[test]
fn a_simulated_run_refuses_to_be_sharded() {
    let out = gauntlet()
        .args(["run", "scenarios/investor-demo.toml", "--shard", "1/2"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("cannot be split"), "{err}");
    for bad in ["2/2", "x", "1/0"] {
        gauntlet()
            .args(["run", "scenarios/http-local.toml", "--shard", bad])
            .assert()
            .code(2);
    }
    let out = gauntlet()
        .args(["run", "scenarios/http-local.toml", "--shards", "3"])
        .env_remove("GAUNTLET_SHARD")
        .env_remove("JOB_COMPLETION_INDEX")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("JOB_COMPLETION_INDEX"), "{err}");
}

/// `kubernetes-validate` (PyPI), as `.ci/run` installs it into target/ci-venv.
fn kubernetes_validate() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("KUBERNETES_VALIDATE").map(PathBuf::from),
        Some(root().join("target/ci-venv/bin/kubernetes-validate")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

#[test]
fn the_kubernetes_manifests_validate_against_the_kubernetes_schemas() {
    let out = gauntlet()
        .args([
            "kubernetes",
            "scenarios/http-local.toml",
            "--shards",
            "4",
            "--image",
            "example/gauntlet:1",
        ])
        .assert()
        .code(0);
    let yaml = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    // What the manifests must say, whatever the validator.
    for needle in [
        "kind: ConfigMap",
        "completionMode: Indexed",
        "completions: 4",
        "parallelism: 4",
        "\"--shards\", \"4\"",
        "job-completion-index",
        "runAsNonRoot: true",
        "\"merge\"",
        "image: \"example/gauntlet:1\"",
    ] {
        assert!(yaml.contains(needle), "no {needle} in:\n{yaml}");
    }
    let starts: Vec<&str> = yaml
        .match_indices("\"--start-at\", \"")
        .map(|(i, m)| &yaml[i + m.len()..i + m.len() + 20])
        .collect();
    assert_eq!(starts.len(), 1, "one start instant for every pod");
    assert_eq!(yaml.matches("shard-$(SHARD)").count(), 1);
    for k in 0..4 {
        assert!(
            yaml.contains(&format!("/shard-{k}\"")),
            "merge reads shard {k}"
        );
    }
    // The scenario in the ConfigMap is the file, line for line.
    for line in std::fs::read_to_string(root().join("scenarios/http-local.toml"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
    {
        assert!(yaml.contains(&format!("    {line}\n")), "{line}");
    }
    // Bad input is refused.
    gauntlet()
        .args([
            "kubernetes",
            "scenarios/investor-demo.toml",
            "--shards",
            "2",
        ])
        .args(["--image", "x"])
        .assert()
        .code(2);
    gauntlet()
        .args(["kubernetes", "scenarios/http-local.toml", "--shards", "0"])
        .args(["--image", "x"])
        .assert()
        .code(2);

    let Some(validate) = kubernetes_validate() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubernetes-validate is missing under CI (bash .ci/run installs it into target/ci-venv)"
        );
        eprintln!(
            "kubernetes-validate is missing: manifests not validated (bash .ci/run installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifests.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let v = Command::new(&validate)
        .args(["--strict", "--quiet"])
        .arg(&file)
        .output()
        .expect("kubernetes-validate runs");
    assert!(
        v.status.success(),
        "kubernetes-validate refused the manifests:\n{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    // The example claim in deploy/ too.
    let claim = Command::new(&validate)
        .args(["--strict", "--quiet"])
        .arg(root().join("deploy/results-claim.yaml"))
        .output()
        .unwrap();
    assert!(
        claim.status.success(),
        "{}",
        String::from_utf8_lossy(&claim.stdout)
    );
    // And the validator can fail: a misspelt field is refused.
    std::fs::write(&file, yaml.replace("parallelism:", "paralelism:")).unwrap();
    let bad = Command::new(&validate)
        .args(["--strict", "--quiet"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
