//! What a running test becomes when its scenario is reloaded at instant `at`: the *record*
//! of the run (what has happened, then what the new version plans), from which the
//! measurements are scoped, the failures injected and the criteria judged.
//!
//! Times stay measured from the run's start. Before `at` nothing changes: phases and failure
//! windows that are over stay as they ran. From `at` on the new version rules:
//! - the phase under way keeps its measurements when the new version still has it (same
//!   name): it takes the new version's load and end. Under another name, the old phase ends at
//!   `at` and the new one starts there;
//! - a failure under way that the new version still has (same name, window still open at
//!   `at`) continues with the new settings until the new end; otherwise it ends at `at`;
//! - failures not started yet are the new version's; one whose window opens in the past but is
//!   still open starts at `at`; one wholly in the past is not injected;
//! - criteria are the new version's, scoped against the record.

use super::{Plan, PlannedCriterion, PlannedFailure, PlannedPhase, Scope, occurrences};

/// The record after a reload, and where each of its phases and failure windows came from.
pub struct Spliced {
    pub plan: Plan,
    /// For each phase of the record: the phase of the old record whose measurements it
    /// continues.
    pub phase_from: Vec<Option<usize>>,
    /// For each failure window of the record: the old record's window it continues.
    pub failure_from: Vec<Option<usize>>,
}

/// Splices `new` into the record `old` at `at` (ns from the run's start). `planned` is every
/// transaction numbered so far plus those `new` plans from `at` on. Fails (with the reasons)
/// when a criterion of `new` names a phase that is over and never ran in this run.
pub fn splice(old: &Plan, new: &Plan, at: u64, planned: u64) -> Result<Spliced, Vec<String>> {
    let (phases, phase_from) = splice_phases(old, new, at);
    let (failures, failure_from) = splice_failures(old, new, at);
    let duration_ns = new.duration_ns.max(at);
    let criteria = rescope(new, &phases, &failures, duration_ns)?;
    Ok(Spliced {
        plan: Plan {
            name: new.name.clone(),
            description: new.description.clone(),
            duration_ns,
            planned,
            phases,
            failures,
            criteria,
            workload: new.workload.clone(),
            business: new.business.clone(),
            priced: new.priced,
            arrivals: new.arrivals,
            // The run's identity, its target and where its reports go stay the run's own.
            ..old.clone()
        },
        phase_from,
        failure_from,
    })
}

/// Sets each phase of the record to the transactions it holds in this run: those planned
/// before `at` (from `old`, the record before the reload, less what `schedule`, the version in
/// force until `at`, still planned from `at` on) plus those `new` plans from `at` on. Without
/// it, a phase under way would count the new version's whole phase, as if it had run from its
/// start.
pub fn recount(spliced: &mut Spliced, old: &Plan, schedule: &Plan, new: &Plan, at: u64) {
    for (p, from) in spliced.plan.phases.iter_mut().zip(&spliced.phase_from) {
        if from.is_some_and(|o| old.phases[o].end_ns <= at) {
            continue; // over before the reload: as it ran
        }
        let before = from.map_or(0, |o| {
            let o = &old.phases[o];
            let rest = if o.end_ns > at {
                schedule.count_between(at.max(o.start_ns), o.end_ns)
            } else {
                0
            };
            o.planned.saturating_sub(rest)
        });
        let after = if p.end_ns > at {
            new.count_between(at.max(p.start_ns), p.end_ns)
        } else {
            0
        };
        p.planned = before + after;
    }
}

/// Phases over stay; the one under way keeps its start when it keeps its name (otherwise it
/// ends at `at` and the new one starts there); later ones are the new version's.
fn splice_phases(old: &Plan, new: &Plan, at: u64) -> (Vec<PlannedPhase>, Vec<Option<usize>>) {
    let mut phases: Vec<PlannedPhase> = Vec::new();
    let mut phase_from = Vec::new();
    for (i, p) in old.phases.iter().enumerate() {
        if p.end_ns <= at {
            phases.push(p.clone());
            phase_from.push(Some(i));
        }
    }
    let under_way =
        |list: &[PlannedPhase]| list.iter().position(|p| p.start_ns <= at && at < p.end_ns);
    let (cur_old, cur_new) = (under_way(&old.phases), under_way(&new.phases));
    match (cur_old, cur_new) {
        (Some(o), Some(n)) if old.phases[o].name == new.phases[n].name => {
            phases.push(PlannedPhase {
                start_ns: old.phases[o].start_ns,
                ..new.phases[n].clone()
            });
            phase_from.push(Some(o));
        }
        _ => {
            if let Some(o) = cur_old
                && old.phases[o].start_ns < at
            {
                phases.push(PlannedPhase {
                    end_ns: at,
                    ..old.phases[o].clone()
                });
                phase_from.push(Some(o));
            }
            if let Some(n) = cur_new {
                phases.push(PlannedPhase {
                    start_ns: at,
                    ..new.phases[n].clone()
                });
                phase_from.push(None);
            }
        }
    }
    // The new version's later phases (none when it ends before `at`: phases are contiguous).
    if let Some(n) = cur_new {
        for p in &new.phases[n + 1..] {
            phases.push(p.clone());
            phase_from.push(None);
        }
    }
    (phases, phase_from)
}

/// Failures over stay; one under way continues with the new settings if the new version
/// still has it (or ends at `at`); the rest follow the new version, an open window from `at`.
fn splice_failures(old: &Plan, new: &Plan, at: u64) -> (Vec<PlannedFailure>, Vec<Option<usize>>) {
    let mut failures: Vec<(PlannedFailure, Option<usize>)> = Vec::new();
    let mut taken = vec![false; new.failures.len()];
    for (i, f) in old.failures.iter().enumerate() {
        if f.end_ns <= at {
            failures.push((f.clone(), Some(i)));
        } else if f.start_ns < at {
            let continued = new
                .failures
                .iter()
                .position(|n| n.name == f.name && n.start_ns <= at && at < n.end_ns);
            match continued {
                Some(j) => {
                    taken[j] = true;
                    failures.push((
                        PlannedFailure {
                            start_ns: f.start_ns,
                            ..new.failures[j].clone()
                        },
                        Some(i),
                    ));
                }
                None => failures.push((
                    PlannedFailure {
                        end_ns: at,
                        ..f.clone()
                    },
                    Some(i),
                )),
            }
        }
        // Not started yet: the new version decides.
    }
    for (j, n) in new.failures.iter().enumerate() {
        if taken[j] || n.end_ns <= at {
            continue;
        }
        failures.push((
            PlannedFailure {
                start_ns: n.start_ns.max(at),
                ..n.clone()
            },
            None,
        ));
    }
    failures.sort_by_key(|(f, _)| f.start_ns);
    failures.into_iter().unzip()
}

/// The new version's criteria, scoped against what ran; one on a phase that is over and
/// never ran refuses the reload.
fn rescope(
    new: &Plan,
    phases: &[PlannedPhase],
    failures: &[PlannedFailure],
    duration_ns: u64,
) -> Result<Vec<PlannedCriterion>, Vec<String>> {
    let mut criteria = Vec::with_capacity(new.criteria.len());
    let mut errors = Vec::new();
    for c in &new.criteria {
        let (scope, windows) = match &c.scope {
            Scope::Run => (Scope::Run, vec![(0, duration_ns)]),
            Scope::Phase { name, .. } => match phases.iter().rposition(|p| p.name == *name) {
                Some(index) => (
                    Scope::Phase {
                        name: name.clone(),
                        index,
                    },
                    vec![(phases[index].start_ns, phases[index].end_ns)],
                ),
                None => {
                    errors.push(format!(
                        "criterion \"{}\" is scoped to phase \"{name}\", which is over in the new version and never ran in this run",
                        c.check.text
                    ));
                    continue;
                }
            },
            Scope::OutsideFailures => (Scope::OutsideFailures, vec![(0, duration_ns)]),
            // The mix is part of the target, which a reload cannot change.
            Scope::Request { name, index } => (
                Scope::Request {
                    name: name.clone(),
                    index: *index,
                },
                vec![(0, duration_ns)],
            ),
            Scope::Phases { names, .. } => {
                let found: Vec<Option<usize>> = names
                    .iter()
                    .map(|n| phases.iter().rposition(|p| p.name == *n))
                    .collect();
                if found.iter().any(Option::is_none) {
                    errors.push(format!(
                        "criterion \"{}\" is scoped to phases {}, one of which is over in the new version and never ran in this run",
                        c.check.text,
                        names.join(", ")
                    ));
                    continue;
                }
                let indexes: Vec<usize> = found.into_iter().flatten().collect();
                let windows = indexes
                    .iter()
                    .map(|&i| (phases[i].start_ns, phases[i].end_ns))
                    .collect();
                (
                    Scope::Phases {
                        names: names.clone(),
                        indexes,
                    },
                    windows,
                )
            }
            Scope::Failure { name, .. } => {
                let occurrences = occurrences(failures, name);
                let windows = occurrences
                    .iter()
                    .map(|&j| (failures[j].start_ns, failures[j].end_ns))
                    .collect();
                (
                    Scope::Failure {
                        name: name.clone(),
                        occurrences,
                    },
                    windows,
                )
            }
        };
        criteria.push(PlannedCriterion {
            scope,
            windows,
            ..c.clone()
        });
    }
    if errors.is_empty() {
        Ok(criteria)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::compile_text as plan;

    /// (name, start s, end s) of each phase of the record.
    fn phases(s: &Spliced) -> Vec<(&str, u64, u64)> {
        s.plan
            .phases
            .iter()
            .map(|p| (p.name.as_str(), p.start_ns / S, p.end_ns / S))
            .collect()
    }

    /// (name, start s, end s) of each failure window of the record.
    fn failures(s: &Spliced) -> Vec<(&str, u64, u64)> {
        s.plan
            .failures
            .iter()
            .map(|f| (f.name.as_str(), f.start_ns / S, f.end_ns / S))
            .collect()
    }

    const S: u64 = 1_000_000_000;

    fn scenario(rate: u32, failures: &str, criteria: &str) -> String {
        format!(
            "[scenario]\nname = \"s\"\nseed = 1\n\
             [[phase]]\nname = \"warm\"\nduration = \"10s\"\nload = {{ pattern = \"constant\", rate = 10 }}\n\
             [[phase]]\nname = \"main\"\nduration = \"50s\"\nload = {{ pattern = \"constant\", rate = {rate} }}\n\
             {failures}{criteria}"
        )
    }

    const CRASH: &str = "[[failure]]\nname = \"c\"\nkind = \"crash\"\ncomponent = \"gateway\"\nat = \"20s\"\nduration = \"20s\"\n";
    const LATER: &str = "[[failure]]\nname = \"l\"\nkind = \"latency\"\ncomponent = \"gateway\"\ndelay = \"10ms\"\nat = \"50s\"\nduration = \"5s\"\n";

    #[test]
    fn the_phase_under_way_keeps_its_start_and_takes_the_new_load() {
        let old = plan(&scenario(10, "", ""));
        let new = plan(&scenario(30, "", ""));
        let s = splice(&old, &new, 25 * S, 0).unwrap();
        assert_eq!(phases(&s), [("warm", 0, 10), ("main", 10, 60)]);
        assert_eq!(s.plan.phases[1].load, new.phases[1].load);
        assert_eq!(s.phase_from, [Some(0), Some(1)]);
    }

    #[test]
    fn a_renamed_phase_ends_the_old_one_at_the_reload() {
        let old = plan(&scenario(10, "", ""));
        let new = plan(&scenario(10, "", "").replace("\"main\"", "\"steady\""));
        let s = splice(&old, &new, 25 * S, 0).unwrap();
        assert_eq!(
            phases(&s),
            [("warm", 0, 10), ("main", 10, 25), ("steady", 25, 60)]
        );
        assert_eq!(s.phase_from, [Some(0), Some(1), None]);
    }

    #[test]
    fn a_removed_failure_under_way_ends_at_the_reload_and_later_ones_follow_the_file() {
        let old = plan(&scenario(10, CRASH, ""));
        let new = plan(&scenario(10, LATER, ""));
        let s = splice(&old, &new, 30 * S, 0).unwrap();
        assert_eq!(failures(&s), [("c", 20, 30), ("l", 50, 55)]);
        assert_eq!(s.failure_from, [Some(0), None]);
    }

    #[test]
    fn a_failure_under_way_that_stays_keeps_running_to_its_new_end() {
        let old = plan(&scenario(10, CRASH, ""));
        let new = plan(&scenario(
            10,
            &CRASH.replace("duration = \"20s\"", "duration = \"25s\""),
            "",
        ));
        let s = splice(&old, &new, 30 * S, 0).unwrap();
        assert_eq!(failures(&s), [("c", 20, 45)]);
        assert_eq!(s.failure_from, [Some(0)]);
    }

    #[test]
    fn a_failure_added_with_a_window_open_now_starts_now_and_one_in_the_past_never_does() {
        let old = plan(&scenario(10, "", ""));
        let past = CRASH.replace("\"20s\"\nduration = \"20s\"", "\"1s\"\nduration = \"2s\"");
        let new = plan(&scenario(
            10,
            &format!("{CRASH}{}", past.replace("\"c\"", "\"p\"")),
            "",
        ));
        let s = splice(&old, &new, 30 * S, 0).unwrap();
        assert_eq!(failures(&s), [("c", 30, 40)]);
    }

    #[test]
    fn criteria_are_the_new_versions_scoped_against_the_record() {
        let old = plan(&scenario(10, CRASH, ""));
        let crit = "[[criterion]]\ncheck = \"error_rate < 1%\"\nduring = \"c\"\n[[criterion]]\ncheck = \"latency.p95 < 1s\"\nphase = \"steady\"\n";
        let new = plan(&scenario(10, CRASH, crit).replace("name = \"main\"", "name = \"steady\""));
        let s = splice(&old, &new, 30 * S, 0).unwrap();
        let c = &s.plan.criteria;
        assert_eq!(c[0].windows, [(20 * S, 40 * S)]);
        assert_eq!(
            c[1].scope,
            Scope::Phase {
                name: "steady".into(),
                index: 2
            }
        );
        assert_eq!(c[1].windows, [(30 * S, 60 * S)]);
    }

    #[test]
    fn a_criterion_on_a_phase_that_never_ran_refuses_the_reload() {
        let old = plan(&scenario(10, "", ""));
        let crit = "[[criterion]]\ncheck = \"latency.p95 < 1s\"\nphase = \"early\"\n";
        let new = plan(&scenario(10, "", crit).replace("\"warm\"", "\"early\""));
        let errors = splice(&old, &new, 30 * S, 0).err().unwrap();
        assert!(errors[0].contains("phase \"early\""), "{errors:?}");
    }
}
