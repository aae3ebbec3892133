//! The simulated fraud pipeline, judged by what it does: queueing, every failure kind's effect,
//! accounting, determinism, criteria and abort.

use gauntlet::engine::control::Control;
use gauntlet::engine::live::{Edits, NoEdits};
use gauntlet::engine::{self, Observer, Pace, Quiet, Snapshot};
use gauntlet::results::{self, Results};

use super::support::compile;

/// Runs scenario text in-process and returns its results (live `abort` criteria are judged
/// inside the run).
pub fn simulate(text: &str) -> Results {
    simulate_with(text, &mut Quiet, &Control::new())
}

pub fn simulate_with(text: &str, observer: &mut dyn Observer, control: &Control) -> Results {
    run_edited(text, Pace::Fast, &mut NoEdits, observer, control)
}

/// Runs scenario text in-process with edits, through the library's one entry point, and
/// returns its results.
pub fn run_edited(
    text: &str,
    pace: Pace,
    edits: &mut dyn Edits,
    observer: &mut dyn Observer,
    control: &Control,
) -> Results {
    let plan = compile(text);
    let target =
        engine::prepare(&plan, &Default::default()).expect("a simulated target is always ready");
    let options = engine::Options {
        pace,
        control,
        shard: None,
    };
    let outcome = engine::run(&plan, target, edits, &options, observer).expect("a simulated run");
    results::build(&outcome.snapshot())
}

const HEAD: &str = "[scenario]\nname = \"sim\"\nseed = 7\n";

fn steady(rate: u32, duration: &str) -> String {
    format!(
        "{HEAD}\n[[phase]]\nname = \"steady\"\nduration = \"{duration}\"\nload = {{ pattern = \"constant\", rate = {rate} }}\n"
    )
}

/// Every planned transaction ends in exactly one outcome, overall, per phase and per second.
fn assert_accounted(r: &Results) {
    let t = &r.summary.totals;
    assert_eq!(
        t.planned,
        t.ok + t.errors + t.timeouts + t.dropped + t.cancelled,
        "run totals"
    );
    assert_eq!(t.lost, 0);
    let phases: u64 = r.phases.iter().map(|p| p.summary.totals.planned).sum();
    assert_eq!(phases, t.planned, "phases add up to the run");
    let seconds: u64 = r.timeline.iter().map(|s| s.planned).sum();
    assert_eq!(seconds, t.planned, "seconds add up to the run");
    for s in &r.timeline {
        assert_eq!(
            s.planned,
            s.ok + s.errors + s.timeouts + s.dropped + s.cancelled,
            "second {}",
            s.t
        );
    }
}

#[test]
fn at_low_load_latency_is_about_the_service_times() {
    let r = simulate(&steady(20, "60s"));
    assert_accounted(&r);
    assert_eq!(r.summary.totals.ok, 1200);
    // Medians: gateway 1 ms + features 3 ms + max(scorer 25 ms, rules 0.8 ms) + decision 0.5 ms.
    let p50 = r.summary.latency_ms.p50.unwrap();
    assert!((24.0..40.0).contains(&p50), "p50 {p50}");
    let components = &r.components;
    assert!(
        components.iter().all(|c| c.peak_queue == 0),
        "no queueing at 20 TPS"
    );
    assert_eq!(r.summary.decisions.degraded, 0);
}

#[test]
fn the_timeline_follows_the_planned_rate() {
    let text = format!(
        "{HEAD}\n[[phase]]\nname = \"up\"\nduration = \"20s\"\nload = {{ pattern = \"ramp\", from = 0, to = 2000 }}\n"
    );
    let r = simulate(&text);
    assert_accounted(&r);
    assert_eq!(r.timeline.len(), 20);
    // A ramp from 0 to 2000 over 20 s plans 50 + 100·t in second t.
    for s in &r.timeline {
        assert_eq!(s.planned, 50 + 100 * s.t, "second {}", s.t);
    }
}

fn with_failure(kind_and_keys: &str, component: &str) -> Results {
    let text = format!(
        "{HEAD}\n[[phase]]\nname = \"steady\"\nduration = \"2m\"\nload = {{ pattern = \"constant\", rate = 1000 }}\n\n\
         [[failure]]\nname = \"f\"\ncomponent = \"{component}\"\nat = \"40s\"\nduration = \"20s\"\n{kind_and_keys}\n"
    );
    let r = simulate(&text);
    assert_accounted(&r);
    r
}

fn during(r: &Results) -> &results::Summary {
    &r.failures[0].summary
}

fn before(r: &Results) -> f64 {
    // p50 of the seconds before the failure.
    let mut p: Vec<f64> = r
        .timeline
        .iter()
        .filter(|s| s.t < 40)
        .filter_map(|s| s.latency_ms.p50)
        .collect();
    p.sort_by(f64::total_cmp);
    p[p.len() / 2]
}

#[test]
fn a_scorer_crash_degrades_decisions_and_costs_recall() {
    let r = with_failure("kind = \"crash\"", "ml-scorer");
    let d = during(&r);
    let answered = d.totals.ok as f64;
    assert!(
        d.decisions.degraded as f64 > 0.5 * answered,
        "degraded {} of {answered}",
        d.decisions.degraded
    );
    assert!(d.fraud.recall.unwrap() < r.summary.fraud.recall.unwrap());
    assert!(
        r.components[2].breaker_trips >= 1,
        "the scorer's breaker opened"
    );
    assert!(r.failures[0].recovery_time_ms.unwrap() <= 60_000);
}

#[test]
fn added_latency_shows_in_the_window_p50() {
    let r = with_failure("kind = \"latency\"\ndelay = \"120ms\"", "feature-store");
    assert!(during(&r).latency_ms.p50.unwrap() >= 100.0 + before(&r) * 0.5);
    assert!(during(&r).latency_ms.p50.unwrap() >= 100.0);
    assert_eq!(r.failures[0].recovery_time_ms, Some(0));
}

#[test]
fn errors_fail_their_share_of_calls() {
    let r = with_failure("kind = \"errors\"\nprobability = 0.2", "gateway");
    let d = during(&r);
    let share = d.totals.errors as f64 / d.totals.planned as f64;
    assert!((0.17..0.23).contains(&share), "error share {share}");
    assert_eq!(
        r.summary.totals.errors, d.totals.errors,
        "no errors outside the window"
    );
}

#[test]
fn throttling_rejects_calls_over_the_limit() {
    let r = with_failure("kind = \"throttle\"\nlimit = 300", "feature-store");
    let fs = r
        .components
        .iter()
        .find(|c| c.name == "feature-store")
        .unwrap();
    assert!(fs.rejected > 100, "rejected {}", fs.rejected);
    // Retries cannot fetch features for most: those decisions are degraded, and the breaker
    // stops calling a dependency that keeps refusing.
    let d = during(&r);
    assert!(
        d.decisions.degraded as f64 > 0.5 * d.totals.ok as f64,
        "degraded {}",
        d.decisions.degraded
    );
    assert!(fs.breaker_trips >= 1);
    assert_eq!(
        d.totals.errors, 0,
        "throttled features degrade decisions, they do not fail them"
    );
}

#[test]
fn a_hang_makes_callers_time_out() {
    let r = with_failure("kind = \"hang\"", "feature-store");
    let fs = r
        .components
        .iter()
        .find(|c| c.name == "feature-store")
        .unwrap();
    assert!(fs.timeouts > 0);
    assert!(during(&r).decisions.degraded > 0);
    assert!(r.failures[0].recovery_time_ms.is_some());
}

/// A hung call never answers, even one the gateway took in within the client's timeout of
/// the hang's end (the spec's "calls never answer"; the fault proxy does the same).
#[test]
fn a_hang_on_the_gateway_times_out_every_call_it_holds() {
    let text = format!(
        "{HEAD}\n[[phase]]\nname = \"steady\"\nduration = \"80s\"\nload = {{ pattern = \"constant\", rate = 50 }}\n\n\
         [[failure]]\nname = \"f\"\nkind = \"hang\"\ncomponent = \"gateway\"\nat = \"40s\"\nduration = \"20s\"\n"
    );
    let r = simulate(&text);
    assert_accounted(&r);
    let t = &during(&r).totals;
    assert_eq!(t.planned, 1_000);
    assert_eq!((t.timeouts, t.ok), (1_000, 0), "{t:?}");
    // Before and after, the gateway answers.
    assert_eq!(r.summary.totals.timeouts, 1_000);
}

#[test]
fn packet_loss_times_out_its_share() {
    let r = with_failure("kind = \"packet-loss\"\nprobability = 0.1", "decision");
    let d = during(&r);
    let dec = r.components.iter().find(|c| c.name == "decision").unwrap();
    let share = dec.timeouts as f64 / d.totals.planned as f64;
    assert!((0.08..0.12).contains(&share), "lost share {share}");
    assert!(
        d.totals.errors > 0,
        "a decision that never comes is an error to the client"
    );
}

/// Lost at the gateway, a transaction never answers: its client times out, at its timeout.
#[test]
fn packet_loss_at_the_gateway_is_a_timeout_to_the_client() {
    let text = format!(
        "{HEAD}\n[target]\ntimeout = \"2s\"\n\n[[phase]]\nname = \"steady\"\nduration = \"80s\"\nload = {{ pattern = \"constant\", rate = 50 }}\n\n\
         [[failure]]\nname = \"f\"\nkind = \"packet-loss\"\nprobability = 1.0\ncomponent = \"gateway\"\nat = \"40s\"\nduration = \"20s\"\n"
    );
    let r = simulate(&text);
    assert_accounted(&r);
    let t = &during(&r).totals;
    assert_eq!(t.planned, 1_000);
    assert_eq!((t.timeouts, t.errors, t.ok), (1_000, 0, 0), "{t:?}");
    let l = &during(&r).latency_ms;
    assert_eq!((l.min, l.max), (Some(2_000.0), Some(2_000.0)), "{l:?}");
    assert_eq!(r.summary.totals.timeouts, 1_000);
}

#[test]
fn a_slowdown_stretches_service_times() {
    let r = with_failure("kind = \"slowdown\"\nfactor = 4", "ml-scorer");
    assert!(
        during(&r).latency_ms.p50.unwrap() > 2.5 * before(&r),
        "{:?}",
        during(&r).latency_ms
    );
}

#[test]
fn a_gateway_crash_refuses_everything_then_recovers() {
    let r = with_failure("kind = \"crash\"", "gateway");
    let d = during(&r);
    assert_eq!(d.totals.errors, d.totals.planned);
    assert!(r.resilience.availability.unwrap() < 0.9);
    assert!(r.failures[0].recovery_time_ms.unwrap() < 60_000);
}

#[test]
fn one_seed_gives_byte_identical_results_and_another_seed_differs() {
    let text = std::fs::read_to_string(super::support::root().join("scenarios/chaos-monkey.toml"))
        .unwrap();
    let a = results::to_json(&simulate(&text));
    let b = results::to_json(&simulate(&text));
    assert!(a == b, "two runs with one seed differ");
    let c = results::to_json(&simulate(&text.replace("seed = 99", "seed = 100")));
    assert_ne!(a, c);
}

#[test]
fn an_abort_criterion_stops_the_run_and_the_rest_is_cancelled() {
    let text = format!(
        "{}\n[[failure]]\nkind = \"crash\"\ncomponent = \"gateway\"\nat = \"30s\"\nduration = \"20s\"\n\n\
         [[criterion]]\ncheck = \"error_rate < 1%\"\nabort = true\nabort_grace = \"5s\"\n",
        steady(500, "2m")
    );
    let r = simulate(&text);
    assert_accounted(&r);
    let aborted = r.aborted.as_ref().expect("the run was aborted");
    assert_eq!(aborted.check, "error_rate < 1%");
    // The crash starts at 30 s; errors pass 1% of everything so far a second or so later.
    assert!(
        (30_000..40_000).contains(&aborted.at_ms),
        "aborted at {}",
        aborted.at_ms
    );
    assert!(r.summary.totals.cancelled > 40_000);
    assert!(!r.verdict.passed);
    assert_eq!(r.criteria[0].status, "fail");
    assert!(
        r.criteria[0]
            .note
            .as_deref()
            .unwrap()
            .contains("stopped the run")
    );
}

#[test]
fn an_interrupted_run_ends_cleanly_with_everything_accounted() {
    let flag = Control::new();
    let mut on_second = |t: u64, _: &Snapshot<'_>| {
        if t >= 10_000_000_000 {
            flag.interrupt();
        }
    };
    let plan_text = steady(2000, "1m");
    let r = simulate_with(&plan_text, &mut on_second, &flag);
    assert_accounted(&r);
    assert!(r.interrupted);
    assert!(!r.verdict.passed);
    assert!(r.summary.totals.cancelled > 0);
    assert_eq!(r.summary.totals.planned, 120_000);
}

#[test]
fn criteria_are_judged_over_their_scopes() {
    let text = format!(
        "{HEAD}\n[[phase]]\nname = \"calm\"\nduration = \"1m\"\nload = {{ pattern = \"constant\", rate = 500 }}\n\n\
         [[phase]]\nname = \"storm\"\nduration = \"1m\"\nload = {{ pattern = \"constant\", rate = 500 }}\n\n\
         [[failure]]\nname = \"boom\"\nkind = \"errors\"\ncomponent = \"gateway\"\nphase = \"storm\"\nat = \"10s\"\nduration = \"20s\"\nprobability = 0.5\n\n\
         [[criterion]]\ncheck = \"error_rate < 0.1%\"\nphase = \"calm\"\n\n\
         [[criterion]]\ncheck = \"error_rate < 0.1%\"\nphase = \"storm\"\n\n\
         [[criterion]]\ncheck = \"error_rate > 40%\"\nduring = \"boom\"\n\n\
         [[criterion]]\ncheck = \"throughput >= 499\"\nphase = \"calm\"\n\n\
         [[criterion]]\ncheck = \"availability < 90%\"\n"
    );
    let r = simulate(&text);
    let passed: Vec<bool> = r.criteria.iter().map(|c| c.passed == Some(true)).collect();
    assert_eq!(
        passed,
        vec![true, false, true, true, true],
        "{:#?}",
        r.criteria
    );
    assert_eq!(r.verdict.criteria_failed, 1);
    let storm = r.criteria[1].observed.unwrap();
    assert!((0.14..0.20).contains(&storm), "storm error rate {storm}");
}
