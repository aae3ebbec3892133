//! The corpus of broken scenarios under tests/broken: each exits 2 without panicking, names the
//! file and the right line and column, and says what is wrong (snapshots of the exact text).

use std::path::PathBuf;

use super::support::{gauntlet, root, write};

/// Where the first error of each broken file must point (line, column), and a phrase it must say.
const EXPECTED: &[(&str, usize, usize, &str)] = &[
    ("absurd-duration", 7, 12, "too long"),
    ("absurd-rate", 8, 39, "at most 100000000"),
    ("absurd-total", 8, 8, "at most 10^12"),
    ("bad-duration", 7, 12, "invalid duration \"5 minutes\""),
    ("bandwidth-simulated", 11, 8, "needs an http target"),
    (
        "both-scopes",
        20,
        10,
        "give one of phase, during, outside or request",
    ),
    (
        "burst-hold-longer",
        8,
        74,
        "hold 45s is longer than every 30s",
    ),
    ("chaos-min-above-max", 8, 35, "min 900 is above max 100"),
    (
        "duplicate-phase",
        11,
        8,
        "already used by the phase on line 6",
    ),
    ("empty", 1, 1, "missing [scenario] table"),
    (
        "errors-without-probability",
        10,
        1,
        "missing key \"probability\"",
    ),
    (
        "failure-after-run",
        10,
        1,
        "ends at 1m20s, after the run ends at 1m",
    ),
    ("fraction-out-of-range", 6, 14, "must be at most 1, not 1.5"),
    ("compare-bad-limit", 11, 18, "cannot be limited in a time"),
    ("component-metric-http", 15, 9, "scrape them with [[probe]]"),
    (
        "component-metric-unknown",
        11,
        20,
        "did you mean \"ml-scorer\"?",
    ),
    ("http-bad-component", 16, 13, "did you mean \"gateway\"?"),
    ("http-missing-url", 5, 1, "missing key \"url\""),
    (
        "payback-without-investment",
        14,
        9,
        "needs [business] investment",
    ),
    ("probe-simulated", 10, 1, "a probe scrapes a real service"),
    ("probe-bad-selector", 17, 28, "expected =, !=, =~ or !~"),
    (
        "probe-unknown-series",
        20,
        20,
        "did you mean \"scorer-queue\"?",
    ),
    ("missing-seed", 1, 1, "missing key \"seed\""),
    ("missing-tag", 8, 8, "missing key \"pattern\""),
    ("negative-rate", 8, 39, "must be at least 0"),
    ("no-phases", 1, 1, "no [[phase]]"),
    ("phase-table-not-array", 5, 1, "write [[phase]]"),
    ("poisson-typo", 4, 12, "did you mean \"poisson\"?"),
    ("repeat-overlap", 16, 20, "occurrences would overlap"),
    ("toml-syntax", 1, 10, "invalid TOML"),
    ("top-level-typo", 1, 1, "missing [scenario] table"),
    ("unit-mismatch", 11, 24, "is a share"),
    ("unknown-component", 12, 13, "did you mean \"ml-scorer\"?"),
    ("unknown-currency", 6, 38, "did you mean \"EUR\"?"),
    ("unknown-during", 19, 10, "did you mean \"scorer-crash\"?"),
    (
        "unknown-failure-kind",
        11,
        8,
        "unknown failure kind \"explode\"",
    ),
    ("unknown-key-typo", 5, 1, "missing key \"duration\""),
    ("unknown-metric", 11, 10, "did you mean \"latency.p95\"?"),
    ("unknown-pattern", 8, 20, "did you mean \"ramp\"?"),
    ("unknown-phase-scope", 12, 9, "did you mean \"main\"?"),
    ("unknown-report-format", 11, 18, "did you mean \"html\"?"),
    ("wrong-type", 3, 8, "must be an integer"),
    // Criteria no run could meet or miss, and keys that would do nothing.
    ("fractional-count", 11, 18, "a count is a whole number"),
    (
        "grace-without-abort",
        12,
        15,
        "abort_grace does nothing without abort = true",
    ),
    ("impossible-share", 11, 23, "could never pass"),
    ("negative-latency", 11, 24, "never below 0"),
    ("recovery-below-zero", 11, 26, "never below 0"),
    ("repeat-too-many", 16, 34, "at most 10000 in all"),
    ("share-above-100", 11, 25, "never above 100%"),
    (
        "window-service-time",
        12,
        10,
        "window judges per-second figures and latency",
    ),
    ("name-underscore", 12, 13, "did you mean \"ml-scorer\"?"),
    (
        "repeat-not-table",
        15,
        10,
        "e.g. repeat = { every = \"1m\", count = 3 }",
    ),
    (
        "k6-metric-name",
        11,
        10,
        "k6's \"http_req_duration.p95\" is \"latency.p95\" here",
    ),
    ("window-fraction", 12, 10, "a whole number of seconds"),
    (
        "outside-latency",
        12,
        11,
        "judge \"latency.p95\" over a list of phases",
    ),
    (
        "json-format",
        11,
        12,
        "results.json is always written: leave \"json\" out of formats",
    ),
    (
        "outside-every-phase",
        12,
        11,
        "outside leaves out every phase: nothing is left to judge",
    ),
    (
        "percent-fraction",
        6,
        14,
        "not percentages: write 0.02 for 2%",
    ),
    ("phase-list-unknown", 12, 18, "did you mean \"main\"?"),
    (
        "shares-over-one",
        7,
        18,
        "edge_case_rate 0.5 and fraud_rate 0.6 add up to more than 1",
    ),
    (
        "status-simulated",
        16,
        10,
        "status does nothing for a simulated target",
    ),
];

fn broken_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/broken"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_broken_scenario_exits_2_at_the_right_place() {
    let files = broken_files();
    assert!(files.len() >= 20, "the corpus has {} files", files.len());
    assert_eq!(
        files.len(),
        EXPECTED.len(),
        "every corpus file has an expectation"
    );
    for path in files {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let (_, line, col, phrase) = EXPECTED
            .iter()
            .find(|(name, ..)| *name == stem)
            .unwrap_or_else(|| panic!("no expectation for {stem}"));
        let rel = format!("tests/broken/{stem}.toml");
        let out = gauntlet()
            .args(["validate", &rel])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            out.stdout.is_empty(),
            "{stem}: nothing on stdout for an invalid file"
        );
        let first = stderr.lines().next().unwrap_or_default();
        let at = format!("error: {rel}:{line}:{col}: ");
        assert!(
            first.starts_with(&at),
            "{stem}: expected {at}…, got\n{stderr}"
        );
        assert!(
            first.contains(phrase),
            "{stem}: expected \"{phrase}\" in\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stem} panicked");
        insta::assert_snapshot!(format!("broken__{stem}"), stderr);
    }
}

#[test]
fn all_errors_of_a_file_come_at_once_in_line_order() {
    let text = r#"[scenario]
name = "x"
seed = 1

[[phase]]
name = "a"
duration = "1m"
load = { pattern = "constant", rate = 10 }

[[failure]]
kind = "crash"
component = "ml-scorr"
at = "50s"
duration = "20s"

[[criterion]]
check = "latency.p96 < 1s"

[[criterion]]
check = "error_rate < 1%"
phase = "b"
"#;
    let w = write("many.toml", text);
    let out = gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<usize> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(|l| l.split(':').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines, vec![10, 12, 17, 21], "{stderr}");
}

#[test]
fn binary_garbage_is_rejected_cleanly() {
    let w = write("garbage.toml", "");
    std::fs::write(&w.path, [0x00, 0xff, 0xfe, 0x13, 0x37, 0x80, 0x81]).unwrap();
    let out = gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.contains(":1:2: the file is not UTF-8 text"),
        "{stderr}"
    );
}

#[test]
fn a_50_mb_file_is_rejected_without_reading_it_all() {
    let w = write("huge.toml", "");
    let file = std::fs::File::create(&w.path).unwrap();
    file.set_len(50 * 1024 * 1024).unwrap();
    let out = gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("at most 4 MiB"), "{stderr}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [100, 100_000] {
        let text = format!(
            "[scenario]\nname = \"x\"\nseed = 1\nextra = {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let w = write("deep.toml", &text);
        let out = gauntlet()
            .arg("validate")
            .arg(&w.path)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(stderr.contains("deep.toml:4:"), "depth {depth}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("overflow"),
            "{stderr}"
        );
    }
}

#[test]
fn absurd_numbers_are_errors() {
    for (key, value, phrase) in [
        ("seed", "99999999999999999999", "out of range"),
        ("seed", "1e400", "not a finite number"),
        ("seed", "nan", "not a finite number"),
        ("seed", "-9223372036854775808", "must be at least 0"),
    ] {
        let text = format!(
            "[scenario]\nname = \"x\"\n{key} = {value}\n\n[[phase]]\nname = \"a\"\nduration = \"1s\"\nload = {{ pattern = \"pause\" }}\n"
        );
        let w = write("n.toml", &text);
        let out = gauntlet()
            .arg("validate")
            .arg(&w.path)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(stderr.contains("n.toml:3:"), "{value}: {stderr}");
        assert!(
            stderr.contains(phrase),
            "{value}: expected {phrase}: {stderr}"
        );
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = gauntlet()
        .args(["validate", "no/such/file.toml"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.starts_with("error: no/such/file.toml: cannot read the scenario"),
        "{stderr}"
    );
}

#[test]
fn schema_and_meaning_errors_come_in_one_pass_where_the_rest_can_be_checked() {
    let w = write(
        "both.toml",
        "[scenario]\nname = \"both\"\nseed = 1\n\n[[phase]]\nname = \"main\"\nduration = \"1m\"\nload = { pattern = \"constant\", rate = 10 }\n\n[[failure]]\nname = \"late\"\nkind = \"crash\"\ncomponent = \"ml-scorer\"\nat = \"55s\"\nduration = \"30s\"\n\n[[criterion]]\ncheck = \"latency.p95 < 2s\"\nabort = \"yes\"\n\n[[criterion]]\ncheck = \"error_rate < 0.1%\"\nphase = \"mian\"\n\n[business]\nreview_cost = \"cheap\"\n",
    );
    let out = gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    let at: Vec<&str> = lines
        .iter()
        .map(|l| {
            let located = l.trim_start_matches("error: ").split(": ").next().unwrap();
            located.rsplit_once(".toml:").unwrap().1
        })
        .collect();
    // The failure past the run's end and the unknown phase (meaning) come with the two type
    // errors (schema), in line order.
    assert_eq!(at, ["10:1", "19:9", "23:9", "26:15"], "{stderr}");
    // A schema error elsewhere (a phase) still stops before meaning checks: they would follow
    // from it.
    let w = write(
        "phase.toml",
        "[scenario]\nname = \"p\"\nseed = 1\n\n[[phase]]\nname = \"main\"\nduration = 60\nload = { pattern = \"constant\", rate = 10 }\n\n[[criterion]]\ncheck = \"error_rate < 0.1%\"\nphase = \"mian\"\n",
    );
    let out = gauntlet()
        .arg("validate")
        .arg(&w.path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
}
