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
    let mut out = Vec::new();
    if old.digest == new.digest {
        return out;
    }
    phases(old, new, &mut out);
    failures(old, new, &mut out);
    criteria(old, new, &mut out);
    totals(old, new, &mut out);
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

fn phases(old: &Plan, new: &Plan, out: &mut Vec<String>) {
    for p in &new.phases {
        match old.phases.iter().find(|o| o.name == p.name) {
            None => out.push(format!(
                "+ phase \"{}\" ({}, {}, {} planned)",
                p.name,
                window(p.start_ns, p.end_ns),
                p.load.pattern(),
                thousands(p.planned)
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
                if o.planned != p.planned {
                    what.push(format!(
                        "planned {} → {}",
                        thousands(o.planned),
                        thousands(p.planned)
                    ));
                }
                if !what.is_empty() {
                    out.push(format!("~ phase \"{}\": {}", p.name, what.join(", ")));
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

fn failures(old: &Plan, new: &Plan, out: &mut Vec<String>) {
    for f in &new.failures {
        match old.failures.iter().find(|o| o.name == f.name) {
            None => out.push(format!(
                "+ failure \"{}\" ({} on {}, {})",
                f.name,
                f.effect.kind(),
                f.component,
                window(f.start_ns, f.end_ns)
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
                out.push(format!("~ failure \"{}\": {}", f.name, what.join(", ")));
            }
        }
    }
    for o in &old.failures {
        if !new.failures.iter().any(|f| f.name == o.name) {
            out.push(format!("- failure \"{}\"", o.name));
        }
    }
}

fn criteria(old: &Plan, new: &Plan, out: &mut Vec<String>) {
    let key = |c: &super::PlannedCriterion| {
        format!(
            "{} [{}]{}",
            c.check.text,
            c.scope.label(),
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

fn totals(old: &Plan, new: &Plan, out: &mut Vec<String>) {
    if old.seed != new.seed {
        out.push(format!("seed {} → {}", old.seed, new.seed));
    }
    if old.arrivals != new.arrivals {
        out.push(format!("arrivals {:?} → {:?}", old.arrivals, new.arrivals).to_lowercase());
    }
    if old.planned != new.planned {
        out.push(format!(
            "planned {} → {} transactions",
            thousands(old.planned),
            thousands(new.planned)
        ));
    }
    if old.duration_ns != new.duration_ns {
        out.push(format!(
            "run length {} → {}",
            units::ns(old.duration_ns),
            units::ns(new.duration_ns)
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
}
