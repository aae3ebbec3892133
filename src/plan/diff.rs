//! What changed between two plans, in a person's words: phases, failures and criteria added,
//! removed or changed; the planned transactions; the digest. Used when a watched scenario is
//! saved again.

use super::Plan;
use crate::units::{self, thousands};

fn window(start: u64, end: u64) -> String {
    format!("{} → {}", units::ns(start), units::ns(end))
}

/// The changes from `old` to `new`, one line each; empty when the plans are the same.
pub fn changes(old: &Plan, new: &Plan) -> Vec<String> {
    describe(old, new, None)
}

/// The changes a reload at `at` (ns from the run's start) makes to a running test: those of
/// `changes`, with each phase and failure that lies wholly before `at` on both sides marked as
/// changing nothing (what is over stays as it ran), and the planned transactions and run
/// length those of the run itself, `old_run` to `new_run` (its record before and after the
/// reload), not those of the two versions.
pub fn reload(old: &Plan, new: &Plan, at: u64, old_run: &Plan, new_run: &Plan) -> Vec<String> {
    describe(old, new, Some((at, old_run, new_run)))
}

/// A reload's instant and the run's records around it.
type Run<'a> = Option<(u64, &'a Plan, &'a Plan)>;

fn describe(old: &Plan, new: &Plan, run: Run<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if old.digest == new.digest {
        return out;
    }
    let at = run.map(|(at, _, _)| at);
    phases(old, new, run, &mut out);
    failures(old, new, at, &mut out);
    criteria(old, new, &mut out);
    match run {
        Some((_, old_run, new_run)) => totals(old, new, old_run, new_run, &mut out),
        None => totals(old, new, old, new, &mut out),
    }
    if out.is_empty() {
        out.push("settings changed (target, workload, business or report)".to_string());
    }
    out.push(format!(
        "digest {} → {}",
        &old.digest[..12],
        &new.digest[..12]
    ));
    out
}

/// What is said of a change to something that ended before the reload on both sides.
const OVER: &str = " (over: changes nothing)";

/// Whether windows ending at `ends` are all over at the reload `at`.
fn over(at: Option<u64>, ends: &[u64]) -> bool {
    at.is_some_and(|at| ends.iter().all(|&end| end <= at))
}

/// `OVER` when windows ending at `ends` are all over at the reload `at`, else nothing.
fn marked(at: Option<u64>, ends: &[u64]) -> &'static str {
    if over(at, ends) { OVER } else { "" }
}

fn phases(old: &Plan, new: &Plan, run: Run<'_>, out: &mut Vec<String>) {
    let at = run.map(|(at, _, _)| at);
    // A phase's transactions as the run holds them (see `splice::recount`), else the version's.
    let held = |record: Option<&Plan>, p: &super::PlannedPhase| {
        record
            .and_then(|r| r.phases.iter().rfind(|q| q.name == p.name))
            .map_or(p.planned, |q| q.planned)
    };
    let (old_run, new_run) = (run.map(|r| r.1), run.map(|r| r.2));
    for p in &new.phases {
        match old.phases.iter().find(|o| o.name == p.name) {
            None => out.push(format!(
                "+ phase \"{}\" ({}, {}, {} planned)",
                p.name,
                window(p.start_ns, p.end_ns),
                p.load.pattern(),
                thousands(held(new_run, p))
            )),
            Some(o) => {
                let mut what = Vec::new();
                if o.load != p.load {
                    what.push(format!(
                        "load {} → {}",
                        o.load.describe(),
                        p.load.describe()
                    ));
                }
                if (o.start_ns, o.end_ns) != (p.start_ns, p.end_ns) {
                    what.push(format!(
                        "window {} → {}",
                        window(o.start_ns, o.end_ns),
                        window(p.start_ns, p.end_ns)
                    ));
                }
                let (before, after) = (held(old_run, o), held(new_run, p));
                if before != after {
                    what.push(format!(
                        "planned {} → {}",
                        thousands(before),
                        thousands(after)
                    ));
                }
                if !what.is_empty() {
                    let done = marked(at, &[o.end_ns, p.end_ns]);
                    out.push(format!("~ phase \"{}\": {}{done}", p.name, what.join(", ")));
                }
            }
        }
    }
    for o in &old.phases {
        if !new.phases.iter().any(|p| p.name == o.name) {
            out.push(format!("- phase \"{}\"", o.name));
        }
    }
}

fn failures(old: &Plan, new: &Plan, at: Option<u64>, out: &mut Vec<String>) {
    for f in &new.failures {
        match old.failures.iter().find(|o| o.name == f.name) {
            None => out.push(format!(
                "+ failure \"{}\" ({} on {}, {}){}",
                f.name,
                f.effect.kind(),
                f.component,
                window(f.start_ns, f.end_ns),
                if over(at, &[f.end_ns]) {
                    " (wholly in the past: not injected)"
                } else {
                    ""
                }
            )),
            Some(o) => {
                let mut what = Vec::new();
                if o.effect != f.effect || o.component != f.component {
                    what.push(format!(
                        "{} on {} → {} on {}",
                        o.effect.kind(),
                        o.component,
                        f.effect.kind(),
                        f.component
                    ));
                }
                if (o.start_ns, o.end_ns) != (f.start_ns, f.end_ns) {
                    what.push(format!(
                        "window {} → {}",
                        window(o.start_ns, o.end_ns),
                        window(f.start_ns, f.end_ns)
                    ));
                }
                if o.probability != f.probability {
                    what.push(format!("probability {} → {}", o.probability, f.probability));
                }
                if o.effect == f.effect && what.is_empty() {
                    continue;
                }
                if what.is_empty() {
                    what.push("settings changed".to_string());
                }
                let done = marked(at, &[o.end_ns, f.end_ns]);
                out.push(format!(
                    "~ failure \"{}\": {}{done}",
                    f.name,
                    what.join(", ")
                ));
            }
        }
    }
    for o in &old.failures {
        if !new.failures.iter().any(|f| f.name == o.name) {
            let done = marked(at, &[o.end_ns]);
            out.push(format!("- failure \"{}\"{done}", o.name));
        }
    }
}

fn criteria(old: &Plan, new: &Plan, out: &mut Vec<String>) {
    let key = |c: &super::PlannedCriterion| {
        format!(
            "{} [{}]{}",
            c.check.text,
            c.scope_text(),
            if c.abort { " abort" } else { "" }
        )
    };
    let old_criteria: Vec<String> = old.criteria.iter().map(key).collect();
    let new_criteria: Vec<String> = new.criteria.iter().map(key).collect();
    for c in &new_criteria {
        if !old_criteria.contains(c) {
            out.push(format!("+ criterion {c}"));
        }
    }
    for c in &old_criteria {
        if !new_criteria.contains(c) {
            out.push(format!("- criterion {c}"));
        }
    }
}

/// The seed and arrivals of the versions; the planned transactions and run length of `from`
/// and `to` (the versions themselves, or the run's records around a reload).
fn totals(old: &Plan, new: &Plan, from: &Plan, to: &Plan, out: &mut Vec<String>) {
    if old.seed != new.seed {
        out.push(format!("seed {} → {}", old.seed, new.seed));
    }
    if old.arrivals != new.arrivals {
        out.push(format!("arrivals {:?} → {:?}", old.arrivals, new.arrivals).to_lowercase());
    }
    if from.planned != to.planned {
        out.push(format!(
            "planned {} → {} transactions",
            thousands(from.planned),
            thousands(to.planned)
        ));
    }
    if from.duration_ns != to.duration_ns {
        out.push(format!(
            "run length {} → {}",
            units::ns(from.duration_ns),
            units::ns(to.duration_ns)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::compile_text as plan;

    const BASE: &str = "[scenario]\nname = \"d\"\nseed = 1\n[[phase]]\nname = \"a\"\nduration = \"1m\"\nload = { pattern = \"constant\", rate = 10 }\n";

    #[test]
    fn names_what_was_added_removed_and_changed() {
        let old = plan(&format!(
            "{BASE}[[failure]]\nname = \"x\"\nkind = \"crash\"\ncomponent = \"gateway\"\nat = \"10s\"\nduration = \"5s\"\n[[criterion]]\ncheck = \"lost == 0\"\n"
        ));
        let new = plan(&format!(
            "{BASE}[[phase]]\nname = \"b\"\nduration = \"30s\"\nload = {{ pattern = \"pause\" }}\n[[failure]]\nname = \"y\"\nkind = \"hang\"\ncomponent = \"decision\"\nat = \"10s\"\nduration = \"5s\"\n[[criterion]]\ncheck = \"lost == 0\"\nabort = true\n"
        ));
        let c = changes(&old, &new);
        assert!(
            c.contains(&"+ phase \"b\" (1m → 1m30s, pause, 0 planned)".to_string()),
            "{c:#?}"
        );
        assert!(
            c.iter()
                .any(|l| l.starts_with("+ failure \"y\" (hang on decision")),
            "{c:#?}"
        );
        assert!(c.contains(&"- failure \"x\"".to_string()), "{c:#?}");
        assert!(
            c.contains(&"+ criterion lost == 0 [run] abort".to_string()),
            "{c:#?}"
        );
        assert!(
            c.contains(&"- criterion lost == 0 [run]".to_string()),
            "{c:#?}"
        );
        assert!(c.contains(&"run length 1m → 1m30s".to_string()), "{c:#?}");
        assert!(c.last().unwrap().starts_with("digest "));
        assert!(changes(&old, &old).is_empty());
    }

    #[test]
    fn a_reload_marks_what_is_over_and_counts_the_run() {
        const S: u64 = 1_000_000_000;
        let two = |rate: u32, extra: &str| {
            plan(&format!(
                "[scenario]\nname = \"d\"\nseed = 1\n[[phase]]\nname = \"a\"\nduration = \"20s\"\nload = {{ pattern = \"constant\", rate = {rate} }}\n[[phase]]\nname = \"b\"\nduration = \"40s\"\nload = {{ pattern = \"constant\", rate = 10 }}\n{extra}"
            ))
        };
        let x = "[[failure]]\nname = \"x\"\nkind = \"crash\"\ncomponent = \"gateway\"\nat = \"5s\"\nduration = \"5s\"\n";
        let y = "[[failure]]\nname = \"y\"\nkind = \"hang\"\ncomponent = \"decision\"\nat = \"10s\"\nduration = \"5s\"\n";
        let (old, new) = (two(10, x), two(30, y));
        // At 30 s phase "a" and both failures are over: the run's plan keeps them as they ran.
        let c = reload(&old, &new, 30 * S, &old, &old);
        let want = "~ phase \"a\": load constant 10 TPS → constant 30 TPS (over: changes nothing)";
        assert!(c.contains(&want.to_string()), "{c:#?}");
        assert!(
            c.contains(&"- failure \"x\" (over: changes nothing)".to_string()),
            "{c:#?}"
        );
        assert!(
            c.iter().any(|l| l.starts_with("+ failure \"y\"")
                && l.ends_with("(wholly in the past: not injected)")),
            "{c:#?}"
        );
        assert!(!c.iter().any(|l| l.starts_with("planned ")), "{c:#?}");
        // Between the versions (what `validate --watch` shows) the totals are the versions'.
        let v = changes(&old, &new);
        assert!(
            v.contains(&"planned 600 → 1,000 transactions".to_string()),
            "{v:#?}"
        );
        assert!(!v.iter().any(|l| l.contains("over")), "{v:#?}");
        // At 15 s phase "a" is under way: its change is not marked, and it holds what ran
        // (150 at 10 TPS) and what the new version plans for the rest (150 at 30 TPS), not
        // the new version's whole phase (600).
        let mut s = crate::plan::splice::splice(&old, &new, 15 * S, 0).unwrap();
        crate::plan::splice::recount(&mut s, &old, &old, &new, 15 * S);
        let c = reload(&old, &new, 15 * S, &old, &s.plan);
        let want = "~ phase \"a\": load constant 10 TPS → constant 30 TPS, planned 200 → 300";
        assert!(c.contains(&want.to_string()), "{c:#?}");
        let c = reload(&old, &new, 15 * S, &old, &new);
        assert!(
            c.contains(&"planned 600 → 1,000 transactions".to_string()),
            "{c:#?}"
        );
    }

    #[test]
    fn a_criterion_s_window_is_part_of_it() {
        let with = |w: &str| {
            plan(&format!(
                "{BASE}[[criterion]]\ncheck = \"latency.p95 < 1s\"\nwindow = \"{w}\"\n"
            ))
        };
        let c = changes(&with("10s"), &with("20s"));
        let line = |sign: &str, w: u32| {
            format!("{sign} criterion latency.p95 < 1s [run, every {w}s window]")
        };
        assert!(c.contains(&line("+", 20)), "{c:#?}");
        assert!(c.contains(&line("-", 10)), "{c:#?}");
    }
}
