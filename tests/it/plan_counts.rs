//! Pattern integrals and exact counts with uniform arrivals (the numbers the language promises).

use super::support::{compile, one_phase};

fn planned(load: &str, duration: &str) -> u64 {
    compile(&one_phase(load, duration)).planned
}

#[test]
fn constant_1000_tps_for_60s_plans_exactly_60000() {
    assert_eq!(
        planned(r#"{ pattern = "constant", rate = 1000 }"#, "60s"),
        60_000
    );
}

#[test]
fn ramp_0_to_1000_over_60s_plans_exactly_30000() {
    assert_eq!(
        planned(r#"{ pattern = "ramp", from = 0, to = 1000 }"#, "60s"),
        30_000
    );
}

#[test]
fn wave_500_200_10s_over_60s_plans_exactly_30000() {
    assert_eq!(
        planned(
            r#"{ pattern = "wave", base = 500, amplitude = 200, period = "10s" }"#,
            "60s"
        ),
        30_000
    );
}

#[test]
fn step_1000_to_4000_in_4_over_40s_plans_exactly_100000() {
    assert_eq!(
        planned(
            r#"{ pattern = "step", from = 1000, to = 4000, steps = 4 }"#,
            "40s"
        ),
        100_000
    );
}

#[test]
fn pause_plans_nothing() {
    assert_eq!(planned(r#"{ pattern = "pause" }"#, "60s"), 0);
}

#[test]
fn burst_counts_peak_and_base() {
    // 6 periods of (2 s at 1000 + 8 s at 100) = 6 * 2800.
    assert_eq!(
        planned(
            r#"{ pattern = "burst", base = 100, peak = 1000, every = "10s", hold = "2s" }"#,
            "60s"
        ),
        16_800
    );
}

#[test]
fn clipped_wave_counts_only_the_positive_part() {
    // base 0: half of each period is clipped to 0; the positive half integrates to A·P/π.
    let n = planned(
        r#"{ pattern = "wave", base = 0, amplitude = 1000, period = "10s" }"#,
        "60s",
    );
    let expected = (6.0 * 1000.0 * 10.0 / std::f64::consts::PI).round() as u64;
    assert_eq!(n, expected);
}

#[test]
fn chaos_levels_stay_within_bounds() {
    let plan = compile(&one_phase(
        r#"{ pattern = "chaos", min = 100, max = 200, every = "5s" }"#,
        "60s",
    ));
    assert!((6_000..=12_000).contains(&plan.planned), "{}", plan.planned);
    for t in 0..60 {
        let r = plan.rate_at(t * 1_000_000_000);
        assert!((100.0..=200.0).contains(&r), "rate {r} at {t}s");
    }
}

#[test]
fn a_constant_rate_gives_exactly_that_many_arrivals_each_second() {
    let plan = compile(&one_phase(r#"{ pattern = "constant", rate = 250 }"#, "10s"));
    let mut per_second = [0u32; 10];
    for a in plan.arrivals() {
        per_second[(a.at_ns / 1_000_000_000) as usize] += 1;
    }
    assert_eq!(per_second, [250; 10]);
}

#[test]
fn phases_lie_back_to_back_and_number_transactions_across_them() {
    let plan = compile(
        r#"
[scenario]
name = "t"
seed = 1
[[phase]]
name = "a"
duration = "10s"
load = { pattern = "constant", rate = 10 }
[[phase]]
name = "b"
duration = "1m30s"
load = { pattern = "constant", rate = 20 }
"#,
    );
    assert_eq!(
        (plan.phases[1].start_ns, plan.phases[1].end_ns),
        (10_000_000_000, 100_000_000_000)
    );
    assert_eq!(plan.phases[1].first_index, 100);
    assert_eq!(plan.planned, 100 + 1800);
    let first_b = plan.arrivals().find(|a| a.phase == 1).unwrap();
    assert_eq!(first_b.index, 100);
    assert!(first_b.at_ns >= 10_000_000_000);
}

#[test]
fn failures_and_criteria_resolve_to_absolute_windows() {
    let plan = compile(
        r#"
[scenario]
name = "t"
seed = 1
[[phase]]
name = "a"
duration = "1m"
load = { pattern = "constant", rate = 10 }
[[phase]]
name = "b"
duration = "5m"
load = { pattern = "constant", rate = 10 }
[[failure]]
name = "flap"
kind = "crash"
component = "gateway"
phase = "b"
at = "30s"
duration = "10s"
repeat = { every = "1m", count = 3 }
[[criterion]]
check = "error_rate < 1%"
during = "flap"
[[criterion]]
check = "error_rate < 1%"
during = "flap#2"
[[criterion]]
check = "latency.p95 < 1s"
phase = "b"
"#,
    );
    let windows: Vec<(String, u64, u64)> = plan
        .failures
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.start_ns / 1_000_000_000,
                f.end_ns / 1_000_000_000,
            )
        })
        .collect();
    assert_eq!(
        windows,
        vec![
            ("flap".to_string(), 90, 100),
            ("flap#2".to_string(), 150, 160),
            ("flap#3".to_string(), 210, 220)
        ]
    );
    assert_eq!(plan.criteria[0].windows.len(), 3);
    assert_eq!(
        plan.criteria[1].windows,
        vec![(150_000_000_000, 160_000_000_000)]
    );
    assert_eq!(
        plan.criteria[2].windows,
        vec![(60_000_000_000, 360_000_000_000)]
    );
    assert_eq!(plan.criteria[2].scope.label(), "phase:b");
}

#[test]
fn poisson_follows_the_curve_in_expectation() {
    let text = one_phase(r#"{ pattern = "ramp", from = 0, to = 2000 }"#, "60s")
        .replace("seed = 42", "seed = 42\narrivals = \"poisson\"");
    let plan = compile(&text);
    // Expected 60000; a Poisson count has sd ~245.
    assert!(
        (58_500..=61_500).contains(&plan.planned),
        "{}",
        plan.planned
    );
    assert_eq!(plan.arrivals().count() as u64, plan.planned);
    let first_half = plan.arrivals().filter(|a| a.at_ns < 30_000_000_000).count() as f64;
    // A ramp from 0 puts a quarter of its arrivals in the first half.
    assert!((first_half / plan.planned as f64 - 0.25).abs() < 0.02);
}

/// What a reload relies on: the arrivals of a plan from an instant on, numbered from a given
/// number, are exactly the plan's own arrivals at or after that instant, renumbered.
#[test]
fn arrivals_starting_at_an_instant_are_the_plans_own_from_there_renumbered() {
    use gauntlet::plan::Arrivals;
    for arrivals in ["uniform", "poisson"] {
        let plan = std::sync::Arc::new(compile(&format!(
            "[scenario]\nname = \"a\"\nseed = 9\narrivals = \"{arrivals}\"\n\
             [[phase]]\nname = \"r\"\nduration = \"4s\"\nload = {{ pattern = \"ramp\", from = 0, to = 300 }}\n\
             [[phase]]\nname = \"p\"\nduration = \"1s\"\nload = {{ pattern = \"pause\" }}\n\
             [[phase]]\nname = \"w\"\nduration = \"5s\"\nload = {{ pattern = \"wave\", base = 200, amplitude = 150, period = \"2s\" }}\n"
        )));
        let all: Vec<_> = plan.arrivals().collect();
        for from in [
            0,
            1,
            1_234_567_891,
            4_000_000_000,
            4_500_000_000,
            9_999_999_999,
            10_000_000_000,
        ] {
            let got: Vec<_> = Arrivals::starting_at(plan.clone(), from, 1_000_000).collect();
            let want: Vec<_> = all
                .iter()
                .filter(|a| a.at_ns >= from)
                .enumerate()
                .map(|(k, a)| gauntlet::plan::Arrival {
                    index: 1_000_000 + k as u64,
                    ..*a
                })
                .collect();
            assert_eq!(got, want, "{arrivals} from {from}");
            let it = Arrivals::starting_at(plan.clone(), from, 7);
            assert_eq!(it.size_hint().0, want.len(), "{arrivals} from {from}");
        }
    }
}

/// Counting arrivals without producing them (`count_between`, what `planned` per second and
/// per scope is read from) agrees with producing them, for both spacings and cut windows.
#[test]
fn counting_between_two_instants_agrees_with_the_arrivals_themselves() {
    for arrivals in ["uniform", "poisson"] {
        let text = format!(
            "[scenario]\nname = \"c\"\nseed = 11\narrivals = \"{arrivals}\"\n\n\
             [[phase]]\nname = \"a\"\nduration = \"4500ms\"\nload = {{ pattern = \"ramp\", from = 0, to = 900 }}\n\n\
             [[phase]]\nname = \"b\"\nduration = \"3s\"\nload = {{ pattern = \"pause\" }}\n\n\
             [[phase]]\nname = \"c\"\nduration = \"6s\"\nload = {{ pattern = \"burst\", base = 50, peak = 700, every = \"2s\", hold = \"300ms\" }}\n\n\
             [[phase]]\nname = \"d\"\nduration = \"7s\"\nload = {{ pattern = \"wave\", base = 300, amplitude = 280, period = \"3s\" }}\n\n\
             [[phase]]\nname = \"e\"\nduration = \"5s\"\nload = {{ pattern = \"step\", from = 10, to = 800, steps = 4 }}\n\n\
             [[phase]]\nname = \"f\"\nduration = \"4s\"\nload = {{ pattern = \"chaos\", min = 0, max = 900, every = \"700ms\" }}\n"
        );
        let plan = compile(&text);
        let times: Vec<u64> = plan.arrivals().map(|a| a.at_ns).collect();
        assert_eq!(times.len() as u64, plan.planned);
        let end = plan.duration_ns;
        let mut windows = vec![(0, end), (0, 1), (end - 1, end)];
        // A spread of windows, many cutting seconds and phases.
        for k in 0..200u64 {
            let a = (k * 7_919_000_017) % end;
            let b = (a + (k + 1) * 123_456_789).min(end);
            windows.push((a, b));
        }
        // Every second, as the recorder asks.
        windows.extend(
            (0..end.div_ceil(1_000_000_000))
                .map(|t| (t * 1_000_000_000, ((t + 1) * 1_000_000_000).min(end))),
        );
        for (a, b) in windows {
            let n = times.iter().filter(|&&t| (a..b).contains(&t)).count() as u64;
            assert_eq!(plan.count_between(a, b), n, "{arrivals} [{a}, {b})");
        }
    }
}

/// Poisson plans are counted a second at a time, so a long busy one validates at once: 12 h at
/// 100,000 TPS is 43,200 draws, not 4.3 billion.
#[test]
fn a_twelve_hour_poisson_plan_is_counted_per_second_with_the_right_total() {
    let text = "[scenario]\nname = \"long\"\nseed = 2\narrivals = \"poisson\"\n\n[[phase]]\nname = \"day\"\nduration = \"12h\"\nload = { pattern = \"constant\", rate = 100000 }\n";
    let plan = compile(text);
    let expected = 12.0 * 3600.0 * 100_000.0;
    // Within six standard deviations of the Poisson total.
    assert!(
        (plan.planned as f64 - expected).abs() < 6.0 * expected.sqrt(),
        "{}",
        plan.planned
    );
    // Any second can be produced on its own: the arrivals from 6 h on start in that second.
    let six_hours = 6 * 3600 * 1_000_000_000u64;
    let first = gauntlet::plan::Arrivals::starting_at(&plan, six_hours, 0)
        .next()
        .unwrap();
    assert!((six_hours..six_hours + 1_000_000).contains(&first.at_ns));
}
