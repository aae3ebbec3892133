//! Property tests of the arithmetic of rate curves and arrivals.

use proptest::prelude::*;

use super::support::try_compile;

fn load_strategy() -> impl Strategy<Value = String> {
    let rate = || 0u32..1500;
    prop_oneof![
        rate().prop_map(|r| format!("{{ pattern = \"constant\", rate = {r} }}")),
        (rate(), rate())
            .prop_map(|(a, b)| format!("{{ pattern = \"ramp\", from = {a}, to = {b} }}")),
        (rate(), rate(), 2u32..8).prop_map(|(a, b, s)| format!(
            "{{ pattern = \"step\", from = {a}, to = {b}, steps = {s} }}"
        )),
        (rate(), rate(), 2u32..20, 1u32..20).prop_map(|(b, p, e, h)| format!(
            "{{ pattern = \"burst\", base = {b}, peak = {p}, every = \"{e}s\", hold = \"{}s\" }}",
            h.min(e)
        )),
        (rate(), rate(), 1u32..30).prop_map(|(b, a, p)| format!(
            "{{ pattern = \"wave\", base = {b}, amplitude = {a}, period = \"{p}s\" }}"
        )),
        (rate(), rate(), 1u32..15).prop_map(|(a, b, e)| format!(
            "{{ pattern = \"chaos\", min = {}, max = {}, every = \"{e}s\" }}",
            a.min(b),
            a.max(b)
        )),
        Just("{ pattern = \"pause\" }".to_string()),
    ]
}

fn scenario(phases: &[(String, u32)], poisson: bool, seed: u64) -> String {
    let mut s = format!("[scenario]\nname = \"p\"\nseed = {seed}\n");
    if poisson {
        s.push_str("arrivals = \"poisson\"\n");
    }
    for (i, (load, secs)) in phases.iter().enumerate() {
        s.push_str(&format!(
            "\n[[phase]]\nname = \"p{i}\"\nduration = \"{secs}s\"\nload = {load}\n"
        ));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// Arrivals come sorted, inside their phase, numbered 0.. without gaps, and exactly as many
    /// as planned; with uniform spacing, round(integral) per phase.
    #[test]
    fn arrivals_are_sorted_inside_their_phase_and_exactly_counted(
        phases in prop::collection::vec((load_strategy(), 1u32..40), 1..4),
        poisson in any::<bool>(),
        seed in any::<u32>(),
    ) {
        let plan = try_compile(&scenario(&phases, poisson, seed as u64)).map_err(TestCaseError::fail)?;
        let mut last = 0;
        let mut counts = vec![0u64; plan.phases.len()];
        for (n, a) in plan.arrivals().enumerate() {
            prop_assert_eq!(a.index, n as u64);
            prop_assert!(a.at_ns >= last, "not sorted at {}", n);
            let p = &plan.phases[a.phase];
            prop_assert!(a.at_ns >= p.start_ns && a.at_ns < p.end_ns, "arrival {} outside phase {}", n, a.phase);
            counts[a.phase] += 1;
            last = a.at_ns;
        }
        for (p, c) in plan.phases.iter().zip(&counts) {
            prop_assert_eq!(*c, p.planned);
            if !poisson {
                prop_assert_eq!(p.planned, p.expected.round() as u64);
            }
        }
        prop_assert_eq!(counts.iter().sum::<u64>(), plan.planned);
    }

    /// Uniform arrivals track the integral: by any instant, the count is within one of Λ.
    #[test]
    fn uniform_arrivals_track_the_integral(load in load_strategy(), secs in 1u32..40) {
        let plan = try_compile(&scenario(&[(load, secs)], false, 1)).map_err(TestCaseError::fail)?;
        let phase = &plan.phases[0];
        if phase.planned == 0 {
            return Ok(());
        }
        let scale = phase.planned as f64 / phase.expected;
        for (k, a) in plan.arrivals().enumerate() {
            let lambda = phase.curve.integral(a.at_ns as f64 / 1e9) * scale;
            prop_assert!((lambda - (k as f64 + 0.5)).abs() <= 1.0, "arrival {} at Λ={}", k, lambda);
        }
    }
}
