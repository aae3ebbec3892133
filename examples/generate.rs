//! The floor under simulation speed: iterate a scenario's arrivals and generate every
//! transaction, doing nothing else. `bench/simulate.sh` runs it beside `gauntlet run`.
//!
//!     cargo run --release --example generate -- scenarios/peak-load.toml

use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "scenarios/peak-load.toml".to_string());
    let loaded = match gauntlet::scenario::load_file(std::path::Path::new(&path)) {
        Ok(l) => l,
        Err(e) => {
            eprint!("{e}");
            std::process::exit(2);
        }
    };
    let plan = match gauntlet::plan::compile(&loaded, None) {
        Ok(p) => p,
        Err(d) => {
            eprint!("{}", gauntlet::scenario::render(&d));
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let mut checksum = 0u64;
    // As the thread producing a simulated run's arrivals does: profiles kept, transactions
    // made a batch of arrivals at a time.
    let mut profiles = plan.profiles();
    let mut arrivals = plan.arrivals();
    let mut batch = Vec::with_capacity(2048);
    loop {
        batch.clear();
        batch.extend(arrivals.by_ref().take(2048));
        if batch.is_empty() {
            break;
        }
        plan.transactions_with(&batch, &mut profiles, |a, tx| {
            checksum = checksum.wrapping_add(tx.amount_usd_cents ^ a.at_ns);
        });
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} transactions generated in {secs:.2} s: {:.0} per second (checksum {checksum:x})",
        plan.planned,
        plan.planned as f64 / secs
    );
}
