//! Shard results for `bench/merge.sh`: the `shard.json` files N shards of an http scenario
//! would write, made without a network. Every arrival of shard K (numbered i mod N == K) is
//! recorded with a latency drawn from a seeded long-tailed mix and an outcome (0.5% errors),
//! through the same recorder a real shard uses, so the files hold what a real run's would:
//! every scope's and every second's histograms.
//!
//!     cargo run --release --example shard_fixture -- SCENARIO N OUT_DIR

use std::path::PathBuf;
use std::sync::Arc;

use gauntlet::metrics::Recorder;
use gauntlet::shard::{Identity, ShardFile, ShardId};
use gauntlet::targets::{Decision, ErrorCounts, Finished, Outcome, TargetReport};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(n), Some(out)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: shard_fixture SCENARIO N OUT_DIR");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("N is a number");
    let loaded = gauntlet::scenario::load_file(std::path::Path::new(path)).unwrap_or_else(|e| {
        eprint!("{e}");
        std::process::exit(2)
    });
    let plan = Arc::new(gauntlet::plan::compile(&loaded, None).unwrap_or_else(|d| {
        eprint!("{}", gauntlet::scenario::render(&d));
        std::process::exit(2)
    }));
    for k in 0..n {
        let mut rec = Recorder::new(plan.clone(), 0);
        rec.shard(k, n);
        let mut errors = ErrorCounts::default();
        for a in plan.arrivals().filter(|a| a.index % n == k) {
            rec.drawn(a.request);
            // A cheap seeded mix: most fast, some slow, a few very slow.
            let x = a.index.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
            let latency_us = match x % 1000 {
                0..=4 => 200_000 + x % 800_000,
                5..=59 => 20_000 + x % 80_000,
                _ => 500 + x % 15_000,
            };
            let outcome = if x % 200 == 7 {
                errors.add(gauntlet::targets::ErrorKind::ALL[0]);
                Outcome::Error
            } else {
                Outcome::Ok
            };
            let tx = plan.transaction(a.index);
            rec.record(&Finished {
                index: a.index,
                phase: a.phase,
                request: a.request,
                planned_ns: a.at_ns,
                sent_ns: a.at_ns + 20_000,
                done_ns: a.at_ns + latency_us * 1_000,
                outcome,
                degraded: false,
                decision: (outcome == Outcome::Ok).then_some(if x % 50 == 0 {
                    Decision::Block
                } else {
                    Decision::Approve
                }),
                fraud: tx.fraud,
                amount_usd_cents: tx.amount_usd_cents,
            });
        }
        rec.finish(plan.duration_ns);
        let who = Identity {
            id: ShardId::new(k, n).expect("k < n"),
            start_at: "2026-12-01T10:00:00.000Z".to_string(),
            start_lag_ms: 0.0,
            source_name: "scenario.toml",
            source: &loaded.source.text,
        };
        let file = ShardFile::of(
            &plan,
            &who,
            &rec,
            None,
            plan.duration_ns,
            &TargetReport::Http {
                errors,
                checks: Default::default(),
            },
        );
        let dir = PathBuf::from(out).join(format!("shard-{k}"));
        std::fs::create_dir_all(&dir).expect("create the shard's folder");
        std::fs::write(
            dir.join(gauntlet::shard::FILE),
            serde_json::to_string(&file).expect("serialise"),
        )
        .expect("write shard.json");
    }
}
