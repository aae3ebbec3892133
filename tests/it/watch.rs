//! `validate --watch`: the file followed through the ways editors save it. Each step waits for
//! the watcher's own output line, never for a fixed time.

use super::support::{Lines, read, save_by_rename, write};

struct Watcher;

impl Watcher {
    fn start(path: &std::path::Path) -> Lines {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("gauntlet"));
        cmd.args(["validate", "--watch"]).arg(path);
        Lines::stdout(cmd)
    }
}

#[test]
fn validate_watch_follows_saves_renames_deletes_and_bursts() {
    let demo = read("scenarios/investor-demo.toml");
    let w = write("demo.toml", &demo);
    let mut watcher = Watcher::start(&w.path);
    watcher.expect("ok ");
    watcher.expect("watching");

    save_by_rename(&w.path, &demo.replace("rate = 5000 }", "rate = 6000 }"));
    watcher.expect("reload");
    watcher.expect("~ phase \"sustained\": load constant 5000 TPS → constant 6000 TPS");
    watcher.expect("planned 2,940,000 → 3,480,000 transactions");

    std::fs::write(&w.path, format!("{demo}\n[[phase]]\nname = \"oops\"\n")).unwrap();
    let line = watcher.expect("the last valid version stands");
    assert!(line.contains("invalid (2 errors)"), "{line}");

    std::fs::remove_file(&w.path).unwrap();
    watcher.expect("the file is gone");
    std::fs::write(&w.path, &demo).unwrap();
    watcher.expect("reload");
    watcher.expect("constant 6000 TPS → constant 5000 TPS");

    // A burst of saves is one reload.
    for seed in 1..=5 {
        std::fs::write(
            &w.path,
            demo.replace("seed = 42 ", &format!("seed = {seed} ")),
        )
        .unwrap();
    }
    watcher.expect("seed 42 → 5");
    // A last, different save: between the burst's reload and this one there is no other.
    std::fs::write(&w.path, demo.replace("seed = 42 ", "seed = 77 ")).unwrap();
    watcher.expect("seed 5 → 77");
    let burst = watcher
        .seen
        .iter()
        .position(|l| l.contains("seed 42 → 5"))
        .unwrap();
    let reloads = watcher.seen[burst..]
        .iter()
        .filter(|l| l.starts_with("reload"))
        .count();
    assert_eq!(
        reloads, 1,
        "one reload between the burst's and the last: {:#?}",
        watcher.seen
    );
}

#[test]
fn watch_takes_one_file() {
    super::support::gauntlet()
        .args([
            "validate",
            "--watch",
            "scenarios/investor-demo.toml",
            "scenarios/peak-load.toml",
        ])
        .assert()
        .code(2);
}
