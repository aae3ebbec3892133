//! The whole loader: any bytes become diagnostics or a plan, never a panic, a hang or an
//! allocation beyond a bound. A plan is then walked a little (its first arrivals and
//! transactions, its per-second counts at the start) and its diagnostics rendered.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match gauntlet::scenario::load_bytes("fuzz.toml", data, std::path::PathBuf::from(".")) {
        Err(diags) => {
            let _ = gauntlet::scenario::render(&diags);
        }
        Ok(loaded) => match gauntlet::plan::compile(&loaded, None) {
            Err(diags) => {
                let _ = gauntlet::scenario::render(&diags);
            }
            Ok(plan) => {
                for a in plan.arrivals().take(200) {
                    let _ = plan.transaction(a.index);
                    let _ = plan.request_of(a.index);
                }
                for t in 0..3u64 {
                    let _ = plan.count_between(t * 1_000_000_000, (t + 1) * 1_000_000_000);
                }
            }
        },
    }
});
