//! Every complete scenario shown in the docs validates as written, and the README's commands
//! run as shown.

use super::support::{gauntlet, read, try_compile};

/// The ```toml blocks of a markdown file that hold a whole scenario.
fn scenarios_in(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```toml") => current = Some(String::new()),
            (Some(block), l) if l.starts_with("```") => {
                if block.contains("[scenario]") {
                    out.push(std::mem::take(block));
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_scenario_in_the_docs_validates() {
    let mut total = 0;
    for doc in ["README.md", "docs/scenario-language.md", "docs/editor.md"] {
        for (i, block) in scenarios_in(&read(doc)).iter().enumerate() {
            if let Err(e) = try_compile(block) {
                panic!("{doc}, scenario block {}:\n{e}\n{block}", i + 1);
            }
            total += 1;
        }
    }
    assert!(total >= 3, "found only {total} scenario blocks");
}

#[test]
fn the_language_reference_holds_the_complete_example() {
    let blocks = scenarios_in(&read("docs/scenario-language.md"));
    let example = blocks
        .iter()
        .find(|b| b.contains("name = \"investor-demo\""))
        .expect("complete example");
    let plan = try_compile(example).unwrap();
    assert_eq!(plan.phases.len(), 3);
    assert_eq!(
        plan.failures[0].start_ns, 240_000_000_000,
        "at = 3m from the sustained phase's start"
    );
}

/// `$ gauntlet …` lines in the README's console blocks run with the exit code they show.
#[test]
fn readme_commands_run_as_shown() {
    let readme = read("README.md");
    let lines: Vec<&str> = readme.lines().collect();
    let mut ran = 0;
    let mut compared = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(cmd) = line.strip_prefix("$ gauntlet ") else {
            continue;
        };
        let (cmd, code) = match cmd.split_once("  # exit ") {
            Some((c, code)) => (c, code.trim().parse::<i32>().unwrap()),
            None => (cmd, 0),
        };
        let args: Vec<&str> = cmd.split_whitespace().take_while(|a| *a != "|").collect();
        let out = gauntlet()
            .args(&args)
            .assert()
            .code(code)
            .get_output()
            .clone();
        ran += 1;
        // The output shown under `validate` and `plan` (to a "…" that cuts it short) is what
        // they print: digests and counts in the README stay current.
        if code != 0 || !matches!(args[0], "validate" | "plan") {
            continue;
        }
        let stdout = String::from_utf8(out.stdout).unwrap();
        let shown = lines[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("$ ") && !l.starts_with("```") && **l != "…");
        for (shown, printed) in shown.zip(stdout.lines()) {
            assert_eq!(*shown, printed, "README.md, under `gauntlet {cmd}`");
            compared += 1;
        }
    }
    assert!(ran >= 4, "the README shows {ran} gauntlet commands");
    assert!(compared >= 10, "{compared} lines of output compared");
}
